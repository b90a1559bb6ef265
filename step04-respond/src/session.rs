//! The child's whole job: one conversation with one client (slides 51–52).
//!
//! Read requests with `recv`, answer each with `sendall`, until the client leaves,
//! says `QUIT`, sends a line too long, or stays idle past the timeout; then close
//! the right way. The return value is the child's exit status.

use std::net::Shutdown;
use std::time::Duration;

use common::close::close_gracefully;
use common::sendall::sendall;
use common::socket::{close, recv, set_nonblocking, setsockopt_rcvtimeo, shutdown};
use common::{diag, CallError};
use nix::errno::Errno;
use socket2::Socket;

use crate::protocol::{Flow, Requests};

/// How much one `recv` takes at most.
const BUF_SIZE: usize = 4096;

/// Serve one client; returns the exit status for `_exit`: 0 when the conversation
/// ended normally (including an idle timeout), 6 when `recv` failed, 7 when `send`
/// failed, 1 when the socket could not be set up. A failure is reported in one line.
pub fn serve_client(connectionfd: Socket, timeout: Option<Duration>) -> u8 {
    match converse(&connectionfd, timeout) {
        Ok(Ending::Close) => {
            // The client has every reply: a reset met while draining, or a client
            // still sending when the linger is over, changes nothing for it, so it
            // is not an error of this conversation.
            let _ = close_gracefully(connectionfd);
            0
        }
        Ok(Ending::Idle) => {
            let _ = close(connectionfd);
            0
        }
        Err(err) => {
            diag::error(&err.to_string());
            err.exit_code()
        }
    }
}

/// How a conversation ended without an error.
enum Ending {
    /// The client left, said QUIT, or sent a line too long: close the right way.
    Close,
    /// Nothing arrived within the timeout: just close.
    Idle,
}

fn converse(connectionfd: &Socket, timeout: Option<Duration>) -> Result<Ending, CallError> {
    // Beyond the slides: an idle client is dropped after the timeout (recv fails
    // with EAGAIN) instead of keeping this process alive for ever.
    setsockopt_rcvtimeo(connectionfd, timeout)?;

    let mut buffer = vec![0u8; BUF_SIZE];
    let mut requests = Requests::new();
    let mut out = Vec::with_capacity(BUF_SIZE);
    loop {
        let n = match recv(connectionfd, &mut buffer) {
            Ok(n) => n,
            Err(err) if err.is_interrupted() => continue,
            Err(err) if err.errno() == Some(Errno::EAGAIN) => return Ok(Ending::Idle),
            Err(err) => return Err(err),
        };
        // Slide bug: the slide answers with strlen(buffer) of a buffer recv did not
        // NUL-terminate; here every byte received is used once, by count.
        out.clear();
        let flow = if n == 0 {
            // The client is done sending: an unterminated last line still counts.
            requests.finish(&mut out);
            Flow::Close
        } else {
            requests.feed(&buffer[..n], &mut out)
        };
        // All the replies to this recv's requests leave in one sendall: pipelined
        // requests cost one send, not one each.
        if !out.is_empty() {
            sendall(connectionfd, &out)?;
        }
        if flow == Flow::Close {
            return Ok(Ending::Close);
        }
    }
}

/// Beyond the slides: with `--max-clients` children busy, the parent answers
/// [`BUSY`](crate::protocol::BUSY) itself, without forking, and closes.
///
/// Reading what the client may already have sent (without waiting: the socket is
/// made non-blocking) avoids a reset that could destroy the answer before the client
/// reads it. Errors are ignored: the parent must neither stop nor wait for this client.
pub fn refuse(connectionfd: Socket) {
    refuse_with(connectionfd, crate::protocol::BUSY);
}

/// [`refuse`] with another answer (step06 answers `503 Service Unavailable`).
pub fn refuse_with(connectionfd: Socket, answer: &[u8]) {
    let _ = sendall(&connectionfd, answer);
    let _ = shutdown(&connectionfd, Shutdown::Write);
    let _ = set_nonblocking(&connectionfd);
    let mut drain = [0u8; BUF_SIZE];
    while matches!(recv(&connectionfd, &mut drain), Ok(n) if n > 0) {}
    let _ = close(connectionfd);
}
