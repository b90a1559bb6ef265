//! Step 02, exercise: receive data (slides 26–31).
//!
//! Start from step01's server (done below: socket, bind, listen, accept) and make it
//! receive: copy every byte a client sends to stdout, say when the client closed, and
//! serve the next client. Your task: the numbered `todo!("slide N: [k] …")`s, [1] to
//! [4] in the order the program runs them, each naming the slide that shows how. Until
//! you replace one, the program stops there: `not yet implemented: slide 26: [1] …`.
//!
//! ```text
//! $ cargo lab start 02 --rust        # your copy: work/step02-receive/
//! $ cargo lab check 02               # checks it; cargo lab watch 02: on every save
//! $ cd work/step02-receive && cargo run -q --target-dir ../../target -- -p 1234
//! $ nc 127.0.0.1 1234                # in a second terminal: type lines, then Ctrl-D
//! ```
//!
//! The solution is `step02-receive/src/main.rs` (the C: `original.c` beside it); this
//! file differs from it only at the `todo!`s. The program is single-threaded on
//! purpose.

// Until every todo!() is replaced, the code after the first one cannot run and what it
// uses looks unused; these warnings say nothing then. Delete this line when done.
#![allow(unreachable_code, unused, clippy::diverging_sub_expression)]

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

/// Step 02, exercise: an iterative server that copies what it receives to stdout.
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
    if cli.server.explain {
        explain::enable();
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
    {
        // accept: the next client (slides 21, 24)
        let (connectionfd, rem_address) = accept(&fd)?;
        diag::report(&format!("Connection from: {rem_address}"));

        // recv until the client closes: recv returns 0 (slide 26)
        match receive_until_closed(&connectionfd, &mut buffer) {
            Ok(()) => todo!("slide 26: [3] report \"Connection closed: IP:PORT\" on stderr"),
            // A failed recv loses this connection, not the server (unless --once,
            // where it becomes the exit code)
            Err(err) if err.call() == "recv" && !cli.once => diag::error(&err.to_string()),
            Err(err) => return Err(err),
        }
        close(connectionfd)?;
        // With --once, only the first client: then close fd and return.
        todo!("slide 24: [4] serve the next client: from accept to here, again and again")
    }
}

/// `recv` into `buffer` until it returns 0 (the client closed), each chunk to stdout.
fn receive_until_closed(connectionfd: &Socket, buffer: &mut [u8]) -> Result<(), CallError> {
    // A recv error goes back to the caller, which reports it.
    todo!("slide 26: [1] recv into buffer, again and again, until recv returns 0");
    todo!("slide 26: [2] write exactly the bytes of each recv to stdout, unbuffered")
}
