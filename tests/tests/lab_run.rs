//! The checker's runner kills everything a student's program started: its children,
//! grandchildren, and a child that left the session with setsid.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use tests::lab::ctx::{deadline, within};
use tests::lab::run::{Running, Stdin};
use tests::procfs;

/// True while `pid` is a live process (gone, or a zombie waiting for its parent,
/// counts as ended).
fn alive(pid: i32) -> bool {
    procfs::stat(pid).is_some_and(|s| s.state != 'Z')
}

/// A program that forks two background processes, one in a session of its own, and
/// waits: dropping its `Running` leaves none of the three alive.
#[test]
fn dropping_a_running_program_kills_its_whole_family() {
    let argv = ["sh", "-c", "sleep 300 & setsid sleep 300 & wait"].map(Into::into);
    let run = Running::start(&argv, &[], Stdin::Null).unwrap();
    let mut pids = Vec::new();
    assert!(
        within(deadline(), || {
            pids = run.processes();
            pids.len() == 3
        }),
        "sh and its two sleeps: {pids:?}"
    );
    drop(run);
    let gone = deadline();
    for pid in pids {
        assert!(within(gone, || !alive(pid)), "{pid} outlived the check");
    }
    assert!(Instant::now() < gone);
}

/// The exit status is seen without reaping, so the session can still be found and
/// killed after the program itself has ended.
#[test]
fn a_child_left_behind_by_an_exited_program_is_killed() {
    let argv = ["sh", "-c", "sleep 300 & echo started"].map(Into::into);
    let mut run = Running::start(&argv, &[], Stdin::Null).unwrap();
    let status = run.wait_exit(deadline()).unwrap();
    assert!(status.success());
    let left = run.processes();
    assert_eq!(left.len(), 1, "the background sleep: {left:?}");
    drop(run);
    assert!(
        within(deadline(), || !alive(left[0])),
        "{} outlived the check",
        left[0]
    );
}

/// A daemon's double fork: the program starts a child that makes a session of its
/// own, forks the daemon and exits, and the program exits too. The daemon's parent is
/// then init (or some subreaper), not a process of the program, and its session is
/// not the program's: it is still found, and killed with the rest.
#[test]
fn a_daemon_that_double_forked_is_found_and_killed() {
    // The intermediate `sh` prints the daemon's pid and its own.
    let script = "setsid sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! $$' &";
    let argv = ["sh", "-c", script].map(Into::into);
    let mut run = Running::start(&argv, &[], Stdin::Null).unwrap();
    assert!(run.wait_exit(deadline()).unwrap().success());
    assert!(run.wait_stdout(deadline(), |out| out.ends_with(b"\n")));
    let pids: Vec<i32> = String::from_utf8(run.stdout())
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let (daemon, intermediate) = (pids[0], pids[1]);
    // Detached: the intermediate `sh` has exited, and the daemon has another parent.
    assert!(
        within(deadline(), || !alive(intermediate)
            && procfs::stat(daemon).is_some_and(|s| s.ppid != intermediate)),
        "the intermediate process exits"
    );
    assert!(alive(daemon));
    assert_eq!(run.processes(), vec![daemon], "found by the checker");
    drop(run);
    assert!(
        within(deadline(), || !alive(daemon)),
        "{daemon} outlived the check"
    );
}
