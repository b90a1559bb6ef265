//! The experiments the step READMEs suggest work as written: each test reads the
//! recipe out of the README, follows it, and checks what the README says happens.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::bins::workspace_root;
use tests::daemon::TempDir;
use tests::mask;
use tests::process::Launch;
use tests::{rust_binary, Server};

fn readme(step: &str) -> String {
    fs::read_to_string(workspace_root().join(step).join("README.md")).unwrap()
}

/// The list item of `readme` that contains `needle`, as written (continuation lines
/// keep their indentation), up to the next item or heading.
fn list_item<'a>(readme: &'a str, needle: &str) -> &'a str {
    let at = readme
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in the README"));
    let start = readme[..at].rfind("\n- ").map_or(0, |i| i + 1);
    let rest = &readme[start + 2..];
    let end = [rest.find("\n- "), rest.find("\n#")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    &readme[start..start + 2 + end]
}

/// `text` with every run of whitespace turned into one space, as Markdown reads a
/// code span that a line break split.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the code span that starts right after `before`.
fn span_after<'a>(text: &'a str, before: &str) -> &'a str {
    let rest = text
        .split_once(before)
        .unwrap_or_else(|| panic!("no {before:?} in {text:?}"))
        .1;
    rest.split_once('`').unwrap().0
}

