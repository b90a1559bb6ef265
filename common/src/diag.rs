//! The one routing point for diagnostics: status lines, errors and `--explain` lines.
//!
//! ```c
//! fprintf(stderr, "Connection from: %s:%d\n", ...);
//! perror("bind");
//! ```
//!
//! stdout carries data, stderr carries diagnostics, so every line a program says
//! about itself goes through [`report`]. Each line leaves in a single `write(2)`, so
//! lines from a parent and its forked children never interleave mid-line.

use std::io::Write;
use std::process::ExitCode;

use crate::error::CallError;

/// Print one diagnostic line on stderr (the newline is added here).
///
/// ```c
/// fprintf(stderr, "%s\n", line);   /* stderr is unbuffered: one write(2) */
/// ```
///
/// # Errors
///
/// None reported: if stderr itself is gone there is nobody left to tell, exactly as
/// `perror` ignores its own write failures.
///
/// ```
/// common::diag::report("listening on 0.0.0.0:1234");
/// ```
pub fn report(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    // Ignored on purpose: see "Errors" above.
    let _ = std::io::stderr().lock().write_all(&bytes);
}

/// Report a failed call like `perror` and turn it into the lecture's exit code.
///
/// ```c
/// perror("bind");
/// exit(2);
/// ```
///
/// `main` returns what this returns, so the exit code is chosen where the call
/// failed, not flattened to 1.
///
/// # Errors
///
/// None: see [`report`].
///
/// ```
/// use common::{diag, CallError};
/// let code = diag::fail(&CallError::from_errno("bind", libc::EADDRINUSE));
/// assert_eq!(code, std::process::ExitCode::from(2));
/// ```
pub fn fail(err: &CallError) -> ExitCode {
    report(&err.to_string());
    ExitCode::from(err.exit_code())
}
