//! Step 03, a client (slides 25–31): the program is run as `PROG -H 127.0.0.1 -p P
//! [MESSAGE…]` against the checker's own server on P ([`Peer`]), which reads until
//! end of file and only then replies, as the later steps' servers do. So a client
//! that never shuts down its sending side gets no reply, and one that closes instead
//! of `shutdown(SHUT_WR)` loses it. Each check runs the program afresh. No check of
//! steps 01 and 02 applies: those are a server's.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitStatus;

use socket2::{Domain, Socket, Type};

use super::copy::{describe_data, describe_got, RECV_TO_STDOUT, STDIN_TO_SERVER};
use crate::data::random_bytes;
use crate::lab::check::{Check, Failure, NotPassed, Skip};
use crate::lab::ctx::{deadline, no_port, todo_message, Ctx, DEADLINE, SETTLE};
use crate::lab::peer::{Conn, End, Peer};
use crate::lab::port;
use crate::lab::preload::with_send_cap;
use crate::lab::report::shown;
use crate::lab::run::{exited_as, Running, Stdin};

/// The checks of step 03, in the order a student meets them.
pub static CHECKS: [Check; 8] = [
    Check {
        id: "step03/connects",
        slide: 27,
        what: "it connects to the -H address on the -p port and prints `Success!` on stderr",
        beyond: false,
        applies_to: &[3],
        run: connects,
    },
    Check {
        id: "step03/message",
        slide: 28,
        what: "the MESSAGE words, joined by spaces, plus \"\\n\", reach the server",
        beyond: false,
        applies_to: &[3],
        run: message,
    },
    Check {
        id: "step03/stdin",
        slide: 28,
        what: "with no MESSAGE, all of stdin reaches the server, byte-exact",
        beyond: false,
        applies_to: &[3],
        run: stdin,
    },
    Check {
        id: "step03/half-close",
        slide: 31,
        what: "after sending it shuts down its sending side and still reads the reply (shutdown(SHUT_WR), not close)",
        beyond: false,
        applies_to: &[3],
        run: half_close,
    },
    Check {
        id: "step03/reply",
        slide: 31,
        what: "the server's reply reaches stdout byte-exact, then it exits 0",
        beyond: false,
        applies_to: &[3],
        run: reply,
    },
    Check {
        id: "step03/partial-send",
        slide: 29,
        what: "with each send cut to 3 bytes, the whole message still arrives (a send loop)",
        beyond: false,
        applies_to: &[3],
        run: partial_send,
    },
    Check {
        id: "step03/refused",
        slide: 27,
        what: "with nobody listening: `connect: Connection refused` on stderr, exit 2",
        beyond: false,
        applies_to: &[3],
        run: refused,
    },
    Check {
        id: "step03/invalid-address",
        slide: 13,
        what: "`-H 1.2.3.256`: `inet_aton: invalid address '1.2.3.256'` on stderr, exit 10",
        beyond: false,
        applies_to: &[3],
        run: invalid_address,
    },
];

/// The MESSAGE words most checks give, and what must reach the server.
const WORDS: [&str; 2] = ["hello", "there"];
const MESSAGE: &[u8] = b"hello there\n";

/// The checker's short reply.
const ACK: &[u8] = b"got it\r\n";

/// The reply of `reply`: bigger than any one recv, NUL bytes included.
const REPLY_LEN: usize = 1 << 20;

/// What `stdin` streams: more than one read's worth, NUL bytes included.
const STDIN_LEN: usize = 1 << 20;

/// The cap on each send in `partial-send`, and the words sent under it (each longer
/// than the cap, as the C original sends word by word).
const CAP: usize = 3;
const CAPPED_WORDS: [&str; 5] = ["partial", "sends", "need", "a", "loop"];

/// Addresses `inet_aton` rejects that start with a digit, so no resolver is asked.
const INVALID: [&str; 4] = ["1.2.3.256", "300.1.2.3", "1.2.3.4.5", "127.0.0.1x"];

