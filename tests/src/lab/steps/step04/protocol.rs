//! The protocol table, as a client sees it: each request and its reply, line endings,
//! requests in pieces or many at once, the client's end of file, QUIT and a line too
//! long. Each check starts the server afresh, connects one client and sends its
//! requests in one write unless it says otherwise.

use std::time::{Duration, Instant};

use crate::lab::check::{Failure, NotPassed};
use crate::lab::ctx::{deadline, within, Ctx, Server};
use crate::lab::report::{quoted, shown};

use super::client::{Client, End};
use super::clock::{self, Stamp};
use super::judge::{ask, common_mistake, expect, failure, hint, parent_holds, Hint};

/// The five commands, as `HELP` must name them.
const COMMANDS: [&str; 5] = ["ECHO", "TIME", "PING", "HELP", "QUIT"];

/// PING → PONG.
pub fn ping(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let client = ask(&server, b"PING\r\n", 1)?;
    expect(&server, &client, b"PONG\r\n", |_| {
        hint("PING is answered with PONG: find the verb (the bytes before the first space) and compare it, in any case, with \"PING\"")
    })?;
    Ok(())
}

/// ECHO text → text, all of it after `ECHO `, spaces included; `ECHO` alone → an
/// empty line.
pub fn echo(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let request = b"ECHO hello world\r\nECHO  two  spaces \r\nECHO\r\nPING\r\n";
    let client = ask(&server, request, 4)?;
    expect(
        &server,
        &client,
        b"hello world\r\n two  spaces \r\n\r\nPONG\r\n",
        echo_hint,
    )?;
    Ok(())
}

/// What a wrong answer to ECHO shows.
fn echo_hint(client: &Client) -> Hint {
    let replies = client.replies();
    let text = match replies.first().map(Vec::as_slice) {
        Some(b"ECHO hello world") => "the reply is the text after \"ECHO \", without the verb",
        Some(b"hello") => {
            "ECHO answers all that follows \"ECHO \", further words and spaces included, not the next word only"
        }
        _ if replies.len() < 4 => {
            "\"ECHO\" alone is answered with an empty line (\"\\r\\n\"), and the conversation goes on"
        }
        _ => {
            "ECHO's reply is exactly the bytes after \"ECHO \" (5 bytes), as sent; ECHO alone gets an empty line"
        }
    };
    hint(text)
}

/// A time zone east of UTC by 5:30 (a POSIX TZ string: no tzdata needed), so local
/// time cannot pass for UTC on a machine whose clock is set to UTC.
const TZ: &str = "LAB-5:30";

/// TIME → now, in UTC, RFC 3339, by the checker's clock give or take a second.
pub fn time(ctx: &Ctx) -> Result<(), NotPassed> {
    let mut program = ctx.program.clone();
    program.env.push(("TZ".into(), TZ.into()));
    let in_zone = Ctx {
        step: ctx.step,
        program: &program,
    };
    let server = in_zone.server()?;
    let before = clock::now();
    let client = ask(&server, b"TIME\r\n", 1)?;
    let after = clock::now();
    let example = "\"2026-11-23T22:05:00Z\\r\\n\"";
    let expected =
        format!("the time now in UTC, RFC 3339, as {example} (the server runs with TZ={TZ})");
    let replies = client.replies();
    let verdict = match replies.as_slice() {
        [reply] => judge_time(&String::from_utf8_lossy(reply), before, after),
        _ => Err(hint(
            "TIME is answered with one line: the current UTC time, RFC 3339",
        )),
    };
    if let Err(h) = verdict {
        let h = common_mistake(&server, &client, b"x\r\n").unwrap_or(h);
        return Err(failure(&server, &client, expected, h).into());
    }
    // The reply is that one line, ending in CRLF, and nothing more.
    expect(
        &server,
        &client,
        &[replies[0].as_slice(), b"\r\n"].concat(),
        |_| hint("TIME is answered with exactly one line"),
    )?;
    Ok(())
}

/// How far east of UTC [`TZ`] is, in seconds.
const TZ_OFFSET: i64 = 5 * 3600 + 30 * 60;

