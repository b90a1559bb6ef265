//! Step 04: respond, one process per client (slides 48–53).
//!
//! A forking request/response server. The parent accepts a connection and forks a
//! child for it; the child answers one-line requests (`ECHO`, `TIME`, `PING`, `HELP`,
//! `QUIT`) until the client leaves; the parent goes straight back to `accept`, so many
//! clients are served at once. A SIGCHLD handler reaps the children as they end.
//!
//! New in this step: `fork` and the three outcomes it returns, closing the descriptors
//! each process does not need, `sigaction(SIGCHLD)` with `SA_RESTART`, `waitpid` with
//! `WNOHANG`, `_exit` in the child, a line protocol over a byte stream.
//!
//! Run it and poke it, in two terminals:
//!
//! ```text
//! $ cargo run -p step04-respond               # terminal 1
//! $ telnet 127.0.0.1 1234                     # terminal 2 (or nc): PING, ECHO hi, TIME, QUIT
//! ```
//!
//! The C this mirrors, call for call, is `original.c` beside this crate; the child's side
//! is `src/session.rs`, the SIGCHLD handler `src/reaper.rs`, the protocol
//! `src/protocol.rs`; the walkthrough table is in `README.md`. The program is
//! single-threaded on purpose: `fork` in a multithreaded process is a minefield.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::backoff::AcceptErrors;
use common::cli::{self, ServerArgs};
use common::inet::inet_aton;
use common::process::{_exit, fork, ForkResult};
use common::signals::install_stop_handlers;
use common::sockaddr::SockaddrIn;
use common::socket::{accept, bind, close, getsockname, listen, setsockopt_reuseaddr, socket};
use common::{diag, explain, CallError};
use socket2::{Domain, Type};
use step04_respond::reaper::{child_started, children_alive, install_sigchld_handler};
use step04_respond::session::{refuse, serve_client};

/// Slide 50's `QLEN`: connections the kernel completes while the parent is busy
/// forking. A teaching value, the default of `--backlog`: with 200 clients connecting
/// at once it overflows, and clients wait seconds for SYN retransmissions or are reset
/// (README, "Try this"). step05 and step06 ask for SOMAXCONN.
const QLEN: u16 = 10;

const EXIT_CODES: &str = "\
Exit codes (the lecture's numbering, shared by all the steps):
  0   stopped by SIGINT/SIGTERM
  1   socket, setsockopt or getsockname failed (also: --wire without CAP_NET_RAW)
  2   bind failed (e.g. Address already in use)
  3   listen failed
  5   sigaction failed
  10  invalid address (inet_aton)
  64  usage error
A child serving a client exits 0, or 6 if recv failed, 7 if send failed.";

/// Step 04: a forking server answering ECHO, TIME, PING, HELP and QUIT, one line each.
#[derive(Parser)]
#[command(version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// With this many children alive, answer "ERR Service temporarily unavailable" without forking
    #[arg(short = 'm', long, default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_clients: u32,

    /// Length of the listen queue (slide 50's QLEN is 10; try 128 under a burst of clients)
    #[arg(long, default_value_t = QLEN, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    backlog: u16,

    /// Close a connection idle for this many seconds (0: never)
    #[arg(short = 't', long, default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    timeout: u64,
}

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    // --explain and --wire: the capture opens before our first socket
    if let Err(err) = explain::start(cli.server.explain, cli.server.wire) {
        return diag::fail(&err);
    }
    match serve(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => diag::fail(&err),
    }
}

/// The lecture's sequence: sigaction(SIGCHLD), socket, bind, listen, then accept and
/// fork in a loop.
fn serve(cli: &Cli) -> Result<(), CallError> {
    let timeout = (cli.timeout > 0).then(|| Duration::from_secs(cli.timeout));

    // Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 (see step01)
    install_stop_handlers()?;
    // sigaction(SIGCHLD): reap children as they exit, or they stay zombies; SA_RESTART
    // so that a child ending does not make accept fail with EINTR (slide 50)
    install_sigchld_handler()?;

    // socket, setsockopt, bind, listen: as in step01 (slides 17–23)
    let fd = socket(Domain::IPV4, Type::STREAM)?;
    setsockopt_reuseaddr(&fd)?;
    let my_address = SockaddrIn::new(inet_aton(&cli.server.bind)?, cli.server.port);
    bind(&fd, &my_address)?;
    listen(&fd, i32::from(cli.backlog))?;
    let my_address = getsockname(&fd)?;
    diag::report(&format!("listening on {my_address}"));

    let mut accept_errors = AcceptErrors::new();
    loop {
        // accept: the next client (slide 50); one failed accept does not end the server
        let (connectionfd, client_address) = match accept(&fd) {
            Ok(accepted) => {
                accept_errors.succeeded();
                accepted
            }
            Err(err) => {
                // Out of descriptors: pause rather than spin (common::backoff)
                accept_errors.failed(&err);
                continue;
            }
        };

        // Beyond the slides: too many children alive? Answer busy, without forking.
        if children_alive() >= cli.max_clients as isize {
            refuse(connectionfd);
            continue;
        }

        // fork: a child process for this client (slides 49, 51–53). Flush first, or
        // text still buffered would be printed by both processes.
        let _ = std::io::stdout().flush();
        // SAFETY: this program is single-threaded.
        match unsafe { fork() } {
            Err(err) => {
                // No child: tell the client we are busy, keep serving the others.
                diag::error(&err.to_string());
                refuse(connectionfd);
            }
            Ok(ForkResult::Child) => {
                // The child does not accept: it closes its copy of the listening
                // socket (the parent's stays open).
                let _ = close(fd);
                // _exit, not exit or return: the child must not run the parent's
                // cleanup a second time.
                _exit(serve_client(connectionfd, timeout));
            }
            Ok(ForkResult::Parent { child }) => {
                child_started();
                diag::report(&format!("Connection from: {client_address} (pid {child})"));
                // The child has the connection now. Closing our copy matters: else the
                // client never sees it close, and the parent runs out of descriptors.
                close(connectionfd)?;
            }
        }
    }
}
