//! Step 02, receive (slides 24–26): the program is run as `PROG -p P`, plus `-o`
//! (serve one client, then exit) where a check judges what reached stdout, and
//! `-B 65536` where it moves megabytes.
//!
//! The checker is the client: it connects, sends bytes it chose, and reads the
//! program's stdout. What arrives and when it arrives are separate checks:
//! `verbatim`, `binary-safe` and `large` run with `-o`, so that bytes a stdio buffer
//! held back are flushed at exit and only their content is judged; `unbuffered`
//! judges their timing. Step 01's checks that still apply (it listens on P, prints
//! the client's address and port, binds again at once) are re-run before these.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitStatus;
use std::time::Instant;

use super::copy::{contains, describe_data, describe_got, RECV_TO_STDOUT};
use crate::data::random_bytes;
use crate::lab::check::{Check, Failure, NotPassed};
use crate::lab::ctx::{deadline, within, Ctx, Server, DEADLINE, SETTLE};
use crate::lab::peer::{read_to_end, End};
use crate::lab::report::{quoted, shown};
use crate::lab::run::exited_as;

/// The checks of step 02, in the order a student meets them.
pub static CHECKS: [Check; 6] = [
    Check {
        id: "step02/verbatim",
        slide: 26,
        what: "every received byte reaches stdout unchanged",
        beyond: false,
        applies_to: &[2],
        run: verbatim,
    },
    Check {
        id: "step02/binary-safe",
        slide: 26,
        what: "bytes after a NUL byte reach stdout (no strlen, no printf(\"%s\"))",
        beyond: false,
        applies_to: &[2],
        run: binary_safe,
    },
    Check {
        id: "step02/unbuffered",
        slide: 26,
        what: "bytes reach stdout while the connection is still open (no stdio buffering)",
        beyond: false,
        applies_to: &[2],
        run: unbuffered,
    },
    Check {
        id: "step02/closed",
        slide: 26,
        what: "it prints `Connection closed: 127.0.0.1:PORT` on stderr when the client closes",
        beyond: false,
        applies_to: &[2],
        run: closed,
    },
    Check {
        id: "step02/accept-loop",
        slide: 24,
        what: "a second client is served after the first (the accept loop)",
        beyond: false,
        applies_to: &[2],
        run: accept_loop,
    },
    Check {
        id: "step02/large",
        slide: 26,
        what: "a 4 MiB binary stream arrives byte-exact",
        beyond: false,
        applies_to: &[2],
        run: large,
    },
];

/// Text whose length is no multiple of the slides' 5-byte buffer: the last `recv`
/// is short, so a `strlen` on the buffer shows the bytes an earlier one left there.
const TEXT: &[u8] = b"hello world\n";

/// SPEC's example: text around a NUL byte.
const BINARY: &[u8] = b"ab\0cd\n";

/// The size of `large`'s stream: megabytes, yet a fraction of a second.
const LARGE: usize = 4 << 20;

/// A line of text, sent and kept open.
const OPEN: &[u8] = b"are you there?\n";

/// The client sends `hello world\n` and closes: stdout holds exactly those bytes.
fn verbatim(ctx: &Ctx) -> Result<(), NotPassed> {
    compare(&serve_one(ctx, &["-o"], TEXT)?, TEXT)
}

/// The client sends `ab\0cd\n`: the bytes after the NUL reach stdout too.
fn binary_safe(ctx: &Ctx) -> Result<(), NotPassed> {
    compare(&serve_one(ctx, &["-o"], BINARY)?, BINARY)
}

/// 4 MiB of random bytes (NULs included) come out of stdout byte for byte.
fn large(ctx: &Ctx) -> Result<(), NotPassed> {
    stream(ctx, LARGE)
}

/// `len` random bytes from one client, with `-B 65536 -o`, come out of stdout byte
/// for byte (`cargo test` runs it with 100 MiB, as SPEC asks of the references).
pub fn stream(ctx: &Ctx, len: usize) -> Result<(), NotPassed> {
    let data = random_bytes(0x5eed ^ len as u64, len);
    compare(&serve_one(ctx, &["-o", "-B", "65536"], &data)?, &data)
}

/// What happened when one client sent its bytes and closed.
struct Served {
    server: Server,
    /// What the report says was sent.
    sent: String,
    /// Everything on stdout once the program was done with the client.
    stdout: Vec<u8>,
    /// How it ended, if it did.
    status: Option<ExitStatus>,
}

