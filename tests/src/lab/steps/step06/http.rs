//! HTTP/1.x on a raw socket, as the checks of step 06 need it: the answer taken
//! apart without trusting it. A student's server may send anything, or nothing;
//! that is a failure to describe (in the words of [`Response`] and its errors),
//! never a panic.
//!
//! Two ways an answer ends (RFC 9112 §6.3): a server that closes the connection
//! after it (HTTP/1.0, `Connection: close`) ends the body there; a server that keeps
//! the connection open (HTTP/1.1 keep-alive) must say where the body ends, with
//! `Content-Length` or chunked transfer coding, or the client waits for ever.

use std::io::Read;
use std::net::TcpStream;
use std::time::Instant;

use crate::lab::report::quoted;

/// One answer, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (`200`).
    pub status: u16,
    /// The status line as sent, without its line end.
    pub status_line: String,
    /// The header fields in order, names as sent.
    pub fields: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first field named `name` (case-insensitive, as field names are).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Content-Type's media type, lowercase, without its parameters: `text/html`
    /// for `text/html; charset=utf-8`.
    pub fn media_type(&self) -> Option<String> {
        let value = self.field("Content-Type")?;
        let media = value.split(';').next().unwrap_or("").trim();
        Some(media.to_ascii_lowercase())
    }
}

/// Where the head of `bytes` ends (just after its empty line), or `None` while it
/// has not ended. Lines end in CRLF; a bare LF is accepted too, as curl and the
/// browsers accept it.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(nl) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + nl];
        if line.is_empty() || line == b"\r" {
            return Some(start + nl + 1);
        }
        start += nl + 1;
    }
    None
}

/// The head of an answer, and its length in bytes; `None` while the head has not
/// ended, an error when it is not HTTP.
pub fn parse_head(bytes: &[u8]) -> Option<Result<(Response, usize), String>> {
    let end = head_end(bytes)?;
    let text = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let status_line = lines.next().unwrap_or("").to_string();
    let Some(status) = status_code(&status_line) else {
        return Some(Err(format!(
            "the first line {} is not a status line such as \"HTTP/1.0 200 OK\"",
            quoted(status_line.as_bytes())
        )));
    };
    let mut fields = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Some(Err(format!(
                "the header line {} has no colon: each is \"Name: value\"",
                quoted(line.as_bytes())
            )));
        };
        fields.push((name.trim().to_string(), value.trim().to_string()));
    }
    Some(Ok((
        Response {
            status,
            status_line,
            fields,
            body: Vec::new(),
        },
        end,
    )))
}

/// `HTTP/1.x NNN reason` → NNN.
fn status_code(line: &str) -> Option<u16> {
    let mut words = line.splitn(3, ' ');
    let version = words.next()?;
    let code = words.next()?;
    let minor = version.strip_prefix("HTTP/1.")?;
    let valid = minor.len() == 1
        && minor.bytes().all(|b| b.is_ascii_digit())
        && code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| code.parse().ok()).flatten()
}

/// A whole answer, read until the server closed the connection: its head, and all
/// that followed as the body (whatever Content-Length says: the checks compare).
pub fn parse_whole(bytes: &[u8]) -> Result<Response, String> {
    match parse_head(bytes) {
        None if bytes.is_empty() => Err("no answer: the connection closed without a byte".into()),
        None => Err("the head never ends: no empty line after the header lines".into()),
        Some(Err(e)) => Err(e),
        Some(Ok((mut response, end))) => {
            response.body = bytes[end..].to_vec();
            Ok(response)
        }
    }
}

/// One answer read from a connection that may stay open, and the bytes it came in.
pub struct Framed {
    /// Every byte read.
    pub raw: Vec<u8>,
    /// The answer, its body as the head frames it; or what is wrong with it.
    pub response: Result<Response, String>,
}

/// Read one answer from `stream`: the head, then the body as the head frames it
/// (Content-Length, chunked, or until the server closes). `head_request`: an
/// answer to HEAD has no body. Stops at `deadline`, saying what was still awaited.
pub fn read_framed(stream: &mut TcpStream, head_request: bool, deadline: Instant) -> Framed {
    let mut raw = Vec::new();
    let mut closed = false;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let decided = match parse_head(&raw) {
            Some(Ok((mut response, end))) => body(&response, head_request, &raw[end..], closed)
                .map(|found| {
                    found.map(|b| {
                        response.body = b;
                        response
                    })
                }),
            Some(Err(e)) => Err(e),
            None if closed => parse_whole(&raw).map(Some),
            None => Ok(None),
        };
        match decided {
            Ok(Some(response)) => {
                return Framed {
                    raw,
                    response: Ok(response),
                }
            }
            Err(e) => {
                return Framed {
                    raw,
                    response: Err(e),
                }
            }
            Ok(None) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            let awaited = awaited(&raw, head_request);
            return Framed {
                raw,
                response: Err(awaited),
            };
        }
        match stream.read(&mut chunk) {
            Ok(0) => closed = true,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // A reset ends the answer as a close does; what came is judged.
            Err(_) => closed = true,
        }
    }
}