/// One run of the client against the checker's server, and how each part went.
struct Session {
    run: Running,
    /// P.
    port: u16,
    /// The connection, with what the client sent; `None` when none came.
    conn: Option<Conn>,
    /// How the client's sending ended (`None` without a connection).
    end: Option<End>,
    /// How the connection ended after the reply (`None` when no reply was sent).
    after_reply: Option<End>,
    /// How the client ended; `None`: still running at the deadline.
    status: Option<ExitStatus>,
    /// The report's "sent" text.
    sent: String,
}

/// Run the client with `words` (or, with none, `stdin`) against the checker's server,
/// which reads until end of file, then replies `reply` and closes. Returns when the
/// client has exited, or at the deadline.
fn session(
    ctx: &Ctx,
    words: &[&str],
    stdin: Option<Vec<u8>>,
    reply: &[u8],
) -> Result<Session, Failure> {
    let peer = Peer::new()?;
    let expected = stdin
        .as_ref()
        .map_or_else(|| message_of(words).len(), Vec::len);
    let stdin_len = stdin.as_ref().map(Vec::len);
    let mut run = ctx.client(
        "127.0.0.1",
        peer.port,
        words,
        stdin.map_or(Stdin::Null, Stdin::Bytes),
    )?;
    let mut sent = format!("command: {}", run.command_line);
    if let Some(len) = stdin_len {
        sent.push_str(&format!(" < {len} random bytes (NULs included)"));
    }
    sent.push_str(&format!(
        "\nthe checker's server on port {} reads until end of file, then replies {} and closes",
        peer.port,
        describe_data(reply)
    ));
    let deadline = deadline();
    let mut conn = peer.accept(&mut run, deadline);
    let (mut end, mut after_reply) = (None, None);
    if let Some(conn) = conn.as_mut() {
        let ended = conn.read_message(expected, deadline);
        end = Some(ended);
        if ended == End::Eof {
            after_reply = Some(conn.reply(reply, deadline));
        }
        // No end of file, no reply: closing tells a client waiting for one.
        conn.close();
    }
    let status = run.wait_exit(deadline);
    Ok(Session {
        run,
        port: peer.port,
        conn,
        end,
        after_reply,
        status,
        sent,
    })
}

/// The MESSAGE words as the server should get them: joined by spaces, then "\n".
fn message_of(words: &[&str]) -> Vec<u8> {
    format!("{}\n", words.join(" ")).into_bytes()
}

impl Session {
    /// What the client sent, or the failure of a client that never connected.
    fn received(&self) -> Result<&[u8], Failure> {
        match &self.conn {
            Some(conn) => Ok(&conn.received),
            None => Err(self.no_connection()),
        }
    }

    /// "It ended with exit 7", "it was still running 10 s later".
    fn ending(&self) -> String {
        match self.status {
            Some(status) => format!("it {}", exited_as(status)),
            None => format!("it was still running {} s later", DEADLINE.as_secs()),
        }
    }

    /// stdout and stderr, for a `got` line.
    fn output(&self) -> String {
        format!(
            "stdout {}, stderr {}",
            shown(&self.run.stdout()),
            shown(&self.run.stderr())
        )
    }

