//! `struct sockaddr_in` and `struct in_addr` as Rust types with the C layout (slide 10).
//!
//! ```c
//! struct in_addr {
//!     in_addr_t s_addr;          /* IPv4 address, network byte order */
//! };
//! struct sockaddr_in {
//!     sa_family_t    sin_family; /* AF_INET */
//!     in_port_t      sin_port;   /* port, network byte order */
//!     struct in_addr sin_addr;   /* address, network byte order */
//!     unsigned char  sin_zero[8];/* padding to the size of struct sockaddr: zeroed */
//! };
//! ```
//!
//! The fields keep their C names and their C byte order, so what a student prints here
//! is what the kernel sees. Conversions to and from `libc::sockaddr_in`,
//! `socket2::SockAddr` and `std::net::SocketAddrV4` are `From`/`TryFrom` impls.

use std::fmt;
use std::mem::{offset_of, size_of};
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::SockAddr;

use crate::byteorder::{htonl, htons, ntohs};
use crate::inet::inet_ntoa;

/// An IPv4 address in network byte order.
///
/// ```c
/// struct in_addr { in_addr_t s_addr; };   /* <netinet/in.h>, ip(7) */
/// ```
///
/// `Display` prints dotted-quad notation, as `inet_ntoa(3)` does; `Debug` prints it
/// the way strace does, `inet_addr("127.0.0.1")`.
///
/// ```
/// use common::sockaddr::InAddr;
/// let lo = InAddr::from(std::net::Ipv4Addr::LOCALHOST);
/// assert_eq!(lo.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
/// assert_eq!(lo.to_string(), "127.0.0.1");
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InAddr {
    /// The address, most significant byte first in memory (network byte order).
    pub s_addr: u32,
}

/// `INADDR_ANY` (0.0.0.0): bind to every interface (slide 18).
///
/// ```
/// assert_eq!(common::sockaddr::INADDR_ANY.to_string(), "0.0.0.0");
/// ```
pub const INADDR_ANY: InAddr = InAddr { s_addr: htonl(0) };

/// `INADDR_LOOPBACK` (127.0.0.1).
///
/// ```
/// assert_eq!(common::sockaddr::INADDR_LOOPBACK.to_string(), "127.0.0.1");
/// ```
pub const INADDR_LOOPBACK: InAddr = InAddr {
    s_addr: htonl(0x7f00_0001),
};

/// `INADDR_NONE` (255.255.255.255): what `inet_addr` returns on error, and also a valid
/// broadcast address, which is the slide's complaint about `inet_addr` (slide 11).
///
/// ```
/// assert_eq!(common::sockaddr::INADDR_NONE.s_addr, u32::MAX);
/// ```
pub const INADDR_NONE: InAddr = InAddr { s_addr: u32::MAX };

impl From<Ipv4Addr> for InAddr {
    /// The octets are already in network order; they are stored as they are.
    fn from(ip: Ipv4Addr) -> Self {
        InAddr {
            s_addr: u32::from_ne_bytes(ip.octets()),
        }
    }
}

impl From<InAddr> for Ipv4Addr {
    /// The bytes of `s_addr` in memory order are the octets.
    fn from(addr: InAddr) -> Self {
        Ipv4Addr::from(addr.s_addr.to_ne_bytes())
    }
}

impl From<libc::in_addr> for InAddr {
    /// Same layout, same byte order: a field copy.
    fn from(addr: libc::in_addr) -> Self {
        InAddr {
            s_addr: addr.s_addr,
        }
    }
}

impl From<InAddr> for libc::in_addr {
    /// Same layout, same byte order: a field copy.
    fn from(addr: InAddr) -> Self {
        libc::in_addr {
            s_addr: addr.s_addr,
        }
    }
}

impl fmt::Display for InAddr {
    /// Dotted-quad, like `inet_ntoa`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&inet_ntoa(*self))
    }
}

impl fmt::Debug for InAddr {
    /// As strace prints it: `inet_addr("127.0.0.1")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inet_addr(\"{self}\")")
    }
}

