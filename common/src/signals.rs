//! Ctrl-C (`SIGINT`) and `SIGTERM` end a server cleanly, with exit status 0.
//!
//! Beyond the slides: by default these signals kill the process on the spot. The
//! servers install a handler instead (`sigaction`, slide 46) that only sets a flag.
//! It is installed *without* `SA_RESTART` on purpose, so a server blocked in
//! `accept` or `recv` is woken with `EINTR`, sees the flag, closes its sockets and
//! returns 0. (With `SA_RESTART`, the kernel would restart `accept` and the flag
//! would only be seen after the next client.)

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::CallError;
use crate::explain;

/// Set by the handler; read by the main loop. The only state a handler touches.
static STOP: AtomicBool = AtomicBool::new(false);

/// The handler for SIGINT and SIGTERM. Async-signal-safe: one atomic store, nothing else
/// (no printing, no allocation).
extern "C" fn on_stop_signal(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Install the stop handler for `SIGINT` and `SIGTERM`, without `SA_RESTART`.
///
/// ```c
/// static volatile sig_atomic_t stop = 0;
/// static void on_stop_signal(int sig) { (void)sig; stop = 1; }
///
/// struct sigaction sa;
/// sa.sa_handler = on_stop_signal;
/// sigemptyset(&sa.sa_mask);
/// sa.sa_flags = 0;                 /* no SA_RESTART: let accept() fail with EINTR */
/// sigaction(SIGINT, &sa, NULL);
/// sigaction(SIGTERM, &sa, NULL);
/// ```
///
/// See `sigaction(2)`, `signal(7)`. After this, a blocking call returns `EINTR` when
/// either signal arrives; check [`stop_requested`] and leave.
///
/// # Errors
///
/// `sigaction` (exit 5): `EINVAL`, which cannot happen for these two signals.
///
/// ```
/// common::signals::install_stop_handlers().unwrap();
/// assert!(!common::signals::stop_requested());
/// ```
pub fn install_stop_handlers() -> Result<(), CallError> {
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let result = unsafe { sigaction(signal, &action) }
            .map(drop)
            .map_err(|errno| CallError::from_errno("sigaction", errno as i32));
        explain::outcome(
            || format!("sigaction({signal:?}, {{on_stop_signal, flags=0}}, NULL)"),
            &result,
            |_| "0".into(),
            "no SA_RESTART: a blocked accept/recv returns EINTR",
        );
        result?;
    }
    Ok(())
}

/// True once SIGINT or SIGTERM has arrived.
///
/// ```c
/// if (errno == EINTR && stop) { close(fd); return 0; }
/// ```
///
/// ```
/// assert!(!common::signals::stop_requested());
/// ```
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// `accept`, waiting again after an unrelated signal; `None` once SIGINT or SIGTERM
/// has arrived.
///
/// ```c
/// for (;;) {
///     addrlen = sizeof remAddress;
///     connectionfd = accept(fd, (struct sockaddr *)&remAddress, &addrlen);
///     if (connectionfd != -1) break;
///     if (errno == EINTR && stop) { close(fd); return 0; }
///     if (errno == EINTR) continue;
///     perror("accept"); exit(4);
/// }
/// ```
///
/// Policy, stated here because a wrapper must not hide it: `EINTR` is retried unless
/// [`stop_requested`]; every other error is returned. Needs
/// [`install_stop_handlers`] first, or Ctrl-C simply kills the process.
///
/// # Errors
///
/// `accept` (exit 4): `EMFILE`, `ENFILE`, `ECONNABORTED`, …
///
/// ```no_run
/// # fn serve(fd: socket2::Socket) -> Result<(), common::CallError> {
/// let Some((connectionfd, rem_address)) = common::signals::accept_or_stop(&fd)? else {
///     return common::socket::close(fd); // stopped: exit 0
/// };
/// # Ok(()) }
/// ```
pub fn accept_or_stop(
    fd: &socket2::Socket,
) -> Result<Option<(socket2::Socket, crate::sockaddr::SockaddrIn)>, CallError> {
    loop {
        match crate::socket::accept(fd) {
            Ok(accepted) => return Ok(Some(accepted)),
            Err(e) if e.is_interrupted() && stop_requested() => return Ok(None),
            Err(e) if e.is_interrupted() => continue,
            Err(e) => return Err(e),
        }
    }
}