    /// The failure of a client that never connected, with what it said instead.
    fn no_connection(&self) -> Failure {
        let stderr = self.run.stderr();
        let text = String::from_utf8_lossy(&stderr);
        let (hint, slide) = if let Some((message, slide)) = todo_message(&text) {
            (
                format!("a todo!() is still in the code ({message}): replace it with the call the slide shows"),
                slide.unwrap_or(25),
            )
        } else if text.contains("Bad file descriptor") || text.contains("non-socket") {
            ("there is no connected socket: create it, fd = socket(AF_INET, SOCK_STREAM, 0) (slide 25), and connect(fd, (struct sockaddr *)&remoteAddress, sizeof remoteAddress) before printing Success!".into(), 27)
        } else if text.lines().any(|l| l == "Success!") {
            ("it printed Success! without a connection: create the socket, fd = socket(AF_INET, SOCK_STREAM, 0) (slide 25), and connect(fd, (struct sockaddr *)&remoteAddress, sizeof remoteAddress) before saying so".into(), 27)
        } else if text.contains("connect: ") {
            ("connect failed, as stderr says: remoteAddress needs sin_family = AF_INET, sin_port = htons(port) and the -H address in sin_addr".into(), 27)
        } else if self.status.is_none() {
            ("it neither connected nor ended: connect(fd, …) to the -H address and the -p port, then send".into(), 27)
        } else {
            ("connect the socket to the -H address and the -p port: connect(fd, (struct sockaddr *)&remoteAddress, sizeof remoteAddress)".into(), 27)
        };
        Failure::new(
            self.sent.clone(),
            format!("a connection to 127.0.0.1:{}", self.port),
            format!(
                "no connection; {}; stderr {}",
                self.ending(),
                shown(&stderr)
            ),
            hint,
        )
        .on_slide(slide)
    }
}

/// A connection comes to P (not to P byte-swapped), and `Success!` is on stderr.
fn connects(ctx: &Ctx) -> Result<(), NotPassed> {
    let session = session(ctx, &WORDS, None, ACK)?;
    let conn = session
        .conn
        .as_ref()
        .ok_or_else(|| session.no_connection())?;
    let p = session.port;
    if conn.port != p {
        return Err(Failure::new(
            session.sent.clone(),
            format!("a connection to port {p}"),
            format!(
                "a connection to port {} (= {p} with its two bytes swapped)",
                conn.port
            ),
            format!(
                "it connected to {} = {p} with its bytes swapped: sin_port needs htons(port), the port in network byte order",
                conn.port
            ),
        )
        .into());
    }
    let stderr = session.run.stderr();
    if has_line(&stderr, "Success!") {
        return Ok(());
    }
    let hint = if has_line(&session.run.stdout(), "Success!") {
        "Success! went to stdout, which is for the reply: print status lines on stderr, fprintf(stderr, \"Success!\\n\")"
    } else {
        "once connect has succeeded, say so: fprintf(stderr, \"Success!\\n\")"
    };
    Err(Failure::new(
        session.sent.clone(),
        "stderr line \"Success!\\n\"",
        session.output(),
        hint,
    )
    .into())
}

/// `hello there` on the command line: the server gets `hello there\n`.
fn message(ctx: &Ctx) -> Result<(), NotPassed> {
    let session = session(ctx, &WORDS, None, ACK)?;
    let received = session.received()?;
    if received == MESSAGE {
        return Ok(());
    }
    let first = format!("{}\n", WORDS[0]).into_bytes();
    let hint = if received.is_empty() {
        "nothing arrived: send the MESSAGE words, argv[optind] to argv[argc - 1], with a space between them and \"\\n\" after the last".to_string()
    } else if received == WORDS.concat().as_bytes()
        || received == format!("{}\n", WORDS.concat()).as_bytes()
    {
        "the words arrived without the spaces between them: send a space after each word but the last".into()
    } else if received == WORDS.join(" ").as_bytes() {
        "the message has no line ending: send \"\\n\" after the last word".into()
    } else if received == WORDS[0].as_bytes() || received == first {
        "only the first word arrived: send every MESSAGE word, argv[optind] to argv[argc - 1]"
            .into()
    } else if MESSAGE.starts_with(received) {
        format!(
            "only the first {} of {} bytes arrived: send may send less than asked, so send again until every byte is gone (sendall, slide 29)",
            received.len(),
            MESSAGE.len()
        )
    } else if received.starts_with(MESSAGE) {
        format!(
            "{} bytes more than the message arrived: send exactly the bytes of each word (strlen(word), not sizeof)",
            received.len() - MESSAGE.len()
        )
    } else {
        "send the MESSAGE words joined by single spaces, then \"\\n\"".into()
    };
    Err(Failure::new(
        session.sent.clone(),
        format!("the server receives {}", shown(MESSAGE)),
        format!("the server received {}", shown(received)),
        hint,
    )
    .into())
}

