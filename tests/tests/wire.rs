//! `--wire`: the segments a program puts on the wire, printed inside the calls that
//! put them there.
//!
//! Capturing needs `CAP_NET_RAW`, so these tests run as root (CI does), each in a
//! network namespace of its own: `unshare --net` starts the server with a loopback
//! nobody else uses (and port 1234 free in it), `nsenter --net` runs the client in
//! the same namespace. Nothing else on the machine's loopback can show up in, or be
//! lost from, what the programs print.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tests::net::ReplyServer;
use tests::process::{Finished, Launch};
use tests::{require_tool, rust_binary, Server};

/// Root and the tools, or (outside CI) a message and a skip.
fn can_capture() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "the --wire tests need root (CAP_NET_RAW, network namespaces), and CI=true"
        );
        eprintln!("SKIPPED: needs root (CAP_NET_RAW and a network namespace)");
    }
    root && require_tool("unshare") && require_tool("nsenter") && require_tool("ip")
}

/// `step args` started in a new network namespace with `lo` up; waits for its
/// `listening on` line.
fn start_in_namespace(step: &str, args: &[&str]) -> Server {
    Server::launch(Launch::wrapped(
        &[
            "unshare",
            "--net",
            "sh",
            "-c",
            "ip link set lo up && exec \"$@\"",
            "sh",
        ],
        &rust_binary(step),
        args,
    ))
}

/// `program args` run in `server`'s network namespace.
fn in_namespace_of(server: &Server, program: &Path, args: &[&str]) -> Launch {
    let net = format!("--net=/proc/{}/ns/net", server.proc.pid());
    Launch::wrapped(&["nsenter", &net, "--"], program, args)
}

/// One line of `--wire` output, read back.
#[derive(Debug)]
struct Seg {
    /// Where in the output it was.
    at: usize,
    from_port: u16,
    flags: String,
    len: u32,
}

/// The segment lines of `text` (`    IP a.b.c.d.P > …: Flags [X], …, length N`).
fn segments(text: &str) -> Vec<Seg> {
    text.lines()
        .enumerate()
        .filter_map(|(at, line)| {
            let line = strip_pid(line).strip_prefix("    ")?;
            let rest = line
                .strip_prefix("IP ")
                .or_else(|| line.strip_prefix("IP6 "))?;
            let (from, _) = rest.split_once(" > ")?;
            let from_port = from.rsplit('.').next()?.parse().ok()?;
            let flags = rest.split_once("Flags [")?.1.split(']').next()?.to_string();
            let len = rest.rsplit_once("length ")?.1.trim().parse().ok()?;
            Some(Seg {
                at,
                from_port,
                flags,
                len,
            })
        })
        .collect()
}

/// The index of the first line that starts with `prefix` (after a `[pid N] `).
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| strip_pid(l).starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

fn strip_pid(line: &str) -> &str {
    match line.strip_prefix("[pid ") {
        Some(rest) => rest.split_once("] ").map_or(line, |(_, l)| l),
        None => line,
    }
}

