//! `sendall` (slide 29): keep calling `send` until every byte has gone.
//!
//! `send` may take fewer bytes than asked. On a blocking TCP socket Linux does
//! that when a signal interrupts a `send` that has already queued some bytes, or when
//! a send timeout (`SO_SNDTIMEO`) expires; on a non-blocking socket, whenever the send
//! buffer fills. A program that ignores the count loses the rest silently.

use socket2::Socket;

use crate::error::CallError;
use crate::socket::send;

/// `sendall` failed: how many bytes did get through, and the call's error.
///
/// ```c
/// if (sendall(fd, data, &len) == -1)
///     fprintf(stderr, "Only %zu bytes were sent because of an error!\n", len);
/// ```
///
/// The slide's `*len = transferred` in-out parameter, as a field. `Display` prints
/// `send: Broken pipe (after 4096 bytes)`.
///
/// ```
/// let e = common::sendall::SendallError {
///     sent: 4096,
///     error: common::CallError::from_errno("send", libc::EPIPE),
/// };
/// assert_eq!(e.to_string(), "send: Broken pipe (after 4096 bytes)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendallError {
    /// Bytes the kernel accepted before the error.
    pub sent: usize,
    /// The failed `send`.
    pub error: CallError,
}

impl std::fmt::Display for SendallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (after {} bytes)", self.error, self.sent)
    }
}

impl std::error::Error for SendallError {}

impl From<SendallError> for CallError {
    /// `send: Broken pipe (after 4096 bytes)`, still exit code 7: for a caller that
    /// reports every failure the same way.
    fn from(e: SendallError) -> Self {
        CallError::with_message(
            e.error.call(),
            format!("{} (after {} bytes)", e.error.text(), e.sent),
        )
        .with_exit_code(e.error.exit_code())
    }
}

/// Send all of `data`, looping over partial sends; retries `EINTR`.
///
/// ```c
/// /* slide 29, corrected */
/// int sendall(int fd, const char *data, size_t *len) {
///     size_t transferred = 0;
///     while (transferred < *len) {
///         ssize_t n = send(fd, data + transferred, *len - transferred, MSG_NOSIGNAL);
///         if (n == -1) {
///             if (errno == EINTR) continue;   /* a signal, not an error */
///             break;
///         }
///         transferred += n;
///     }
///     *len = transferred;
///     return transferred == *len ? 0 : -1;
/// }
/// ```
///
/// Policy, stated here because a wrapper must not hide it: an interrupted `send`
/// (`EINTR`) is retried, every other error stops the loop. Returns the number of
/// `send(2)` calls it took: more than one shows that a partial send happened.
///
/// # Errors
///
/// [`SendallError`]: the `send` error (`EPIPE`, `ECONNRESET`, `EAGAIN` after a
/// timeout; exit code 7) and how many bytes had gone.
///
/// ```
/// use std::io::Read;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let client = socket2::Socket::from(std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap());
/// let (mut server, _) = listener.accept().unwrap();
/// let calls = common::sendall::sendall(&client, b"hello").unwrap();
/// assert!(calls >= 1);
/// let mut got = [0u8; 5];
/// server.read_exact(&mut got).unwrap();
/// assert_eq!(&got, b"hello");
/// ```
pub fn sendall(socket: &Socket, data: &[u8]) -> Result<usize, SendallError> {
    let mut transferred = 0;
    let mut calls = 0;
    while transferred < data.len() {
        calls += 1;
        match send(socket, &data[transferred..]) {
            Ok(0) => {
                // Never seen on a TCP socket; without this a bug would spin forever.
                let error = CallError::with_message("send", "sent 0 bytes");
                return Err(SendallError {
                    sent: transferred,
                    error,
                });
            }
            Ok(n) => transferred += n,
            Err(error) if error.is_interrupted() => continue,
            Err(error) => {
                return Err(SendallError {
                    sent: transferred,
                    error,
                })
            }
        }
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::thread::JoinHandleExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

    static INTERRUPTIONS: AtomicUsize = AtomicUsize::new(0);

    /// Async-signal-safe: one atomic increment.
    extern "C" fn on_sigusr1(_: libc::c_int) {
        INTERRUPTIONS.fetch_add(1, Ordering::Relaxed);
    }

    fn connected_pair() -> (Socket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Socket::from(client), server)
    }

    /// A tiny send buffer, a slow reader and signals that interrupt the blocked `send`:
    /// Linux returns a short count (or EINTR), and sendall must still deliver every byte.
    #[test]
    fn partial_sends_and_eintr_still_deliver_every_byte() {
        // No SA_RESTART: an interrupted send returns what it had queued, or EINTR.
        let action = SigAction::new(
            SigHandler::Handler(on_sigusr1),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only increments an atomic.
        unsafe { sigaction(Signal::SIGUSR1, &action) }.unwrap();

        let (sender, receiver) = connected_pair();
        sender.set_send_buffer_size(4096).unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let expected = data.clone();

        let done = Arc::new(AtomicBool::new(false));
        let sending = {
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let result = sendall(&sender, &data);
                done.store(true, Ordering::SeqCst);
                result
            })
        };
        // Interrupt the sending thread, and only it, while it is blocked in send.
        let target = sending.as_pthread_t();
        let interrupter = {
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(20);
                while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                    // SAFETY: target is a live thread until `done` is set.
                    unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
                    thread::sleep(Duration::from_millis(2));
                }
            })
        };
        // The slow reader: small reads, a pause between them, so the sender blocks.
        let mut received = Vec::with_capacity(expected.len());
        let mut chunk = [0u8; 16 * 1024];
        let mut reader = receiver;
        while received.len() < expected.len() {
            let n = reader.read(&mut chunk).unwrap();
            assert_ne!(n, 0, "sender closed early");
            received.extend_from_slice(&chunk[..n]);
            thread::sleep(Duration::from_micros(200));
        }
        let calls = sending.join().unwrap().unwrap();
        interrupter.join().unwrap();

        assert!(received == expected, "bytes differ");
        assert!(
            INTERRUPTIONS.load(Ordering::Relaxed) > 0,
            "no signal was delivered"
        );
        assert!(
            calls > 1,
            "expected partial sends, got {calls} send call(s)"
        );
    }

    #[test]
    fn reports_how_many_bytes_went_before_the_error() {
        let (sender, receiver) = connected_pair();
        drop(receiver);
        let data = vec![0u8; 8 * 1024 * 1024];
        let err = loop {
            // The first sends may succeed into the buffer; then RST makes one fail.
            if let Err(e) = sendall(&sender, &data) {
                break e;
            }
        };
        assert!(matches!(
            err.error.errno(),
            Some(nix::errno::Errno::EPIPE | nix::errno::Errno::ECONNRESET)
        ));
        assert!(err.sent < data.len());
        assert_eq!(err.error.exit_code(), 7);
    }
}
