//! Reading a request head: the request line and the header fields (RFC 9112 sections
//! 2–3 and 5–6), with this server's limits. Pure: bytes in, a request or a status out.
//!
//! httparse does the tokenising; this module adds what a server must decide itself:
//! - limits: request line over 8 KiB → 414, header section over 16 KiB or 100 fields → 431;
//! - the version: `HTTP/1.0` and `HTTP/1.1` only; another well-formed version (`HTTP/2.0`)
//!   → 505, a malformed one or none at all (HTTP/0.9's `GET /`) → 400;
//! - the method: GET and HEAD; a method HTTP defines but we do not allow → 405, any other
//!   token → 501;
//! - framing: a GET or HEAD with a body (`Content-Length` > 0, any `Transfer-Encoding`)
//!   or with two `Content-Length` fields → 400, because a server that guessed where such
//!   a request ends could read the rest as a second, smuggled request (RFC 9112 6.3);
//! - HTTP/1.1 requires exactly one `Host` (RFC 9112 3.2) → 400 otherwise;
//! - the target: origin-form `/path?query` or absolute-form `http://host/path?query`
//!   (RFC 9112 3.2.1–3.2.2); the query is kept only to be carried into a redirect.
//! - persistence (RFC 9112 9.3): HTTP/1.1 keeps the connection unless `Connection:
//!   close`; HTTP/1.0 closes it unless `Connection: keep-alive`.

use std::fmt::Write;

use crate::status::Status;

/// Longest request line (method, target, version), without its line ending.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Longest header section, request line included.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields.
pub const MAX_FIELDS: usize = 100;

/// Methods HTTP defines (RFC 9110 section 9, RFC 5789) that this server does not allow.
const KNOWN_METHODS: &[&str] = &[
    "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// GET or HEAD: the only methods a static file server allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The file, headers and body.
    Get,
    /// The same headers, no body.
    Head,
}

/// A request this server will answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// GET or HEAD.
    pub method: Method,
    /// The path of the target, still percent-encoded, without the query.
    pub path: Vec<u8>,
    /// The query (after `?`), if any, still encoded.
    pub query: Option<Vec<u8>>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// `Range`.
    pub range: Option<String>,
    /// `If-Range`.
    pub if_range: Option<String>,
}

/// What the bytes received so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// A whole request, and how many bytes of the buffer its head took.
    Complete(Request, usize),
    /// Not all of the head is here yet.
    Incomplete,
    /// A request we answer with this status, then close the connection.
    Rejected(Status),
}

/// The request line as received (for the access log), shortened and made printable
/// when it is displayed: written straight into the log line, not copied into a String
/// first (an allocation a request).
pub fn request_line(buffer: &[u8]) -> RequestLine<'_> {
    let end = buffer
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(buffer.len());
    let line = buffer[..end].strip_suffix(b"\r").unwrap_or(&buffer[..end]);
    RequestLine(&line[..line.len().min(200)])
}

/// See [`request_line`]: at most 200 bytes; `"` and `\` escaped, other bytes outside
/// printable ASCII as `\xNN`.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a>(&'a [u8]);

impl std::fmt::Display for RequestLine<'_> {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for &b in self.0 {
            match b {
                b'"' | b'\\' => write!(out, "\\{}", char::from(b))?,
                0x20..=0x7e => out.write_char(char::from(b))?,
                _ => write!(out, "\\x{b:02x}")?,
            }
        }
        Ok(())
    }
}

/// Parse the head at the start of `buffer`.
pub fn parse(buffer: &[u8]) -> Head {
    // The request line: its length, then its version, before httparse sees it.
    let Some(line_end) = buffer.iter().position(|&b| b == b'\n') else {
        return if buffer.len() > MAX_REQUEST_LINE {
            Head::Rejected(Status::UriTooLong)
        } else {
            Head::Incomplete
        };
    };
    let line = buffer[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&buffer[..line_end]);
    if line.len() > MAX_REQUEST_LINE {
        return Head::Rejected(Status::UriTooLong);
    }
    if let Some(status) = check_version(line) {
        return Head::Rejected(status);
    }

    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut fields);
    let consumed = match parsed.parse(buffer) {
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => {
            return Head::Rejected(Status::HeaderFieldsTooLarge)
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buffer.len() > MAX_HEAD => {
            return Head::Rejected(Status::HeaderFieldsTooLarge)
        }
        Ok(httparse::Status::Partial) => return Head::Incomplete,
        Err(httparse::Error::TooManyHeaders) => {
            return Head::Rejected(Status::HeaderFieldsTooLarge)
        }
        Err(_) => return Head::Rejected(Status::BadRequest),
    };

    let method = match parsed.method.unwrap_or("") {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        m if KNOWN_METHODS.contains(&m) => return Head::Rejected(Status::MethodNotAllowed),
        _ => return Head::Rejected(Status::NotImplemented),
    };
    let minor = parsed.version.unwrap_or(1);
    match build(method, minor, parsed.path.unwrap_or(""), parsed.headers) {
        Ok(request) => Head::Complete(request, consumed),
        Err(status) => Head::Rejected(status),
    }
}

