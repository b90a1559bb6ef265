//! Proof that `cargo lab`'s step 03 checks are right: they pass against the step's
//! C original, its Rust binary and a Python program; each faulty variant in
//! `tests/lab/faulty/` fails the check its header names, with the hint that names the
//! mistake; a static binary gets `partial-send` skipped, not passed. These replace
//! step03.rs's tests of the slides' behaviour: the same code checks the references
//! here and a student's program in `cargo lab`. (The skeletons' proof is
//! lab_skeletons.rs.)

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

mod lab_proof;

use lab_proof::{assert_all_pass, assert_faulty_variants, check, Faulty};
use tests::bins::workspace_root;
use tests::daemon::TempDir;
use tests::lab::ctx::Ctx;
use tests::lab::steps::step03;
use tests::lab::{Outcome, Program, Step, Target};
use tests::{c_original, rust_binary};

const STEP: &str = "step03-client";

fn step() -> &'static Step {
    Step::parse("03").unwrap()
}

/// The Rust binary does what the slides' client does, check by check.
#[test]
fn rust_reference_passes_every_step03_check() {
    assert_all_pass(step(), &Target::Executable(rust_binary(STEP)));
}

/// The C original, compiled by build.rs, passes the same checks.
#[test]
fn c_original_passes_every_step03_check() {
    assert_all_pass(step(), &Target::COriginal);
}

/// A client is held to no server check of the steps before it.
#[test]
fn step03_has_only_its_own_checks() {
    assert!(step()
        .checks(true)
        .iter()
        .all(|c| c.id.starts_with("step03/")));
}

/// SPEC's stream: 100 MiB on stdin reach the server byte for byte, in C and in Rust
/// (the `stdin` check's code, with a bigger stream).
#[test]
fn references_stream_100_mib_of_stdin_byte_exact() {
    for binary in [rust_binary(STEP), c_original(STEP)] {
        let program = Program::executable(&binary);
        let ctx = Ctx {
            step: step(),
            program: &program,
        };
        if let Err(not_passed) = step03::stdin_stream(&ctx, 100 << 20) {
            panic!("{}: {not_passed:?}", binary.display());
        }
    }
}

/// A student program in another language passes through `-- CMD`: Python, run as
/// `python3 step03_client.py -H 127.0.0.1 -p P [MESSAGE…]`, the send-capping shim
/// preloaded into the interpreter for `partial-send`.
#[test]
fn a_python_client_passes_through_a_command() {
    if !tests::require_tool("python3") {
        return;
    }
    let script = workspace_root().join("tests/lab/other/step03_client.py");
    assert_all_pass(
        step(),
        &Target::Command(vec!["python3".into(), script.into()]),
    );
}

/// Each step 03 mistake, the words of the hint that names it, and the other checks
/// the same mistake fails (with their hints).
const FAULTY: [Faulty; 4] = [
    // close gives up the descriptor: the reply is refused, and lost.
    Faulty {
        file: "step03-close-not-shutdown.c",
        hint: "close(fd) told the server \"no more data\", but gave up the whole socket",
        also: &[(
            "step03/reply",
            "read the reply from the connected socket fd, after shutdown(fd, SHUT_WR), not after close(fd)",
        )],
    },
    Faulty {
        file: "step03-no-address-check.c",
        hint: "inet_addr returns INADDR_NONE for it, which is also 255.255.255.255",
        also: &[],
    },
    Faulty {
        file: "step03-no-send-loop.c",
        hint: "send returned fewer bytes than asked and the rest was never sent",
        also: &[],
    },
    Faulty {
        file: "step03-refused-exit-1.c",
        hint: "the slide's client then exits with 2: exit(2) after perror(\"connect\")",
        also: &[],
    },
];

/// Each step 03 mistake fails the check that names it, with its hint; the only other
/// red line is one the same mistake causes, and it names it too.
#[test]
fn each_faulty_variant_fails_its_own_check_with_its_hint() {
    assert_faulty_variants(step(), &FAULTY);
}

/// The C original linked statically: LD_PRELOAD cannot reach its sends, so
/// `partial-send` is skipped and says why; it is not a pass, and not a failure.
#[test]
fn a_static_client_gets_partial_send_skipped() {
    let dir = TempDir::new("lab-step03-static");
    let binary = dir.join("original-static");
    let built = std::process::Command::new("cc")
        .args(["-std=c11", "-static", "-o"])
        .arg(&binary)
        .arg(workspace_root().join(STEP).join("original.c"))
        .status()
        .unwrap();
    assert!(
        built.success(),
        "cc -static (the libc6-dev package has libc.a)"
    );
    let (summary, report) = check(step(), &Target::Executable(binary));
    match summary.outcome("step03/partial-send") {
        Some(Outcome::Skipped(skip)) => assert_eq!(skip.reason, "static binary"),
        other => panic!("{other:?}:\n{report}"),
    }
    assert!(
        report.contains("    – skipped (static binary): "),
        "{report}"
    );
    assert_eq!(summary.exit_code(), 0, "{report}");
    assert!(summary.skipped());
    assert!(!report.contains("step done"), "{report}");
}
