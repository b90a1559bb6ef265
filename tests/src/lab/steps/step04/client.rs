//! The checker's client of a step04 server: it keeps what it sent and what came
//! back, reads reply lines with a deadline, and tells how the reading ended (the
//! lines came, end of file, a reset, or nothing more).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Instant;

use crate::lab::check::Failure;
use crate::lab::ctx::{Server, DEADLINE};
use crate::lab::listen::{self, ServerEnd};
use crate::lab::report::shown;

/// How reading stopped before the replies wanted had all come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `recv` returned 0: the server sent its FIN.
    Eof,
    /// The connection was reset.
    Reset,
    /// The deadline passed with the connection still open.
    Silent,
}

/// One connection to the server.
pub struct Client {
    stream: TcpStream,
    /// Its own address (the server sees it as the client's).
    pub local: SocketAddr,
    /// The server's address, as connected to.
    pub peer: SocketAddr,
    /// Every byte sent so far.
    pub sent: Vec<u8>,
    /// Every byte received so far.
    pub got: Vec<u8>,
    /// How the last read stopped short, if it did.
    pub end: Option<End>,
    /// True once it shut down its sending side.
    finished: bool,
}

impl Client {
    /// Connect to `server` (each send goes out at once: no Nagle delay).
    pub fn connect(server: &Server) -> Result<Client, Failure> {
        let stream = server.connect()?;
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or_else(|_| server.address());
        Ok(Client {
            stream,
            local,
            peer: server.address(),
            sent: Vec::new(),
            got: Vec::new(),
            end: None,
            finished: false,
        })
    }

    /// Send `bytes` in one write. A server that closed already resets it: that shows
    /// when reading.
    pub fn send(&mut self, bytes: &[u8]) {
        self.sent.extend_from_slice(bytes);
        let _ = self.stream.write_all(bytes);
    }

    /// Shut down the sending side: the server's `recv` returns 0 (end of file).
    pub fn finish(&mut self) {
        self.finished = true;
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Read until `lines` reply lines (LF-terminated) have come in all since the
    /// connection began; false when the server closed, reset or went silent first.
    pub fn lines(&mut self, lines: usize, deadline: Instant) -> bool {
        while count_lines(&self.got) < lines {
            if !self.read_some(deadline) {
                return false;
            }
        }
        true
    }

    /// Read until the server closes the connection (or resets it, or the deadline).
    pub fn read_until_end(&mut self, deadline: Instant) -> End {
        while self.read_some(deadline) {}
        self.end.unwrap_or(End::Silent)
    }

    /// One read; false (and `end` set) when it brought nothing.
    fn read_some(&mut self, deadline: Instant) -> bool {
        if self.end.is_some() {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                self.end = Some(End::Silent);
                return false;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => self.end = Some(End::Eof),
                Ok(n) => {
                    self.got.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.end = Some(End::Silent);
                }
                Err(_) => self.end = Some(End::Reset),
            }
            return false;
        }
    }

    /// The server's end of this connection, as the kernel lists it.
    pub fn server_end(&self) -> Option<ServerEnd> {
        listen::server_end(self.local, self.peer)
    }

    /// What was sent, for a report.
    pub fn sent_text(&self) -> String {
        if self.finished {
            format!("{}, then end of file (shutdown SHUT_WR)", shown(&self.sent))
        } else {
            shown(&self.sent)
        }
    }

    /// What came back and how it ended, for a report.
    pub fn got_text(&self) -> String {
        let how = match self.end {
            None => String::new(),
            Some(End::Eof) => ", then end of file".to_string(),
            Some(End::Reset) => ", then the connection was reset".to_string(),
            Some(End::Silent) => format!(", then nothing for {} s", DEADLINE.as_secs()),
        };
        format!("{}{how}", shown(&self.got))
    }

    /// The reply lines received, each without its line ending.
    pub fn replies(&self) -> Vec<Vec<u8>> {
        split_lines(&self.got)
    }
}

/// How many LF-terminated lines `bytes` holds.
pub fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// The complete lines of `bytes` without their LF or CRLF (a last unterminated piece
/// is left out).
pub fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    lines.pop();
    for line in &mut lines {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_lf_or_crlf_and_a_partial_last_line() {
        assert_eq!(
            split_lines(b"PONG\r\nhi\n\r\npart"),
            vec![b"PONG".to_vec(), b"hi".to_vec(), b"".to_vec()]
        );
        assert_eq!(count_lines(b"a\r\nb\n"), 2);
        assert!(split_lines(b"").is_empty());
    }
}
