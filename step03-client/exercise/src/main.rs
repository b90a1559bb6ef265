//! Step 03, exercise: the client (slides 25–31).
//!
//! Make the lecture's client: connect to a server, send a message (or all of stdin),
//! tell the server you are done sending, print its reply until it closes, exit. Options,
//! the server's address (inet_aton), the messages and the exit codes are given; the
//! socket calls are your task: the numbered `todo!("slide N: [k] …")`s, [1] to [6] in
//! the order the program runs them ([3] is in `sendall`, [5] in `print_reply`), each
//! naming the slide that shows how. Until you replace one, the program stops there:
//! `not yet implemented: slide 25: [1] …`.
//!
//! ```text
//! $ cargo lab start 03 --rust        # your copy: work/step03-client/
//! $ cargo lab check 03               # checks it; cargo lab watch 03: on every save
//! $ cargo run -q -p step02-receive   # a server to talk to, in a second terminal
//! $ cd work/step03-client && cargo run -q --target-dir ../../target -- hello there
//! ```
//!
//! The solution is `step03-client/src/main.rs` (the C: `original.c` beside it). This
//! file differs from it only at the `todo!`s, and in `sendall`: the solution calls
//! `common::sendall::sendall`, a shortcut that hides slide 29's loop; here you write
//! it. The program is single-threaded on purpose.

// Until every todo!() is replaced, the code after the first one cannot run and what it
// uses looks unused; these warnings say nothing then. Delete this line when done.
#![allow(unreachable_code, unused, clippy::diverging_sub_expression)]

use std::net::Shutdown;
use std::process::ExitCode;

use clap::Parser;
use common::inet::inet_aton;
use common::resolve::getaddrinfo_ipv4;
use common::sendall::SendallError;
use common::sockaddr::{InAddr, SockaddrIn};
use common::socket::{close, connect, recv, send, shutdown, socket};
use common::stdio::{read_stdin, write_stdout};
use common::{cli, diag, explain, CallError, PORT};
use socket2::{Domain, Socket, Type};

/// The server the slide's client talks to (slide 25 has "192.168.1.1"; loopback works
/// on every machine).
const SERVER: &str = "127.0.0.1";

/// How much of the reply (or of stdin) one call moves at most.
const BUF_SIZE: usize = 65536;

const EXIT_CODES: &str = "\
Exit codes (the lecture's numbering, shared by all the steps):
  0   the server's reply was printed in full
  1   socket failed, or reading stdin / writing stdout failed
  2   connect failed (e.g. Connection refused)
  6   recv failed
  7   send or shutdown failed
  10  invalid address (inet_aton) or unknown host (getaddrinfo)
  64  usage error";

/// Step 03, exercise: connect, send MESSAGE (or stdin), shut down sending, print the
/// reply.
#[derive(Parser)]
#[command(version, after_help = EXIT_CODES)]
struct Cli {
    /// Server address (inet_aton's rules, so 127.1 works) or host name
    #[arg(short = 'H', long, default_value = SERVER)]
    host: String,

    /// Server port
    #[arg(short, long, default_value_t = PORT)]
    port: u16,

    /// Narrate every socket call on stderr, as strace would show it, with why
    #[arg(long)]
    explain: bool,

    /// Words to send, joined by spaces, plus a newline; without them, stdin is sent
    message: Vec<String>,
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    if cli.explain {
        explain::enable();
    }
    match run_client(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => diag::fail(&err),
    }
}

/// The lecture's sequence: socket, connect, send, shutdown, recv until 0, close.
fn run_client(cli: &Cli) -> Result<(), CallError> {
    // socket: a TCP endpoint for IPv4 (slide 25)
    let fd: Socket = todo!("slide 25: [1] fd: a TCP socket for IPv4");

    // struct sockaddr_in of the server, network byte order (slide 27).
    // Slide bug (slide 11 says so itself): inet_addr cannot tell an error from
    // 255.255.255.255; inet_aton can.
    let remote_address = SockaddrIn::new(server_address(&cli.host)?, cli.port);

    // connect: the three-way handshake with the server (slides 19, 27)
    todo!("slide 27: [2] connect fd to the server at remote_address");
    diag::report("Success!");

    // send: the words joined by spaces plus a newline, or else all of stdin until end
    // of file; sendall because send may send less than asked (slide 29)
    if cli.message.is_empty() {
        send_stdin(&fd)?;
    } else {
        let message = format!("{}\n", cli.message.join(" "));
        sendall(&fd, message.as_bytes())?;
    }

    // The right way to close (slide 31): shutdown(SHUT_WR) tells the server we are
    // done sending (it reads end of file), then recv until it closes, then close
    todo!("slide 31: [4] tell the server you are done sending, and only that");
    print_reply(&fd)?;
    todo!("slide 31: [6] close fd")
}

/// The server's address: dotted notation through `inet_aton`, else a host name
/// through the resolver.
fn server_address(host: &str) -> Result<InAddr, CallError> {
    match inet_aton(host) {
        Ok(addr) => Ok(addr),
        // "300.1.2.3" is a typo, not a host name: say so rather than ask DNS
        Err(err) if host.starts_with(|c: char| c.is_ascii_digit()) => Err(err),
        // Beyond the slides: "localhost" and friends go to the system resolver
        Err(_) => getaddrinfo_ipv4(host),
    }
}

/// Send everything stdin holds, chunk by chunk, as it arrives.
fn send_stdin(fd: &Socket) -> Result<(), CallError> {
    let mut buffer = vec![0u8; BUF_SIZE];
    let mut total = 0;
    loop {
        let n = read_stdin(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        // On failure, say how many bytes went in all, not just in this chunk.
        sendall(fd, &buffer[..n]).map_err(|e| SendallError {
            sent: total + e.sent,
            error: e.error,
        })?;
        total += n;
    }
}

/// `sendall` (slide 29): send every byte of `data`, however many `send` calls it
/// takes. On an error, say how many bytes had gone: `SendallError { sent, error }`.
///
/// The solution calls `common::sendall::sendall` instead, which is this loop.
fn sendall(fd: &Socket, data: &[u8]) -> Result<(), SendallError> {
    // A send interrupted by a signal (EINTR) is tried again; any other error ends it.
    todo!("slide 29: [3] send data on fd until every byte has gone")
}

/// recv until the server closes (recv returns 0), the reply to stdout.
fn print_reply(fd: &Socket) -> Result<(), CallError> {
    let mut buffer = vec![0u8; BUF_SIZE];
    // A recv interrupted by a signal (EINTR) is tried again.
    todo!("slide 31: [5] recv into buffer until it returns 0, each time the bytes to stdout")
}
