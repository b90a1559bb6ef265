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
/// Only async-signal-safe work: `waitpid`, an atomic decrement, and saving and
/// restoring `errno` (waitpid may change it, and the code this handler interrupted may
/// be about to read it).
extern "C" fn on_sigchld(_signal: libc::c_int) {
    // TODO (slide 50): [6] reap every child that has exited, and only those: waitpid
    // for any child, without blocking, again while it returns a pid; one less in
    // CHILDREN for each. Keep errno as the interrupted code left it (libc's
    // __errno_location). Not a todo!(): a handler must never panic.
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
    // TODO (slide 50): [1] sigaction(SIGCHLD): on_sigchld as the handler, with
    // SA_RESTART, nothing blocked while it runs (nix's sigaction; it is unsafe: say in
    // a SAFETY comment why this handler is fine). Its failure is a CallError for
    // "sigaction" (exit 5); --explain narrates the call with explain::outcome.
    // Until then no handler is installed: children stay zombies.
    Ok(())
}

/// The parent forked one more child.
pub fn child_started() {
    CHILDREN.fetch_add(1, Ordering::SeqCst);
}

/// How many children are alive (as far as the parent has seen).
pub fn children_alive() -> isize {
    CHILDREN.load(Ordering::SeqCst)
}