/// An IPv4 socket address with the C layout: family, port and address in network
/// byte order, and eight zero bytes.
///
/// ```c
/// struct sockaddr_in ownAddress;
/// ownAddress.sin_family = AF_INET;
/// ownAddress.sin_port = htons(PORT);
/// ownAddress.sin_addr.s_addr = INADDR_ANY;
/// memset(&(ownAddress.sin_zero), '\0', 8);
/// ```
///
/// See `ip(7)`. [`SockaddrIn::new`] is those four lines. `Display` prints
/// `127.0.0.1:40312` (what the servers log); `Debug` prints strace's
/// `{sin_family=AF_INET, sin_port=htons(40312), sin_addr=inet_addr("127.0.0.1")}`.
///
/// ```
/// use common::sockaddr::{SockaddrIn, INADDR_ANY};
/// let own_address = SockaddrIn::new(INADDR_ANY, 1234);
/// assert_eq!(own_address.sin_port.to_ne_bytes(), [0x04, 0xd2]);
/// assert_eq!(own_address.to_string(), "0.0.0.0:1234");
/// assert_eq!(std::mem::size_of::<SockaddrIn>(), 16);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockaddrIn {
    /// Always `AF_INET`.
    pub sin_family: libc::sa_family_t,
    /// The port in network byte order: `htons(port)`.
    pub sin_port: u16,
    /// The address in network byte order.
    pub sin_addr: InAddr,
    /// Padding up to the size of `struct sockaddr`; the slides zero it with `memset`.
    pub sin_zero: [u8; 8],
}

// The layout must be the kernel's, byte for byte; checked when the crate compiles.
const _: () = {
    assert!(size_of::<SockaddrIn>() == size_of::<libc::sockaddr_in>());
    assert!(offset_of!(SockaddrIn, sin_family) == offset_of!(libc::sockaddr_in, sin_family));
    assert!(offset_of!(SockaddrIn, sin_port) == offset_of!(libc::sockaddr_in, sin_port));
    assert!(offset_of!(SockaddrIn, sin_addr) == offset_of!(libc::sockaddr_in, sin_addr));
    assert!(offset_of!(SockaddrIn, sin_zero) == offset_of!(libc::sockaddr_in, sin_zero));
};

/// `sizeof(struct sockaddr_in)`: the `addrlen` passed to `bind`, `connect`, `accept`.
///
/// ```
/// assert_eq!(common::sockaddr::SOCKADDR_IN_LEN, 16);
/// ```
pub const SOCKADDR_IN_LEN: libc::socklen_t = size_of::<SockaddrIn>() as libc::socklen_t;

impl SockaddrIn {
    /// Fill in the structure as the slides do: `AF_INET`, `htons(port)`, the address,
    /// and `sin_zero` zeroed. `port` is in host byte order; this converts it.
    ///
    /// ```
    /// use common::sockaddr::{SockaddrIn, INADDR_LOOPBACK};
    /// let remote = SockaddrIn::new(INADDR_LOOPBACK, 80);
    /// assert_eq!(remote.port(), 80);
    /// ```
    pub fn new(addr: InAddr, port: u16) -> Self {
        SockaddrIn {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: htons(port),
            sin_addr: addr,
            sin_zero: [0; 8],
        }
    }

    /// The port in host byte order: `ntohs(sin_port)`.
    ///
    /// ```
    /// let a = common::sockaddr::SockaddrIn::new(common::sockaddr::INADDR_ANY, 40312);
    /// assert_eq!(a.port(), 40312);
    /// ```
    pub fn port(&self) -> u16 {
        ntohs(self.sin_port)
    }
}

impl From<SockaddrIn> for libc::sockaddr_in {
    /// Same layout, same byte order: a field copy.
    fn from(a: SockaddrIn) -> Self {
        libc::sockaddr_in {
            sin_family: a.sin_family,
            sin_port: a.sin_port,
            sin_addr: a.sin_addr.into(),
            sin_zero: a.sin_zero,
        }
    }
}

impl From<libc::sockaddr_in> for SockaddrIn {
    /// Same layout, same byte order: a field copy.
    fn from(a: libc::sockaddr_in) -> Self {
        SockaddrIn {
            sin_family: a.sin_family,
            sin_port: a.sin_port,
            sin_addr: a.sin_addr.into(),
            sin_zero: a.sin_zero,
        }
    }
}

