//! Is the program listening, and where? Read from the kernel's socket tables, so the
//! check sees the truth without connecting (a connection would be the one a step01
//! server accepts, and the check could not tell it from its own).
//!
//! `/proc/net/tcp` and `/proc/net/tcp6` list every TCP socket with its state and
//! inode; `/proc/PID/fd/N` links to `socket:[INODE]` for each socket a process holds.
//! A listening socket of the program is one whose inode one of its processes holds.
//!
//! The same tables show the server's end of a checker's connection ([`server_end`]):
//! whether the program has read what was sent, and whether a process still holds the
//! socket after its FIN (it waits for the client's, the right way to close) or has
//! closed it.

use std::collections::HashSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The kernel's code for a socket in LISTEN (`include/net/tcp_states.h`).
const TCP_LISTEN: u8 = 0x0A;
/// The kernel's code for an established connection (also one still queued).
const TCP_ESTABLISHED: u8 = 0x01;
/// The kernel's code for TIME_WAIT.
const TCP_TIME_WAIT: u8 = 0x06;

/// One row of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    state: u8,
    /// Bytes received and not read yet by the socket's holder.
    unread: u64,
    inode: u64,
}

/// The server's end of a connection, as the kernel lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerEnd {
    /// The TCP state: [`TCP_FIN_WAIT1`], [`TCP_FIN_WAIT2`], … (`tcp_states.h`).
    pub state: u8,
    /// Bytes received that the program has not read yet.
    pub unread: u64,
    /// The socket's inode (`/proc/PID/fd/N -> socket:[INODE]`); 0 once no process
    /// holds it any more (closed, the kernel finishing the connection alone).
    pub inode: u64,
}

/// The kernel's code for a connection that sent its FIN, not yet acknowledged.
pub const TCP_FIN_WAIT1: u8 = 0x04;
/// The kernel's code for a connection whose FIN was acknowledged.
pub const TCP_FIN_WAIT2: u8 = 0x05;

/// The addresses the processes `pids` listen on (TCP, IPv4 and IPv6).
pub fn listening(pids: &[i32]) -> Vec<SocketAddr> {
    let inodes: HashSet<u64> = pids.iter().flat_map(|&pid| socket_inodes(pid)).collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<SocketAddr> = rows()
        .into_iter()
        .filter(|r| r.state == TCP_LISTEN && inodes.contains(&r.inode))
        .map(|r| r.local)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// True when a connection whose local port is `port` sits in TIME_WAIT: the state
/// that makes a `bind` without `SO_REUSEADDR` fail with "Address already in use".
pub fn time_wait_on(port: u16) -> bool {
    rows()
        .iter()
        .any(|r| r.state == TCP_TIME_WAIT && r.local.port() == port)
}

/// How many bytes the socket of the connection from `peer` to local port `port`
/// holds unread: 0 once the program has read all the checker sent, so the checker
/// knows the program has taken in a first part before it sends the rest. `None`
/// when there is no such connection (any more).
pub fn unread(port: u16, peer: SocketAddr) -> Option<u64> {
    rows()
        .iter()
        .find(|r| r.local.port() == port && r.remote == peer)
        .map(|r| r.unread)
}

/// True when the connection from `peer` to local port `port` has left the listen
/// queue: one of `pids` holds it (a queued connection has no socket yet, inode 0,
/// so no process holds it), or the server has already closed its end.
pub fn accepted(pids: &[i32], port: u16, peer: SocketAddr) -> bool {
    let inodes: HashSet<u64> = pids.iter().flat_map(|&pid| socket_inodes(pid)).collect();
    rows().iter().any(|r| {
        r.local.port() == port
            && r.remote == peer
            && (inodes.contains(&r.inode) || r.state != TCP_ESTABLISHED)
    })
}

/// The server's end of the connection whose client end is `client` and whose server
/// end is `server` (the two addresses of a connected `TcpStream`, seen from the
/// client: `local_addr`, `peer_addr`).
pub fn server_end(client: SocketAddr, server: SocketAddr) -> Option<ServerEnd> {
    rows()
        .into_iter()
        .find(|r| r.local == server && r.remote == client)
        .map(|r| ServerEnd {
            state: r.state,
            unread: r.unread,
            inode: r.inode,
        })
}

/// The inodes of the listening sockets `pid` holds.
pub fn listening_inodes(pid: i32) -> HashSet<u64> {
    let held: HashSet<u64> = socket_inodes(pid).into_iter().collect();
    rows()
        .into_iter()
        .filter(|r| r.state == TCP_LISTEN && held.contains(&r.inode))
        .map(|r| r.inode)
        .collect()
}

/// The inodes of the sockets `pid` holds open (none if it is gone).
pub fn socket_inodes(pid: i32) -> Vec<u64> {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let text = target.to_str()?;
            text.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// Every TCP socket of this network namespace.
fn rows() -> Vec<Row> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(parse_row)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `  0: 0100007F:04D2 00000000:0000 0A TX:RX … uid timeout INODE …`
fn parse_row(line: &str) -> Option<Row> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (_, unread) = fields.get(4)?.split_once(':')?;
    Some(Row {
        local: parse_addr(fields.get(1)?)?,
        remote: parse_addr(fields.get(2)?)?,
        state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
        unread: u64::from_str_radix(unread, 16).ok()?,
        inode: fields.get(9)?.parse().ok()?,
    })
}

/// `0100007F:04D2` → 127.0.0.1:1234.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    Some(SocketAddr::new(
        parse_ip(addr)?,
        u16::from_str_radix(port, 16).ok()?,
    ))
}

/// The kernel prints an address as its 32-bit words in host byte order, in hex: the
/// bytes of each word, in memory order, are the address's bytes.
fn parse_ip(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let text = hex.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(text, 16).ok()?.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_rows() {
        let v4 = "   0: 0100007F:04D2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        let row = parse_row(v4).unwrap();
        assert_eq!(row.local, "127.0.0.1:1234".parse().unwrap());
        assert_eq!((row.state, row.inode), (TCP_LISTEN, 4242));
        let open = "   1: 0100007F:04D2 0100007F:9C40 01 00000000:0000001B 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1";
        let row = parse_row(open).unwrap();
        assert_eq!(row.remote, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(row.unread, 27);
        let v6 = "   0: 00000000000000000000000001000000:D204 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0";
        let row = parse_row(v6).unwrap();
        assert_eq!(row.local, "[::1]:53764".parse().unwrap());
        assert_eq!(parse_row("  sl  local_address rem_address   st"), None);
    }

    #[test]
    fn finds_our_own_listener_without_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(listening(&[me]).contains(&addr));
        drop(listener);
        assert!(!listening(&[me]).contains(&addr));
    }

    #[test]
    fn tells_a_queued_connection_from_an_accepted_one() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let peer = client.local_addr().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(!accepted(&[me], port, peer), "still in the listen queue");
        let (served, _) = listener.accept().unwrap();
        assert!(accepted(&[me], port, peer));
        assert_eq!(unread(port, peer), Some(0));
        drop(served);
        assert!(accepted(&[], port, peer), "closed by the server");
    }
}
