//! The daemon's main loop: step04's accept-and-fork, woken by the self-pipe for
//! SIGHUP (reload) and SIGTERM/SIGINT (stop).
//!
//! step04 blocks in `accept`. A daemon must also notice signals at once, without the
//! race of a flag checked before blocking, so it waits in `poll` on two descriptors:
//! the listening socket and the read end of the self-pipe its handlers write to.

use std::path::Path;
use std::time::{Duration, Instant};

use common::backoff::AcceptErrors;
use common::pidfile::PidFile;
use common::process::{_exit, fork, ForkResult, Pid};
use common::signals::SignalPipe;
use common::sockaddr::SockaddrIn;
use common::socket::{
    accept, bind, close, getsockname, listen, set_nonblocking, setsockopt_reuseaddr, socket,
};
use common::{diag, CallError};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::{umask, Mode};
use socket2::{Domain, Socket, Type};
use step04_respond::reaper::{child_started, children_alive};
use step04_respond::session::{refuse, serve_client};

use crate::config::{Overrides, Settings};

/// The signals the self-pipe carries: SIGHUP reloads, SIGTERM and SIGINT stop.
pub const STOP_AND_RELOAD: &[Signal] = &[Signal::SIGHUP, Signal::SIGTERM, Signal::SIGINT];

/// Beyond the slides: the listen queue. Slide 50's 10 overflows as soon as clients
/// connect faster than the parent forks (a burst of 300 connections from one script
/// loses 1 s to a SYN retransmission every ~11 connections, `nstat` counts them as
/// `ListenOverflows`). A daemon asks for the system's maximum; the kernel caps it at
/// `net.core.somaxconn`.
const QLEN: i32 = libc::SOMAXCONN;

/// How long a stopping daemon lets its children finish before it sends them SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

/// A started daemon: what the main loop works with.
pub struct Daemon {
    /// The listening socket (non-blocking: `poll` says when to accept).
    pub listening: Socket,
    /// Where it listens.
    pub address: SockaddrIn,
    /// The self-pipe of SIGHUP, SIGTERM and SIGINT.
    pub signals: SignalPipe,
    /// The locked pid file, removed on the way out.
    pub pid_file: PidFile,
    /// Pids of the children forked, to stop the stragglers at the end.
    pub children: Vec<Pid>,
}

/// socket, setsockopt, bind, listen (as in step04), and say where.
///
/// Differs from step04: the socket is non-blocking, because `poll` may report a
/// connection that the client has already abandoned; `accept` then fails with
/// `EAGAIN` instead of blocking the whole daemon.
pub fn open_listening(settings: &Settings) -> Result<(Socket, SockaddrIn), CallError> {
    let fd = socket(Domain::IPV4, Type::STREAM)?;
    setsockopt_reuseaddr(&fd)?;
    bind(&fd, &SockaddrIn::new(settings.bind, settings.port))?;
    listen(&fd, QLEN)?;
    let address = getsockname(&fd)?;
    set_nonblocking(&fd)?;
    Ok((fd, address))
}

/// Serve until SIGTERM or SIGINT; then stop gracefully.
pub fn serve(
    mut daemon: Daemon,
    config: Option<&Path>,
    overrides: &Overrides,
    mut settings: Settings,
) -> Result<(), CallError> {
    let mut accept_errors = AcceptErrors::new();
    loop {
        // Wait for a client or a signal, whichever comes first
        let (client_waiting, signals) = daemon.signals.wait(&daemon.listening)?;
        for signal in signals {
            if signal == Signal::SIGHUP {
                reload(&mut daemon, config, overrides, &mut settings);
            } else {
                diag::report(&format!("received {signal}: stopping"));
                return stop(daemon);
            }
        }
        if !client_waiting {
            continue;
        }

        // accept, then as in step04: busy, or fork a child for this client
        let (connectionfd, client_address) = match accept(&daemon.listening) {
            Ok(accepted) => {
                accept_errors.succeeded();
                accepted
            }
            Err(err) if err.errno() == Some(Errno::EAGAIN) => continue,
            Err(err) => {
                accept_errors.failed(&err);
                continue;
            }
        };
        if children_alive() >= settings.max_clients as isize {
            refuse(connectionfd);
            continue;
        }
        let timeout = (settings.timeout > 0).then(|| Duration::from_secs(settings.timeout));
        // SAFETY: this program is single-threaded.
        match unsafe { fork() } {
            Err(err) => {
                diag::error(&err.to_string());
                refuse(connectionfd);
            }
            Ok(ForkResult::Child) => {
                // The child needs none of the parent's descriptors, and SIGTERM must end
                // it rather than wake a loop it does not run.
                let _ = daemon.signals.release_in_child(STOP_AND_RELOAD);
                daemon.pid_file.forget_in_child();
                let _ = close(daemon.listening);
                _exit(serve_client(connectionfd, timeout));
            }
            Ok(ForkResult::Parent { child }) => {
                child_started();
                remember(&mut daemon.children, child, settings.max_clients);
                diag::report(&format!("Connection from: {client_address} (pid {child})"));
                close(connectionfd)?;
            }
        }
    }
}

