//! Step 01: open a port (slides 17–24).
//!
//! A server that merely opens a port: it creates a socket, binds it to PORT, listens,
//! accepts one connection, says who connected, closes both sockets and exits 0.
//!
//! New in this step (everything is new): `socket`, `setsockopt(SO_REUSEADDR)`,
//! `struct sockaddr_in` with `htons` and `inet_aton`, `bind`, `listen`, `accept`,
//! `inet_ntoa`, `close`.
//!
//! Run it and poke it, in two terminals:
//!
//! ```text
//! $ cargo run -p step01-open-port            # terminal 1: listening on 0.0.0.0:1234
//! $ nc 127.0.0.1 1234                        # terminal 2 (or: telnet 127.0.0.1 1234)
//! ```
//!
//! Terminal 1 then prints `Connection from: 127.0.0.1:PORT` and the program ends.
//! Add `--explain` to see every call as strace would show it, `--wire` (root, or the
//! `unshare -rn` shell of the README) to see the segments each call puts on the wire.
//!
//! The C this mirrors, call for call, is `original.c` beside this crate; the walkthrough
//! table is in `README.md`. Sockets here are owned `socket2::Socket` values rather than
//! `int`s: they are closed when dropped, and `close` below closes them explicitly, as
//! the C does. The program is single-threaded on purpose.

use std::process::ExitCode;

use clap::Parser;
use common::cli::{self, ServerArgs, SERVER_EXIT_CODES};
use common::inet::inet_aton;
use common::signals::install_stop_handlers;
use common::sockaddr::SockaddrIn;
use common::socket::{accept, bind, close, getsockname, listen, setsockopt_reuseaddr, socket};
use common::{diag, explain, CallError};
use socket2::{Domain, Type};

/// Length of the queue of connections waiting for `accept` (slide 20: "usually
/// 5...10"). A teaching value, enough for one person with `nc`; a web server needs
/// far more (see step06).
const BACKLOG: i32 = 5;

/// Step 01: open a port, accept one connection, say who it was, close.
#[derive(Parser)]
#[command(version, after_help = SERVER_EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    // --explain and --wire: the capture opens before our first socket
    if let Err(err) = explain::start(cli.server.explain, cli.server.wire) {
        return diag::fail(&err);
    }
    match open_port(&cli.server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => diag::fail(&err),
    }
}

/// The lecture's sequence: socket, setsockopt, bind, listen, accept, close.
fn open_port(args: &ServerArgs) -> Result<(), CallError> {
    // Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 instead of
    // "killed by signal" (the handler calls _exit(0); see common::signals).
    install_stop_handlers()?;

    // socket: a TCP endpoint for IPv4, no address yet (slide 17)
    let fd = socket(Domain::IPV4, Type::STREAM)?;
    // setsockopt(SO_REUSEADDR): restart at once even while old connections to this
    // port sit in TIME_WAIT
    setsockopt_reuseaddr(&fd)?;

    // struct sockaddr_in: family, port and address in network byte order, sin_zero
    // zeroed (slides 10–13, 22); inet_aton rejects a bad --bind with exit 10
    let own_address = SockaddrIn::new(inet_aton(&args.bind)?, args.port);

    // bind: attach the socket to that address and port (slides 18, 23)
    bind(&fd, &own_address)?;
    // listen: the kernel now queues incoming connections (slides 20, 23)
    listen(&fd, BACKLOG)?;

    // Beyond the slides: ask which port we got (it matters with --port 0) and say so;
    // this one line is what scripts and tests wait for
    let own_address = getsockname(&fd)?;
    diag::report(&format!("listening on {own_address}"));

    // accept: block until a client connects; connectionfd is that one conversation,
    // fd keeps listening (slides 21, 24)
    let (connectionfd, rem_address) = accept(&fd)?;
    // Status lines go to stderr: stdout is for data. inet_ntoa + ntohs, via Display.
    diag::report(&format!("Connection from: {rem_address}"));

    // close: the conversation first, then the listening socket (slide 24)
    close(connectionfd)?;
    close(fd)
}
