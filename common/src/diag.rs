//! The one routing point for diagnostics: status lines, errors and `--explain` lines.
//!
//! ```c
//! fprintf(stderr, "Connection from: %s:%d\n", ...);   /* before detaching */
//! syslog(LOG_INFO, "Connection from: %s:%d", ...);    /* a daemon, after it */
//! ```
//!
//! stdout carries data, stderr carries diagnostics, so every line a program says
//! about itself goes through [`report`] or [`error`]. Until a daemon detaches they go
//! to stderr, each line in a single `write(2)` (so lines from a parent and its forked
//! children never interleave mid-line); once it calls [`use_syslog`] they go to
//! `syslog(3)` instead, in the same words. The switch is a write-once cell, set at the
//! moment of detaching.

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

use nix::syslog::{syslog, Facility, Priority, Severity};

use crate::error::CallError;

/// Set once, when a daemon hands its diagnostics to syslog.
static SYSLOG: OnceLock<()> = OnceLock::new();

/// From now on, diagnostics go to syslog (facility `LOG_DAEMON`).
///
/// ```c
/// openlog("step05-daemon", LOG_PID, LOG_DAEMON);   /* see daemon::openlog */
/// ```
///
/// Call it after `openlog`, once the standard descriptors lead to `/dev/null`.
///
/// ```no_run
/// common::diag::use_syslog();
/// common::diag::report("listening on 0.0.0.0:1234"); // a syslog record now
/// ```
pub fn use_syslog() {
    let _ = SYSLOG.set(());
}

/// Print one diagnostic line (the newline is added here): stderr, or syslog at
/// `LOG_INFO` once [`use_syslog`] was called.
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
    emit(Severity::LOG_INFO, line);
}

/// Like [`report`], for a failure: syslog's `LOG_ERR`.
///
/// ```c
/// perror("recv");   /* or syslog(LOG_ERR, "recv: %s", strerror(errno)) */
/// ```
///
/// # Errors
///
/// None reported, as for [`report`].
///
/// ```
/// common::diag::error("recv: Connection reset by peer");
/// ```
pub fn error(line: &str) {
    emit(Severity::LOG_ERR, line);
}

fn emit(severity: Severity, line: &str) {
    if SYSLOG.get().is_some() {
        // A line with a NUL byte cannot be a C string; syslog gets it cut there.
        let text = line.split('\0').next().unwrap_or("");
        let _ = syslog(Priority::new(severity, Facility::LOG_DAEMON), text);
        return;
    }
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
    error(&err.to_string());
    ExitCode::from(err.exit_code())
}
