//! Step 04, exercise: respond, one process per client (slides 48–53).
//!
//! Start from step02's iterative server (done below: socket, bind, listen, the accept
//! loop, and the child's conversation in `session.rs`) and make it serve many clients
//! at once: fork a child per connection, close in each process what it does not need,
//! reap the children, and answer the line protocol. Your task: the numbered TODOs [1]
//! to [6], in the order the program runs them, each naming the slide that shows how:
//!
//! - `src/reaper.rs`: [1] `sigaction(SIGCHLD)` with `SA_RESTART`, [6] the handler;
//! - `src/main.rs` (this file): [2] `fork`, [3] the child, [5] the parent;
//! - `src/protocol.rs`: [4] the reply to each request.
//!
//! [4] is a `todo!("slide 51: [4] …")`: until you replace it, a request stops the
//! program there. The others are `// TODO (slide N): [k] …` comments, because they
//! cannot stop the program: a signal handler must not panic, and the server must
//! listen and accept before the rest can be checked. As shipped it serves one client
//! at a time, in the parent, and panics at the client's first request.
//!
//! ```text
//! $ cargo lab start 04 --rust        # your copy: work/step04-respond/
//! $ cargo lab check 04               # checks it; cargo lab watch 04: on every save
//! $ cd work/step04-respond && cargo run -q --target-dir ../../target -- -p 1234
//! $ telnet 127.0.0.1 1234            # in two more terminals: PING, ECHO hi, TIME, QUIT
//! $ cargo test -q --target-dir ../../target   # the protocol table (src/protocol.rs)
//! ```
//!
//! The solution is `step04-respond/src/` (the C: `original.c` beside it), the same
//! files: this project differs from it only at the TODOs (and `mod` lines instead of
//! its `lib.rs`). The program is single-threaded on purpose: `fork` in a
//! multithreaded process is a minefield.

// Until every TODO is done, what they will use looks unused; these warnings say
// nothing then. Delete this line when done.
#![allow(unreachable_code, unused, clippy::diverging_sub_expression)]

mod protocol;
mod reaper;
mod session;

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

use crate::reaper::{child_started, children_alive, install_sigchld_handler};
use crate::session::{refuse, serve_client};

/// Slide 50's `QLEN`: connections the kernel completes while the parent is busy
/// forking. A teaching value, the default of `--backlog`: with 200 clients connecting
/// at once it overflows, and clients wait seconds for SYN retransmissions or are reset
/// (README, "Try this"). step05 and step06 ask for SOMAXCONN.
const QLEN: u16 = 10;

const EXIT_CODES: &str = "\
Exit codes (the lecture's numbering, shared by all the steps):
  0   stopped by SIGINT/SIGTERM
  1   socket, setsockopt or getsockname failed
  2   bind failed (e.g. Address already in use)
  3   listen failed
  5   sigaction failed
  10  invalid address (inet_aton)
  64  usage error
A child serving a client exits 0, or 6 if recv failed, 7 if send failed.";

/// Step 04, exercise: a forking server answering ECHO, TIME, PING, HELP and QUIT.
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
    if cli.server.explain {
        explain::enable();
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
    // so that a child ending does not make accept fail with EINTR (slide 50). TODO [1]
    // is in src/reaper.rs.
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
        // TODO (slide 49): [2] fork a child process for this client (fork is unsafe:
        // say in a SAFETY comment why it is sound here). Three outcomes: it failed (no
        // child: report the error, tell the client we are busy with refuse, go on);
        // we are the child ([3]); we are the parent ([5]).

        // TODO (slide 51): [3] the child: it does not accept, so close its copy of the
        // listening socket fd; serve the client with serve_client and leave with _exit
        // and the status serve_client returns (not exit, not return: the child must
        // not run the parent's cleanup a second time).

        // TODO (slide 52): [5] the parent: count the child (child_started), report
        // "Connection from: {client_address} (pid {child})", and close its copy of
        // connectionfd: the child has the connection now (else the client may never
        // see it close, and the parent runs out of descriptors).

        // Until TODO [2] forks, the parent serves the client itself, one at a time
        // (step02's iterative server): the next client waits. Delete these lines then.
        diag::report(&format!(
            "Connection from: {client_address} (pid {})",
            std::process::id()
        ));
        let _ = serve_client(connectionfd, timeout);
    }
}
