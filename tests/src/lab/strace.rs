//! `cargo lab check STEP --strace`: the student's socket calls beside the
//! reference's, for the same session. Advisory: it runs after the checks and never
//! changes one.
//!
//! The session is the step's headline one: a server is started (`-p P`, and
//! step 05's `-f`, step 06's `-r ROOT`), one client talks to it (step 02 gets a
//! line, steps 04–05 `PING`, step 06 `GET /index.html`), and it is stopped with
//! SIGTERM once the client's child is done; step 03's client is run once against a
//! server of the checker's that reads until end of file and replies. Each program
//! runs under `strace -f`, calls are masked and lined up ([`calls`], [`diff`]).
//!
//! The reference is the step's `original.c`, whatever the student's language: the
//! slides show C, the skeletons (C and Rust) ask for what original.c does, and the
//! Rust references of steps 04–06 do more than the slides (timeouts, keep-alive,
//! sendfile), so their traces carry calls a student has no reason to make. A Rust
//! program's `accept4` and `SOCK_CLOEXEC` then show, marked `~`, as the calls
//! they are.

mod calls;
mod diff;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::ctx::{deadline, read_until_closed, within, DEADLINE};
use super::listen;
use super::port;
use super::report::shown;
use super::run::{Running, Stdin};
use super::scratch::Scratch;
use super::steps::{step06, Step};
use super::target::{find_program, prepare, Program, Target, TargetError};
use diff::{cell, compare, counts, Mark};

/// The calls traced: the network ones, `close` and the data calls on sockets (a
/// student may `write` where the C `send`s), and process creation, so that a
/// child's calls can be told from its parent's.
const TRACE: &str = "trace=%network,close,read,write,readv,writev,sendfile,fork,vfork,clone,clone3";

/// How long the checker waits for the child serving its client to finish before
/// stopping the server: a correct one is done as the connection ends.
const CHILD_DONE: Duration = Duration::from_secs(2);

/// How long a server that ends by itself after its client gets to do so.
const SELF_EXIT: Duration = Duration::from_millis(300);

/// The width of each column.
const WIDTH: usize = 50;

/// Trace `target` and `step`'s original.c through the step's session and write
/// them side by side to `out`.
pub fn show(
    step: &'static Step,
    target: &Target,
    root: &Path,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out)?;
    let session = Session::of(step);
    writeln!(
        out,
        "strace: your program's socket calls beside original.c's (advisory: the checks above stand as they are)"
    )?;
    writeln!(out, "  session: {}", session.describe())?;
    let Some(strace) = find_program("strace".as_ref()) else {
        writeln!(
            out,
            "  – not shown: strace is not installed (apt-get install strace)"
        )?;
        return Ok(());
    };
    let mine = match prepare(target, step, root) {
        Ok(prepared) => match prepared.program {
            Some(program) => program,
            None => {
                writeln!(out, "  – not shown: it does not compile")?;
                return Ok(());
            }
        },
        Err(TargetError::Usage(e) | TargetError::Broken(e)) => {
            writeln!(out, "  – not shown: {e}")?;
            return Ok(());
        }
    };
    let theirs = match prepare(&Target::COriginal, step, root).map(|p| p.program) {
        Ok(Some(program)) => program,
        _ => {
            writeln!(
                out,
                "  – not shown: {}'s original.c is not compiled",
                step.name
            )?;
            return Ok(());
        }
    };
    let traced =
        trace(&strace, &mine, &session).and_then(|m| Ok((m, trace(&strace, &theirs, &session)?)));
    match traced {
        Ok((mine, theirs)) => write_columns(out, &mine, &theirs),
        Err(e) => writeln!(out, "  – not shown: {e}"),
    }
}

/// Both traces in two columns, then what the marks mean and how many there are.
fn write_columns(
    out: &mut dyn Write,
    mine: &[calls::Row],
    theirs: &[calls::Row],
) -> io::Result<()> {
    let lines = compare(mine, theirs);
    writeln!(out, "    {:<WIDTH$}  original.c", "your program")?;
    for line in &lines {
        writeln!(
            out,
            "  {} {:<WIDTH$}  {}",
            line.mark.symbol(),
            cell(line.mine, WIDTH),
            cell(line.theirs, WIDTH)
        )?;
    }
    let (missing, extra, differing) = counts(&lines);
    if missing + extra + differing == 0 {
        return writeln!(out, "  the same calls as original.c, in the same order");
    }
    writeln!(
        out,
        "  {missing} missing (-: original.c makes it, your program does not), {extra} extra (+: only yours), {differing} differing (~: the same step by another call)"
    )?;
    let first_missing = lines.iter().find(|l| l.mark == Mark::Missing);
    if let Some(row) = first_missing.and_then(|l| l.theirs) {
        writeln!(out, "  first missing: {}", row.text)?;
    }
    Ok(())
}

/// The step's headline session.
enum Session {
    /// Start the server, one client sends `request` (then shuts down its sending
    /// side when `half_close`) and reads until the server closes; stop it.
    Server {
        extra: &'static [&'static str],
        request: &'static [u8],
        half_close: bool,
        root: bool,
    },
    /// Run the client once with MESSAGE `words` against a server that reads until
    /// end of file and replies `reply`.
    Client {
        words: &'static [&'static str],
        reply: &'static [u8],
    },
}

impl Session {
    fn of(step: &Step) -> Session {
        let server = |extra, request, half_close, root| Session::Server {
            extra,
            request,
            half_close,
            root,
        };
        match step.number {
            1 => server(&[], b"", false, false),
            2 => server(&[], b"hello\n", true, false),
            3 => Session::Client {
                words: &["hello"],
                reply: b"ok\n",
            },
            4 => server(&[], b"PING\r\n", true, false),
            5 => server(&["-f"], b"PING\r\n", true, false),
            _ => server(&[], b"GET /index.html HTTP/1.0\r\n\r\n", false, true),
        }
    }

