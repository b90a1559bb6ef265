//! Reading a captured frame by hand: the Ethernet, IPv4 or IPv6, and TCP headers.
//!
//! ```c
//! struct ethhdr *eth = (struct ethhdr *)frame;              /* 14 bytes on lo */
//! struct iphdr  *ip  = (struct iphdr *)(frame + 14);        /* ihl * 4 bytes  */
//! struct tcphdr *tcp = (struct tcphdr *)((char *)ip + ip->ihl * 4);
//! printf("%u > %u\n", ntohs(tcp->source), ntohs(tcp->dest));
//! ```
//!
//! The C casts pointers and trusts the bytes; a frame is input like any other, so
//! here every field is read from a checked slice, and a frame too short for what its
//! headers claim is an error, never a panic. Every multi-byte field is in network byte
//! order (big-endian): the reason `ntohs` exists. See `ip(7)`, RFC 791 (IPv4),
//! RFC 8200 (IPv6), RFC 9293 (TCP), `packet(7)`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `ETH_P_IP`: the Ethernet type of an IPv4 packet.
pub const ETH_P_IP: u16 = 0x0800;
/// `ETH_P_IPV6`: the Ethernet type of an IPv6 packet.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// `IPPROTO_TCP`, as IPv4's protocol field and IPv6's next header field carry it.
pub const IPPROTO_TCP: u8 = 6;
/// The Ethernet header's length: two addresses of 6 bytes and the 2-byte type. The
/// loopback device has one too, with both addresses zero.
pub const ETH_HLEN: usize = 14;

/// TCP's flag bits, as in the 14th byte of its header (`tcp->th_flags`).
pub mod flags {
    /// FIN: the sender has no more data (an end of file for the peer).
    pub const FIN: u8 = 0x01;
    /// SYN: the first segment of each direction; its sequence number is the start.
    pub const SYN: u8 = 0x02;
    /// RST: the connection is reset; nothing more will be delivered.
    pub const RST: u8 = 0x04;
    /// PSH: deliver to the application now (set on the last segment of a `send`).
    pub const PSH: u8 = 0x08;
    /// ACK: the acknowledgement number is valid (every segment after the first SYN).
    pub const ACK: u8 = 0x10;
    /// URG: the urgent pointer is valid.
    pub const URG: u8 = 0x20;
    /// ECE: ECN echo.
    pub const ECE: u8 = 0x40;
    /// CWR: congestion window reduced.
    pub const CWR: u8 = 0x80;
}

/// One TCP segment: what tcpdump prints of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Sender's address and port.
    pub src: SocketAddr,
    /// Receiver's address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (of the SYN itself on a SYN).
    pub seq: u32,
    /// The next sequence number the sender expects from the receiver (if `ACK`).
    pub ack: u32,
    /// The flag bits, see [`flags`].
    pub flags: u8,
    /// The receive window the sender advertises, as in the header (not yet scaled).
    pub window: u16,
    /// Payload bytes: the IP length minus both headers (not what was captured).
    pub len: u32,
}

/// Why a frame is not a TCP segment we can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the named header needs.
    Truncated(&'static str),
    /// Not IPv4 or IPv6 (the Ethernet type).
    NotIp(u16),
    /// Not TCP (the IP protocol or next header; IPv6 extension headers included).
    NotTcp(u8),
    /// An IPv4 fragment after the first: it carries no TCP header.
    Fragment,
    /// A header length field smaller than the header's minimum, or larger than the
    /// packet's length field allows.
    BadLength(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated(what) => write!(f, "truncated {what} header"),
            ParseError::NotIp(ty) => write!(f, "not IP (ethertype {ty:#06x})"),
            ParseError::NotTcp(proto) => write!(f, "not TCP (protocol {proto})"),
            ParseError::Fragment => write!(f, "an IPv4 fragment"),
            ParseError::BadLength(what) => write!(f, "bad {what} length"),
        }
    }
}

