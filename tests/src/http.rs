//! Raw HTTP for the tests: exact bytes out, responses split back into status, fields
//! and body (several of them, for pipelining).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::net;

/// One response as received.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status line, without CRLF.
    pub status_line: String,
    /// Header fields in order: (name, value).
    pub fields: Vec<(String, String)>,
    /// The body (by Content-Length; none for HEAD, 304).
    pub body: Vec<u8>,
}

impl Response {
    /// The first field with this name (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Send `request` (exact bytes) on a new connection, read until the server closes.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = net::connect(addr);
    stream.write_all(request).expect("send the request");
    net::read_to_end(&mut stream)
}

/// `GET path` with `Connection: close` and the given extra header lines.
pub fn get(addr: SocketAddr, path: &str, extra: &[&str]) -> Response {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let bytes = exchange(addr, request.as_bytes());
    let mut responses = parse_all(&bytes, false);
    assert_eq!(
        responses.len(),
        1,
        "one response to {path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    responses.remove(0)
}

/// Read exactly one response (head, then Content-Length bytes of body) from a
/// connection that stays open.
pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = parse_all(&bytes[..end + 4], true).remove(0);
            let length: usize = head
                .field("Content-Length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                assert_eq!(bytes.len(), end + 4 + length, "bytes after the response");
                return parse_all(&bytes, false).remove(0);
            }
        }
        let n = stream
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("reading a response: {e}"));
        assert!(n > 0, "closed before the response was complete: {bytes:?}");
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Split a byte stream into responses. `head_only`: the bodies were not sent (HEAD).
pub fn parse_all(mut bytes: &[u8], head_only: bool) -> Vec<Response> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(bytes)));
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("").to_string();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let fields: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        bytes = &bytes[end + 4..];
        let length: usize = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let length = if head_only || status == 304 {
            0
        } else {
            length
        };
        let body = bytes[..length.min(bytes.len())].to_vec();
        bytes = &bytes[length.min(bytes.len())..];
        out.push(Response {
            status,
            status_line,
            fields,
            body,
        });
    }
    out
}
