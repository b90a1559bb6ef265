//! Step 03: the client (slides 25–31).
//!
//! Connects to a server, sends a message (or all of stdin), tells the server it is
//! done sending with `shutdown(SHUT_WR)`, prints the reply until the server closes,
//! and exits. It talks to every server in this workspace.
//!
//! New in this step: `connect`, `send` and `sendall` (slides 28–29), `shutdown` and the
//! right way to close (slides 30–31), a host name through the system resolver.
//!
//! Run it and poke it, in two terminals:
//!
//! ```text
//! $ cargo run -p step02-receive                 # terminal 1: a server to talk to
//! $ cargo run -p step03-client -- hello there   # terminal 2: "Success!", then exit 0
//! $ printf 'GET / HTTP/1.0\r\n\r\n' | cargo run -p step03-client -- -p 1234
//! ```
//!
//! The C this mirrors, call for call, is `original.c` beside this crate; the walkthrough
//! table is in `README.md`. The socket is an owned `socket2::Socket`; the program is
//! single-threaded on purpose.

use std::net::Shutdown;
use std::process::ExitCode;

use clap::Parser;
use common::inet::inet_aton;
use common::resolve::getaddrinfo_ipv4;
use common::sendall::{sendall, SendallError};
use common::sockaddr::{InAddr, SockaddrIn};
use common::socket::{close, connect, recv, shutdown, socket};
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
  1   socket failed (also: --wire without CAP_NET_RAW), or reading stdin / writing stdout failed
  2   connect failed (e.g. Connection refused)
  6   recv failed
  7   send or shutdown failed
  10  invalid address (inet_aton) or unknown host (getaddrinfo)
  64  usage error";

/// Step 03: connect, send MESSAGE (or stdin), shut down sending, print the reply.
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

    /// Print each TCP segment of this connection as it crosses lo, tcpdump-style (needs CAP_NET_RAW)
    #[arg(long)]
    wire: bool,

    /// Words to send, joined by spaces, plus a newline; without them, stdin is sent
    message: Vec<String>,
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    // --explain and --wire: the capture opens before our first socket
    if let Err(err) = explain::start(cli.explain, cli.wire) {
        return diag::fail(&err);
    }
    match run_client(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => diag::fail(&err),
    }
}

/// The lecture's sequence: socket, connect, send, shutdown, recv until 0, close.
fn run_client(cli: &Cli) -> Result<(), CallError> {
    // socket: a TCP endpoint for IPv4 (slide 25)
    let fd = socket(Domain::IPV4, Type::STREAM)?;

    // struct sockaddr_in of the server, network byte order (slide 27).
    // Slide bug (slide 11 says so itself): inet_addr cannot tell an error from
    // 255.255.255.255; inet_aton can.
    let remote_address = SockaddrIn::new(server_address(&cli.host)?, cli.port);

    // connect: the three-way handshake with the server (slides 19, 27)
    connect(&fd, &remote_address)?;
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
    shutdown(&fd, Shutdown::Write)?;
    print_reply(&fd)?;
    close(fd)
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

/// recv until the server closes (recv returns 0), the reply to stdout.
fn print_reply(fd: &Socket) -> Result<(), CallError> {
    let mut buffer = vec![0u8; BUF_SIZE];
    loop {
        match recv(fd, &mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => write_stdout(&buffer[..n])?,
            Err(err) if err.is_interrupted() => continue,
            Err(err) => return Err(err),
        }
    }
}