/// Parse an Ethernet frame as `packet(7)`'s `SOCK_RAW` delivers it on `lo`.
///
/// `wire_len` is the frame's length on the wire (`tp_len`), which may exceed
/// `frame.len()` when only the headers were captured; it is used only when the IP
/// length field is 0 (a "BIG TCP" packet over 64 KiB carries its length nowhere else).
///
/// # Errors
///
/// See [`ParseError`]: never a panic, whatever the bytes.
///
/// ```
/// use common::wire::packet::parse_ethernet;
/// // The SYN of a connection from 127.0.0.1:49912 to 127.0.0.1:56211.
/// let hex = "00000000000000000000000008004500003ca1fa400040069abf7f0000017f000001\
///            c2f8db93b35aa7e100000000a002ffd7fe3000000204ffd70402080a10d88b03000000000103030a";
/// let frame: Vec<u8> = (0..hex.len()).step_by(2)
///     .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
/// let syn = parse_ethernet(&frame, frame.len()).unwrap();
/// assert_eq!(syn.src.to_string(), "127.0.0.1:49912");
/// assert_eq!(syn.dst.port(), 56211);
/// assert_eq!(syn.len, 0);
/// ```
pub fn parse_ethernet(frame: &[u8], wire_len: usize) -> Result<Segment, ParseError> {
    let ethertype = be16(frame, 12).ok_or(ParseError::Truncated("Ethernet"))?;
    let packet = &frame[ETH_HLEN..];
    let wire_len = wire_len.saturating_sub(ETH_HLEN);
    match ethertype {
        ETH_P_IP => parse_ipv4(packet, wire_len),
        ETH_P_IPV6 => parse_ipv6(packet, wire_len),
        other => Err(ParseError::NotIp(other)),
    }
}

/// An IPv4 header, then TCP.
///
/// ```c
/// struct iphdr { uint8_t ihl:4, version:4; uint8_t tos; uint16_t tot_len; uint16_t id;
///                uint16_t frag_off; uint8_t ttl, protocol; uint16_t check;
///                uint32_t saddr, daddr; };
/// ```
fn parse_ipv4(packet: &[u8], wire_len: usize) -> Result<Segment, ParseError> {
    if packet.len() < 20 {
        return Err(ParseError::Truncated("IPv4"));
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(ParseError::BadLength("IPv4 header"));
    }
    if packet[9] != IPPROTO_TCP {
        return Err(ParseError::NotTcp(packet[9]));
    }
    // The low 13 bits of frag_off: a non-zero offset is a later fragment.
    if be16(packet, 6).is_some_and(|f| f & 0x1fff != 0) {
        return Err(ParseError::Fragment);
    }
    let total = match be16(packet, 2) {
        Some(0) => wire_len,
        Some(n) => usize::from(n),
        None => return Err(ParseError::Truncated("IPv4")),
    };
    let src = Ipv4Addr::from(be32(packet, 12).ok_or(ParseError::Truncated("IPv4"))?);
    let dst = Ipv4Addr::from(be32(packet, 16).ok_or(ParseError::Truncated("IPv4"))?);
    let tcp = packet.get(ihl..).ok_or(ParseError::Truncated("IPv4"))?;
    let payload = total
        .checked_sub(ihl)
        .ok_or(ParseError::BadLength("IPv4 total"))?;
    parse_tcp(tcp, payload, src.into(), dst.into())
}

/// An IPv6 header (always 40 bytes), then TCP. Extension headers are not followed:
/// TCP over loopback carries none.
///
/// ```c
/// struct ip6_hdr { uint32_t ip6_flow; uint16_t ip6_plen; uint8_t ip6_nxt, ip6_hlim;
///                  struct in6_addr ip6_src, ip6_dst; };
/// ```
fn parse_ipv6(packet: &[u8], wire_len: usize) -> Result<Segment, ParseError> {
    const HLEN: usize = 40;
    if packet.len() < HLEN {
        return Err(ParseError::Truncated("IPv6"));
    }
    if packet[6] != IPPROTO_TCP {
        return Err(ParseError::NotTcp(packet[6]));
    }
    let payload = match be16(packet, 4) {
        // A jumbogram: the length is in a hop-by-hop option, i.e. not next header TCP;
        // only "BIG TCP" on loopback leaves it 0 with TCP straight after.
        Some(0) => wire_len.saturating_sub(HLEN),
        Some(n) => usize::from(n),
        None => return Err(ParseError::Truncated("IPv6")),
    };
    let address = |at: usize| -> Ipv6Addr {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&packet[at..at + 16]);
        Ipv6Addr::from(bytes)
    };
    parse_tcp(
        &packet[HLEN..],
        payload,
        address(8).into(),
        address(24).into(),
    )
}

