//! Proof that `cargo lab`'s step 01 checks are right: they pass against the step's
//! C original, its Rust binary and a Python program, and each faulty variant in
//! `tests/lab/faulty/` (the original with exactly one mistake) fails the check its
//! header names, with the hint that names the mistake, and no other check.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use tests::bins::workspace_root;
use tests::lab::runner::check_to_text;
use tests::lab::workcopy;
use tests::lab::{Outcome, Step, Summary, Target};
use tests::rust_binary;

const STEP: &str = "step01-open-port";

fn step() -> &'static Step {
    Step::parse("01").unwrap()
}

fn check(target: &Target) -> (Summary, String) {
    check_to_text(step(), target, &workcopy::root()).unwrap()
}

/// Every check ran and passed (none skipped), or the report says which did not.
fn assert_all_pass(target: &Target) {
    let (summary, report) = check(target);
    let ids: Vec<&str> = summary
        .results
        .iter()
        .map(|(id, _, _)| id.as_str())
        .collect();
    let expected: Vec<&str> = step().checks(true).iter().map(|c| c.id).collect();
    assert_eq!(ids, expected, "every check of step 01 ran:\n{report}");
    for (id, _, outcome) in &summary.results {
        assert_eq!(outcome.as_ref(), Some(&Outcome::Passed), "{id}:\n{report}");
    }
    assert_eq!(summary.exit_code(), 0);
    assert!(
        report.ends_with("step done, next: cargo lab start 02\n"),
        "{report}"
    );
}

/// The Rust binary does what the slides' step 01 does, check by check.
#[test]
fn rust_reference_passes_every_step01_check() {
    assert_all_pass(&Target::Executable(rust_binary(STEP)));
}

/// The C original, compiled by build.rs, passes the same checks.
#[test]
fn c_original_passes_every_step01_check() {
    assert_all_pass(&Target::COriginal);
}

/// The original.c source, compiled as a student's file is (`--c FILE`), passes too,
/// after a `compiles` line without warnings.
#[test]
fn original_c_as_a_student_file_passes() {
    let file = workspace_root().join(STEP).join("original.c");
    let (summary, report) = check(&Target::CFile(file));
    assert_eq!(summary.exit_code(), 0, "{report}");
    assert!(report.contains("✓ compiles "), "{report}");
    assert_eq!(summary.outcome("compiles"), Some(&Outcome::Passed));
}

/// A student program in another language passes through `-- CMD`: Python, run as
/// `python3 step01_server.py -p P`. It does what the slides do and no more: the
/// beyond-the-slides check of signals fails, and the exit code stays 0.
#[test]
fn a_python_server_passes_through_a_command() {
    if !tests::require_tool("python3") {
        return;
    }
    let script = workspace_root().join("tests/lab/other/step01_server.py");
    let (summary, report) = check(&Target::Command(vec!["python3".into(), script.into()]));
    for (id, beyond, outcome) in &summary.results {
        let passed = matches!(outcome, Some(Outcome::Passed));
        assert_eq!(passed, !beyond, "{id}:\n{report}");
    }
    assert!(report.contains("✗ step01/signals "), "{report}");
    assert!(report.contains(" (beyond)\n"), "{report}");
    assert_eq!(summary.exit_code(), 0, "{report}");
    assert!(summary.first_failure().is_none());
}

/// What each faulty variant's hint must say: the mistake, by name.
const HINTS: [(&str, &str); 3] = [
    (
        "step01-no-htons.c",
        "with its bytes swapped: sin_port needs htons(port)",
    ),
    (
        "step01-no-ntohs.c",
        "with its bytes swapped: remAddress.sin_port is in network byte order, print ntohs(remAddress.sin_port)",
    ),
    (
        "step01-no-reuseaddr.c",
        "call setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) before bind",
    ),
];

/// The `Caught by: stepNN/slug` line of a faulty variant's header.
fn caught_by(file: &PathBuf) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.starts_with("/* Faulty on purpose: "),
        "{}",
        file.display()
    );
    let line = text.lines().nth(1).unwrap();
    line.trim_start_matches(" * Caught by: ")
        .trim_end_matches(" */")
        .to_string()
}

/// Each step 01 mistake fails the check that names it, first, with its hint on the
/// slide of that check; every other check passes, beyond ones included (one mistake,
/// one red line).
#[test]
fn each_faulty_variant_fails_its_own_check_with_its_hint() {
    let dir = workspace_root().join("tests/lab/faulty");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("step01-")
        })
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        HINTS.map(|(f, _)| f.to_string()),
        "a hint for every variant"
    );
    for (file, (_, hint)) in files.iter().zip(HINTS) {
        let id = caught_by(file);
        let (summary, report) = check(&Target::CFile(file.clone()));
        let context = format!("{}:\n{report}", file.display());
        assert_eq!(summary.exit_code(), 1, "{context}");
        let (failed, _) = summary.first_failure().unwrap();
        assert_eq!(failed, id, "{context}");
        let slide = step()
            .checks(false)
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .slide;
        assert!(report.contains(&format!("✗ {id} ")), "{context}");
        assert!(
            report.contains(&format!("hint (slide {slide}): ")),
            "{context}"
        );
        assert!(report.contains(hint), "{context}");
        let others_failed: Vec<&str> = summary
            .results
            .iter()
            .filter(|(i, _, o)| *i != id && !matches!(o, Some(Outcome::Passed)))
            .map(|(i, _, _)| i.as_str())
            .collect();
        assert!(
            others_failed.is_empty(),
            "only {id} fails; also {others_failed:?}:\n{context}"
        );
    }
}
