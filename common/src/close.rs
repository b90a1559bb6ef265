//! The right way to close a connection (slide 31).
//!
//! `close` alone has a trap: if the peer's data is still unread in our receive
//! buffer, the kernel answers the close with a reset (RST) instead of an orderly end,
//! and the peer may lose the last bytes we sent it. The slide's recipe avoids it:
//! finish sending, `shutdown(SHUT_WR)`, `recv` until it returns 0, then `close`.

use std::net::Shutdown;

use socket2::Socket;

use crate::error::CallError;
use crate::socket::{close, recv, shutdown};

/// Close a connection the right way: `shutdown(SHUT_WR)`, drain with `recv` until 0,
/// `close`.
///
/// ```c
/// shutdown(fd, SHUT_WR);                         /* we are done sending: FIN */
/// while ((n = recv(fd, buf, sizeof buf, 0)) > 0) /* read until the peer is done */
///     ;
/// close(fd);
/// ```
///
/// See `shutdown(2)`, `recv(2)`, `close(2)`. What the peer still sends is read and
/// discarded. `EINTR` while draining is retried. This waits for the peer to close its
/// side: give the socket a receive timeout (`SO_RCVTIMEO`) first if the peer might
/// never do so. The socket is closed in every case, also on error.
///
/// # Errors
///
/// `shutdown` (`ENOTCONN`: the peer already reset), `recv` (`ECONNRESET`, `EAGAIN`
/// when a receive timeout expires) or `close`.
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
/// ```
pub fn close_gracefully(socket: Socket) -> Result<(), CallError> {
    shutdown(&socket, Shutdown::Write)?;
    let mut buffer = [0u8; 4096];
    loop {
        match recv(&socket, &mut buffer) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.is_interrupted() => continue,
            Err(e) => return Err(e),
        }
    }
    close(socket)
}