/// No MESSAGE: 1 MiB of stdin (NUL bytes included) reaches the server byte-exact.
fn stdin(ctx: &Ctx) -> Result<(), NotPassed> {
    stdin_stream(ctx, STDIN_LEN)
}

/// `len` random bytes on stdin, no MESSAGE: the server receives them byte-exact
/// (`cargo test` runs it with 100 MiB, as SPEC asks of the references).
pub fn stdin_stream(ctx: &Ctx, len: usize) -> Result<(), NotPassed> {
    let data = random_bytes(0x57d1 ^ len as u64, len);
    let session = session(ctx, &[], Some(data.clone()), ACK)?;
    let received = session.received()?;
    if received == data {
        return Ok(());
    }
    Err(Failure::new(
        session.sent.clone(),
        format!("the server receives the {len} bytes of stdin"),
        format!("the server received {}", describe_got(&data, received)),
        STDIN_TO_SERVER.hint(&data, received, &session.run.stderr()),
    )
    .into())
}

/// The server gets end of file after the message, replies, and the reply is not
/// lost: the client's socket is still open for reading.
fn half_close(ctx: &Ctx) -> Result<(), NotPassed> {
    let session = session(ctx, &WORDS, None, ACK)?;
    let received = session.received()?;
    let stderr = session.run.stderr();
    let got_so_far = format!("the server received {}", shown(received));
    let (got, hint) = match (session.end, session.after_reply) {
        (Some(End::Eof), Some(End::Reset)) => {
            let hint = if String::from_utf8_lossy(&stderr).contains("Bad file descriptor") {
                "close(fd) told the server \"no more data\", but gave up the whole socket: the reply was refused and recv had no descriptor left to read it from; shutdown(fd, SHUT_WR) ends only the sending side, close(fd) comes after recv returned 0"
            } else {
                "the client closed its socket before the reply was read, so the reply was refused: shutdown(fd, SHUT_WR), then recv until it returns 0, then close(fd)"
            };
            (
                format!(
                    "{got_so_far}, then end of file; its reply was refused (the connection reset); {}; {}",
                    session.ending(),
                    session.output()
                ),
                hint,
            )
        }
        (Some(End::Eof), _) => return Ok(()),
        (Some(End::Quiet | End::Deadline), _) => (
            format!(
                "{got_so_far}, then no end of file for {} s; {}",
                SETTLE.as_secs(),
                session.ending()
            ),
            "the server waits for end of file before it replies, and the client waits for the reply: after the last send, shutdown(fd, SHUT_WR) tells the server you are done sending",
        ),
        (Some(End::Reset), _) | (None, _) => (
            format!(
                "{got_so_far}, then the connection was reset; {}; {}",
                session.ending(),
                session.output()
            ),
            "the client ended the connection without an orderly end of file: shutdown(fd, SHUT_WR), then recv until it returns 0, then close(fd)",
        ),
    };
    Err(Failure::new(
        session.sent.clone(),
        "end of file after the message, and the reply read until the server closes",
        got,
        hint,
    )
    .into())
}

