//! What is checked (SPEC's TARGET) and how it becomes a program to run.
//!
//! A C file is compiled, a Cargo project built, a reference found; the result is a
//! [`Program`]: a command line to which each check appends the C originals' short
//! flags (`-p P`). Compiling and building are the `compiles` check: its outcome comes
//! back in [`Prepared::build`], with the compiler's warnings.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use super::check::{Failure, Outcome};
use super::scratch::Scratch;
use super::steps::Step;
use super::workcopy;
use crate::bins;

/// What `cargo lab check` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The student's work copy, `work/stepNN-name/` (C or Rust, as found there).
    WorkCopy,
    /// A C file, compiled with `cc -std=c11 -Wall -Wextra`.
    CFile(PathBuf),
    /// A Cargo project, built offline with the workspace's lock file and target dir.
    RustDir(PathBuf),
    /// The step's own Rust binary (proves the checks).
    Reference,
    /// The step's `original.c`, as the tests crate compiled it (proves the checks).
    COriginal,
    /// A built program, run as it is (the tests pass the reference this way).
    Executable(PathBuf),
    /// Any command, in any language: `-- CMD ARGS…`.
    Command(Vec<OsString>),
}

/// A program ready to run: each check appends its flags to `argv`.
#[derive(Debug, Clone)]
pub struct Program {
    /// The command and its own leading arguments.
    pub argv: Vec<OsString>,
    /// Added to the environment the program inherits.
    pub env: Vec<(OsString, OsString)>,
    /// What the report calls it.
    pub label: String,
    /// Keeps a compiled binary's folder alive as long as the program.
    _scratch: Option<Arc<Scratch>>,
}

impl Program {
    /// Run `path` as it is.
    pub fn executable(path: &Path) -> Program {
        Program {
            argv: vec![path.as_os_str().to_owned()],
            env: Vec::new(),
            label: path.display().to_string(),
            _scratch: None,
        }
    }

    /// This program's command line with `args` appended.
    pub fn with_args<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<OsString> {
        let mut argv = self.argv.clone();
        argv.extend(args.iter().map(|a| a.as_ref().to_owned()));
        argv
    }
}

/// The `compiles` check: how the program was built and what the compiler said.
#[derive(Debug, Clone)]
pub struct Build {
    /// One line: what was compiled, and how.
    pub what: String,
    /// The compiler's diagnostics (warnings when it passed), to show as they are.
    pub output: String,
    /// Passed, or failed with the command and the first errors.
    pub outcome: Outcome,
}

/// A target made ready: the program (unless the build failed) and the build's result.
#[derive(Debug)]
pub struct Prepared {
    /// `None` when the `compiles` check failed.
    pub program: Option<Program>,
    /// `Some` for the targets that are compiled (C, Rust, the work copy).
    pub build: Option<Build>,
}

/// Why a target cannot be checked at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// The command line names something that is not there (exit 64).
    Usage(String),
    /// Something else went wrong on this machine (exit 1).
    Broken(String),
}

/// Make `target` ready to check against `step`, in the workspace at `root`.
pub fn prepare(target: &Target, step: &Step, root: &Path) -> Result<Prepared, TargetError> {
    match target {
        Target::WorkCopy => prepare(&workcopy::detect(root, step)?, step, root),
        Target::CFile(file) => compile_c(file).map(|p| relabel(p, file, root)),
        Target::RustDir(dir) => build_rust(dir, root).map(|p| relabel(p, dir, root)),
        Target::Reference => ready(reference(step)?, format!("the reference {}", step.name)),
        Target::COriginal => {
            let path = bins::c_original_path(step.name).ok_or_else(|| {
                TargetError::Broken(format!("{} has no compiled original.c", step.name))
            })?;
            ready(
                Program::executable(&path),
                format!("{}/original.c", step.name),
            )
        }
        Target::Executable(path) => {
            if !path.is_file() {
                return Err(TargetError::Usage(format!(
                    "{}: no such file",
                    path.display()
                )));
            }
            ready(Program::executable(path), path.display().to_string())
        }
        Target::Command(argv) => command(argv),
    }
}

