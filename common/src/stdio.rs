//! Received bytes to standard output, verbatim and unbuffered.
//!
//! Rust's `println!` and `io::stdout()` go through a line buffer: bytes would
//! wait for a newline, and a binary stream would be held back. The servers write
//! what they receive straight to file descriptor 1 with `write(2)`, as the C does,
//! so a byte received is a byte on stdout.

use std::io;

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
        let result = nix::unistd::write(io::stdout(), &data[done..]);
        explain::ok(
            || format!("write(1, {}, {})", explain::quote(&data[done..]), data.len() - done),
            match result {
                Ok(n) => n.to_string(),
                Err(errno) => format!("-1 {errno:?}"),
            },
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
