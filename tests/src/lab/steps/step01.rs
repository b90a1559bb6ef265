//! Step 01, open a port (slides 17–24): the program is run as `PROG -p P`.
//!
//! Each check starts the program afresh on a port of its own, so it can be run alone
//! and no check depends on what an earlier one left behind. Step 02's server is held
//! to these too (its `applies_to`), all but `exits`: it serves on after a connection;
//! step 05's, run in the foreground (`-f`), and step 06's to listens, htons, reuseaddr
//! and signals (step 05's prints its connections to syslog, or to stderr as
//! `step05-daemon[PID]: …`; step 06's prints no `Connection from`). Each looks for the
//! trace the likely mistake leaves (a port with its bytes swapped, a bind refused after
//! a restart) and names it.

use std::net::{Ipv4Addr, TcpStream};

use crate::lab::check::{Check, Failure, NotPassed, Skip};
use crate::lab::ctx::{deadline, read_until_closed, within, Ctx, Server, DEADLINE};
use crate::lab::listen;
use crate::lab::port::{self, swapped};
use crate::lab::report::{quoted, shown};
use crate::lab::run::describe_status;

/// The checks of step 01, in the order a student meets them.
pub static CHECKS: [Check; 7] = [
    Check {
        id: "step01/listens",
        slide: 23,
        what: "a listening socket appears",
        beyond: false,
        applies_to: &[1, 2, 4, 5, 6],
        run: listens,
    },
    Check {
        id: "step01/htons",
        slide: 22,
        what: "it listens on the port given with -p (htons)",
        beyond: false,
        applies_to: &[1, 2, 4, 5, 6],
        run: htons,
    },
    Check {
        id: "step01/accepts",
        slide: 24,
        what: "it accepts a connection and prints `Connection from: 127.0.0.1:PORT` on stderr",
        beyond: false,
        applies_to: &[1, 2, 4],
        run: accepts,
    },
    Check {
        id: "step01/ntohs",
        slide: 10,
        what: "the port it prints is the client's own (ntohs)",
        beyond: false,
        applies_to: &[1, 2, 4],
        run: ntohs,
    },
    Check {
        id: "step01/exits",
        slide: 24,
        what: "after one connection it closes both sockets and exits 0",
        beyond: false,
        applies_to: &[1],
        run: exits,
    },
    Check {
        id: "step01/reuseaddr",
        slide: 18,
        what: "started again right after a connection, it binds the same port (SO_REUSEADDR)",
        beyond: false,
        applies_to: &[1, 2, 4, 5, 6],
        run: reuseaddr,
    },
    Check {
        id: "step01/signals",
        slide: 46,
        what: "Ctrl-C (SIGINT) or SIGTERM while it waits in accept ends it with exit 0",
        beyond: true,
        applies_to: &[1, 2, 4, 5, 6],
        run: signals,
    },
];

/// socket, bind, listen: the kernel shows a listening socket held by the program.
fn listens(ctx: &Ctx) -> Result<(), NotPassed> {
    ctx.server()?;
    Ok(())
}

