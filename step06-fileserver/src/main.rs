//! Step 06: serve files (slides 48–53: "how little more we need to serve files").
//!
//! The forking server of step04, speaking HTTP/1.1 instead of a line protocol: the
//! parent accepts and forks; each child reads requests, finds the file under `--root`,
//! and sends it with `sendfile(2)`, keeping the connection open for the next request.
//! Everything before is reused: the socket calls, the SIGCHLD reaper, the busy answer,
//! the daemon routine.
//!
//! New in this step: HTTP request parsing and its limits, path containment, `sendfile`,
//! persistent connections, IPv6 (`--bind ::` is dual-stack), `chroot`.
//!
//! Run it and open the printed URL in a browser, or poke it with curl:
//!
//! ```text
//! $ cargo run --release -p step06-fileserver -- --root step06-fileserver/www
//! listening on 0.0.0.0:1234
//! $ curl -v http://127.0.0.1:1234/
//! $ printf 'GET / HTTP/1.0\r\n\r\n' | cargo run -q -p step03-client
//! ```
//!
//! The C of the slides' last step is `original.c` beside this crate: the same loop, a GET
//! answered with a file, no more. The HTTP parts live in `src/lib.rs`'s modules; the
//! walkthrough is in `README.md`. Single-threaded on purpose (it forks).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::backoff::AcceptErrors;
use common::daemon::{become_daemon, become_user, lookup_user, Readiness};
use common::inet::inet_aton;
use common::pidfile::PidFile;
use common::process::{_exit, fork, ForkResult};
use common::signals::SignalPipe;
use common::socket::{
    accept_addr, bind_addr, close, getsockname_addr, listen, set_nonblocking, setsockopt_reuseaddr,
    setsockopt_v6only, socket,
};
use common::{cli, diag, explain, CallError, PORT};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use socket2::{Domain, Socket, Type};
use step04_respond::reaper::{child_started, children_alive, install_sigchld_handler};
use step04_respond::session::refuse_with;
use step06_fileserver::connection::{serve_connection, Site, RECV_ROOM};
use step06_fileserver::path::Resolver;
use step06_fileserver::request;
use step06_fileserver::response;
use step06_fileserver::status::Status;

/// Beyond the slides: a web server's listen queue. A browser opens several connections
/// at once and a page has many files; slide 50's 10 would drop SYNs (1 s stalls). The
/// kernel caps this at net.core.somaxconn.
const QLEN: i32 = libc::SOMAXCONN;

/// Signals the parent's loop handles: SIGTERM and SIGINT stop it.
const STOP: &[Signal] = &[Signal::SIGTERM, Signal::SIGINT];

const EXIT_CODES: &str = "\
Exit codes (the lecture's numbering, shared by all the steps):
  0   stopped by SIGTERM/SIGINT (or, with --daemon, the daemon listens)
  1   socket, pid file, chroot or setuid failed (also: --wire without CAP_NET_RAW)
  2   bind failed (e.g. Address already in use)
  3   listen failed
  5   sigaction failed
  10  invalid address (inet_aton, inet_pton)
  64  usage error (e.g. --root is not a directory)";

/// Step 06: a forking HTTP/1.1 static file server.
#[derive(Parser)]
#[command(version, after_help = EXIT_CODES)]
struct Cli {
    /// The folder to serve (-r as in original.c)
    #[arg(short, long, default_value = ".", value_name = "DIR")]
    root: PathBuf,

    /// Port to listen on; 0 lets the kernel choose (the lecture's PORT is 1234)
    #[arg(short, long, default_value_t = PORT)]
    port: u16,

    /// Address to bind: IPv4 (inet_aton) or IPv6 (inet_pton); "::" accepts both
    #[arg(short, long, default_value = "0.0.0.0", value_name = "ADDR")]
    bind: String,

    /// With this many children alive, answer 503 with Retry-After, without forking
    #[arg(short = 'm', long, default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_clients: u32,

    /// Seconds an idle connection is kept, and a request head may take to arrive
    #[arg(short = 't', long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,

    /// Detach as a daemon (the step05 routine); the access log goes to syslog
    #[arg(long)]
    daemon: bool,

    /// Write and lock a pid file
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,

    /// Answer 403 for a directory without index.html instead of listing it
    #[arg(long)]
    no_listing: bool,

    /// Serve symlinks that lead outside the root (for a root assembled from links)
    #[arg(long)]
    follow_symlinks: bool,

    /// Serve dot files and dot directories (.git/, .env), hidden by default
    #[arg(long)]
    show_hidden: bool,

