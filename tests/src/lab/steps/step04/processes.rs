//! The processes of a forking server: clients served at once, children reaped as
//! they end, a SIGCHLD handler that returns, and an `accept` that a child's end does
//! not break. Each check drives a few clients through a scenario, then reads the
//! kernel's view of the parent and its children (`/proc`).

use std::collections::HashSet;
use std::time::Instant;

use crate::lab::check::{Failure, NotPassed};
use crate::lab::ctx::{deadline, within, Ctx, Server, DEADLINE, SETTLE};
use crate::lab::report::shown;
use crate::lab::run::describe_status;

use super::client::{Client, End};
use super::judge::{accepted, ask, common_mistake, failure, in_scenario, pong, stderr_note};
use super::kernel;

/// The slide of fork.
const FORK_SLIDE: u32 = 49;
/// The slide of sigaction(SIGCHLD) and its handler.
const SIGCHLD_SLIDE: u32 = 50;

/// The parent process of the server, or the failure that there is none.
pub fn parent_of(server: &Server) -> Result<i32, Failure> {
    kernel::parent(server).ok_or_else(|| {
        Failure::new(
            format!("command: {}", server.run.command_line),
            "a process holding the listening socket",
            format!("none{}", stderr_note(server)),
            "the server stopped listening: it must stay in its accept loop",
        )
    })
}

/// The children of `parent` that were not there before (`before`).
fn new_children(parent: i32, before: &HashSet<i32>) -> Vec<i32> {
    kernel::children(parent)
        .iter()
        .map(|s| s.pid)
        .filter(|pid| !before.contains(pid))
        .collect()
}

/// The pids of the children of `parent` now, zombies included.
fn child_pids(parent: i32) -> HashSet<i32> {
    kernel::children(parent).iter().map(|s| s.pid).collect()
}

/// Two clients at once: while client A stays connected, saying nothing, client B
/// is answered.
pub fn concurrent(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str =
        "client A connects and stays connected, saying nothing; client B connects and sends PING";
    let server = ctx.server()?;
    let a = Client::connect(&server)?;
    if !within(deadline(), || accepted(&server, &a)) {
        return Err(Failure::new(
            format!("{SCENARIO}\ncommand: {}", server.run.command_line),
            "client A is accepted",
            format!(
                "no process of the program took A's connection out of the listen queue within {} s{}",
                DEADLINE.as_secs(),
                stderr_note(&server)
            ),
            "the server must accept the connection in its loop, as step 02's did",
        )
        .on_slide(SIGCHLD_SLIDE)
        .into());
    }
    let b = ask(&server, b"PING\r\n", 1)?;
    if b.got.contains(&b'\n') {
        return Ok(());
    }
    let expected = "a reply line to B's PING while A is connected".to_string();
    let (hint, slide) = if b.end == Some(End::Silent) && !accepted(&server, &b) {
        (
            "B's connection waits in the listen queue while the parent serves A itself: one client at a time. fork a child per connection; the child serves the client, the parent goes straight back to accept".to_string(),
            FORK_SLIDE,
        )
    } else {
        common_mistake(&server, &b, b"PONG\r\n").unwrap_or_else(|| {
            (
                "B was accepted but not answered while A is connected: each client needs a process of its own (fork)".into(),
                FORK_SLIDE,
            )
        })
    };
    let mut f = failure(&server, &b, expected, (hint, slide));
    if !accepted(&server, &b) {
        f.got
            .push_str("\nB's connection was never accepted: no process holds it");
    }
    Err(in_scenario(f, SCENARIO).into())
}

/// How many clients the zombie check serves.
const CLIENTS: usize = 5;

