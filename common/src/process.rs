//! `fork` and `_exit`: one process becomes two (slide 49), and a child leaves.

use crate::error::CallError;
use crate::explain;
use crate::wire;

pub use nix::unistd::{ForkResult, Pid};

/// Create a child process: a copy of this one that continues from the same point.
///
/// ```c
/// pid_t fork(void);   /* 0 in the child, the child's pid in the parent, -1 on error */
/// ```
///
/// See `fork(2)`. Differs from C: the three outcomes are a `Result` of
/// [`ForkResult::Child`] or [`ForkResult::Parent`], so none can be forgotten (Beej's
/// `if (!fork())` treats -1 as "the parent"). Flush buffered output before calling
/// it, or both processes print it.
///
/// # Safety
///
/// Only in a single-threaded process. The child of a multithreaded process may call
/// only async-signal-safe functions until it execs (another thread may have held a
/// lock, for example the allocator's, at the moment of the fork). The step binaries
/// are single-threaded on purpose.
///
/// # Errors
///
/// `fork`: `EAGAIN` (the `RLIMIT_NPROC` limit or the system's process table is
/// full), `ENOMEM`.
///
/// ```no_run
/// use common::process::{fork, ForkResult};
/// // SAFETY: this example program is single-threaded.
/// match unsafe { fork() } {
///     Ok(ForkResult::Child) => common::process::_exit(0),
///     Ok(ForkResult::Parent { child }) => println!("child {child}"),
///     Err(err) => eprintln!("{err}"),
/// }
/// ```
pub unsafe fn fork() -> Result<ForkResult, CallError> {
    // --wire: the child will need a capture of its own (see crate::wire).
    wire::before_fork();
    let call = explain::begin();
    // SAFETY: the caller guarantees the process is single-threaded.
    let result =
        unsafe { nix::unistd::fork() }.map_err(|e| CallError::from_errno("fork", e as i32));
    match &result {
        Ok(ForkResult::Child) => {
            // Narrated by the parent only (the child would print a second copy); from
            // here on this process's lines carry its pid.
            drop(call);
            explain::set_child(std::process::id() as i32);
            wire::in_child();
        }
        Ok(ForkResult::Parent { child }) => {
            wire::in_parent(Some(child.as_raw()));
            call.ok(
                || CLONE.into(),
                child,
                "the slides' fork(): glibc's fork is this clone",
            );
        }
        Err(err) => {
            wire::in_parent(None);
            call.failed(|| CLONE.into(), err);
        }
    }
    result
}

/// `fork()` as strace shows the system call glibc makes for it.
const CLONE: &str =
    "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, …)";

/// End the process at once with `status`: no destructors, no stdio flushing, no
/// `atexit` handlers.
///
/// ```c
/// void _exit(int status);
/// ```
///
/// See `_exit(2)`. This is how a forked child leaves: `exit` would run the parent's
/// cleanup (flush buffers it copied, remove files it owns) a second time.
///
/// With `--wire`, the segments still on their way are printed first (see
/// [`wire::finish`](crate::wire::finish)): `_exit` skips the `atexit` handler that
/// does it at a normal exit.
///
/// # Errors
///
/// None: it does not return.
///
/// ```no_run
/// common::process::_exit(0);
/// ```
pub fn _exit(status: u8) -> ! {
    wire::finish();
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(i32::from(status)) }
}
