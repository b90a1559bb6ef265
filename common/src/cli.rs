//! The command line the step binaries share: parsing with the right exit codes, and
//! the server flags every step takes (`--port`, `--bind`, `--explain`).
//!
//! clap exits with status 2 on a usage error, which in this lecture means "bind
//! failed". [`parse`] exits 64 (`EX_USAGE`) instead, and 0 for `--help`/`--version`.

use std::process;

use clap::{Args, Parser};

use crate::error::{CallError, EX_USAGE};
use crate::inet::inet_aton;
use crate::sockaddr::InAddr;

/// The exit-code table every server's `--help` ends with.
///
/// ```
/// assert!(common::cli::SERVER_EXIT_CODES.contains("2   bind failed"));
/// ```
pub const SERVER_EXIT_CODES: &str = "\
Exit codes (the lecture's numbering, shared by all the steps):
  0   success, or stopped by SIGINT/SIGTERM
  1   socket or setsockopt failed (also: --wire without CAP_NET_RAW)
  2   bind failed (e.g. Address already in use)
  3   listen failed
  4   accept failed
  5   sigaction failed
  6   recv failed
  10  invalid address (inet_aton)
  64  usage error";

/// Parse the command line into `T`; on a usage error print clap's message and exit 64.
///
/// ```c
/// while ((opt = getopt(argc, argv, "p:b:")) != -1)
///     switch (opt) { ... default: usage(); exit(64); }
/// ```
///
/// `--help` and `--version` print to stdout and exit 0.
///
/// # Errors
///
/// None returned: a bad command line ends the process with status 64.
///
/// ```no_run
/// #[derive(clap::Parser)]
/// struct Cli {
///     #[command(flatten)]
///     server: common::cli::ServerArgs,
/// }
/// let cli: Cli = common::cli::parse();
/// ```
pub fn parse<T: Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() {
                i32::from(EX_USAGE)
            } else {
                0
            };
            // Printing can only fail if the terminal is gone; the exit code still tells.
            let _ = err.print();
            process::exit(code);
        }
    }
}

/// The flags every server step takes.
///
/// ```c
/// unsigned short port = PORT;        /* -p PORT */
/// const char *bind_to = "0.0.0.0";   /* -b ADDR: INADDR_ANY */
/// ```
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Port to listen on; 0 lets the kernel choose (the lecture's PORT is 1234)
    #[arg(short, long, default_value_t = crate::PORT)]
    pub port: u16,

    /// Address to bind, dotted notation as inet_aton accepts it (0.0.0.0 = INADDR_ANY, every interface)
    #[arg(short, long, default_value = "0.0.0.0", value_name = "ADDR")]
    pub bind: String,

    /// Narrate every socket call on stderr, as strace would show it, with why
    #[arg(long)]
    pub explain: bool,

    /// Print each TCP segment of this program's connections as it crosses lo, tcpdump-style (needs CAP_NET_RAW)
    #[arg(long)]
    pub wire: bool,
}

impl ServerArgs {
    /// The `--bind` address through `inet_aton`, the lecture's conversion.
    ///
    /// # Errors
    ///
    /// `inet_aton: invalid address 'X'`, exit 10.
    ///
    /// ```
    /// let args = common::cli::ServerArgs { port: 0, bind: "127.1".into(), explain: false, wire: false };
    /// assert_eq!(args.bind_address().unwrap().to_string(), "127.0.0.1");
    /// ```
    pub fn bind_address(&self) -> Result<InAddr, CallError> {
        inet_aton(&self.bind)
    }
}
