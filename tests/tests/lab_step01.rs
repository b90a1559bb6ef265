//! Proof that `cargo lab`'s step 01 checks are right: they pass against the step's
//! C original, its Rust binary and a Python program, and each faulty variant in
//! `tests/lab/faulty/` (the original with exactly one mistake) fails the check its
//! header names, with the hint that names the mistake, and no other check.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

mod lab_proof;

use lab_proof::{assert_all_pass, assert_faulty_variants, Faulty};
use tests::bins::workspace_root;
use tests::lab::{Outcome, Step, Summary, Target};
use tests::rust_binary;

const STEP: &str = "step01-open-port";

fn step() -> &'static Step {
    Step::parse("01").unwrap()
}

fn check(target: &Target) -> (Summary, String) {
    lab_proof::check(step(), target)
}

/// The Rust binary does what the slides' step 01 does, check by check.
#[test]
fn rust_reference_passes_every_step01_check() {
    assert_all_pass(step(), &Target::Executable(rust_binary(STEP)));
}

/// The C original, compiled by build.rs, passes the same checks.
#[test]
fn c_original_passes_every_step01_check() {
    assert_all_pass(step(), &Target::COriginal);
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

/// Each step 01 mistake, and the words of the hint that names it.
const FAULTY: [Faulty; 4] = [
    Faulty {
        file: "step01-no-accept.c",
        hint: "it listened, then ended before a client could come: after listen, accept (slide 24) waits",
        also: &[
            ("step01/htons", "after listen, accept (slide 24) waits"),
            ("step01/accepts", "after listen, accept (slide 24) waits"),
            ("step01/ntohs", "after listen, accept (slide 24) waits"),
            ("step01/exits", "after listen, accept (slide 24) waits"),
            ("step01/reuseaddr", "after listen, accept (slide 24) waits"),
            ("step01/signals", "after listen, accept (slide 24) waits"),
        ],
    },
    Faulty {
        file: "step01-no-htons.c",
        hint: "with its bytes swapped: sin_port needs htons(port)",
        also: &[],
    },
    Faulty {
        file: "step01-no-ntohs.c",
        hint: "with its bytes swapped: remAddress.sin_port is in network byte order, print ntohs(remAddress.sin_port)",
        also: &[],
    },
    Faulty {
        file: "step01-no-reuseaddr.c",
        hint: "call setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) before bind",
        also: &[],
    },
];

/// Each step 01 mistake fails the check that names it, first, with its hint on the
/// slide of that check; every other check passes, beyond ones included (one mistake,
/// one red line).
#[test]
fn each_faulty_variant_fails_its_own_check_with_its_hint() {
    assert_faulty_variants(step(), &FAULTY);
}
