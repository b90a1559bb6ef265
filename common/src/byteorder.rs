//! Byte order: `htons`, `htonl`, `ntohs`, `ntohl` (`byteorder(3)`, slide 10).
//!
//! The network sends the most significant byte first (big-endian, "network byte
//! order"); x86 and most ARM machines store the least significant byte first
//! (little-endian, "host byte order"). Every port and address that goes into a
//! `struct sockaddr_in` must be converted first. On a big-endian host these are no-ops,
//! which is exactly why forgetting them is a bug that only shows on half the machines.
//!
//! All four are `const fn`, so constants in network order can be computed at compile time.

/// Host to network, 16 bits: for port numbers.
///
/// ```c
/// uint16_t htons(uint16_t hostshort);
/// ```
///
/// See `byteorder(3)`. Cannot fail.
///
/// ```
/// use common::byteorder::htons;
/// // 1234 is 0x04d2; on the wire the 0x04 goes first.
/// assert_eq!(htons(1234).to_ne_bytes(), [0x04, 0xd2]);
/// ```
pub const fn htons(hostshort: u16) -> u16 {
    hostshort.to_be()
}

/// Host to network, 32 bits: for IPv4 addresses held as a number.
///
/// ```c
/// uint32_t htonl(uint32_t hostlong);
/// ```
///
/// See `byteorder(3)`. Cannot fail.
///
/// ```
/// use common::byteorder::htonl;
/// // 127.0.0.1 as a number is 0x7f000001; in network order 127 is the first byte.
/// assert_eq!(htonl(0x7f00_0001).to_ne_bytes(), [127, 0, 0, 1]);
/// ```
pub const fn htonl(hostlong: u32) -> u32 {
    hostlong.to_be()
}

/// Network to host, 16 bits: to print a port that came from the kernel.
///
/// ```c
/// uint16_t ntohs(uint16_t netshort);
/// ```
///
/// See `byteorder(3)`. Cannot fail.
///
/// ```
/// use common::byteorder::{htons, ntohs};
/// assert_eq!(ntohs(htons(40312)), 40312);
/// ```
pub const fn ntohs(netshort: u16) -> u16 {
    u16::from_be(netshort)
}

/// Network to host, 32 bits.
///
/// ```c
/// uint32_t ntohl(uint32_t netlong);
/// ```
///
/// See `byteorder(3)`. Cannot fail.
///
/// ```
/// use common::byteorder::ntohl;
/// assert_eq!(ntohl(u32::from_ne_bytes([127, 0, 0, 1])), 0x7f00_0001);
/// ```
pub const fn ntohl(netlong: u32) -> u32 {
    u32::from_be(netlong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_order_puts_the_most_significant_byte_first() {
        assert_eq!(htons(0x1234).to_ne_bytes(), [0x12, 0x34]);
        assert_eq!(htonl(0x0102_0304).to_ne_bytes(), [1, 2, 3, 4]);
    }

    #[test]
    fn conversions_are_their_own_inverse() {
        for v in [0u16, 1, 80, 1234, 0x8000, u16::MAX] {
            assert_eq!(ntohs(htons(v)), v);
        }
        for v in [0u32, 1, 0x7f00_0001, 0xffff_ffff, 0x8000_0000] {
            assert_eq!(ntohl(htonl(v)), v);
        }
    }

    #[test]
    fn usable_in_constants() {
        const NET_PORT: u16 = htons(1234);
        assert_eq!(NET_PORT.to_ne_bytes(), [0x04, 0xd2]);
    }
}
