//! One wrapper per socket call, named after it, adding only the failure report.
//!
//! ```c
//! if ((fd = socket(PF_INET, SOCK_STREAM, 0)) == -1) { perror("socket"); exit(1); }
//! ```
//!
//! becomes
//!
//! ```no_run
//! # fn main() -> Result<(), common::CallError> {
//! let fd = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM)?;
//! # Ok(()) }
//! ```
//!
//! Each wrapper makes exactly one system call, returns a [`CallError`] that already
//! knows the call's name and the lecture's exit code, and narrates itself when
//! `--explain` is on. None of them retries anything: an `EINTR` comes back to the
//! caller, who decides whether to retry or to stop (that is how Ctrl-C ends a server
//! blocked in `accept`). The socket object is a [`socket2::Socket`], an owned file
//! descriptor: it is closed when dropped, and [`close`] closes it explicitly, as the
//! C does, reporting an error if there is one.
//!
//! Differs from C: sockets are created and accepted with `SOCK_CLOEXEC`, so a program
//! that runs another one does not leak them into it; `send` passes `MSG_NOSIGNAL`, so
//! a vanished peer is an `EPIPE` error rather than a `SIGPIPE` that kills the process.

use std::io::Read;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::error::CallError;
use crate::explain;
use crate::sockaddr::{SockaddrIn, SOCKADDR_IN_LEN};

/// Create an endpoint for communication (slide 17).
///
/// ```c
/// int socket(int domain, int type, int protocol);
/// ```
///
/// See `socket(2)`. The protocol is always 0 ("the usual one": TCP for a stream).
///
/// # Errors
///
/// `socket` (exit 1): `EMFILE` (too many open files), `EAFNOSUPPORT`, `EACCES`.
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// ```
pub fn socket(domain: Domain, ty: Type) -> Result<Socket, CallError> {
    let result = Socket::new(domain, ty, None).map_err(|e| CallError::from_io("socket", e));
    explain::outcome(
        || format!("socket({domain:?}, {ty:?}, 0)"),
        &result,
        |s| s.as_raw_fd().to_string(),
        "a TCP endpoint: just a file descriptor, no address yet",
    );
    result
}

/// Allow `bind` to a port that still has connections in `TIME_WAIT`.
///
/// ```c
/// int yes = 1;
/// setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
/// ```
///
/// See `setsockopt(2)`, `socket(7)`. Without it, a server restarted within a minute
/// or two of closing a connection gets `bind: Address already in use`. It does not
/// let two servers listen on the same port.
///
/// # Errors
///
/// `setsockopt` (exit 1): `EBADF`, `ENOTSOCK` (not a socket).
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::setsockopt_reuseaddr(&fd).unwrap();
/// assert!(fd.reuse_address().unwrap());
/// ```
pub fn setsockopt_reuseaddr(socket: &Socket) -> Result<(), CallError> {
    let result = socket
        .set_reuse_address(true)
        .map_err(|e| CallError::from_io("setsockopt", e));
    explain::outcome(
        || {
            format!(
                "setsockopt({}, SOL_SOCKET, SO_REUSEADDR, [1], 4)",
                socket.as_raw_fd()
            )
        },
        &result,
        |_| "0".into(),
        "restart at once, even with old connections in TIME_WAIT",
    );
    result
}

/// Give the socket its local address and port (slide 18).
///
/// ```c
/// int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
/// ```
///
/// See `bind(2)`, `ip(7)`. Port 0 lets the kernel choose a free port; ask which with
/// [`getsockname`]. With `--explain` it first shows the `htons` the address holds.
///
/// # Errors
///
/// `bind` (exit 2): `EADDRINUSE` (another socket listens there), `EACCES` (a port
/// below 1024 without privilege), `EADDRNOTAVAIL` (not an address of this machine).
///
/// ```
/// use common::sockaddr::{SockaddrIn, INADDR_LOOPBACK};
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::bind(&fd, &SockaddrIn::new(INADDR_LOOPBACK, 0)).unwrap();
/// ```
pub fn bind(socket: &Socket, address: &SockaddrIn) -> Result<(), CallError> {
    narrate_htons(address);
    let result = socket
        .bind(&(*address).into())
        .map_err(|e| CallError::from_io("bind", e));
    explain::outcome(
        || {
            format!(
                "bind({}, {{{address}}}, {SOCKADDR_IN_LEN})",
                socket.as_raw_fd()
            )
        },
        &result,
        |_| "0".into(),
        "attach the socket to that address and port",
    );
    result
}

