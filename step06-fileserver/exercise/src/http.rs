//! The child's conversation, in HTTP/1.0 (slides 51–52): read one request, answer it
//! with a file under the root folder, close. This file is your task: the numbered
//! `todo!`s [1] to [7] in `serve_client`; `send_error` and `content_type` are given.
//!
//! What a request and a response look like on the wire (`curl -v` shows both):
//!
//! ```text
//! GET /index.html HTTP/1.1\r\n             the request line: method, target, version
//! Host: 127.0.0.1:1234\r\n                 header lines (this server reads past them)
//! \r\n                                     a blank line ends the request head
//!
//! HTTP/1.0 200 OK\r\n                      the status line
//! Content-Type: text/html; charset=utf-8\r\n
//! Content-Length: 1148\r\n                 the body's length in bytes
//! Connection: close\r\n
//! \r\n                                     a blank line ends the response head
//! <!DOCTYPE html>…                         the body: the file, byte for byte
//! ```

use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::close::close_gracefully;
use common::sendall::sendall;
use common::socket::{close, recv};
use common::{diag, CallError};
use socket2::Socket;

/// The longest request head read (the C's `HEAD_MAX`).
const HEAD_MAX: usize = 8192;

/// Serve the one request of `connectionfd` with a file under `root`; returns the
/// child's exit status: 0, 6 when `recv` failed, 7 when sending failed.
pub fn serve_client(connectionfd: Socket, root: &Path) -> u8 {
    let mut head: Vec<u8> = Vec::with_capacity(HEAD_MAX);
    todo!(
        "slide 52: [1] recv into head until the blank line that ends the request head \
         (\"\\r\\n\\r\\n\", or \"\\n\\n\" from nc) has arrived, or HEAD_MAX bytes: one recv \
         may bring a part of it, or all of it. recv returns 0 (the client left) or \
         fails: close connectionfd and return 0 (6 when it failed). Slide bug: the \
         slide's single recv into char buffer[5] takes whatever arrived."
    );

    // The request line: "GET /path HTTP/1.x"
    todo!(
        "slide 52: [2] the request line's three words: method, target, version. Not \
         three words, or a version not starting with \"HTTP/1.\": \
         send_error(&connectionfd, \"400 Bad Request\", false), close connectionfd, \
         return 0."
    );
    todo!(
        "slide 52: [3] the method: GET, or HEAD (the same head and no body, RFC 9110 \
         9.3.2: curl -I sends it); any other: \"405 Method Not Allowed\", close, return 0"
    );

    // Never outside the root
    todo!(
        "slide 52: [4] the query (\"?\" and after) is not part of the path; a target not \
         starting with \"/\", or with \"/.\" in it (\"..\", dot files), is \"404 Not \
         Found\" (no body for HEAD). Then the file's path: root, then the target, then \
         \"index.html\" when the target ends in \"/\"."
    );
    todo!(
        "slide 52: [5] open the file and ask its metadata: missing, or not a regular \
         file (a directory...), is \"404 Not Found\""
    );

    // The answer: a status line, two headers, a blank line, the file
    let mut status = 0;
    todo!(
        "slide 52: [6] the head: the status line HTTP/1.0 200 OK, Content-Type \
         (content_type of the path), Content-Length (the file's size in bytes), \
         Connection: close, a blank line; every line ends in \"\\r\\n\". If sending \
         fails, status = 7."
    );
    todo!(
        "slide 52: [7] the body: the file, read and sent until its end (not for HEAD: \
         its Content-Length says how long a GET's body would be); a send that fails: \
         status = 7"
    );

    // The right way to close (slide 31): shutdown, recv until the client's 0, close
    let _ = close_gracefully(connectionfd);
    status
}

/// A status line and a short body, then the connection closes (HTTP/1.0). `head_only`:
/// the answer to a HEAD request, the same head without the body. A 405 names the
/// methods this server allows (RFC 9110 15.5.6).
fn send_error(connectionfd: &Socket, status: &str, head_only: bool) {
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         {allow}Connection: close\r\n\r\n",
        status.len() + 1
    );
    if !head_only {
        response.push_str(status);
        response.push('\n');
    }
    // The client may be gone already: nothing more to do for it then.
    let _ = sendall(connectionfd, response.as_bytes());
}

/// The `Content-Type` of a file, from its name's extension (the C's table).
fn content_type(path: &Path) -> &'static str {
    match path.extension().map(|e| e.as_bytes()) {
        Some(b"html") => "text/html; charset=utf-8",
        Some(b"css") => "text/css; charset=utf-8",
        Some(b"txt") | Some(b"c") => "text/plain; charset=utf-8",
        Some(b"png") => "image/png",
        _ => "application/octet-stream",
    }
}
