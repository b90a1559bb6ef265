//! Reading a server's state from `/proc`: its children (and zombies), its open
//! descriptors. The kernel changes these on its own schedule (a child exits when it
//! exits), so [`eventually`] re-reads them until a condition holds or a deadline passes.

use std::fs;
use std::time::{Duration, Instant};

use crate::TIMEOUT;

/// A process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Its pid.
    pub pid: i32,
    /// One letter: R running, S sleeping, Z zombie, …
    pub state: char,
    /// Its parent's pid.
    pub ppid: i32,
    /// Process group.
    pub pgrp: i32,
    /// Session.
    pub session: i32,
    /// Controlling terminal (0: none).
    pub tty_nr: i32,
    /// When it started, in clock ticks since boot.
    pub start_time: u64,
}

/// `/proc/PID/stat` parsed, or `None` if the process is gone.
pub fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        tty_nr: fields.get(4)?.parse().ok()?,
        // Field 22 of proc(5); `fields` starts at field 3.
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// Every process whose parent is `pid`, zombies included.
pub fn children(pid: i32) -> Vec<Stat> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .filter(|s| s.ppid == pid)
        .collect()
}

/// How many descriptors `pid` has open.
pub fn open_fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"))
}

/// Re-check `condition` every 10 ms until it holds; panic with `what` after [`TIMEOUT`].
/// For kernel state that has no event to wait on (a child exiting, a descriptor closing).
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "not within {TIMEOUT:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