/// step03 against step02, both with `--wire`: the client sees the three segments of
/// the handshake inside `connect`, before its result; its message as one segment of
/// exactly the message's length, after `connect` returned; its FIN inside `shutdown`;
/// and the server sees the same handshake before `accept4` returns.
#[test]
fn wire_step03_against_step02_handshake_payload_and_fin_in_their_calls() {
    if !can_capture() {
        return;
    }
    let mut server = start_in_namespace(
        "step02-receive",
        &[
            "-p",
            "0",
            "-b",
            "127.0.0.1",
            "--once",
            "--explain",
            "--wire",
        ],
    );
    let port = server.port().to_string();
    let message = "hello there";
    let client = in_namespace_of(
        &server,
        &rust_binary("step03-client"),
        &["-p", &port, "--explain", "--wire", "hello", "there"],
    )
    .spawn()
    .wait_exit();
    assert_eq!(client.code, Some(0), "{}", client.stderr);
    let served = server.proc.wait_exit();
    assert_eq!(served.stdout, format!("{message}\n").as_bytes());

    let out = &client.stderr;
    let segs = segments(out);
    let server_port = server.port();
    let connect_starts = line_of(out, &format!("connect(3, {{127.0.0.1:{port}}}, 16) …"));
    let connect_ends = line_of(out, &format!("connect(3, {{127.0.0.1:{port}}}, 16) = 0"));
    let handshake: Vec<&str> = segs
        .iter()
        .filter(|s| s.at > connect_starts && s.at < connect_ends)
        .map(|s| s.flags.as_str())
        .collect();
    assert_eq!(handshake, ["S", "S.", "."], "{out}");
    assert_eq!(
        segs.iter().filter(|s| s.flags == "S").count(),
        1,
        "once: {out}"
    );

    let data: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.from_port != server_port && s.len > 0)
        .collect();
    assert_eq!(data.len(), 1, "{out}");
    assert_eq!(data[0].len as usize, message.len() + 1, "{out}");
    assert!(data[0].at > connect_ends);

    let shutdown_starts = line_of(out, "shutdown(3, SHUT_WR) …");
    let shutdown_ends = line_of(out, "shutdown(3, SHUT_WR) = 0");
    let fin = segs
        .iter()
        .find(|s| s.from_port != server_port && s.flags.contains('F'))
        .unwrap_or_else(|| panic!("no FIN from the client:\n{out}"));
    assert!(
        fin.at > shutdown_starts && fin.at < shutdown_ends,
        "the FIN crosses during shutdown:\n{out}"
    );

    let accepted = line_of(&served.stderr, "accept4(3, …, SOCK_CLOEXEC) = 4");
    let server_segs = segments(&served.stderr);
    let before: Vec<&str> = server_segs
        .iter()
        .filter(|s| s.at < accepted)
        .map(|s| s.flags.as_str())
        .collect();
    assert_eq!(before[..3], ["S", "S.", "."], "{}", served.stderr);
}

/// step01 closes a connection whose data it never read: the kernel answers the close
/// with a reset, and `--wire` shows the `[R.]` inside `close(4)`. The server is
/// stopped (SIGSTOP) until the client has sent, so the data is there before the close.
#[test]
fn wire_step01_close_with_unread_data_sends_a_reset() {
    if !can_capture() {
        return;
    }
    let mut server = start_in_namespace("step01-open-port", &["--explain", "--wire"]);
    server.proc.signal(libc::SIGSTOP);
    let client = in_namespace_of(
        &server,
        &rust_binary("step03-client"),
        &["--explain", "hello"],
    )
    .spawn();
    client.wait_stderr("shutdown(3, SHUT_WR) = 0");
    server.proc.signal(libc::SIGCONT);
    let served = server.proc.wait_exit();
    assert_eq!(served.code, Some(0), "{}", served.stderr);
    let out = &served.stderr;
    let close_starts = line_of(out, "close(4) …");
    let close_ends = line_of(out, "close(4) = 0");
    let segs = segments(out);
    let reset: Vec<&Seg> = segs.iter().filter(|s| s.flags.contains('R')).collect();
    assert_eq!(reset.len(), 1, "{out}");
    assert_eq!(reset[0].flags, "R.", "{out}");
    assert!(
        reset[0].at > close_starts && reset[0].at < close_ends,
        "{out}"
    );
    let hello = segs.iter().find(|s| s.len == 6).expect("the 6 bytes");
    assert!(hello.at < close_starts, "{out}");
    let mut client = client;
    let done: Finished = client.wait_exit();
    assert_eq!(done.code, Some(6), "{}", done.stderr);
    assert!(done.stderr.ends_with("recv: Connection reset by peer\n"));
}

/// Without CAP_NET_RAW, `--wire` exits 1 and says what is missing and what to paste
/// instead (a network namespace of one's own, with `unshare -rn`).
#[test]
fn wire_without_cap_net_raw_exits_1_with_the_recipe() {
    if !can_capture() || !require_tool("setpriv") {
        return;
    }
    for (step, args) in [
        ("step01-open-port", vec!["-p", "0", "--wire"]),
        ("step03-client", vec!["--wire", "hi"]),
        ("step02-receive", vec!["-p", "0", "--wire"]),
        ("step04-respond", vec!["-p", "0", "--wire"]),
        ("step05-daemon", vec!["-p", "0", "-f", "--wire"]),
        (
            "step06-fileserver",
            vec!["-p", "0", "--root", "/", "--wire"],
        ),
    ] {
        let done = Launch::wrapped(
            &[
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--inh-caps=-all",
            ],
            &rust_binary(step),
            &args,
        )
        .spawn()
        .wait_exit();
        assert_eq!(done.code, Some(1), "{step}: {}", done.stderr);
        let err = &done.stderr;
        assert!(
            err.starts_with("socket: Operation not permitted"),
            "{step}: {err}"
        );
        assert!(err.contains("CAP_NET_RAW"), "{step}: {err}");
        assert!(
            err.contains("unshare -rn sh -c 'PATH=$PATH:/usr/sbin:/sbin; ip link set lo up && exec \"${SHELL:-sh}\"'"),
            "{step}: {err}"
        );
        assert!(!err.contains("listening on"), "before any socket: {err}");
    }
}

