//! Received bytes to standard output, verbatim and unbuffered.
//!
//! Rust's `println!` and `io::stdout()` go through a line buffer: bytes would
//! wait for a newline, and a binary stream would be held back. The servers write
//! what they receive straight to file descriptor 1 with `write(2)`, as the C does,
//! so a byte received is a byte on stdout.

use std::fmt;
use std::os::fd::{BorrowedFd, RawFd};

use crate::error::CallError;
use crate::explain;

/// Write all of `data` to standard output (fd 1) with `write(2)`; retries `EINTR`
/// and short writes.
///
/// ```c
/// size_t done = 0;
/// while (done < len) {
///     ssize_t n = write(STDOUT_FILENO, data + done, len - done);
///     if (n == -1) { if (errno == EINTR) continue; perror("write"); exit(1); }
///     done += n;
/// }
/// ```
///
/// See `write(2)`. A pipe or a terminal may take fewer bytes than asked; this loops.
///
/// # Errors
///
/// `write` (exit 1): `EPIPE` (the reader of the pipe went away; Rust programs ignore
/// `SIGPIPE`, so this is an error, not a kill), `ENOSPC`, `EIO`.
///
/// ```
/// common::stdio::write_stdout(b"payload\n").unwrap();
/// ```
pub fn write_stdout(data: &[u8]) -> Result<(), CallError> {
    let mut done = 0;
    while done < data.len() {
        let call = explain::begin();
        let result = nix::unistd::write(standard(libc::STDOUT_FILENO), &data[done..]);
        call.ok(
            || {
                format!(
                    "write(1, {}, {})",
                    explain::quote(&data[done..]),
                    data.len() - done
                )
            },
            Returned(result),
            "to stdout, unbuffered and verbatim",
        );
        match result {
            Ok(n) => done += n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(CallError::from_errno("write", errno as i32)),
        }
    }
    Ok(())
}

/// Read up to `buffer.len()` bytes from standard input (fd 0); 0 means end of file.
/// Retries `EINTR`.
///
/// ```c
/// ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
/// ```
///
/// See `read(2)`. Reads straight from the descriptor, past Rust's `Stdin` buffer, so
/// what the client sends is exactly what arrived, when it arrived.
///
/// # Errors
///
/// `read` (exit 1): `EIO`, `EISDIR` (stdin redirected from a directory).
///
/// ```no_run
/// let mut buffer = [0u8; 65536];
/// let n = common::stdio::read_stdin(&mut buffer).unwrap();
/// ```
pub fn read_stdin(buffer: &mut [u8]) -> Result<usize, CallError> {
    loop {
        let call = explain::begin();
        let result = nix::unistd::read(standard(libc::STDIN_FILENO), buffer);
        call.ok(
            || {
                let got = result.map_or(0, |n| n);
                format!(
                    "read(0, {}, {})",
                    explain::quote(&buffer[..got]),
                    buffer.len()
                )
            },
            Returned(result),
            "from stdin; 0 means end of file",
        );
        match result {
            Ok(n) => return Ok(n),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(CallError::from_errno("read", errno as i32)),
        }
    }
}

/// Standard input or output by number. Rust's `io::stdout()` would do too, but its
/// first use builds (and allocates) Rust's line buffer: a cost, page faults included,
/// that every forked child of a server would pay again for nothing.
fn standard(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: 0 and 1 belong to the process for its whole life; if one was closed,
    // read and write fail with EBADF (no memory is involved).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// What `read`/`write` returned, as strace shows it; formatted only when narrating.
struct Returned(nix::Result<usize>);

impl fmt::Display for Returned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(n) => write!(f, "{n}"),
            Err(errno) => write!(f, "-1 {errno:?}"),
        }
    }
}
