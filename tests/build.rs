//! Compiles every step's `original.c` with the flags SPEC.md requires
//! (`cc -std=c11 -Wall -Wextra -Werror`), so a C original that stops compiling
//! cleanly fails the build of the test suite. Each binary's path reaches the tests
//! as the environment variable `C_ORIGINAL_<STEP>` (e.g. `C_ORIGINAL_STEP01_OPEN_PORT`).
//! It also builds the `lab` checker's `LD_PRELOAD` shim (`lab/shim/send-cap.c`) as a
//! shared library, whose path reaches the crate as `LAB_SEND_CAP_SHIM`.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest
        .parent()
        .expect("tests/ lives in the workspace root");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());

    let mut steps: Vec<PathBuf> = fs::read_dir(workspace)
        .expect("read the workspace root")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("step") && path.is_dir()
        })
        .collect();
    steps.sort();
    // A step folder that gains its original.c later: watch the folders themselves.
    for step in &steps {
        println!("cargo:rerun-if-changed={}", step.display());
    }
    steps.retain(|step| step.join("original.c").is_file());

    for step in steps {
        let name = step
            .file_name()
            .and_then(|n| n.to_str())
            .expect("step folders have UTF-8 names");
        let source = step.join("original.c");
        let binary = out_dir.join(format!("{name}-c"));
        println!("cargo:rerun-if-changed={}", source.display());
        let status = Command::new(&cc)
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-o"])
            .arg(&binary)
            .arg(&source)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
        assert!(
            status.success(),
            "{} does not compile cleanly",
            source.display()
        );
        let var = format!("C_ORIGINAL_{}", name.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", binary.display());
    }
    compile_shim(&manifest.join("lab/shim/send-cap.c"), &out_dir, &cc);
    // A new step is a new workspace member: look for its original.c again then.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
}

/// The send-capping shim, as a shared library for `LD_PRELOAD`.
fn compile_shim(source: &std::path::Path, out_dir: &std::path::Path, cc: &str) {
    println!("cargo:rerun-if-changed={}", source.display());
    let library = out_dir.join("send-cap.so");
    let status = Command::new(cc)
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC", "-o",
        ])
        .arg(&library)
        .arg(source)
        .arg("-ldl")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        status.success(),
        "{} does not compile cleanly",
        source.display()
    );
    println!("cargo:rustc-env=LAB_SEND_CAP_SHIM={}", library.display());
}