/// A 1 MiB binary reply comes out of stdout byte for byte, then the client exits 0.
fn reply(ctx: &Ctx) -> Result<(), NotPassed> {
    let reply = random_bytes(0x4e91, REPLY_LEN);
    let session = session(ctx, &WORDS, None, &reply)?;
    session.received()?;
    let stdout = session.run.stdout();
    let stderr = session.run.stderr();
    let expected = format!("stdout {}, then exit 0", describe_data(&reply));
    if session.end != Some(End::Eof) {
        return Err(Failure::new(
            session.sent.clone(),
            expected,
            format!("no end of file came, so no reply was sent; {}", session.ending()),
            "the server replies after end of file: shutdown(fd, SHUT_WR) after the last send (see step03/half-close)",
        )
        .into());
    }
    let exit_0 = session.status.is_some_and(|s| s.code() == Some(0));
    if stdout == reply && exit_0 {
        return Ok(());
    }
    let got = format!(
        "stdout {}; {}; stderr {}",
        describe_got(&reply, &stdout),
        session.ending(),
        shown(&stderr)
    );
    let hint = if stdout != reply {
        let recv_failed = String::from_utf8_lossy(&stderr).contains("recv: ");
        if stdout.is_empty() && recv_failed {
            "recv failed, as stderr says: read the reply from the connected socket fd, after shutdown(fd, SHUT_WR), not after close(fd)".to_string()
        } else {
            RECV_TO_STDOUT.hint(&reply, &stdout, &stderr)
        }
    } else if session.status.is_none() {
        "recv returns 0 once the server has closed: then leave the loop, close(fd) and return 0"
            .to_string()
    } else {
        "after recv returned 0, close(fd) and return 0 (a failing call says so on stderr)"
            .to_string()
    };
    Err(Failure::new(session.sent.clone(), expected, got, hint).into())
}

/// Every send cut to 3 bytes by the `LD_PRELOAD` shim: the server still receives
/// what it receives without the cap, because the program sends again until every
/// byte is gone. (Whether those bytes are the right ones is step03/message's.)
fn partial_send(ctx: &Ctx) -> Result<(), NotPassed> {
    let (capped, log) = with_send_cap(ctx.program, CAP)?;
    let free = session(ctx, &CAPPED_WORDS, None, ACK)?;
    let uncapped = free.received()?;
    let capped_ctx = Ctx {
        step: ctx.step,
        program: &capped,
    };
    let session = session(&capped_ctx, &CAPPED_WORDS, None, ACK)?;
    if !log.loaded() {
        return Err(Skip {
            reason: "no LD_PRELOAD".into(),
            detail: "the program did not load the send-capping shim (a static binary, or one that clears LD_PRELOAD), so partial sends cannot be forced".into(),
        }
        .into());
    }
    let received = session.received()?;
    if received == uncapped {
        return Ok(());
    }
    let sent = format!(
        "{}\nwith LD_PRELOAD=send-cap.so (tests/lab/shim/send-cap.c): each send returns at most {CAP} bytes ({} sends were cut)",
        session.sent,
        log.capped()
    );
    let hint = if received.len() < uncapped.len() {
        format!(
            "send returned fewer bytes than asked and the rest was never sent: {} of {} bytes arrived; send again from where it stopped until every byte is gone (sendall, slide 29)",
            received.len(),
            uncapped.len()
        )
    } else {
        "send again from where the last send stopped, data + transferred, len - transferred, until every byte is gone (sendall, slide 29)".to_string()
    };
    Err(Failure::new(
        sent,
        format!(
            "the server receives what it does without the cap, {}",
            shown(uncapped)
        ),
        format!("the server received {}", shown(received)),
        hint,
    )
    .into())
}

/// Nobody listens on P: `connect: Connection refused`, exit 2.
fn refused(ctx: &Ctx) -> Result<(), NotPassed> {
    let (_held, p) = refused_port()?;
    let mut run = ctx.client("127.0.0.1", p, &WORDS[..1], Stdin::Null)?;
    let status = run.wait_exit(deadline());
    let stderr = run.stderr();
    let said = has_line(&stderr, "connect: Connection refused");
    let code = status.and_then(|s| s.code());
    if said && code == Some(2) {
        return Ok(());
    }
    let ending = status.map_or_else(
        || format!("still running {} s later", DEADLINE.as_secs()),
        exited_as,
    );
    let hint = if said {
        "connect failed and said so, but the slide's client then exits with 2: exit(2) after perror(\"connect\") (1 is for socket)".to_string()
    } else if has_line(&stderr, "Success!") {
        "it said Success! though nothing listens there: connect must be called and its result checked; on -1, perror(\"connect\") and exit(2)".into()
    } else {
        "when connect returns -1, perror(\"connect\") prints the reason (connect: Connection refused); then exit(2)".into()
    };
    Err(Failure::new(
        format!(
            "command: {} (nothing listens on port {p})",
            run.command_line
        ),
        "stderr line \"connect: Connection refused\\n\", exit 2",
        format!("stderr {}; it {ending}", shown(&stderr)),
        hint,
    )
    .into())
}

