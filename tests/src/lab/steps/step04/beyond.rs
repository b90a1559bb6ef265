//! Beyond the slides (`--beyond`): what step04's programs do that the slides do not
//! teach: the pid of the child in the log line, `-m N` (at most N children, then a
//! busy answer without fork), `-t SECS` (an idle client is let go).

use std::time::Instant;

use crate::lab::check::{Failure, NotPassed};
use crate::lab::ctx::{deadline, within, Ctx, DEADLINE};
use crate::lab::report::{quoted, shown};
use crate::procfs;

use super::client::{Client, End};
use super::judge::{accepted, failure, in_scenario, parent_holds, pong, stderr_note};
use super::kernel;
use super::processes::parent_of;

/// What a server with no free child says, before closing.
const BUSY: &[u8] = b"ERR Service temporarily unavailable\r\n";

/// The child serving `client` (the process other than the parent that holds its
/// connection), if there is one.
fn child_serving(server: &crate::lab::ctx::Server, parent: i32, client: &Client) -> Option<i32> {
    let inode = client.server_end().map(|e| e.inode).filter(|&i| i != 0)?;
    kernel::holders(&server.run.processes(), inode)
        .into_iter()
        .map(|(pid, _)| pid)
        .find(|&pid| pid != parent)
}

/// `Connection from: IP:PORT (pid N)`: N is the child that serves that client.
pub fn pid_in_log(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str = "client A connects, PING → PONG, and stays connected";
    let server = ctx.server()?;
    let parent = parent_of(&server)?;
    let a = pong(&server, "client A").map_err(|f| in_scenario(f, SCENARIO))?;
    let child = child_serving(&server, parent, &a);
    let wanted = format!("Connection from: {}", a.local);
    server.run.wait_stderr(deadline(), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        text.find(&wanted)
            .is_some_and(|at| text[at..].contains('\n'))
    });
    let stderr = server.run.stderr();
    let text = String::from_utf8_lossy(&stderr);
    let line = text.lines().find(|l| l.starts_with(&wanted));
    let logged = line
        .and_then(|l| l.rsplit_once("(pid "))
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|n| n.parse::<i32>().ok());
    if logged.is_some() && logged == child {
        return Ok(());
    }
    Err(Failure::new(
        format!("{SCENARIO}\ncommand: {}", server.run.command_line),
        format!(
            "stderr \"{wanted} (pid {})\\n\"",
            child.map_or_else(|| "N".to_string(), |c| c.to_string())
        ),
        format!(
            "stderr {}; the child serving A is {}",
            line.map_or_else(|| shown(&stderr), |l| quoted(l.as_bytes())),
            child.map_or_else(|| "not found".to_string(), |c| format!("pid {c}"))
        ),
        if child.is_some() {
            "name the child in the log line, as the C original does: fprintf(stderr, \"Connection from: %s:%d (pid %d)\\n\", …, (int)pid) in the parent, with the pid fork returned"
        } else {
            "no child serves client A: the parent serves it itself (one client at a time: see step04/concurrent); fork a child per connection"
        },
    )
    .on_slide(49)
    .into())
}

/// `-m 1`: with one child alive, the next client gets `ERR Service temporarily
/// unavailable` and the connection closes, without a fork; once that child has
/// ended, a client is served again.
pub fn max_clients(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str = "with -m 1: client A connects, PING → PONG, stays; client B connects and sends PING; A leaves; once A's child is reaped, client C connects, PING";
    let server = ctx.server_with(&["-m", "1"])?;
    let parent = parent_of(&server)?;
    let mut a = pong(&server, "client A").map_err(|f| in_scenario(f, SCENARIO))?;
    let a_child = child_serving(&server, parent, &a);
    let mut b = Client::connect(&server).map_err(|f| in_scenario(f, SCENARIO))?;
    b.send(b"PING\r\n");
    let end = b.read_until_end(deadline());
    if b.got != BUSY || end == End::Silent {
        let hint = if b.got.is_empty() && end == End::Silent && !accepted(&server, &b) {
            "B was never accepted while A is connected: the server serves one client at a time (see step04/concurrent)"
        } else {
            "with -m N children alive, answer a new client \"ERR Service temporarily unavailable\" and close, without fork"
        };
        let f = failure(
            &server,
            &b,
            format!("B gets {}, then the connection closes", shown(BUSY)),
            (hint.into(), 49),
        );
        return Err(in_scenario(f, SCENARIO).into());
    }
    a.finish();
    a.read_until_end(deadline());
    drop(a);
    // Reaped, not only ended: the count of children goes down in the handler.
    let reaped = a_child.is_some_and(|pid| within(deadline(), || procfs::stat(pid).is_none()));
    let c = pong(&server, "client C").map_err(|f| {
        let mut f = in_scenario(f, SCENARIO);
        f.hint = if reaped {
            "once a child has ended and been reaped, a new client is served again: count the children down in the SIGCHLD handler, one per waitpid that returns a pid".into()
        } else {
            "A's child was never reaped, so it still counts: reap the children in the SIGCHLD handler and count them down there".into()
        };
        f.slide = Some(50);
        f
    })?;
    drop(c);
    Ok(())
}

/// `-t 1`: a client that says nothing is let go after about a second: the
/// connection closes (the child does not wait for ever).
pub fn idle_timeout(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str = "with -t 1: a client connects and says nothing";
    let server = ctx.server_with(&["-t", "1"])?;
    let mut client = Client::connect(&server).map_err(|f| in_scenario(f, SCENARIO))?;
    let since = Instant::now();
    let end = client.read_until_end(deadline());
    let waited = since.elapsed();
    if matches!(end, End::Eof | End::Reset) && client.got.is_empty() && waited.as_millis() >= 500 {
        return Ok(());
    }
    let got = format!(
        "{} after {:.1} s{}",
        client.got_text(),
        waited.as_secs_f64(),
        stderr_note(&server)
    );
    let (hint, slide) = parent_holds(&server, &client).unwrap_or_else(|| {
        (
            "-t SECS: set SO_RCVTIMEO on the connection; when recv fails with EAGAIN the client has been idle that long: close".into(),
            51,
        )
    });
    Err(Failure::new(
        format!("{SCENARIO}\ncommand: {}", server.run.command_line),
        format!(
            "the connection closes, with nothing said, about 1 s later (within {} s)",
            DEADLINE.as_secs()
        ),
        got,
        hint,
    )
    .on_slide(slide)
    .into())
}
