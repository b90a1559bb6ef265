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
//! that runs another one does not leak them into it. A vanished peer makes `send` fail
//! with `EPIPE` rather than kill the process with `SIGPIPE`: the Rust runtime sets
//! `SIGPIPE` to `SIG_IGN` before `main` (a C server would pass `MSG_NOSIGNAL`).
//!
//! `--explain` prints each call as `strace` shows it (`socket(…, SOCK_STREAM|SOCK_CLOEXEC,
//! …)`, `accept4`, `recvfrom` and `sendto`, which is what glibc's `recv` and `send`
//! call). With `--wire`, the wrappers also tell the capture which ports are the
//! program's: after `bind` and `getsockname`, before and after `connect`, after
//! `accept` (see [`wire`](crate::wire)).

use std::io::Read;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::error::CallError;
use crate::explain;
use crate::sockaddr::{SockaddrIn, SOCKADDR_IN_LEN};
use crate::wire;

/// Create an endpoint for communication (slide 17).
///
/// ```c
/// int socket(int domain, int type, int protocol);
/// ```
///
/// See `socket(2)`. The protocol is always 0 ("the usual one": TCP for a stream;
/// strace shows 0 as `IPPROTO_IP`). Differs from C: `SOCK_CLOEXEC` (socket2's default).
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
    let call = explain::begin();
    let result = Socket::new(domain, ty, None).map_err(|e| CallError::from_io("socket", e));
    call.outcome(
        || format!("socket({domain:?}, {ty:?}|SOCK_CLOEXEC, IPPROTO_IP)"),
        &result,
        |s| s.as_raw_fd().to_string(),
        "a TCP endpoint, no address yet; CLOEXEC (not on the slides): not inherited by a program we exec",
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
    let call = explain::begin();
    let result = socket
        .set_reuse_address(true)
        .map_err(|e| CallError::from_io("setsockopt", e));
    call.outcome(
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
    let call = explain::begin();
    let result = socket
        .bind(&(*address).into())
        .map_err(|e| CallError::from_io("bind", e));
    call.outcome(
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
    if result.is_ok() && address.port() != 0 {
        wire::watch_port(address.port());
    }
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
    let call = explain::begin();
    let result = socket
        .listen(backlog)
        .map_err(|e| CallError::from_io("listen", e));
    call.outcome(
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
    let mut own_address = EMPTY_SOCKADDR_IN;
    let mut addrlen = SOCKADDR_IN_LEN;
    let call = explain::begin();
    // SAFETY: own_address is a writable sockaddr_in and addrlen holds its size.
    let rc = unsafe {
        libc::getsockname(
            socket.as_raw_fd(),
            (&raw mut own_address).cast::<libc::sockaddr>(),
            &mut addrlen,
        )
    };
    let result = if rc == -1 {
        Err(CallError::last_os_error("getsockname"))
    } else if i32::from(own_address.sin_family) != libc::AF_INET {
        Err(CallError::from_errno("getsockname", libc::EAFNOSUPPORT))
    } else {
        Ok(SockaddrIn::from(own_address))
    };
    if let Ok(address) = &result {
        wire::watch_port(address.port());
    }
    call.outcome(
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
    let mut rem_address = EMPTY_SOCKADDR_IN;
    let mut addrlen = SOCKADDR_IN_LEN;
    let call = explain::begin();
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
    narrate_accept(call, socket, &result);
    if let Ok((connection, from)) = &result {
        hand_over(connection, std::net::SocketAddrV4::from(*from).into());
    }
    result
}

/// A `struct sockaddr_in` for the kernel to fill in.
const EMPTY_SOCKADDR_IN: libc::sockaddr_in = libc::sockaddr_in {
    sin_family: 0,
    sin_port: 0,
    sin_addr: libc::in_addr { s_addr: 0 },
    sin_zero: [0; 8],
};

/// `--wire`: the connection just accepted is the one a `fork` would hand to a child.
/// Asks for the connection's own address (`getsockname`) only while capturing.
fn hand_over(connection: &Socket, peer: std::net::SocketAddr) {
    if !wire::enabled() {
        return;
    }
    if let Some(local) = connection.local_addr().ok().and_then(|a| a.as_socket()) {
        wire::accepted(unmapped(local), peer);
    }
}

/// `::ffff:a.b.c.d` (an IPv4 client of a dual-stack socket) as `a.b.c.d`.
fn unmapped(address: std::net::SocketAddr) -> std::net::SocketAddr {
    match address {
        std::net::SocketAddr::V6(v6) => {
            let ip = v6
                .ip()
                .to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(*v6.ip()), std::net::IpAddr::V4);
            std::net::SocketAddr::new(ip, v6.port())
        }
        v4 => v4,
    }
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
    // --wire: the server's port is known now; the handshake is about to cross.
    wire::watch_port(address.port());
    let call = explain::begin();
    let result = socket
        .connect(&(*address).into())
        .map_err(|e| CallError::from_io("connect", e));
    call.outcome(
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
    if result.is_ok() && wire::enabled() {
        // --wire: now our own port is known too: this one connection, nothing else.
        if let Some(local) = socket.local_addr().ok().and_then(|a| a.as_socket()) {
            wire::watch_connection(local, std::net::SocketAddrV4::from(*address).into());
        }
    }
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
    let call = explain::begin();
    // socket2's Read for &Socket is exactly recv(fd, buf, len, 0).
    let result = (&*socket)
        .read(buffer)
        .map_err(|e| CallError::from_io("recv", e));
    call.outcome(
        || {
            let got = result.as_ref().map_or(0, |&n| n);
            format!(
                "recvfrom({}, {}, {}, 0, NULL, NULL)",
                socket.as_raw_fd(),
                explain::quote(&buffer[..got]),
                buffer.len()
            )
        },
        &result,
        |n| n.to_string(),
        recv_why(&result),
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
    let call = explain::begin();
    let result = socket
        .recv(buffer.spare_capacity_mut())
        .map_err(|e| CallError::from_io("recv", e));
    if let Ok(n) = result {
        // SAFETY: recv wrote (initialised) the first n bytes of the spare capacity.
        unsafe { buffer.set_len(before + n) };
    }
    call.outcome(
        || {
            format!(
                "recvfrom({}, {}, {room}, 0, NULL, NULL)",
                socket.as_raw_fd(),
                explain::quote(&buffer[before..]),
            )
        },
        &result,
        |n| n.to_string(),
        recv_why(&result),
    );
    result
}

/// Why a `recv` returned what it did; the slides' `recv` is glibc's `recvfrom`.
fn recv_why(result: &Result<usize, CallError>) -> &'static str {
    match result {
        Ok(0) => "the slides' recv(): 0 bytes, the peer closed its side (end of file)",
        _ => "the slides' recv(): whatever had arrived, at most the buffer's size",
    }
}

/// Send bytes; may send fewer than asked (slide 28). See [`sendall`](crate::sendall::sendall).
///
/// ```c
/// ssize_t send(int sockfd, const void *buf, size_t len, int flags);
/// ```
///
/// See `send(2)`. Returns how many bytes the kernel took into its send buffer.
///
/// Writing to a connection the peer has closed fails with `EPIPE`: the Rust runtime
/// ignores `SIGPIPE`, which would otherwise kill the process (see the module's docs).
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
    let call = explain::begin();
    let result = socket.send(data).map_err(|e| CallError::from_io("send", e));
    call.outcome(
        || {
            format!(
                "sendto({}, {}, {}, 0, NULL, 0)",
                socket.as_raw_fd(),
                explain::quote(data),
                data.len()
            )
        },
        &result,
        |n| n.to_string(),
        match result {
            Ok(n) if n < data.len() => "the slides' send(): fewer bytes than asked, send the rest",
            _ => "the slides' send(): copied into the kernel's send buffer",
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
    let call = explain::begin();
    let result = socket
        .shutdown(how)
        .map_err(|e| CallError::from_io("shutdown", e));
    let (name, why) = match how {
        Shutdown::Write => ("SHUT_WR", "done sending: the peer reads end of file"),
        Shutdown::Read => ("SHUT_RD", "done receiving"),
        Shutdown::Both => ("SHUT_RDWR", "done sending and receiving"),
    };
    call.outcome(
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
    let call = explain::begin();
    // SAFETY: fd came out of an owned Socket (into_raw_fd gave up ownership), so it is
    // open and closed exactly once, here.
    let rc = unsafe { libc::close(fd) };
    let result = if rc == -1 {
        Err(CallError::last_os_error("close"))
    } else {
        Ok(())
    };
    call.outcome(
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
    let call = explain::begin();
    let result = socket
        .set_read_timeout(timeout)
        .map_err(|e| CallError::from_io("setsockopt", e));
    call.outcome(
        || timeval_option(socket, "SO_RCVTIMEO", timeout),
        &result,
        |_| "0".into(),
        "after this long with nothing received, recv fails with EAGAIN",
    );
    result
}

/// The `--explain` text of a `setsockopt` with a `struct timeval`.
fn timeval_option(socket: &Socket, name: &str, timeout: Option<Duration>) -> String {
    let (secs, micros) = timeout.map_or((0, 0), |t| (t.as_secs(), t.subsec_micros()));
    format!(
        "setsockopt({}, SOL_SOCKET, {name}, {{tv_sec={secs}, tv_usec={micros}}}, 16)",
        socket.as_raw_fd()
    )
}

/// Give `send` (and `sendfile`) a deadline: after `timeout` without room in the send
/// buffer (the peer stopped reading) it fails with `EAGAIN`.
///
/// ```c
/// struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
/// setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
/// ```
///
/// See `socket(7)` (`SO_SNDTIMEO`). A timeout under 1 µs is passed as 1 µs, as in
/// [`setsockopt_rcvtimeo`].
///
/// # Errors
///
/// `setsockopt` (exit 1): `EBADF`, `EDOM`.
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// let timeout = Some(std::time::Duration::from_secs(10));
/// common::socket::setsockopt_sndtimeo(&fd, timeout).unwrap();
/// assert_eq!(fd.write_timeout().unwrap(), timeout);
/// ```
pub fn setsockopt_sndtimeo(socket: &Socket, timeout: Option<Duration>) -> Result<(), CallError> {
    let timeout = timeout.map(|t| t.max(Duration::from_micros(1)));
    let call = explain::begin();
    let result = socket
        .set_write_timeout(timeout)
        .map_err(|e| CallError::from_io("setsockopt", e));
    call.outcome(
        || timeval_option(socket, "SO_SNDTIMEO", timeout),
        &result,
        |_| "0".into(),
        "a send that finds no room for this long fails with EAGAIN",
    );
    result
}

/// Let an IPv6 socket take IPv4 clients too (`only` false) or not.
///
/// ```c
/// int no = 0;
/// setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
/// ```
///
/// See `ipv6(7)`. A socket bound to `::` with `IPV6_V6ONLY` off sees an IPv4 client as
/// `::ffff:a.b.c.d`: one socket for both families.
///
/// # Errors
///
/// `setsockopt` (exit 1): `EINVAL` once the socket is bound.
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV6, Type::STREAM).unwrap();
/// common::socket::setsockopt_v6only(&fd, false).unwrap();
/// assert!(!fd.only_v6().unwrap());
/// ```
pub fn setsockopt_v6only(socket: &Socket, only: bool) -> Result<(), CallError> {
    let call = explain::begin();
    let result = socket
        .set_only_v6(only)
        .map_err(|e| CallError::from_io("setsockopt", e));
    call.outcome(
        || {
            format!(
                "setsockopt({}, SOL_IPV6, IPV6_V6ONLY, [{}], 4)",
                socket.as_raw_fd(),
                i32::from(only)
            )
        },
        &result,
        |_| "0".into(),
        if only {
            "IPv6 clients only"
        } else {
            "IPv4 clients too, as ::ffff:a.b.c.d"
        },
    );
    result
}

/// Make the socket non-blocking: a call that would wait fails with `EAGAIN` instead.
///
/// ```c
/// int flags = fcntl(fd, F_GETFL);
/// fcntl(fd, F_SETFL, flags | O_NONBLOCK);
/// ```
///
/// See `fcntl(2)`. Two calls: the flags are read first, so the others stay as they are.
///
/// # Errors
///
/// `fcntl` (exit 1): `EBADF`.
///
/// ```
/// use socket2::{Domain, Type};
/// let fd = common::socket::socket(Domain::IPV4, Type::STREAM).unwrap();
/// common::socket::set_nonblocking(&fd).unwrap();
/// assert!(fd.nonblocking().unwrap());
/// ```
pub fn set_nonblocking(socket: &Socket) -> Result<(), CallError> {
    let fd = socket.as_raw_fd();
    let call = explain::begin();
    // SAFETY: fcntl F_GETFL on a descriptor we own reads its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let result = if flags == -1 {
        Err(CallError::last_os_error("fcntl"))
    } else {
        Ok(flags)
    };
    call.outcome(
        || format!("fcntl({fd}, F_GETFL)"),
        &result,
        |flags| format!("{flags:#x} ({})", open_flags(*flags)),
        "the descriptor's flags, to keep them",
    );
    let flags = result? | libc::O_NONBLOCK;
    let call = explain::begin();
    // SAFETY: F_SETFL with the flags just read plus O_NONBLOCK.
    let result = if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } == -1 {
        Err(CallError::last_os_error("fcntl"))
    } else {
        Ok(())
    };
    call.outcome(
        || format!("fcntl({fd}, F_SETFL, {})", open_flags(flags)),
        &result,
        |_| "0".into(),
        "non-blocking: a call that would wait fails with EAGAIN",
    );
    result
}

/// `O_RDWR|O_NONBLOCK`, as strace writes the flags of a socket's descriptor.
fn open_flags(flags: i32) -> String {
    let mut names = vec![match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    }];
    if flags & libc::O_NONBLOCK != 0 {
        names.push("O_NONBLOCK");
    }
    names.join("|")
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
    let call = explain::begin();
    let result = socket
        .bind(&sockaddr)
        .map_err(|e| CallError::from_io("bind", e));
    if result.is_ok() && address.port() != 0 {
        wire::watch_port(address.port());
    }
    call.outcome(
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
    let call = explain::begin();
    let result = socket
        .local_addr()
        .map_err(|e| CallError::from_io("getsockname", e))
        .and_then(|a| {
            let len = a.len();
            a.as_socket()
                .map(|a| (a, len))
                .ok_or_else(|| CallError::from_errno("getsockname", libc::EAFNOSUPPORT))
        });
    if let Ok((address, _)) = &result {
        wire::watch_port(address.port());
    }
    // socket2 passes room for any address (a sockaddr_storage); the kernel says how
    // much it used, as strace's [128 => 16] shows.
    let room = std::mem::size_of::<libc::sockaddr_storage>();
    call.outcome(
        || match &result {
            Ok((_, len)) => format!("getsockname({}, …, [{room} => {len}])", socket.as_raw_fd()),
            Err(_) => format!("getsockname({}, …, [{room}])", socket.as_raw_fd()),
        },
        &result,
        |(a, _)| format!("0 ({a})"),
        "which address and port did we get?",
    );
    result.map(|(a, _)| a)
}

/// The `--explain` line for an `accept`, IPv4 or any family: the call is `accept4`.
fn narrate_accept<A: std::fmt::Display>(
    call: explain::Call,
    socket: &Socket,
    result: &Result<(Socket, A), CallError>,
) {
    call.outcome(
        || format!("accept4({}, …, SOCK_CLOEXEC)", socket.as_raw_fd()),
        result,
        |(s, from)| format!("{} ({from})", s.as_raw_fd()),
        "a client connected: a descriptor for it alone; the slides' accept(), plus CLOEXEC",
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
    let call = explain::begin();
    // socket2's accept is accept4(fd, &storage, &len, SOCK_CLOEXEC).
    let result = socket
        .accept()
        .map_err(|e| CallError::from_io("accept", e))
        .and_then(|(s, a)| match a.as_socket() {
            Some(a) => Ok((s, unmapped(a))),
            None => Err(CallError::from_errno("accept", libc::EAFNOSUPPORT)),
        });
    narrate_accept(call, socket, &result);
    if let Ok((connection, from)) = &result {
        hand_over(connection, *from);
    }
    result
}
