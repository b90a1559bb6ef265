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
//! moment of detaching, or, for a program in the foreground, once it listens and only
//! if `/dev/log` answers ([`use_syslog_if_reachable`]).

use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};
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

/// Like [`use_syslog`], but only if `/dev/log` takes a connection; if not,
/// diagnostics stay on stderr and the error says why.
///
/// ```c
/// int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
/// struct sockaddr_un log = {AF_UNIX, "/dev/log"};
/// if (connect(fd, (struct sockaddr *)&log, sizeof log) == -1)
///     /* no syslog here: keep using stderr */;
/// close(fd);
/// ```
///
/// Beyond the slides: `syslog(3)` drops a record without a word when it cannot reach
/// `/dev/log` (a container, a machine without a syslog daemon or journald), so a
/// program in the foreground that logs there would look silent. This makes the
/// connection `syslog(3)` would make (a datagram socket; a stream socket when
/// `/dev/log` is one, as glibc retries on `EPROTOTYPE`) and closes it again; glibc
/// then makes its own at the first record. See `unix(7)`, `syslog(3)`.
///
/// # Errors
///
/// `connect`, naming `/dev/log`: `ENOENT` (no `/dev/log`), `ECONNREFUSED` (a regular
/// file there, or a socket nobody reads), `EACCES`. Not a reason to stop: the caller
/// keeps stderr and says so.
///
/// ```no_run
/// if let Err(err) = common::diag::use_syslog_if_reachable() {
///     common::diag::error(&format!("{err}; logging to stderr instead"));
/// }
/// ```
pub fn use_syslog_if_reachable() -> Result<(), CallError> {
    let connected = match UnixDatagram::unbound().and_then(|s| s.connect(DEV_LOG)) {
        Err(err) if err.raw_os_error() == Some(libc::EPROTOTYPE) => {
            UnixStream::connect(DEV_LOG).map(drop)
        }
        other => other,
    };
    connected.map_err(|err| {
        let text = err
            .raw_os_error()
            .map_or_else(|| err.to_string(), crate::error::strerror);
        CallError::with_message("connect", format!("{DEV_LOG}: {text}"))
    })?;
    use_syslog();
    Ok(())
}

/// True once diagnostics go to syslog. Async-signal-safe (an atomic load).
pub(crate) fn to_syslog() -> bool {
    SYSLOG.get().is_some()
}

/// Where `syslog(3)` sends its records (glibc's `_PATH_LOG`).
const DEV_LOG: &str = "/dev/log";

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
