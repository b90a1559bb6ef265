//! Step 05: a daemon (slides 33–47).
//!
//! The step04 server as a classic Unix daemon: it detaches from the terminal in the
//! lecture's order (fork, umask, openlog, setsid, chdir, standard descriptors), logs
//! every event to syslog, reads a configuration file, answers SIGHUP by re-reading it
//! and SIGTERM by stopping cleanly. The command that starts it returns only once the
//! daemon listens (or says why it could not).
//!
//! New in this step: the daemon routine (`common::daemon::become_daemon`), `openlog`
//! and `syslog`, signal handlers for SIGHUP and SIGTERM (slides 45–47) through a
//! self-pipe, a configuration file, a locked pid file, dropping privileges.
//!
//! Run it and poke it:
//!
//! ```text
//! $ cargo run -p step05-daemon -- -c step05-daemon/step05-daemon.toml --pid-file /tmp/d.pid
//! listening on 0.0.0.0:1234
//! daemon pid 4242
//! $ printf 'PING\n' | cargo run -q -p step03-client       # PONG
//! $ journalctl -t step05-daemon      (or: tail /var/log/syslog)
//! $ kill -HUP "$(cat /tmp/d.pid)"    # re-read the configuration
//! $ kill "$(cat /tmp/d.pid)"         # stop
//! ```
//!
//! In the foreground (`-f`) the log goes to syslog, or to stderr with `--log stderr`
//! or where no syslog answers on `/dev/log` (a line says so). Every error before the
//! daemon listens is printed by the command you typed, with its exit code.
//!
//! The C skeleton of the lecture is `original.c` beside this crate; the walkthrough is in
//! `README.md`. The protocol and the child's side come from step04's library. The
//! program is single-threaded on purpose (it forks).

mod config;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::daemon::{become_daemon, drop_privileges};
use common::inet::inet_aton;
use common::pidfile::PidFile;
use common::signals::SignalPipe;
use common::{cli, diag, explain, CallError};
use nix::sys::stat::{umask, Mode};
use nix::syslog::{openlog, Facility, LogFlags};
use step04_respond::reaper::install_sigchld_handler;

use crate::config::{Log, Overrides, Settings};
use crate::serve::{open_listening, serve, Daemon, STOP_AND_RELOAD};

/// The name syslog records carry (with the pid: `step05-daemon[4242]: …`).
const NAME: &std::ffi::CStr = c"step05-daemon";

const EXIT_CODES: &str = "\
Exit codes (the launching command prints the daemon's error and exits with its code):
  0   the daemon listens (or, in the foreground, stopped by SIGTERM/SIGINT)
  1   the daemon could not start: pid file locked, fork, setsid, chdir, setuid, ...
      (also: --wire without CAP_NET_RAW)
  2   bind failed (e.g. Address already in use)
  3   listen failed
  5   sigaction failed
  10  invalid --bind address (inet_aton)
  64  usage error (e.g. --log stderr without --foreground)
  78  configuration error, a bad bind address in the file included (names the key)

Logging: syslog (facility daemon) unless --log stderr. In the foreground, when
/dev/log cannot be reached (no syslog daemon, a container), the log goes to stderr,
and a line says so.";

/// Step 05: the step04 server as a daemon, with a config file, syslog and signals.
#[derive(Parser)]
#[command(version, after_help = EXIT_CODES)]
struct Cli {
    /// Configuration file (TOML; see step05-daemon.toml for every key)
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Port to listen on (overrides the file); 0 lets the kernel choose
    #[arg(short, long)]
    port: Option<u16>,

    /// Address to bind (overrides the file), as inet_aton accepts it
    #[arg(short, long, value_name = "ADDR")]
    bind: Option<String>,

    /// With this many children alive, answer busy without forking (overrides the file)
    #[arg(short = 'm', long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_clients: Option<u32>,

    /// Close a connection idle for this many seconds, 0 never (overrides the file)
    #[arg(short = 't', long, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    timeout: Option<u64>,

    /// The pid file (overrides the file; default /run/step05-daemon.pid as root, else /tmp/step05-daemon-UID.pid)
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,

    /// Started as root: become this user after binding (setgroups, setgid, setuid)
    #[arg(long, value_name = "NAME")]
    user: Option<String>,

    /// Do not detach (for systemd Type=simple, or debugging)
    #[arg(short, long)]
    foreground: bool,

    /// Where the log goes (overrides the file's log key); stderr needs --foreground
    #[arg(
        long,
        value_enum,
        value_name = "WHERE",
        requires_if("stderr", "foreground")
    )]
    log: Option<Log>,

    /// Narrate every socket call (to syslog once detached)
    #[arg(long)]
    explain: bool,

    /// Print each TCP segment of the connections as it crosses lo, tcpdump-style (needs CAP_NET_RAW and --foreground)
    #[arg(long, requires = "foreground")]
    wire: bool,
}

