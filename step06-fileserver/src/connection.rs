//! One connection, in the forked child: read a request head, answer it, and again
//! while the connection persists (RFC 9112 section 9.3).
//!
//! Pipelined requests are answered in order: bytes after one head stay in the buffer
//! as the start of the next. `--timeout` bounds both the wait for a new request on an
//! idle connection (then close quietly) and the time a request head may take to
//! arrive in full (then 408): a client trickling a byte at a time does not reset it.

use std::ffi::OsStr;
use std::fmt::Write;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::close::close_gracefully;
use common::socket::{close, recv_append, setsockopt_rcvtimeo, setsockopt_sndtimeo};
use common::{diag, CallError};
use nix::errno::Errno;
use socket2::Socket;

use crate::listing;
use crate::path::{self, Found, Refused, Resolver};
use crate::ranges::{self, Ranges};
use crate::request::{self, Head, Method, Request, RequestLine};
use crate::response::{self, content_type};
use crate::sendfile::{send_head, sendfile_range};
use crate::status::Status;

/// Room for one `recv`: a request head usually fits many times over.
pub const RECV_ROOM: usize = 16 * 1024;

/// What every child needs to know about the site.
#[derive(Debug)]
pub struct Site {
    /// The document root and the link rules.
    pub resolver: Resolver,
    /// Directory listings (else 403)?
    pub listing: bool,
    /// Idle and request-head timeout.
    pub timeout: Duration,
    /// Access log to syslog (a daemon) instead of stdout.
    pub log_to_syslog: bool,
}

/// How a conversation ended without an error.
enum End {
    /// Close the right way: shutdown, drain (for `LINGER_TIME` at most), close (after
    /// an error response, when the client may still be sending).
    Close,
    /// Idle past the timeout, the client left, or it asked to close and has nothing
    /// more to send: just close.
    Quietly,
}

/// Serve the connection; return the child's exit status (0, or 7 when sending failed,
/// 6 when receiving did). A failure is one log line naming the client.
///
/// `buffer` receives the requests: empty, with [`RECV_ROOM`] reserved. The parent
/// allocates it once, before its loop, and every child inherits it with the rest of
/// the parent's memory: a child then allocates nothing to start, and copies only the
/// page its first request lands in.
pub fn serve_connection(conn: Socket, peer: SocketAddr, site: &Site, buffer: &mut Vec<u8>) -> u8 {
    match converse(&conn, peer, site, buffer) {
        Ok(End::Close) => {
            let _ = close_gracefully(conn);
            0
        }
        Ok(End::Quietly) => {
            // A plain close (narrated, unlike the silent close of a dropped Socket).
            let _ = close(conn);
            0
        }
        Err(err) => {
            diag::error(&format!("{peer}: {err}"));
            err.exit_code()
        }
    }
}

fn converse(
    conn: &Socket,
    peer: SocketAddr,
    site: &Site,
    buffer: &mut Vec<u8>,
) -> Result<End, CallError> {
    // A client that stops reading makes sendfile fail after the timeout, instead of
    // holding this process for ever.
    setsockopt_sndtimeo(conn, Some(site.timeout))?;
    setsockopt_rcvtimeo(conn, Some(site.timeout))?;
    // One buffer for the connection; recv appends to it, parse reads from its start.
    buffer.clear();
    loop {
        let deadline = Instant::now() + site.timeout;
        let mut shortened = false;
        let (request, consumed) = loop {
            match request::parse(buffer) {
                Head::Complete(request, consumed) => break (request, consumed),
                Head::Rejected(status) => {
                    let line = request::request_line(buffer);
                    let sent = send_error(conn, status, Method::Get, 1, false)?;
                    access_log(site, peer, line, status, sent);
                    return Ok(End::Close);
                }
                Head::Incomplete => {}
            }
            let now = Instant::now();
            let timed_out = now >= deadline;
            if !timed_out && !buffer.is_empty() {
                // Part of a head is here: wait only for what is left of the deadline.
                setsockopt_rcvtimeo(conn, Some(deadline - now))?;
                shortened = true;
            }
            let received = if timed_out {
                Err(CallError::from_errno("recv", libc::EAGAIN))
            } else {
                if buffer.capacity() - buffer.len() < RECV_ROOM / 4 {
                    // parse refuses a head over MAX_HEAD, so this stays bounded.
                    buffer.reserve(RECV_ROOM);
                }
                recv_append(conn, buffer)
            };
            match received {
                Ok(0) => return Ok(End::Quietly),
                Ok(_) => {}
                Err(e) if e.is_interrupted() => continue,
                Err(e) if e.errno() == Some(Errno::EAGAIN) && buffer.is_empty() => {
                    return Ok(End::Quietly)
                }
                Err(e) if e.errno() == Some(Errno::EAGAIN) => {
                    let line = request::request_line(buffer);
                    let sent = send_error(conn, Status::RequestTimeout, Method::Get, 1, false)?;
                    access_log(site, peer, line, Status::RequestTimeout, sent);
                    return Ok(End::Close);
                }
                // The client reset the connection: nothing to answer, nobody to tell.
                Err(e) if e.errno() == Some(Errno::ECONNRESET) => return Ok(End::Quietly),
                Err(e) => return Err(e),
            }
        };
        if shortened {
            setsockopt_rcvtimeo(conn, Some(site.timeout))?;
        }
        let (status, sent) = respond(conn, &request, site)?;
        access_log(site, peer, request::request_line(buffer), status, sent);
        buffer.drain(..consumed);
        if !request.keep_alive {
            // The client asked to close (`Connection: close`, or HTTP/1.0): it sends
            // nothing more (RFC 9112 section 9.6), so there is nothing to drain and a
            // plain close cannot reset the connection. Only bytes it sent anyway, left
            // in the buffer, call for the staged close.
            return Ok(if buffer.is_empty() {
                End::Quietly
            } else {
                End::Close
            });
        }
    }
}

