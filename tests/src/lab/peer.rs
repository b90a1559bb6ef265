//! The checker's end of a client check (step03): a server on the port P the client is
//! told to use, which accepts its connection, reads until end of file, replies, and
//! notes how each part went, every wait bounded.
//!
//! It also listens on P with its bytes swapped: a client that forgot `htons` connects
//! there, and the check can name the mistake instead of reporting "no connection".

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::check::Failure;
use super::ctx::{no_port, within, SETTLE};
use super::port::{self, swapped};
use super::run::Running;

/// Listening on 127.0.0.1:P (and on P byte-swapped), for one client.
pub struct Peer {
    /// P, the port the client is told to use.
    pub port: u16,
    listeners: Vec<(TcpListener, u16)>,
}

/// A client's connection, accepted by the [`Peer`].
pub struct Conn {
    stream: TcpStream,
    /// The port it connected to: P, or P byte-swapped.
    pub port: u16,
    /// Every byte the client sent.
    pub received: Vec<u8>,
}

/// How reading from the client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `recv` returned 0: the client shut down its sending side, or closed.
    Eof,
    /// The connection was reset (the client closed with data unread, or exited).
    Reset,
    /// The bytes expected had all come, then neither more nor end of file for
    /// [`SETTLE`].
    Quiet,
    /// The deadline passed.
    Deadline,
}

impl Peer {
    /// Listen on a fresh port P (and on P byte-swapped, when that is free).
    pub fn new() -> Result<Peer, Failure> {
        let bind = |p: u16| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
        let mut tries = 0;
        let (listener, port) = loop {
            let port = port::for_server().map_err(|e| no_port("the checker's server", &e))?;
            match bind(port) {
                Ok(listener) => break (listener, port),
                // Free when chosen, taken since by another program on this machine.
                Err(_) if tries < 3 => tries += 1,
                Err(e) => {
                    let e = io::Error::new(e.kind(), format!("bind 127.0.0.1:{port}: {e}"));
                    return Err(no_port("the checker's server", &e));
                }
            }
        };
        let mut listeners = vec![(listener, port)];
        // Only to recognise a missing htons: without it the check still runs.
        if let Ok(other) = bind(swapped(port)) {
            listeners.push((other, swapped(port)));
        }
        for (listener, _) in &listeners {
            let _ = listener.set_nonblocking(true);
        }
        Ok(Peer { port, listeners })
    }

    /// Wait for the client's connection until the deadline, or until the client
    /// has exited without one (checked every few milliseconds: an exit has no event
    /// to wait on together with a connection).
    pub fn accept(&self, client: &mut Running, deadline: Instant) -> Option<Conn> {
        loop {
            let exited = client.exited().is_some();
            let left = deadline.saturating_duration_since(Instant::now());
            // After an exit, one last look without waiting: a connection made just
            // before it is still in the queue.
            let slice = if exited {
                Duration::ZERO
            } else {
                left.min(Duration::from_millis(20))
            };
            if let Some(conn) = self.accept_within(slice) {
                return Some(conn);
            }
            if exited || left.is_zero() {
                return None;
            }
        }
    }

    /// A connection on any of the listeners, waiting at most `wait`.
    fn accept_within(&self, wait: Duration) -> Option<Conn> {
        let mut fds: Vec<libc::pollfd> = self
            .listeners
            .iter()
            .map(|(l, _)| libc::pollfd {
                fd: l.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `fds` is a live array of `fds.len()` pollfd structures.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if ready <= 0 {
            return None;
        }
        for (fd, (listener, port)) in fds.iter().zip(&self.listeners) {
            if fd.revents & libc::POLLIN == 0 {
                continue;
            }
            if let Ok((stream, _)) = listener.accept() {
                let _ = stream.set_nonblocking(false);
                return Some(Conn {
                    stream,
                    port: *port,
                    received: Vec::new(),
                });
            }
        }
        None
    }
}

impl Conn {
    /// Read what the client sends until end of file, a reset or the deadline. Once
    /// `expected` bytes have come, end of file must follow within [`SETTLE`]
    /// (a client that never shuts down would keep both sides waiting).
    pub fn read_message(&mut self, expected: usize, deadline: Instant) -> End {
        let mut until = deadline;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if self.received.len() >= expected && until == deadline {
                until = deadline.min(Instant::now() + SETTLE);
            }
            match read_some(&mut self.stream, &mut chunk, until) {
                Ok(0) => return End::Eof,
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                Err(End::Deadline) if until < deadline => return End::Quiet,
                Err(end) => return end,
            }
        }
    }

    /// Send `reply` and shut down our sending side, then wait until the kernel is
    /// done with the connection: [`End::Eof`] when the client's side took it in
    /// order, [`End::Reset`] when the reply met a closed socket (a client that
    /// called close instead of shutdown, or exited without reading).
    ///
    /// A read cannot tell: after the client's end of file it returns 0 whatever
    /// comes next. The connection's state and its pending error can: the client's
    /// kernel acknowledges our end of file at once if its socket is open, and
    /// answers with a reset if it is closed.
    pub fn reply(&mut self, reply: &[u8], deadline: Instant) -> End {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = self
            .stream
            .set_write_timeout(Some(left.max(Duration::from_millis(1))));
        if let Err(e) = self.stream.write_all(reply) {
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => End::Deadline,
                _ => End::Reset,
            };
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        let over = within(deadline, || tcp_state(&self.stream) == Some(TCP_CLOSE));
        match self.stream.take_error() {
            Ok(Some(_)) | Err(_) => End::Reset,
            Ok(None) if over => End::Eof,
            Ok(None) => End::Deadline,
        }
    }
}

/// The kernel's code for a connection that is over (`include/net/tcp_states.h`).
const TCP_CLOSE: u8 = 7;

/// The connection's TCP state, from `getsockopt(TCP_INFO)`.
fn tcp_state(stream: &TcpStream) -> Option<u8> {
    // SAFETY: tcp_info is plain integers, so all zeros is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is a live tcp_info and `len` its size; the kernel writes at most
    // `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(info.tcpi_state)
}

impl Conn {
    /// End the connection in both directions (the client reads end of file).
    pub fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Read until the other end closes, dropping what comes: how it ended. (A reset
/// says the other end closed with our connection still queued or unread.)
pub fn read_to_end(stream: &mut TcpStream, deadline: Instant) -> End {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match read_some(stream, &mut chunk, deadline) {
            Ok(0) => return End::Eof,
            Ok(_) => {}
            Err(end) => return end,
        }
    }
}

/// One read, bounded by the deadline: the count (0 at end of file), or how it ended.
fn read_some(stream: &mut TcpStream, chunk: &mut [u8], deadline: Instant) -> Result<usize, End> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(End::Deadline);
        }
        match stream.read(chunk) {
            Ok(n) => return Ok(n),
            Err(e) => match e.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {}
                _ => return Err(End::Reset),
            },
        }
    }
}
