//! Host names for the client: `getaddrinfo(3)`, IPv4 only.
//!
//! The slides' client connects to a dotted address (`inet_addr(SERVER)`). Typing
//! `localhost` is the first thing students try, so step03 falls back to the system
//! resolver when `inet_aton` does not accept the host and it does not start with a
//! digit. The text of a failure is glibc's `gai_strerror`, as the C prints it.

use std::ffi::{CStr, CString};
use std::ptr;

use crate::error::CallError;
use crate::sockaddr::{InAddr, SockaddrIn};

/// The first IPv4 address the system resolver gives for `host`.
///
/// ```c
/// int getaddrinfo(const char *node, const char *service,
///                 const struct addrinfo *hints, struct addrinfo **res);
/// void freeaddrinfo(struct addrinfo *res);
/// const char *gai_strerror(int errcode);
/// ```
///
/// See `getaddrinfo(3)`. Asks with `ai_family = AF_INET` and
/// `ai_socktype = SOCK_STREAM`, takes the first answer, frees the list.
///
/// # Errors
///
/// [`CallError`] for `getaddrinfo`, exit code 10, with `gai_strerror`'s text:
/// `Name or service not known` (no such host), `Temporary failure in name resolution`
/// (no resolver reachable), `Address family for hostname not supported` (IPv6 only).
///
/// ```
/// use common::resolve::getaddrinfo_ipv4;
/// assert_eq!(getaddrinfo_ipv4("localhost").unwrap().to_string(), "127.0.0.1");
/// let err = getaddrinfo_ipv4("no-such-host.invalid").unwrap_err();
/// assert!(err.to_string().starts_with("getaddrinfo: "));
/// assert_eq!(err.exit_code(), 10);
/// ```
pub fn getaddrinfo_ipv4(host: &str) -> Result<InAddr, CallError> {
    let node = CString::new(host)
        .map_err(|_| CallError::with_message("getaddrinfo", "host name contains a NUL byte"))?;
    // SAFETY: addrinfo is plain old data; all-zero is the documented "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_INET;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: node is NUL-terminated, service may be NULL, hints and res are valid.
    let rc = unsafe { libc::getaddrinfo(node.as_ptr(), ptr::null(), &hints, &mut res) };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string for any code.
        let text = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(CallError::with_message(
            "getaddrinfo",
            text.to_string_lossy().into_owned(),
        ));
    }
    // SAFETY: on success res points to at least one addrinfo; with AF_INET its
    // ai_addr points to a sockaddr_in of ai_addrlen bytes. The list is freed once,
    // after the copy.
    let found = unsafe {
        let first = &*res;
        let addr = if first.ai_family == libc::AF_INET && !first.ai_addr.is_null() {
            let sin = *(first.ai_addr as *const libc::sockaddr_in);
            Some(SockaddrIn::from(sin).sin_addr)
        } else {
            None
        };
        libc::freeaddrinfo(res);
        addr
    };
    found.ok_or_else(|| {
        CallError::with_message("getaddrinfo", "Address family for hostname not supported")
    })
}