impl From<SocketAddrV4> for SockaddrIn {
    /// std keeps the port in host order; this applies `htons`.
    fn from(a: SocketAddrV4) -> Self {
        SockaddrIn::new(InAddr::from(*a.ip()), a.port())
    }
}

impl From<SockaddrIn> for SocketAddrV4 {
    /// std keeps the port in host order; this applies `ntohs`.
    fn from(a: SockaddrIn) -> Self {
        SocketAddrV4::new(Ipv4Addr::from(a.sin_addr), a.port())
    }
}

impl From<SockaddrIn> for SockAddr {
    /// socket2 builds the same 16-byte `sockaddr_in`, network order kept.
    fn from(a: SockaddrIn) -> Self {
        SockAddr::from(SocketAddrV4::from(a))
    }
}

/// The address was not an IPv4 one (`sa_family` was not `AF_INET`).
///
/// ```c
/// if (addr.ss_family != AF_INET) { /* not a struct sockaddr_in */ }
/// ```
///
/// ```
/// use common::sockaddr::SockaddrIn;
/// let v6 = socket2::SockAddr::from(std::net::SocketAddr::from(([0u16; 8], 80)));
/// let err = SockaddrIn::try_from(&v6).unwrap_err();
/// assert_eq!(err.to_string(), "address family 10 is not AF_INET");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotInet {
    /// The family it had instead.
    pub family: libc::sa_family_t,
}

impl fmt::Display for NotInet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address family {} is not AF_INET", self.family)
    }
}

impl std::error::Error for NotInet {}

impl TryFrom<&SockAddr> for SockaddrIn {
    type Error = NotInet;

    /// Only an `AF_INET` address converts; network order kept.
    fn try_from(a: &SockAddr) -> Result<Self, NotInet> {
        a.as_socket_ipv4()
            .map(SockaddrIn::from)
            .ok_or(NotInet { family: a.family() })
    }
}

impl fmt::Display for SockaddrIn {
    /// `IP:PORT`, as the servers print `Connection from: 127.0.0.1:40312`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.sin_addr, self.port())
    }
}

impl fmt::Debug for SockaddrIn {
    /// As strace prints a `struct sockaddr_in`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = if i32::from(self.sin_family) == libc::AF_INET {
            "AF_INET".to_string()
        } else {
            self.sin_family.to_string()
        };
        write!(
            f,
            "{{sin_family={family}, sin_port=htons({}), sin_addr={:?}}}",
            self.port(),
            self.sin_addr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_fills_in_the_structure_like_the_slides() {
        let a = SockaddrIn::new(INADDR_LOOPBACK, 1234);
        let c: libc::sockaddr_in = a.into();
        assert_eq!(i32::from(c.sin_family), libc::AF_INET);
        assert_eq!(c.sin_port, 1234u16.to_be());
        assert_eq!(c.sin_addr.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
        assert_eq!(c.sin_zero, [0; 8]);
    }

    #[test]
    fn conversions_round_trip() {
        let std_addr = SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 40312);
        let a = SockaddrIn::from(std_addr);
        assert_eq!(SocketAddrV4::from(a), std_addr);
        assert_eq!(SockaddrIn::from(libc::sockaddr_in::from(a)), a);
        let s2 = SockAddr::from(a);
        assert_eq!(s2.len(), SOCKADDR_IN_LEN);
        assert_eq!(SockaddrIn::try_from(&s2), Ok(a));
    }

    #[test]
    fn an_ipv6_address_does_not_convert() {
        let v6 = SockAddr::from(std::net::SocketAddr::from(([0u16; 8], 80)));
        let err = SockaddrIn::try_from(&v6).unwrap_err();
        assert_eq!(i32::from(err.family), libc::AF_INET6);
    }

    #[test]
    fn display_and_debug_speak_c() {
        let a = SockaddrIn::new(INADDR_LOOPBACK, 40312);
        assert_eq!(a.to_string(), "127.0.0.1:40312");
        assert_eq!(
            format!("{a:?}"),
            "{sin_family=AF_INET, sin_port=htons(40312), sin_addr=inet_addr(\"127.0.0.1\")}"
        );
    }
}