/// Start the program with `-p P` and `extra` (which has `-o`), send `data` from one
/// client, close, and collect stdout once the program has exited (a stdio buffer is
/// flushed then), or, for a program that ignores `-o`, [`SETTLE`] after it said the
/// connection closed.
fn serve_one(ctx: &Ctx, extra: &[&str], data: &[u8]) -> Result<Served, Failure> {
    let mut server = ctx.server_with(extra)?;
    let mut client = server.connect()?;
    let from = peer_name(&client);
    let written = send_all(&mut client, data);
    let _ = client.shutdown(Shutdown::Write);
    let mut sent = format!(
        "{} from {from}, then its end of file\ncommand: {}",
        describe_data(data),
        server.run.command_line
    );
    if written < data.len() {
        sent.push_str(&format!(
            "\n(only {written} of {} bytes could be sent: the program stopped reading)",
            data.len()
        ));
    }
    let mut closed_at: Option<Instant> = None;
    within(deadline(), || {
        if server.run.exited().is_some() {
            return true;
        }
        match closed_at {
            Some(at) => at.elapsed() >= SETTLE,
            None => {
                if closed_line(&server.run.stderr()).is_some() {
                    closed_at = Some(Instant::now());
                }
                false
            }
        }
    });
    // Once it has exited, let the readers take what it wrote last.
    let status = server
        .run
        .exited()
        .and_then(|_| server.run.wait_exit(Instant::now()));
    let stdout = server.run.stdout();
    drop(client);
    Ok(Served {
        server,
        sent,
        stdout,
        status,
    })
}

/// Pass when stdout is exactly `data`; otherwise say how it differs and why.
fn compare(served: &Served, data: &[u8]) -> Result<(), NotPassed> {
    if served.stdout == data {
        return Ok(());
    }
    let stderr = served.server.run.stderr();
    let mut got = format!("stdout {}", describe_got(data, &served.stdout));
    if let Some(status) = served.status.filter(|s| !s.success()) {
        got.push_str(&format!("; it {}", exited_as(status)));
    }
    if says_more(&stderr) {
        got.push_str(&format!("\nstderr {}", shown(&stderr)));
    }
    Err(Failure::new(
        served.sent.clone(),
        format!("stdout {}", describe_data(data)),
        got,
        RECV_TO_STDOUT.hint(data, &served.stdout, &stderr),
    )
    .into())
}

/// While the connection stays open, the bytes sent reach stdout.
fn unbuffered(ctx: &Ctx) -> Result<(), NotPassed> {
    let mut server = ctx.server_with(&["-o"])?;
    let mut client = server.connect()?;
    // Time from the moment it accepted: a slow start is not held against it.
    server.run.wait_stderr(deadline(), |b| {
        String::from_utf8_lossy(b).contains("Connection from")
    });
    send_all(&mut client, OPEN);
    // Bounded on purpose (SETTLE, not DEADLINE): write(2) puts the bytes on stdout
    // within milliseconds, while a stdio buffer would hold them until exit, so
    // waiting longer would only make that failure slower to see.
    if server
        .run
        .wait_stdout(Instant::now() + SETTLE, |out| out.len() >= OPEN.len())
    {
        return Ok(());
    }
    let before = server.run.stdout();
    let sent = format!(
        "{} from {}, the connection kept open for {} s, then closed\ncommand: {}",
        shown(OPEN),
        peer_name(&client),
        SETTLE.as_secs(),
        server.run.command_line
    );
    // Now close: with -o the program exits, and a stdio buffer is flushed then.
    drop(client);
    let status = server.run.wait_exit(deadline());
    let after = server.run.stdout();
    let ending = match status {
        Some(status) => format!("once it {}", exited_as(status)),
        None => format!(
            "and still running {} s after the client closed",
            DEADLINE.as_secs()
        ),
    };
    let got = format!(
        "stdout {} while the connection was open; {} {ending}",
        shown(&before),
        shown(&after)
    );
    let hint = if after.len() > before.len() {
        "the bytes arrived only when the program exited: stdout is a pipe here, and stdio buffers a pipe (4096 bytes) until exit; write them with write(1, buffer, n), which does not buffer, or fflush(stdout) after each fwrite or printf"
    } else if !before.is_empty() {
        "only part of the bytes arrived while the connection was open: write each chunk as soon as recv returns it"
    } else {
        "nothing reached stdout, not even at exit: after each recv, write the n bytes it returned to stdout"
    };
    Err(Failure::new(
        sent,
        format!(
            "stdout {} within {} s, the connection still open",
            quoted(OPEN),
            SETTLE.as_secs()
        ),
        got,
        hint,
    )
    .into())
}

