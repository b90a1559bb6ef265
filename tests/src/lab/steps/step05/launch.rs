//! Starting a step05 program as a daemon, the way a user does: `PROG -p P` typed at a
//! prompt, which must come back (exit 0) while a process it started listens on P.
//!
//! The command is judged by its exit status, with a deadline, never by the end of
//! its output: a daemon that kept the launcher's stdout holds that pipe open for as
//! long as it runs. The daemon is the process holding the listening socket; it is
//! found, and killed with the rest, through the mark every process of the run carries
//! ([`crate::lab::run`]), however it detached.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use super::devlog::DevLog;
use super::record;
use crate::lab::check::Failure;
use crate::lab::ctx::{deadline, no_port, todo_message, Ctx, DEADLINE, SETTLE};
use crate::lab::listen;
use crate::lab::port;
use crate::lab::report::shown;
use crate::lab::run::{describe_status, shell_line, Running, Stdin};
use crate::procfs;

/// A daemon started as `PROG -p P`: the command returned with exit 0 and a process
/// it started listens.
pub struct Daemon {
    /// The command, ended; dropping it kills every process of the run, the daemon
    /// and its children included.
    pub run: Running,
    /// The port it was given.
    pub port: u16,
    /// The process holding the listening socket.
    pub pid: i32,
    /// Where it listens.
    pub listening: Vec<SocketAddr>,
}

impl Daemon {
    /// Where a client reaches it: P if it listens there, else its first socket.
    pub fn address(&self) -> SocketAddr {
        let at = self
            .listening
            .iter()
            .find(|a| a.port() == self.port)
            .or_else(|| self.listening.first())
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], self.port)));
        if at.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], at.port()))
        } else {
            at
        }
    }

    /// The command as the student would type it.
    pub fn command(&self) -> &str {
        &self.run.command_line
    }
}

/// Start the program as a daemon (`-p P`, no `-f`), with its records read from a
/// private `/dev/log` when `log` is given; wait for the command to return and for
/// the daemon to listen. The failure is `step05/launcher-returns`'s: it says what the
/// command did instead.
pub fn daemon(ctx: &Ctx, log: Option<&DevLog>) -> Result<Daemon, Failure> {
    let port = port::for_server().map_err(|e| no_port("the daemon", &e))?;
    let argv = ctx.program.with_args(&["-p".to_string(), port.to_string()]);
    let typed = shell_line(&argv);
    let started = match log {
        Some(log) => Running::start(&log.wrap(&argv), &ctx.program.env, launcher_stdin()),
        None => Running::start(&argv, &ctx.program.env, launcher_stdin()),
    };
    let mut run = started.map_err(|e| {
        Failure::new(
            format!("command: {typed}"),
            "the program starts",
            format!("it could not be started: {e}"),
            "is the command right, and the file executable?",
        )
    })?;
    run.command_line = typed;
    let mut launched = Launched { run, port, log };
    let Some(status) = launched.wait_return() else {
        return Err(launched.still_running());
    };
    if status.code() != Some(0) {
        return Err(launched.failed(&describe_status(status)));
    }
    let Some((pid, listening)) = launched.wait_daemon() else {
        return Err(launched.no_daemon());
    };
    Ok(Daemon {
        run: launched.run,
        port,
        pid,
        listening,
    })
}

/// What the command reads: a pipe of the checker's, so that a daemon keeping its
/// stdin shows it (`/dev/null` would pass for the right answer).
fn launcher_stdin() -> Stdin {
    Stdin::Bytes(Vec::new())
}

/// A command on its way to becoming a daemon.
struct Launched<'a> {
    run: Running,
    port: u16,
    log: Option<&'a DevLog>,
}

