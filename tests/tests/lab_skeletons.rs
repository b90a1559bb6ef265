//! The exercise skeletons, as a student gets them: each compiles untouched (C with
//! `cc -std=c11 -Wall -Wextra`, Rust offline with the workspace's `Cargo.lock` and
//! target folder), and fails its step's first new check, not `compiles` nor a check
//! of an earlier step that its given code already does (SPEC: "each untouched
//! skeleton fails its step's first new check").

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tests::bins::workspace_root;
use tests::lab::report::Style;
use tests::lab::runner::{self, Options};
use tests::lab::workcopy;
use tests::lab::{Outcome, Step, Target};

/// The steps that have skeletons, one line each. A step whose checks are not
/// written yet is held to compiling only, and says so.
const SKELETONS: [&str; 6] = ["01", "02", "03", "04", "05", "06"];

/// The first check the step itself adds (the earlier steps' checks that it re-runs
/// come before it, and the skeleton's given code passes them).
fn first_new_check(step: &Step) -> Option<&'static str> {
    step.checks.iter().find(|c| !c.beyond).map(|c| c.id)
}

/// Check `target` as `step`, stopping at the first failure as `cargo lab check` does,
/// and hold it to the rule: compiles, then fails exactly the first new check.
fn assert_fails_first_new_check(step: &'static Step, target: &Target) {
    let mut report = Vec::new();
    let summary = runner::check(
        step,
        target,
        &workcopy::root(),
        Options::default(),
        &mut report,
        Style::plain(),
    )
    .unwrap();
    let report = String::from_utf8_lossy(&report);
    let context = format!("{} ({target:?}):\n{report}", step.name);
    assert_eq!(
        summary.outcome("compiles"),
        Some(&Outcome::Passed),
        "{context}"
    );
    let Some(first) = first_new_check(step) else {
        eprintln!(
            "{}: no checks are written yet; its skeleton is held to compiling only",
            step.name
        );
        return;
    };
    let failed = summary.first_failure().map(|(id, _)| id);
    assert_eq!(failed, Some(first), "{context}");
    assert!(report.contains(&format!("✗ {first} ")), "{context}");
    assert!(report.contains("    hint (slide "), "{context}");
}

/// Every C skeleton, compiled as a student's work copy is.
#[test]
fn every_c_skeleton_compiles_and_fails_its_first_new_check() {
    for nn in SKELETONS {
        let step = Step::parse(nn).unwrap();
        let file = workcopy::skeleton_dir(&workspace_root(), step).join("exercise.c");
        assert_fails_first_new_check(step, &Target::CFile(file));
    }
}

/// A copy of a Rust skeleton where `../../common` is the workspace's `common`, as
/// from `work/stepNN-name/`: a folder in the workspace's `target/` (git-ignored),
/// removed when dropped.
struct RustCopy(PathBuf);

impl RustCopy {
    fn of(step: &Step) -> RustCopy {
        let root = workspace_root();
        let dir =
            root.join("target")
                .join(format!("lab-skeleton-{}-{}", step.name, std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        copy_tree(&workcopy::skeleton_dir(&root, step), &dir);
        assert!(
            !dir.join("Cargo.lock").exists(),
            "a fresh copy has no lock file"
        );
        RustCopy(dir)
    }
}

impl Drop for RustCopy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `Cargo.toml` and `src/`, as `cargo lab start --rust` copies them.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to.join("src")).unwrap();
    fs::copy(from.join("Cargo.toml"), to.join("Cargo.toml")).unwrap();
    for entry in fs::read_dir(from.join("src")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join("src").join(entry.file_name())).unwrap();
    }
}

/// Every Rust skeleton, built offline with the workspace's lock file and target
/// folder (the checker copies the lock in), then run: its first `todo!()` is the
/// first new check's failure.
#[test]
fn every_rust_skeleton_builds_offline_and_fails_its_first_new_check() {
    for nn in SKELETONS {
        let step = Step::parse(nn).unwrap();
        let copy = RustCopy::of(step);
        assert_fails_first_new_check(step, &Target::RustDir(copy.0.clone()));
        assert!(copy.0.join("Cargo.lock").is_file(), "the workspace's lock");
    }
}

/// The lines of the `[profile.dev.package."*"]` table of a Cargo.toml.
fn dependency_profile(manifest: &Path) -> Vec<String> {
    let text = fs::read_to_string(manifest).unwrap();
    let table = text
        .split("\n[profile.dev.package.\"*\"]\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{}: no [profile.dev.package.\"*\"]", manifest.display()));
    table
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// A Rust work copy is its own workspace, so the workspace's profile does not reach
/// it: its skeleton repeats how dependencies are built, or its first build would
/// build every dependency again (a different opt-level is a different artifact).
#[test]
fn rust_skeletons_build_dependencies_as_the_workspace_does() {
    let root = workspace_root();
    let workspace = dependency_profile(&root.join("Cargo.toml"));
    assert!(!workspace.is_empty());
    for nn in SKELETONS {
        let step = Step::parse(nn).unwrap();
        let manifest = workcopy::skeleton_dir(&root, step).join("Cargo.toml");
        assert_eq!(
            dependency_profile(&manifest),
            workspace,
            "{}",
            manifest.display()
        );
    }
}