/// `HTTP/1.0` or `HTTP/1.1`: None. Another well-formed version: 505. Anything else
/// (no version at all, `HTTP/1`, `http/1.1`): 400.
fn check_version(line: &[u8]) -> Option<Status> {
    // Three parts, counted as they come (no Vec of them: an allocation a request).
    let mut parts = line.split(|&b| b == b' ');
    let version = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(version), None) => version,
        _ => return Some(Status::BadRequest),
    };
    match version {
        b"HTTP/1.0" | b"HTTP/1.1" => None,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some(Status::VersionNotSupported)
        }
        _ => Some(Status::BadRequest),
    }
}

fn build(
    method: Method,
    minor: u8,
    target: &str,
    fields: &[httparse::Header<'_>],
) -> Result<Request, Status> {
    // The values of a field, trimmed, as bytes: looked at in place, copied only when
    // kept (no allocation for a request without conditionals or ranges, where there
    // were 2 to 4 before: bench/README.md "step06 and its ceiling").
    let values = |name: &'static str| {
        fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.trim_ascii())
    };
    let kept = |name| {
        values(name)
            .next()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    // Framing: no body on GET or HEAD, and never two lengths.
    let mut lengths = values("Content-Length");
    match (lengths.next(), lengths.next()) {
        (None, _) => {}
        (Some(one), None) if one.iter().all(u8::is_ascii_digit) && !one.is_empty() => {
            if one.iter().any(|&b| b != b'0') {
                return Err(Status::BadRequest);
            }
        }
        _ => return Err(Status::BadRequest),
    }
    if values("Transfer-Encoding").next().is_some() {
        return Err(Status::BadRequest);
    }
    if minor == 1 && values("Host").count() != 1 {
        return Err(Status::BadRequest);
    }
    // A token of any Connection field, in any case.
    let connection = |token: &str| {
        values("Connection")
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    };
    let keep_alive = if minor == 1 {
        !connection("close")
    } else {
        connection("keep-alive") && !connection("close")
    };
    let (path, query) = split_target(target.as_bytes())?;
    Ok(Request {
        method,
        path,
        query,
        minor,
        keep_alive,
        if_none_match: kept("If-None-Match"),
        if_modified_since: kept("If-Modified-Since"),
        range: kept("Range"),
        if_range: kept("If-Range"),
    })
}