/// Mark the socket as passive: the kernel now completes connections for it (slide 20).
///
/// ```c
/// int listen(int sockfd, int backlog);
/// ```
///
/// See `listen(2)`. `backlog` bounds the queue of completed connections waiting for
/// `accept`; when it is full, new clients' SYNs are dropped and they retry later.
///
/// # Errors
///
/// `listen` (exit 3): `EADDRINUSE` (another socket already listens on the port).
///
/// ```
/// use common::sockaddr::{SockaddrIn, INADDR_LOOPBACK};
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::bind(&fd, &SockaddrIn::new(INADDR_LOOPBACK, 0)).unwrap();
/// common::socket::listen(&fd, 5).unwrap();
/// ```
pub fn listen(socket: &Socket, backlog: i32) -> Result<(), CallError> {
    let result = socket
        .listen(backlog)
        .map_err(|e| CallError::from_io("listen", e));
    explain::outcome(
        || format!("listen({}, {backlog})", socket.as_raw_fd()),
        &result,
        |_| "0".into(),
        "the kernel now queues incoming connections",
    );
    result
}

/// The address the socket is bound to: which port did `bind(…port 0…)` get?
///
/// ```c
/// int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
/// ```
///
/// See `getsockname(2)`.
///
/// # Errors
///
/// `getsockname` (exit 1): `EBADF`, `ENOTSOCK`; also reported when the socket is not
/// IPv4 (`EAFNOSUPPORT`).
///
/// ```
/// use common::sockaddr::{SockaddrIn, INADDR_LOOPBACK};
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::bind(&fd, &SockaddrIn::new(INADDR_LOOPBACK, 0)).unwrap();
/// assert_ne!(common::socket::getsockname(&fd).unwrap().port(), 0);
/// ```
pub fn getsockname(socket: &Socket) -> Result<SockaddrIn, CallError> {
    let result = socket
        .local_addr()
        .map_err(|e| CallError::from_io("getsockname", e))
        .and_then(|a| {
            SockaddrIn::try_from(&a)
                .map_err(|_| CallError::from_errno("getsockname", libc::EAFNOSUPPORT))
        });
    explain::outcome(
        || {
            format!(
                "getsockname({}, …, [{SOCKADDR_IN_LEN}])",
                socket.as_raw_fd()
            )
        },
        &result,
        |a| format!("0 ({a})"),
        "which address and port did we get?",
    );
    result
}

