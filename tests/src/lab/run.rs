//! Running a student's program: in a session of its own, its output captured, every
//! wait bounded, and everything it started killed when the check is over.
//!
//! The program is the leader of a new session (`setsid` between fork and exec), so
//! whatever it forks stays findable: by session, and by parentage for a child that
//! made a session of its own. A daemon escapes both: it makes a session of its own
//! and its parent exits, so init adopts it. It still carries the environment it was
//! started with, and the program's is marked with a variable of its own run
//! ([`MARK`]): a process that started after the program and has that variable is one
//! of its. Dropping a [`Running`] kills all of them with SIGKILL and reaps the
//! program, whatever state the check left it in.
//!
//! Every program running is also listed here, so that `cargo lab watch` can end them
//! all at once from another thread ([`cancel_all`]), on Ctrl-C or when a save makes
//! the check under way moot.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::Capture;
use crate::procfs;

/// What the program reads on stdin.
pub enum Stdin {
    /// Nothing: `/dev/null`, end of file at once.
    Null,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
}

/// The variable that marks the environment of a program the checker starts; its
/// value is unique to that run.
pub const MARK: &str = "LAB_RUN";

/// A program started by a check. Dropping it kills its whole session.
pub struct Running {
    child: Child,
    mark: Mark,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    status: Option<ExitStatus>,
    reaped: bool,
    /// The command line, as a student would type it (for the failure report).
    pub command_line: String,
}

