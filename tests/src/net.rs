//! Talking to servers under test over loopback, with a deadline on every read.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use socket2::{Domain, Socket, Type};

use crate::TIMEOUT;

/// Connect to `addr`, with read and write timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).expect("set timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("set timeout");
    stream
}

/// Read until the peer closes (or the deadline hits, which panics).
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    stream
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("reading until the peer closes: {e}"));
    out
}

/// How many TCP segments with data this end has received so far: `tcpi_data_segs_in`
/// from `getsockopt(TCP_INFO)` (Linux 4.6+). Tells whether a response left in one
/// packet or several.
pub fn data_segments_in(stream: &TcpStream) -> u32 {
    // SAFETY: tcp_info is plain integers, so all zeros is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is a live tcp_info and `len` its size; the kernel writes at most
    // `len` bytes (fewer on an older kernel, leaving the rest zero).
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(
        rc,
        0,
        "getsockopt(TCP_INFO): {}",
        std::io::Error::last_os_error()
    );
    info.tcpi_data_segs_in
}

/// A listener on `127.0.0.1` with a kernel-chosen port: that port is now taken.
pub fn taken_port() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

/// A port on `127.0.0.1` where nobody listens, held (bound, not listening) so that no
/// other test can start listening there: `connect` to it is refused.
pub fn refused_port() -> (Socket, u16) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind 127.0.0.1:0");
    let port = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.port())
        .expect("bound port");
    (socket, port)
}

/// Close with a reset (RST) instead of an orderly FIN: `SO_LINGER` with a zero timeout.
pub fn reset(stream: TcpStream) {
    let socket = Socket::from(stream);
    socket
        .set_linger(Some(std::time::Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(socket);
}

/// A one-connection server owned by the test: it accepts one client, reads until end
/// of file (so the client must shut down its sending side), sends `reply`, closes,
/// and hands back what it received.
pub struct ReplyServer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    received: std::thread::JoinHandle<Vec<u8>>,
}

impl ReplyServer {
    /// Listen on 127.0.0.1:0 and serve one client on a thread.
    pub fn start(reply: Vec<u8>) -> ReplyServer {
        use std::io::Write;
        let (listener, port) = taken_port();
        let received = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept the client");
            stream.set_read_timeout(Some(TIMEOUT)).expect("set timeout");
            let got = read_to_end(&mut stream);
            stream.write_all(&reply).expect("send the reply");
            got
        });
        ReplyServer { port, received }
    }

    /// Everything the client sent.
    pub fn received(self) -> Vec<u8> {
        self.received.join().expect("the reply server thread")
    }
}

/// Read until the peer closes, a reset, or the deadline: whatever arrived. For clients
/// that misbehave on purpose and expect the server to cut them off.
pub fn read_to_end_lossy(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        out.extend_from_slice(&chunk[..n]);
    }
    out
}
