//! `--wire`: the TCP segments of the program's own connections, as they cross `lo`.
//!
//! ```text
//! connect(3, {127.0.0.1:1234}, 16) …
//!     IP 127.0.0.1.42426 > 127.0.0.1.1234: Flags [S], seq 0, win 65495, length 0
//!     IP 127.0.0.1.1234 > 127.0.0.1.42426: Flags [S.], seq 0, ack 1, win 65483, length 0
//!     IP 127.0.0.1.42426 > 127.0.0.1.1234: Flags [.], ack 1, win 512, length 0
//! connect(3, {127.0.0.1:1234}, 16) = 0
//! ```
//!
//! No C counterpart in the lecture: `tcpdump -i lo` in a root shell is the C
//! programmer's wire view. Here the program captures its own traffic, so each segment
//! can be printed inside the call that put it on the wire (or during which it
//! arrived).
//!
//! How (the modules, bottom up): [`packet`] reads a frame's headers by hand,
//! [`tcpdump`] prints a segment, [`filter`] is the kernel's BPF program that keeps
//! only our segments, [`ring`] the packet socket and the ring it fills.
//!
//! When: [`start`] opens the capture before the program's first socket, keeping all
//! TCP; the socket wrappers narrow it to the program's ports as soon as they are known
//! (after `bind` or `getsockname` for a server, before `connect` for a client, then to
//! the connection once `connect` returned). Every narrated call ([`explain::begin`])
//! reads the clock, takes the frames the kernel has put in the ring, and prints those
//! captured before the call as lines of their own; after the call it reads the clock
//! again and prints, inside the call's narration, those captured in between. The
//! frames carry the kernel's capture time, so a segment is printed in the call during
//! which it crossed the wire, whatever the order they are read in. [`finish`] (at
//! exit) waits briefly for the last ones.
//!
//! A forking server: a segment is printed by the process in whose call it was captured.
//! The parent and its children must not share one capture (each would take the others'
//! frames), so the fork wrapper opens, just before `fork`, a second capture for the
//! connection just accepted, filtered to its two ports; the child keeps that one and
//! closes its copy of the parent's, the parent closes the second and from then on
//! leaves that connection out: in the kernel (its filter drops the client's port)
//! and in what it had already captured (anything after the second capture opened).
//! Limits: the parent forgets a handed-off connection only when it forks again and
//! finds that child gone, so a new client that reuses the port of a child that has
//! just ended may have the last ACK of its handshake dropped by the parent's filter
//! (the SYNs still show); and a child that ends through `_exit` waits for its last
//! segments, one that a signal kills does not.
//!
//! [`explain::begin`]: crate::explain::begin

pub mod filter;
pub mod packet;
pub mod ring;
pub mod tcpdump;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::CallError;
use filter::Watch;
use ring::{Captured, Ring};
use tcpdump::Tcpdump;

/// The parent's ring: 256 blocks of 16 frames, 1 MiB, 4096 segments between two calls.
const BLOCKS: usize = 256;
/// A child's ring, for one connection: 256 KiB, 1024 segments.
const CHILD_BLOCKS: usize = 64;
/// At exit, stop waiting once no segment came for this long: a delayed ACK leaves
/// within 40 ms (Linux's `TCP_DELACK_MIN`).
const LINGER_MS: i32 = 50;
/// ... and stop anyway after this many quiet-or-not periods.
const LINGER_ROUNDS: usize = 10;
/// Connections handed to children that the parent's filter leaves out, at most.
const MAX_HANDED_OFF: usize = 64;

/// On once [`start`] succeeded (and off again after [`finish`]).
static ON: AtomicBool = AtomicBool::new(false);

/// The capture and what has been captured but not printed yet.
static WIRE: Mutex<Option<Wire>> = Mutex::new(None);

struct Wire {
    ring: Ring,
    watch: Watch,
    /// Captured, not printed yet: after the current call's end, or read early.
    pending: Vec<Captured>,
    tcpdump: Tcpdump,
    /// Connections children serve: the parent prints none of their segments captured
    /// since `since` (the child has them).
    handed_off: Vec<HandedOff>,
    /// In a child: frames of its ring from before this moment were the parent's.
    since: u64,
    /// The last connection `accept` returned: the one a `fork` will hand over.
    accepted: Option<(SocketAddr, SocketAddr)>,
    /// The next child's capture, opened just before `fork`, and when.
    spare: Option<(Ring, (SocketAddr, SocketAddr), u64)>,
}

struct HandedOff {
    local: SocketAddr,
    peer: SocketAddr,
    since: u64,
    pid: libc::pid_t,
}