/// After a few short connections, every child has ended and been reaped: none is
/// left a zombie.
pub fn no_zombies(ctx: &Ctx) -> Result<(), NotPassed> {
    let scenario =
        format!("{CLIENTS} clients, one after the other: connect, PING → PONG, end of file, close");
    let server = ctx.server()?;
    let parent = parent_of(&server)?;
    for i in 1..=CLIENTS {
        let mut client =
            pong(&server, &format!("client {i}")).map_err(|f| in_scenario(f, &scenario))?;
        client.finish();
        client.read_until_end(deadline());
    }
    let sent = format!("{scenario}\ncommand: {}", server.run.command_line);
    // Each child ends once its client has left…
    if !within(deadline(), || kernel::live_children(parent).is_empty()) {
        let live = kernel::live_children(parent);
        let stderr = server.run.stderr();
        let looping = String::from_utf8_lossy(&stderr).contains("accept: Bad file descriptor");
        let hint = if looping {
            "a child went on into the parent's accept loop, with the listening socket closed: end the child with _exit(serve_client(…)) once it has served its client"
        } else {
            "a child must end once its client has left: _exit(serve_client(…)) (or exit) after serving"
        };
        return Err(Failure::new(
            sent,
            "every child has ended once its client has left",
            format!(
                "{} still running {} s later (pids {live:?}); stderr {}",
                plural(live.len(), "child", "children"),
                DEADLINE.as_secs(),
                shown(&stderr)
            ),
            hint,
        )
        .on_slide(51)
        .into());
    }
    // …and the SIGCHLD handler reaps it at once (the deadline is for a loaded
    // machine: a zombie that stays costs the wait, a flaky red line costs trust).
    if within(deadline(), || kernel::zombies(parent).is_empty()) {
        return Ok(());
    }
    let zombies = kernel::zombies(parent);
    let hint = if zombies.len() >= CLIENTS {
        "nobody waits for the children: sigaction(SIGCHLD, …) with a handler that reaps them, while (waitpid(-1, NULL, WNOHANG) > 0)"
    } else {
        "some children were reaped, not all: signals are not counted, so one SIGCHLD may stand for several children; reap in a loop, while (waitpid(-1, NULL, WNOHANG) > 0)"
    };
    Err(Failure::new(
        sent,
        "no child of the server left a zombie",
        format!(
            "{} {WAITED} s after their clients left: pids {zombies:?} (state Z in /proc/PID/stat; ps shows <defunct>)",
            if zombies.len() == 1 {
                format!("1 child of the parent (pid {parent}) is a zombie")
            } else {
                format!("{} children of the parent (pid {parent}) are zombies", zombies.len())
            },
            WAITED = DEADLINE.as_secs()
        ),
        hint,
    )
    .into())
}

/// `1 child`, `3 children`.
fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The SIGCHLD handler returns while other children live: with client A still
/// connected, client B's child ends, and client C is served after it.
pub fn handler_returns(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str = "client A connects, PING → PONG, and stays connected; client B connects, PING → PONG, and leaves; once B's child has ended, client C connects and sends PING";
    let server = ctx.server()?;
    let parent = parent_of(&server)?;
    let _a = pong(&server, "client A").map_err(|f| in_scenario(f, SCENARIO))?;
    let before = child_pids(parent);
    let mut b = pong(&server, "client B").map_err(|f| in_scenario(f, SCENARIO))?;
    let b_children = new_children(parent, &before);
    b.finish();
    b.read_until_end(deadline());
    drop(b);
    // Ended (a zombie, or reaped already): its SIGCHLD is sent, so the parent runs
    // the handler before its next line of code, before it can fork a child for C
    // (even if accept returns C's connection first).
    within(deadline(), || {
        b_children.iter().all(|&pid| kernel::ended(pid))
    });
    let c = ask(&server, b"PING\r\n", 1)?;
    if c.got == b"PONG\r\n" {
        return Ok(());
    }
    let wchan = kernel::wchan(parent);
    let in_wait = wchan.as_deref().is_some_and(|w| w.contains("wait"));
    let expected = "\"PONG\\r\\n\" for C, while A is still connected".to_string();
    let hint = if c.got.is_empty() && c.end == Some(End::Silent) {
        if in_wait {
            "the parent is blocked in the SIGCHLD handler: after reaping B's child, wait() waits for A's, which serves on, and nobody accepts meanwhile (the slide's while (wait(NULL) > 0);). Reap without blocking: while (waitpid(-1, NULL, WNOHANG) > 0);"
        } else {
            "C was not served once B's child had ended, while A's child lives: does the SIGCHLD handler block? It must return at once: while (waitpid(-1, NULL, WNOHANG) > 0);"
        }
        .to_string()
    } else {
        common_mistake(&server, &c, b"PONG\r\n").map_or_else(
            || "C's PING is answered with PONG, whatever the other children do".to_string(),
            |(h, _)| h,
        )
    };
    let mut f = failure(&server, &c, expected, (hint, SIGCHLD_SLIDE));
    if let Some(w) = wchan.filter(|_| in_wait) {
        f.got.push_str(&format!(
            "\nthe parent (pid {parent}) waits in {w} (/proc/{parent}/wchan)"
        ));
    }
    Err(in_scenario(f, SCENARIO).into())
}