/// Take the next completed connection from the queue; block until there is one (slide 21).
///
/// ```c
/// socklen_t addrlen = sizeof(struct sockaddr_in);
/// int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
/// ```
///
/// See `accept(2)`. Returns the connected socket (a new descriptor; the listening one
/// stays as it was) and the peer's address, written by the kernel into a
/// `struct sockaddr_in` exactly as on the slide.
///
/// Differs from C: calls `accept4(…, SOCK_CLOEXEC)`, the same call plus the
/// close-on-exec flag set atomically. Does not retry: `EINTR` (a signal arrived) and
/// `ECONNABORTED` (the client gave up while queued) come back to the caller.
///
/// # Errors
///
/// `accept` (exit 4): `EINTR`, `EMFILE` (out of descriptors), `ECONNABORTED`.
///
/// ```no_run
/// # let listening = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM).unwrap();
/// let (connection, from) = common::socket::accept(&listening).unwrap();
/// println!("Connection from: {from}");
/// ```
pub fn accept(socket: &Socket) -> Result<(Socket, SockaddrIn), CallError> {
    let mut rem_address = libc::sockaddr_in {
        sin_family: 0,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    let mut addrlen = SOCKADDR_IN_LEN;
    // SAFETY: rem_address is a writable sockaddr_in and addrlen holds its size, so the
    // kernel writes at most that many bytes; a returned fd >= 0 is new and ours alone.
    let fd = unsafe {
        libc::accept4(
            socket.as_raw_fd(),
            (&raw mut rem_address).cast::<libc::sockaddr>(),
            &mut addrlen,
            libc::SOCK_CLOEXEC,
        )
    };
    let result = if fd == -1 {
        Err(CallError::last_os_error("accept"))
    } else {
        // SAFETY: fd was just returned by accept4 and nothing else owns it.
        Ok((
            unsafe { Socket::from_raw_fd(fd) },
            SockaddrIn::from(rem_address),
        ))
    };
    narrate_accept(socket, &result);
    result
}

/// Connect to a listening server (slide 19).
///
/// ```c
/// int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
/// ```
///
/// See `connect(2)`. If the socket was never bound, the kernel picks a local port.
///
/// # Errors
///
/// `connect` (exit 2): `ECONNREFUSED` (nobody listens there), `ETIMEDOUT`,
/// `ENETUNREACH`, `EINTR`.
///
/// ```no_run
/// use common::sockaddr::{SockaddrIn, INADDR_LOOPBACK};
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::connect(&fd, &SockaddrIn::new(INADDR_LOOPBACK, 1234)).unwrap();
/// ```
pub fn connect(socket: &Socket, address: &SockaddrIn) -> Result<(), CallError> {
    narrate_htons(address);
    let result = socket
        .connect(&(*address).into())
        .map_err(|e| CallError::from_io("connect", e));
    explain::outcome(
        || {
            format!(
                "connect({}, {{{address}}}, {SOCKADDR_IN_LEN})",
                socket.as_raw_fd()
            )
        },
        &result,
        |_| "0".into(),
        "the three-way handshake completed",
    );
    result
}

/// Receive up to `buffer.len()` bytes; 0 means the peer closed its side (slide 26).
///
/// ```c
/// ssize_t recv(int sockfd, void *buf, size_t len, int flags);   /* flags = 0 */
/// ```
///
/// See `recv(2)`. Returns as soon as any bytes are there: TCP is a byte stream, so
/// one `send` may arrive as several `recv`s and several as one. The bytes are not
/// NUL-terminated (slide bug: `strlen(buffer)` after `recv`); use the count.
///
/// # Errors
///
/// `recv` (exit 6): `ECONNRESET` (the peer reset the connection), `EINTR`,
/// `EAGAIN` (a receive timeout expired).
///
/// ```no_run
/// # let connection = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM).unwrap();
/// let mut buffer = [0u8; 5];
/// let n = common::socket::recv(&connection, &mut buffer).unwrap();
/// let received = &buffer[..n];
/// ```
pub fn recv(socket: &Socket, buffer: &mut [u8]) -> Result<usize, CallError> {
    // socket2's Read for &Socket is exactly recv(fd, buf, len, 0).
    let result = (&*socket)
        .read(buffer)
        .map_err(|e| CallError::from_io("recv", e));
    explain::outcome(
        || {
            let got = result.as_ref().map_or(0, |&n| n);
            format!(
                "recv({}, {}, {}, 0)",
                socket.as_raw_fd(),
                explain::quote(&buffer[..got]),
                buffer.len()
            )
        },
        &result,
        |n| n.to_string(),
        match result {
            Ok(0) => "0 bytes: the peer closed its side (end of file)",
            _ => "whatever had arrived, at most the buffer's size",
        },
    );
    result
}

/// [`recv`] into the unused capacity of `buffer`, appending what arrived; returns the
/// count, 0 at end of file.
///
/// ```c
/// ssize_t n = recv(sockfd, buf + used, size - used, 0);   /* then used += n */
/// ```
///
/// The same call as [`recv`], without a second buffer to copy from and without zeroing
/// memory the kernel is about to overwrite: a forked child then touches (and so
/// faults in) only the pages that bytes actually land in.
///
/// # Errors
///
/// As [`recv`]. A `buffer` with no spare capacity receives nothing and returns 0, like
/// `recv` with a length of 0: reserve room first.
///
/// ```no_run
/// # let connection = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM).unwrap();
/// let mut buffer = Vec::with_capacity(4096);
/// let n = common::socket::recv_append(&connection, &mut buffer).unwrap();
/// assert_eq!(buffer.len(), n);
/// ```
pub fn recv_append(socket: &Socket, buffer: &mut Vec<u8>) -> Result<usize, CallError> {
    let before = buffer.len();
    let room = buffer.capacity() - before;
    let result = socket
        .recv(buffer.spare_capacity_mut())
        .map_err(|e| CallError::from_io("recv", e));
    if let Ok(n) = result {
        // SAFETY: recv wrote (initialised) the first n bytes of the spare capacity.
        unsafe { buffer.set_len(before + n) };
    }
    explain::outcome(
        || {
            format!(
                "recv({}, {}, {room}, 0)",
                socket.as_raw_fd(),
                explain::quote(&buffer[before..]),
            )
        },
        &result,
        |n| n.to_string(),
        match result {
            Ok(0) => "0 bytes: the peer closed its side (end of file)",
            _ => "whatever had arrived, at most the room left in the buffer",
        },
    );
    result
}

/// Send bytes; may send fewer than asked (slide 28). See [`sendall`](crate::sendall::sendall).
///
/// ```c
/// ssize_t send(int sockfd, const void *buf, size_t len, int flags);
/// ```
///
/// See `send(2)`. Returns how many bytes the kernel took into its send buffer.
///
/// Differs from C: passes `MSG_NOSIGNAL`, so writing to a connection the peer has
/// closed fails with `EPIPE` instead of killing the process with `SIGPIPE`.
///
/// # Errors
///
/// `send` (exit 7): `EPIPE` (the peer is gone), `ECONNRESET`, `EINTR`, `EAGAIN`.
///
/// ```no_run
/// # let connection = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM).unwrap();
/// let n = common::socket::send(&connection, b"hello\n").unwrap();
/// ```
pub fn send(socket: &Socket, data: &[u8]) -> Result<usize, CallError> {
    let result = socket.send(data).map_err(|e| CallError::from_io("send", e));
    explain::outcome(
        || {
            format!(
                "send({}, {}, {}, MSG_NOSIGNAL)",
                socket.as_raw_fd(),
                explain::quote(data),
                data.len()
            )
        },
        &result,
        |n| n.to_string(),
        match result {
            Ok(n) if n < data.len() => "fewer bytes than asked: send the rest",
            _ => "copied into the kernel's send buffer",
        },
    );
    result
}

/// Stop sending (`SHUT_WR`), receiving (`SHUT_RD`) or both (slide 30).
///
/// ```c
/// int shutdown(int sockfd, int how);   /* SHUT_RD, SHUT_WR, SHUT_RDWR */
/// ```
///
/// See `shutdown(2)`. `SHUT_WR` sends the peer an end-of-file (a FIN) while we can
/// still read its reply: the first step of the right way to close.
///
/// # Errors
///
/// `shutdown` (exit 7): `ENOTCONN` (the connection is already gone).
///
/// ```no_run
/// # let connection = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM).unwrap();
/// common::socket::shutdown(&connection, std::net::Shutdown::Write).unwrap();
/// ```
pub fn shutdown(socket: &Socket, how: Shutdown) -> Result<(), CallError> {
    let result = socket
        .shutdown(how)
        .map_err(|e| CallError::from_io("shutdown", e));
    let (name, why) = match how {
        Shutdown::Write => ("SHUT_WR", "done sending: the peer reads end of file"),
        Shutdown::Read => ("SHUT_RD", "done receiving"),
        Shutdown::Both => ("SHUT_RDWR", "done sending and receiving"),
    };
    explain::outcome(
        || format!("shutdown({}, {name})", socket.as_raw_fd()),
        &result,
        |_| "0".into(),
        why,
    );
    result
}

/// Close the descriptor (slide 30). Dropping a `Socket` closes it too, silently.
///
/// ```c
/// int close(int fd);
/// ```
///
/// See `close(2)`. The descriptor is gone even when this reports an error; never
/// close it twice. Closing with unread received data makes the kernel reset the
/// connection: see [`close_gracefully`](crate::close::close_gracefully).
///
/// # Errors
///
/// `close` (exit 1): `EIO`, `EINTR` (rare on sockets).
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::close(fd).unwrap();
/// ```
pub fn close(socket: Socket) -> Result<(), CallError> {
    let fd = socket.into_raw_fd();
    // SAFETY: fd came out of an owned Socket (into_raw_fd gave up ownership), so it is
    // open and closed exactly once, here.
    let rc = unsafe { libc::close(fd) };
    let result = if rc == -1 {
        Err(CallError::last_os_error("close"))
    } else {
        Ok(())
    };
    explain::outcome(
        || format!("close({fd})"),
        &result,
        |_| "0".into(),
        "release the descriptor",
    );
    result
}

/// `--explain` shows the `htons` a `sockaddr_in` holds before it is passed to the kernel.
fn narrate_htons(address: &SockaddrIn) {
    explain::ok(
        || format!("htons({})", address.port()),
        format_args!("{:#06x}", address.sin_port),
        "the port in network byte order: most significant byte first",
    );
}

/// Give `recv` a deadline: after `timeout` with nothing received it fails with
/// `EAGAIN`. `None` waits for ever (the default).
///
/// ```c
/// struct timeval tv = { .tv_sec = 30, .tv_usec = 0 };
/// setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
/// ```
///
/// See `socket(7)` (`SO_RCVTIMEO`). This is how a server drops an idle client instead
/// of keeping a process waiting for it for ever.
///
/// Differs from C: a timeout shorter than the timeval's microsecond (what is left of a
/// deadline can be) is passed as 1 µs. Truncated to `{0, 0}` it would mean "no
/// timeout": the `recv` would wait for ever instead of hardly at all.
///
/// # Errors
///
/// `setsockopt` (exit 1): `EBADF`, `EDOM` (timeout out of range).
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// let timeout = Some(std::time::Duration::from_secs(30));
/// common::socket::setsockopt_rcvtimeo(&fd, timeout).unwrap();
/// assert_eq!(fd.read_timeout().unwrap(), timeout);
/// // Less than a microsecond left of a deadline: still a timeout, not "for ever"
/// // (the kernel rounds it up to one clock tick).
/// let nearly_none = Some(std::time::Duration::from_nanos(300));
/// common::socket::setsockopt_rcvtimeo(&fd, nearly_none).unwrap();
/// let tick = fd.read_timeout().unwrap().expect("a timeout, not for ever");
/// assert!(tick <= std::time::Duration::from_millis(10));
/// ```
pub fn setsockopt_rcvtimeo(socket: &Socket, timeout: Option<Duration>) -> Result<(), CallError> {
    let timeout = timeout.map(|t| t.max(Duration::from_micros(1)));
    let result = socket
        .set_read_timeout(timeout)
        .map_err(|e| CallError::from_io("setsockopt", e));
    explain::outcome(
        || {
            let (secs, micros) = timeout.map_or((0, 0), |t| (t.as_secs(), t.subsec_micros()));
            format!(
                "setsockopt({}, SOL_SOCKET, SO_RCVTIMEO, {{tv_sec={secs}, tv_usec={micros}}}, 16)",
                socket.as_raw_fd()
            )
        },
        &result,
        |_| "0".into(),
        "after this long with nothing received, recv fails with EAGAIN",
    );
    result
}

/// [`bind`] for an IPv4 or IPv6 address (`struct sockaddr_in6` for the latter).
///
/// ```c
/// struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
/// inet_pton(AF_INET6, "::1", &a.sin6_addr);
/// bind(fd, (struct sockaddr *)&a, sizeof a);
/// ```
///
/// See `bind(2)`, `ipv6(7)`.
///
/// # Errors
///
/// `bind` (exit 2), as [`bind`].
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV6, Type::STREAM).unwrap();
/// common::socket::bind_addr(&fd, &"[::1]:0".parse().unwrap()).unwrap();
/// ```
pub fn bind_addr(socket: &Socket, address: &std::net::SocketAddr) -> Result<(), CallError> {
    let sockaddr = socket2::SockAddr::from(*address);
    let result = socket
        .bind(&sockaddr)
        .map_err(|e| CallError::from_io("bind", e));
    explain::outcome(
        || {
            format!(
                "bind({}, {{{address}}}, {})",
                socket.as_raw_fd(),
                sockaddr.len()
            )
        },
        &result,
        |_| "0".into(),
        "attach the socket to that address and port",
    );
    result
}