/// SIGHUP: read the configuration again and apply it; on any error keep the old one.
fn reload(
    daemon: &mut Daemon,
    config: Option<&Path>,
    overrides: &Overrides,
    settings: &mut Settings,
) {
    let mut new = match Settings::load(config, overrides) {
        Ok(new) => new,
        Err(err) => {
            diag::error(&format!("{err}; keeping the old configuration"));
            return;
        }
    };
    if (new.port, new.bind) != (settings.port, settings.bind) {
        // A changed address: listen there first, close the old socket only then.
        match open_listening(&new) {
            Ok((listening, address)) => {
                let old = std::mem::replace(&mut daemon.listening, listening);
                let _ = close(old);
                daemon.address = address;
                diag::report(&format!("listening on {address}"));
            }
            Err(err) => {
                diag::error(&format!("{err}; still listening on {}", daemon.address));
                new.port = settings.port;
                new.bind = settings.bind;
            }
        }
    }
    if new.pid_file != settings.pid_file || new.log != settings.log {
        diag::error("reload: pid_file and log take effect at the next start");
        new.pid_file = settings.pid_file.clone();
        new.log = settings.log;
    }
    umask(Mode::from_bits_truncate(new.umask));
    *settings = new;
    diag::report("reloaded configuration");
}

/// SIGTERM: stop accepting, let the children finish (up to [`GRACE`]), then stop the
/// stragglers, remove the pid file.
fn stop(daemon: Daemon) -> Result<(), CallError> {
    let Daemon {
        listening,
        pid_file,
        mut children,
        ..
    } = daemon;
    // New clients are refused by the kernel from now on.
    let _ = close(listening);
    let deadline = Instant::now() + GRACE;
    while children_alive() > 0 && Instant::now() < deadline {
        // No event says "the last child is gone" (SIGCHLD is handled by the reaper),
        // so look again shortly; this runs once, at the very end.
        std::thread::sleep(Duration::from_millis(20));
    }
    children.retain(|&pid| is_our_child(pid));
    if !children.is_empty() {
        diag::report(&format!(
            "{} children still busy: sending SIGTERM",
            children.len()
        ));
        for &pid in &children {
            let _ = kill(pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while children_alive() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    pid_file.remove();
    diag::report("stopped");
    Ok(())
}

/// Keep the pid of a new child; forget the ones already gone when the list grows past
/// twice the limit, so a long-running daemon's list stays short.
fn remember(children: &mut Vec<Pid>, child: Pid, max_clients: u32) {
    children.push(child);
    if children.len() > 2 * max_clients as usize {
        children.retain(|&pid| is_our_child(pid));
    }
}

/// True if `pid` is a child of ours that has not been reaped. `waitid` with `WNOWAIT`
/// asks without reaping; it fails with `ECHILD` for a pid that is not our child (any
/// more), so a reused pid of some other process is never signalled.
fn is_our_child(pid: Pid) -> bool {
    // SAFETY: siginfo_t is plain old data; waitid fills it in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let call = common::explain::begin();
    // SAFETY: a valid siginfo_t pointer; WNOHANG keeps the call from blocking.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid.as_raw() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    let result = if rc == -1 {
        Err(CallError::last_os_error("waitid"))
    } else {
        Ok(())
    };
    call.outcome(
        || format!("waitid(P_PID, {pid}, …, WNOHANG|WEXITED|WNOWAIT, NULL)"),
        &result,
        |()| "0".into(),
        "still our child? (asks without reaping)",
    );
    rc == 0
}
