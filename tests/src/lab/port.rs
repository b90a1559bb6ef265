//! Choosing the port P a student's server is told to listen on.
//!
//! P is free, its two bytes differ, and P with its bytes swapped is free too and at
//! least 1024: so a server that forgets `htons` listens on a port the checker can see
//! and name ("53764 = 1234 with its bytes swapped"), instead of failing to bind.
//! The ports come from outside the kernel's ephemeral range, where the kernel never
//! hands them to outgoing connections, and this process never hands out the same port
//! twice, so checks running side by side do not meet.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use socket2::{Domain, Socket, Type};

/// Ports this process has handed out (P and swap(P) alike).
static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A port with its bytes swapped: what `sin_port = port` without `htons` listens on.
pub const fn swapped(port: u16) -> u16 {
    port.swap_bytes()
}

/// A port P for a server: free, bytes differ, swap(P) free and ≥ 1024.
pub fn for_server() -> io::Result<u16> {
    choose(|p| free(p) && free(swapped(p)), true)
}

/// A socket bound to 127.0.0.1 on a port whose bytes differ, for a client whose port
/// the server must print (`ntohs`). `SO_REUSEADDR`, so it does not need the port's
/// old connections to be gone.
pub fn client_socket() -> io::Result<(Socket, u16)> {
    let mut bound = None;
    let port = choose(
        |p| {
            let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok();
            bound = socket.filter(|s| {
                s.set_reuse_address(true).is_ok()
                    && s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, p)).into())
                        .is_ok()
            });
            bound.is_some()
        },
        false,
    )?;
    let socket = bound.ok_or_else(|| io::Error::other("no socket bound"))?;
    Ok((socket, port))
}

/// Try random candidates until `usable` accepts one (also reserving its swap when
/// `with_swap`).
fn choose(mut usable: impl FnMut(u16) -> bool, with_swap: bool) -> io::Result<u16> {
    let ephemeral = ephemeral_range();
    let state = RandomState::new();
    for attempt in 0u64..2000 {
        let mut hasher = state.build_hasher();
        hasher.write_u64(attempt);
        let p = (hasher.finish() % 65536) as u16;
        let s = swapped(p);
        let fits = |port: u16| port >= 1024 && !ephemeral.contains(&port);
        if p == s || !fits(p) || (with_swap && !fits(s)) {
            continue;
        }
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        let given = given.get_or_insert_with(HashSet::new);
        if given.contains(&p) || given.contains(&s) || !usable(p) {
            continue;
        }
        given.insert(p);
        if with_swap {
            given.insert(s);
        }
        return Ok(p);
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free port pair found in 2000 tries",
    ))
}

/// True when nothing holds `port` (or P byte-swapped) now: when a program told to use
/// it could not bind, someone else took it after it was chosen.
pub fn is_free(port: u16) -> bool {
    free(port) && free(swapped(port))
}

/// True when nothing holds `port` on any IPv4 or IPv6 address: a plain bind (no
/// `SO_REUSEADDR`, so even a connection in TIME_WAIT counts) succeeds on both.
fn free(port: u16) -> bool {
    let bind = |domain: Domain, addr: SocketAddr| -> io::Result<()> {
        let socket = Socket::new(domain, Type::STREAM, None)?;
        if domain == Domain::IPV6 {
            socket.set_only_v6(true)?;
        }
        socket.bind(&addr.into())
    };
    let v4 = bind(
        Domain::IPV4,
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
    );
    let v6 = bind(
        Domain::IPV6,
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
    );
    // A machine without IPv6 cannot have the port taken there.
    let v6_free = match v6 {
        Ok(()) => true,
        Err(e) => e.raw_os_error() == Some(libc::EAFNOSUPPORT),
    };
    v4.is_ok() && v6_free
}

/// The ports the kernel picks for outgoing connections
/// (`/proc/sys/net/ipv4/ip_local_port_range`; Linux's default if unreadable).
fn ephemeral_range() -> RangeInclusive<u16> {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = text
        .split_whitespace()
        .filter_map(|w| w.parse::<u16>().ok());
    match (bounds.next(), bounds.next()) {
        (Some(low), Some(high)) => low..=high,
        _ => 32768..=60999,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_port_can_be_told_from_its_swap() {
        for _ in 0..20 {
            let p = for_server().unwrap();
            assert_ne!(p >> 8, p & 0xff, "{p}: the two bytes differ");
            assert!(swapped(p) >= 1024 && p >= 1024);
            assert!(!ephemeral_range().contains(&p));
        }
    }

    #[test]
    fn a_port_in_use_is_not_free() {
        let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        assert!(!free(listener.local_addr().unwrap().port()));
    }

    #[test]
    fn the_client_socket_is_bound_where_it_says() {
        let (socket, port) = client_socket().unwrap();
        let local = socket.local_addr().unwrap().as_socket().unwrap();
        assert_eq!(local, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        assert_ne!(port, swapped(port));
    }
}
