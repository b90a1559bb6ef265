//! A failed C call, printed the way `perror(3)` prints it, with the lecture's exit code.
//!
//! The slides end every failing call the same way:
//!
//! ```c
//! if (bind(fd, ...) == -1) {
//!     perror("bind");   /* prints "bind: Address already in use" */
//!     exit(2);
//! }
//! ```
//!
//! [`CallError`] is that pair of lines as a value: it knows the call, the cause (an
//! `errno` or, for calls that do not set one, a message) and the exit code the lecture
//! gives that call. Its `Display` is exactly what `perror` prints, using glibc's own
//! `strerror` text, so the Rust and the C programs print the same bytes.

use std::fmt;
use std::io;

use nix::errno::Errno;

/// Exit code when `socket(2)` (or setting up the socket, `setsockopt`) fails (slide 22).
///
/// ```
/// assert_eq!(common::error::EXIT_SOCKET, 1);
/// ```
pub const EXIT_SOCKET: u8 = 1;
/// Exit code when `bind(2)` fails (slide 23).
///
/// ```
/// assert_eq!(common::error::EXIT_BIND, 2);
/// ```
pub const EXIT_BIND: u8 = 2;
/// Exit code when `connect(2)` fails (the client, slide 27).
///
/// ```
/// assert_eq!(common::error::EXIT_CONNECT, 2);
/// ```
pub const EXIT_CONNECT: u8 = 2;
/// Exit code when `listen(2)` fails (slide 23).
///
/// ```
/// assert_eq!(common::error::EXIT_LISTEN, 3);
/// ```
pub const EXIT_LISTEN: u8 = 3;
/// Exit code when `accept(2)` fails (slide 24).
///
/// ```
/// assert_eq!(common::error::EXIT_ACCEPT, 4);
/// ```
pub const EXIT_ACCEPT: u8 = 4;
/// Exit code when `sigaction(2)` fails (slide 51).
///
/// ```
/// assert_eq!(common::error::EXIT_SIGACTION, 5);
/// ```
pub const EXIT_SIGACTION: u8 = 5;
/// Exit code when `recv(2)` fails (slide 52).
///
/// ```
/// assert_eq!(common::error::EXIT_RECV, 6);
/// ```
pub const EXIT_RECV: u8 = 6;
/// Exit code when `send(2)` fails (slide 52).
///
/// ```
/// assert_eq!(common::error::EXIT_SEND, 7);
/// ```
pub const EXIT_SEND: u8 = 7;
/// Exit code when an address does not convert: `inet_aton`, `inet_pton`, `getaddrinfo` (slide 13).
///
/// ```
/// assert_eq!(common::error::EXIT_ADDRESS, 10);
/// ```
pub const EXIT_ADDRESS: u8 = 10;
/// Exit code for a command line that does not parse (`EX_USAGE` from `sysexits.h`).
///
/// ```
/// assert_eq!(common::error::EX_USAGE, 64);
/// ```
pub const EX_USAGE: u8 = 64;
/// Exit code for a configuration that does not load (`EX_CONFIG` from `sysexits.h`).
///
/// ```
/// assert_eq!(common::error::EX_CONFIG, 78);
/// ```
pub const EX_CONFIG: u8 = 78;

/// The exit code the lecture gives a failure of `call`.
///
/// ```c
/// perror("bind");
/// exit(2);            /* the number chosen at the failure site */
/// ```
///
/// Calls the slides do not number take the code of the phase they belong to:
/// `setsockopt` and `getsockname` set up the socket (1), `shutdown` ends sending (7),
/// `write` to standard output and `close` are reported with 1.
///
/// ```
/// use common::error::exit_code_for;
/// assert_eq!(exit_code_for("bind"), 2);
/// assert_eq!(exit_code_for("inet_aton"), 10);
/// ```
pub fn exit_code_for(call: &str) -> u8 {
    match call {
        "socket" | "setsockopt" | "getsockname" => EXIT_SOCKET,
        "bind" => EXIT_BIND,
        "connect" => EXIT_CONNECT,
        "listen" => EXIT_LISTEN,
        "accept" => EXIT_ACCEPT,
        "sigaction" => EXIT_SIGACTION,
        "recv" => EXIT_RECV,
        "send" | "shutdown" => EXIT_SEND,
        "inet_aton" | "inet_pton" | "getaddrinfo" => EXIT_ADDRESS,
        _ => 1,
    }
}

