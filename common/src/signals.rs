//! Ctrl-C (`SIGINT`) and `SIGTERM` end a server with exit status 0.
//!
//! Beyond the slides: by default these signals kill the process, and the shell
//! reports it as killed (status 130 or 143), which scripts read as a failure. The
//! servers of steps 01–03 have nothing to save or flush on the way out (everything
//! they print leaves through `write(2)` at once), so their handler simply ends the
//! process with `_exit(0)`; the kernel closes every descriptor, sockets included.
//!
//! Why not the textbook "set a flag, let the main loop see it"? Because a flag set
//! just *before* the loop blocks in `accept` is never looked at again: the signal
//! arrives after the check, the server sleeps in `accept` for ever. Closing that
//! window needs `pselect`/`ppoll` or the self-pipe trick (TLPI 63.5.2), which the
//! daemon in step05 uses. `_exit` has no window: it is async-signal-safe and acts
//! wherever the program happens to be.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::CallError;
use crate::explain;

/// The handler for SIGINT and SIGTERM. Async-signal-safe: `_exit(2)` is on the
/// POSIX list of functions a handler may call (`exit(3)` is not: it runs atexit
/// handlers and flushes stdio buffers, which the interrupted code may be using).
extern "C" fn on_stop_signal(_signal: libc::c_int) {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(0) }
}

/// Install the handler that ends the process with `_exit(0)` on `SIGINT` and `SIGTERM`.
///
/// ```c
/// static void on_stop_signal(int sig) { (void)sig; _exit(0); }
///
/// struct sigaction sa;
/// memset(&sa, 0, sizeof sa);
/// sa.sa_handler = on_stop_signal;
/// sigemptyset(&sa.sa_mask);
/// sigaction(SIGINT, &sa, NULL);
/// sigaction(SIGTERM, &sa, NULL);
/// ```
///
/// See `sigaction(2)`, `signal-safety(7)`.
///
/// # Errors
///
/// `sigaction` (exit 5): `EINVAL`, which cannot happen for these two signals.
///
/// ```
/// common::signals::install_stop_handlers().unwrap();
/// ```
pub fn install_stop_handlers() -> Result<(), CallError> {
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // The handler only calls _exit, which is async-signal-safe.
        set_handler(
            signal,
            (on_stop_signal, "on_stop_signal"),
            SaFlags::empty(),
            "Ctrl-C or kill: _exit(0), the kernel closes our sockets",
        )?;
    }
    Ok(())
}

/// `sigaction(signal, {handler, flags}, NULL)`, narrated, with the lecture's exit code 5
/// on failure. Every handler given here must be async-signal-safe.
fn set_handler(
    signal: Signal,
    (handler, name): (extern "C" fn(libc::c_int), &str),
    flags: SaFlags,
    why: &str,
) -> Result<(), CallError> {
    let action = SigAction::new(SigHandler::Handler(handler), flags, SigSet::empty());
    let call = explain::begin();
    // SAFETY: the callers pass only async-signal-safe handlers (each says why).
    let result = unsafe { sigaction(signal, &action) }
        .map(drop)
        .map_err(|errno| CallError::from_errno("sigaction", errno as i32));
    call.outcome(
        || {
            let names: Vec<&str> = flags.iter_names().map(|(flag, _)| flag).collect();
            let flags = if names.is_empty() {
                "0".to_string()
            } else {
                names.join("|")
            };
            format!("rt_sigaction({signal:?}, {{{name}, {flags}}}, NULL, 8)")
        },
        &result,
        |_| "0".into(),
        why,
    );
    result
}

/// The write end of the current [`SignalPipe`], for the handler (-1: none).
static PIPE_WRITE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The self-pipe handler: write the signal's number into the pipe. Async-signal-safe:
/// `write(2)` and an atomic load; `errno` is saved and restored around the write.
extern "C" fn on_signal_to_pipe(signal: libc::c_int) {
    // SAFETY: this thread's errno, saved and restored around the write below.
    let saved_errno = unsafe { *libc::__errno_location() };
    let fd = PIPE_WRITE.load(std::sync::atomic::Ordering::SeqCst);
    if fd >= 0 {
        let byte = signal as u8;
        // SAFETY: one byte from a valid local; a full pipe (EAGAIN) loses nothing
        // that matters, a wake-up is already pending.
        unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved_errno };
}

/// Signals delivered as bytes on a pipe, so a `poll` loop sees them without a race:
/// the self-pipe trick (TLPI 63.5.2).
///
/// ```c
/// static int pipefd[2];                       /* pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) */
/// static void on_signal(int sig) {
///     int saved = errno;
///     unsigned char b = sig;
///     write(pipefd[1], &b, 1);
///     errno = saved;
/// }
/// /* main loop: poll({listening socket, pipefd[0]}); if pipefd[0] is readable, read
///  * the signal numbers and act on them. */
/// ```
///
/// A handler that only sets a flag leaves a window: a signal arriving after the loop
/// checked the flag and before it blocks in `accept` or `poll` waits for the next
/// client. A byte in a pipe that `poll` watches cannot be missed.
pub struct SignalPipe {
    read: std::os::fd::OwnedFd,
    write: std::os::fd::OwnedFd,
}

