//! Step 05, a daemon (slides 33–47): the step04 server, detached. Each check types
//! the command as a user would, `PROG -p P` (no `-f`), and looks at the daemon it
//! leaves behind, in `/proc`, as `ps` and `ls -l /proc/PID` would show it; its
//! serving is step04's checks', run in the foreground (`-p P -f`).
//!
//! The command is started the way a shell starts a job: a process group leader (here
//! also a session leader, see [`crate::lab::run`]). It has no controlling terminal,
//! and no terminal is given to it: as the session's leader it would be the
//! terminal's controlling process, and its exit, at once after the first fork, sends
//! SIGHUP to its process group, where the child of that fork still is until it
//! calls `setsid`: the daemon would die or not by timing, a correct one
//! included (as under `script -c CMD`, which does this; a shell, the session leader
//! that stays, spares its jobs). A terminal is reached only through a session: a
//! daemon in a session of its own has none unless it opens one (which the second
//! fork forbids); a daemon still in the command's session would share the terminal a
//! shell's command has. So `step05/new-session` judges the session, and reports a
//! terminal if the daemon has one all the same.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::Instant;

use crate::lab::check::{Check, Failure, NotPassed, Skip};
use crate::lab::ctx::{deadline, read_until_closed, Ctx, DEADLINE, SETTLE};
use crate::procfs;

mod devlog;
mod launch;
mod record;

use devlog::DevLog;
use launch::{daemon, Daemon};

/// The name the daemon gives `openlog` (slide 39), as `journalctl -t` finds it.
const NAME: &str = "step05-daemon";

/// The checks of step 05, in the order the daemon routine runs them.
pub static CHECKS: [Check; 5] = [
    Check {
        id: "step05/launcher-returns",
        slide: 37,
        what: "the command returns (exit 0) while the daemon it started listens on P",
        beyond: false,
        applies_to: &[5],
        run: launcher_returns,
    },
    Check {
        id: "step05/new-session",
        slide: 41,
        what: "the daemon is in a session of its own, without a controlling terminal (setsid)",
        beyond: false,
        applies_to: &[5],
        run: new_session,
    },
    Check {
        id: "step05/cwd-root",
        slide: 42,
        what: "the daemon's working directory is / (chdir)",
        beyond: false,
        applies_to: &[5],
        run: cwd_root,
    },
    Check {
        id: "step05/stdio-devnull",
        slide: 43,
        what: "the daemon's descriptors 0, 1 and 2 lead to /dev/null",
        beyond: false,
        applies_to: &[5],
        run: stdio_devnull,
    },
    Check {
        id: "step05/syslog",
        slide: 40,
        what: "`listening on` and each connection reach syslog as step05-daemon[PID]",
        beyond: false,
        applies_to: &[5],
        run: syslog,
    },
];

/// Start the daemon, with a private `/dev/log` when the checker can make one (its
/// records then show in a failure). The log goes second: the daemon is killed before
/// its `/dev/log` is removed.
fn start(ctx: &Ctx) -> Result<(Daemon, Option<DevLog>), Failure> {
    let log = DevLog::new().ok();
    Ok((daemon(ctx, log.as_ref())?, log))
}

/// `PROG -p P` returns with exit 0, and a process it started listens.
fn launcher_returns(ctx: &Ctx) -> Result<(), NotPassed> {
    start(ctx)?;
    Ok(())
}

/// The daemon's session is not the command's, and it has no controlling terminal.
fn new_session(ctx: &Ctx) -> Result<(), NotPassed> {
    let (daemon, _log) = start(ctx)?;
    let stat = alive(&daemon)?;
    let launcher = daemon.run.pid();
    if stat.session != launcher && stat.tty_nr == 0 {
        return Ok(());
    }
    let got = format!(
        "daemon pid {}: session {}{}, process group {}, {}",
        daemon.pid,
        stat.session,
        if stat.session == launcher {
            format!(" = the command's own (pid {launcher})")
        } else {
            String::new()
        },
        stat.pgrp,
        terminal(stat.tty_nr)
    );
    let hint = if stat.session == launcher {
        "call setsid() in the child after the first fork: a new session, without a controlling terminal. Without it the daemon stays in the session of the shell that started it: on its terminal, under its job control, and the terminal's hang-up (SIGHUP) reaches it"
    } else {
        "the daemon opened a terminal after setsid(), which made it its controlling terminal: fork a second time after setsid() (daemon(7)), so the daemon, no session leader, can never acquire one"
    };
    Err(Failure::new(
        format!(
            "command: {}, then ps -o pid,sid,pgid,tty -p {}",
            daemon.command(),
            daemon.pid
        ),
        format!("a session other than the command's ({launcher}), and no controlling terminal"),
        got,
        hint,
    )
    .into())
}

