//! The status codes this server sends (RFC 9110 section 15), with their reason phrases.

/// A response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200: here is the file.
    Ok,
    /// 206: here is the part you asked for (Range).
    PartialContent,
    /// 301: a directory's URL ends in a slash; go there.
    MovedPermanently,
    /// 304: your cached copy is still good (If-None-Match, If-Modified-Since).
    NotModified,
    /// 400: the request is malformed.
    BadRequest,
    /// 403: a directory without index.html, and listings are off.
    Forbidden,
    /// 404: no such file (or one we will not show).
    NotFound,
    /// 405: a method we know but do not allow here (POST, PUT…).
    MethodNotAllowed,
    /// 408: the request head did not arrive in time.
    RequestTimeout,
    /// 414: the request line is longer than 8 KiB.
    UriTooLong,
    /// 416: no byte of the requested range exists.
    RangeNotSatisfiable,
    /// 431: the header section is over 16 KiB or 100 fields.
    HeaderFieldsTooLarge,
    /// 500: the server failed (a file it could not read).
    InternalServerError,
    /// 501: a method we do not know.
    NotImplemented,
    /// 503: every child slot is busy; try again later.
    ServiceUnavailable,
    /// 505: an HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
}

impl Status {
    /// The three-digit code.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::PartialContent => 206,
            Status::MovedPermanently => 301,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::UriTooLong => 414,
            Status::RangeNotSatisfiable => 416,
            Status::HeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    /// The reason phrase of RFC 9110.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::PartialContent => "Partial Content",
            Status::MovedPermanently => "Moved Permanently",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::UriTooLong => "URI Too Long",
            Status::RangeNotSatisfiable => "Range Not Satisfiable",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::InternalServerError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }
}