/// The TCP header; `ip_payload` is the IP layer's count of bytes after the IP header.
///
/// ```c
/// struct tcphdr { uint16_t source, dest; uint32_t seq, ack_seq;
///                 uint8_t res1:4, doff:4; uint8_t flags; uint16_t window, check, urg_ptr; };
/// ```
fn parse_tcp(
    tcp: &[u8],
    ip_payload: usize,
    src: IpAddr,
    dst: IpAddr,
) -> Result<Segment, ParseError> {
    if tcp.len() < 20 {
        return Err(ParseError::Truncated("TCP"));
    }
    let doff = usize::from(tcp[12] >> 4) * 4;
    if doff < 20 {
        return Err(ParseError::BadLength("TCP header"));
    }
    let len = ip_payload
        .checked_sub(doff)
        .ok_or(ParseError::BadLength("TCP segment"))?;
    let field16 = |at| be16(tcp, at).ok_or(ParseError::Truncated("TCP"));
    let field32 = |at| be32(tcp, at).ok_or(ParseError::Truncated("TCP"));
    Ok(Segment {
        src: SocketAddr::new(src, field16(0)?),
        dst: SocketAddr::new(dst, field16(2)?),
        seq: field32(4)?,
        ack: field32(8)?,
        flags: tcp[13],
        window: field16(14)?,
        len: u32::try_from(len).map_err(|_| ParseError::BadLength("TCP segment"))?,
    })
}

/// `ntohs(*(uint16_t *)(bytes + at))`, or `None` past the end.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// `ntohl(*(uint32_t *)(bytes + at))`, or `None` past the end.
fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
pub(crate) mod captured {
    //! Frames captured on `lo` (outgoing copies only) with a packet socket: a client
    //! connects, sends "hello\n", and the server closes without reading it, so the
    //! kernel resets the connection. Once over IPv4, once over IPv6.

    /// IPv4, 127.0.0.1:49912 → 127.0.0.1:56211 (the listening port).
    pub const IPV4: [&str; 6] = [
        // SYN
        "00000000000000000000000008004500003ca1fa400040069abf7f0000017f000001c2f8db93b35aa7e100000000a002ffd7fe3000000204ffd70402080a10d88b03000000000103030a",
        // SYN-ACK
        "00000000000000000000000008004500003c0000400040063cba7f0000017f000001db93c2f8b0eca62ab35aa7e2a012ffcbfe3000000204ffd70402080acfe9659e10d88b030103030a",
        // ACK: the handshake is complete
        "000000000000000000000000080045000034a1fb400040069ac67f0000017f000001c2f8db93b35aa7e2b0eca62b80100040fe2800000101080a10d88b03cfe9659e",
        // "hello\n", PSH+ACK
        "00000000000000000000000008004500003aa1fc400040069abf7f0000017f000001c2f8db93b35aa7e2b0eca62b80180040fe2e00000101080a10d88b03cfe9659e68656c6c6f0a",
        // the server's ACK of it
        "000000000000000000000000080045000034438740004006f93a7f0000017f000001db93c2f8b0eca62bb35aa7e880100040fe2800000101080acfe9659e10d88b03",
        // close() with "hello\n" unread: RST+ACK
        "000000000000000000000000080045000034438840004006f9397f0000017f000001db93c2f8b0eca62bb35aa7e880140040fe2800000101080acfe965d110d88b03",
    ];

    /// IPv6, [::1]:47330 → [::1]:56237 (the listening port).
    pub const IPV6: [&str; 6] = [
        "00000000000000000000000086dd6004a0ff002806400000000000000000000000000000000100000000000000000000000000000001b8e2dbadb07ebf1f00000000a002ffc4003000000204ffc40402080a6febbd3b000000000103030a",
        "00000000000000000000000086dd6004927b002806400000000000000000000000000000000100000000000000000000000000000001dbadb8e2aec33912b07ebf20a012ffb8003000000204ffc40402080a28912f2d6febbd3b0103030a",
        "00000000000000000000000086dd6004a0ff002006400000000000000000000000000000000100000000000000000000000000000001b8e2dbadb07ebf20aec3391380100040002800000101080a6febbd3b28912f2d",
        "00000000000000000000000086dd6004a0ff002606400000000000000000000000000000000100000000000000000000000000000001b8e2dbadb07ebf20aec3391380180040002e00000101080a6febbd3b28912f2d68656c6c6f0a",
        "00000000000000000000000086dd6004927b002006400000000000000000000000000000000100000000000000000000000000000001dbadb8e2aec33913b07ebf2680100040002800000101080a28912f2d6febbd3b",
        "00000000000000000000000086dd6004927b002006400000000000000000000000000000000100000000000000000000000000000001dbadb8e2aec33913b07ebf2680140040002800000101080a28912f5f6febbd3b",
    ];

    /// The bytes of a hex string.
    pub fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::captured::{bytes, IPV4, IPV6};
    use super::flags::*;
    use super::*;

    fn parse(hex: &str) -> Segment {
        let frame = bytes(hex);
        parse_ethernet(&frame, frame.len()).unwrap()
    }