/// Start capturing: all TCP on `lo` for now. Call it before the program's first socket.
///
/// # Errors
///
/// `socket` (exit 1): without `CAP_NET_RAW`, a message naming it and a one-line
/// recipe that works without root; the other calls of [`Ring::open`].
///
/// ```no_run
/// # fn main() -> Result<(), common::CallError> {
/// common::wire::start()?; // as root, or in `unshare -rn`
/// # Ok(()) }
/// ```
pub fn start() -> Result<(), CallError> {
    let ring = Ring::open(&Watch::Tcp, BLOCKS)?;
    *lock() = Some(Wire {
        ring,
        watch: Watch::Tcp,
        pending: Vec::new(),
        tcpdump: Tcpdump::new(),
        handed_off: Vec::new(),
        since: 0,
        accepted: None,
        spare: None,
    });
    ON.store(true, Ordering::SeqCst);
    // Returning from main calls exit(3), which runs this: the last segments are
    // printed before the process ends.
    // SAFETY: at_exit is an extern "C" fn that never unwinds.
    unsafe { libc::atexit(at_exit) };
    Ok(())
}

/// True while capturing.
///
/// ```
/// assert!(!common::wire::enabled());
/// ```
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The time now, as the kernel stamps frames: nanoseconds since the epoch
/// (`clock_gettime(CLOCK_REALTIME)`, a vDSO call, no system call).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The tcpdump lines of our segments captured up to `until`, in the order they
/// crossed the wire; later ones wait for the next call.
pub(crate) fn take_until(until: u64) -> Vec<String> {
    let mut guard = lock();
    let Some(wire) = guard.as_mut() else {
        return Vec::new();
    };
    wire.collect();
    // Until a port is known the program has no connection: what the capture kept so
    // far is someone else's, or ours to be recognised once the port is known (a
    // client of a server bound to port 0 may connect before getsockname names it).
    if wire.watch == Watch::Tcp {
        return Vec::new();
    }
    // Most calls put nothing on the wire: no allocation then.
    if wire.pending.first().is_none_or(|c| c.at > until) {
        return Vec::new();
    }
    let (now, later): (Vec<Captured>, Vec<Captured>) =
        wire.pending.drain(..).partition(|c| c.at <= until);
    wire.pending = later;
    let mut lines = Vec::new();
    for captured in now {
        if wire.keep(&captured) {
            lines.push(wire.tcpdump.line(&captured.segment));
        }
    }
    lines
}

/// A server's port is known (after `bind`, or `getsockname` after a bind to port 0),
/// or a client's server port (before `connect`): keep only segments to or from it
/// (and the other ports so watched).
pub(crate) fn watch_port(port: u16) {
    with(|wire| {
        match &mut wire.watch {
            Watch::Ports { ports, .. } if ports.contains(&port) => return,
            Watch::Ports { ports, .. } => ports.push(port),
            watch => {
                *watch = Watch::Ports {
                    ports: vec![port],
                    handed_off: Vec::new(),
                }
            }
        }
        wire.refilter();
    });
}

/// A client's connection is up: keep only its segments.
pub(crate) fn watch_connection(local: SocketAddr, peer: SocketAddr) {
    with(|wire| {
        wire.watch = Watch::Connection(local, peer);
        wire.refilter();
    });
}

/// `accept` returned this connection; a `fork` may hand it to a child.
pub(crate) fn accepted(local: SocketAddr, peer: SocketAddr) {
    with(|wire| wire.accepted = Some((local, peer)));
}

/// Just before `fork`: open the capture the child will keep, for the connection
/// accepted last (if any).
pub(crate) fn before_fork() {
    with(|wire| {
        let Some(connection) = wire.accepted.take() else {
            return;
        };
        match Ring::open(&Watch::Connection(connection.0, connection.1), CHILD_BLOCKS) {
            // Frames stamped from now on are in both captures: the child's from here.
            Ok(ring) => wire.spare = Some((ring, connection, now())),
            // The first line only: a server that dropped privileges (--user) has lost
            // CAP_NET_RAW, and the recipe that follows is for the command line.
            Err(err) => warn(&format!(
                "no capture for the child: {}",
                err.to_string().lines().next().unwrap_or("")
            )),
        }
    });
}