/// The client closes: `Connection closed: 127.0.0.1:PORT`, its own address, on stderr.
fn closed(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let mut client = server.connect()?;
    let from = peer_name(&client);
    send_all(&mut client, b"bye\n");
    let _ = client.shutdown(Shutdown::Write);
    let expected = format!("Connection closed: {from}");
    server
        .run
        .wait_stderr(deadline(), |b| closed_line(b).is_some());
    let stderr = server.run.stderr();
    let line = closed_line(&stderr);
    if line.as_deref() == Some(expected.as_str()) {
        return Ok(());
    }
    let stdout = server.run.stdout();
    let mut got = format!("stderr {}", shown(&stderr));
    if !stdout.is_empty() {
        got.push_str(&format!(", stdout {}", shown(&stdout)));
    }
    let hint = match line {
        Some(_) => "name the client that closed as `Connection from` did: inet_ntoa(remAddress.sin_addr), a colon, ntohs(remAddress.sin_port)",
        None if contains(&stdout, b"Connection closed") => {
            "the line went to stdout, which is for the data: print status lines on stderr, fprintf(stderr, …)"
        }
        None => {
            "recv returns 0 when the client has closed: then print `Connection closed: IP:PORT` on stderr and leave the recv loop"
        }
    };
    Err(Failure::new(
        format!(
            "\"bye\\n\" from {from}, then its end of file (command: {})",
            server.run.command_line
        ),
        format!("stderr line \"{expected}\\n\""),
        got,
        hint,
    )
    .into())
}

/// A second client, connected while the first is still served (it waits in the
/// listen queue), is served once the first has closed: the program reads it to its
/// end and closes it. (What reaches stdout is for the checks above.)
fn accept_loop(ctx: &Ctx) -> Result<(), NotPassed> {
    let mut server = ctx.server()?;
    let mut first = server.connect()?;
    send_all(&mut first, b"first\n");
    let second = server.connect();
    let _ = first.shutdown(Shutdown::Write);
    drop(first);
    let sent = format!(
        "\"first\\n\" from one client; a second client connects; the first closes; the second sends \"second\\n\" and its end of file\ncommand: {}",
        server.run.command_line
    );
    // The server closing the second connection in order (end of file, not a
    // reset) is what serving it to its end looks like from here.
    let ended = second.map(|mut second| {
        // A reset that came before the write is reported by the write (or by
        // shutdown, on a connection already over), and not again by a read.
        let data = b"second\n";
        if send_all(&mut second, data) < data.len() || second.shutdown(Shutdown::Write).is_err() {
            return End::Reset;
        }
        read_to_end(&mut second, deadline())
    });
    match ended {
        Ok(End::Eof) => return Ok(()),
        // Reset: the listening socket was closed with the client still in its
        // queue; the program is on its way out.
        Ok(End::Reset) | Err(_) => {
            server.run.wait_exit(deadline());
        }
        Ok(_) => {}
    }
    let stderr = server.run.stderr();
    let accepted = String::from_utf8_lossy(&stderr)
        .matches("Connection from")
        .count();
    let mut got = format!("stderr {}", shown(&stderr));
    let hint = match server.run.exited() {
        Some(status) => {
            got.push_str(&format!(
                "; it {} after the first client",
                exited_as(status)
            ));
            "it ends after one client, as step 01 did: put accept … close(connectionfd) in a loop, for (;;), so the next client is accepted"
        }
        None if accepted < 2 => {
            got.push_str("; the second client was never accepted");
            "the second client waits in the listen queue and is never accepted: after close(connectionfd), go back to accept"
        }
        None => {
            got.push_str("; the second connection was not closed");
            "the second client was accepted but not served to its end: for every client, recv until it returns 0, then close(connectionfd)"
        }
    };
    Err(Failure::new(
        sent,
        "the second client is accepted, read until its end of file, and closed",
        got,
        hint,
    )
    .into())
}

/// True when stderr has more than the status lines of a server that works (an
/// error, a crash report): worth showing under a failure.
fn says_more(stderr: &[u8]) -> bool {
    String::from_utf8_lossy(stderr).lines().any(|l| {
        !["listening on ", "Connection from: ", "Connection closed: "]
            .iter()
            .any(|status| l.starts_with(status))
    })
}

/// `Connection closed: …` from stderr, the first complete such line.
fn closed_line(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let at = text.find("Connection closed")?;
    let rest = &text[at..];
    let end = rest.find('\n')?;
    Some(rest[..end].trim_end_matches('\r').to_string())
}

/// Send as much of `data` as the program takes before the deadline; how much went.
fn send_all(stream: &mut TcpStream, data: &[u8]) -> usize {
    let mut done = 0;
    while done < data.len() {
        match stream.write(&data[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    done
}

/// The client's own address, as the program should print it.
fn peer_name(stream: &TcpStream) -> String {
    stream
        .local_addr()
        .map_or_else(|_| "127.0.0.1".to_string(), |a: SocketAddr| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_line_is_read_whole() {
        assert_eq!(closed_line(b"Connection closed: 127.0.0.1:4"), None);
        assert_eq!(
            closed_line(b"x\nConnection closed: 127.0.0.1:4000\n").as_deref(),
            Some("Connection closed: 127.0.0.1:4000")
        );
    }
}
