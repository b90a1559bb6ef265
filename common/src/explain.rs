//! The `--explain` narrator: each call as `strace` would print it, with why.
//!
//! ```text
//! socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3  /* ... */
//! htons(1234) = 0xd204                        /* the port in network byte order */
//! bind(3, {0.0.0.0:1234}, 16) = 0             /* attach it to the port on every interface */
//! bind(3, {0.0.0.0:1234}, 16) = -1 EADDRINUSE (Address already in use)
//! [pid 4243] recvfrom(4, "PING\n", 4096, 0, NULL, NULL) = 5  /* ... */
//! ```
//!
//! The wrappers in [`socket`](crate::socket) narrate themselves; a program only calls
//! [`start`] once, at start-up, with the user's `--explain` and `--wire`. Lines go to
//! stderr through [`diag::report`], never to stdout (that is data). A
//! failed call shows the symbolic errno, as strace does, because that is the name to
//! look up in the man page's ERRORS section.
//!
//! Each line shows the call actually made, named and written as `strace` shows it:
//! `accept4(…, SOCK_CLOEXEC)` where the slides have `accept`, `recvfrom` for glibc's
//! `recv`. Where that differs from the slide, the why says so. A forked child's lines
//! start with `[pid N]`, as `strace -f` prints them, so parent and child can be told
//! apart when their lines interleave.
//!
//! A narrated system call has a before and an after ([`begin`], then [`Call::ok`],
//! [`Call::failed`] or [`Call::outcome`]): with `--wire`, the TCP segments that
//! crossed the wire during the call are printed between `call(args) …` and
//! `call(args) = result`, and those that crossed it between two calls on lines of
//! their own (see [`wire`](crate::wire)). With `--wire` alone only the segments are
//! printed.
//!
//! The switches are write-once, set before the first socket call and never
//! changed: the only global state besides the signal flags.

use std::fmt::Display;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use crate::diag;
use crate::error::{CallError, Cause};
use crate::wire;

static ENABLED: OnceLock<()> = OnceLock::new();

/// In a forked child: its pid, for the `[pid N]` prefix (0 in the first process).
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Column at which the `/* why */` comment starts, so the comments line up.
const WHY_COLUMN: usize = 44;

/// Start what the user asked for: `--explain` (narrate each call) and `--wire` (print
/// the segments; this opens the capture, so call it before the first socket).
///
/// No C counterpart: the C originals have no such flags; `strace -f ./original` and
/// `tcpdump -i lo` are their narrators.
///
/// # Errors
///
/// From [`wire::start`]: without `CAP_NET_RAW`, `socket` (exit 1) with the recipe that
/// works without root.
///
/// ```
/// common::explain::start(true, false).unwrap();
/// assert!(common::explain::enabled());
/// ```
pub fn start(explain: bool, wire: bool) -> Result<(), CallError> {
    if explain {
        enable();
    }
    if wire {
        wire::start()?;
    }
    Ok(())
}

/// Turn narration on for the rest of the process (and the children it forks).
///
/// ```
/// common::explain::enable();
/// assert!(common::explain::enabled());
/// ```
pub fn enable() {
    let _ = ENABLED.set(());
}

/// True once [`enable`] was called.
///
/// ```
/// // Off unless a program asked for it.
/// let _ = common::explain::enabled();
/// ```
#[inline]
pub fn enabled() -> bool {
    ENABLED.get().is_some()
}

/// Narrate a successful call: `call = result  /* why */`.
///
/// For what is not a system call (`htons`, `inet_aton`): a system call is narrated
/// with [`begin`] before it and [`Call::ok`] after, so that `--wire` can frame it.
///
/// `call` is only rendered when narration is on, so pass a closure.
///
/// ```
/// common::explain::ok(|| "htons(1234)".to_string(), "0xd204", "the port in network byte order");
/// ```
pub fn ok(call: impl FnOnce() -> String, result: impl Display, why: &str) {
    if enabled() {
        let head = format!("{} = {}", call(), result);
        emit(&with_why(head, why));
    }
}

/// Narrate a failed call: `call = -1 ENAME (text)`, strace's format.
///
/// For calls that fail without `errno` (`inet_aton`), the message follows `= 0`.
///
/// ```
/// let err = common::CallError::from_errno("bind", libc::EADDRINUSE);
/// common::explain::failed(|| "bind(3, {0.0.0.0:1234}, 16)".to_string(), &err);
/// // prints: bind(3, {0.0.0.0:1234}, 16) = -1 EADDRINUSE (Address already in use)
/// assert_eq!(
///     common::explain::failure_text(&err),
///     "-1 EADDRINUSE (Address already in use)"
/// );
/// ```
pub fn failed(call: impl FnOnce() -> String, err: &CallError) {
    if enabled() {
        emit(&format!("{} = {}", call(), failure_text(err)));
    }
}

