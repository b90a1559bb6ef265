//! The harness that runs the step binaries and the C originals as real processes.
//!
//! Every test here follows the same rules (SPEC.md, "Tests and CI"):
//! - servers start with `-p 0 -b 127.0.0.1`: the kernel picks the port, and only the
//!   loopback interface is used; [`Server::start`] waits for the `listening on` line on
//!   stderr (with a deadline) instead of sleeping;
//! - every read and every wait has a deadline ([`TIMEOUT`]);
//! - every process started is killed and reaped when its guard is dropped, even when
//!   the test fails half-way;
//! - a tool the test needs (strace) that is missing fails the test under `CI=true`.
//!
//! Modules: [`bins`] finds the binaries, [`process`] runs them, [`net`] talks to them,
//! [`data`] makes and checks test data, [`mask`] hides ports for comparisons.

pub mod bins;
pub mod daemon;
pub mod data;
pub mod http;
pub mod lab;
pub mod mask;
pub mod net;
pub mod process;
pub mod procfs;
pub mod strace;

pub use bins::{c_original, require_tool, rust_binary};
pub use process::{Proc, Server};

use std::time::Duration;

/// The deadline for any single wait in a test: long enough for a loaded CI machine,
/// short enough that a hang fails the test instead of the whole run.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A server to test with several binaries at once: its crate, its extra flags, a
/// request, and the start of the answer expected.
pub type Case<'a> = (&'a str, Vec<&'a str>, &'a [u8], &'a [u8]);
