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
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only calls _exit, which is async-signal-safe.
        let result = unsafe { sigaction(signal, &action) }
            .map(drop)
            .map_err(|errno| CallError::from_errno("sigaction", errno as i32));
        explain::outcome(
            || format!("sigaction({signal:?}, {{on_stop_signal}}, NULL)"),
            &result,
            |_| "0".into(),
            "Ctrl-C or kill: _exit(0), the kernel closes our sockets",
        );
        result?;
    }
    Ok(())
}
