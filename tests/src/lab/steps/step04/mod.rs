//! Step 04, respond (slides 48–53): a forking request/response server, run as
//! `PROG -p P`.
//!
//! The checker is its clients. First: two clients at once (`concurrent`), the fact
//! that makes this step a step. Then the protocol table, a client's view, one check
//! per row or per rule of the line protocol (`protocol.rs`). Then the processes
//! (`processes.rs`, `descriptors.rs`): after a scenario of a few clients, the checks
//! read the kernel's view of the parent and its children in `/proc` (a zombie, the
//! parent blocked in `wait`, a descriptor kept after fork) and name what they find.
//! Step 01's checks that still apply (it listens on P, prints the client's address
//! and port, binds again at once) are re-run before these.
//!
//! With `--beyond`, what the C original does beyond the slides (`beyond.rs`): the
//! child's pid in the log, `-m`, `-t`.
//!
//! Step 05's daemon serves as this step's server does: it is held to every check
//! above but the beyond ones, run in the foreground (`-p P -f`; its `-f` has no `-m`
//! nor `-t`, and its log may go to syslog instead of stderr).
//!
//! Each check starts the program afresh on a port of its own, as step 01's do; when
//! the check ends, the program and every child it forked are killed.

use crate::lab::check::Check;

mod beyond;
mod client;
mod clock;
mod descriptors;
mod judge;
mod kernel;
mod processes;
mod protocol;

/// The checks of step 04, in the order a student meets them.
pub static CHECKS: [Check; 21] = [
    Check {
        id: "step04/concurrent",
        slide: 49,
        what: "two clients are served at once: the second is answered while the first stays connected",
        beyond: false,
        applies_to: &[4, 5],
        run: processes::concurrent,
    },
    Check {
        id: "step04/ping",
        slide: 51,
        what: "PING is answered with PONG, a line ending in CRLF",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::ping,
    },
    Check {
        id: "step04/echo",
        slide: 51,
        what: "ECHO text is answered with the text, spaces and all; ECHO alone with an empty line",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::echo,
    },
    Check {
        id: "step04/time",
        slide: 51,
        what: "TIME is answered with the current time in UTC, RFC 3339 (2026-11-23T22:05:00Z)",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::time,
    },
    Check {
        id: "step04/help",
        slide: 51,
        what: "HELP is answered with one line naming ECHO, TIME, PING, HELP and QUIT",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::help,
    },
    Check {
        id: "step04/case",
        slide: 51,
        what: "commands are case-insensitive: ping, Echo, QuIt",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::case,
    },
    Check {
        id: "step04/unknown",
        slide: 51,
        what: "anything else (PINGS, an empty line) is answered with ERR unknown command",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::unknown,
    },
    Check {
        id: "step04/line-endings",
        slide: 51,
        what: "a request may end in LF or in CRLF",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::line_endings,
    },
    Check {
        id: "step04/split-request",
        slide: 51,
        what: "a request that arrives in pieces is answered once, whole",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::split_request,
    },
    Check {
        id: "step04/pipelining",
        slide: 51,
        what: "600 requests sent in one write are answered in order, one line each",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::pipelining,
    },
    Check {
        id: "step04/client-eof",
        slide: 51,
        what: "at the client's end of file the requests left are answered, an unterminated last line too",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::client_eof,
    },
    Check {
        id: "step04/quit",
        slide: 31,
        what: "QUIT is answered with BYE, then the right way to close: shutdown, read until the client's end, close",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::quit,
    },
    Check {
        id: "step04/line-too-long",
        slide: 51,
        what: "a request of 1024 bytes is answered; a longer one gets ERR line too long, then the connection closes",
        beyond: false,
        applies_to: &[4, 5],
        run: protocol::line_too_long,
    },
    Check {
        id: "step04/no-zombies",
        slide: 50,
        what: "after a few short connections no child is left a zombie",
        beyond: false,
        applies_to: &[4, 5],
        run: processes::no_zombies,
    },
    Check {
        id: "step04/handler-returns",
        slide: 50,
        what: "the SIGCHLD handler returns while other children live: a new client is served meanwhile",
        beyond: false,
        applies_to: &[4, 5],
        run: processes::handler_returns,
    },
    Check {
        id: "step04/accept-restarts",
        slide: 50,
        what: "a child ending while the parent waits in accept does not make accept fail (SA_RESTART)",
        beyond: false,
        applies_to: &[4, 5],
        run: processes::accept_restarts,
    },
    Check {
        id: "step04/parent-closes",
        slide: 52,
        what: "the parent closes its copy of each connection after fork",
        beyond: false,
        applies_to: &[4, 5],
        run: descriptors::parent_closes,
    },
    Check {
        id: "step04/child-closes-listener",
        slide: 51,
        what: "the child closes its copy of the listening socket",
        beyond: false,
        applies_to: &[4, 5],
        run: descriptors::child_closes_listener,
    },
    Check {
        id: "step04/pid-in-log",
        slide: 49,
        what: "each `Connection from:` line names the child serving that client: ` (pid N)`",
        beyond: true,
        applies_to: &[4],
        run: beyond::pid_in_log,
    },
    Check {
        id: "step04/max-clients",
        slide: 49,
        what: "-m 1: with one child alive a new client gets ERR Service temporarily unavailable; once it is reaped, clients are served again",
        beyond: true,
        applies_to: &[4],
        run: beyond::max_clients,
    },
    Check {
        id: "step04/idle-timeout",
        slide: 51,
        what: "-t 1: a client that says nothing is let go after a second",
        beyond: true,
        applies_to: &[4],
        run: beyond::idle_timeout,
    },
];