/// glibc's text for an `errno` value, as `strerror(3)` and `perror(3)` print it.
///
/// ```c
/// char *strerror(int errnum);
/// int strerror_r(int errnum, char *buf, size_t buflen);   /* XSI version */
/// ```
///
/// Differs from C: returns an owned `String` (through the thread-safe `strerror_r`)
/// rather than a pointer into a static buffer. Differs from Rust's `io::Error`, whose
/// `Display` appends `(os error 98)`, and from nix's `Errno`, whose descriptions use
/// kernel wording ("Try again" where glibc says "Resource temporarily unavailable").
///
/// # Errors
///
/// None: an unknown number gives glibc's `Unknown error N`.
///
/// ```
/// use common::error::strerror;
/// assert_eq!(strerror(libc::EADDRINUSE), "Address already in use");
/// assert_eq!(strerror(libc::ECONNREFUSED), "Connection refused");
/// ```
pub fn strerror(errnum: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for buf.len() bytes; the XSI strerror_r (which the libc
    // crate binds on glibc) writes a NUL-terminated string of at most that length.
    let rc = unsafe { libc::strerror_r(errnum, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errnum}");
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// What made a call fail.
///
/// ```c
/// if (bind(...) == -1) perror("bind");            /* Errno: errno says why */
/// if (!inet_aton(cp, &a)) fprintf(stderr, ...);    /* Message: no errno */
/// ```
///
/// ```
/// use common::error::Cause;
/// let err = common::CallError::from_errno("bind", libc::EACCES);
/// assert_eq!(err.cause(), &Cause::Errno(nix::errno::Errno::EACCES));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The call returned -1 and set `errno` (`bind`, `connect`, …).
    Errno(Errno),
    /// The call reports failure without `errno` (`inet_aton` returns 0, `getaddrinfo`
    /// returns an `EAI_*` code): the text to print after `call: `.
    Message(String),
}

/// A failed C call: its name, its cause and the lecture's exit code.
///
/// ```c
/// perror("bind");   /* "bind: Address already in use" */
/// exit(2);
/// ```
///
/// `Display` prints exactly what `perror` would; [`CallError::exit_code`] gives the
/// number the slides pass to `exit`. The `--explain` narrator adds the symbolic name
/// (`EADDRINUSE`) through [`CallError::errno`].
///
/// ```
/// use common::CallError;
/// let err = CallError::from_errno("bind", libc::EADDRINUSE);
/// assert_eq!(err.to_string(), "bind: Address already in use");
/// assert_eq!(err.exit_code(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    call: &'static str,
    cause: Cause,
    exit_code: u8,
}

impl CallError {
    /// The call failed with this `errno` value; the exit code is the lecture's for `call`.
    ///
    /// ```
    /// let err = common::CallError::from_errno("connect", libc::ECONNREFUSED);
    /// assert_eq!(err.to_string(), "connect: Connection refused");
    /// ```
    pub fn from_errno(call: &'static str, errnum: i32) -> Self {
        Self::new(call, Cause::Errno(Errno::from_raw(errnum)))
    }

    /// The call just failed: read `errno` now, before anything else can change it.
    ///
    /// ```
    /// // close(-1) fails with EBADF.
    /// assert_eq!(unsafe { libc::close(-1) }, -1);
    /// let err = common::CallError::last_os_error("close");
    /// assert_eq!(err.to_string(), "close: Bad file descriptor");
    /// ```
    pub fn last_os_error(call: &'static str) -> Self {
        Self::new(call, Cause::Errno(Errno::last()))
    }

    /// The call failed and Rust handed us an `io::Error` (socket2 and std do).
    ///
    /// An `io::Error` without an OS code (rare: a Rust-side check) keeps its own text.
    ///
    /// ```
    /// use std::io;
    /// let err = common::CallError::from_io("accept", io::Error::from_raw_os_error(libc::EMFILE));
    /// assert_eq!(err.to_string(), "accept: Too many open files");
    /// ```
    pub fn from_io(call: &'static str, err: io::Error) -> Self {
        match err.raw_os_error() {
            Some(errnum) => Self::from_errno(call, errnum),
            None => Self::new(call, Cause::Message(err.to_string())),
        }
    }

    /// The call failed without `errno`; `message` is what follows `call: `.
    ///
    /// ```
    /// let err = common::CallError::with_message("inet_aton", "invalid address '1.2.3.256'");
    /// assert_eq!(err.to_string(), "inet_aton: invalid address '1.2.3.256'");
    /// assert_eq!(err.exit_code(), 10);
    /// ```
    pub fn with_message(call: &'static str, message: impl Into<String>) -> Self {
        Self::new(call, Cause::Message(message.into()))
    }

    fn new(call: &'static str, cause: Cause) -> Self {
        Self {
            call,
            cause,
            exit_code: exit_code_for(call),
        }
    }

    /// The same error with another exit code, for a program whose phase differs from
    /// the call's usual one.
    ///
    /// ```
    /// let err = common::CallError::from_errno("write", libc::EPIPE).with_exit_code(6);
    /// assert_eq!(err.exit_code(), 6);
    /// ```
    pub fn with_exit_code(mut self, code: u8) -> Self {
        self.exit_code = code;
        self
    }

    /// The name of the call that failed, as passed to `perror`.
    ///
    /// ```
    /// assert_eq!(common::CallError::from_errno("listen", libc::EBADF).call(), "listen");
    /// ```
    pub fn call(&self) -> &'static str {
        self.call
    }

    /// Why it failed.
    ///
    /// ```
    /// use common::error::Cause;
    /// let err = common::CallError::with_message("inet_aton", "invalid address 'x'");
    /// assert!(matches!(err.cause(), Cause::Message(_)));
    /// ```
    pub fn cause(&self) -> &Cause {
        &self.cause
    }

    /// The `errno` value, if the call set one. Its `Debug` is the symbolic name
    /// (`EADDRINUSE`), which is what to look up in the man page's ERRORS section.
    ///
    /// ```
    /// let err = common::CallError::from_errno("bind", libc::EADDRINUSE);
    /// assert_eq!(format!("{:?}", err.errno().unwrap()), "EADDRINUSE");
    /// ```
    pub fn errno(&self) -> Option<Errno> {
        match self.cause {
            Cause::Errno(errno) => Some(errno),
            Cause::Message(_) => None,
        }
    }

    /// True when the call was interrupted by a signal (`EINTR`): the caller decides
    /// whether to retry or to look at its stop flag.
    ///
    /// ```
    /// assert!(common::CallError::from_errno("accept", libc::EINTR).is_interrupted());
    /// ```
    pub fn is_interrupted(&self) -> bool {
        self.errno() == Some(Errno::EINTR)
    }

    /// What `perror` prints after `call: `: glibc's `strerror` text or the message.
    ///
    /// ```
    /// let err = common::CallError::from_errno("send", libc::EPIPE);
    /// assert_eq!(err.text(), "Broken pipe");
    /// ```
    pub fn text(&self) -> String {
        match &self.cause {
            Cause::Errno(errno) => strerror(*errno as i32),
            Cause::Message(message) => message.clone(),
        }
    }

    /// The code the lecture passes to `exit` after this failure.
    ///
    /// ```
    /// assert_eq!(common::CallError::from_errno("socket", libc::EMFILE).exit_code(), 1);
    /// ```
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl fmt::Display for CallError {
    /// `call: text`, byte for byte what `perror(call)` prints (without the newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.text())
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_perror_for_the_errors_students_meet() {
        let table = [
            ("bind", libc::EADDRINUSE, "bind: Address already in use"),
            ("bind", libc::EACCES, "bind: Permission denied"),
            ("connect", libc::ECONNREFUSED, "connect: Connection refused"),
            ("recv", libc::ECONNRESET, "recv: Connection reset by peer"),
            ("send", libc::EPIPE, "send: Broken pipe"),
            (
                "accept",
                libc::EAGAIN,
                "accept: Resource temporarily unavailable",
            ),
            ("socket", libc::EMFILE, "socket: Too many open files"),
        ];
        for (call, errnum, text) in table {
            assert_eq!(CallError::from_errno(call, errnum).to_string(), text);
        }
    }

    #[test]
    fn io_errors_lose_their_os_error_suffix() {
        let err = CallError::from_io("bind", io::Error::from_raw_os_error(libc::EADDRINUSE));
        assert_eq!(err.to_string(), "bind: Address already in use");
    }

    #[test]
    fn unknown_errno_is_glibcs_unknown_error() {
        assert_eq!(strerror(100_000), "Unknown error 100000");
    }

    #[test]
    fn exit_codes_follow_the_lecture() {
        let table = [
            ("socket", 1),
            ("bind", 2),
            ("connect", 2),
            ("listen", 3),
            ("accept", 4),
            ("sigaction", 5),
            ("recv", 6),
            ("send", 7),
            ("inet_aton", 10),
            ("getaddrinfo", 10),
        ];
        for (call, code) in table {
            assert_eq!(exit_code_for(call), code, "{call}");
        }
    }
}
