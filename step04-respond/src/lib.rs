//! The parts of step04 that later steps reuse: the line protocol, the child's
//! conversation with one client, and the SIGCHLD reaper.
//!
//! step05 (the daemon) is "step04 + daemon": it depends on this library rather than
//! copying it, so the dependency graph reads like the lecture.
//!
//! - [`protocol`]: request lines in, reply lines out; pure, no I/O.
//! - [`session`]: what a forked child does with its connection.
//! - [`reaper`]: the SIGCHLD handler and the count of children alive.

pub mod protocol;
pub mod reaper;
pub mod session;