/// The daemon's working directory is `/`.
fn cwd_root(ctx: &Ctx) -> Result<(), NotPassed> {
    let here = std::env::current_dir().map_err(|e| Skip {
        reason: "no working directory".into(),
        detail: format!("the checker's own working directory: {e}"),
    })?;
    if here == Path::new("/") {
        return Err(Skip {
            reason: "started from /".into(),
            detail: "the checker runs in /, so a daemon that never calls chdir is there too: run it from the workspace".into(),
        }
        .into());
    }
    let (daemon, _log) = start(ctx)?;
    alive(&daemon)?;
    let cwd = fs::read_link(format!("/proc/{}/cwd", daemon.pid));
    if cwd.as_deref().is_ok_and(|c| c == Path::new("/")) {
        return Ok(());
    }
    let got = match cwd {
        Ok(dir) if dir == here => format!(
            "{} (the directory the command was started in)",
            dir.display()
        ),
        Ok(dir) => dir.display().to_string(),
        Err(e) => format!("unreadable: {e}"),
    };
    Err(Failure::new(
        format!(
            "command: {} (in {}), then ls -l /proc/{}/cwd",
            daemon.command(),
            here.display(),
            daemon.pid
        ),
        "the daemon's working directory is /",
        got,
        "chdir(\"/\") in the daemon routine: otherwise the daemon keeps the directory it was started in busy for as long as it runs (its file system cannot be unmounted), and a relative path it opens depends on where someone typed the command",
    )
    .into())
}

/// Descriptors 0, 1 and 2 of the daemon are `/dev/null`.
fn stdio_devnull(ctx: &Ctx) -> Result<(), NotPassed> {
    let null = fs::metadata("/dev/null").map_err(|e| Skip {
        reason: "no /dev/null".into(),
        detail: format!("/dev/null on this machine: {e}"),
    })?;
    let (daemon, _log) = start(ctx)?;
    alive(&daemon)?;
    let mut wrong = Vec::new();
    let mut closed_or_socket = false;
    let mut shown = Vec::new();
    for fd in 0..=2 {
        let path = format!("/proc/{}/fd/{fd}", daemon.pid);
        let target = fs::read_link(&path).map(|t| t.display().to_string());
        let is_null = fs::metadata(&path)
            .is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == null.rdev());
        let what = match &target {
            Ok(t) => t.clone(),
            Err(_) => "closed".to_string(),
        };
        if !is_null {
            closed_or_socket |= target.as_ref().map_or(true, |t| t.starts_with("socket:"));
            wrong.push(fd);
        }
        shown.push(format!("fd {fd} → {what}"));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let hint = if closed_or_socket {
        "closing 0, 1 and 2 as slide 43 does is a slide bug: the next socket() or open() takes the lowest free number, 0, and a stray printf or perror then writes into a client's connection. Open /dev/null and dup2 it onto 0, 1 and 2"
    } else {
        "0, 1 and 2 still lead where the command's did (a terminal, or a pipe: then `out=$(cmd)` never finishes, the daemon holds it open): open(\"/dev/null\", O_RDWR) and dup2 it onto 0, 1 and 2 (the slide closes them: a slide bug)"
    };
    Err(Failure::new(
        format!(
            "command: {} (stdin, stdout and stderr pipes), then ls -l /proc/{}/fd",
            daemon.command(),
            daemon.pid
        ),
        "fd 0, 1 and 2 → /dev/null",
        shown.join(", "),
        hint,
    )
    .into())
}