/// In the child, right after `fork`: keep the connection's capture, drop the parent's.
pub(crate) fn in_child() {
    let mut guard = lock();
    let Some(wire) = guard.as_mut() else {
        return;
    };
    match wire.spare.take() {
        Some((ring, (local, peer), since)) => {
            // Dropping the parent's Ring here unmaps our view and closes our copy of
            // its descriptor; the parent's capture goes on.
            wire.ring = ring;
            wire.watch = Watch::Connection(local, peer);
            wire.since = since;
            // What the parent captured and has not printed, it prints.
            wire.pending.clear();
            wire.handed_off.clear();
        }
        None => {
            // No capture of our own (a fork without a connection, or it failed to
            // open): print nothing rather than take the parent's frames.
            *guard = None;
            ON.store(false, Ordering::SeqCst);
        }
    }
}

/// In the parent, right after `fork` (`None`: it failed): the child has the
/// connection now.
pub(crate) fn in_parent(child: Option<libc::pid_t>) {
    with(|wire| {
        let Some((ring, (local, peer), since)) = wire.spare.take() else {
            return;
        };
        drop(ring);
        let Some(child) = child else {
            return;
        };
        wire.handed_off.retain(|h| child_alive(h.pid));
        if wire.handed_off.len() >= MAX_HANDED_OFF {
            wire.handed_off.remove(0);
        }
        wire.handed_off.push(HandedOff {
            local,
            peer,
            since,
            pid: child,
        });
        wire.refilter();
    });
}

/// Print the last segments (waiting up to [`LINGER_MS`] for each more), say if any
/// were lost, and stop capturing. Called at exit, and by `_exit` in a child.
pub fn finish() {
    if !enabled() {
        return;
    }
    for _ in 0..LINGER_ROUNDS {
        print_segments(take_until(now()));
        let waiting = lock().as_ref().is_some_and(|w| w.ring.wait(LINGER_MS));
        if !waiting {
            break;
        }
    }
    print_segments(take_until(u64::MAX));
    ON.store(false, Ordering::SeqCst);
    *lock() = None;
}

extern "C" fn at_exit() {
    finish();
}

/// Print segment lines as free-standing lines (between calls, or at the end).
pub(crate) fn print_segments(lines: Vec<String>) {
    for line in lines {
        crate::explain::emit(&format!("    {line}"));
    }
}

impl Wire {
    /// Move what the kernel captured into `pending`, in capture order; report losses.
    fn collect(&mut self) {
        let before = self.pending.len();
        let losing = self.ring.drain(&mut self.pending);
        let since = self.since;
        self.pending.retain(|c| c.at >= since);
        // The ring is in delivery order; capture times can differ by a hair (two CPUs).
        if self.pending.len() > before {
            self.pending.sort_by_key(|c| c.at);
        }
        if losing {
            if let Ok(lost) = self.ring.lost() {
                if lost > 0 {
                    warn(&format!(
                        "{lost} segments not shown: the capture's ring was full"
                    ));
                }
            }
        }
    }

    /// Is this segment ours to print: watched, and not of a connection handed to a
    /// child (a new SYN on the same ports is a new connection: ours again)?
    fn keep(&mut self, captured: &Captured) -> bool {
        let segment = &captured.segment;
        let of = |h: &HandedOff| {
            (segment.src == h.peer && segment.dst == h.local)
                || (segment.src == h.local && segment.dst == h.peer)
        };
        if let Some(at) = self.handed_off.iter().position(of) {
            if captured.at < self.handed_off[at].since {
                return self.watch.matches(segment);
            }
            if segment.flags & packet::flags::SYN == 0 {
                return false;
            }
            self.handed_off.remove(at);
            self.refilter();
        }
        self.watch.matches(segment)
    }

    /// Tell the kernel the current watch, with the ports of the children's clients.
    fn refilter(&mut self) {
        if let Watch::Ports { handed_off, .. } = &mut self.watch {
            *handed_off = self.handed_off.iter().map(|h| h.peer.port()).collect();
        }
        if let Err(err) = self.ring.set_filter(&self.watch) {
            warn(&format!("the capture's filter: {err}"));
        }
    }
}

/// Is `pid` a child of ours that has not exited? `waitid` with `WNOWAIT` asks without
/// reaping (the SIGCHLD handler still does that).
fn child_alive(pid: libc::pid_t) -> bool {
    // SAFETY: siginfo_t is plain old data; waitid fills it in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid siginfo_t; WNOHANG keeps it from blocking.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled si_pid in (0 when the child is still running).
    rc == 0 && unsafe { info.si_pid() } == 0
}

/// A problem with the capture itself: one line, the program goes on.
fn warn(text: &str) {
    crate::explain::emit(&format!("--wire: {text}"));
}

fn with(f: impl FnOnce(&mut Wire)) {
    if let Some(wire) = lock().as_mut() {
        f(wire);
    }
}

fn lock() -> MutexGuard<'static, Option<Wire>> {
    WIRE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
