//! The `--explain` narrator: each socket call as `strace` would print it, with why.
//!
//! ```text
//! socket(AF_INET, SOCK_STREAM, 0) = 3         /* a TCP endpoint, not yet addressed */
//! htons(1234) = 0xd204                        /* the port in network byte order */
//! bind(3, {0.0.0.0:1234}, 16) = 0             /* attach it to the port on every interface */
//! bind(3, {0.0.0.0:1234}, 16) = -1 EADDRINUSE (Address already in use)
//! ```
//!
//! The wrappers in [`socket`](crate::socket) narrate themselves; a program only calls
//! [`enable`] once, at start-up, when the user passed `--explain`. Lines go to stderr
//! through [`diag::report`], never to stdout (that is data). A
//! failed call shows the symbolic errno, as strace does, because that is the name to
//! look up in the man page's ERRORS section.
//!
//! The switch is a write-once cell, set before the first socket call and never
//! changed: the only global state besides the signal flags.

use std::fmt::Display;
use std::sync::OnceLock;

use crate::diag;
use crate::error::{CallError, Cause};

static ENABLED: OnceLock<()> = OnceLock::new();

/// Column at which the `/* why */` comment starts, so the comments line up.
const WHY_COLUMN: usize = 44;

/// Turn narration on for the rest of the process (and the children it forks).
///
/// No C counterpart: the C originals have no such flag; `strace -f ./original` is
/// their narrator.
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
pub fn enabled() -> bool {
    ENABLED.get().is_some()
}

/// Narrate a successful call: `call = result  /* why */`.
///
/// `call` is only rendered when narration is on, so pass a closure.
///
/// ```
/// common::explain::ok(|| "htons(1234)".to_string(), "0xd204", "the port in network byte order");
/// ```
pub fn ok(call: impl FnOnce() -> String, result: impl Display, why: &str) {
    if enabled() {
        let head = format!("{} = {}", call(), result);
        diag::report(&with_why(head, why));
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
        diag::report(&format!("{} = {}", call(), failure_text(err)));
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
/// common::explain::outcome(|| "recv(4, \"hello\", 5, 0)".into(), &r, |n| n.to_string(), "bytes arrived");
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
        let line = with_why(
            "socket(AF_INET, SOCK_STREAM, 0) = 3".into(),
            "a TCP endpoint",
        );
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
    fn quote_escapes_like_strace() {
        assert_eq!(quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote(&[0xff, 0x01]), r#""\xff\x01""#);
        assert_eq!(quote(b""), r#""""#);
    }
}