/// A TIME reply read between the checker's clock readings `before` and `after`.
fn judge_time(text: &str, before: i64, after: i64) -> Result<(), Hint> {
    let gmtime =
        "gmtime_r(&now, &utc), then strftime(reply, sizeof reply, \"%Y-%m-%dT%H:%M:%SZ\", &utc)";
    match clock::parse(text) {
        Some(Stamp::Utc(t)) if (before - 1..=after + 1).contains(&t) => Ok(()),
        Some(Stamp::Utc(t)) if (t - before - TZ_OFFSET).abs() <= 2 => Err(hint(format!(
            "that is local time (TZ={TZ} is 5:30 ahead), written as if it were UTC: {gmtime}, not localtime_r"
        ))),
        Some(Stamp::Utc(t)) => Err(hint(format!(
            "the time is off by {} s: take time(NULL), now, then {gmtime}",
            t - before
        ))),
        Some(Stamp::Offset(..)) => Err(hint(format!(
            "that is local time with its offset; the protocol wants UTC, ending in Z: {gmtime}"
        ))),
        None => Err(hint(format!(
            "the format is RFC 3339 in UTC, as 2026-11-23T22:05:00Z: {gmtime}"
        ))),
    }
}

/// HELP → one line that names the five commands.
pub fn help(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let client = ask(&server, b"HELP\r\nPING\r\n", 2)?;
    let replies = client.replies();
    let names_all = |line: &[u8]| {
        let upper = String::from_utf8_lossy(line).to_ascii_uppercase();
        COMMANDS.iter().all(|c| upper.contains(c))
    };
    let good = replies.len() == 2
        && names_all(&replies[0])
        && replies[1] == b"PONG"
        && client.got.ends_with(b"PONG\r\n");
    if good {
        return Ok(());
    }
    let expected =
        "one line naming ECHO, TIME, PING, HELP and QUIT, then \"PONG\\r\\n\"".to_string();
    let names_some = |line: &[u8]| {
        let upper = String::from_utf8_lossy(line).to_ascii_uppercase();
        COMMANDS.iter().any(|c| upper.contains(c))
    };
    let h = common_mistake(&server, &client, b"x\r\n").unwrap_or_else(|| match replies.first() {
        Some(first) if names_all(first) => {
            hint("HELP is answered with one line: the next line is PING's PONG")
        }
        Some(first) if names_some(first) => hint(
            "HELP's one line names all five commands, separated by commas: ECHO <text>, TIME, PING, HELP, QUIT",
        ),
        _ => hint("HELP is answered with one line naming the commands: ECHO <text>, TIME, PING, HELP, QUIT"),
    });
    Err(failure(&server, &client, expected, h).into())
}

/// Commands in any case: `ping`, `PiNg`, `echo`, `QuIt`; the text of ECHO keeps its case.
pub fn case(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let client = ask(&server, b"ping\r\nPiNg\r\necho Hi There\r\nQuIt\r\n", 4)?;
    expect(
        &server,
        &client,
        b"PONG\r\nPONG\r\nHi There\r\nBYE\r\n",
        |c| {
            if c.replies().first().is_some_and(|l| l == b"PONG") {
                hint("ECHO's text keeps its case: compare the verb without case (strncasecmp), do not change the line")
            } else {
                hint(
                    "commands are case-insensitive: compare the verb with strncasecmp, not strncmp",
                )
            }
        },
    )?;
    Ok(())
}

/// Anything else → `ERR unknown command`, and the conversation goes on.
pub fn unknown(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let client = ask(&server, b"HELLO\r\nPINGS\r\nECHOES x\r\n\r\nPING\r\n", 5)?;
    let err = b"ERR unknown command\r\n";
    let expected = [&err[..], err, err, err, b"PONG\r\n"].concat();
    expect(&server, &client, &expected, |c| {
        let replies = c.replies();
        if replies.get(1).is_some_and(|l| l == b"PONG") || replies.get(2).is_some_and(|l| l == b"x")
        {
            hint("PINGS is not PING, nor ECHOES ECHO: the verb is all the bytes before the first space; compare its length too")
        } else if replies.len() < 5 && c.end == Some(End::Eof) {
            hint("an unknown command is answered with ERR unknown command, then the conversation goes on (only QUIT ends it)")
        } else {
            hint("any other line, an empty one included, is answered with \"ERR unknown command\"")
        }
    })?;
    Ok(())
}

/// A request ends in LF or in CRLF; the CR is not part of it.
pub fn line_endings(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let client = ask(&server, b"PING\nPING\r\nECHO lf\nECHO crlf\r\n", 4)?;
    expect(&server, &client, b"PONG\r\nPONG\r\nlf\r\ncrlf\r\n", |c| {
        if c.replies().first().is_some_and(|l| l != b"PONG") {
            hint("a line may end in LF alone (nc sends that): split at the LF, and drop a CR just before it")
        } else {
            hint("a line may end in CRLF (telnet sends that): the CR before the LF is part of the line ending, not of the request")
        }
    })?;
    Ok(())
}

