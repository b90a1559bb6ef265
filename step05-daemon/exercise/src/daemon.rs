//! Becoming a daemon: the lecture's routine (slides 35–43), then the rest of systemd's
//! daemon(7) checklist for a classic (SysV) daemon. This file is your task (TODOs [1]
//! to [7]); the solution is `common/src/daemon.rs`, which the step's `main.rs` uses.
//!
//! [`become_daemon`] is a straight line in the lecture's order, one call per step,
//! each with its reason, and a `Beyond the slides:` label on what real daemons add:
//!
//! | slide | step                                   | here                               |
//! |-------|----------------------------------------|------------------------------------|
//! | –     | close inherited descriptors above 2    | `close_range(3, ~0, 0)`            |
//! | –     | reset signal handlers and signal mask  | `sigaction(SIG_DFL)`, `sigprocmask`|
//! | –     | a pipe to report readiness             | `pipe2(O_CLOEXEC)`                 |
//! | 37    | fork, the parent exits                 | `fork()`; the parent waits first   |
//! | 38    | change the file mode mask              | `umask(mask)`                      |
//! | 39    | open the logs                          | `openlog(name, LOG_PID, LOG_DAEMON)`|
//! | 41    | a new session                          | `setsid()`                         |
//! | –     | fork again, the session leader exits   | `fork()`                           |
//! | 42    | a safe working directory               | `chdir("/")`                       |
//! | 43    | the standard descriptors               | `/dev/null` on 0, 1 and 2          |
//!
//! After it, the caller creates its pid file (`common::pidfile`), opens its socket,
//! drops privileges (`common::daemon::drop_privileges`) and tells the waiting parent it
//! is ready ([`Readiness::ready`]), or why it is not ([`Readiness::failed`]).

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use nix::sys::signal::{
    sigaction, sigprocmask, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal,
};
use nix::sys::stat::{umask, Mode};
use nix::syslog::{openlog, syslog, Facility, LogFlags, Priority, Severity};
use nix::unistd::{chdir, setsid, ForkResult};

use common::error::CallError;
use common::process::{_exit, fork};

/// The daemon's end of the readiness pipe: the launching process waits on the other
/// end and exits with what the daemon says here.
#[derive(Debug)]
pub struct Readiness {
    pipe: OwnedFd,
}

impl Readiness {
    /// Started: the launcher prints `lines` on its stderr and exits 0.
    ///
    pub fn ready(self, lines: &str) {
        self.say(0, lines);
    }

    /// Not started: the launcher prints `message` and exits with `code`.
    ///
    pub fn failed(self, code: u8, message: &str) {
        self.say(code, &format!("{message}\n"));
    }

    /// A step of [`become_daemon`] failed after the first fork: log it, tell the
    /// launcher, and end this process with the error's code (`_exit`: it is a forked
    /// child, whose buffers and handlers belong to the launcher).
    fn abort(self, err: &CallError) -> ! {
        let message = err.to_string();
        let _ = syslog(
            Priority::new(Severity::LOG_ERR, Facility::LOG_DAEMON),
            &message,
        );
        let code = err.exit_code();
        self.failed(code, &message);
        _exit(code)
    }

    fn say(self, code: u8, text: &str) {
        let mut report = vec![code];
        report.extend_from_slice(text.as_bytes());
        // If the launcher is gone, nobody is waiting: nothing to do about it.
        let _ = std::fs::File::from(self.pipe).write_all(&report);
    }
}

