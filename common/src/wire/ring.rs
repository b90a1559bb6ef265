//! The capture: a packet socket on `lo` with its filter, and the ring it fills.
//!
//! ```c
//! int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);          /* nothing yet   */
//! setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog); /* tcp only     */
//! int v = TPACKET_V2;
//! setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v);
//! struct tpacket_req req = { 4096, BLOCKS, 256, BLOCKS * 16 };
//! setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req);
//! void *ring = mmap(NULL, 4096 * BLOCKS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
//! struct sockaddr_ll lo = { AF_PACKET, htons(ETH_P_ALL), if_nametoindex("lo") };
//! bind(fd, (struct sockaddr *)&lo, sizeof lo);                     /* now it counts */
//! ```
//!
//! See `packet(7)` and the kernel's `Documentation/networking/packet_mmap.rst`.
//!
//! Why these choices:
//! - protocol 0 at `socket`: the socket receives nothing until `bind` names a
//!   protocol, so no frame slips in before the filter is attached, nor from another
//!   interface before the socket is bound to `lo`;
//! - a ring (`PACKET_RX_RING`) rather than `recvfrom`: the kernel writes each frame
//!   and its timestamp into memory shared with us, so looking for new segments after
//!   every call costs no system call at all, and each frame carries the time it was
//!   captured even when nothing asked the kernel for timestamps (`SO_TIMESTAMPNS`
//!   turns them on for the whole system only after a delay, and a frame stamped 0 gets
//!   the time it is *read*, which would put it in the wrong call);
//! - 256-byte frames: the filter keeps 128 bytes of each (the headers), the frame
//!   header and the link-layer address take the rest;
//! - the kernel counts the frames it had to drop because the ring was full
//!   (`PACKET_STATISTICS`), and marks the next frame (`TP_STATUS_LOSING`) so we know
//!   when to ask.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::filter::Watch;
use super::packet::{parse_ethernet, Segment};
use crate::error::CallError;

/// One page per block, 16 frames of 256 bytes in each.
const BLOCK_SIZE: usize = 4096;
const FRAME_SIZE: usize = 256;

/// Where the `struct sockaddr_ll` sits in a frame: after the `tpacket2_hdr`, aligned.
const SLL_OFFSET: usize = 32;

/// A segment and when it was captured (nanoseconds since the epoch, `CLOCK_REALTIME`).
#[derive(Debug, Clone)]
pub struct Captured {
    /// The frame's capture time.
    pub at: u64,
    /// What it carried.
    pub segment: Segment,
}

/// A packet socket bound to `lo` and its receive ring.
#[derive(Debug)]
pub struct Ring {
    fd: OwnedFd,
    map: NonNull<u8>,
    frames: usize,
    next: usize,
}

// SAFETY: the mapping belongs to this value alone (nothing else holds its address)
// and is only read or written through `&mut self`; moving it to another thread is as
// safe as moving a Vec.
unsafe impl Send for Ring {}

impl Ring {
    /// Open a capture of `lo` keeping what `watch` selects, in a ring of
    /// `blocks * 16` frames.
    ///
    /// # Errors
    ///
    /// `socket` (exit 1): `EPERM` without `CAP_NET_RAW` (the message gives the recipe
    /// without root), `EAFNOSUPPORT` without packet sockets. `setsockopt`, `mmap`,
    /// `if_nametoindex`, `bind` (all exit 1): `ENOMEM`, `ENODEV`.
    pub fn open(watch: &Watch, blocks: usize) -> Result<Ring, CallError> {
        // SAFETY: plain socket(2); a returned fd >= 0 is new and ours alone.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw == -1 {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            return Err(match errno {
                libc::EPERM | libc::EACCES => no_capability(errno),
                _ => CallError::from_errno("socket", errno),
            });
        }
        // SAFETY: raw was just returned by socket(2) and nothing else owns it.
        let fd = move_up(unsafe { OwnedFd::from_raw_fd(raw) });
        attach(&fd, watch)?;
        set_int(
            &fd,
            libc::PACKET_VERSION,
            libc::tpacket_versions::TPACKET_V2 as libc::c_int,
        )?;
        let request = libc::tpacket_req {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: blocks as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (blocks * BLOCK_SIZE / FRAME_SIZE) as u32,
        };
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &request)?;
        let len = blocks * BLOCK_SIZE;
        // SAFETY: a fresh shared mapping of the ring the kernel just allocated for fd;
        // the length is the ring's.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(CallError::last_os_error("mmap"));
        }
        let ring = Ring {
            fd,
            map: NonNull::new(map.cast())
                .ok_or_else(|| CallError::from_errno("mmap", libc::EINVAL))?,
            frames: len / FRAME_SIZE,
            next: 0,
        };
        ring.bind_lo()?;
        Ok(ring)
    }

    /// Replace the filter: from now on the kernel keeps what `watch` selects.
    /// Frames already in the ring stay; the caller filters those again.
    ///
    /// # Errors
    ///
    /// `setsockopt` (exit 1): `ENOMEM`.
    pub fn set_filter(&self, watch: &Watch) -> Result<(), CallError> {
        attach(&self.fd, watch)
    }

    /// Take every frame the kernel has handed over, oldest first, into `out`.
    /// Returns true if the kernel marked one as following a loss (then ask [`Ring::lost`]).
    pub fn drain(&mut self, out: &mut Vec<Captured>) -> bool {
        let mut losing = false;
        loop {
            let frame = self.frame(self.next);
            let status = frame_status(frame);
            // SAFETY: the status word is the first field of the frame's header, 4-byte
            // aligned in the mapping; the kernel writes it too, hence the atomic.
            let current = unsafe { (*status).load(Ordering::Acquire) };
            if current & libc::TP_STATUS_USER == 0 {
                return losing;
            }
            losing |= current & libc::TP_STATUS_LOSING != 0;
            if let Some(captured) = read_frame(frame) {
                out.push(captured);
            }
            // Give the frame back to the kernel.
            // SAFETY: as above.
            unsafe { (*status).store(libc::TP_STATUS_KERNEL, Ordering::Release) };
            self.next = (self.next + 1) % self.frames;
        }
    }

    /// How many frames the kernel dropped since the last time it was asked (the ring
    /// was full); asking resets the count.
    ///
    /// # Errors
    ///
    /// `getsockopt` (exit 1).
    pub fn lost(&self) -> Result<u32, CallError> {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: stats is a writable tpacket_stats and len its size.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut stats).cast(),
                &mut len,
            )
        };
        if rc == -1 {
            return Err(CallError::last_os_error("getsockopt"));
        }
        Ok(stats.tp_drops)
    }

    /// Wait up to `ms` milliseconds for a frame; true if one is there.
    pub fn wait(&self, ms: i32) -> bool {
        let mut pollfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pollfd, 1, ms) > 0 }
    }

    /// The address of frame `index` in the mapping.
    fn frame(&self, index: usize) -> *mut u8 {
        // SAFETY: index < frames, so the offset stays inside the mapping.
        unsafe { self.map.as_ptr().add(index * FRAME_SIZE) }
    }

    fn bind_lo(&self) -> Result<(), CallError> {
        const LO: &CStr = c"lo";
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(LO.as_ptr()) };
        if ifindex == 0 {
            return Err(CallError::last_os_error("if_nametoindex"));
        }
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid start.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        address.sll_ifindex = ifindex as i32;
        // SAFETY: address is a valid sockaddr_ll of the size passed.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&raw const address).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc == -1 {
            return Err(CallError::last_os_error("bind"));
        }
        Ok(())
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in open, of that length, unmapped once; the fd
        // closes after (OwnedFd). In a forked child this unmaps the child's view only.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.frames * FRAME_SIZE) };
    }
}

