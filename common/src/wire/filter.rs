//! Which segments to keep, as a classic BPF program the kernel runs on every frame.
//!
//! ```c
//! struct sock_filter code[] = {
//!     BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
//!     BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, DROP),
//!     ...
//! };
//! struct sock_fprog prog = { .len = N, .filter = code };
//! setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
//! ```
//!
//! A frame the program drops never reaches the capture's ring: without a filter, all
//! of loopback's traffic (a browser, a database, the test suite next door) would fill
//! it and push our segments out. Written by hand, as `tcpdump -d` would print it for
//! `tcp and port P`, so each instruction can be read (see `filter(2)`'s successor,
//! the kernel's `Documentation/networking/filter.rst`). One program, three shapes:
//!
//! ```text
//!       ld  pkttype               ; lo shows each frame twice: keep the outgoing copy
//!       jeq #PACKET_OUTGOING, next, drop
//!       ldh [12]                  ; the Ethernet type
//!       jeq #0x0800, ipv4, next
//!       jeq #0x86dd, ipv6, drop
//! ipv4: ldb [23]                  ; IPv4's protocol field
//!       jeq #6, next, drop        ; TCP
//!       ldh [20]                  ; fragment offset
//!       jset #0x1fff, drop, next  ; a later fragment has no TCP header
//!       ldxb 4*([14]&0xf)         ; X = IPv4 header length
//!       ja tcp
//! ipv6: ldb [20]                  ; IPv6's next header
//!       jeq #6, next, drop
//!       ldx #40                   ; X = IPv6 header length
//! tcp:  ldh [x+14] ; st M[0]      ; source port
//!       ldh [x+16] ; st M[1]      ; destination port
//!       ldb [x+27] ; st M[2]      ; the flags byte
//!       ...                       ; Watch::Tcp: nothing more
//!                                 ; Watch::Ports: a port of ours, not handed to a child
//!                                 ; Watch::Connection: exactly these two ports
//! keep: ret #SNAPLEN              ; the headers are enough
//! drop: ret #0
//! ```

use std::net::SocketAddr;

use super::packet::{flags, Segment, ETH_HLEN, ETH_P_IP, ETH_P_IPV6, IPPROTO_TCP};

/// Bytes kept of each frame: Ethernet (14), IPv6 (40) and TCP with the most options
/// (60) fit. The payload is not needed: its length is in the IP header.
pub const SNAPLEN: u32 = 128;

/// The segments to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Every TCP segment: from start-up until the program's ports are known.
    Tcp,
    /// Segments to or from one of `ports` (the server's listening ports, or the port
    /// a client connects to), except those of connections handed to a child: any
    /// segment but a SYN whose other port is in `handed_off`.
    Ports {
        /// Our ports.
        ports: Vec<u16>,
        /// The clients' ports of the connections children serve.
        handed_off: Vec<u16>,
    },
    /// One connection: the segments between these two endpoints.
    Connection(SocketAddr, SocketAddr),
}

impl Watch {
    /// Does `segment` belong to what is watched? The same test as the BPF program,
    /// made again on what was captured before the program last changed (and on the
    /// addresses, which the program does not look at).
    ///
    /// ```
    /// use common::wire::filter::Watch;
    /// let watch = Watch::Ports { ports: vec![1234], handed_off: vec![] };
    /// # let a = "127.0.0.1:40000".parse().unwrap();
    /// # let b = "127.0.0.1:1234".parse().unwrap();
    /// # let s = common::wire::packet::Segment { src: a, dst: b, seq: 0, ack: 0, flags: 0, window: 0, len: 0 };
    /// assert!(watch.matches(&s));
    /// ```
    pub fn matches(&self, segment: &Segment) -> bool {
        let (sport, dport) = (segment.src.port(), segment.dst.port());
        match self {
            Watch::Tcp => true,
            Watch::Ports { ports, handed_off } => {
                let ours = ports.contains(&sport) || ports.contains(&dport);
                let theirs = segment.flags & flags::SYN == 0
                    && (handed_off.contains(&sport) || handed_off.contains(&dport));
                ours && !theirs
            }
            Watch::Connection(a, b) => {
                (segment.src == *a && segment.dst == *b) || (segment.src == *b && segment.dst == *a)
            }
        }
    }

