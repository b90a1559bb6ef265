//! What a check is given: the program, the step it is checked as, and the means to
//! start it the way the C originals are started, on a port chosen for the purpose:
//! as a server (`-p P`, then wait until it listens) or as a client (`-H HOST -p P
//! [MESSAGE…]`, facing the checker's [`super::peer::Peer`]).

use std::ffi::OsString;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use socket2::Socket;

use super::check::Failure;
use super::listen;
use super::port;
use super::report::shown;
use super::run::{describe_status, Running, Stdin};
use super::steps::Step;
use super::target::Program;

/// How long a check waits for anything a correct program does at once (listen,
/// print a line, exit): long enough for a loaded machine; a correct program takes
/// milliseconds, so only a failing check ever waits this long.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How long a program may take to start listening. Longer than [`DEADLINE`]: an
/// interpreter's start-up (Python through a version manager's shim) takes seconds on
/// a loaded machine, and a correct program must never fail for that; a program that
/// exits without listening is told at once whatever this bound.
pub const START: Duration = Duration::from_secs(30);

/// The moment [`DEADLINE`] from now.
pub fn deadline() -> Instant {
    Instant::now() + DEADLINE
}

/// How long a check waits for something a correct program has done by the time the
/// checker looks for it, where a wrong program would make it wait for ever: bytes on
/// stdout while the connection stays open (stdio would hold them until exit), end of
/// file right after a client's whole message (a client that never shuts down sends
/// none). A correct program takes milliseconds; this bound only decides how soon a
/// wrong one is told.
pub const SETTLE: Duration = Duration::from_secs(2);

/// What a check's `run` function gets.
pub struct Ctx<'a> {
    /// The step the program is checked as (a later step re-runs earlier checks).
    pub step: &'static Step,
    /// The program under check.
    pub program: &'a Program,
}

/// A server started by a check, listening.
pub struct Server {
    /// The process (its whole session is killed when this is dropped).
    pub run: Running,
    /// The port it was told to use (`-p P`).
    pub port: u16,
    /// Where it listens: P, or elsewhere when it got the port wrong.
    pub listening: Vec<SocketAddr>,
}

impl Ctx<'_> {
    /// Start the program with `args` appended.
    pub fn start(&self, args: &[String], stdin: Stdin) -> Result<Running, Failure> {
        let argv = self.program.with_args(args);
        Running::start(&argv, &self.program.env, stdin).map_err(|e| {
            Failure::new(
                format!("command: {}", command_line(&argv)),
                "the program starts",
                format!("it could not be started: {e}"),
                "is the command right, and the file executable?",
            )
        })
    }

    /// Start the program as a server on a fresh port P (`-p P`) and wait until it
    /// listens: on P or anywhere (where is for the checks to judge).
    pub fn server(&self) -> Result<Server, Failure> {
        self.server_with(&[])
    }

    /// [`Ctx::server`] with more of the C original's flags after `-p P` (step02's
    /// `-o`, `-B N`).
    pub fn server_with(&self, extra: &[&str]) -> Result<Server, Failure> {
        let mut tries = 0;
        loop {
            let port = port::for_server().map_err(|e| no_port("the server", &e))?;
            match self.server_on_with(port, extra) {
                // P was free when chosen; another program on this machine (another
                // checker, say) took it before ours could bind: choose again.
                Err(failure)
                    if tries < 3
                        && failure.got.contains("Address already in use")
                        && !port::is_free(port) =>
                {
                    tries += 1;
                }
                result => return result,
            }
        }
    }

    /// Start the program as a server told to use `port`, and wait until it listens.
    pub fn server_on(&self, port: u16) -> Result<Server, Failure> {
        self.server_on_with(port, &[])
    }

    fn server_on_with(&self, port: u16, extra: &[&str]) -> Result<Server, Failure> {
        let mut args = vec!["-p".to_string(), port.to_string()];
        args.extend(self.foreground().iter().map(|a| a.to_string()));
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut run = self.start(&args, Stdin::Null)?;
        let listening = wait_listening(&mut run, port)?;
        Ok(Server {
            run,
            port,
            listening,
        })
    }

    /// The flag that keeps a server of this step in the foreground: step05's programs
    /// detach unless given `-f` (SPEC: `-p P -f` for the checks that talk to the
    /// server; its own daemon checks start it without).
    pub fn foreground(&self) -> &'static [&'static str] {
        if self.step.number == 5 {
            &["-f"]
        } else {
            &[]
        }
    }

    /// Start the program as a client, the way step03's is run: `-H HOST -p PORT`,
    /// then the MESSAGE words (none: it sends its stdin).
    pub fn client(
        &self,
        host: &str,
        port: u16,
        words: &[&str],
        stdin: Stdin,
    ) -> Result<Running, Failure> {
        let mut args = vec![
            "-H".to_string(),
            host.to_string(),
            "-p".to_string(),
            port.to_string(),
        ];
        args.extend(words.iter().map(|w| w.to_string()));
        self.start(&args, stdin)
    }
}