impl Cli {
    /// The flags that override the file. `--bind` goes through `inet_aton` here, before
    /// anything starts: the command the user typed says what is wrong with it.
    fn overrides(&self) -> Result<Overrides, CallError> {
        Ok(Overrides {
            port: self.port,
            bind: self.bind.as_deref().map(inet_aton).transpose()?,
            max_clients: self.max_clients,
            timeout: self.timeout,
            pid_file: self.pid_file.clone(),
            log: self.log,
        })
    }
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    // --explain and --wire: the capture opens before our first socket
    if let Err(err) = explain::start(cli.explain, cli.wire) {
        return diag::fail(&err);
    }
    let overrides = match cli.overrides() {
        Ok(overrides) => overrides,
        Err(err) => return diag::fail(&err),
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(err) => {
            diag::error(&err.to_string());
            return ExitCode::from(err.exit_code());
        }
    };
    if settings.log == Log::Stderr && !cli.foreground {
        diag::error("config: log = \"stderr\" needs --foreground (a daemon has no stderr)");
        return ExitCode::from(common::error::EX_CONFIG);
    }
    if cli.user.is_some() && !nix::unistd::geteuid().is_root() {
        diag::error("--user: only root can become another user");
        return ExitCode::from(common::error::EX_USAGE);
    }
    match run(&cli, &overrides, settings) {
        Ok(()) => ExitCode::SUCCESS,
        // Already reported, to stderr or syslog and through the readiness pipe.
        Err(err) => ExitCode::from(err.exit_code()),
    }
}

/// Detach, start, tell the launcher, serve.
fn run(cli: &Cli, overrides: &Overrides, settings: Settings) -> Result<(), CallError> {
    // Become a daemon: fork, umask, openlog, setsid, chdir, /dev/null (slides 35–43),
    // plus daemon(7)'s checklist; the launching process waits for our word and exits
    let ready = if cli.foreground {
        // In the foreground only the mask applies (systemd does the rest); the log
        // stays on stderr until the daemon listens, so a failure to start is seen.
        umask(Mode::from_bits_truncate(settings.umask));
        None
    } else {
        // SAFETY: this program is single-threaded.
        let ready = unsafe { become_daemon(NAME, settings.umask) }.inspect_err(|err| {
            diag::error(&err.to_string());
        })?;
        // From here on every event goes to syslog (slide 40).
        diag::use_syslog();
        Some(ready)
    };

    match start(cli, &settings) {
        Ok(daemon) => {
            let listening = format!("listening on {}", daemon.address);
            diag::report(&listening);
            match ready {
                // Beyond the slides: the launcher prints these two lines and exits 0.
                Some(ready) => {
                    ready.ready(&format!("{listening}\ndaemon pid {}\n", std::process::id()))
                }
                // In the foreground the line went to stderr; now the log moves to
                // syslog (slide 39), if asked for and if there is one.
                None if settings.log == Log::Syslog => open_foreground_syslog(&listening),
                None => {}
            }
            // Enter the actual daemon code: the step04 server (slide 44)
            serve(daemon, cli.config.as_deref(), overrides, settings)
        }
        Err(err) => {
            diag::error(&err.to_string());
            if let Some(ready) = ready {
                ready.failed(err.exit_code(), &err.to_string());
            }
            Err(err)
        }
    }
}

/// In the foreground: openlog, then syslog if `/dev/log` answers (it gets the
/// listening line too); if not, stay on stderr and say so, once.
fn open_foreground_syslog(listening: &str) {
    let _ = openlog(Some(NAME), LogFlags::LOG_PID, Facility::LOG_DAEMON);
    match diag::use_syslog_if_reachable() {
        Ok(()) => diag::report(listening),
        // Beyond the slides: syslog(3) would drop every record without a word.
        Err(err) => diag::error(&format!("{err}; logging to stderr instead")),
    }
}

/// Everything between detaching and serving: pid file, signals, socket, privileges.
fn start(cli: &Cli, settings: &Settings) -> Result<Daemon, CallError> {
    // Beyond the slides: the pid file, locked; a second instance stops here
    let pid_file = PidFile::create(&settings.pid_file)?;
    let started = (|| {
        // Catching signals (slides 45–47): SIGHUP re-reads the configuration, SIGTERM
        // stops; their handlers write into a self-pipe the main loop polls
        let signals = SignalPipe::install(STOP_AND_RELOAD)?;
        // SIGCHLD reaps the children, as in step04 (slide 50)
        install_sigchld_handler()?;
        // socket, setsockopt, bind, listen: as in step04
        let (listening, address) = open_listening(settings)?;
        // Beyond the slides: binding a port below 1024 needed root; serving does not
        if let Some(user) = &cli.user {
            drop_privileges(user)?;
        }
        Ok((signals, listening, address))
    })();
    match started {
        Ok((signals, listening, address)) => Ok(Daemon {
            listening,
            address,
            signals,
            pid_file,
            children: Vec::new(),
        }),
        Err(err) => {
            pid_file.remove();
            Err(err)
        }
    }
}