    fn describe(&self) -> String {
        match self {
            Session::Server {
                extra,
                request,
                half_close,
                root,
            } => {
                let mut flags = String::from("-p P");
                for flag in *extra {
                    flags.push(' ');
                    flags.push_str(flag);
                }
                if *root {
                    flags.push_str(" -r ROOT");
                }
                let sends = if request.is_empty() {
                    "nothing".to_string()
                } else {
                    shown(request)
                };
                let close = if *half_close { ", shuts down its side" } else { "" };
                format!("start with {flags}; one client connects, sends {sends}{close} and reads until the server closes; then SIGTERM")
            }
            Session::Client { words, reply } => format!(
                "run with -H 127.0.0.1 -p P {} against a server that reads until end of file, then replies {}",
                words.join(" "),
                shown(reply)
            ),
        }
    }
}

/// Run `program` through `session` under strace; its calls, as rows.
fn trace(strace: &Path, program: &Program, session: &Session) -> Result<Vec<calls::Row>, String> {
    let scratch = Scratch::new("strace").map_err(|e| format!("temporary folder: {e}"))?;
    let file = scratch.path().join("trace");
    let mut argv: Vec<OsString> = vec![
        strace.into(),
        "-f".into(),
        "-qq".into(),
        "-s".into(),
        "0".into(),
        "-e".into(),
        TRACE.into(),
        "-e".into(),
        "signal=none".into(),
        "-o".into(),
        file.clone().into(),
    ];
    argv.extend(program.argv.iter().cloned());
    let port = match session {
        Session::Server {
            extra,
            request,
            half_close,
            root,
        } => {
            let port = port::for_server().map_err(|e| format!("no free port: {e}"))?;
            let site = if *root {
                Some(step06::Root::new().map_err(|f| f.got)?)
            } else {
                None
            };
            argv.extend(["-p".into(), port.to_string().into()]);
            argv.extend(extra.iter().map(OsString::from));
            if let Some(site) = &site {
                argv.extend(site.args().map(OsString::from));
            }
            let run = Running::start(&argv, &program.env, Stdin::Null)
                .map_err(|e| format!("strace could not be started: {e}"))?;
            serve_one(run, request, *half_close)?;
            port
        }
        Session::Client { words, reply } => {
            let (port, server) =
                reply_once(reply).map_err(|e| format!("the checker's server: {e}"))?;
            argv.extend([
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string().into(),
            ]);
            argv.extend(words.iter().map(OsString::from));
            let mut run = Running::start(&argv, &program.env, Stdin::Null)
                .map_err(|e| format!("strace could not be started: {e}"))?;
            if run.wait_exit(deadline()).is_none() {
                run.kill();
            }
            let _ = server.join();
            port
        }
    };
    read_trace(&file, port)
}

/// The trace file, parsed and masked; strace's own complaint when it has none.
fn read_trace(file: &PathBuf, port: u16) -> Result<Vec<calls::Row>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("strace wrote no trace ({e}): can it trace here (ptrace)?"))?;
    let rows = calls::rows(&calls::parse(&text), port);
    if rows.is_empty() {
        return Err("the trace holds no socket call: did the program start?".into());
    }
    Ok(rows)
}

/// Wait until the server listens, be its one client, wait for the child serving
/// it, then SIGTERM the program (strace ends with it).
fn serve_one(mut run: Running, request: &[u8], half_close: bool) -> Result<(), String> {
    let mut listening = Vec::new();
    let found = within(deadline(), || {
        listening = listen::listening(&run.processes());
        !listening.is_empty() || run.exited().is_some()
    });
    let Some(at) = listening.first().filter(|_| found) else {
        return Err(format!(
            "it did not listen within {} s; stderr {}",
            DEADLINE.as_secs(),
            shown(&run.stderr())
        ));
    };
    let before = run.processes().len();
    let addr = SocketAddr::from(([127, 0, 0, 1], at.port()));
    if let Ok(mut stream) = TcpStream::connect_timeout(&addr, DEADLINE) {
        let _ = stream.write_all(request);
        if half_close {
            let _ = stream.shutdown(Shutdown::Write);
        }
        read_until_closed(&mut stream, deadline());
    }
    // The child that served the connection finishes its last calls (the rest of
    // the right way to close, exit); step 01's server exits itself.
    within(Instant::now() + CHILD_DONE, || {
        run.processes().len() <= before
    });
    // Step 01's server closes its sockets and exits by itself after its one client: a
    // moment for that, or the SIGTERM could cut its last close from the trace.
    within(Instant::now() + SELF_EXIT, || run.exited().is_some());
    for pid in run.processes() {
        if pid != run.pid() {
            // SAFETY: kill(2) on a process of the session we started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
    if run.wait_exit(deadline()).is_none() {
        run.kill();
    }
    Ok(())
}

/// A server of the checker's for step 03: accepts one client, reads until end of
/// file, replies, closes. Returns its port and the thread.
fn reply_once(reply: &'static [u8]) -> io::Result<(u16, thread::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let handle = thread::spawn(move || {
        let mut client = None;
        within(deadline(), || {
            client = listener.accept().ok().map(|(s, _)| s);
            client.is_some()
        });
        let Some(mut stream) = client else { return };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(DEADLINE));
        let mut sink = [0u8; 4096];
        let until = deadline();
        while Instant::now() < until {
            match stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = stream.write_all(reply);
    });
    Ok((port, handle))
}
