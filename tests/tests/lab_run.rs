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