/// What follows `=` when a call fails: `-1 EADDRINUSE (Address already in use)`.
///
/// ```
/// let err = common::CallError::with_message("inet_aton", "invalid address 'x'");
/// assert_eq!(common::explain::failure_text(&err), "0 (invalid address 'x')");
/// ```
pub fn failure_text(err: &CallError) -> String {
    match err.cause() {
        Cause::Errno(errno) => {
            format!("-1 {errno:?} ({})", crate::error::strerror(*errno as i32))
        }
        Cause::Message(message) => format!("0 ({message})"),
    }
}

/// Narrate a call's outcome: [`ok`] with `show(value)` as the result, or [`failed`].
///
/// ```
/// let r: Result<usize, common::CallError> = Ok(5);
/// common::explain::outcome(|| "htonl(2130706433)".into(), &r, |n| n.to_string(), "not a system call");
/// ```
pub fn outcome<T>(
    call: impl FnOnce() -> String,
    result: &Result<T, CallError>,
    show: impl FnOnce(&T) -> String,
    why: &str,
) {
    // Checked first: the servers call this on every recv, and `show` allocates.
    if !enabled() {
        return;
    }
    match result {
        Ok(value) => ok(call, show(value), why),
        Err(err) => failed(call, err),
    }
}

/// Start narrating a system call: call it just before the call is made.
///
/// With `--wire`, segments that crossed the wire since the last call are printed now,
/// on lines of their own, and the clock is read; the [`Call`] returned then prints
/// the call with the segments captured during it. Without `--explain` and `--wire` it
/// does nothing (no clock, no system call).
///
/// ```
/// let call = common::explain::begin();
/// let result: Result<i32, common::CallError> = Ok(3);
/// call.outcome(|| "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)".into(), &result,
///              |fd| fd.to_string(), "a TCP endpoint");
/// ```
// Inlined: off, a narrated call costs one load and a branch where it is made (a call
// here and one to print no segments were 0.07 µs of a step06 request in its profile).
#[inline]
pub fn begin() -> Call {
    if !wire::enabled() {
        return Call { start: None };
    }
    let start = wire::now();
    wire::print_segments(wire::take_until(start));
    Call { start: Some(start) }
}

/// A system call being narrated: see [`begin`].
#[must_use = "end the narration with ok, failed or outcome after the call"]
#[derive(Debug)]
pub struct Call {
    /// When it began, if `--wire` is on.
    start: Option<u64>,
}

impl Call {
    /// The call succeeded with `result`: `call = result  /* why */`.
    ///
    /// ```
    /// common::explain::begin().ok(|| "listen(3, 5)".into(), 0, "queue connections");
    /// ```
    pub fn ok(self, call: impl FnOnce() -> String, result: impl Display, why: &str) {
        self.end(call, |text| with_why(format!("{text} = {result}"), why));
    }

    /// The call failed: `call = -1 ENAME (text)`.
    ///
    /// ```
    /// let err = common::CallError::from_errno("listen", libc::EADDRINUSE);
    /// common::explain::begin().failed(|| "listen(3, 5)".into(), &err);
    /// ```
    pub fn failed(self, call: impl FnOnce() -> String, err: &CallError) {
        self.end(call, |text| format!("{text} = {}", failure_text(err)));
    }

    /// [`Call::ok`] with `show(value)` as the result, or [`Call::failed`].
    ///
    /// ```
    /// let r: Result<usize, common::CallError> = Ok(5);
    /// common::explain::begin().outcome(|| "recvfrom(4, \"hello\", 5, 0, NULL, NULL)".into(),
    ///                                  &r, |n| n.to_string(), "bytes arrived");
    /// ```
    pub fn outcome<T>(
        self,
        call: impl FnOnce() -> String,
        result: &Result<T, CallError>,
        show: impl FnOnce(&T) -> String,
        why: &str,
    ) {
        match result {
            Ok(value) => {
                if enabled() || self.start.is_some() {
                    let shown = show(value);
                    self.ok(call, shown, why);
                }
            }
            Err(err) => self.failed(call, err),
        }
    }

    /// Print the segments captured during the call, framed by the call's lines.
    fn end(self, call: impl FnOnce() -> String, line: impl FnOnce(&str) -> String) {
        // Neither --explain nor --wire (the usual case): nothing to look at or print.
        if self.start.is_none() && !enabled() {
            return;
        }
        let during = match self.start {
            Some(_) => wire::take_until(wire::now()),
            None => Vec::new(),
        };
        if !enabled() {
            wire::print_segments(during);
            return;
        }
        let text = call();
        if !during.is_empty() {
            emit(&format!("{text} …"));
            wire::print_segments(during);
        }
        emit(&line(&text));
    }
}

