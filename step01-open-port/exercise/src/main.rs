//! Step 01, exercise: open a port (slides 17–24).
//!
//! Make a server that opens a port, accepts one connection, says who connected, and
//! closes. Everything around the socket calls is given (options, messages, exit codes);
//! the socket calls are your task: the numbered `todo!("slide N: [k] …")`s, [1] to [8]
//! in the order the program runs them, each naming the slide that shows how. Until you
//! replace one, the program stops there: `not yet implemented: slide 17: [1] …`.
//!
//! ```text
//! $ cargo lab start 01 --rust        # your copy: work/step01-open-port/
//! $ cargo lab check 01               # checks it; cargo lab watch 01: on every save
//! $ cd work/step01-open-port && cargo run -q --target-dir ../../target -- -p 1234
//! $ nc 127.0.0.1 1234                # in a second terminal
//! ```
//!
//! The solution is `step01-open-port/src/main.rs` (the C: `original.c` beside it). This
//! file differs from it only at the `todo!`s, and where the solution uses a shortcut
//! from `common` that would hide the lesson: here you fill in `struct sockaddr_in`
//! and print the client's address yourself. The program is single-threaded on purpose.

// Until every todo!() is replaced, the code after the first one cannot run and what it
// uses looks unused; these warnings say nothing then. Delete this line when done.
#![allow(unreachable_code, unused, clippy::diverging_sub_expression)]

use std::process::ExitCode;

use clap::Parser;
use common::byteorder::{htons, ntohs};
use common::cli::{self, ServerArgs, SERVER_EXIT_CODES};
use common::inet::{inet_aton, inet_ntoa};
use common::signals::install_stop_handlers;
use common::sockaddr::SockaddrIn;
use common::socket::{accept, bind, close, getsockname, listen, setsockopt_reuseaddr, socket};
use common::{diag, explain, CallError};
use socket2::{Domain, Socket, Type};

/// Length of the queue of connections waiting for `accept` (slide 20: "usually
/// 5...10"). A teaching value, enough for one person with `nc`; a web server needs
/// far more (see step06).
const BACKLOG: i32 = 5;

/// Step 01, exercise: open a port, accept one connection, say who it was, close.
#[derive(Parser)]
#[command(version, after_help = SERVER_EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    if cli.server.explain {
        explain::enable();
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
    let fd: Socket = todo!("slide 17: [1] fd: a TCP socket for IPv4");
    // setsockopt(SO_REUSEADDR): restart at once even while old connections to this
    // port sit in TIME_WAIT
    todo!("slide 17: [2] set fd's SO_REUSEADDR option");

    // struct sockaddr_in: family, port and address in network byte order, sin_zero
    // zeroed (slides 10–13, 22); inet_aton rejects a bad --bind with exit 10.
    // The solution writes SockaddrIn::new(address, port), common's shortcut that fills
    // these four fields, byte order included; here you fill in the port yourself.
    let own_address = SockaddrIn {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: todo!("slide 22: [3] the port args.port, in network byte order"),
        sin_addr: inet_aton(&args.bind)?,
        sin_zero: [0; 8],
    };

    // bind: attach the socket to that address and port (slides 18, 23)
    todo!("slide 23: [4] bind the socket to own_address");
    // listen: the kernel now queues incoming connections (slides 20, 23)
    todo!("slide 23: [5] listen on fd, with a queue of BACKLOG connections");

    // Beyond the slides: ask which port we got (it matters with --port 0) and say so;
    // this one line is what scripts and tests wait for
    let own_address = getsockname(&fd)?;
    diag::report(&format!("listening on {own_address}"));

    // accept: block until a client connects; connectionfd is that one conversation,
    // fd keeps listening (slides 21, 24)
    let (connectionfd, rem_address): (Socket, SockaddrIn) =
        todo!("slide 24: [6] accept a connection on fd");
    // Status lines go to stderr: stdout is for data. The solution prints {rem_address},
    // whose Display is common's shortcut for inet_ntoa + ntohs; here you turn the
    // fields of rem_address into the address and port as a person reads them.
    todo!("slide 24: [7] report \"Connection from: IP:PORT\" on stderr");

    // close: the conversation first, then the listening socket (slide 24)
    todo!("slide 24: [8] close connectionfd, then fd")
}
