//! The right way to close a connection (slide 31).
//!
//! `close` alone has a trap: if the peer's data is still unread in our receive
//! buffer, the kernel answers the close with a reset (RST) instead of an orderly end,
//! and the peer may lose the last bytes we sent it. The slide's recipe avoids it:
//! finish sending, `shutdown(SHUT_WR)`, `recv` until it returns 0, then `close`.
//!
//! Beyond the slides: a server cannot wait for the peer's 0 for ever. A client that
//! never closes, or trickles a byte now and then, would keep the process, and its
//! `--max-clients` slot, as long as it likes. nginx calls this part the *lingering
//! close* and bounds it twice: `lingering_time` for the whole drain, `lingering_timeout`
//! for each read. [`close_gracefully`] does the same with [`LINGER_TIME`] and
//! [`LINGER_TIMEOUT`], then closes whatever the peer is doing.

use std::net::Shutdown;
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::error::CallError;
use crate::socket::{close, recv, setsockopt_rcvtimeo, shutdown};

/// How long the drain may take in all (nginx's `lingering_time`, 30 s there).
///
/// A peer that read our last bytes sends its FIN within a round trip or two; two
/// seconds are ample for that on any network, and they cap what a client that goes on
/// sending after the server is done costs it: these two seconds of a process (and of
/// a `--max-clients` slot), not as long as it trickles, since every byte would renew
/// a per-read timeout alone.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// How long one `recv` of the drain may wait for the peer (nginx's
/// `lingering_timeout`, 5 s there): a peer silent for a second has read what it
/// wanted, or never will, so the close need not wait out [`LINGER_TIME`] for it.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(1);

/// Close a connection the right way: `shutdown(SHUT_WR)`, drain with `recv` until 0
/// (for [`LINGER_TIME`] at most, [`LINGER_TIMEOUT`] per `recv`), `close`.
///
/// ```c
/// shutdown(fd, SHUT_WR);                         /* we are done sending: FIN */
/// clock_gettime(CLOCK_MONOTONIC, &deadline);
/// deadline.tv_sec += LINGER_TIME;
/// for (;;) {                                     /* read until the peer is done */
///     struct timeval tv = time_left(&deadline, LINGER_TIMEOUT);
///     if (tv.tv_sec == 0 && tv.tv_usec == 0)
///         break;                                 /* the linger is over */
///     setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
///     ssize_t n = recv(fd, buf, sizeof buf, 0);
///     if (n == 0 || (n == -1 && errno != EINTR))
///         break;                                 /* its FIN, a timeout or a reset */
/// }
/// close(fd);
/// ```
///
/// `time_left` (a few lines in `step04-respond/original.c`) is what is left until the
/// deadline, at most `LINGER_TIMEOUT`, as a `timeval`: `{0, 0}` once the deadline has
/// passed, which must end the loop, since a zero `SO_RCVTIMEO` means no timeout at all.
///
/// See `shutdown(2)`, `recv(2)`, `close(2)`, `socket(7)` (`SO_RCVTIMEO`). What the peer
/// still sends is read and discarded; `EINTR` is retried. Once the linger is over the
/// socket is closed with the peer still sending, and the peer gets a reset, as it does
/// from nginx. The socket is closed in every case, also on error.
///
/// # Errors
///
/// The first failure: `shutdown` (`ENOTCONN`: the peer already reset), `setsockopt`,
/// `recv` (`ECONNRESET`; `EAGAIN` when the peer was not done within the bound), then
/// `close`.
///
/// ```
/// use std::io::{Read, Write};
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
/// let (conn, _) = listener.accept().unwrap();
/// let conn = socket2::Socket::from(conn);
/// common::sendall::sendall(&conn, b"bye\n").unwrap();
/// let closing = std::thread::spawn(move || common::close::close_gracefully(conn));
/// let mut got = String::new();
/// peer.read_to_string(&mut got).unwrap(); // sees our FIN after "bye\n"
/// drop(peer);                             // ... and closes its side
/// closing.join().unwrap().unwrap();
/// assert_eq!(got, "bye\n");
///
/// // A peer that keeps sending is cut off after LINGER_TIME, not drained for ever.
/// use std::time::{Duration, Instant};
/// let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
/// let (conn, _) = listener.accept().unwrap();
/// let start = Instant::now();
/// let closing = std::thread::spawn(move || common::close::close_gracefully(conn.into()));
/// while !closing.is_finished() && start.elapsed() < Duration::from_secs(10) {
///     let _ = peer.write_all(b"x"); // a byte every 100 ms (a reset once we closed)
///     std::thread::sleep(Duration::from_millis(100));
/// }
/// drop(peer);
/// let result = closing.join().unwrap();
/// assert_eq!(result.unwrap_err().errno(), Some(nix::errno::Errno::EAGAIN));
/// assert!(start.elapsed() < common::close::LINGER_TIME + Duration::from_secs(1));
/// ```
pub fn close_gracefully(socket: Socket) -> Result<(), CallError> {
    let drained = shutdown(&socket, Shutdown::Write).and_then(|()| drain(&socket));
    let closed = close(socket);
    drained.and(closed)
}

/// `recv` and discard until the peer's end of file, for [`LINGER_TIME`] at most.
fn drain(socket: &Socket) -> Result<(), CallError> {
    let deadline = Instant::now() + LINGER_TIME;
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(LINGER_TIMEOUT);
        if left.is_zero() {
            // The peer kept sending for the whole linger: stop reading, as a timeout.
            return Err(CallError::from_errno("recv", libc::EAGAIN));
        }
        // SO_RCVTIMEO, recomputed from the deadline before every recv, bounds the recv
        // itself, with the option the idle timeout already uses. `poll` with the same
        // timeout, then `recv`, would do as well, with a call the slides do not show;
        // a timeout set once would be renewed by every byte the peer trickles.
        setsockopt_rcvtimeo(socket, Some(left))?;
        match recv(socket, &mut buffer) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(e) if e.is_interrupted() => continue,
            Err(e) => return Err(e),
        }
    }
}
