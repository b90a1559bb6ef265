//! Proof of `cargo lab check --strace`: the student's socket calls beside
//! original.c's, for the step's headline session. A faulty client that closes
//! instead of shutting down shows `shutdown` missing; each C original beside itself
//! shows no mark at all (the masking leaves nothing that differs from run to run);
//! a Rust reference shows its `accept4` beside the C's `accept`, marked `~`; and
//! `cargo lab check … --strace` prints the view after the checks and leaves the exit
//! code as the checks decided it.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tests::bins::workspace_root;
use tests::lab::strace;
use tests::lab::workcopy;
use tests::lab::{Step, Target};
use tests::process::Launch;
use tests::rust_binary;

/// What `--strace` prints for `target` checked as step `nn`.
fn view(nn: &str, target: &Target) -> String {
    let mut out = Vec::new();
    strace::show(
        Step::parse(nn).unwrap(),
        target,
        &workcopy::root(),
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// step03-close-not-shutdown.c closes where original.c shuts down its sending side:
/// the view marks original.c's `shutdown(sock1, SHUT_WR)` missing (`-`), and says
/// it is the first call missing.
#[test]
fn a_client_that_closes_instead_of_shutting_down_shows_shutdown_missing() {
    if !tests::require_tool("strace") {
        return;
    }
    let file = workspace_root().join("tests/lab/faulty/step03-close-not-shutdown.c");
    let shown = view("03", &Target::CFile(file));
    let missing: Vec<&str> = shown.lines().filter(|l| l.starts_with("  - ")).collect();
    assert!(
        missing
            .iter()
            .any(|l| l.contains("shutdown(sock1, SHUT_WR) = 0")),
        "{shown}"
    );
    assert!(
        shown.contains("  first missing: shutdown(sock1, SHUT_WR) = 0\n"),
        "{shown}"
    );
}

/// Every step's original.c beside itself: the same calls, no mark, whatever the
/// ports, descriptors, pids and the moment a signal came.
#[test]
fn each_original_c_beside_itself_shows_no_mark() {
    if !tests::require_tool("strace") {
        return;
    }
    for nn in ["01", "02", "03", "04", "05", "06"] {
        let shown = view(nn, &Target::COriginal);
        assert!(
            shown.contains("  the same calls as original.c, in the same order\n"),
            "step {nn}:\n{shown}"
        );
        assert!(
            !shown.contains("\n  - ") && !shown.contains("\n  + "),
            "{shown}"
        );
    }
}

/// The Rust server of step 01 beside original.c: its `accept4` (close-on-exec)
/// shares a line with the C's `accept`, marked `~`, names shown as they are.
#[test]
fn a_rust_accept4_is_shown_beside_the_c_accept() {
    if !tests::require_tool("strace") {
        return;
    }
    let binary = rust_binary("step01-open-port");
    let shown = view("01", &Target::Executable(binary));
    let line = shown
        .lines()
        .find(|l| l.starts_with("  ~ "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(line.contains("accept4(sock1"), "{shown}");
    assert!(line.contains("accept(sock1"), "{shown}");
}

/// `cargo lab check 03 --c FILE --strace`: the faulty client's checks fail (exit 1,
/// as without `--strace`), then the view shows `shutdown` missing; the C original,
/// checked the same way, passes (exit 0) and shows the same calls.
#[test]
fn the_strace_flag_shows_the_view_and_never_changes_the_exit_code() {
    if !tests::require_tool("strace") {
        return;
    }
    let lab = |file: &Path| {
        let file = file.to_str().unwrap();
        Launch::new(
            Path::new(env!("CARGO_BIN_EXE_lab")),
            &["check", "03", "--c", file, "--strace"],
        )
        .spawn()
        .wait_exit()
    };
    let faulty = lab(&workspace_root().join("tests/lab/faulty/step03-close-not-shutdown.c"));
    let text = faulty.stdout_text();
    assert_eq!(faulty.code, Some(1), "{text}");
    assert!(text.contains("✗ step03/half-close "), "{text}");
    assert!(
        text.contains("  first missing: shutdown(sock1, SHUT_WR) = 0\n"),
        "{text}"
    );
    let original = lab(&workspace_root().join("step03-client/original.c"));
    let text = original.stdout_text();
    assert_eq!(original.code, Some(0), "{text}");
    assert!(text.contains("the same calls as original.c"), "{text}");
}
