//! Judging a step04 conversation: the replies against the protocol table, and the
//! mistakes every wrong reply can show (no reply at all, a `todo!()` still in the
//! code, LF instead of CRLF, the request's CR echoed, every reply empty) named before
//! the check's own hint.

use crate::lab::check::Failure;
use crate::lab::ctx::{deadline, todo_message, Server, DEADLINE};
use crate::lab::report::shown;

use super::client::{Client, End};
use super::kernel;

/// The slide where the child composes its answer (`TODO [4]` of the skeletons).
pub const ANSWER_SLIDE: u32 = 51;

/// A hint and the slide it points to.
pub type Hint = (String, u32);

/// A check's hint on its own slide.
pub fn hint(text: impl Into<String>) -> Hint {
    (text.into(), ANSWER_SLIDE)
}

/// Connect a new client to `server`, send `request` in one write and read `replies`
/// lines (or what comes before the server closes, resets or falls silent).
pub fn ask(server: &Server, request: &[u8], replies: usize) -> Result<Client, Failure> {
    let mut client = Client::connect(server)?;
    client.send(request);
    client.lines(replies, deadline());
    Ok(client)
}

/// Passed when the bytes received are exactly `expected`; else the failure, with the
/// common mistake it shows or `hint`.
pub fn expect(
    server: &Server,
    client: &Client,
    expected: &[u8],
    hint: impl FnOnce(&Client) -> Hint,
) -> Result<(), Failure> {
    if client.got == expected {
        return Ok(());
    }
    let hint = common_mistake(server, client, expected).unwrap_or_else(|| hint(client));
    Err(failure(
        server,
        client,
        format!("replies {}", shown(expected)),
        hint,
    ))
}

/// The failure of a conversation: what was sent (and the command), what was
/// expected, what came back (and the program's complaints on stderr).
pub fn failure(server: &Server, client: &Client, expected: String, (hint, slide): Hint) -> Failure {
    Failure::new(
        format!(
            "{}\ncommand: {}",
            client.sent_text(),
            server.run.command_line
        ),
        expected,
        format!("{}{}", client.got_text(), stderr_note(server)),
        hint,
    )
    .on_slide(slide)
}

/// What the program said on stderr besides its status lines (`listening on`,
/// `Connection from`), for the `got` line: a perror, a panic, a traceback.
pub fn stderr_note(server: &Server) -> String {
    let stderr = server.run.stderr();
    let text = String::from_utf8_lossy(&stderr);
    let other = text
        .lines()
        .any(|l| !l.starts_with("listening on") && !l.starts_with("Connection from"));
    if other {
        format!("\nstderr {}", shown(&stderr))
    } else {
        String::new()
    }
}

/// The mistakes any wrong conversation may show, named the same way in every check.
pub fn common_mistake(server: &Server, client: &Client, expected: &[u8]) -> Option<Hint> {
    let stderr = server.run.stderr();
    if let Some((message, slide)) = todo_message(&String::from_utf8_lossy(&stderr)) {
        return Some((
            format!(
                "a todo!() is still in the code ({message}): replace it with what the slide shows"
            ),
            slide.unwrap_or(ANSWER_SLIDE),
        ));
    }
    if client.got.is_empty() {
        return Some(match client.end {
            Some(End::Eof | End::Reset) => hint(
                "the connection ended without a reply: the child must answer each request line before it closes (stderr may say why it stopped)",
            ),
            _ => hint(format!(
                "no reply within {} s: answer each request as soon as its line has come (its LF), with sendall, before the next recv",
                DEADLINE.as_secs()
            )),
        });
    }
    let lines: Vec<&[u8]> = client.got.split_inclusive(|&b| b == b'\n').collect();
    if lines.iter().any(|l| l.ends_with(b"\r\r\n")) {
        return Some(hint(
            "a reply ends in \"\\r\\r\\n\": the request's CR came back with it; a line ends in LF or CRLF, so drop a CR before the LF before answering",
        ));
    }
    if lines
        .iter()
        .any(|l| l.ends_with(b"\n") && !l.ends_with(b"\r\n"))
    {
        return Some(hint(
            "every reply line ends in CRLF, \"\\r\\n\" (as telnet expects), not \"\\n\" alone",
        ));
    }
    let all_empty = lines.iter().all(|l| *l == b"\r\n");
    if all_empty && expected.split(|&b| b == b'\n').any(|l| l.len() > 1) {
        return Some(hint(
            "every reply is an empty line: compose the answer to each request by its verb, as the table says (the skeleton's TODO [4])",
        ));
    }
    None
}

/// Connect `who` and see PING answered with PONG: the conversation a process check
/// needs before it looks at the processes. The failure names the client.
pub fn pong(server: &Server, who: &str) -> Result<Client, Failure> {
    let client = ask(server, b"PING\r\n", 1)?;
    if client.got == b"PONG\r\n" {
        return Ok(client);
    }
    let never_accepted =
        client.got.is_empty() && client.end == Some(End::Silent) && !accepted(server, &client);
    let hint = if never_accepted {
        (
            format!("{who} was never accepted: while another client is connected the server accepts nobody (one client at a time: see step04/concurrent); fork a child per connection"),
            49,
        )
    } else {
        common_mistake(server, &client, b"PONG\r\n").unwrap_or_else(|| {
            hint(format!(
                "{who} got no PONG, so this check could not go on: see step04/ping first"
            ))
        })
    };
    let mut f = failure(server, &client, format!("\"PONG\\r\\n\" for {who}"), hint);
    f.got = format!("{who} got {}", f.got);
    Err(f)
}

/// True when a process of the program holds the server's end of `client`'s
/// connection: it was accepted (a connection still in the listen queue has no
/// descriptor yet, and its inode is 0).
pub fn accepted(server: &Server, client: &Client) -> bool {
    client
        .server_end()
        .filter(|e| e.inode != 0)
        .is_some_and(|e| !kernel::holders(&server.run.processes(), e.inode).is_empty())
}

/// `failure` as a step of a longer scenario: `scenario` (what the check did before)
/// goes first in its `sent`.
pub fn in_scenario(mut failure: Failure, scenario: &str) -> Failure {
    failure.sent = format!("{scenario}\n{}", failure.sent);
    failure
}

/// The hint when the connection stays open because the parent alone still holds it:
/// the child has closed its copy (and ended), the parent never closed its own, so
/// no FIN leaves.
pub fn parent_holds(server: &Server, client: &Client) -> Option<Hint> {
    let parent = kernel::parent(server)?;
    let inode = client.server_end().map(|e| e.inode).filter(|&i| i != 0)?;
    match kernel::holders(&server.run.processes(), inode).as_slice() {
        [(pid, fds)] if *pid == parent => Some((
            format!(
                "the child has closed, but the parent (pid {parent}) still holds the connection as {}, so it stays open: the parent closes its copy of connectionfd after fork",
                kernel::fd_list(fds)
            ),
            52,
        )),
        _ => None,
    }
}