/// With a private `/dev/log` (root): `listening on ADDR:P` and, for a connection,
/// `Connection from: 127.0.0.1:PORT`, each as `step05-daemon[PID]`.
fn syslog(ctx: &Ctx) -> Result<(), NotPassed> {
    let log = DevLog::new()?;
    let daemon = daemon(ctx, Some(&log))?;
    let address = daemon.address();
    let mut client = std::net::TcpStream::connect_timeout(&address, DEADLINE).map_err(|e| {
        Failure::new(
            format!("connect to {address}"),
            "the connection is accepted",
            format!("connect: {e}"),
            "the daemon listened, then refused: does it close the listening socket?",
        )
        .on_slide(44)
    })?;
    let client_port = client.local_addr().map_or(0, |a| a.port());
    // The step04 protocol's goodbye: the daemon's child answers and closes.
    let _ = client.write_all(b"QUIT\r\n");
    read_until_closed(&mut client, deadline());
    let wanted = Wanted {
        pid: daemon.pid,
        port: daemon.address().port(),
        client: format!("Connection from: 127.0.0.1:{client_port}"),
    };
    // The connection is over: a correct daemon has sent both records by now.
    let records = log.wait_until(Instant::now() + SETTLE, |records| wanted.all_in(records));
    if wanted.all_in(&records) {
        return Ok(());
    }
    let parsed: Vec<record::Record> = records.iter().filter_map(|r| record::parse(r)).collect();
    let (hint, slide) = if records.is_empty() {
        ("nothing reached syslog: write each event with syslog(LOG_INFO, …). fprintf(stderr, …) writes to /dev/null once the daemon has detached", 40)
    } else if !parsed.iter().any(|r| r.name == NAME && r.pid.is_some()) {
        ("name the records and put the pid in each: openlog(\"step05-daemon\", LOG_PID, LOG_DAEMON) in the daemon routine, before the first syslog", 39)
    } else if !wanted.listening_in(&parsed) {
        ("once listening, the daemon logs syslog(LOG_INFO, \"listening on %s:%d\", the address and port getsockname gave)", 40)
    } else {
        ("log each connection as step04 printed it: syslog(LOG_INFO, \"Connection from: %s:%d …\", inet_ntoa(the client's address), ntohs(its port))", 40)
    };
    Err(Failure::new(
        format!(
            "command: {} with a private /dev/log; connect from 127.0.0.1:{client_port}, send \"QUIT\\r\\n\"",
            daemon.command()
        ),
        format!(
            "records \"{NAME}[{}]: listening on …:{}\" and \"{NAME}[PID]: {} …\"",
            daemon.pid, wanted.port, wanted.client
        ),
        format!("syslog {}", record::shown_all(&records)),
        hint,
    )
    .on_slide(slide)
    .into())
}

/// The records the syslog check waits for.
struct Wanted {
    /// The daemon's pid: the `listening on` record is its.
    pid: i32,
    /// The port it listens on.
    port: u16,
    /// `Connection from: 127.0.0.1:PORT`, the checker's connection.
    client: String,
}

impl Wanted {
    fn all_in(&self, records: &[String]) -> bool {
        let parsed: Vec<record::Record> = records.iter().filter_map(|r| record::parse(r)).collect();
        self.listening_in(&parsed)
            && parsed.iter().any(|r| {
                r.name == NAME
                    && r.pid.is_some()
                    && (r.text == self.client || r.text.starts_with(&format!("{} ", self.client)))
            })
    }

    fn listening_in(&self, parsed: &[record::Record]) -> bool {
        parsed.iter().any(|r| {
            r.name == NAME
                && r.pid == Some(self.pid)
                && r.text.starts_with("listening on ")
                && r.text.ends_with(&format!(":{}", self.port))
        })
    }
}

/// The daemon's `/proc/PID/stat`, or the failure of a daemon gone already.
fn alive(daemon: &Daemon) -> Result<procfs::Stat, Failure> {
    procfs::stat(daemon.pid)
        .filter(|s| s.state != 'Z')
        .ok_or_else(|| {
            Failure::new(
                format!("command: {}", daemon.command()),
                "the daemon keeps running",
                format!("daemon pid {} ended", daemon.pid),
                "the daemon stopped after it listened: it must stay in its main loop (slide 44)",
            )
            .on_slide(44)
        })
}

/// `/proc/PID/stat`'s `tty_nr` in words.
fn terminal(tty_nr: i32) -> String {
    if tty_nr == 0 {
        return "no controlling terminal".into();
    }
    // The device number's major is bits 8-15, its minor bits 0-7 and 20-31.
    let major = (tty_nr >> 8) & 0xff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    let name = if major == 136 {
        format!("/dev/pts/{minor}")
    } else {
        format!("device {major}:{minor}")
    };
    format!("controlling terminal {name}")
}