    /// Started as root: become this user after binding
    #[arg(long, value_name = "NAME")]
    user: Option<String>,

    /// Started as root: confine the server to the root folder after start-up
    #[arg(long)]
    chroot: bool,

    /// Narrate every socket call on stderr (syslog with --daemon)
    #[arg(long)]
    explain: bool,

    /// Print each TCP segment of the connections as it crosses lo, tcpdump-style (needs CAP_NET_RAW; not with --daemon)
    #[arg(long, conflicts_with = "daemon")]
    wire: bool,
}

fn main() -> ExitCode {
    let mut cli: Cli = cli::parse();
    // --explain and --wire: the capture opens before our first socket
    if let Err(err) = explain::start(cli.explain, cli.wire) {
        return diag::fail(&err);
    }
    // The root, made absolute before anything changes directory: the daemon routine
    // does chdir("/"), and a relative root ("." by default) would then name "/" itself.
    match std::fs::canonicalize(&cli.root) {
        Ok(root) if root.is_dir() => cli.root = root,
        _ => {
            diag::error(&format!("--root {}: not a directory", cli.root.display()));
            return ExitCode::from(common::error::EX_USAGE);
        }
    }
    if (cli.user.is_some() || cli.chroot) && !nix::unistd::geteuid().is_root() {
        diag::error("--user and --chroot need root");
        return ExitCode::from(common::error::EX_USAGE);
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(err.exit_code()),
    }
}

/// Detach if asked, start, say so, serve.
fn run(cli: &Cli) -> Result<(), CallError> {
    let ready = if cli.daemon {
        // SAFETY: single-threaded.
        let ready = unsafe { become_daemon(c"step06-fileserver", 0o027) }
            .inspect_err(|err| diag::error(&err.to_string()))?;
        diag::use_syslog();
        Some(ready)
    } else {
        None
    };
    match start(cli) {
        Ok(server) => {
            let listening = format!("listening on {}", server.address);
            match ready {
                Some(ready) => {
                    diag::report(&listening);
                    ready.ready(&format!("{listening}\ndaemon pid {}\n", std::process::id()));
                }
                None => {
                    diag::report(&listening);
                    // For a person at a terminal (scripts see only the one line above):
                    // the URL to open, with a loopback address for "every interface".
                    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                        diag::report(&format!(
                            "open http://{}/ in a browser",
                            browsable(server.address)
                        ));
                    }
                }
            }
            serve(server)
        }
        Err(err) => {
            diag::error(&err.to_string());
            if let Some(ready) = ready {
                Readiness::failed(ready, err.exit_code(), &err.to_string());
            }
            Err(err)
        }
    }
}

/// The started server.
struct Server {
    fd: Socket,
    address: SocketAddr,
    signals: SignalPipe,
    pid_file: Option<PidFile>,
    site: Site,
    max_clients: u32,
}

/// The lecture's sequence: sigaction(SIGCHLD), socket, bind, listen; then what a web
/// server adds: pid file, chroot, dropping privileges.
fn start(cli: &Cli) -> Result<Server, CallError> {
    let address = SocketAddr::new(parse_bind(&cli.bind)?, cli.port);
    // SIGTERM/SIGINT through a self-pipe (as step05), SIGCHLD reaps (as step04)
    let signals = SignalPipe::install(STOP)?;
    install_sigchld_handler()?;

    // socket, setsockopt, bind, listen (slides 17–23), IPv4 or IPv6
    let fd = socket(Domain::for_address(address), Type::STREAM)?;
    setsockopt_reuseaddr(&fd)?;
    if address.is_ipv6() && address.ip().is_unspecified() {
        // "::" takes IPv4 clients too (as ::ffff:a.b.c.d): one socket, both families.
        setsockopt_v6only(&fd, false)?;
    }
    bind_addr(&fd, &address)?;
    listen(&fd, QLEN)?;
    // poll says when to accept; a client gone meanwhile must not block the parent.
    set_nonblocking(&fd)?;
    let address = getsockname_addr(&fd)?;

    // Beyond the slides: the pid file and the user's ids, before chroot hides them
    let pid_file = cli.pid_file.as_deref().map(PidFile::create).transpose()?;
    let user = cli.user.as_deref().map(lookup_user).transpose()?;
    let root = if cli.chroot {
        // chroot: from now on "/" is the document root; nothing above it exists for
        // this process. chdir("/") first would leave the cwd outside; so chdir after.
        nix::unistd::chroot(&cli.root).map_err(|e| CallError::from_errno("chroot", e as i32))?;
        nix::unistd::chdir("/").map_err(|e| CallError::from_errno("chdir", e as i32))?;
        PathBuf::from("/")
    } else {
        cli.root.clone()
    };
    // Beyond the slides: root was needed for a port below 1024 and for chroot; no more
    if let Some(user) = &user {
        become_user(user)?;
    }
    let resolver = Resolver::new(&root, cli.follow_symlinks, cli.show_hidden)
        .map_err(|e| CallError::from_io("realpath", e))?;
    // Beyond the slides: files are opened with openat2 (Linux 5.6); ask once, now
    resolver.probe()?;
    Ok(Server {
        fd,
        address,
        signals,
        pid_file,
        site: Site {
            resolver,
            listing: !cli.no_listing,
            timeout: Duration::from_secs(cli.timeout),
            log_to_syslog: cli.daemon,
        },
        max_clients: cli.max_clients,
    })
}