/// The failure when no port P can be found (a crowded machine, not the program).
pub fn no_port(for_whom: &str, e: &std::io::Error) -> Failure {
    Failure::new(
        "nothing yet",
        format!("a free port for {for_whom}"),
        format!("none found: {e}"),
        "too many ports are taken on this machine; try again in a minute",
    )
}

impl Server {
    /// True when it listens on `port` (any address).
    pub fn listens_on(&self, port: u16) -> bool {
        self.listening.iter().any(|a| a.port() == port)
    }

    /// Where a client reaches it: P if it listens there, else its first listening
    /// socket (so a check after `htons` can still test what it is about).
    pub fn address(&self) -> SocketAddr {
        let at = self
            .listening
            .iter()
            .find(|a| a.port() == self.port)
            .or_else(|| self.listening.first())
            .copied()
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)));
        // A wildcard address is reached through loopback.
        let ip = match at.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, at.port())
    }

    /// Connect to it, with the deadline on the connection and on every read.
    pub fn connect(&self) -> Result<TcpStream, Failure> {
        let addr = self.address();
        let stream = TcpStream::connect_timeout(&addr, DEADLINE)
            .map_err(|e| self.connect_failed(addr, &e))?;
        let _ = stream.set_read_timeout(Some(DEADLINE));
        let _ = stream.set_write_timeout(Some(DEADLINE));
        Ok(stream)
    }

    /// Connect from `socket` (already bound to the port the check wants the server
    /// to see), with the deadline.
    pub fn connect_from(&self, socket: Socket) -> Result<TcpStream, Failure> {
        let addr = self.address();
        socket
            .connect_timeout(&addr.into(), DEADLINE)
            .map_err(|e| self.connect_failed(addr, &e))?;
        let stream = TcpStream::from(socket);
        let _ = stream.set_read_timeout(Some(DEADLINE));
        let _ = stream.set_write_timeout(Some(DEADLINE));
        Ok(stream)
    }

    fn connect_failed(&self, addr: SocketAddr, e: &std::io::Error) -> Failure {
        // Refused, and the program ends: it was seen listening in the moment between
        // its listen and its exit (no accept at all), not closing its socket early.
        let ended =
            e.kind() == std::io::ErrorKind::ConnectionRefused && self.run.ends_within(SETTLE);
        let failure = Failure::new(
            format!("connect to {addr} (command: {})", self.run.command_line),
            "the connection is accepted",
            format!("connect: {e}"),
            if ended {
                LISTENED_THEN_ENDED
            } else {
                "the server listened, then refused: does it close the listening socket too early?"
            },
        );
        if ended {
            failure.on_slide(24)
        } else {
            failure
        }
    }
}

/// Read from `stream` until the peer closes it or the deadline passes; returns what
/// came, and whether the peer closed (false: the deadline, or a reset).
pub fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return (got, false);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (got, false),
        }
    }
}