impl SignalPipe {
    /// Create the pipe and route `signals` into it (`SA_RESTART`, so other blocking
    /// calls are restarted; `poll` returns `EINTR` regardless, and the byte is there).
    ///
    /// # Errors
    ///
    /// `pipe2` (exit 1), `sigaction` (exit 5).
    ///
    /// ```
    /// use nix::sys::signal::Signal;
    /// let pipe = common::signals::SignalPipe::install(&[Signal::SIGUSR2]).unwrap();
    /// nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
    /// assert_eq!(pipe.take(), vec![Signal::SIGUSR2]);
    /// ```
    pub fn install(signals: &[Signal]) -> Result<SignalPipe, CallError> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe2 returns.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == -1 {
            return Err(CallError::last_os_error("pipe2"));
        }
        // SAFETY: both descriptors are new and owned by nobody else.
        let (read, write) = unsafe {
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        PIPE_WRITE.store(write.as_raw_fd(), std::sync::atomic::Ordering::SeqCst);
        for &signal in signals {
            // The handler only calls write(2) on a non-blocking pipe.
            set_handler(
                signal,
                (on_signal_to_pipe, "on_signal_to_pipe"),
                SaFlags::SA_RESTART,
                "the handler writes the signal number into the self-pipe",
            )?;
        }
        Ok(SignalPipe { read, write })
    }

    /// The read end, for `poll`.
    ///
    /// ```
    /// # let pipe = common::signals::SignalPipe::install(&[]).unwrap();
    /// let fd = pipe.fd();
    /// ```
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.read.as_fd()
    }

    /// Wait until `listening` has a client waiting or a signal arrived, whichever comes
    /// first: `poll` on the two descriptors. Returns `(client waiting, signals)`; both
    /// can be empty after an unrelated signal (SIGCHLD) interrupted the wait.
    ///
    /// ```c
    /// struct pollfd fds[2] = {{fd, POLLIN}, {pipefd[0], POLLIN}};
    /// poll(fds, 2, -1);
    /// ```
    ///
    /// # Errors
    ///
    /// `poll` (exit 1): `ENOMEM`, `EINVAL`; `EINTR` is not an error here.
    ///
    /// ```no_run
    /// # let pipe = common::signals::SignalPipe::install(&[]).unwrap();
    /// # let fd = common::socket::socket(socket2::Domain::IPV4, socket2::Type::STREAM).unwrap();
    /// let (client_waiting, signals) = pipe.wait(&fd).unwrap();
    /// ```
    pub fn wait(
        &self,
        listening: &impl std::os::fd::AsFd,
    ) -> Result<(bool, Vec<Signal>), CallError> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsRawFd;
        let watched = [listening.as_fd().as_raw_fd(), self.read.as_raw_fd()];
        let mut fds = [
            PollFd::new(listening.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.fd(), PollFlags::POLLIN),
        ];
        let call = explain::begin();
        let result = poll(&mut fds, PollTimeout::NONE)
            .map_err(|errno| CallError::from_errno("poll", errno as i32));
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        call.outcome(
            || {
                let [a, b] = watched;
                format!("poll([{{fd={a}, events=POLLIN}}, {{fd={b}, events=POLLIN}}], 2, -1)")
            },
            &result,
            |n| {
                let names: Vec<String> = fds
                    .iter()
                    .zip(watched)
                    .filter(|(fd, _)| ready(fd))
                    .map(|(_, raw)| format!("{{fd={raw}, revents=POLLIN}}"))
                    .collect();
                format!("{n} ([{}])", names.join(", "))
            },
            "wait for a client (the listening socket) or a signal (the self-pipe)",
        );
        match result {
            Ok(_) => {}
            Err(err) if err.is_interrupted() => return Ok((false, Vec::new())),
            Err(err) => return Err(err),
        }
        let client_waiting = ready(&fds[0]);
        let signals = if ready(&fds[1]) {
            self.take()
        } else {
            Vec::new()
        };
        Ok((client_waiting, signals))
    }

    /// The signals that arrived since the last call, oldest first (without waiting).
    ///
    /// ```
    /// # let pipe = common::signals::SignalPipe::install(&[]).unwrap();
    /// assert!(pipe.take().is_empty());
    /// ```
    pub fn take(&self) -> Vec<Signal> {
        let mut signals = Vec::new();
        let mut buffer = [0u8; 64];
        while let Ok(n @ 1..) = nix::unistd::read(&self.read, &mut buffer) {
            signals.extend(
                buffer[..n]
                    .iter()
                    .filter_map(|&b| Signal::try_from(i32::from(b)).ok()),
            );
        }
        signals
    }

    /// In a forked child: put `signals` back to their default action and close the
    /// pipe, so a SIGTERM sent to the child ends it instead of waking the parent.
    ///
    /// # Errors
    ///
    /// `sigaction` (exit 5).
    ///
    /// ```no_run
    /// # let pipe = common::signals::SignalPipe::install(&[]).unwrap();
    /// pipe.release_in_child(&[nix::sys::signal::Signal::SIGTERM]).unwrap();
    /// ```
    pub fn release_in_child(self, signals: &[Signal]) -> Result<(), CallError> {
        restore_defaults(signals)?;
        PIPE_WRITE.store(-1, std::sync::atomic::Ordering::SeqCst);
        drop(self.write);
        drop(self.read);
        Ok(())
    }
}

/// Put `signals` back to their default action (`SIG_DFL`).
///
/// ```c
/// signal(SIGTERM, SIG_DFL);
/// ```
///
/// # Errors
///
/// `sigaction` (exit 5): `EINVAL` for SIGKILL or SIGSTOP.
///
/// ```
/// common::signals::restore_defaults(&[nix::sys::signal::Signal::SIGUSR1]).unwrap();
/// ```
pub fn restore_defaults(signals: &[Signal]) -> Result<(), CallError> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for &signal in signals {
        // SAFETY: installing SIG_DFL runs no code of ours.
        unsafe { sigaction(signal, &default) }
            .map_err(|errno| CallError::from_errno("sigaction", errno as i32))?;
    }
    Ok(())
}