/// Call a compiled program by its source's path, relative to the workspace when
/// inside it (`work/step01-open-port/exercise.c`), in the report and in what the
/// compiler said (`work/step01-open-port/exercise.c:72:20: warning: …`).
fn relabel(mut prepared: Prepared, source: &Path, root: &Path) -> Prepared {
    let label = source
        .strip_prefix(root)
        .unwrap_or(source)
        .display()
        .to_string();
    if let Some(program) = prepared.program.as_mut() {
        program.label = label;
    }
    let inside = format!("{}/", root.display());
    if let Some(build) = prepared.build.as_mut() {
        build.output = build.output.replace(&inside, "");
        if let Outcome::Failed(failure) = &mut build.outcome {
            failure.sent = failure.sent.replace(&inside, "");
            failure.got = failure.got.replace(&inside, "");
        }
    }
    prepared
}

fn ready(mut program: Program, label: String) -> Result<Prepared, TargetError> {
    program.label = label;
    Ok(Prepared {
        program: Some(program),
        build: None,
    })
}

/// `-- CMD ARGS…`: the command must exist (a path, or a name on PATH).
fn command(argv: &[OsString]) -> Result<Prepared, TargetError> {
    let first = argv
        .first()
        .ok_or_else(|| TargetError::Usage("`--` must be followed by a command".into()))?;
    if find_program(first).is_none() {
        return Err(TargetError::Usage(format!(
            "{}: no such command",
            first.to_string_lossy()
        )));
    }
    let label = argv
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    ready(
        Program {
            argv: argv.to_vec(),
            env: Vec::new(),
            label: label.clone(),
            _scratch: None,
        },
        label,
    )
}

/// Where `name` is: itself if it has a slash, else the first match on PATH.
pub fn find_program(name: &OsStr) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.components().count() > 1 || name.to_string_lossy().contains('/') {
        return path.is_file().then(|| path.to_path_buf());
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The flags SPEC gives the C compiler for exercises (warnings on, not errors).
const CC_FLAGS: [&str; 3] = ["-std=c11", "-Wall", "-Wextra"];

/// Compile one C file into a temporary folder; the binary is named after the file.
fn compile_c(file: &Path) -> Result<Prepared, TargetError> {
    if !file.is_file() {
        return Err(TargetError::Usage(format!(
            "{}: no such file",
            file.display()
        )));
    }
    let stem = file
        .file_stem()
        .map_or_else(|| "exercise".into(), |s| s.to_string_lossy().into_owned());
    let scratch =
        Scratch::new("cc").map_err(|e| TargetError::Broken(format!("temporary folder: {e}")))?;
    let binary = scratch.path().join(&stem);
    let shown = format!("cc {} {}", CC_FLAGS.join(" "), file.display());
    let output = Command::new("cc")
        .args(CC_FLAGS)
        .arg("-o")
        .arg(&binary)
        .arg(file)
        .output()
        .map_err(|e| TargetError::Broken(format!("cannot run cc: {e}")))?;
    let diagnostics = String::from_utf8_lossy(&output.stderr).into_owned();
    let file_name = file
        .file_name()
        .map_or_else(|| stem.clone(), |n| n.to_string_lossy().into_owned());
    let what = format!("{file_name} compiles ({})", CC_FLAGS.join(" "));
    if !output.status.success() || !binary.is_file() {
        return Ok(build_failed(what, shown, diagnostics, "compile errors"));
    }
    Ok(Prepared {
        program: Some(Program {
            argv: vec![binary.into_os_string()],
            env: Vec::new(),
            label: file.display().to_string(),
            _scratch: Some(Arc::new(scratch)),
        }),
        build: Some(Build {
            what,
            output: diagnostics,
            outcome: Outcome::Passed,
        }),
    })
}

/// Build a Cargo project offline, with the workspace's `Cargo.lock` (copied in when
/// the project has none) and target folder, so it needs no network and reuses what
/// the workspace already compiled.
fn build_rust(dir: &Path, root: &Path) -> Result<Prepared, TargetError> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(TargetError::Usage(format!(
            "{}: no such file",
            manifest.display()
        )));
    }
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        fs::copy(root.join("Cargo.lock"), &lock).map_err(|e| {
            TargetError::Broken(format!("copy Cargo.lock into {}: {e}", dir.display()))
        })?;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--offline",
        "--quiet",
        "--message-format=json-render-diagnostics",
    ])
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(workspace_target_dir(root));
    let shown = format!(
        "cargo build --offline --manifest-path {}",
        manifest.display()
    );
    let output = cmd
        .output()
        .map_err(|e| TargetError::Broken(format!("cannot run cargo: {e}")))?;
    let diagnostics = String::from_utf8_lossy(&output.stderr).into_owned();
    let name = dir.file_name().unwrap_or(dir.as_os_str()).to_string_lossy();
    let what = format!("{name} builds (cargo build --offline)");
    let executable = last_executable(&String::from_utf8_lossy(&output.stdout));
    match (output.status.success(), executable) {
        (true, Some(binary)) => Ok(Prepared {
            program: Some(Program {
                argv: vec![binary.into_os_string()],
                env: Vec::new(),
                label: dir.display().to_string(),
                _scratch: None,
            }),
            build: Some(Build {
                what,
                output: diagnostics,
                outcome: Outcome::Passed,
            }),
        }),
        (true, None) => Ok(build_failed(
            what,
            shown,
            "the build made no executable".into(),
            "an executable",
        )),
        (false, _) => Ok(build_failed(what, shown, diagnostics, "build errors")),
    }
}