/// Answer one request; return the status and the body bytes sent.
fn respond(conn: &Socket, req: &Request, site: &Site) -> Result<(Status, u64), CallError> {
    let error = |status| -> Result<(Status, u64), CallError> {
        Ok((
            status,
            send_error(conn, status, req.method, req.minor, req.keep_alive)?,
        ))
    };
    // Decode once, then check: an encoded ".." is caught like a plain one.
    let decoded = match path::decode(&req.path) {
        Ok(decoded) => decoded,
        Err(_) => return error(Status::BadRequest),
    };
    let segments = match path::segments(&decoded, site.resolver.show_hidden()) {
        Ok(segments) => segments,
        Err(Refused::Malformed) => return error(Status::BadRequest),
        Err(Refused::NotFound) => return error(Status::NotFound),
    };
    match site.resolver.locate(&segments) {
        Found::Missing => error(Status::NotFound),
        Found::Denied => error(Status::Forbidden),
        // A file is not a directory: "/hello.txt/" is 404, as nginx and Apache answer.
        Found::File(..) if decoded.ends_with(b"/") => error(Status::NotFound),
        Found::File(file, meta) => serve_file(
            conn,
            req,
            file,
            &meta,
            Path::new(OsStr::from_bytes(&decoded)),
        ),
        Found::Directory(dir) => {
            if !req.path.ends_with(b"/") {
                // Relative links in the directory's page resolve against the URL, so
                // /docs must become /docs/ (else "a.txt" would mean /a.txt).
                return redirect_to_slash(conn, req, &segments);
            }
            let mut index = segments.clone();
            index.push(b"index.html");
            if let Found::File(file, meta) = site.resolver.locate(&index) {
                serve_file(conn, req, file, &meta, Path::new("index.html"))
            } else if !site.listing {
                error(Status::Forbidden)
            } else {
                let entries = match listing::read_entries(&dir, site.resolver.show_hidden()) {
                    Ok(entries) => entries,
                    Err(_) => return error(Status::Forbidden),
                };
                let page = listing::render(&decoded, entries);
                let head = response::Head::new(Status::Ok)
                    .field("Content-Type", "text/html; charset=utf-8")
                    .field("Content-Length", page.len());
                send_small(conn, req, head, page.as_bytes())
            }
        }
    }
}

/// 301 to the same path with a slash, the query kept. The Location is rebuilt from the
/// checked segments, percent-encoded: it cannot start with `//` (which a browser would
/// read as another host) nor carry CR or LF (which would split the header).
fn redirect_to_slash(
    conn: &Socket,
    req: &Request,
    segments: &[&[u8]],
) -> Result<(Status, u64), CallError> {
    let mut location = String::new();
    for segment in segments {
        location.push('/');
        location.push_str(
            &percent_encoding::percent_encode(segment, crate::listing_link_set()).to_string(),
        );
    }
    location.push('/');
    if let Some(query) = &req.query {
        let query = percent_encoding::percent_encode(query, crate::query_set()).to_string();
        location.push('?');
        location.push_str(&query);
    }
    let body = response::error_body(Status::MovedPermanently);
    let head = response::Head::new(Status::MovedPermanently)
        .field("Location", location)
        .field("Content-Type", "text/html; charset=utf-8")
        .field("Content-Length", body.len());
    send_small(conn, req, head, body.as_bytes())
}

