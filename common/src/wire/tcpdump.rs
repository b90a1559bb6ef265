//! A segment as one line of `tcpdump`, with sequence numbers relative to each side's SYN.
//!
//! ```text
//! IP 127.0.0.1.42426 > 127.0.0.1.1234: Flags [S], seq 0, win 65495, length 0
//! IP 127.0.0.1.1234 > 127.0.0.1.42426: Flags [S.], seq 0, ack 1, win 65483, length 0
//! IP 127.0.0.1.42426 > 127.0.0.1.1234: Flags [.], ack 1, win 512, length 0
//! IP 127.0.0.1.42426 > 127.0.0.1.1234: Flags [P.], seq 1:7, ack 1, win 512, length 6
//! IP6 ::1.42426 > ::1.1234: Flags [F.], seq 7, ack 1, win 512, length 0
//! ```
//!
//! tcpdump's layout (`print-tcp.c`): the flags in the order `F S R P . U E W` (`.` is
//! ACK), `seq` only when the segment carries data or a SYN, FIN or RST (`first:last`
//! with data), `ack` when the ACK flag is set, the window as the header carries it
//! (before window scaling), the payload length. TCP options are left out.
//!
//! Relative numbers: each side picks a random initial sequence number in its SYN; the
//! line shows numbers minus that start, so the first data byte is 1 on both sides and
//! "ack 7" reads "got your 6 bytes". Differs from tcpdump: the SYN itself shows
//! `seq 0` (tcpdump prints its absolute number). A segment whose SYN was never seen
//! shows absolute numbers, as `tcpdump -S` does.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use super::packet::{flags, Segment};

/// How many directions' starting numbers are remembered; the oldest are forgotten
/// beyond (a long-running server's old connections), and show absolute numbers if
/// they ever speak again.
const REMEMBERED: usize = 4096;

/// The starting sequence number of each direction seen so far.
#[derive(Debug, Default, Clone)]
pub struct Tcpdump {
    isn: HashMap<(SocketAddr, SocketAddr), u32>,
    order: VecDeque<(SocketAddr, SocketAddr)>,
}

impl Tcpdump {
    /// No connection seen yet.
    ///
    /// ```
    /// let _ = common::wire::tcpdump::Tcpdump::new();
    /// ```
    pub fn new() -> Tcpdump {
        Tcpdump::default()
    }

    /// The tcpdump line for `segment`; a SYN records its direction's start first.
    /// Call it for the segments in the order they crossed the wire.
    ///
    /// ```
    /// use common::wire::{packet::{flags, Segment}, tcpdump::Tcpdump};
    /// let (a, b) = ("127.0.0.1:42426".parse().unwrap(), "127.0.0.1:1234".parse().unwrap());
    /// let syn = Segment { src: a, dst: b, seq: 1000, ack: 0, flags: flags::SYN, window: 65495, len: 0 };
    /// let mut tcpdump = Tcpdump::new();
    /// assert_eq!(
    ///     tcpdump.line(&syn),
    ///     "IP 127.0.0.1.42426 > 127.0.0.1.1234: Flags [S], seq 0, win 65495, length 0"
    /// );
    /// ```
    pub fn line(&mut self, segment: &Segment) -> String {
        let forward = (segment.src, segment.dst);
        if segment.flags & flags::SYN != 0 {
            self.remember(forward, segment.seq);
        }
        let seq_base = self.isn.get(&forward).copied().unwrap_or(0);
        let ack_base = self
            .isn
            .get(&(segment.dst, segment.src))
            .copied()
            .unwrap_or(0);

        let family = if segment.src.is_ipv4() { "IP" } else { "IP6" };
        let mut line = format!(
            "{family} {} > {}: Flags [{}]",
            endpoint(segment.src),
            endpoint(segment.dst),
            flag_letters(segment.flags)
        );
        let seq = segment.seq.wrapping_sub(seq_base);
        if segment.len > 0 {
            let last = seq.wrapping_add(segment.len);
            line.push_str(&format!(", seq {seq}:{last}"));
        } else if segment.flags & (flags::SYN | flags::FIN | flags::RST) != 0 {
            line.push_str(&format!(", seq {seq}"));
        }
        if segment.flags & flags::ACK != 0 {
            line.push_str(&format!(", ack {}", segment.ack.wrapping_sub(ack_base)));
        }
        line.push_str(&format!(", win {}, length {}", segment.window, segment.len));
        line
    }

