//! Building a response head (RFC 9112 section 4, RFC 9110 sections 6 and 8) and the
//! small HTML bodies of error pages.

use std::borrow::Cow;
use std::fmt::{Display, Write};

use crate::status::Status;

/// A response head under construction: the status line and the fields so far, each
/// written in as it is added. One buffer is the whole head, sent as it is: before, a
/// string per value, a list of them and a copy at the end (with request.rs and path.rs,
/// 17 allocations a request became 6: bench/README.md, "step06 and its ceiling").
#[derive(Debug, Clone)]
pub struct Head {
    status: Status,
    text: String,
}

impl Head {
    /// A head with `Date` and `Server` already in it. We answer `HTTP/1.1` always
    /// (RFC 9110 6.2: a server sends its own highest version).
    pub fn new(status: Status) -> Head {
        let mut text = String::with_capacity(320);
        let _ = write!(
            text,
            "HTTP/1.1 {} {}\r\nDate: ",
            status.code(),
            status.reason()
        );
        crate::clock::with_now(|now| text.push_str(&now.http_date));
        text.push_str("\r\nServer: step06-fileserver\r\n");
        Head { status, text }
    }

    /// Add a header field. Values come from this server (never raw request bytes).
    /// Writing to a String cannot fail.
    pub fn field(mut self, name: &'static str, value: impl Display) -> Head {
        let _ = write!(self.text, "{name}: {value}\r\n");
        self
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The bytes: status line, fields, the persistence field, blank line. An HTTP/1.0
    /// client that asked to keep the connection is told it is kept.
    pub fn into_bytes(self, minor: u8, keep_alive: bool) -> Vec<u8> {
        let mut head = self.text;
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        } else if minor == 0 {
            head.push_str("Connection: keep-alive\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// The small HTML page that goes with an error status.
pub fn error_body(status: Status) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>{0} {1}</title></head>\
         <body><h1>{0} {1}</h1></body></html>\n",
        status.code(),
        status.reason()
    )
}

/// An error response: head and body, `text/html`.
pub fn error(status: Status) -> (Head, String) {
    let body = error_body(status);
    let mut head = Head::new(status)
        .field("Content-Type", "text/html; charset=utf-8")
        .field("Content-Length", body.len());
    if status == Status::MethodNotAllowed {
        head = head.field("Allow", "GET, HEAD");
    }
    if status == Status::ServiceUnavailable {
        head = head.field("Retry-After", "1");
    }
    (head, body)
}

/// `Content-Type` from the file name's extension (mime_guess), with `charset=utf-8`
/// for text, since that is what our text files are.
pub fn content_type(path: &std::path::Path) -> Cow<'static, str> {
    // first_raw: the type as a static string, without parsing it into a Mime.
    let essence = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let textual = essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    if textual {
        format!("{essence}; charset=utf-8").into()
    } else {
        essence.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn heads_carry_persistence_as_the_version_needs() {
        let head = Head::new(Status::Ok).field("Content-Length", "5");
        let close = String::from_utf8(head.clone().into_bytes(1, false)).unwrap();
        assert!(close.starts_with("HTTP/1.1 200 OK\r\nDate: "));
        assert!(close.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n"));
        let kept10 = String::from_utf8(head.clone().into_bytes(0, true)).unwrap();
        assert!(kept10.ends_with("Connection: keep-alive\r\n\r\n"));
        let kept11 = String::from_utf8(head.into_bytes(1, true)).unwrap();
        assert!(!kept11.contains("Connection:"));
    }

    #[test]
    fn types_from_extensions() {
        let table = [
            ("a.html", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.png", "image/png"),
            ("a.svg", "image/svg+xml; charset=utf-8"),
            ("a.json", "application/json; charset=utf-8"),
            ("noext", "application/octet-stream"),
        ];
        for (name, expected) in table {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn errors_carry_their_extra_fields() {
        let (head, _) = error(Status::MethodNotAllowed);
        assert!(String::from_utf8(head.into_bytes(1, false))
            .unwrap()
            .contains("Allow: GET, HEAD\r\n"));
        let (head, _) = error(Status::ServiceUnavailable);
        assert!(String::from_utf8(head.into_bytes(1, false))
            .unwrap()
            .contains("Retry-After: 1\r\n"));
    }
}