/// The address to put in a URL: 127.0.0.1 or [::1] when bound to every interface.
fn browsable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], address.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, address.port()))
        }
        _ => address,
    }
}

/// `--bind`: IPv6 if it has a colon (inet_pton's rules), else inet_aton's.
fn parse_bind(text: &str) -> Result<IpAddr, CallError> {
    if text.contains(':') {
        text.parse::<std::net::Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| CallError::with_message("inet_pton", format!("invalid address '{text}'")))
    } else {
        inet_aton(text).map(|a| IpAddr::V4(a.into()))
    }
}

/// step04's loop: accept, busy or fork; woken by a client or a stop signal.
fn serve(server: Server) -> Result<(), CallError> {
    let busy = {
        let (head, body) = response::error(Status::ServiceUnavailable);
        let mut bytes = head.into_bytes(1, false);
        bytes.extend_from_slice(body.as_bytes());
        bytes
    };
    // Parse one request here, in the parent: on first use httparse asks the CPU which
    // SIMD instructions it has (CPUID, a trap to the hypervisor on a virtual machine),
    // and every child inherits the answer instead of asking again (bench/README.md).
    let _ = request::parse(b"GET / HTTP/1.1\r\nHost: warm-up\r\n\r\n");
    // And tidy the heap: malloc_trim merges the small free blocks start-up left behind.
    // Otherwise each child's first large allocation merges them itself, writing to (and
    // so copying) every page they sit in.
    #[cfg(target_env = "gnu")]
    // SAFETY: no other thread is using the allocator (this program has one thread).
    unsafe {
        libc::malloc_trim(0);
    }
    // The children's receive buffer, allocated once here (see serve_connection).
    let mut buffer = Vec::with_capacity(RECV_ROOM);
    let mut accept_errors = AcceptErrors::new();
    loop {
        // Wait for a client or a stop signal, whichever comes first
        let (client_waiting, signals) = server.signals.wait(&server.fd)?;
        let stop = !signals.is_empty();
        if stop {
            // Children finish their transfers on their own; the parent leaves.
            if let Some(pid_file) = server.pid_file {
                pid_file.remove();
            }
            return close(server.fd);
        }
        if !client_waiting {
            continue;
        }
        let (connectionfd, peer) = match accept_addr(&server.fd) {
            Ok(accepted) => {
                accept_errors.succeeded();
                accepted
            }
            Err(err) if err.errno() == Some(Errno::EAGAIN) => continue,
            Err(err) => {
                // Out of descriptors: pause rather than spin (common::backoff)
                accept_errors.failed(&err);
                continue;
            }
        };
        // Beyond the slides: all children busy? 503 from the parent, no fork.
        if children_alive() >= server.max_clients as isize {
            refuse_with(connectionfd, &busy);
            continue;
        }
        // fork: a child for this client (slides 49, 51–53)
        // SAFETY: this program is single-threaded.
        match unsafe { fork() } {
            Err(err) => {
                diag::error(&err.to_string());
                refuse_with(connectionfd, &busy);
            }
            Ok(ForkResult::Child) => {
                // The child needs neither the listening socket, nor the self-pipe, nor
                // the pid file; SIGTERM ends it normally.
                let _ = server.signals.release_in_child(STOP);
                if let Some(pid_file) = server.pid_file {
                    pid_file.forget_in_child();
                }
                let _ = close(server.fd);
                _exit(serve_connection(
                    connectionfd,
                    peer,
                    &server.site,
                    &mut buffer,
                ));
            }
            Ok(ForkResult::Parent { .. }) => {
                child_started();
                close(connectionfd)?;
            }
        }
    }
}
