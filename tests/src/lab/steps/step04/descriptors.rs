//! After fork, parent and child hold the same descriptors; each closes what it does
//! not need. These checks look at each process's descriptors (`/proc/PID/fd/N ->
//! socket:[INODE]`) at a moment the program has certainly passed its `close`.

use std::time::Instant;

use crate::lab::check::{Failure, NotPassed};
use crate::lab::ctx::{deadline, within, Ctx, SETTLE};
use crate::lab::listen;

use super::client::Client;
use super::judge::{in_scenario, pong};
use super::kernel::{self, fd_list};
use super::processes::parent_of;

/// The inode of the server's end of `client`'s connection (0: nobody holds it).
fn inode(client: &Client) -> u64 {
    client.server_end().map_or(0, |e| e.inode)
}

/// The parent closes its copy of each connection: once client A has left and
/// client B has been served (so the parent went round its loop after A), the parent
/// holds nothing of A's connection.
pub fn parent_closes(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str = "client A connects, PING → PONG, and leaves; client B connects, PING → PONG (the parent has gone round its loop since A)";
    let server = ctx.server()?;
    let parent = parent_of(&server)?;
    let mut a = pong(&server, "client A").map_err(|f| in_scenario(f, SCENARIO))?;
    let a_inode = inode(&a);
    a.finish();
    a.read_until_end(deadline());
    drop(a);
    let _b = pong(&server, "client B").map_err(|f| in_scenario(f, SCENARIO))?;
    let held = || kernel::fds_holding(parent, a_inode);
    if a_inode == 0 || within(Instant::now() + SETTLE, || held().is_empty()) {
        return Ok(());
    }
    let fds = held();
    Err(Failure::new(
        format!("{SCENARIO}\ncommand: {}", server.run.command_line),
        "the parent holds no descriptor of A's connection",
        format!(
            "the parent (pid {parent}) still holds A's connection as {} (/proc/{parent}/fd/{} -> socket:[{a_inode}]), after A left",
            fd_list(&fds),
            fds.first().copied().unwrap_or_default()
        ),
        "after fork the parent closes its copy: close(connectionfd). Else every client leaves a descriptor open in the parent (after about a thousand, accept fails with \"Too many open files\"), and a child's close alone does not end the connection",
    )
    .into())
}

/// The child closes its copy of the listening socket: while it serves client A, it
/// holds A's connection and not the socket the parent accepts on.
pub fn child_closes_listener(ctx: &Ctx) -> Result<(), NotPassed> {
    const SCENARIO: &str =
        "client A connects, PING → PONG, and stays connected; then the descriptors of the process serving it";
    let server = ctx.server()?;
    let parent = parent_of(&server)?;
    let listeners = listen::listening_inodes(parent);
    let a = pong(&server, "client A").map_err(|f| in_scenario(f, SCENARIO))?;
    let sent = format!("{SCENARIO}\ncommand: {}", server.run.command_line);
    let a_inode = inode(&a);
    let children: Vec<(i32, Vec<i32>)> = kernel::holders(&server.run.processes(), a_inode)
        .into_iter()
        .filter(|(pid, _)| *pid != parent)
        .collect();
    if children.is_empty() {
        return Err(Failure::new(
            sent,
            "a child process serves A",
            format!("only the parent (pid {parent}) holds A's connection"),
            "no child serves the client: fork a child per connection, and let it serve the client",
        )
        .on_slide(49)
        .into());
    }
    for (child, _) in &children {
        for &listener in &listeners {
            let fds = kernel::fds_holding(*child, listener);
            if fds.is_empty() {
                continue;
            }
            let parents = kernel::fds_holding(parent, listener);
            return Err(Failure::new(
                sent,
                "the child serving A holds A's connection, and not the listening socket",
                format!(
                    "the child (pid {child}) holds the listening socket as {} (/proc/{child}/fd/{} -> socket:[{listener}], the parent's {})",
                    fd_list(&fds),
                    fds[0],
                    fd_list(&parents)
                ),
                "the child does not accept: close(fd), its copy of the listening socket, first thing after fork. Else the port stays open for as long as any child lives: stop the server while a client is connected, and starting it again fails with \"bind: Address already in use\"",
            )
            .into());
        }
    }
    Ok(())
}