/// Origin-form `/p?q`, or absolute-form `http://authority/p?q` reduced to `/p?q`.
fn split_target(target: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), Status> {
    let origin: &[u8] = if target.starts_with(b"/") {
        target
    } else {
        let lower = target.to_ascii_lowercase();
        let rest = if lower.starts_with(b"http://") {
            &target[7..]
        } else if lower.starts_with(b"https://") {
            &target[8..]
        } else {
            return Err(Status::BadRequest);
        };
        // The authority ends at the first '/', or '?' (then the path is "/").
        match rest.iter().position(|&b| b == b'/' || b == b'?') {
            Some(i) if rest[i] == b'/' => &rest[i..],
            Some(i) => return Ok((b"/".to_vec(), Some(rest[i + 1..].to_vec()))),
            None => b"/",
        }
    };
    Ok(match origin.iter().position(|&b| b == b'?') {
        Some(i) => (origin[..i].to_vec(), Some(origin[i + 1..].to_vec())),
        None => (origin.to_vec(), None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(head: &str) -> Option<Status> {
        match parse(head.as_bytes()) {
            Head::Rejected(status) => Some(status),
            Head::Complete(..) => None,
            Head::Incomplete => panic!("incomplete: {head:?}"),
        }
    }

    /// The rules, one request a line: the head, and the status it is refused with
    /// (None: accepted).
    #[test]
    fn the_rules_for_a_request_head() {
        let long_target = format!(
            "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE)
        );
        let many_fields: String = (0..101).map(|i| format!("X-{i}: y\r\n")).collect();
        let many_fields = format!("GET / HTTP/1.1\r\nHost: x\r\n{many_fields}\r\n");
        let big_field = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
            "b".repeat(MAX_HEAD)
        );
        let table: &[(&str, Option<Status>)] = &[
            ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", None),
            ("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n", None),
            ("GET / HTTP/1.0\r\n\r\n", None),
            ("GET / HTTP/1.1\nHost: x\n\n", None),
            (
                "GET http://example.com/a?b HTTP/1.1\r\nHost: x\r\n\r\n",
                None,
            ),
            ("GET / HTTP/1.1\r\n\r\n", Some(Status::BadRequest)),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                Some(Status::BadRequest),
            ),
            ("GET /\r\n\r\n", Some(Status::BadRequest)),
            (
                "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
                Some(Status::VersionNotSupported),
            ),
            (
                "GET / HTTP/1.2\r\nHost: x\r\n\r\n",
                Some(Status::VersionNotSupported),
            ),
            ("GET / HTTP/1\r\nHost: x\r\n\r\n", Some(Status::BadRequest)),
            (
                "GET / http/1.1\r\nHost: x\r\n\r\n",
                Some(Status::BadRequest),
            ),
            ("GET / FTP/1.1\r\nHost: x\r\n\r\n", Some(Status::BadRequest)),
            (
                "POST / HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::MethodNotAllowed),
            ),
            (
                "DELETE /f HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::MethodNotAllowed),
            ),
            (
                "BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::NotImplemented),
            ),
            (
                "get / HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::NotImplemented),
            ),
            (
                "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                None,
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nBad Field: y\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (
                "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
                Some(Status::BadRequest),
            ),
            (&long_target, Some(Status::UriTooLong)),
            (&many_fields, Some(Status::HeaderFieldsTooLarge)),
            (&big_field, Some(Status::HeaderFieldsTooLarge)),
        ];
        for (head, expected) in table {
            assert_eq!(
                status_of(head),
                *expected,
                "{:?}",
                &head[..head.len().min(60)]
            );
        }
    }

    #[test]
    fn an_unfinished_head_waits_until_it_cannot_fit() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Head::Incomplete);
        assert_eq!(parse(b"GE"), Head::Incomplete);
        assert_eq!(
            parse(&vec![b'a'; MAX_REQUEST_LINE + 1]),
            Head::Rejected(Status::UriTooLong)
        );
        let mut trickle = b"GET / HTTP/1.1\r\n".to_vec();
        trickle.extend(std::iter::repeat_n(b'X', MAX_HEAD));
        assert_eq!(
            parse(&trickle),
            Head::Rejected(Status::HeaderFieldsTooLarge)
        );
    }

    #[test]
    fn targets_keep_the_path_and_the_query_apart() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("/a/b?x=1", "/a/b", Some("x=1")),
            ("/a%20b", "/a%20b", None),
            ("http://h/a?q", "/a", Some("q")),
            ("HTTP://h:8080/x", "/x", None),
            ("http://h", "/", None),
            ("http://h?q", "/", Some("q")),
        ];
        for (target, path, query) in cases {
            let (p, q) = split_target(target.as_bytes()).unwrap();
            assert_eq!(
                (p.as_slice(), q.as_deref()),
                (path.as_bytes(), query.map(str::as_bytes))
            );
        }
    }

    /// Persistence: 1.1 keeps unless close; 1.0 closes unless keep-alive.
    #[test]
    fn keep_alive_follows_the_version_and_connection() {
        let table = [
            ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                false,
            ),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Close\r\n\r\n",
                false,
            ),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        ];
        for (head, keep) in table {
            match parse(head.as_bytes()) {
                Head::Complete(r, n) => {
                    assert_eq!(r.keep_alive, keep, "{head:?}");
                    assert_eq!(n, head.len());
                }
                other => panic!("{head:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_access_log_line_is_printable() {
        assert_eq!(
            request_line(b"GET /\x1b[31m HTTP/1.1\r\nHost: x").to_string(),
            "GET /\\x1b[31m HTTP/1.1"
        );
        assert_eq!(
            request_line(b"GET /\"q\" HTTP/1.1\n").to_string(),
            "GET /\\\"q\\\" HTTP/1.1"
        );
    }
}
