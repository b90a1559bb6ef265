//! Proof that `cargo lab`'s step 05 checks are right: they pass against the step's
//! C original and its Rust binary; each faulty variant in `tests/lab/faulty/` (the
//! original with exactly one mistake) fails the check its header names, first, with
//! the hint that names the mistake (the untouched skeletons: lab_skeletons.rs).
//! After every check no process of the program is left alive: a daemon detaches from
//! everything the checker started, and must be found and killed all the same.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

mod lab_proof;

use std::path::{Path, PathBuf};

use lab_proof::{caught_by, faulty_files};
use tests::bins::workspace_root;
use tests::daemon::can_use_namespaces;
use tests::lab::ctx::{deadline, within};
use tests::lab::runner::run_one;
use tests::lab::target::prepare;
use tests::lab::workcopy;
use tests::lab::{Check, Outcome, Step, Target};
use tests::rust_binary;

const STEP: &str = "step05-daemon";

fn step() -> &'static Step {
    Step::parse("05").unwrap()
}

/// The live processes running `program`: its binary, or a script given as an
/// argument to an interpreter (a zombie is not alive: it only waits for its parent,
/// init for a daemon).
fn alive_running(program: &Path) -> Vec<i32> {
    let runs = |pid: i32| {
        std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == program)
            || std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|&b| b == 0)
                    .any(|a| a == program.as_os_str().as_encoded_bytes())
            })
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| runs(pid))
        .filter(|&pid| tests::procfs::stat(pid).is_some_and(|s| s.state != 'Z'))
        .collect()
}

/// Run every check of step 05 (beyond ones included) against `target`, one at a
/// time as the runner does; after each, no process of the program is left alive.
/// The outcomes, in order.
fn check_each(target: &Target) -> Vec<(&'static str, Outcome)> {
    check_these(target, &step().checks(true))
}

