//! Step 06, exercise: serve files (slides 48–53: "how little more we need to serve
//! files").
//!
//! Start from step04's forking server (done below: socket, bind, listen, accept, fork,
//! the SIGCHLD reaper) and make its child speak HTTP/1.0, as `original.c` does: read the
//! request, find the file under the root folder (never outside it), answer with a
//! status line, `Content-Type` and `Content-Length`, then the file; HEAD gets the head
//! alone. Your task is `src/http.rs`: the numbered `todo!("slide N: [k] …")`s, [1] to
//! [7] in the order the program runs them, each naming the slide that shows how. Until
//! you replace one, the child stops there (`not yet implemented: slide 52: [1] …`) and
//! the connection closes without an answer (curl: "Empty reply from server").
//!
//! ```text
//! $ cargo lab start 06 --rust        # your copy: work/step06-fileserver/
//! $ cargo lab check 06               # checks it; cargo lab watch 06: on every save
//! $ cd work/step06-fileserver
//! $ cargo run -q --target-dir ../../target -- -p 1234 -r ../../step06-fileserver/www
//! $ curl -v http://127.0.0.1:1234/index.html   # in a second terminal, or a browser
//! ```
//!
//! The solution is `step06-fileserver/original.c`; this project is that program in
//! Rust, call for call, with the HTTP left to you. The crate's `src/` is the server a
//! user can rely on (HTTP/1.1, persistent connections, ranges, listings, `sendfile`):
//! read it once this one works. Single-threaded on purpose (it forks).

// Until every todo!() is replaced, the code after the first one cannot run and what it
// uses looks unused; these warnings say nothing then. Delete this line when done.
#![allow(unreachable_code, unused, clippy::diverging_sub_expression)]

mod http;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::backoff::AcceptErrors;
use common::cli::{self, ServerArgs, SERVER_EXIT_CODES};
use common::inet::inet_aton;
use common::process::{_exit, fork, ForkResult};
use common::signals::install_stop_handlers;
use common::sockaddr::SockaddrIn;
use common::socket::{accept, bind, close, getsockname, listen, setsockopt_reuseaddr, socket};
use common::{diag, explain, CallError};
use socket2::{Domain, Type};
use step04_respond::reaper::{child_started, install_sigchld_handler};

/// Slide 50's `QLEN`: fine for one person with curl. The crate's server asks for
/// `SOMAXCONN`, because a browser opens several connections at once.
const QLEN: i32 = 10;

/// Step 06, exercise: a forking HTTP/1.0 file server, as original.c.
#[derive(Parser)]
#[command(version, after_help = SERVER_EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,

    /// The folder to serve
    #[arg(short, long, default_value = ".", value_name = "DIR")]
    root: PathBuf,
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

/// step04's sequence: sigaction(SIGCHLD), socket, bind, listen, then accept and fork in
/// a loop; each child answers one HTTP request (src/http.rs).
fn serve(cli: &Cli) -> Result<(), CallError> {
    // Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 (see step01)
    install_stop_handlers()?;
    // sigaction(SIGCHLD) with SA_RESTART: reap children as they exit (slide 50)
    install_sigchld_handler()?;

    // socket, setsockopt, bind, listen: as in step01 (slides 17–23)
    let fd = socket(Domain::IPV4, Type::STREAM)?;
    setsockopt_reuseaddr(&fd)?;
    let my_address = SockaddrIn::new(inet_aton(&cli.server.bind)?, cli.server.port);
    bind(&fd, &my_address)?;
    listen(&fd, QLEN)?;
    let my_address = getsockname(&fd)?;
    diag::report(&format!("listening on {my_address}"));

    let mut accept_errors = AcceptErrors::new();
    loop {
        // accept: the next client (slide 50); one failed accept does not end the server
        let (connectionfd, _client_address) = match accept(&fd) {
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

        // fork: a child for this client (slides 49, 51–53). Flush first, or text still
        // buffered would be printed by both processes.
        let _ = std::io::stdout().flush();
        // SAFETY: this program is single-threaded.
        match unsafe { fork() } {
            Err(err) => {
                // No child: this client is not served; the others are.
                diag::error(&err.to_string());
                let _ = close(connectionfd);
            }
            Ok(ForkResult::Child) => {
                // The child does not accept; it answers one request and leaves with
                // _exit, not running the parent's cleanup a second time.
                let _ = close(fd);
                _exit(http::serve_client(connectionfd, &cli.root));
            }
            Ok(ForkResult::Parent { .. }) => {
                child_started();
                // The parent does not serve: the child has the connection now.
                close(connectionfd)?;
            }
        }
    }
}