/// The console blocks after the `<!-- wire transcript -->` marker of a step's README:
/// (the command line, the output below it).
fn wire_transcript(step: &str) -> Vec<(String, String)> {
    let path = tests::bins::workspace_root().join(step).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let after = readme
        .split("<!-- wire transcript -->")
        .nth(1)
        .unwrap_or_else(|| panic!("{} has no <!-- wire transcript -->", path.display()));
    after
        .split("```console\n")
        .skip(1)
        .take(2)
        .map(|block| {
            let block = block.split("```").next().unwrap();
            let (command, output) = block.split_once('\n').unwrap();
            (command.to_string(), output.to_string())
        })
        .collect()
}

/// The arguments after `--` of `$ cargo run -q -p CRATE -- ARGS`, checking CRATE.
fn cargo_run_args(command: &str, step: &str) -> Vec<String> {
    let rest = command
        .strip_prefix(&format!("$ cargo run -q -p {step}"))
        .unwrap_or_else(|| panic!("{command:?} does not run {step}"));
    rest.trim_start()
        .strip_prefix("--")
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// What differs between two runs: the client's port (the server keeps 1234 in its
/// own namespace), the windows (they follow the kernel's buffer sizes), and the pid.
fn mask_run(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut masked = String::new();
        let mut rest = line;
        while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
            masked.push_str(&rest[..at]);
            let digits = rest[at..].chars().take_while(char::is_ascii_digit).count();
            let number = &rest[at..at + digits];
            let ephemeral =
                digits == 5 && (masked.ends_with("127.0.0.1.") || masked.ends_with("127.0.0.1:"));
            if ephemeral {
                masked.push_str("PORT");
            } else if masked.ends_with("win ") {
                masked.push('W');
            } else {
                masked.push_str(number);
            }
            rest = &rest[at + digits..];
        }
        masked.push_str(rest);
        out.push_str(&tests::mask::pids(&masked));
        out.push('\n');
    }
    out
}

/// [`mask_run`], then the calls and the segments apart: which call the server's FIN
/// falls into (`shutdown`, between the two, or `recvfrom`) depends on how fast the
/// server process runs, and so does whether it acknowledges the client's FIN on its
/// own (a delayed ACK, 40 ms later) or with its own FIN; that ACK is left out. The
/// calls and the segments must each be the same lines in the same order.
fn mask_timing(text: &str) -> (Vec<String>, Vec<String>) {
    let lines: Vec<String> = mask_run(text)
        .lines()
        .filter(|l| !l.ends_with(" …"))
        .filter(|l| !(l.contains("IP 127.0.0.1.1234 > ") && l.contains("Flags [.], ack 16,")))
        .map(String::from)
        .collect();
    lines.into_iter().partition(|l| !l.starts_with("    IP"))
}

/// Run `f` on a thread that has entered the network namespace of process `pid`
/// (setns changes the calling thread only); sockets it makes live in that namespace.
fn in_namespace<T: Send>(pid: i32, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).unwrap();
                // SAFETY: setns on an open namespace file; affects this thread only.
                let rc = unsafe {
                    libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET)
                };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap()
    })
}

/// Wait (with the deadline) until `condition` holds, looking again every millisecond.
fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + tests::TIMEOUT;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {what} within the deadline"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The process is asleep in a system call (field 3 of /proc/PID/stat is `S`).
fn sleeping(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| rest.starts_with('S'))
        })
        .unwrap_or(false)
}

/// Bytes sent on `stream` that the peer's kernel has not acknowledged (`SIOCOUTQ`).
fn unacknowledged(stream: &std::net::TcpStream) -> i32 {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(stream),
            libc::TIOCOUTQ,
            &mut queued,
        )
    };
    assert_eq!(rc, 0);
    queued
}

