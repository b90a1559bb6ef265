//! Reaping children: the SIGCHLD handler (slide 50) and the count of children alive.
//!
//! A child that has exited stays in the process table as a *zombie* until its parent
//! collects its exit status with `wait`/`waitpid`. A forking server that never waits
//! fills the table with zombies. The kernel sends SIGCHLD when a child ends; the handler
//! collects every child that has ended, and only those.

use std::sync::atomic::{AtomicIsize, Ordering};

use common::{explain, CallError};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Children alive: +1 after each successful `fork` (in the parent), -1 for each one
/// reaped (in the handler). Lock-free atomics are safe to touch from a handler. It can
/// dip to -1 for a moment, when a child ends before the parent has counted it.
static CHILDREN: AtomicIsize = AtomicIsize::new(0);

/// The SIGCHLD handler: reap every child that has exited, without blocking.
///
/// Slide bug: the slide's `while (wait(NULL) > 0);` blocks inside the handler for as
/// long as any *other* child is still running, so the parent stops accepting until
/// every client has left. `waitpid(-1, NULL, WNOHANG)` returns 0 at once when the
/// remaining children are alive; the loop matters because several children may end
/// while one SIGCHLD is pending (signals do not queue).
///
/// Only async-signal-safe work: `waitpid`, an atomic decrement, with `--explain` one
/// `write(2)` per `waitpid`, and saving and restoring `errno` (waitpid and write may
/// change it, and the code this handler interrupted may be about to read it).
extern "C" fn on_sigchld(_signal: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno; reading and writing it
    // from a handler is what saving errno means.
    let saved_errno = unsafe { *libc::__errno_location() };
    loop {
        // SAFETY: waitpid with a null status pointer and WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
        // --explain: one write(2) from a stack buffer, async-signal-safe.
        // SAFETY: this thread's errno, as waitpid left it.
        explain::wait4_from_handler(pid, unsafe { *libc::__errno_location() });
        if pid <= 0 {
            break;
        }
        CHILDREN.fetch_sub(1, Ordering::SeqCst);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved_errno };
}

/// Install the `on_sigchld` handler (above) for SIGCHLD, with `SA_RESTART`.
///
/// ```c
/// sa.sa_handler = on_sigchld;
/// sigemptyset(&sa.sa_mask);
/// sa.sa_flags = SA_RESTART;   /* an interrupted accept() is restarted, not failed */
/// if (sigaction(SIGCHLD, &sa, NULL) == -1) { perror("sigaction"); exit(5); }
/// ```
///
/// `SA_RESTART`: a child that ends while the parent sits in `accept` interrupts it;
/// with the flag the kernel restarts `accept` instead of failing it with `EINTR`.
///
/// # Errors
///
/// `sigaction` (exit 5).
pub fn install_sigchld_handler() -> Result<(), CallError> {
    let action = SigAction::new(
        SigHandler::Handler(on_sigchld),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    let call = explain::begin();
    // SAFETY: the handler only calls waitpid, touches atomics and errno, and narrates
    // with write(2) (see explain::signal_safe).
    let result = unsafe { sigaction(Signal::SIGCHLD, &action) }
        .map(drop)
        .map_err(|errno| CallError::from_errno("sigaction", errno as i32));
    call.outcome(
        || "rt_sigaction(SIGCHLD, {on_sigchld, SA_RESTART}, NULL, 8)".into(),
        &result,
        |_| "0".into(),
        "the slides' sigaction(): reap children as they exit, or they stay zombies",
    );
    result
}

/// The parent forked one more child.
pub fn child_started() {
    CHILDREN.fetch_add(1, Ordering::SeqCst);
}

/// How many children are alive (as far as the parent has seen).
pub fn children_alive() -> isize {
    CHILDREN.load(Ordering::SeqCst)
}