impl Launched<'_> {
    /// Wait for the command to return, up to the deadline; only [`SETTLE`] more once
    /// the command itself listens: it is the server, in the foreground (a launcher
    /// that opened the socket before forking returns as soon).
    fn wait_return(&mut self) -> Option<std::process::ExitStatus> {
        let mut until = deadline();
        let mut pause = Duration::from_millis(1);
        let mut serving = false;
        loop {
            if self.run.exited().is_some() {
                // Bounded: the daemon may hold the command's stdout and stderr.
                return self.run.wait_exit(Instant::now());
            }
            if !serving && !listen::listening(&[self.run.pid()]).is_empty() {
                serving = true;
                until = until.min(Instant::now() + SETTLE);
            }
            if Instant::now() >= until {
                return None;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Wait until a process of the run listens; that process, and where.
    ///
    /// A daemon that opened its socket before detaching shares it, for a moment,
    /// with the child of its first fork, not yet in its own session nor in `/`: the
    /// daemon is the holder once the processes on their way out are gone (the run is
    /// down to it), or, for a daemon that keeps helpers, the newest holder after
    /// [`SETTLE`].
    fn wait_daemon(&mut self) -> Option<(i32, Vec<SocketAddr>)> {
        let until = deadline();
        let mut settled: Option<Instant> = None;
        let mut pause = Duration::from_millis(1);
        loop {
            let processes = self.run.processes();
            let holders: Vec<(procfs::Stat, Vec<SocketAddr>)> = processes
                .iter()
                .filter_map(|&pid| {
                    let listening = listen::listening(&[pid]);
                    let stat = procfs::stat(pid)?;
                    (!listening.is_empty()).then_some((stat, listening))
                })
                .collect();
            let now = Instant::now();
            if !holders.is_empty() {
                let settled = *settled.get_or_insert(now + SETTLE);
                if processes.len() == 1 || now >= settled.min(until) {
                    return holders
                        .into_iter()
                        .max_by_key(|(stat, _)| (stat.start_time, stat.pid))
                        .map(|(stat, listening)| (stat.pid, listening));
                }
            } else if processes.is_empty() || now >= until {
                return None;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    fn sent(&self) -> String {
        format!("command: {} (no -f: as a daemon)", self.run.command_line)
    }

    fn expected(&self) -> String {
        format!(
            "the command returns with exit 0 within {} s, and a process it started listens on port {}",
            DEADLINE.as_secs(),
            self.port
        )
    }

    /// The records the daemon sent, for a report: `; syslog: "…", "…"`.
    fn records(&self) -> String {
        match self.log {
            Some(log) => format!("; syslog {}", record::shown_all(&log.settled())),
            None => String::new(),
        }
    }

    /// The command never returned.
    fn still_running(&mut self) -> Failure {
        let pid = self.run.pid();
        let listening = listen::listening(&[pid]);
        let stderr = shown(&self.run.stderr());
        if let Some(at) = listening.first() {
            return Failure::new(
                self.sent(),
                self.expected(),
                format!(
                    "still running {} s later, itself listening on {at} (pid {pid}, the command you typed: the server in the foreground); stderr {stderr}",
                    SETTLE.as_secs()
                ),
                "without -f the program must become a daemon: call the daemon routine before serving; its first fork lets the parent exit(0), so the shell gets its prompt back, and the child goes on",
            )
            .on_slide(37);
        }
        Failure::new(
            self.sent(),
            self.expected(),
            format!(
                "still running {} s later, not listening; stderr {stderr}{}",
                DEADLINE.as_secs(),
                self.records()
            ),
            "the command must come back: after fork the parent exits 0 at once, and only the child goes on to become the daemon",
        )
        .on_slide(37)
    }

    /// The command returned, but not with exit 0.
    fn failed(&mut self, how: &str) -> Failure {
        let stderr = self.run.stderr();
        let text = String::from_utf8_lossy(&stderr).into_owned();
        let logged = self.log.map(DevLog::settled).unwrap_or_default();
        let setsid_refused = logged
            .iter()
            .chain([&text])
            .any(|r| r.contains("setsid") && r.contains("Operation not permitted"));
        let alive = self.run.processes();
        let got = format!(
            "{how}; stderr {}; {}{}",
            shown(&stderr),
            left_alive(&alive),
            self.records()
        );
        let failure = |hint: String, slide: u32| {
            Failure::new(self.sent(), self.expected(), got.clone(), hint).on_slide(slide)
        };
        if let Some((message, slide)) = todo_message(&text) {
            return failure(
                format!("a todo!() is still in the code ({message}): replace it with the call the slide shows"),
                slide.unwrap_or(37),
            );
        }
        if setsid_refused {
            return failure(
                "setsid() failed with EPERM: it refuses a process group leader, and the command the shell starts is one. Fork first: the parent exits 0, the child, not a group leader, calls setsid() (slide 41)".into(),
                37,
            );
        }
        if stderr.is_empty() && alive.is_empty() {
            return failure(
                format!("it ended at once with {how}, silently (the daemon routine logs its errors to syslog: journalctl -t step05-daemon). Most likely setsid() failed with EPERM: it refuses a process group leader, as the command the shell starts is. Fork first: the parent exits 0, the child calls setsid() (slide 41)"),
                37,
            );
        }
        failure(
            "the command could not start the daemon: stderr (or the log) says why; the port is free, nothing else should stop it".into(),
            37,
        )
    }

    /// The command returned 0, but no process of it listens.
    fn no_daemon(&mut self) -> Failure {
        let alive = self.run.processes();
        Failure::new(
            self.sent(),
            self.expected(),
            format!(
                "exit 0, then no process of it listening within {} s; {}; stderr {}{}",
                DEADLINE.as_secs(),
                left_alive(&alive),
                shown(&self.run.stderr()),
                self.records()
            ),
            "after fork only the parent exits (pid > 0); the child goes on through the daemon routine to socket, bind and listen, as in step04. If a record above names a failed call, that is where it stopped",
        )
        .on_slide(37)
    }
}

/// `none of its processes is left` or `its processes 12, 13 are alive`.
fn left_alive(pids: &[i32]) -> String {
    if pids.is_empty() {
        "none of its processes is left".into()
    } else {
        let list = pids
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        format!("its processes {list} are alive")
    }
}
