//! Proof that `cargo lab`'s step 02 checks are right: they pass against the step's
//! C original, its Rust binary and a Python program (step 01's checks that still
//! apply included); each faulty variant in `tests/lab/faulty/` fails the check its
//! header names, with the hint that names the mistake. These replace step02.rs's
//! tests of the slides' behaviour: the same code checks the references here and a
//! student's program in `cargo lab`. (The skeletons' proof is lab_skeletons.rs.)

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

mod lab_proof;

use lab_proof::{assert_all_pass, assert_faulty_variants, Faulty};
use tests::bins::workspace_root;
use tests::lab::ctx::Ctx;
use tests::lab::steps::step02;
use tests::lab::{Program, Step, Target};
use tests::{c_original, rust_binary};

const STEP: &str = "step02-receive";

fn step() -> &'static Step {
    Step::parse("02").unwrap()
}

/// The Rust binary does what the slides' step 02 does, check by check, and still
/// what step 01's did (but exiting after one connection).
#[test]
fn rust_reference_passes_every_step02_check() {
    assert_all_pass(step(), &Target::Executable(rust_binary(STEP)));
}

/// The C original, compiled by build.rs, passes the same checks.
#[test]
fn c_original_passes_every_step02_check() {
    assert_all_pass(step(), &Target::COriginal);
}

/// Step 02 re-runs step 01's checks that apply to a server that serves on: all but
/// `exits`, in step order, before its own.
#[test]
fn step02_reruns_step01s_checks_that_still_apply() {
    let ids: Vec<&str> = step().checks(false).iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "step01/listens",
            "step01/htons",
            "step01/accepts",
            "step01/ntohs",
            "step01/reuseaddr",
            "step02/verbatim",
            "step02/binary-safe",
            "step02/unbuffered",
            "step02/closed",
            "step02/accept-loop",
            "step02/large",
        ]
    );
}

/// SPEC's stream: 100 MiB of random bytes from one client come out of stdout byte
/// for byte, in C and in Rust (the `large` check's code, with a bigger stream).
#[test]
fn references_copy_100_mib_byte_exact() {
    for binary in [rust_binary(STEP), c_original(STEP)] {
        let program = Program::executable(&binary);
        let ctx = Ctx {
            step: step(),
            program: &program,
        };
        if let Err(not_passed) = step02::stream(&ctx, 100 << 20) {
            panic!("{}: {not_passed:?}", binary.display());
        }
    }
}

/// A student program in another language passes through `-- CMD`: Python, run as
/// `python3 step02_server.py -p P` (plus `-o`, `-B`), every check, beyond ones too.
#[test]
fn a_python_server_passes_through_a_command() {
    if !tests::require_tool("python3") {
        return;
    }
    let script = workspace_root().join("tests/lab/other/step02_server.py");
    assert_all_pass(
        step(),
        &Target::Command(vec!["python3".into(), script.into()]),
    );
}

/// Each step 02 mistake, the words of the hint that names it, and the other checks
/// the same mistake fails (with their hints).
const FAULTY: [Faulty; 4] = [
    // Stdio holds the bytes until exit: they are right (with -o, at exit), but late.
    Faulty {
        file: "step02-buffered-stdout.c",
        hint: "the bytes arrived only when the program exited: stdout is a pipe here, and stdio buffers a pipe",
        also: &[],
    },
    Faulty {
        file: "step02-one-connection.c",
        hint: "it ends after one client, as step 01 did: put accept … close(connectionfd) in a loop",
        also: &[],
    },
    // printf("%s") stops at each NUL: text is right, binary data is not.
    Faulty {
        file: "step02-printf-s.c",
        hint: "stdout gets nothing from a NUL byte on: recv does not add a NUL",
        also: &[("step02/large", "not with printf(\"%s\", buffer)")],
    },
    // strlen on the 5-byte buffer: cut at a NUL, and stale bytes after a short recv
    // (the header says so: "hello world\n" comes out as "hello world\norl").
    Faulty {
        file: "step02-strlen.c",
        hint: "not strlen(buffer) bytes",
        also: &[
            (
                "step02/verbatim",
                "left in the buffer by an earlier recv: recv does not add a NUL, so strlen(buffer)",
            ),
            ("step02/large", "not strlen(buffer) bytes"),
        ],
    },
];

/// Each step 02 mistake fails the check that names it, with its hint; the only other
/// red lines are the ones the same mistake causes, and they name it too.
#[test]
fn each_faulty_variant_fails_its_own_check_with_its_hint() {
    assert_faulty_variants(step(), &FAULTY);
}