/// A file, already open: conditionals, ranges, then the head and `sendfile`. `path`
/// names it, for its Content-Type.
fn serve_file(
    conn: &Socket,
    req: &Request,
    file: File,
    meta: &std::fs::Metadata,
    path: &Path,
) -> Result<(Status, u64), CallError> {
    let len = meta.len();
    let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    let tag = ranges::etag(len, modified);
    let last_modified = httpdate::HttpDate::from(modified);
    let base = |status| {
        response::Head::new(status)
            .field("Last-Modified", last_modified)
            .field("ETag", &tag)
            .field("Accept-Ranges", "bytes")
    };
    if ranges::not_modified(
        req.if_none_match.as_deref(),
        req.if_modified_since.as_deref(),
        &tag,
        modified,
    ) {
        let head = base(Status::NotModified);
        send_head(conn, &head.into_bytes(req.minor, req.keep_alive), false)?;
        return Ok((Status::NotModified, 0));
    }
    let wanted = match &req.range {
        Some(range) if ranges::range_applies(req.if_range.as_deref(), &tag, modified) => {
            ranges::parse_range(range, len)
        }
        _ => Ranges::Whole,
    };
    let mime = content_type(path);
    let get = req.method == Method::Get;
    match wanted {
        Ranges::Whole => {
            let head = base(Status::Ok)
                .field("Content-Type", &mime)
                .field("Content-Length", len);
            send_head(
                conn,
                &head.into_bytes(req.minor, req.keep_alive),
                get && len > 0,
            )?;
            let sent = if get {
                sendfile_range(conn, &file, 0..len)?
            } else {
                0
            };
            Ok((Status::Ok, sent))
        }
        Ranges::Parts(parts) if parts.len() == 1 => {
            let part = parts[0].clone();
            let head = base(Status::PartialContent)
                .field("Content-Type", &mime)
                .field(
                    "Content-Range",
                    format_args!("bytes {}-{}/{len}", part.start, part.end - 1),
                )
                .field("Content-Length", part.end - part.start);
            send_head(conn, &head.into_bytes(req.minor, req.keep_alive), get)?;
            let sent = if get {
                sendfile_range(conn, &file, part)?
            } else {
                0
            };
            Ok((Status::PartialContent, sent))
        }
        Ranges::Parts(parts) => {
            // multipart/byteranges (RFC 9110 14.6): each part with its own type and range.
            let boundary = format!("step06-{}", tag.trim_matches('"'));
            let part_heads: Vec<String> = parts
                .iter()
                .map(|p| {
                    format!(
                        "\r\n--{boundary}\r\nContent-Type: {mime}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
                        p.start,
                        p.end - 1
                    )
                })
                .collect();
            let closing = format!("\r\n--{boundary}--\r\n");
            let total: u64 = part_heads.iter().map(|h| h.len() as u64).sum::<u64>()
                + parts.iter().map(|p| p.end - p.start).sum::<u64>()
                + closing.len() as u64;
            let head = base(Status::PartialContent)
                .field(
                    "Content-Type",
                    format_args!("multipart/byteranges; boundary={boundary}"),
                )
                .field("Content-Length", total);
            send_head(conn, &head.into_bytes(req.minor, req.keep_alive), get)?;
            if !get {
                return Ok((Status::PartialContent, 0));
            }
            for (part_head, part) in part_heads.iter().zip(parts) {
                send_head(conn, part_head.as_bytes(), true)?;
                sendfile_range(conn, &file, part)?;
            }
            send_head(conn, closing.as_bytes(), false)?;
            Ok((Status::PartialContent, total))
        }
        Ranges::Unsatisfiable => {
            let body = response::error_body(Status::RangeNotSatisfiable);
            let head = base(Status::RangeNotSatisfiable)
                .field("Content-Range", format_args!("bytes */{len}"))
                .field("Content-Type", "text/html; charset=utf-8")
                .field("Content-Length", body.len());
            send_small(conn, req, head, body.as_bytes())
        }
    }
}

/// A head and a small body from memory (pages, errors); no body for HEAD.
fn send_small(
    conn: &Socket,
    req: &Request,
    head: response::Head,
    body: &[u8],
) -> Result<(Status, u64), CallError> {
    let status = head.status();
    let mut bytes = head.into_bytes(req.minor, req.keep_alive);
    let sent = if req.method == Method::Get {
        bytes.extend_from_slice(body);
        body.len() as u64
    } else {
        0
    };
    send_head(conn, &bytes, false)?;
    Ok((status, sent))
}

/// An error page; returns the body bytes sent.
fn send_error(
    conn: &Socket,
    status: Status,
    method: Method,
    minor: u8,
    keep_alive: bool,
) -> Result<u64, CallError> {
    let (head, body) = response::error(status);
    let mut bytes = head.into_bytes(minor, keep_alive);
    if method == Method::Get {
        bytes.extend_from_slice(body.as_bytes());
    }
    send_head(conn, &bytes, false)?;
    Ok(if method == Method::Get {
        body.len() as u64
    } else {
        0
    })
}

/// One line in Common Log Format: `host - - [date] "request line" status bytes`.
fn access_log(site: &Site, peer: SocketAddr, line: RequestLine, status: Status, bytes: u64) {
    let size: &dyn std::fmt::Display = if bytes == 0 { &"-" } else { &bytes };
    // With its newline: one write(2) per line, so lines from many children never mix.
    // Room for a usual line; a long or escaped request line grows it.
    let mut record = String::with_capacity(256);
    crate::clock::with_now(|now| {
        let _ = writeln!(
            record,
            "{} - - [{}] \"{line}\" {} {size}",
            peer.ip(),
            now.log,
            status.code()
        );
    });
    if site.log_to_syslog {
        diag::report(record.trim_end());
    } else {
        // stdout is data: the access log is this server's output.
        let _ = common::stdio::write_stdout(record.as_bytes());
    }
}
