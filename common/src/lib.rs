//! The C socket API of the lecture, made safe.
//!
//! Every module is named after the C concept it wraps, so a student looking for
//! `inet_aton` finds [`inet::inet_aton`], and one looking for `htons` finds
//! [`byteorder::htons`]. Every public item starts its documentation with the C it
//! stands for.
//!
//! | C (slides)                                   | here                                  |
//! |----------------------------------------------|---------------------------------------|
//! | `struct sockaddr_in`, `struct in_addr`       | [`sockaddr`]                          |
//! | `htons`, `htonl`, `ntohs`, `ntohl`           | [`byteorder`]                         |
//! | `inet_aton`, `inet_addr`, `inet_ntoa`        | [`inet`]                              |
//! | `getaddrinfo` (a host name for the client)   | [`resolve`]                           |
//! | `socket` … `close`, one wrapper per call     | [`socket`]                            |
//! | `sendall` (slide 29)                         | [`sendall`](mod@sendall)              |
//! | the right way to close (slide 31)            | [`close`]                             |
//! | `perror` + `exit(code)`                      | [`error`], [`diag`]                   |
//! | `sigaction` for SIGINT/SIGTERM, a self-pipe  | [`signals`]                           |
//! | what to do when `accept` fails (`EMFILE`)    | [`backoff`]                           |
//! | `fork`, `_exit` (slide 49)                   | [`process`]                           |
//! | the daemon routine (slides 35–43)            | [`daemon`], [`pidfile`]               |
//! | `write(1, …)` of received bytes              | [`stdio`]                             |
//! | `--explain`: each call as `strace` shows it  | [`explain`]                           |
//! | `--wire`: each TCP segment, tcpdump-style    | [`wire`]                              |
//! | the command line shared by the servers       | [`cli`]                               |
//!
//! This crate targets Linux (glibc) only, on purpose: the lecture is about Unix, and
//! portability `cfg`s would hide the calls it teaches.
//!
//! Layers, chosen on purpose: [`socket2`] owns the socket object (one method per
//! syscall, close-on-exec by default), [`nix`] gives `sigaction` and `write`, and
//! [`libc`] is used directly where neither fits (`accept4` into a `sockaddr_in`,
//! `strerror_r`, `getaddrinfo`).
#![deny(missing_docs)]

pub mod backoff;
pub mod byteorder;
pub mod cli;
pub mod close;
pub mod daemon;
pub mod diag;
pub mod error;
pub mod explain;
pub mod inet;
pub mod pidfile;
pub mod process;
pub mod resolve;
pub mod sendall;
pub mod signals;
pub mod sockaddr;
pub mod socket;
pub mod stdio;
pub mod wire;

pub use error::CallError;

/// The lecture's port number: `const unsigned short int PORT = 1234;` (slide 22).
///
/// Every server and the client default to it, so two terminals talk to each other
/// without flags. Any port above 1023 works for a normal user; `0` lets the kernel
/// choose (slide 18), which is what the tests use.
///
/// ```
/// assert_eq!(common::PORT, 1234);
/// ```
pub const PORT: u16 = 1234;