/// An address `inet_aton` rejects: `inet_aton: invalid address 'X'`, exit 10,
/// before any connection is tried.
fn invalid_address(ctx: &Ctx) -> Result<(), NotPassed> {
    let (_held, p) = refused_port()?;
    for host in INVALID {
        let mut run = ctx.client(host, p, &WORDS[..1], Stdin::Null)?;
        let status = run.wait_exit(deadline());
        let stderr = run.stderr();
        let line = format!("inet_aton: invalid address '{host}'");
        let said = has_line(&stderr, &line);
        if said && status.and_then(|s| s.code()) == Some(10) {
            continue;
        }
        let ending = status.map_or_else(
            || format!("still running {} s later", DEADLINE.as_secs()),
            exited_as,
        );
        let text = String::from_utf8_lossy(&stderr);
        let failure = Failure::new(
            format!("command: {}", run.command_line),
            format!("stderr line \"{line}\\n\", exit 10"),
            format!("stderr {}; it {ending}", shown(&stderr)),
            "",
        );
        let failure = if said {
            Failure {
                hint: "the address was refused and said so, but the slide's code for it is 10: exit(10) after the message".into(),
                ..failure
            }
        } else if text.contains("connect: ") || text.contains("Success!") {
            Failure {
                hint: format!("'{host}' is no address, yet the program went on to connect: inet_addr returns INADDR_NONE for it, which is also 255.255.255.255; use inet_aton and, when it returns 0, print inet_aton: invalid address '{host}' and exit(10)"),
                ..failure
            }
            .on_slide(11)
        } else {
            Failure {
                hint: "when inet_aton returns 0, print inet_aton: invalid address 'HOST' on stderr and exit(10)".into(),
                ..failure
            }
        };
        return Err(failure.into());
    }
    Ok(())
}

/// A port on 127.0.0.1 where nobody listens, held (bound, not listening) for the
/// check's duration: a connection to it is refused. P byte-swapped is free too
/// (port::for_server), so a client without htons is refused there as well.
fn refused_port() -> Result<(Socket, u16), Failure> {
    let failed = |e: io::Error| no_port("a refused connection", &e);
    let mut tries = 0;
    loop {
        let p = port::for_server().map_err(failed)?;
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(failed)?;
        match socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, p)).into()) {
            Ok(()) => return Ok((socket, p)),
            // Free when chosen, taken since by another program on this machine.
            Err(_) if tries < 3 => tries += 1,
            Err(e) => return Err(failed(e)),
        }
    }
}

/// True when `bytes` has `line` as a whole line.
fn has_line(bytes: &[u8], line: &str) -> bool {
    String::from_utf8_lossy(bytes)
        .lines()
        .any(|l| l.trim_end_matches('\r') == line)
}

#[cfg(test)]
mod tests {
    use super::super::copy::contains;
    use super::*;

    #[test]
    fn the_message_is_the_words_with_spaces_and_a_newline() {
        assert_eq!(message_of(&WORDS), MESSAGE);
        assert_eq!(message_of(&CAPPED_WORDS), b"partial sends need a loop\n");
        assert!(CAPPED_WORDS.iter().filter(|w| w.len() > CAP).count() >= 3);
        assert!(contains(b"xx\nSuccess!\n", b"Success!"));
        assert!(has_line(b"listening\nSuccess!\r\n", "Success!"));
        assert!(!has_line(b"Success!!\n", "Success!"));
    }
}
