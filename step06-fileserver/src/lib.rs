//! step06-fileserver's parts, one concern per module. `main.rs` is the lecture's
//! sequence; everything HTTP lives here.
//!
//! - [`request`]: reading a request head, and its limits (RFC 9112 2–3, 5–6, 9.3).
//! - [`path`]: from a target to a file under the root, and nothing outside it.
//! - [`ranges`]: ETags, conditional requests and byte ranges (RFC 9110 13–14).
//! - [`response`], [`status`]: building heads and error pages.
//! - [`listing`]: the page for a directory.
//! - [`sendfile`]: the head with `MSG_MORE`, the body with `sendfile(2)`.
//! - [`clock`]: the current time as `Date` and the access log print it.
//! - [`connection`]: one connection in the forked child: keep-alive, pipelining, timeouts.
//! - [`fuzz`]: the fuzz target's body, and the replay of its corpus.

pub mod clock;
pub mod connection;
pub mod fuzz;
pub mod listing;
pub mod path;
pub mod ranges;
pub mod request;
pub mod response;
pub mod sendfile;
pub mod status;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};

/// Bytes a path segment keeps as they are in a link or a Location: RFC 3986's
/// unreserved characters; everything else is percent-encoded.
pub fn listing_link_set() -> &'static AsciiSet {
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    SET
}

/// Bytes a query keeps in a Location: all but controls, space and the few characters
/// that would end or break the header (RFC 3986 3.4 allows the rest).
pub fn query_set() -> &'static AsciiSet {
    const SET: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'<')
        .add(b'>')
        .add(b'`')
        .add(b'#');
    SET
}