/// The workspace's target folder: the one this checker was built into (it holds the
/// dependencies, built with the same profile, even when `CARGO_TARGET_DIR` or a
/// `build.target-dir` moved it), else `target/` in the workspace.
fn workspace_target_dir(root: &Path) -> PathBuf {
    bins::current_profile_dir()
        .and_then(|profile| profile.parent().map(Path::to_path_buf))
        .filter(|dir| dir.join("CACHEDIR.TAG").is_file())
        .unwrap_or_else(|| root.join("target"))
}

/// The `compiles` check failed: show the command and the compiler's first lines.
fn build_failed(what: String, shown: String, diagnostics: String, kind: &str) -> Prepared {
    let failure = Failure::new(
        shown,
        "it compiles, as the skeleton does when shipped",
        format!("{kind}:\n{}", first_lines(&diagnostics, 25)),
        "fix the first error the compiler reports (file:line:column); the later ones often follow from it",
    );
    Prepared {
        program: None,
        build: Some(Build {
            what,
            output: String::new(),
            outcome: Outcome::Failed(Box::new(failure)),
        }),
    }
}

/// At most `n` lines of `text`, saying how many were left out.
fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = lines.iter().take(n).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > n {
        shown.push_str(&format!("\n… ({} more lines)", lines.len() - n));
    }
    shown
}

/// The path of the last executable cargo reported in its JSON messages.
fn last_executable(json_lines: &str) -> Option<PathBuf> {
    const KEY: &str = "\"executable\":\"";
    json_lines
        .lines()
        .rev()
        .filter(|line| line.contains("\"reason\":\"compiler-artifact\""))
        .find_map(|line| {
            let start = line.find(KEY)? + KEY.len();
            let mut path = String::new();
            let mut chars = line[start..].chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(PathBuf::from(path)),
                    '\\' => path.push(chars.next()?),
                    c => path.push(c),
                }
            }
            None
        })
}

/// The step's own Rust binary, built (or found up to date) by cargo.
fn reference(step: &Step) -> Result<Program, TargetError> {
    let profile = bins::current_profile_dir()
        .ok_or_else(|| TargetError::Broken("cannot tell where the binaries are".into()))?;
    let target_dir = profile
        .parent()
        .ok_or_else(|| TargetError::Broken("cannot tell where the binaries are".into()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        step.name,
        "--bin",
        step.name,
        "--target-dir",
    ])
    .arg(target_dir)
    .current_dir(bins::workspace_root());
    if profile.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .map_err(|e| TargetError::Broken(format!("cannot run cargo: {e}")))?;
    let path = profile.join(step.name);
    if !status.success() || !path.is_file() {
        return Err(TargetError::Broken(format!("cannot build {}", step.name)));
    }
    Ok(Program::executable(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_in_cargos_messages() {
        let json = concat!(
            "{\"reason\":\"compiler-artifact\",\"executable\":null}\n",
            "{\"reason\":\"compiler-artifact\",\"executable\":\"/t/debug/step01-exercise\"}\n",
            "{\"reason\":\"build-finished\",\"success\":true}\n"
        );
        assert_eq!(
            last_executable(json),
            Some(PathBuf::from("/t/debug/step01-exercise"))
        );
        assert_eq!(last_executable("{\"reason\":\"build-finished\"}"), None);
    }

    #[test]
    fn long_compiler_output_is_cut_and_says_so() {
        let text = (1..=30)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let shown = first_lines(&text, 25);
        assert!(shown.ends_with("line 25\n… (5 more lines)"), "{shown}");
    }
}