/// Narrate the `waitpid(-1, NULL, WNOHANG)` of a SIGCHLD handler (`wait4` as strace
/// shows it) from inside the handler, where nothing may allocate or take a lock.
///
/// ```c
/// pid_t pid = waitpid(-1, NULL, WNOHANG);   /* in on_sigchld */
/// ```
///
/// Async-signal-safe: the line is built in a buffer on the stack and leaves in one
/// `write(2)` to stderr; only atomics are read. `errno` is the handler's to save (this
/// `write` may change it). Nothing is printed when narration is off, or once the
/// diagnostics go to syslog (a daemon's stderr is `/dev/null`; `syslog(3)` is not
/// async-signal-safe).
///
/// ```
/// common::explain::wait4_from_handler(-1, libc::ECHILD); // silent: narration is off
/// ```
pub fn wait4_from_handler(pid: libc::pid_t, errno: i32) {
    if !enabled() || diag::to_syslog() {
        return;
    }
    let mut line = StackLine::default();
    let child = CHILD.load(Ordering::Relaxed);
    if child != 0 {
        line.push("[pid ");
        line.push_int(i64::from(child));
        line.push("] ");
    }
    let start = line.len;
    line.push("wait4(-1, NULL, WNOHANG, NULL) = ");
    let why = match pid {
        -1 if errno == libc::ECHILD => {
            line.push("-1 ECHILD (No child processes)");
            "no child left to reap"
        }
        -1 => {
            line.push("-1 errno ");
            line.push_int(i64::from(errno));
            "waitpid failed"
        }
        0 => {
            line.push("0");
            "the other children are still running"
        }
        pid => {
            line.push_int(i64::from(pid));
            "SIGCHLD: reap the child that ended (the slides' wait(), without blocking)"
        }
    };
    let width = line.len - start;
    for _ in width..WHY_COLUMN.max(width + 2) {
        line.push(" ");
    }
    line.push("/* ");
    line.push(why);
    line.push(" */\n");
    // SAFETY: write(2) is async-signal-safe; the bytes are ours, on the stack.
    unsafe { libc::write(libc::STDERR_FILENO, line.buf.as_ptr().cast(), line.len) };
}

/// A line built without allocating, for a signal handler; what does not fit is cut.
struct StackLine {
    buf: [u8; 256],
    len: usize,
}

impl Default for StackLine {
    fn default() -> Self {
        StackLine {
            buf: [0; 256],
            len: 0,
        }
    }
}

impl StackLine {
    fn push(&mut self, text: &str) {
        for &byte in text.as_bytes() {
            if self.len < self.buf.len() {
                self.buf[self.len] = byte;
                self.len += 1;
            }
        }
    }

    fn push_int(&mut self, value: i64) {
        let mut digits = [0u8; 20];
        let mut n = value.unsigned_abs();
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if value < 0 {
            self.push("-");
        }
        for &digit in &digits[at..] {
            self.push(char::from(digit).encode_utf8(&mut [0; 4]));
        }
    }
}

/// From now on this process is a forked child: its lines start with `[pid N]`.
pub(crate) fn set_child(pid: i32) {
    CHILD.store(pid, Ordering::Relaxed);
}

/// One narration line, with `[pid N] ` in a forked child, as `strace -f` marks them.
pub(crate) fn emit(line: &str) {
    match CHILD.load(Ordering::Relaxed) {
        0 => diag::report(line),
        pid => diag::report(&format!("[pid {pid}] {line}")),
    }
}

/// Data as strace shows it: a quoted C string, escapes for the unprintable, at
/// most 32 bytes followed by `...`.
///
/// ```
/// assert_eq!(common::explain::quote(b"hi\r\n\x00"), "\"hi\\r\\n\\0\"");
/// assert_eq!(common::explain::quote(&[b'a'; 40]), format!("\"{}\"...", "a".repeat(32)));
/// ```
pub fn quote(data: &[u8]) -> String {
    const SHOWN: usize = 32;
    let mut out = String::from("\"");
    for &byte in data.iter().take(SHOWN) {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0 => out.push_str("\\0"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push('"');
    if data.len() > SHOWN {
        out.push_str("...");
    }
    out
}

fn with_why(head: String, why: &str) -> String {
    if why.is_empty() {
        return head;
    }
    let pad = WHY_COLUMN.saturating_sub(head.chars().count()).max(2);
    format!("{head}{}/* {why} */", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_comments_line_up() {
        let line = with_why("listen(3, 5) = 0".into(), "a TCP endpoint");
        assert_eq!(line.find("/*"), Some(WHY_COLUMN));
        let long = with_why("x".repeat(60), "why");
        assert!(long.contains(&format!("{}  /* why */", "x".repeat(60))));
    }

    #[test]
    fn failures_show_the_symbolic_errno_and_glibcs_text() {
        let err = CallError::from_errno("connect", libc::ECONNREFUSED);
        assert_eq!(failure_text(&err), "-1 ECONNREFUSED (Connection refused)");
    }

    #[test]
    fn a_stack_line_formats_numbers_and_cuts_what_does_not_fit() {
        let mut line = StackLine::default();
        line.push_int(0);
        line.push(" ");
        line.push_int(-17308);
        line.push(" ");
        line.push_int(i64::MAX);
        assert_eq!(&line.buf[..line.len], b"0 -17308 9223372036854775807");
        line.push(&"x".repeat(300));
        assert_eq!(line.len, 256);
    }

    #[test]
    fn quote_escapes_like_strace() {
        assert_eq!(quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote(&[0xff, 0x01]), r#""\xff\x01""#);
        assert_eq!(quote(b""), r#""""#);
    }
}
