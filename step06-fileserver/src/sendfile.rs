//! Sending a response: the head with `MSG_MORE`, then the body with `sendfile(2)`;
//! each call narrated with `--explain` (the head's `send` is the `sendto` system call).
//!
//! `sendfile` copies from the file to the socket inside the kernel: no read into our
//! memory, no write back out. `MSG_MORE` on the head tells TCP more data follows at
//! once, so the head and the first bytes of the body leave in the same packet instead
//! of a tiny packet of headers first.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;

use common::{explain, CallError};
use socket2::Socket;

/// Linux moves at most this many bytes per `sendfile` call (0x7ffff000, `sendfile(2)`).
const SENDFILE_MAX: u64 = 0x7fff_f000;

/// Send all of `bytes`; with `more`, tell TCP that a body follows (`MSG_MORE`).
/// Retries short sends and `EINTR`, as `sendall` does.
pub fn send_head(socket: &Socket, bytes: &[u8], more: bool) -> Result<(), CallError> {
    let flags = if more { libc::MSG_MORE } else { 0 };
    let mut sent = 0;
    while sent < bytes.len() {
        // A vanished client is EPIPE, not SIGPIPE: the Rust runtime ignores SIGPIPE.
        let call = explain::begin();
        let result = socket
            .send_with_flags(&bytes[sent..], flags)
            .map_err(|e| CallError::from_io("send", e));
        call.outcome(
            || {
                format!(
                    "sendto({}, {}, {}, {}, NULL, 0)",
                    socket.as_raw_fd(),
                    explain::quote(&bytes[sent..]),
                    bytes.len() - sent,
                    if more { "MSG_MORE" } else { "0" }
                )
            },
            &result,
            |n| n.to_string(),
            if more {
                "the head; MSG_MORE: the body follows, send them together"
            } else {
                "the response"
            },
        );
        match result {
            Ok(n) => sent += n,
            Err(e) if e.is_interrupted() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Send `range` of `file` with `sendfile(2)`, in as many calls as it takes (files over
/// 4 GiB included). Returns the bytes sent.
///
/// # Errors
///
/// `sendfile`: `EPIPE`/`ECONNRESET` (the client left), `EAGAIN` (it stopped reading for
/// longer than the send timeout), or "file shrank while being sent" when the file was
/// truncated under us: the connection must then be closed, never padded.
pub fn sendfile_range(socket: &Socket, file: &File, range: Range<u64>) -> Result<u64, CallError> {
    let mut offset = range.start as libc::off_t;
    let end = range.end as libc::off_t;
    while offset < end {
        let count = ((end - offset) as u64).min(SENDFILE_MAX) as usize;
        let before = offset;
        let call = explain::begin();
        // SAFETY: both descriptors are open for the duration of the call; the kernel
        // updates `offset` by the number of bytes sent.
        let n = unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut offset, count) };
        let result = if n == -1 {
            Err(CallError::last_os_error("sendfile"))
        } else {
            Ok(n)
        };
        call.outcome(
            || {
                format!(
                    "sendfile({}, {}, [{before}] => [{offset}], {count})",
                    socket.as_raw_fd(),
                    file.as_raw_fd()
                )
            },
            &result,
            |n| n.to_string(),
            "the body, file to socket inside the kernel",
        );
        match result {
            Err(err) if err.is_interrupted() => continue,
            Err(err) => return Err(err),
            Ok(0) => {
                return Err(CallError::with_message(
                    "sendfile",
                    "file shrank while being sent",
                ))
            }
            Ok(_) => {}
        }
    }
    Ok(range.end - range.start)
}
