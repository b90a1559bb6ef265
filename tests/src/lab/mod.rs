//! `cargo lab`: the exercise checker. It runs a student's program (C, Rust, or any
//! command) as a black box, check by check, and says what works and what the slides
//! say to do next (SPEC.md, "Exercises and the checker").
//!
//! The same checks prove themselves in `cargo test` against the C originals and the
//! Rust binaries: one check, many targets; only how the program starts differs.
//!
//! Modules, one concern each:
//! - [`check`]: what a check is ([`Check`]) and what it concludes ([`Outcome`],
//!   [`Failure`], [`Skip`]);
//! - [`steps`]: the steps and their checks (`steps/step01.rs` …);
//! - [`target`]: what is checked (a C file, a Cargo project, a reference, a command)
//!   and how it becomes a [`Program`];
//! - [`ctx`]: what a check is given: start the program with the C originals' flags
//!   on a chosen port, as a server (wait until it listens, connect) or as a client;
//! - [`peer`]: the checker's own server, for a client under check;
//! - [`run`]: a program in a session of its own, output captured, deadlines, and
//!   everything it started killed;
//! - [`port`]: the port P (free, bytes differ, byte swap free too);
//! - [`listen`]: listening sockets from `/proc`, without connecting;
//! - [`preload`]: running a program with the send-capping `LD_PRELOAD` shim;
//! - [`report`]: the `✓ ✗ –` lines and the failure block;
//! - [`runner`]: a step's checks in order, stopping at the first failure;
//! - [`strace`]: `--strace`, the program's socket calls beside original.c's;
//! - [`workcopy`]: `work/` (start, detect, the stored results);
//! - [`progress`]: where each step stands, from the stored results;
//! - [`watch`]: checking again on every save;
//! - [`batch`]: every `.c` file of a folder, one line each.

pub mod batch;
pub mod check;
pub mod ctx;
pub mod listen;
pub mod peer;
pub mod port;
pub mod preload;
pub mod progress;
pub mod report;
pub mod run;
pub mod runner;
pub mod scratch;
pub mod steps;
pub mod strace;
pub mod target;
pub mod watch;
pub mod workcopy;

pub use check::{Check, Failure, NotPassed, Outcome, Skip};
pub use runner::{check as check_target, Options, Summary};
pub use steps::Step;
pub use target::{Program, Target};
