//! Proof that `cargo lab`'s step 04 checks are right: they pass against the step's
//! C original, its Rust binary and a Python program; each faulty variant in
//! `tests/lab/faulty/` (the original with exactly one mistake) fails the check its
//! header names, with the hint that names the mistake, and no check it has nothing
//! to do with. Every check runs on its own here, and after each one no process of
//! the program (the parent, a child it forked) is left alive.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

mod lab_proof;

use std::fs;

use lab_proof::{caught_by, faulty_files, Faulty};

use tests::bins::workspace_root;
use tests::lab::runner::run_one;
use tests::lab::target::prepare;
use tests::lab::workcopy;
use tests::lab::{Outcome, Program, Step, Target};
use tests::procfs;
use tests::rust_binary;

const STEP: &str = "step04-respond";

fn step() -> &'static Step {
    Step::parse("04").unwrap()
}

/// The live processes whose command line begins with `program`'s (the program, and
/// every child it forked: a child keeps its parent's command line).
fn alive(program: &Program) -> Vec<i32> {
    let argv: Vec<Vec<u8>> = program
        .argv
        .iter()
        .map(|a| a.as_encoded_bytes().to_vec())
        .collect();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let words: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            words.len() > argv.len()
                && argv.iter().zip(&words).all(|(a, w)| a.as_slice() == *w)
                && procfs::stat(pid).is_some_and(|s| s.state != 'Z')
        })
        .collect()
}

/// Run every check of step 04 (beyond ones included) against `target`, one at a
/// time, and after each one look for a process of the program still alive: there
/// must be none. Returns each check's id and outcome.
fn run_each(target: &Target) -> Vec<(&'static str, Outcome)> {
    let prepared = prepare(target, step(), &workcopy::root()).unwrap();
    if let Some(build) = &prepared.build {
        assert_eq!(
            build.outcome,
            Outcome::Passed,
            "{target:?}: {}",
            build.output
        );
    }
    let program = prepared.program.unwrap();
    assert!(alive(&program).is_empty(), "nothing runs before the checks");
    step()
        .checks(true)
        .into_iter()
        .map(|check| {
            let outcome = run_one(check, step(), &program);
            let left = alive(&program);
            assert!(
                left.is_empty(),
                "{}: after {} these processes of the program live on: {left:?}",
                program.label,
                check.id
            );
            (check.id, outcome)
        })
        .collect()
}

/// Step 04 re-runs step 01's checks that apply to a server that serves on (all but
/// `exits`), in step order, before its own; none of step 02's: those judge what
/// reaches stdout, and its accept loop is `concurrent`'s first condition.
#[test]
fn step04_reruns_step01s_checks_that_still_apply() {
    let ids: Vec<&str> = step().checks(true).iter().map(|c| c.id).collect();
    assert_eq!(
        ids[..7],
        [
            "step01/listens",
            "step01/htons",
            "step01/accepts",
            "step01/ntohs",
            "step01/reuseaddr",
            "step01/signals",
            "step04/concurrent",
        ]
    );
}

/// The search for live processes finds a program that runs, and its children.
#[test]
fn a_live_program_is_found() {
    let program = Program::executable(&tests::c_original(STEP));
    let mut run = tests::lab::run::Running::start(
        &program.with_args(&["-p", "0"]),
        &[],
        tests::lab::run::Stdin::Null,
    )
    .unwrap();
    let found = |pid: i32| alive(&program).contains(&pid);
    assert!(tests::lab::ctx::within(tests::lab::ctx::deadline(), || {
        found(run.pid())
    }));
    run.kill();
    assert!(alive(&program).is_empty());
}

/// Every check passed, or the failure says which and why.
fn assert_all_pass(target: &Target) {
    let outcomes = run_each(target);
    assert!(!outcomes.is_empty());
    for (id, outcome) in outcomes {
        assert_eq!(outcome, Outcome::Passed, "{target:?}: {id}");
    }
}

/// The Rust binary does what the slides' step 04 does, check by check.
#[test]
fn rust_reference_passes_every_step04_check() {
    assert_all_pass(&Target::Executable(rust_binary(STEP)));
}

/// The C original, compiled by build.rs, passes the same checks.
#[test]
fn c_original_passes_every_step04_check() {
    assert_all_pass(&Target::COriginal);
}

