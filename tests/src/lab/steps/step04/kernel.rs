//! What the kernel shows of a forking server: which process is the parent, its
//! children (zombies included), which process holds which socket as which
//! descriptor, and where a blocked process waits. Read from `/proc`, so a check sees
//! the trace a mistake leaves (a zombie, a descriptor kept) and can name it.

use std::collections::HashSet;
use std::fs;

use crate::lab::ctx::Server;
use crate::lab::listen;
use crate::procfs::{self, Stat};

/// The parent: the process of the program that holds a listening socket and whose
/// own parent does not (a child that kept the listening socket is not the parent;
/// a wrapper that started the server is not either).
pub fn parent(server: &Server) -> Option<i32> {
    let processes = server.run.processes();
    let listeners: HashSet<i32> = processes
        .iter()
        .copied()
        .filter(|&pid| !listen::listening_inodes(pid).is_empty())
        .collect();
    let mut roots: Vec<i32> = listeners
        .iter()
        .copied()
        .filter(|&pid| procfs::stat(pid).is_none_or(|s| !listeners.contains(&s.ppid)))
        .collect();
    roots.sort_unstable();
    roots.first().copied()
}

/// The children of `pid`, zombies included, by pid.
pub fn children(pid: i32) -> Vec<Stat> {
    let mut children = procfs::children(pid);
    children.sort_by_key(|s| s.pid);
    children
}

/// The zombies among the children of `pid`.
pub fn zombies(pid: i32) -> Vec<i32> {
    children(pid)
        .iter()
        .filter(|s| s.state == 'Z')
        .map(|s| s.pid)
        .collect()
}

/// The children of `pid` still running (not zombies).
pub fn live_children(pid: i32) -> Vec<i32> {
    children(pid)
        .iter()
        .filter(|s| s.state != 'Z')
        .map(|s| s.pid)
        .collect()
}

/// True when `pid` is a zombie or gone: it has ended, and its SIGCHLD is sent.
pub fn ended(pid: i32) -> bool {
    procfs::stat(pid).is_none_or(|s| s.state == 'Z')
}

/// True when `pid` is gone, reaped by its parent.
pub fn gone(pid: i32) -> bool {
    procfs::stat(pid).is_none()
}

/// True when `pid` has a handler for `signal` (`SigCgt` in `/proc/PID/status`).
pub fn catches(pid: i32, signal: i32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| signal >= 1 && mask & (1 << (signal - 1)) != 0)
}

/// True when `pid` sleeps in a system call (state `S`): for a parent, waiting in
/// `accept` once it is done with the last client.
pub fn sleeping(pid: i32) -> bool {
    procfs::stat(pid).is_some_and(|s| s.state == 'S')
}

/// The descriptors by which `pid` holds socket `inode`.
pub fn fds_holding(pid: i32, inode: u64) -> Vec<i32> {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let wanted = format!("socket:[{inode}]");
    let mut fds: Vec<i32> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let target = fs::read_link(e.path()).ok()?;
            (target.to_str()? == wanted).then(|| e.file_name().to_str()?.parse().ok())?
        })
        .collect();
    fds.sort_unstable();
    fds
}

/// The processes among `pids` that hold socket `inode`, with the descriptors.
pub fn holders(pids: &[i32], inode: u64) -> Vec<(i32, Vec<i32>)> {
    pids.iter()
        .map(|&pid| (pid, fds_holding(pid, inode)))
        .filter(|(_, fds)| !fds.is_empty())
        .collect()
}

/// Where `pid` is blocked in the kernel (`/proc/PID/wchan`: `do_wait` for a process
/// in wait(), `inet_csk_accept` in accept()), if the kernel says.
pub fn wchan(pid: i32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/wchan")).ok()?;
    let text = text.trim();
    (!text.is_empty() && text != "0").then(|| text.to_string())
}

/// `fd 4`, `fds 4 and 5`, for a report.
pub fn fd_list(fds: &[i32]) -> String {
    let numbers: Vec<String> = fds.iter().map(i32::to_string).collect();
    match numbers.as_slice() {
        [one] => format!("fd {one}"),
        [init @ .., last] => format!("fds {} and {last}", init.join(", ")),
        [] => "no fd".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_which_signals_a_process_catches() {
        let me = i32::try_from(std::process::id()).unwrap_or_default();
        // The Rust runtime catches SIGSEGV (to report a stack overflow); nothing here
        // catches SIGUSR2.
        assert!(catches(me, libc::SIGSEGV));
        assert!(!catches(me, libc::SIGUSR2));
        assert!(!catches(-1, libc::SIGSEGV));
    }
}