/// Detach from the terminal and the launching process: the lecture's routine plus
/// daemon(7)'s. Returns only in the daemon; the launching process waits for the
/// daemon's [`Readiness`] report and exits with it; the middle process exits 0.
///
/// ```c
/// pid_t pid = fork();                  /* slide 37 */
/// if (pid < 0) { perror("fork"); exit(1); }
/// if (pid > 0) exit(0);                /* the parent: here it waits for readiness */
/// umask(027);                          /* slide 38 */
/// openlog("mydaemon", LOG_PID, LOG_DAEMON); /* slide 39 */
/// if (setsid() < 0) exit(1);           /* slide 41 */
/// if (chdir("/") < 0) exit(1);         /* slide 42 */
/// close(STDIN_FILENO); ...             /* slide 43: /dev/null instead */
/// ```
///
/// See daemon(7) ("SysV Daemons"), `fork(2)`, `umask(2)`, `openlog(3)`, `setsid(2)`,
/// `chdir(2)`, `dup2(2)`; for the calls in Rust: `common::process::fork` and `_exit`,
/// `nix::sys::stat::umask`, `nix::syslog::openlog`, `nix::unistd::{setsid, chdir}`.
///
/// # Safety
///
/// Forks: only in a single-threaded process (see [`fork`]).
///
/// # Errors
///
/// `close_range`, `sigaction`, `sigprocmask`, `pipe2` or `fork` (exit 1), returned
/// in the launching process before it forks. Once forked, the launching process does
/// not return: it exits with what the daemon reports. A step that fails after the
/// fork (`setsid`, the second `fork`, `chdir`, `open` of `/dev/null`, `dup2`) is such
/// a report: the failing process logs it, sends it through the pipe and exits; the
/// launcher prints it on its stderr and exits with its code.
pub unsafe fn become_daemon(name: &'static CStr, mask: u32) -> Result<Readiness, CallError> {
    // Beyond the slides: close every descriptor inherited from whoever started us
    // above stdin/stdout/stderr (daemon(7) step 1): a leaked pipe or socket would stay
    // open as long as the daemon lives.
    close_inherited_descriptors()?;
    // Beyond the slides: signal dispositions and the signal mask survive exec; reset
    // them so the daemon starts from the defaults (daemon(7) steps 2-3).
    reset_signals()?;
    // Beyond the slides: a pipe on which the daemon says "ready" or why not, so the
    // launching command exits only once the daemon listens, with the daemon's code.
    let (report, ready) = pipe()?;

    // fork: the parent returns to the shell; the child is not a process group leader,
    // which setsid requires (slide 37)
    todo!(
        "slide 37: [1] fork (its SAFETY: the caller guarantees a single-threaded \
         process). The parent does not need the pipe's write end (drop ready): it \
         waits for the daemon's word and exits with it (wait_for_daemon(report, \
         child)). The child drops the read end (report) and goes on."
    );
    let ready = Readiness { pipe: ready };

    // Beyond the slides: from here on the launcher waits on the pipe, so a step that
    // fails says so there (and to syslog), and this process ends.
    let detached = (|| {
        todo!(
            "slide 38: [2] change the file mode mask to mask (027 unless configured: \
             the slide's umask(0) makes every file created with 0666 world-writable)"
        );
        todo!(
            "slide 39: [3] open the logs: records named name, with the pid (LOG_PID), \
             facility LOG_DAEMON"
        );
        todo!(
            "slide 41: [4] a new session, with no controlling terminal, so the shell's \
             Ctrl-C and hang-up no longer reach the daemon; its failure is a CallError \
             for \"setsid\""
        );
        todo!(
            "beyond the slides: [5] fork again; the parent (the session leader) leaves \
             with _exit(0), so the daemon can never acquire a controlling terminal"
        );
        todo!(
            "slide 42: [6] change the working directory to \"/\": it always exists and \
             keeps no file system busy; its failure is a CallError for \"chdir\""
        );

        // stdin, stdout, stderr: the slide closes them. Then the next open() or
        // socket() gets descriptor 0, 1 or 2, and a stray printf or perror writes into
        // a client's connection or a file. Pointing them at /dev/null keeps 0-2 taken
        // (slide 43).
        redirect_standard_descriptors()
    })();

    match detached {
        Ok(()) => Ok(ready),
        Err(err) => ready.abort(&err),
    }
}

/// In the launching process: wait until the daemon reports, print what it said, and
/// exit with its code.
fn wait_for_daemon(report: OwnedFd, middle: nix::unistd::Pid) -> ! {
    let mut said = Vec::new();
    let _ = std::fs::File::from(report).read_to_end(&mut said);
    // Reap the middle process (it exits right after the second fork).
    let _ = nix::sys::wait::waitpid(middle, None);
    let mut stderr = std::io::stderr();
    match said.split_first() {
        Some((&code, text)) => {
            let _ = stderr.write_all(text);
            std::process::exit(i32::from(code))
        }
        None => {
            let _ = stderr.write_all(b"the daemon exited before it was ready\n");
            std::process::exit(1)
        }
    }
}

fn close_inherited_descriptors() -> Result<(), CallError> {
    // SAFETY: close_range closes descriptors 3 and up; this process has no descriptor
    // there it still needs (nothing is open yet), and no other thread.
    if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } == -1 {
        return Err(CallError::last_os_error("close_range"));
    }
    Ok(())
}

fn reset_signals() -> Result<(), CallError> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator() {
        if matches!(signal, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no code of ours.
        unsafe { sigaction(signal, &default) }
            .map_err(|e| CallError::from_errno("sigaction", e as i32))?;
    }
    // Except SIGPIPE, which stays ignored: a write to a vanished peer must be an EPIPE
    // error the daemon can log, not a silent death.
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_IGN runs no code.
    unsafe { sigaction(Signal::SIGPIPE, &ignore) }
        .map_err(|e| CallError::from_errno("sigaction", e as i32))?;
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .map_err(|e| CallError::from_errno("sigprocmask", e as i32))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), CallError> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(CallError::last_os_error("pipe2"));
    }
    // SAFETY: both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn redirect_standard_descriptors() -> Result<(), CallError> {
    todo!(
        "slide 43: [7] open /dev/null for reading and writing and dup2 it onto 0, 1 and \
         2; then close the descriptor open returned if it is above 2. Errors name the \
         call: open (\"/dev/null: ...\"), dup2"
    )
}
