//! Where the binaries under test are.
//!
//! The C originals are compiled by this crate's `build.rs`. The Rust step binaries
//! belong to other packages, which `cargo test` does not build as executables, so the
//! first test that needs one runs `cargo build --bins` once, with the same profile and
//! target directory as the tests themselves.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of a Rust step binary (`step01-open-port`, …), built on first use.
///
/// # Panics
///
/// If the build fails: the test cannot run without the binary.
pub fn rust_binary(name: &str) -> PathBuf {
    let dir = profile_dir();
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| build_workspace_bins(&dir));
    let path = dir.join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Path of a step's compiled `original.c`, by step name (`step01-open-port`).
///
/// # Panics
///
/// If no C original was compiled for that step.
pub fn c_original(name: &str) -> PathBuf {
    c_original_path(name).unwrap_or_else(|| panic!("no C original for {name}"))
}

/// Path of a step's compiled `original.c`, or `None` for a name that is no step.
pub fn c_original_path(name: &str) -> Option<PathBuf> {
    let path = match name {
        "step01-open-port" => env!("C_ORIGINAL_STEP01_OPEN_PORT"),
        "step02-receive" => env!("C_ORIGINAL_STEP02_RECEIVE"),
        "step03-client" => env!("C_ORIGINAL_STEP03_CLIENT"),
        "step04-respond" => env!("C_ORIGINAL_STEP04_RESPOND"),
        "step05-daemon" => env!("C_ORIGINAL_STEP05_DAEMON"),
        "step06-fileserver" => env!("C_ORIGINAL_STEP06_FILESERVER"),
        _ => return None,
    };
    Some(PathBuf::from(path))
}

/// Compile a helper C file of the workspace (`bench/fork-floor.c`, `tests/c/…`) with
/// the flags the C originals get (`-std=c11 -Wall -Wextra -Werror -O2`) into `binary`.
///
/// # Panics
///
/// If `cc` cannot run or the file does not compile cleanly.
pub fn compile_c(source: &str, binary: &Path) {
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-o"])
        .arg(binary)
        .arg(workspace_root().join(source))
        .status()
        .expect("run cc");
    assert!(status.success(), "{source} does not compile cleanly");
}

/// The workspace root (for READMEs and sources).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_path_buf()
}

/// `target/debug` or `target/release`: the test executable lives in its `deps/`.
fn profile_dir() -> PathBuf {
    current_profile_dir().expect("test executables live in target/PROFILE/deps")
}

/// `target/debug` or `target/release`, from where this executable lives: in it (a
/// binary such as `lab`) or in its `deps/` (a test).
pub fn current_profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        return dir.parent().map(Path::to_path_buf);
    }
    Some(dir.to_path_buf())
}

fn build_workspace_bins(profile_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = profile_dir.parent().expect("target/PROFILE has a parent");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--workspace", "--bins", "--target-dir"])
        .arg(target_dir)
        .current_dir(workspace_root());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build --bins failed");
}

/// True when `tool` is on PATH. When it is missing: under `CI=true` the test fails
/// (CI must install it), elsewhere it says so and the caller skips.
pub fn require_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    if !found {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{tool} is not installed, and CI=true: .ci/run must install it"
        );
        eprintln!("SKIPPED: {tool} is not installed (install it to run this test)");
    }
    found
}