/// A child that ends while the parent waits in `accept` does not make `accept` fail
/// (`EINTR` without `SA_RESTART`): the server says nothing of it and serves on.
pub fn accept_restarts(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str = "client A connects, PING → PONG, and leaves; once A's child has ended, the parent waiting in accept, client B connects and sends PING";
    let mut server = ctx.server()?;
    let parent = parent_of(&server)?;
    let before = child_pids(parent);
    let mut a = pong(&server, "client A").map_err(|f| in_scenario(f, SCENARIO))?;
    let a_children = new_children(parent, &before);
    // The parent asleep (back in accept) before A's child ends: its SIGCHLD then
    // interrupts accept, the case SA_RESTART is for.
    within(deadline(), || kernel::sleeping(parent));
    a.finish();
    a.read_until_end(deadline());
    drop(a);
    // B connects only once the handler has run (A's child is reaped): woken by
    // SIGCHLD, accept returns a connection already queued rather than fail, so a B
    // too early could hide the EINTR. A program that does not catch SIGCHLD is not
    // interrupted at all: A's child ending is enough.
    let catches = kernel::catches(parent, libc::SIGCHLD);
    within(deadline(), || {
        a_children.iter().all(|&pid| {
            if catches {
                kernel::gone(pid)
            } else {
                kernel::ended(pid)
            }
        })
    });
    let b = Client::connect(&server).map(|mut b| {
        b.send(b"PING\r\n");
        b.lines(1, deadline());
        b
    });
    // What the parent printed about accept comes before B's `Connection from`.
    server.run.wait_stderr(Instant::now() + SETTLE, |bytes| {
        String::from_utf8_lossy(bytes)
            .matches("Connection from")
            .count()
            >= 2
    });
    let stderr = server.run.stderr();
    let text = String::from_utf8_lossy(&stderr);
    let eintr = text.contains("Interrupted system call");
    let exited = server.run.exited();
    let served = b.as_ref().is_ok_and(|b| b.got == b"PONG\r\n");
    if served && !eintr && exited.is_none() {
        return Ok(());
    }
    let restart = "sigaction(SIGCHLD) with sa.sa_flags = SA_RESTART: the kernel then restarts an accept that the handler interrupted";
    let (got, hint) = match (exited, eintr) {
        (Some(status), _) => (
            format!("the server {} when A's child ended; stderr {}", describe_status(status), shown(&stderr)),
            format!("accept failed with EINTR when SIGCHLD interrupted it, and the server gave up: {restart} (and one failed accept must not end the server: perror, continue)"),
        ),
        (None, true) => (
            format!("stderr {}", shown(&stderr)),
            format!("accept failed with EINTR (Interrupted system call) when A's child ended and the SIGCHLD handler ran: {restart}"),
        ),
        (None, false) => (
            match &b {
                Ok(b) => format!("B got {}{}", b.got_text(), stderr_note(&server)),
                Err(f) => f.got.clone(),
            },
            format!("B was not served after A's child ended: {restart}"),
        ),
    };
    Err(Failure::new(
        format!("{SCENARIO}\ncommand: {}", server.run.command_line),
        "B gets \"PONG\\r\\n\", and nothing about accept on stderr",
        got,
        hint,
    )
    .on_slide(SIGCHLD_SLIDE)
    .into())
}