    fn remember(&mut self, direction: (SocketAddr, SocketAddr), isn: u32) {
        if self.isn.insert(direction, isn).is_none() {
            self.order.push_back(direction);
            if self.order.len() > REMEMBERED {
                if let Some(oldest) = self.order.pop_front() {
                    self.isn.remove(&oldest);
                }
            }
        }
    }
}

/// tcpdump's `address.port`: no brackets around IPv6, a dot before the port.
fn endpoint(address: SocketAddr) -> String {
    format!("{}.{}", address.ip(), address.port())
}

/// tcpdump's flag letters, in its order; `none` when no flag is set.
fn flag_letters(bits: u8) -> String {
    const LETTERS: [(u8, char); 8] = [
        (flags::FIN, 'F'),
        (flags::SYN, 'S'),
        (flags::RST, 'R'),
        (flags::PSH, 'P'),
        (flags::ACK, '.'),
        (flags::URG, 'U'),
        (flags::ECE, 'E'),
        (flags::CWR, 'W'),
    ];
    let letters: String = LETTERS
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|&(_, letter)| letter)
        .collect();
    if letters.is_empty() {
        "none".into()
    } else {
        letters
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::captured::{bytes, IPV4, IPV6};
    use super::super::packet::parse_ethernet;
    use super::*;

    fn lines(frames: &[&str]) -> Vec<String> {
        let mut tcpdump = Tcpdump::new();
        frames
            .iter()
            .map(|hex| {
                let frame = bytes(hex);
                tcpdump.line(&parse_ethernet(&frame, frame.len()).unwrap())
            })
            .collect()
    }

    /// The captured connection, line by line: what `--wire` prints for it.
    #[test]
    fn a_reset_connection_as_tcpdump_prints_it() {
        assert_eq!(
            lines(&IPV4),
            [
                "IP 127.0.0.1.49912 > 127.0.0.1.56211: Flags [S], seq 0, win 65495, length 0",
                "IP 127.0.0.1.56211 > 127.0.0.1.49912: Flags [S.], seq 0, ack 1, win 65483, length 0",
                "IP 127.0.0.1.49912 > 127.0.0.1.56211: Flags [.], ack 1, win 64, length 0",
                "IP 127.0.0.1.49912 > 127.0.0.1.56211: Flags [P.], seq 1:7, ack 1, win 64, length 6",
                "IP 127.0.0.1.56211 > 127.0.0.1.49912: Flags [.], ack 7, win 64, length 0",
                "IP 127.0.0.1.56211 > 127.0.0.1.49912: Flags [R.], seq 1, ack 7, win 64, length 0",
            ]
        );
    }

    #[test]
    fn ipv6_lines_start_with_ip6_and_have_no_brackets() {
        let lines = lines(&IPV6);
        assert_eq!(
            lines[0],
            "IP6 ::1.47330 > ::1.56237: Flags [S], seq 0, win 65476, length 0"
        );
        assert_eq!(
            lines[5],
            "IP6 ::1.56237 > ::1.47330: Flags [R.], seq 1, ack 7, win 64, length 0"
        );
    }

    /// Without the SYN (the capture started late) the numbers stay absolute.
    #[test]
    fn without_the_syn_numbers_are_absolute() {
        let lines = lines(&IPV4[3..4]);
        assert_eq!(
            lines[0],
            "IP 127.0.0.1.49912 > 127.0.0.1.56211: Flags [P.], seq 3009062882:3009062888, \
             ack 2968299051, win 64, length 6"
        );
    }

    #[test]
    fn flags_in_tcpdumps_order() {
        assert_eq!(flag_letters(flags::FIN | flags::PSH | flags::ACK), "FP.");
        assert_eq!(flag_letters(flags::RST), "R");
        assert_eq!(flag_letters(0), "none");
        assert_eq!(flag_letters(0xff), "FSRP.UEW");
    }

    #[test]
    fn old_connections_are_forgotten_beyond_the_limit() {
        let mut tcpdump = Tcpdump::new();
        let server: SocketAddr = "127.0.0.1:1234".parse().unwrap();
        for port in 0..=REMEMBERED as u16 {
            let client = SocketAddr::from(([127, 0, 0, 1], 10_000 + port));
            let syn = Segment {
                src: client,
                dst: server,
                seq: 5,
                ack: 0,
                flags: flags::SYN,
                window: 1,
                len: 0,
            };
            tcpdump.line(&syn);
        }
        assert_eq!(tcpdump.isn.len(), REMEMBERED);
        assert_eq!(tcpdump.order.len(), REMEMBERED);
    }
}