/// The body of `response` from the bytes after its head, once it is all there
/// (`None`: more is to come).
fn body(
    response: &Response,
    head_request: bool,
    rest: &[u8],
    closed: bool,
) -> Result<Option<Vec<u8>>, String> {
    if head_request || response.status < 200 || response.status == 204 || response.status == 304 {
        return Ok(Some(Vec::new()));
    }
    let chunked = response
        .field("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return match dechunk(rest)? {
            Some(body) => Ok(Some(body)),
            None if closed => Err("the connection closed before the last chunk".into()),
            None => Ok(None),
        };
    }
    if let Some(value) = response.field("Content-Length") {
        let length: usize = value
            .parse()
            .map_err(|_| format!("Content-Length is not a number: {value:?}"))?;
        if rest.len() >= length {
            return Ok(Some(rest[..length].to_vec()));
        }
        if closed {
            return Err(format!(
                "the connection closed after {} bytes of the body; Content-Length said {length}",
                rest.len()
            ));
        }
        return Ok(None);
    }
    Ok(closed.then(|| rest.to_vec()))
}

/// What was still awaited when the deadline passed, for the report.
fn awaited(raw: &[u8], head_request: bool) -> String {
    match parse_head(raw) {
        None if raw.is_empty() => {
            "no answer, and the connection stayed open: nothing came back".into()
        }
        None => "the head never ended (no empty line), and the connection stayed open".into(),
        Some(Err(e)) => e,
        Some(Ok((response, end))) => {
            let got = raw.len() - end;
            match response.field("Content-Length") {
                Some(length) if !head_request => format!(
                    "{got} bytes of the body came of the {length} Content-Length announced, then nothing"
                ),
                _ => "no Content-Length, and the connection stayed open: a client cannot tell where the body ends".into(),
            }
        }
    }
}

/// A chunked body (RFC 9112 §7.1): `SIZE-IN-HEX\r\n DATA\r\n` … `0\r\n` trailers
/// `\r\n`. `None` while incomplete.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&rest[..nl]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a chunk size that is not hex: {size_text:?}"))?;
        rest = &rest[nl + 1..];
        if size == 0 {
            // Trailer lines, then the empty line.
            return Ok(head_end(rest).map(|_| body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size..];
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .ok_or("a chunk not followed by CRLF")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_whole_answer_apart() {
        let answer = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 3\r\n\r\nabc";
        let r = parse_whole(answer).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.status_line, "HTTP/1.0 200 OK");
        assert_eq!(r.field("content-length"), Some("3"));
        assert_eq!(r.media_type().as_deref(), Some("text/html"));
        assert_eq!(r.body, b"abc");
        // Bare LF, as lenient clients accept.
        let r = parse_whole(b"HTTP/1.1 404 Not Found\nX: y\n\nbody").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"body"[..]));
    }

    #[test]
    fn says_what_is_wrong_with_an_answer_that_is_not_http() {
        let cases: [(&[u8], &str); 5] = [
            (b"", "no answer"),
            (b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n", "never ends"),
            (b"hello\r\n\r\n", "not a status line"),
            (b"HTTP/1.0 OK\r\n\r\n", "not a status line"),
            (
                b"HTTP/1.0 200 OK\r\nContent-Length 3\r\n\r\n",
                "has no colon",
            ),
        ];
        for (bytes, says) in cases {
            let e = parse_whole(bytes).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn frames_a_body_by_length_or_chunks() {
        let head = |fields: &str| Response {
            status: 200,
            status_line: "HTTP/1.1 200 OK".into(),
            fields: fields
                .lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
            body: Vec::new(),
        };
        let by_length = head("Content-Length: 3");
        assert_eq!(body(&by_length, false, b"ab", false), Ok(None));
        assert_eq!(
            body(&by_length, false, b"abcd", false),
            Ok(Some(b"abc".to_vec()))
        );
        assert!(body(&by_length, false, b"ab", true)
            .unwrap_err()
            .contains("closed after 2"));
        assert_eq!(body(&by_length, true, b"", false), Ok(Some(Vec::new())));
        let chunked = head("Transfer-Encoding: chunked");
        assert_eq!(body(&chunked, false, b"3\r\nabc\r\n", false), Ok(None));
        assert_eq!(
            body(
                &chunked,
                false,
                b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
                false
            ),
            Ok(Some(b"abcde".to_vec()))
        );
        let unframed = head("Content-Type: text/plain");
        assert_eq!(body(&unframed, false, b"abc", false), Ok(None));
        assert_eq!(
            body(&unframed, false, b"abc", true),
            Ok(Some(b"abc".to_vec()))
        );
    }
}