/// The step01 README's wire transcript is what step01 prints: the server is stopped
/// (Ctrl-Z in the README, SIGSTOP here) while it waits in `accept`, a client connects
/// and sends `hello` (nc in the README), the server goes on (`fg`, SIGCONT): it
/// accepts, closes with the 6 bytes unread, and the kernel resets the connection.
#[test]
fn wire_step01_readme_transcript_is_what_the_program_prints() {
    if !can_capture() {
        return;
    }
    let blocks = wire_transcript("step01-open-port");
    let (command, expected) = &blocks[0];
    let args = cargo_run_args(command, "step01-open-port");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = start_in_namespace("step01-open-port", &args);
    let pid = server.proc.pid();
    wait_for("server asleep in accept", || sleeping(pid));
    server.proc.signal(libc::SIGSTOP);
    let stream = in_namespace(pid, || {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
        stream.write_all(b"hello\n").unwrap();
        stream
    });
    wait_for("the kernel's ACK of hello", || unacknowledged(&stream) == 0);
    server.proc.signal(libc::SIGCONT);
    let served = server.proc.wait_exit();
    assert_eq!(served.code, Some(0));
    let mut buffer = [0u8; 16];
    let reset = std::io::Read::read(&mut &stream, &mut buffer).unwrap_err();
    assert_eq!(reset.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(
        mask_run(&served.stderr),
        mask_run(expected),
        "README (step01-open-port, See it on the wire) vs this run:\n{}",
        served.stderr
    );
}

/// The step03 README's wire transcript is what the client prints against step02
/// (masked by [`mask_timing`]: what depends on how fast the server runs).
#[test]
fn wire_step03_readme_transcript_is_what_the_program_prints() {
    if !can_capture() {
        return;
    }
    let blocks = wire_transcript("step03-client");
    let (client_command, expected) = &blocks[0];
    let (server_command, _) = &blocks[1];
    let server_args = cargo_run_args(server_command, "step02-receive");
    let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
    let mut server = start_in_namespace("step02-receive", &server_args);
    let client_args = cargo_run_args(client_command, "step03-client");
    let client_args: Vec<&str> = client_args.iter().map(String::as_str).collect();
    let done = in_namespace_of(&server, &rust_binary("step03-client"), &client_args)
        .spawn()
        .wait_exit();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    server.proc.wait_exit();
    assert_eq!(
        mask_timing(&done.stderr),
        mask_timing(expected),
        "README (step03-client, See it on the wire) vs this run:\n{}",
        done.stderr
    );
}

/// The pid each line of a forking server's output came from: `[pid N]` or the parent.
fn pid_of(line: &str, parent: i32) -> i32 {
    line.strip_prefix("[pid ")
        .and_then(|rest| rest.split(']').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or(parent)
}

/// The pids of the children, from the parent's `clone(…) = N` lines.
fn forked(text: &str) -> Vec<i32> {
    text.lines()
        .filter(|l| l.starts_with("clone("))
        .filter_map(|l| {
            l.split(" = ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// step06 serves one request: the request crosses as one segment of its length (27
/// bytes), the response as the head and the body (the head sent with MSG_MORE, so the
/// two usually leave in one segment), printed by the child that served it, its lines
/// marked `[pid N]`; the handshake by the parent. No segment is printed twice.
#[test]
fn wire_step06_one_request_and_its_response() {
    if !can_capture() {
        return;
    }
    let root = tempdir("wire-www");
    std::fs::write(root.join("hello.txt"), "hi\n").unwrap();
    let root_arg = root.to_string_lossy().into_owned();
    let mut server = start_in_namespace(
        "step06-fileserver",
        &[
            "-p",
            "0",
            "-b",
            "127.0.0.1",
            "--root",
            &root_arg,
            "--explain",
            "--wire",
        ],
    );
    let port = server.port().to_string();
    let request = "GET /hello.txt HTTP/1.0\r\n\r\n";
    let client = in_namespace_of(&server, &rust_binary("step03-client"), &["-p", &port])
        .stdin(request.as_bytes().to_vec())
        .spawn()
        .wait_exit();
    assert_eq!(client.code, Some(0), "{}", client.stderr);
    let response = client.stdout_text();
    let head_len = response.find("\r\n\r\n").unwrap() + 4;
    assert_eq!(&response[head_len..], "hi\n");
    server.proc.wait_stderr("] close(7) = 0");
    server.proc.signal(libc::SIGTERM);
    let served = server.proc.wait_exit();
    let out = &served.stderr;
    let parent = server.proc.pid();
    let children = forked(out);
    assert_eq!(children.len(), 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let segs = segments(out);
    let server_port = server.port();

    let from_client: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.from_port != server_port && s.len > 0)
        .collect();
    assert_eq!(from_client.len(), 1, "{out}");
    assert_eq!(from_client[0].len as usize, request.len());

    let response_segs: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.from_port == server_port && s.len > 0)
        .collect();
    let lengths: Vec<usize> = response_segs.iter().map(|s| s.len as usize).collect();
    assert!(
        lengths == [head_len + 3] || lengths == [head_len, 3],
        "head {head_len} and body 3, got {lengths:?}:\n{out}"
    );
    for seg in &response_segs {
        assert_eq!(pid_of(lines[seg.at], parent), children[0], "{out}");
    }
    let syn = segs.iter().find(|s| s.flags == "S").unwrap();
    assert_eq!(pid_of(lines[syn.at], parent), parent, "{out}");

    let mut seen = std::collections::HashSet::new();
    for seg in &segs {
        assert!(
            seen.insert(strip_pid(lines[seg.at])),
            "twice: {}",
            lines[seg.at]
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// step04 with two clients, one after the other: each handshake is printed by the
/// parent, each reply and the server's FIN by the child that served that client (its
/// pid from the parent's `clone`), and not one segment twice.
#[test]
fn wire_step04_parent_and_children_each_print_their_own_segments() {
    if !can_capture() {
        return;
    }
    let mut server = start_in_namespace(
        "step04-respond",
        &["-p", "0", "-b", "127.0.0.1", "--explain", "--wire"],
    );
    let port = server.port().to_string();
    for _ in 0..2 {
        let client = in_namespace_of(&server, &rust_binary("step03-client"), &["-p", &port])
            .stdin(b"PING\nQUIT\n".to_vec())
            .spawn()
            .wait_exit();
        assert_eq!(client.stdout, b"PONG\r\nBYE\r\n");
    }
    server.proc.wait_stderr_count("] close(4) = 0", 2);
    server.proc.signal(libc::SIGTERM);
    let served = server.proc.wait_exit();
    let out = &served.stderr;
    let parent = server.proc.pid();
    let children = forked(out);
    assert_eq!(children.len(), 2, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let segs = segments(out);
    let server_port = server.port();
    let by = |flags: &str, from_server: bool| -> Vec<i32> {
        segs.iter()
            .filter(|s| s.flags == flags && (s.from_port == server_port) == from_server)
            .map(|s| pid_of(lines[s.at], parent))
            .collect()
    };
    assert_eq!(by("S", false), [parent, parent], "{out}");
    assert_eq!(by("S.", true), [parent, parent], "{out}");
    assert_eq!(by("P.", true), children, "the replies: {out}");
    assert_eq!(by("F.", true), children, "the server's FINs: {out}");
    let mut seen = std::collections::HashSet::new();
    for seg in &segs {
        assert!(
            seen.insert(strip_pid(lines[seg.at])),
            "twice: {}",
            lines[seg.at]
        );
    }
}

/// A fresh directory under the temporary directory, for this test process.
fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The system calls of `launch`'s program under `strace -f` (all of them), from its
/// first `socket` on, as `name(args…` lines without the pid.
fn traced_calls(launch: impl FnOnce(&str) -> Launch, tag: &str) -> (Vec<String>, String) {
    let path = std::env::temp_dir().join(format!("wire-{tag}-{}.strace", std::process::id()));
    let out = path.to_string_lossy().into_owned();
    let done = launch(&out).spawn().wait_exit();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let calls: Vec<String> = text
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
        .skip_while(|l| !l.starts_with("socket(AF_INET,"))
        .collect();
    (calls, text)
}

fn names(calls: &[String]) -> Vec<&str> {
    calls.iter().filter_map(|c| c.split('(').next()).collect()
}

/// With `--wire` off nothing changes: no capture is opened, and from its first socket
/// on, the client makes exactly the calls of the session and the runtime's exit; with
/// `--explain` the same calls plus the narration's writes to stderr.
#[test]
fn wire_off_the_program_makes_no_call_for_it() {
    if !require_tool("strace") {
        return;
    }
    let run = |flags: &'static [&'static str], tag: &str| {
        let server = ReplyServer::start(b"bye\n".to_vec());
        let port = server.port.to_string();
        traced_calls(
            |out| {
                let mut args = vec!["-p", port.as_str()];
                args.extend_from_slice(flags);
                args.push("hello");
                Launch::wrapped(
                    &["strace", "-f", "-o", out],
                    &rust_binary("step03-client"),
                    &args,
                )
            },
            tag,
        )
    };
    let (plain, text) = run(&[], "off");
    for capture in [
        "AF_PACKET",
        "SO_ATTACH_FILTER",
        "PACKET_",
        "SIOCGIFINDEX",
        "F_DUPFD",
    ] {
        assert!(!text.contains(capture), "{capture} without --wire:\n{text}");
    }
    let session = [
        "socket", "connect", "write", "sendto", "shutdown", "recvfrom", "write", "recvfrom",
        "close",
    ];
    let names_plain = names(&plain);
    assert_eq!(names_plain[..session.len()], session, "{text}");
    for name in &names_plain[session.len()..] {
        assert!(
            ["sigaltstack", "munmap", "exit_group"].contains(name),
            "{name} after the session:\n{text}"
        );
    }
    let (explained, text) = run(&["--explain"], "explain");
    let without_narration: Vec<String> = explained
        .into_iter()
        .filter(|c| !c.starts_with("write(2, "))
        .collect();
    let plain_without_status: Vec<String> = plain
        .iter()
        .filter(|c| !c.starts_with("write(2, "))
        .cloned()
        .collect();
    assert_eq!(
        names(&without_narration),
        names(&plain_without_status),
        "{text}"
    );
}

/// With `--wire` on, a call costs no system call: the client makes the calls it makes
/// without, plus the lines' writes, the filter narrowed twice (to the server's port,
/// to the connection, which `getsockname` names) and, at exit, the wait for late
/// segments and the capture's close. Nothing per call reads the capture.
#[test]
fn wire_on_reading_the_capture_costs_no_system_call() {
    if !can_capture() {
        return;
    }
    // An iterative server: it takes both runs' connections, one after the other.
    let server = start_in_namespace("step02-receive", &["-p", "0", "-b", "127.0.0.1"]);
    let port = server.port().to_string();
    let net = format!("--net=/proc/{}/ns/net", server.proc.pid());
    let run = |wire: bool| {
        traced_calls(
            |out| {
                let mut args = vec!["-p", port.as_str()];
                if wire {
                    args.push("--wire");
                }
                args.push("hello");
                Launch::wrapped(
                    &["nsenter", &net, "--", "strace", "-f", "-o", out],
                    &rust_binary("step03-client"),
                    &args,
                )
            },
            if wire { "on" } else { "plain" },
        )
    };
    let (plain, _) = run(false);
    let (wired, text) = run(true);
    let plain: Vec<&str> = names(&plain);
    let extra_at_exit = |c: &String| {
        c.starts_with("poll([{fd=100,") || c.starts_with("munmap(") || c.contains("(100")
    };
    let wired: Vec<&str> = wired
        .iter()
        .filter(|c| !c.starts_with("write(2, "))
        .filter(|c| !c.starts_with("setsockopt(100, SOL_SOCKET, SO_ATTACH_FILTER"))
        .filter(|c| !c.starts_with("getsockname("))
        .filter(|c| !extra_at_exit(c))
        .filter_map(|c| c.split('(').next())
        .collect();
    let plain: Vec<&str> = plain
        .into_iter()
        .filter(|n| *n != "write" && *n != "munmap")
        .collect();
    assert_eq!(wired, plain, "{text}");
}

/// Only the program's own connections are shown: a conversation between two other
/// sockets in the same namespace, during the server's run, appears nowhere in its
/// output. And with `--wire` alone the calls are not printed, only the segments.
#[test]
fn wire_shows_only_the_programs_own_connections() {
    if !can_capture() {
        return;
    }
    let mut server = start_in_namespace(
        "step01-open-port",
        &["-p", "0", "-b", "127.0.0.1", "--wire"],
    );
    let pid = server.proc.pid();
    let (other_port, _kept) = in_namespace(pid, || {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut a = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (b, _) = listener.accept().unwrap();
        a.write_all(b"not yours\n").unwrap();
        (port, (listener, a, b))
    });
    let client = in_namespace(pid, || std::net::TcpStream::connect(server.addr).unwrap());
    let served = server.proc.wait_exit();
    drop(client);
    let segs = segments(&served.stderr);
    assert!(segs.iter().any(|s| s.flags == "S"), "{}", served.stderr);
    assert!(
        !served.stderr.contains(&format!(".{other_port} "))
            && !served.stderr.contains(&format!(".{other_port}:")),
        "port {other_port} is not ours:\n{}",
        served.stderr
    );
    for line in served.stderr.lines() {
        assert!(
            line.starts_with("    IP ")
                || line.starts_with("listening on ")
                || line.starts_with("Connection from: "),
            "--wire alone prints no call: {line:?}"
        );
    }
}