/// [`getsockname`] for an IPv4 or IPv6 socket.
///
/// # Errors
///
/// `getsockname` (exit 1).
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV6, Type::STREAM).unwrap();
/// common::socket::bind_addr(&fd, &"[::1]:0".parse().unwrap()).unwrap();
/// assert!(common::socket::getsockname_addr(&fd).unwrap().is_ipv6());
/// ```
pub fn getsockname_addr(socket: &Socket) -> Result<std::net::SocketAddr, CallError> {
    let result = socket
        .local_addr()
        .map_err(|e| CallError::from_io("getsockname", e))
        .and_then(|a| {
            a.as_socket()
                .ok_or_else(|| CallError::from_errno("getsockname", libc::EAFNOSUPPORT))
        });
    explain::outcome(
        || format!("getsockname({}, …)", socket.as_raw_fd()),
        &result,
        |a| format!("0 ({a})"),
        "which address and port did we get?",
    );
    result
}

/// The `--explain` line for an `accept`, IPv4 or any family.
fn narrate_accept<A: std::fmt::Display>(socket: &Socket, result: &Result<(Socket, A), CallError>) {
    explain::outcome(
        || format!("accept({}, …)", socket.as_raw_fd()),
        result,
        |(s, from)| format!("{} ({from})", s.as_raw_fd()),
        "a client connected: a new descriptor for this one conversation",
    );
}

