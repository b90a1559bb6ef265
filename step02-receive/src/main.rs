//! Step 02: receive data (slides 26–31).
//!
//! An iterative server: it accepts one connection at a time, copies every byte it
//! receives to stdout (verbatim, unbuffered: binary data arrives intact), reports when
//! the client closes, and goes back to `accept` for the next one. While it serves one
//! client, the others wait in the kernel's listen queue.
//!
//! New in this step: `recv` in a loop until it returns 0 (the peer closed), the
//! receive buffer and its size, the accept loop of an iterative server.
//!
//! Run it and poke it, in two terminals:
//!
//! ```text
//! $ cargo run -p step02-receive -- --explain   # terminal 1
//! $ nc 127.0.0.1 1234                          # terminal 2: type lines, then Ctrl-D
//! ```
//!
//! With `--explain` and the default 5-byte buffer, each line typed arrives in several
//! `recv` calls: TCP carries a byte stream, not messages.
//!
//! The C this mirrors, call for call, is `original.c` beside this crate; the walkthrough
//! table is in `README.md`. Sockets are owned `socket2::Socket` values; the program is
//! single-threaded on purpose.

use std::process::ExitCode;

use clap::Parser;
use common::cli::{self, ServerArgs, SERVER_EXIT_CODES};
use common::inet::inet_aton;
use common::signals::install_stop_handlers;
use common::sockaddr::SockaddrIn;
use common::socket::{
    accept, bind, close, getsockname, listen, recv, setsockopt_reuseaddr, socket,
};
use common::stdio::write_stdout;
use common::{diag, explain, CallError};
use socket2::{Domain, Socket, Type};

/// Queue of connections waiting for `accept`: while one client is being served, up to
/// this many more wait, connected, in the kernel (slide 20). A teaching value.
const BACKLOG: i32 = 5;

/// The slides' `char buffer[5]`: a teaching value, so that a line typed in `nc`
/// arrives in several `recv` calls and TCP's byte stream becomes visible.
const BUF_SIZE: u32 = 5;

/// Step 02: an iterative server that copies what it receives to stdout.
#[derive(Parser)]
#[command(version, after_help = SERVER_EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// Size of the receive buffer in bytes: at most this much per recv call
    #[arg(short = 'B', long, default_value_t = BUF_SIZE, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1..=16 << 20))]
    buffer: u32,

    /// Serve one connection, then exit (with 6 if its recv failed)
    #[arg(short, long)]
    once: bool,
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    // --explain and --wire: the capture opens before our first socket
    if let Err(err) = explain::start(cli.server.explain, cli.server.wire) {
        return diag::fail(&err);
    }
    match receive(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => diag::fail(&err),
    }
}

/// The lecture's sequence: socket, setsockopt, bind, listen, then accept and recv
/// in a loop.
fn receive(cli: &Cli) -> Result<(), CallError> {
    let mut buffer = vec![0u8; cli.buffer as usize];

    // Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 (see step01);
    // what was received is already on stdout, write(2) does not buffer
    install_stop_handlers()?;

    // socket, setsockopt(SO_REUSEADDR): as in step01 (slide 17)
    let fd = socket(Domain::IPV4, Type::STREAM)?;
    setsockopt_reuseaddr(&fd)?;

    // struct sockaddr_in, network byte order (slides 10–13, 22)
    let own_address = SockaddrIn::new(inet_aton(&cli.server.bind)?, cli.server.port);

    // bind, listen: as in step01 (slides 18–23)
    bind(&fd, &own_address)?;
    listen(&fd, BACKLOG)?;

    // Beyond the slides: which port did we get? (matters with --port 0)
    let own_address = getsockname(&fd)?;
    diag::report(&format!("listening on {own_address}"));

    // The iterative server: one client at a time; the others wait in the listen
    // queue until we come back to accept
    loop {
        // accept: the next client (slides 21, 24)
        let (connectionfd, rem_address) = accept(&fd)?;
        diag::report(&format!("Connection from: {rem_address}"));

        // recv until the client closes: recv returns 0 (slide 26)
        match receive_until_closed(&connectionfd, &mut buffer) {
            Ok(()) => diag::report(&format!("Connection closed: {rem_address}")),
            // A failed recv loses this connection, not the server (unless --once,
            // where it becomes the exit code)
            Err(err) if err.call() == "recv" && !cli.once => diag::error(&err.to_string()),
            Err(err) => return Err(err),
        }
        close(connectionfd)?;
        if cli.once {
            return close(fd);
        }
    }
}

/// `recv` into `buffer` until it returns 0 (the client closed), each chunk to stdout.
fn receive_until_closed(connectionfd: &Socket, buffer: &mut [u8]) -> Result<(), CallError> {
    loop {
        match recv(connectionfd, buffer)? {
            0 => return Ok(()),
            // Slide bug: the slide passes strlen(buffer) on, but recv does not
            // NUL-terminate: strlen reads past the 5 bytes. Use the count, exactly n.
            n => write_stdout(&buffer[..n])?,
        }
    }
}