impl Running {
    /// Start `argv` (program first) with `env` added to ours, as a session leader.
    pub fn start(
        argv: &[OsString],
        env: &[(OsString, OsString)],
        stdin: Stdin,
    ) -> io::Result<Running> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = Command::new(program);
        let entry = format!(
            "{MARK}={}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        cmd.env(MARK, &entry[MARK.len() + 1..]);
        cmd.stdin(match stdin {
            Stdin::Null => Stdio::null(),
            Stdin::Bytes(_) => Stdio::piped(),
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        // SAFETY: setsid is async-signal-safe, so it may run between fork and exec in
        // a multithreaded process; it touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        // Listed while the lock is held, so that `cancel_all` either sees it or refuses it.
        let mut live = live();
        if live.refusing {
            return Err(io::Error::other("the check was cancelled"));
        }
        let mut child = cmd.spawn()?;
        // Not reaped before `kill`, so its stat is there to read (as a zombie at worst).
        let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        let mark = Mark {
            leader: pid,
            entry: entry.into_bytes(),
            since: procfs::stat(pid).map_or(0, |s| s.start_time),
        };
        live.runs.push(mark.clone());
        drop(live);
        if let (Stdin::Bytes(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // The program may exit without reading it all: that is for the check to see.
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let missing = || io::Error::other("stdout and stderr are piped");
        let (stdout, _) = Capture::collect(child.stdout.take().ok_or_else(missing)?);
        let (stderr, _) = Capture::collect(child.stderr.take().ok_or_else(missing)?);
        let command_line = shell_line(argv);
        Ok(Running {
            child,
            mark,
            stdout,
            stderr,
            status: None,
            reaped: false,
            command_line,
        })
    }

    /// The program's pid (also its session id and process group).
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(i32::MAX)
    }

    /// All of stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.bytes()
    }

    /// All of stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.bytes()
    }

    /// Wait until `found(stderr so far)` holds; false when the deadline passes or
    /// stderr is closed (the program exited) without it.
    pub fn wait_stderr(&self, deadline: Instant, found: impl Fn(&[u8]) -> bool) -> bool {
        self.stderr
            .wait_until(deadline, |bytes, closed| found(bytes) || closed);
        found(&self.stderr.bytes())
    }

    /// Wait until `found(stdout so far)` holds; false as for [`Running::wait_stderr`].
    pub fn wait_stdout(&self, deadline: Instant, found: impl Fn(&[u8]) -> bool) -> bool {
        self.stdout
            .wait_until(deadline, |bytes, closed| found(bytes) || closed);
        found(&self.stdout.bytes())
    }

    /// How the program ended, if it has (without waiting).
    ///
    /// It is not reaped yet: as a zombie it keeps its pid, which is also its session
    /// id, so [`Running::kill`] cannot mistake a new process that got the pid for it.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = peek_exit(self.pid());
        }
        self.status
    }

    /// Whether the program ends within `limit` (it is not reaped: see [`Running::exited`]).
    pub fn ends_within(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        loop {
            if self.status.is_some() || peek_exit(self.pid()).is_some() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Wait for the program to exit, up to the deadline. Polls: a child has no event
    /// to wait on with a timeout, and a few milliseconds of delay cost nothing here.
    pub fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.exited() {
                // Let the readers drain what it wrote last (bounded: a grandchild
                // may hold the pipes open).
                let drained = Instant::now() + Duration::from_millis(200);
                self.stdout.wait_until(drained, |_, closed| closed);
                self.stderr.wait_until(drained, |_, closed| closed);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Every live process the program started: its session, the processes that
    /// carry its mark, and the sessions and descendants of any of them (a child that
    /// called setsid leaves the session, not the family; a daemon leaves the family
    /// too, but keeps the mark).
    pub fn processes(&self) -> Vec<i32> {
        family(&self.mark)
    }

    /// Kill the program and everything it started (SIGKILL), and reap it.
    pub fn kill(&mut self) {
        let leader = self.pid();
        // Unlisted before it is reaped: until then its pid cannot be reused, so
        // `cancel_all` never aims at a stranger that got the number.
        live().runs.retain(|run| run.leader != leader);
        kill_family(&self.mark);
        if !self.reaped {
            let _ = self.child.kill();
            self.status = self.child.wait().ok().or(self.status);
            self.reaped = true;
        }
    }
}

/// The programs running now (their marks), and whether new ones are refused.
struct Live {
    runs: Vec<Mark>,
    refusing: bool,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    runs: Vec::new(),
    refusing: false,
});

fn live() -> MutexGuard<'static, Live> {
    // A check that panicked holding it left the list as it was: still right.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kill every program running now and everything each started, and refuse to start
/// any other until [`resume`]: a check under way (on another thread) sees its
/// program die or fail to start, and concludes at once.
pub fn cancel_all() {
    // The lock is held throughout: a `Running` cannot be reaped meanwhile.
    let mut live = live();
    live.refusing = true;
    for run in &live.runs {
        kill_family(run);
    }
}

/// Start programs again after [`cancel_all`], once the cancelled check has ended.
pub fn resume() {
    live().refusing = false;
}

/// SIGKILL every process of the run `mark` (see [`family`]) until none is left.
fn kill_family(mark: &Mark) {
    // Each round kills what it finds; a process forking at that moment is found by
    // the next round. Bounded, since SIGKILL cannot be caught.
    for _ in 0..50 {
        let members = family(mark);
        if members.is_empty() {
            break;
        }
        for pid in members {
            // SAFETY: kill(2) with a pid we just read from /proc; at worst the
            // process is gone already (ESRCH).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// The exit status of child `pid` if it has ended, leaving it unreaped (`WNOWAIT`).
fn peek_exit(pid: i32) -> Option<ExitStatus> {
    // SAFETY: siginfo_t is plain data; all zeros is valid, and si_pid stays 0 when
    // no child has changed state (WNOHANG).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child with a valid siginfo_t to fill.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (or left it zeroed); these read its union fields.
    let (who, status) = unsafe { (info.si_pid(), info.si_status()) };
    if rc != 0 || who == 0 {
        return None;
    }
    // The raw wait status: the exit code in the second byte, or the signal number
    // (with 0x80 when it dumped core).
    let raw = match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => status | 0x80,
        _ => status,
    };
    Some(ExitStatus::from_raw(raw))
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Numbers the runs of this process, for their marks.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// How to recognise the processes of one run.
#[derive(Clone)]
struct Mark {
    /// The program's pid, also its session's id.
    leader: i32,
    /// `LAB_RUN=VALUE`, as it appears in `/proc/PID/environ`.
    entry: Vec<u8>,
    /// When the program started (clock ticks since boot): nothing older is its.
    since: u64,
}

impl Mark {
    /// True when `pid`'s environment holds the mark. Read only for processes that
    /// started after the program, so a scan reads a few environments, not all.
    fn on(&self, stat: &procfs::Stat) -> bool {
        stat.start_time >= self.since
            && std::fs::read(format!("/proc/{}/environ", stat.pid))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == self.entry))
    }
}

/// The live (non-zombie) processes of the run `mark`: its session, the processes
/// carrying the mark, and every process in the session of, or descending from, one
/// of them.
fn family(mark: &Mark) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let all: Vec<procfs::Stat> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(procfs::stat)
        .collect();
    let mut members: HashSet<i32> = all
        .iter()
        .filter(|s| s.session == mark.leader || s.pid == mark.leader || mark.on(s))
        .map(|s| s.pid)
        .collect();
    // Sessions and descendants: repeat until nothing new is found (a tree a few
    // levels deep).
    loop {
        let before = members.len();
        let sessions: HashSet<i32> = all
            .iter()
            .filter(|s| members.contains(&s.pid))
            .map(|s| s.session)
            .collect();
        for s in &all {
            if members.contains(&s.ppid) || sessions.contains(&s.session) {
                members.insert(s.pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    all.iter()
        .filter(|s| members.contains(&s.pid) && s.state != 'Z')
        .map(|s| s.pid)
        .collect()
}

/// How a program ended, in words: `exit 2`, `killed by SIGSEGV`.
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by {}", signal_name(signal)),
        (None, None) => "ended".to_string(),
    }
}

/// How a program ended, as the end of a sentence: `ended with exit 2`, `was killed
/// by SIGSEGV (a bad pointer)`.
pub fn exited_as(status: ExitStatus) -> String {
    let how = describe_status(status);
    if status.code().is_none() && status.signal().is_some() {
        format!("was {how}")
    } else {
        format!("ended with {how}")
    }
}

/// The C name of a signal a crashing program meets.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV (a bad pointer)",
        libc::SIGABRT => "SIGABRT (abort)",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGPIPE => "SIGPIPE (wrote to a closed connection)",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        other => return format!("signal {other}"),
    };
    name.to_string()
}

/// `argv` as a student would type it, each word quoted for a shell when it needs it.
pub fn shell_line(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| shell_word(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` quoted for a shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