/// A request that arrives in pieces, each read by the server before the next is
/// sent, is answered once, whole.
pub fn split_request(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let mut client = Client::connect(&server)?;
    for piece in [&b"PI"[..], b"NG\r\nEC", b"HO in pieces\r\n"] {
        client.send(piece);
        // The server has read the piece when the kernel holds none of it unread:
        // only then is the next one sure to come in another recv.
        within(deadline(), || {
            client.server_end().is_some_and(|e| e.unread == 0)
        });
    }
    client.lines(2, deadline());
    expect(&server, &client, b"PONG\r\nin pieces\r\n", |_| {
        hint("TCP is a byte stream: one recv may bring part of a line. Keep the bytes until the LF comes, then answer the whole line")
    })
    .map_err(|f| pieces(f, &["PI", "NG\\r\\nEC", "HO in pieces\\r\\n"]))?;
    Ok(())
}

/// Say in `sent` that the bytes went in pieces, each read before the next.
fn pieces(mut failure: Failure, parts: &[&str]) -> Failure {
    let list = parts
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", then ");
    failure.sent = format!(
        "{list}, each sent when the server had read the one before\n{}",
        failure.sent
    );
    failure
}

/// How many requests the pipelining check sends at once: more than one recv of the
/// C original (4096 bytes) takes, so a line is cut between two recv calls.
const PIPELINED: usize = 600;

/// Many requests in one write are answered in order, one line each.
pub fn pipelining(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..PIPELINED {
        let ending: &[u8] = if i % 2 == 0 { b"\r\n" } else { b"\n" };
        request.extend_from_slice(format!("ECHO {i:03}").as_bytes());
        request.extend_from_slice(ending);
        expected.extend_from_slice(format!("{i:03}\r\n").as_bytes());
    }
    let client = ask(&server, &request, PIPELINED)?;
    expect(&server, &client, &expected, |c| {
        let replies = c.replies();
        let first_wrong = replies
            .iter()
            .enumerate()
            .find(|(i, line)| line.as_slice() != format!("{i:03}").as_bytes())
            .map(|(i, _)| i);
        match (replies.len(), first_wrong) {
            (1, _) => hint("one recv can bring many requests: answer every complete line in the buffer, in order, not only the first"),
            (_, Some(i)) => hint(format!(
                "reply {} is {} instead of \"{i:03}\": a request can be cut between two recv calls; keep its first part for the next",
                i + 1,
                quoted(&replies[i])
            )),
            (n, None) => hint(format!(
                "{n} of {PIPELINED} requests were answered: every request line gets its reply, in the order sent"
            )),
        }
    })
    .map_err(|mut f| {
        f.sent = format!(
            "{PIPELINED} requests \"ECHO 000\\r\\n\", \"ECHO 001\\n\", … in one write: {}",
            f.sent
        );
        f
    })?;
    Ok(())
}

/// At the client's end of file the requests left are answered (an unterminated last
/// line too), then the connection closes.
pub fn client_eof(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let mut client = Client::connect(&server)?;
    client.send(b"PING\r\nECHO last");
    client.finish();
    let end = client.read_until_end(deadline());
    let expected = b"PONG\r\nlast\r\n";
    if client.got == expected && end == End::Eof {
        return Ok(());
    }
    let h = if client.got == b"PONG\r\n" {
        hint("at end of file (recv returns 0) an unterminated last line still counts: answer it, then close")
    } else if client.got == expected {
        hint("when recv returns 0 the client is done sending: answer what is left, then close the connection")
    } else {
        common_mistake(&server, &client, expected).unwrap_or_else(|| {
            hint("answer every request the client sent, the last one even without its LF, then close")
        })
    };
    Err(failure(
        &server,
        &client,
        format!("replies {}, then end of file", shown(expected)),
        h,
    )
    .into())
}

/// The slide of the right way to close.
const CLOSE_SLIDE: u32 = 31;

/// How long after the server's end of file the checker may look at the server's
/// socket and still trust what it sees: a server that waits for the client's end
/// (as the slide's way of closing does) waits for a second at least (the C
/// original: LINGER_TIMEOUT).
const LOOK_WITHIN: Duration = Duration::from_millis(500);