/// [`accept`] for an IPv4 or IPv6 listening socket; an IPv4 client of a dual-stack
/// socket shows as `::ffff:a.b.c.d`, which this turns back into `a.b.c.d`.
///
/// # Errors
///
/// `accept` (exit 4), as [`accept`].
///
/// ```no_run
/// # let listening = common::socket::socket(socket2::Domain::IPV6, socket2::Type::STREAM).unwrap();
/// let (connection, from) = common::socket::accept_addr(&listening).unwrap();
/// ```
pub fn accept_addr(socket: &Socket) -> Result<(Socket, std::net::SocketAddr), CallError> {
    let result = socket
        .accept()
        .map_err(|e| CallError::from_io("accept", e))
        .and_then(|(s, a)| match a.as_socket() {
            Some(std::net::SocketAddr::V6(v6)) => {
                let ip = v6
                    .ip()
                    .to_ipv4_mapped()
                    .map_or(std::net::IpAddr::V6(*v6.ip()), std::net::IpAddr::V4);
                Ok((s, std::net::SocketAddr::new(ip, v6.port())))
            }
            Some(a) => Ok((s, a)),
            None => Err(CallError::from_errno("accept", libc::EAFNOSUPPORT)),
        });
    narrate_accept(socket, &result);
    result
}