/// The frame's status word.
fn frame_status(frame: *mut u8) -> *const AtomicU32 {
    frame.cast::<AtomicU32>()
}

/// The segment in a frame the kernel handed over, if it is one (and was sent, not
/// received: `lo` shows each frame both ways; the filter keeps the outgoing copy, and
/// this checks again).
fn read_frame(frame: *mut u8) -> Option<Captured> {
    // SAFETY: the kernel handed the frame over (TP_STATUS_USER); it does not write
    // to it until we give it back, and the header lies inside the frame.
    let header = unsafe { std::ptr::read(frame.cast::<libc::tpacket2_hdr>()) };
    // SAFETY: the sockaddr_ll follows the header inside the frame.
    let address =
        unsafe { std::ptr::read_unaligned(frame.add(SLL_OFFSET).cast::<libc::sockaddr_ll>()) };
    if address.sll_pkttype != libc::PACKET_OUTGOING {
        return None;
    }
    let start = usize::from(header.tp_mac);
    let len = header.tp_snaplen as usize;
    if start.checked_add(len)? > FRAME_SIZE {
        return None;
    }
    // SAFETY: start + len lies within the frame (checked above).
    let bytes = unsafe { std::slice::from_raw_parts(frame.add(start), len) };
    let segment = parse_ethernet(bytes, header.tp_len as usize).ok()?;
    Some(Captured {
        at: u64::from(header.tp_sec) * 1_000_000_000 + u64::from(header.tp_nsec),
        segment,
    })
}

/// The capture's descriptor moved to 100 or above (`fcntl(F_DUPFD_CLOEXEC)`), so the
/// program's own descriptors keep the numbers they have without `--wire` (3 for the
/// first socket, as in the C). If that fails, the capture keeps the one it has.
fn move_up(fd: OwnedFd) -> OwnedFd {
    const FIRST: libc::c_int = 100;
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own; a result >= 0 is a new one.
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, FIRST) };
    if high == -1 {
        return fd;
    }
    // SAFETY: high was just returned by fcntl and nothing else owns it; the original
    // closes when `fd` drops here.
    unsafe { OwnedFd::from_raw_fd(high) }
}

/// Attach `watch`'s BPF program.
fn attach(fd: &OwnedFd, watch: &Watch) -> Result<(), CallError> {
    let mut program = watch.program();
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}

fn set_int(fd: &OwnedFd, option: libc::c_int, value: libc::c_int) -> Result<(), CallError> {
    setsockopt(fd, libc::SOL_PACKET, option, &value)
}

/// `setsockopt(fd, level, option, value, sizeof *value)`.
fn setsockopt<T>(
    fd: &OwnedFd,
    level: libc::c_int,
    option: libc::c_int,
    value: &T,
) -> Result<(), CallError> {
    // SAFETY: value points to a T of the size passed; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            option,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == -1 {
        return Err(CallError::last_os_error("setsockopt"));
    }
    Ok(())
}

/// The error without `CAP_NET_RAW`: what is missing, and the recipe without root.
fn no_capability(errno: i32) -> CallError {
    CallError::with_message(
        "socket",
        format!(
            "{} (--wire captures packets: that needs CAP_NET_RAW)\n\
             without root, start a shell in a network namespace of your own, where you \
             have it, and run the programs there:\n  {RECIPE}",
            crate::error::strerror(errno)
        ),
    )
}

/// One line to paste: a user and network namespace (`unshare -rn`), its loopback up,
/// a shell in it. `ip` lives in `/usr/sbin` on Debian, outside a user's `PATH`.
pub const RECIPE: &str =
    "unshare -rn sh -c 'PATH=$PATH:/usr/sbin:/sbin; ip link set lo up && exec \"${SHELL:-sh}\"'";