/// QUIT → BYE, then the right way to close: the server shuts down its sending side
/// and waits for the client's end of file before it closes (so a client's last
/// bytes cannot make the kernel reset the connection and destroy BYE).
pub fn quit(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut client = Client::connect(&server)?;
        client.send(b"QUIT\r\n");
        let end = client.read_until_end(deadline());
        let at_eof = Instant::now();
        if client.got != b"BYE\r\n" || end != End::Eof {
            return Err(bye_missing(&server, &client, end).into());
        }
        // Still held by a process, waiting for our end of file? Once closed, the
        // kernel finishes the connection alone: inode 0, or no row at all.
        let closed = client.server_end().is_none_or(|e| e.inode == 0);
        if !closed {
            return Ok(());
        }
        // Looked too late (a loaded machine): it may have waited, and given up
        // since. Try again; the third look is trusted.
        if at_eof.elapsed() >= LOOK_WITHIN && attempt < 3 {
            continue;
        }
        return Err(failure(
            &server,
            &client,
            "\"BYE\\r\\n\", end of file, and the server reading on until the client's end of file".into(),
            (
                "after BYE it closed at once, not the right way: shutdown(connectionfd, SHUT_WR), then recv until it returns 0 (the client's end), then close".into(),
                CLOSE_SLIDE,
            ),
        )
        .map_got(|g| format!("{g}; the server's socket was closed before the client's end of file (no process holds it: its inode is 0 in /proc/net/tcp)"))
        .into());
    }
}

/// The failure when QUIT did not get BYE and an end of file.
fn bye_missing(server: &Server, client: &Client, end: End) -> Failure {
    let h = match end {
        End::Silent if client.got == b"BYE\r\n" => silent_after_bye(server, client),
        End::Reset if client.got == b"BYE\r\n" => (
            "the connection was reset after BYE: close() with bytes unread sends a reset; close the right way: shutdown(SHUT_WR), recv until 0, close".into(),
            CLOSE_SLIDE,
        ),
        _ => common_mistake(server, client, b"BYE\r\n")
            .unwrap_or_else(|| hint("QUIT is answered with BYE, then the connection closes")),
    };
    failure(server, client, "\"BYE\\r\\n\", then end of file".into(), h)
}

/// BYE came but the connection stays open: who still holds it?
fn silent_after_bye(server: &Server, client: &Client) -> Hint {
    parent_holds(server, client).unwrap_or_else(|| {
        (
            "after BYE, close the connection (the right way: shutdown(SHUT_WR), recv until 0, close): the client waits for its end".into(),
            CLOSE_SLIDE,
        )
    })
}

/// The longest request line: 1024 bytes, not counting LF or CRLF.
const MAX_LINE: usize = 1024;

/// A request of 1024 bytes is answered; one of 1025 gets `ERR line too long`, then
/// the connection closes.
pub fn line_too_long(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let mut client = Client::connect(&server)?;
    let longest = [b"ECHO ".as_slice(), &vec![b'a'; MAX_LINE - 5]].concat();
    let too_long = [b"ECHO ".as_slice(), &vec![b'b'; MAX_LINE - 4]].concat();
    client.send(&[longest.as_slice(), b"\r\n"].concat());
    client.lines(1, deadline());
    client.send(&[too_long.as_slice(), b"\n"].concat());
    let end = client.read_until_end(deadline());
    let echoed = [&longest[5..], b"\r\n"].concat();
    let expected = [echoed.as_slice(), b"ERR line too long\r\n"].concat();
    if client.got == expected && matches!(end, End::Eof | End::Reset) {
        return Ok(());
    }
    let replies = client.replies();
    let h = if replies.first().is_some_and(|l| l == b"ERR line too long") {
        hint("a request of 1024 bytes (not counting its LF or CRLF) is allowed: is the limit off by one, or the CR counted?")
    } else if client.got == expected {
        hint("after ERR line too long, close the connection")
    } else if replies.get(1).is_some_and(|l| l.starts_with(b"bbb")) {
        hint("a request over 1024 bytes (not counting LF or CRLF) gets ERR line too long, then the connection closes: count the bytes of the line as they come")
    } else {
        common_mistake(&server, &client, &expected).unwrap_or_else(|| {
            hint("a line over 1024 bytes is answered with \"ERR line too long\\r\\n\", then the connection closes")
        })
    };
    let f = failure(
        &server,
        &client,
        format!("replies {}, then the connection closes", shown(&expected)),
        h,
    );
    Err(f
        .map_sent(|_| {
            format!(
                "\"ECHO aaa…a\\r\\n\" ({} bytes before CRLF), then \"ECHO bbb…b\\n\" ({} bytes before LF)\ncommand: {}",
                MAX_LINE,
                MAX_LINE + 1,
                server.run.command_line
            )
        })
        .into())
}

/// Editing a failure's lines in place.
trait Edit {
    fn map_sent(self, f: impl FnOnce(String) -> String) -> Failure;
    fn map_got(self, f: impl FnOnce(String) -> String) -> Failure;
}

impl Edit for Failure {
    fn map_sent(mut self, f: impl FnOnce(String) -> String) -> Failure {
        self.sent = f(self.sent);
        self
    }
    fn map_got(mut self, f: impl FnOnce(String) -> String) -> Failure {
        self.got = f(self.got);
        self
    }
}