    /// The BPF program for this watch (see the module's listing).
    ///
    /// # Panics
    ///
    /// Never for the watches this module builds: a jump longer than 255 instructions
    /// (a classic BPF limit) would need more than about 120 ports.
    ///
    /// ```
    /// use common::wire::filter::Watch;
    /// assert_eq!(Watch::Tcp.program().len(), 22);
    /// ```
    pub fn program(&self) -> Vec<libc::sock_filter> {
        let mut asm = Asm::default();
        header(&mut asm);
        match self {
            Watch::Tcp => {}
            Watch::Ports { ports, handed_off } => {
                if !handed_off.is_empty() {
                    // A SYN starts a new connection, even from a port reused.
                    asm.stmt(LD | MEM, M_FLAGS);
                    asm.jump(JSET, u32::from(flags::SYN), To(L::Ours), Next);
                    for slot in [M_SPORT, M_DPORT] {
                        asm.stmt(LD | MEM, slot);
                        for &port in handed_off {
                            asm.jump(JEQ, u32::from(port), To(L::Drop), Next);
                        }
                    }
                }
                asm.label(L::Ours);
                for slot in [M_SPORT, M_DPORT] {
                    asm.stmt(LD | MEM, slot);
                    for &port in ports {
                        asm.jump(JEQ, u32::from(port), To(L::Keep), Next);
                    }
                }
                asm.stmt(JMP | JA, 0).target = To(L::Drop);
            }
            Watch::Connection(a, b) => {
                let (a, b) = (u32::from(a.port()), u32::from(b.port()));
                asm.stmt(LD | MEM, M_SPORT);
                asm.jump(JEQ, a, To(L::FromA), Next);
                asm.jump(JEQ, b, To(L::FromB), To(L::Drop));
                asm.label(L::FromA);
                asm.stmt(LD | MEM, M_DPORT);
                asm.jump(JEQ, b, To(L::Keep), To(L::Drop));
                asm.label(L::FromB);
                asm.stmt(LD | MEM, M_DPORT);
                asm.jump(JEQ, a, To(L::Keep), To(L::Drop));
            }
        }
        asm.label(L::Keep);
        asm.stmt(RET | K, SNAPLEN);
        asm.label(L::Drop);
        asm.stmt(RET | K, 0);
        asm.assemble()
    }
}

/// The common part: outgoing copies of TCP over IPv4 or IPv6; ports and flags to
/// scratch memory.
fn header(asm: &mut Asm) {
    let eth = ETH_HLEN as u32;
    asm.stmt(
        LD | W | ABS,
        (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32,
    );
    asm.jump(JEQ, u32::from(PACKET_OUTGOING), Next, To(L::Drop));
    asm.stmt(LD | H | ABS, 12);
    asm.jump(JEQ, u32::from(ETH_P_IP), To(L::Ipv4), Next);
    asm.jump(JEQ, u32::from(ETH_P_IPV6), To(L::Ipv6), To(L::Drop));
    asm.label(L::Ipv4);
    asm.stmt(LD | B | ABS, eth + 9);
    asm.jump(JEQ, u32::from(IPPROTO_TCP), Next, To(L::Drop));
    asm.stmt(LD | H | ABS, eth + 6);
    asm.jump(JSET, 0x1fff, To(L::Drop), Next);
    asm.stmt(LDX | B | MSH, eth);
    asm.stmt(JMP | JA, 0).target = To(L::Tcp);
    asm.label(L::Ipv6);
    asm.stmt(LD | B | ABS, eth + 6);
    asm.jump(JEQ, u32::from(IPPROTO_TCP), Next, To(L::Drop));
    asm.stmt(LDX | IMM, 40);
    asm.label(L::Tcp);
    for (offset, size, slot) in [(0, H, M_SPORT), (2, H, M_DPORT), (13, B, M_FLAGS)] {
        asm.stmt(LD | size | IND, eth + offset);
        asm.stmt(ST, slot);
    }
}

/// `PACKET_OUTGOING`, `packet(7)`'s `sll_pkttype` of a frame this host sends.
const PACKET_OUTGOING: u8 = 4;

/// Scratch memory slots (`M[0]`…): source port, destination port, TCP flags.
const M_SPORT: u32 = 0;
const M_DPORT: u32 = 1;
const M_FLAGS: u32 = 2;

// Opcode parts, as `linux/filter.h` (`bpf_common.h`) names them; u16 like `code`.
const LD: u16 = libc::BPF_LD as u16;
const LDX: u16 = libc::BPF_LDX as u16;
const ST: u16 = libc::BPF_ST as u16;
const JMP: u16 = libc::BPF_JMP as u16;
const RET: u16 = libc::BPF_RET as u16;
const W: u16 = libc::BPF_W as u16;
const H: u16 = libc::BPF_H as u16;
const B: u16 = libc::BPF_B as u16;
const IMM: u16 = libc::BPF_IMM as u16;
const ABS: u16 = libc::BPF_ABS as u16;
const IND: u16 = libc::BPF_IND as u16;
const MEM: u16 = libc::BPF_MEM as u16;
const MSH: u16 = libc::BPF_MSH as u16;
const JA: u16 = libc::BPF_JA as u16;
const K: u16 = libc::BPF_K as u16;
const JEQ: u16 = JMP | libc::BPF_JEQ as u16 | K;
const JSET: u16 = JMP | libc::BPF_JSET as u16 | K;

/// Places a jump can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum L {
    Ipv4,
    Ipv6,
    Tcp,
    Ours,
    FromA,
    FromB,
    Keep,
    Drop,
}