/// The listening socket is on P itself; P with its bytes swapped means `sin_port`
/// was set without `htons`.
fn htons(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let p = server.port;
    if server.listens_on(p) {
        return Ok(());
    }
    let ports = server
        .listening
        .iter()
        .map(|a| a.port().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let sent = format!("command: {}", server.run.command_line);
    let expected = format!("a socket listening on port {p}");
    let failure = if server.listens_on(swapped(p)) {
        Failure::new(
            sent,
            expected,
            format!("listening on port {} (= {p} with its two bytes swapped)", swapped(p)),
            format!(
                "the server listens on {} = {p} with its bytes swapped: sin_port needs htons(port), the port in network byte order",
                swapped(p)
            ),
        )
    } else {
        Failure::new(
            sent,
            expected,
            format!("listening on port {ports}"),
            "the port must be the one given with -p: ownAddress.sin_port = htons(port)",
        )
    };
    Err(failure.into())
}

/// A client connects; the server prints `Connection from: 127.0.0.1:PORT` on stderr.
fn accepts(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let client = server.connect()?;
    let (ip, _port) = connection_from(&server, &client)?;
    if ip != Ipv4Addr::LOCALHOST {
        return Err(Failure::new(
            format!("connect from 127.0.0.1 to {}", server.address()),
            "stderr \"Connection from: 127.0.0.1:PORT\\n\"",
            format!("stderr {}", shown(&server.run.stderr())),
            "the address is not the client's: give accept &remAddress and &addrlen, with addrlen = sizeof remAddress before the call",
        )
        .into());
    }
    Ok(())
}

/// The client binds a port whose bytes differ; the printed port must be that one,
/// not its byte swap (`ntohs` forgotten).
fn ntohs(ctx: &Ctx) -> Result<(), NotPassed> {
    let server = ctx.server()?;
    let (socket, client_port) = port::client_socket().map_err(|e| {
        Failure::new(
            "nothing yet",
            "a free port for the checker's client",
            format!("none found: {e}"),
            "too many ports are taken on this machine; try again in a minute",
        )
    })?;
    let client = server.connect_from(socket)?;
    let (_ip, printed) = connection_from(&server, &client)?;
    if printed == client_port {
        return Ok(());
    }
    let sent = format!(
        "connect from 127.0.0.1:{client_port} to {}",
        server.address()
    );
    let expected = format!("stderr \"Connection from: 127.0.0.1:{client_port}\\n\"");
    let got = format!("stderr {}", shown(&server.run.stderr()));
    let failure = if printed == swapped(client_port) {
        Failure::new(
            sent,
            expected,
            got,
            format!(
                "it printed {printed} = {client_port} with its bytes swapped: remAddress.sin_port is in network byte order, print ntohs(remAddress.sin_port)"
            ),
        )
    } else {
        Failure::new(
            sent,
            expected,
            got,
            "print the client's port from remAddress, the address accept filled in: ntohs(remAddress.sin_port)",
        )
        .on_slide(24)
    };
    Err(failure.into())
}

/// After the connection the program closes both sockets and ends with exit 0.
fn exits(ctx: &Ctx) -> Result<(), NotPassed> {
    let mut server = ctx.server()?;
    let _client = server.connect()?;
    let sent = format!(
        "connect to {} (command: {})",
        server.address(),
        server.run.command_line
    );
    match server.run.wait_exit(deadline()) {
        Some(status) if status.code() == Some(0) => Ok(()),
        Some(status) => Err(Failure::new(
            sent,
            "exit 0",
            format!("{}, stderr {}", describe_status(status), shown(&server.run.stderr())),
            "a call failed after accept (stderr says which), or main does not return 0",
        )
        .into()),
        None => Err(Failure::new(
            sent,
            format!("exit 0 within {} s", DEADLINE.as_secs()),
            format!(
                "still running {} s after the connection; stderr {}",
                DEADLINE.as_secs(),
                shown(&server.run.stderr())
            ),
            "step 01 serves one connection: after accept, close(connectionfd), close(fd) and return 0 (the loop comes in step 02)",
        )
        .into()),
    }
}

/// Serve one connection (the server closes first, so its side waits in TIME_WAIT),
/// then start the program again on the same port: with `SO_REUSEADDR` it binds.
fn reuseaddr(ctx: &Ctx) -> Result<(), NotPassed> {
    let mut first = ctx.server()?;
    let port = first.address().port();
    let mut client = first.connect()?;
    // The server ends the connection first, so the TIME_WAIT is on its side; then
    // the client closes. Step 01's server exits after its one connection (or is
    // killed); a later step's serves on, so it is killed once it has accepted, and
    // the kernel closes the connection for it.
    if ctx.step.number == 1 {
        if first.run.wait_exit(deadline()).is_none() {
            first.run.kill();
        }
    } else {
        // Accepted: it says so on stderr, or (step 06 prints nothing) one of its
        // processes holds the connection.
        let peer = client.local_addr().ok();
        within(deadline(), || {
            String::from_utf8_lossy(&first.run.stderr()).contains("Connection from")
                || peer.is_some_and(|p| listen::accepted(&first.run.processes(), port, p))
        });
        first.run.kill();
    }
    read_until_closed(&mut client, deadline());
    drop(client);
    if !within(deadline(), || listen::time_wait_on(port)) {
        return Err(Skip {
            reason: "no TIME_WAIT".into(),
            detail: format!(
                "the connection to port {port} did not end in TIME_WAIT on the server's side, so a restart proves nothing"
            ),
        }
        .into());
    }
    let sent = format!(
        "one connection to port {port}, closed; then again: {}",
        first.run.command_line
    );
    let second = match ctx.server_on(first.port) {
        Ok(second) => second,
        Err(failure) => {
            let in_use = failure.got.contains("Address already in use");
            let hint = if in_use {
                "bind refuses the port while the last connection waits in TIME_WAIT: call setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) before bind"
            } else {
                "the second start did not listen: see what it printed"
            };
            return Err(Failure::new(
                sent,
                format!("it listens on port {port} again"),
                failure.got,
                hint,
            )
            .into());
        }
    };
    if second.listens_on(port) {
        Ok(())
    } else {
        Err(Failure::new(
            sent,
            format!("it listens on port {port} again"),
            format!("listening on {:?}", second.listening),
            "the second start listened elsewhere: use the port given with -p",
        )
        .into())
    }
}

/// Beyond the slides: SIGINT and SIGTERM, sent while the server waits in accept,
/// end it with exit 0 rather than "killed by signal".
fn signals(ctx: &Ctx) -> Result<(), NotPassed> {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let mut server = ctx.server()?;
        // SAFETY: kill(2) on the program we started and have not reaped.
        unsafe { libc::kill(server.run.pid(), signal) };
        let sent = format!("{name} to {}", server.run.command_line);
        match server.run.wait_exit(deadline()) {
            Some(status) if status.code() == Some(0) => {}
            status => {
                let got = status.map_or_else(
                    || format!("still running {} s later", DEADLINE.as_secs()),
                    describe_status,
                );
                return Err(Failure::new(
                    sent,
                    "exit 0",
                    got,
                    format!("catch {name} with sigaction and end with _exit(0) in the handler (beyond the slides: a clean stop for scripts)"),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// Wait for the `Connection from: ` line on stderr; return the address it names.
fn connection_from(server: &Server, client: &TcpStream) -> Result<(Ipv4Addr, u16), Failure> {
    const PREFIX: &str = "Connection from: ";
    let client_addr = client
        .local_addr()
        .map_or_else(|_| "127.0.0.1".to_string(), |a| a.to_string());
    let sent = format!("connect from {client_addr} to {}", server.address());
    let expected = format!("stderr \"{PREFIX}{client_addr}\\n\"");
    let has_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .any(|line| line.contains(PREFIX))
    };
    server.run.wait_stderr(deadline(), |bytes| {
        // A complete line: wait for its newline (or the end of stderr).
        let text = String::from_utf8_lossy(bytes);
        text.find(PREFIX)
            .is_some_and(|at| text[at..].contains('\n'))
    });
    let stderr = server.run.stderr();
    let text = String::from_utf8_lossy(&stderr);
    let line = text.lines().find(|line| line.contains(PREFIX));
    let Some(line) = line else {
        let stdout = server.run.stdout();
        let mut got = format!("stderr {}", shown(&stderr));
        if !stdout.is_empty() {
            got.push_str(&format!(", stdout {}", shown(&stdout)));
        }
        let hint = if has_line(&stdout) {
            "the line went to stdout, which is for data: print status lines on stderr, fprintf(stderr, …)"
        } else if text.contains("accept: ") {
            "accept failed, as stderr says: give it the listening fd, &remAddress and &addrlen"
        } else {
            "after accept returns, print who connected: inet_ntoa(remAddress.sin_addr) and the port, on stderr"
        };
        return Err(Failure::new(sent, expected, got, hint));
    };
    // The address is the first word after the prefix: step 04's line goes on with
    // ` (pid N)`, beyond the slides, which these checks leave to others.
    let after = &line[line.find(PREFIX).unwrap_or(0) + PREFIX.len()..];
    let peer = after.split_whitespace().next().unwrap_or("");
    let parsed = peer
        .rsplit_once(':')
        .and_then(|(ip, port)| Some((ip.parse().ok()?, port.parse().ok()?)));
    parsed.ok_or_else(|| {
        Failure::new(
            sent,
            expected,
            format!("stderr line {}", quoted(line.as_bytes())),
            "print the address as IP:PORT, inet_ntoa(remAddress.sin_addr), a colon, then the port in decimal",
        )
    })
}