    /// Each captured IPv4 frame: ports, flags, numbers and payload length, as read
    /// off the bytes by hand (and as tcpdump -S prints them).
    #[test]
    fn ipv4_frames_of_a_reset_connection() {
        let client: SocketAddr = "127.0.0.1:49912".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:56211".parse().unwrap();
        let table = [
            // (from client?, flags, seq, ack, window, len)
            (true, SYN, 0xb35a_a7e1, 0, 65495, 0),
            (false, SYN | ACK, 0xb0ec_a62a, 0xb35a_a7e2, 65483, 0),
            (true, ACK, 0xb35a_a7e2, 0xb0ec_a62b, 64, 0),
            (true, PSH | ACK, 0xb35a_a7e2, 0xb0ec_a62b, 64, 6),
            (false, ACK, 0xb0ec_a62b, 0xb35a_a7e8, 64, 0),
            (false, RST | ACK, 0xb0ec_a62b, 0xb35a_a7e8, 64, 0),
        ];
        for (hex, (from_client, flags, seq, ack, window, len)) in IPV4.iter().zip(table) {
            let (src, dst) = if from_client {
                (client, server)
            } else {
                (server, client)
            };
            let expected = Segment {
                src,
                dst,
                seq,
                ack,
                flags,
                window,
                len,
            };
            assert_eq!(parse(hex), expected, "{hex}");
        }
    }

    #[test]
    fn ipv6_frames_carry_the_same_story() {
        let segments: Vec<Segment> = IPV6.iter().map(|h| parse(h)).collect();
        assert_eq!(segments[0].src.to_string(), "[::1]:47330");
        assert_eq!(segments[0].dst.to_string(), "[::1]:56237");
        let flags: Vec<u8> = segments.iter().map(|s| s.flags).collect();
        assert_eq!(flags, [SYN, SYN | ACK, ACK, PSH | ACK, ACK, RST | ACK]);
        assert_eq!(segments[3].len, 6);
        assert_eq!(segments[1].ack, segments[0].seq.wrapping_add(1));
    }

    /// A frame cut anywhere is an error, never a panic and never a wrong segment.
    #[test]
    fn every_truncation_is_an_error() {
        for hex in IPV4.iter().chain(IPV6.iter()) {
            let frame = bytes(hex);
            // Up to the end of the fixed 20 bytes of TCP: the options are not needed.
            let ip_header = if frame[12] == 0x08 { 20 } else { 40 };
            let needed = ETH_HLEN + ip_header + 20;
            for cut in 0..needed.min(frame.len()) {
                assert!(parse_ethernet(&frame[..cut], frame.len()).is_err(), "{cut}");
            }
        }
    }

    #[test]
    fn not_tcp_not_ip_fragments_and_lying_lengths() {
        let mut udp = bytes(IPV4[0]);
        udp[ETH_HLEN + 9] = 17;
        assert_eq!(parse_ethernet(&udp, 74), Err(ParseError::NotTcp(17)));
        let mut arp = bytes(IPV4[0]);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(parse_ethernet(&arp, 74), Err(ParseError::NotIp(0x0806)));
        let mut fragment = bytes(IPV4[3]);
        fragment[ETH_HLEN + 7] = 0x10;
        assert_eq!(parse_ethernet(&fragment, 80), Err(ParseError::Fragment));
        let mut short_total = bytes(IPV4[3]);
        short_total[ETH_HLEN + 2..ETH_HLEN + 4].copy_from_slice(&30u16.to_be_bytes());
        assert_eq!(
            parse_ethernet(&short_total, 80),
            Err(ParseError::BadLength("TCP segment"))
        );
        let mut tiny_ihl = bytes(IPV4[3]);
        tiny_ihl[ETH_HLEN] = 0x44;
        assert_eq!(
            parse_ethernet(&tiny_ihl, 80),
            Err(ParseError::BadLength("IPv4 header"))
        );
    }

    /// Only the headers captured (the ring keeps 128 bytes of each frame): the length
    /// still comes from the IP header.
    #[test]
    fn the_payload_length_comes_from_the_ip_header_not_the_capture() {
        let frame = bytes(IPV4[3]);
        let cut = &frame[..ETH_HLEN + 20 + 20];
        assert_eq!(parse_ethernet(cut, frame.len()).unwrap().len, 6);
        // BIG TCP: a zero total length means "as long as the frame".
        let mut big = frame.clone();
        big[ETH_HLEN + 2..ETH_HLEN + 4].copy_from_slice(&[0, 0]);
        let wire_len = ETH_HLEN + 20 + 32 + 100_000;
        assert_eq!(parse_ethernet(&big, wire_len).unwrap().len, 100_000);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(
            frame in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            wire_len in 0usize..100_000,
        ) {
            let _ = parse_ethernet(&frame, wire_len);
        }
    }
}