/// Where a jump goes: the next instruction, or a label further on.
#[derive(Debug, Clone, Copy)]
enum Target {
    Next,
    To(L),
}
use Target::{Next, To};

/// One instruction before its jumps are resolved. For `ja`, `target` is where it
/// goes (its offset lands in `k`); for conditional jumps, `jt` and `jf`.
#[derive(Debug)]
struct Insn {
    code: u16,
    k: u32,
    jt: Target,
    jf: Target,
    target: Target,
}

/// A tiny assembler: instructions and labels, then forward offsets.
#[derive(Debug, Default)]
struct Asm {
    code: Vec<Insn>,
    labels: Vec<(L, usize)>,
}

impl Asm {
    fn stmt(&mut self, code: u16, k: u32) -> &mut Insn {
        self.push(code, k, Next, Next)
    }

    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) {
        self.push(code, k, jt, jf);
    }

    fn push(&mut self, code: u16, k: u32, jt: Target, jf: Target) -> &mut Insn {
        self.code.push(Insn {
            code,
            k,
            jt,
            jf,
            target: Next,
        });
        let last = self.code.len() - 1;
        &mut self.code[last]
    }

    fn label(&mut self, label: L) {
        self.labels.push((label, self.code.len()));
    }

    /// Resolve every jump into an offset from the instruction after it.
    fn assemble(self) -> Vec<libc::sock_filter> {
        let offset = |from: usize, target: Target| -> usize {
            match target {
                Next => 0,
                To(label) => {
                    let (_, at) = self
                        .labels
                        .iter()
                        .find(|(l, _)| *l == label)
                        .copied()
                        .expect("every label used is placed");
                    at.checked_sub(from + 1).expect("BPF jumps only forward")
                }
            }
        };
        let short = |n: usize| u8::try_from(n).expect("a BPF jump of at most 255");
        self.code
            .iter()
            .enumerate()
            .map(|(i, insn)| {
                let k = if insn.code == JMP | JA {
                    offset(i, insn.target) as u32
                } else {
                    insn.k
                };
                libc::sock_filter {
                    code: insn.code,
                    jt: short(offset(i, insn.jt)),
                    jf: short(offset(i, insn.jf)),
                    k,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::captured::{bytes, IPV4, IPV6};
    use super::super::packet::parse_ethernet;
    use super::*;

    /// A classic BPF interpreter for the instructions the programs above use, to
    /// check them on captured frames without a kernel (the tests in `tests/` run them
    /// in one).
    fn run(program: &[libc::sock_filter], frame: &[u8], pkttype: u8) -> u32 {
        let (mut a, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
        let load = |at: u32, size: u16| -> Option<u32> {
            let at = at as usize;
            match size {
                W => frame
                    .get(at..at + 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                H => frame
                    .get(at..at + 2)
                    .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]]))),
                _ => frame.get(at).map(|&b| u32::from(b)),
            }
        };
        loop {
            let insn = program[pc];
            pc += 1;
            let (class, size, mode) = (insn.code & 0x07, insn.code & 0x18, insn.code & 0xe0);
            match class {
                c if c == LD && mode == ABS && (insn.k as i32) < 0 => {
                    a = u32::from(pkttype);
                }
                c if c == LD && mode == ABS => match load(insn.k, size) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LD && mode == IND => match load(x + insn.k, size) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LD && mode == MEM => a = mem[insn.k as usize],
                c if c == LDX && mode == MSH => match load(insn.k, B) {
                    Some(v) => x = 4 * (v & 0xf),
                    None => return 0,
                },
                c if c == LDX && mode == IMM => x = insn.k,
                c if c == ST => mem[insn.k as usize] = a,
                c if c == RET => return insn.k,
                c if c == JMP && insn.code == JMP | JA => pc += insn.k as usize,
                c if c == JMP => {
                    let taken = if insn.code == JEQ {
                        a == insn.k
                    } else {
                        a & insn.k != 0
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                _ => panic!("instruction {:#x} not interpreted", insn.code),
            }
        }
    }

    fn frames() -> Vec<Vec<u8>> {
        IPV4.iter().chain(IPV6.iter()).map(|h| bytes(h)).collect()
    }

    #[test]
    fn tcp_keeps_every_outgoing_tcp_frame_and_no_incoming_copy() {
        let program = Watch::Tcp.program();
        for frame in frames() {
            assert_eq!(run(&program, &frame, PACKET_OUTGOING), SNAPLEN);
            assert_eq!(run(&program, &frame, 0 /* PACKET_HOST */), 0);
        }
        let mut udp = bytes(IPV4[0]);
        udp[ETH_HLEN + 9] = 17;
        assert_eq!(run(&program, &udp, PACKET_OUTGOING), 0);
        let mut fragment = bytes(IPV4[3]);
        fragment[ETH_HLEN + 7] = 0x10;
        assert_eq!(run(&program, &fragment, PACKET_OUTGOING), 0);
    }

    /// The kernel and the userspace test agree on every captured frame, for every
    /// shape of watch.
    #[test]
    fn the_program_and_matches_agree() {
        let v4_server: SocketAddr = "127.0.0.1:56211".parse().unwrap();
        let v4_client: SocketAddr = "127.0.0.1:49912".parse().unwrap();
        let watches = [
            Watch::Tcp,
            Watch::Ports {
                ports: vec![56211],
                handed_off: vec![],
            },
            Watch::Ports {
                ports: vec![1, 56237, 2],
                handed_off: vec![],
            },
            Watch::Ports {
                ports: vec![56211],
                handed_off: vec![49912],
            },
            Watch::Ports {
                ports: vec![9],
                handed_off: vec![],
            },
            Watch::Connection(v4_client, v4_server),
            Watch::Connection(v4_server, v4_client),
            Watch::Connection(v4_client, "127.0.0.1:9".parse().unwrap()),
        ];
        for watch in &watches {
            let program = watch.program();
            for frame in frames() {
                let segment = parse_ethernet(&frame, frame.len()).unwrap();
                let kept = run(&program, &frame, PACKET_OUTGOING) == SNAPLEN;
                // The program compares ports only; the addresses are loopback's.
                let by_ports = match watch {
                    Watch::Connection(a, b) => {
                        let (s, d) = (segment.src.port(), segment.dst.port());
                        (s, d) == (a.port(), b.port()) || (s, d) == (b.port(), a.port())
                    }
                    _ => watch.matches(&segment),
                };
                assert_eq!(kept, by_ports, "{watch:?} {segment:?}");
            }
        }
    }

    /// A connection handed to a child: the parent keeps only a new SYN from that port.
    #[test]
    fn handed_off_connections_are_dropped_but_a_new_syn_is_kept() {
        let program = Watch::Ports {
            ports: vec![56211],
            handed_off: vec![49912],
        }
        .program();
        let kept: Vec<bool> = IPV4
            .iter()
            .map(|h| run(&program, &bytes(h), PACKET_OUTGOING) == SNAPLEN)
            .collect();
        assert_eq!(kept, [true, true, false, false, false, false]);
    }

    #[test]
    fn many_ports_still_assemble() {
        let watch = Watch::Ports {
            ports: (1..=4).collect(),
            handed_off: (1000..1064).collect(),
        };
        assert!(watch.program().len() < 200);
    }
}