/// The `$ COMMAND` lines of the console block in `text` (indented or not) whose first
/// command starts with `first`, and the output lines after them.
fn console_commands(text: &str, first: &str) -> (Vec<String>, String) {
    let block = text
        .split("```console\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim_end())
        .find(|b| b.trim_start().starts_with(first))
        .unwrap_or_else(|| panic!("no console block starting with {first:?}"));
    let lines: Vec<&str> = block.lines().map(str::trim_start).collect();
    let commands: Vec<String> = lines
        .iter()
        .take_while(|l| l.starts_with("$ "))
        .map(|l| l[2..].to_string())
        .collect();
    let indent = block.len() - block.trim_start().len();
    let output: String = block
        .lines()
        .skip(commands.len())
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect();
    (commands, output)
}

/// Build `source` (the text of an `original.c`) in `dir` with `build`, a command line
/// from a README, as a student runs it in the step's folder.
fn build_c(dir: &Path, source: &str, build: &str) -> PathBuf {
    fs::write(dir.join("original.c"), source).unwrap();
    let out = Command::new("sh")
        .args(["-c", build])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{build}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = build.split_once(" -o ").unwrap().1;
    dir.join(binary.split_whitespace().next().unwrap())
}

/// A README's `./original -p 1234 …`, as arguments for a test: port 0 and loopback.
fn test_args(run: &str) -> Vec<String> {
    let mut args: Vec<String> = run
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a == "1234" {
                "0".to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    args.extend(["-b".to_string(), "127.0.0.1".to_string()]);
    args
}

/// Send `bytes` to `server` with step03's client, as terminal 2 does.
fn send_with_client(server: &Server, bytes: &[u8]) {
    let port = server.port().to_string();
    let done = Launch::new(&rust_binary("step03-client"), &["-p", &port])
        .stdin(bytes.to_vec())
        .spawn()
        .wait_exit();
    assert_eq!(done.code, Some(0), "step03-client: {}", done.stderr);
}

/// step02's "Try this" puts the slide's `strlen(buffer)` back into `original.c`. The
/// variant builds with the README's own command, and a student sees what the README
/// shows: bytes printed twice (the leftovers of an earlier `recv`), data cut at a NUL
/// byte, and valgrind catching `strlen` reading past the 5-byte buffer. The original,
/// built the same way, prints exactly what was sent.
#[test]
fn step02_restored_slide_bug_builds_and_overreads() {
    let readme = readme("step02-receive");
    let (c_commands, _) = console_commands(&readme, "$ cc ");
    let [build, run] = c_commands.as_slice() else {
        panic!("the C original's block has two commands: {c_commands:?}");
    };
    let item = list_item(&readme, "Restore the slide bug");
    let recipe = one_line(item);
    let from = span_after(&recipe, "replace `");
    let to = span_after(&recipe, &format!("{from}` with `"));
    let original = fs::read_to_string(workspace_root().join("step02-receive/original.c")).unwrap();
    assert_eq!(original.matches(from).count(), 1, "{from:?} in original.c");
    let words = span_after(&recipe, "`cargo run -q -p step03-client -- ");
    let nul_data = span_after(&recipe, "`printf '")
        .split_once("' |")
        .unwrap()
        .0
        .replace("\\0", "\0")
        .replace("\\n", "\n");
    let (commands, expected) = console_commands(item, "$ ./original");
    assert_eq!(
        commands,
        std::slice::from_ref(run),
        "the recipe runs the C as in \"Run it\""
    );

    // The control: the original, built and run the same way, copies bytes exactly.
    let dir = TempDir::new("recipe02");
    let binary = build_c(dir.path(), &original, build);
    let args = test_args(run);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::launch(Launch::new(&binary, &args));
    send_with_client(&server, format!("{words}\n").as_bytes());
    server.proc.wait_stderr("Connection closed");
    server.proc.signal(libc::SIGTERM);
    assert_eq!(
        server.proc.wait_exit().stdout,
        format!("{words}\n").as_bytes()
    );

    // The variant: terminal 1 shows the README's transcript.
    let binary = build_c(dir.path(), &original.replace(from, to), build);
    let mut server = Server::launch(Launch::new(&binary, &args).merged());
    send_with_client(&server, format!("{words}\n").as_bytes());
    let seen = server.proc.wait_stderr("Connection closed");
    let seen = seen.split_inclusive('\n').take(4).collect::<String>();
    assert_eq!(mask::addresses(&seen), mask::addresses(&expected));
    // A NUL byte ends what strlen counts: the rest of that recv is lost.
    send_with_client(&server, nul_data.as_bytes());
    let all = server.proc.wait_stderr_count("Connection closed", 2);
    let before_nul = nul_data.split('\0').next().unwrap();
    let second = &all[seen.len()..];
    assert_eq!(
        mask::addresses(second),
        format!("Connection from: ADDR:PORT\n{before_nul}Connection closed: ADDR:PORT\n")
    );
    server.proc.signal(libc::SIGTERM);
    assert_eq!(server.proc.wait_exit().code, Some(0));

    // valgrind sees the read past the end of the 5-byte buffer.
    if !tests::require_tool("valgrind") {
        return;
    }
    assert!(recipe.contains(&format!("`valgrind {run}`")));
    let valgrind = Launch::wrapped(&["valgrind"], &binary, &args);
    let mut server = Server::launch(valgrind);
    send_with_client(&server, format!("{words}\n").as_bytes());
    server.proc.wait_stderr("Connection closed");
    server.proc.signal(libc::SIGTERM);
    let report = server.proc.wait_exit().stderr;
    for quote in [
        "Invalid read of size 1",
        "0 bytes after a block of size 5 alloc'd",
    ] {
        assert!(recipe.contains(quote), "the README quotes {quote:?}");
        assert!(report.contains(quote), "valgrind: {report}");
    }
}

/// The command inside the first `$(…)` of `line`: the part of a recipe that finds a pid.
fn substitution(line: &str) -> &str {
    let start = line
        .find("$(")
        .unwrap_or_else(|| panic!("no $( in {line:?}"))
        + 2;
    let end = line.rfind(')').unwrap();
    &line[start..end]
}

/// Run `script` with `sh -c`; its stdout.
fn sh(script: &str) -> String {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// step04's "Try this" lists the server's children (zombies, when the SIGCHLD handler
/// is off) with `ps --ppid PARENT`. Its way of finding the parent finds the parent, and
/// only it, in the cases a student meets: a child alive and serving, and a server
/// started by `cargo run`, whose own command line names the server too.
#[test]
fn step04_recipe_finds_the_parent_while_a_child_serves() {
    let readme = readme("step04-respond");
    let item = list_item(&readme, "Watch zombies appear");
    let (commands, _) = console_commands(item, "$ ");
    // A name of our own (comm keeps 15 bytes), so the recipe sees only this test's
    // processes, not those of other tests running at the same time.
    let dir = TempDir::new("recipe04");
    let name = format!("r04-{}", std::process::id());
    let link = dir.join(&name);
    std::os::unix::fs::symlink(rust_binary("step04-respond"), &link).unwrap();
    let ours = |command: &str| command.replace("step04-respond", &name);

    // Started as `cargo run` starts it: by a process whose command line names it, and
    // which stays its parent.
    let wrapper = Launch::new(
        Path::new("sh"),
        &[
            "-c",
            "\"$0\" -p 0 -b 127.0.0.1; exit",
            link.to_str().unwrap(),
        ],
    );
    let mut server = Server::launch(wrapper);
    let children = tests::procfs::children(server.proc.pid());
    let [parent] = children.as_slice() else {
        panic!("the wrapper runs one server: {} children", children.len());
    };
    let parent = parent.pid;
    // Should the test fail half-way, the server goes too (its parent, the wrapper,
    // reaps it).
    let mut stop_server = Some(tests::daemon::Detached { pid: parent });

    // A client being served: its child is alive.
    let mut client = tests::net::connect(server.addr);
    std::io::Write::write_all(&mut client, b"PING\n").unwrap();
    let mut pong = [0u8; 6];
    std::io::Read::read_exact(&mut client, &mut pong).unwrap();
    assert_eq!(&pong, b"PONG\r\n");
    let log = server.proc.wait_stderr(" (pid ");
    let child = log
        .split_once(" (pid ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(pid, _)| pid.to_string())
        .unwrap();

    let found = sh(&ours(substitution(&commands[0])));
    assert_eq!(found.trim(), parent.to_string(), "{}", commands[0]);
    let listing = sh(&ours(&commands.join("\n")));
    assert!(
        listing
            .lines()
            .any(|l| l.split_whitespace().next() == Some(child.as_str())),
        "the listing shows the child {child}:\n{listing}"
    );

    // Let the child finish and be reaped before the parent stops, so no orphan is left.
    drop(client);
    tests::procfs::eventually("the child is reaped", || {
        tests::procfs::children(parent).is_empty()
    });
    // SAFETY: kill(2) on the server, a child of the wrapper we still hold.
    unsafe { libc::kill(parent, libc::SIGTERM) };
    assert_eq!(server.proc.wait_exit().code, Some(0));
    // Reaped: its pid may belong to someone else now.
    std::mem::forget(stop_server.take());
}