/// [`check_each`] for `checks` only.
fn check_these(target: &Target, checks: &[&'static Check]) -> Vec<(&'static str, Outcome)> {
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
    // The binary, or the script an interpreter runs (`python3 FILE`).
    let binary = PathBuf::from(program.argv.last().unwrap());
    let mut outcomes = Vec::new();
    for &check in checks {
        let outcome = run_one(check, step(), &program);
        let mut left = Vec::new();
        assert!(
            within(deadline(), || {
                left = alive_running(&binary);
                left.is_empty()
            }),
            "{}: after {}, processes {left:?} of {} are alive ({outcome:?})",
            target_name(target),
            check.id,
            binary.display()
        );
        outcomes.push((check.id, outcome));
    }
    outcomes
}

fn target_name(target: &Target) -> String {
    match target {
        Target::CFile(p) | Target::Executable(p) | Target::RustDir(p) => p.display().to_string(),
        other => format!("{other:?}"),
    }
}

/// Every check passed; `step05/syslog` may be skipped only where it needs root and
/// the test is not root (never under CI).
fn assert_all_pass(target: &Target) {
    let root = can_use_namespaces();
    let outcomes = check_each(target);
    let ids: Vec<&str> = outcomes.iter().map(|(id, _)| *id).collect();
    let expected: Vec<&str> = step().checks(true).iter().map(|c| c.id).collect();
    assert_eq!(ids, expected);
    for (id, outcome) in &outcomes {
        match outcome {
            Outcome::Skipped(skip) if *id == "step05/syslog" && !root => {
                assert_eq!(skip.reason, "needs root");
            }
            outcome => assert_eq!(outcome, &Outcome::Passed, "{id}"),
        }
    }
}

/// The Rust binary: its launcher waits for the daemon's word, then returns.
#[test]
fn rust_reference_passes_every_step05_check() {
    assert_all_pass(&Target::Executable(rust_binary(STEP)));
}

/// The C original, compiled by build.rs: its launcher returns at once, before the
/// daemon listens.
#[test]
fn c_original_passes_every_step05_check() {
    assert_all_pass(&Target::COriginal);
}

/// The original.c source compiled as a student's file is (`--c FILE`), without a
/// warning.
#[test]
fn original_c_as_a_student_file_passes() {
    let file = workspace_root().join(STEP).join("original.c");
    let prepared = prepare(&Target::CFile(file.clone()), step(), &workcopy::root()).unwrap();
    assert_eq!(prepared.build.unwrap().output, "", "no warning");
    assert_all_pass(&Target::CFile(file));
}

/// A student program in another language passes through `-- CMD`: Python, run as
/// `python3 step05_server.py -p P`, which opens its socket before it detaches.
#[test]
fn a_python_daemon_passes_through_a_command() {
    if !tests::require_tool("python3") {
        return;
    }
    let script = workspace_root().join("tests/lab/other/step05_server.py");
    assert_all_pass(&Target::Command(vec!["python3".into(), script.into()]));
}

/// A daemon that opens its socket before detaching, whose first child lingers a
/// moment after forking the daemon (holding the socket, in the daemon's session,
/// neither in `/` nor on `/dev/null`): the checks judge the daemon, not that child.
const LINGERING_CHILD: &str = r#"
import os, socket, sys, syslog, time
port = int(sys.argv[sys.argv.index("-p") + 1])
fd = socket.socket()
fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
fd.bind(("0.0.0.0", port))
fd.listen(16)
if os.fork() > 0:
    os._exit(0)
syslog.openlog("step05-daemon", syslog.LOG_PID, syslog.LOG_DAEMON)
os.setsid()
if os.fork() > 0:
    time.sleep(0.3)
    os._exit(0)
os.chdir("/")
null = os.open(os.devnull, os.O_RDWR)
for n in (0, 1, 2):
    os.dup2(null, n)
syslog.syslog(syslog.LOG_INFO, "listening on 0.0.0.0:%d" % port)
while True:
    conn, (address, client) = fd.accept()
    syslog.syslog(syslog.LOG_INFO, "Connection from: %s:%d" % (address, client))
    conn.close()
"#;

/// [`LINGERING_CHILD`] passes every daemon check (it serves no protocol: step04's
/// checks are not for it).
#[test]
fn the_daemon_is_judged_not_the_child_that_forked_it() {
    if !tests::require_tool("python3") {
        return;
    }
    let target = Target::Command(vec!["python3".into(), "-c".into(), LINGERING_CHILD.into()]);
    let daemon_checks: Vec<&Check> = step().checks.iter().collect();
    let root = can_use_namespaces();
    for (id, outcome) in check_these(&target, &daemon_checks) {
        match outcome {
            Outcome::Skipped(_) if id == "step05/syslog" && !root => {}
            outcome => assert_eq!(outcome, Outcome::Passed, "{id}"),
        }
    }
}

/// What each faulty variant's check and hint must say: the mistake, by name, and the
/// slide the hint points to.
const HINTS: [(&str, &str, u32); 6] = [
    (
        "step05-launcher-waits.c",
        "without -f the program must become a daemon: call the daemon routine before serving; its first fork lets the parent exit(0)",
        37,
    ),
    ("step05-no-chdir.c", "chdir(\"/\") in the daemon routine", 42),
    (
        "step05-no-fork.c",
        "setsid() failed with EPERM: it refuses a process group leader",
        37,
    ),
    (
        "step05-no-setsid.c",
        "call setsid() in the child after the first fork",
        41,
    ),
    (
        "step05-no-syslog.c",
        "nothing reached syslog: write each event with syslog(LOG_INFO, …)",
        40,
    ),
    (
        "step05-stdio-open.c",
        "0, 1 and 2 still lead where the command's did",
        43,
    ),
];

/// Each step 05 mistake fails the check that names it, first, with its hint on its
/// slide. A daemon that detaches fails that check only; a command that does not
/// become one (it never returns, or it fails) fails every daemon check the same way,
/// since each starts with that command.
#[test]
fn each_faulty_variant_fails_its_own_check_with_its_hint() {
    let root = can_use_namespaces();
    let files = faulty_files(step());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        HINTS.map(|(f, _, _)| f.to_string()),
        "a hint for every variant"
    );
    for (file, (name, hint, slide)) in files.iter().zip(HINTS) {
        let id = caught_by(file);
        if id == "step05/syslog" && !root {
            eprintln!("{name}: its check needs root; not proved here");
            continue;
        }
        let outcomes = check_each(&Target::CFile(file.clone()));
        let context = format!("{name}: {outcomes:#?}");
        let failed: Vec<(&str, &tests::lab::Failure)> = outcomes
            .iter()
            .filter_map(|(i, o)| match o {
                Outcome::Failed(f) => Some((*i, f.as_ref())),
                _ => None,
            })
            .collect();
        let (first, failure) = failed.first().copied().unwrap();
        assert_eq!(first, id, "{context}");
        assert!(failure.hint.contains(hint), "{context}");
        let own = step()
            .checks(false)
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .slide;
        assert_eq!(failure.slide.unwrap_or(own), slide, "{context}");
        let launcher = id == "step05/launcher-returns";
        for (other, other_failure) in &failed[1..] {
            assert!(
                launcher && other_failure.hint == failure.hint,
                "only {id} fails, or a later check for the same reason; also {other}:\n{context}"
            );
        }
        if launcher {
            let daemon_checks = step()
                .checks
                .iter()
                .filter(|c| c.id != "step05/syslog" || root);
            assert_eq!(failed.len(), daemon_checks.count(), "{context}");
        }
    }
}