/// Wait until the program's processes hold a listening socket; fail with what it did
/// instead (exited, crashed, or kept running without listening).
fn wait_listening(run: &mut Running, port: u16) -> Result<Vec<SocketAddr>, Failure> {
    let deadline = Instant::now() + START;
    let mut pause = Duration::from_millis(1);
    loop {
        let found = listen::listening(&run.processes());
        if !found.is_empty() {
            // Still listening a moment later? A program that listens and exits (no
            // accept) can be caught in the microseconds between the two; a server
            // that stopped listening within CONFIRM is no server either.
            thread::sleep(CONFIRM);
            let found = listen::listening(&run.processes());
            if !found.is_empty() {
                return Ok(found);
            }
            let _ = run.wait_exit(Instant::now() + SETTLE);
            return Err(never_listened(run, port));
        }
        let status = run.exited();
        if status.is_some() && run.processes().is_empty() || Instant::now() >= deadline {
            return Err(never_listened(run, port));
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// How long a listening socket must stay before the program counts as listening.
const CONFIRM: Duration = Duration::from_millis(10);

/// The hint for a program that listens and exits without accepting (slide 24).
const LISTENED_THEN_ENDED: &str = "it listened, then ended before a client could come: after listen, accept (slide 24) waits for a connection";

/// The failure of a server that did not listen: what it did, and the likely mistake
/// read from its last words.
fn never_listened(run: &mut Running, port: u16) -> Failure {
    // Ended: with what it wrote last (its perror line), which the readers may not
    // have taken from the pipe yet; still running: as it is, now.
    let status = run.wait_exit(Instant::now());
    let stderr = run.stderr();
    let text = String::from_utf8_lossy(&stderr);
    let how = match status {
        Some(status) => describe_status(status),
        None => format!("still running after {} s, not listening", START.as_secs()),
    };
    // The port it says it listens on, from its own `listening on ADDR:PORT` line.
    let said = text
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.trim().parse::<u16>().ok());
    let (hint, slide) = if let Some((message, slide)) = todo_message(&text) {
        (
            format!("a todo!() is still in the code ({message}): replace it with the call the slide shows"),
            slide.unwrap_or(17),
        )
    } else if text.contains("Bad file descriptor")
        || text.contains("Socket operation on non-socket")
    {
        ("there is no socket yet: create it with socket(AF_INET, SOCK_STREAM, 0) and keep the descriptor in fd".into(), 17)
    } else if text.contains("accept: Invalid argument") {
        (
            "accept on a socket that is not listening: call listen(fd, BACKLOG) after bind".into(),
            20,
        )
    } else if text.contains("bind: ") {
        ("bind failed, as stderr says: fill in ownAddress (sin_family, sin_port, sin_addr) before bind".into(), 22)
    } else if said == Some(port.swap_bytes()) && port.swap_bytes() != port {
        (
            format!(
                "it said it listened on {} = {port} with its bytes swapped: sin_port needs htons(port), the port in network byte order",
                port.swap_bytes()
            ),
            22,
        )
    } else if said.is_some() && status.is_some() {
        (LISTENED_THEN_ENDED.into(), 24)
    } else if status.is_some_and(|s| s.code().is_none()) {
        (
            "it crashed before listening: look for a pointer or a length that is not set yet"
                .into(),
            23,
        )
    } else {
        ("create the socket (slide 17), bind it to the -p port (slide 18), then listen (slide 20), in that order".into(), 23)
    };
    Failure::new(
        format!("command: {}", run.command_line),
        format!(
            "a socket listening on port {port} within {} s",
            START.as_secs()
        ),
        format!("no listening socket; {how}; stderr {}", shown(&stderr)),
        hint,
    )
    .on_slide(slide)
}

/// `argv` as one line, for a report.
fn command_line(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Re-check `condition` until it holds or the deadline passes: for kernel state that
/// has no event to wait on (a socket entering TIME_WAIT, a process exiting).
pub fn within(deadline: Instant, mut condition: impl FnMut() -> bool) -> bool {
    let mut pause = Duration::from_millis(1);
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// The message and place of a Rust `todo!()` that panicked (`not yet implemented:
/// slide 17: socket`, `src/main.rs:67:5`), and the slide it names, from stderr.
pub fn todo_message(stderr: &str) -> Option<(String, Option<u32>)> {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("not yet implemented"))?;
    let message = lines[at].trim();
    let place = at
        .checked_sub(1)
        .and_then(|i| lines[i].rsplit_once(" panicked at "))
        .map(|(_, place)| place.trim_end_matches(':'));
    let slide = message
        .split("slide ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok());
    let shown = match place {
        Some(place) => format!("`{message}` at {place}"),
        None => format!("`{message}`"),
    };
    Some((shown, slide))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_todo_panic_names_its_place_and_slide() {
        let stderr = "\nthread 'main' (20841) panicked at src/main.rs:67:5:\nnot yet implemented: slide 17: socket\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            todo_message(stderr),
            Some((
                "`not yet implemented: slide 17: socket` at src/main.rs:67:5".to_string(),
                Some(17)
            ))
        );
        assert_eq!(todo_message("bind: Address already in use\n"), None);
    }
}