/// A student program in another language passes through `-- CMD`: Python, run as
/// `python3 step04_server.py -p P`. Its children are found and killed as the C's.
#[test]
fn a_python_server_passes_through_a_command() {
    if !tests::require_tool("python3") {
        return;
    }
    let script = workspace_root().join("tests/lab/other/step04_server.py");
    assert_all_pass(&Target::Command(vec!["python3".into(), script.into()]));
}

/// Each step 04 mistake, the words of the hint that names it, and the other checks
/// the same mistake fails (with words of their hints).
const FAULTY: [Faulty; 6] = [
    Faulty {
        file: "step04-blocking-wait.c",
        hint: "wait() waits for A's, which serves on, and nobody accepts meanwhile",
        also: &[],
    },
    Faulty {
        file: "step04-child-keeps-listener.c",
        hint: "close(fd), its copy of the listening socket, first thing after fork",
        also: &[],
    },
    // The header says so: the count of children never goes down, so after -m
    // clients every new one is told the server is busy.
    Faulty {
        file: "step04-no-reaper.c",
        hint: "nobody waits for the children",
        also: &[("step04/max-clients", "A's child was never reaped")],
    },
    Faulty {
        file: "step04-no-sa-restart.c",
        hint: "accept failed with EINTR (Interrupted system call) when A's child ended",
        also: &[],
    },
    // Without fork there is no second client while the first stays, and no child:
    // the checks that need either say so, and name the same mistake.
    Faulty {
        file: "step04-one-client-at-a-time.c",
        hint: "one client at a time. fork a child per connection",
        also: &[
            ("step04/handler-returns", "one client at a time"),
            (
                "step04/child-closes-listener",
                "no child serves the client: fork",
            ),
            ("step04/pid-in-log", "one client at a time"),
            ("step04/max-clients", "one client at a time"),
        ],
    },
    // The header says so: where the child only close()s (an idle client let go),
    // the client never sees the end while the parent holds its copy.
    Faulty {
        file: "step04-parent-keeps-connection.c",
        hint: "the parent closes its copy: close(connectionfd)",
        also: &[("step04/idle-timeout", "the parent (pid")],
    },
];

/// Check one faulty variant: its own check fails first with its hint, the checks in
/// `also` fail with theirs, every other check passes (beyond ones included).
fn assert_faulty(variant: &Faulty) {
    let file = workspace_root().join("tests/lab/faulty").join(variant.file);
    let id = caught_by(&file);
    let outcomes = run_each(&Target::CFile(file.clone()));
    let context = format!("{}: {outcomes:#?}", file.display());
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| *o != Outcome::Passed)
        .map(|(i, _)| *i)
        .collect();
    let mut expected: Vec<&str> = std::iter::once(id.as_str())
        .chain(variant.also.iter().map(|(other, _)| *other))
        .collect();
    assert_eq!(failed.first(), Some(&id.as_str()), "first: {context}");
    let mut sorted = failed.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "only these fail: {context}");
    let hint_of = |check: &str| match outcomes.iter().find(|(i, _)| *i == check) {
        Some((_, Outcome::Failed(failure))) => failure.hint.clone(),
        other => panic!("{check}: {other:?}"),
    };
    assert!(hint_of(&id).contains(variant.hint), "{id}: {context}");
    for (other, words) in variant.also {
        assert!(hint_of(other).contains(words), "{other}: {context}");
    }
}

/// Every step 04 variant in tests/lab/faulty/ is described here.
#[test]
fn every_faulty_variant_is_described() {
    let names: Vec<String> = faulty_files(step())
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, FAULTY.map(|f| f.file));
}

/// Each step 04 mistake fails the check that names it, first, with its hint; the
/// only other red lines are the ones the same mistake causes. One test per variant,
/// so they run side by side (a failing check waits out its deadline).
macro_rules! faulty_tests {
    ($($name:ident: $index:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                assert_faulty(&FAULTY[$index]);
            }
        )*
    };
}

faulty_tests! {
    blocking_wait_fails_handler_returns: 0,
    child_keeping_the_listener_fails_child_closes_listener: 1,
    no_reaper_fails_no_zombies: 2,
    no_sa_restart_fails_accept_restarts: 3,
    one_client_at_a_time_fails_concurrent: 4,
    parent_keeping_the_connection_fails_parent_closes: 5,
}
