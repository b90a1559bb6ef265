//! `--explain` tells the truth: for one session of each step, the calls it prints are
//! the calls `strace` records, by name, first argument and result, in the same order,
//! process by process (a forked child's lines are those marked `[pid N]`).
//!
//! Compared: the socket API (`trace=network`), `poll`, `openat2`, `sendfile`, `wait4`,
//! `waitid`, and `close` and `fcntl` of sockets. Left out on both sides: what is not a
//! system call (`htons`) or not a socket call (`write` to stdout, `rt_sigaction`,
//! `clone`), and on strace's side what the Rust runtime does before `main` (a `poll`
//! of the standard descriptors) and what the program never sees: a call the kernel
//! restarts after a signal handler (`ERESTARTSYS`) shows twice under strace.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use tests::net::{self, ReplyServer};
use tests::process::{Finished, Launch, Proc};
use tests::{require_tool, rust_binary, Server};

/// The system calls compared.
const COMPARED: &[&str] = &[
    "socket",
    "setsockopt",
    "bind",
    "listen",
    "getsockname",
    "accept4",
    "connect",
    "recvfrom",
    "sendto",
    "shutdown",
    "close",
    "fcntl",
    "poll",
    "openat2",
    "sendfile",
    "wait4",
    "waitid",
];

/// What strace traces: the compared calls, plus `clone` (to hand a parent's sockets
/// to its child) and `execve` (to tell the first process).
const TRACE: &str = "trace=%network,poll,openat2,sendfile,wait4,waitid,close,fcntl,clone,execve";

/// One call: `name(first argument) = first word of the result`.
type Calls = Vec<String>;

/// strace's files, one per process (`-ff`), under a fresh directory.
struct Trace {
    dir: PathBuf,
}

impl Trace {
    fn new(tag: &str) -> Trace {
        let dir = std::env::temp_dir().join(format!("explain-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Trace { dir }
    }

    /// `step args` under `strace -ff -o DIR/t`.
    fn launch(&self, step: &str, args: &[&str]) -> Launch {
        let out = self.dir.join("t").to_string_lossy().into_owned();
        Launch::wrapped(
            &["strace", "-ff", "-qq", "-e", TRACE, "-o", &out],
            &rust_binary(step),
            args,
        )
    }

    /// The compared calls of each process, the first process under the key 0.
    fn calls(&self) -> BTreeMap<i32, Calls> {
        let mut files: Vec<(i32, String)> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_stem().is_some_and(|stem| stem == "t"))
            .map(|p| {
                let pid = p.extension().unwrap().to_string_lossy().parse().unwrap();
                (pid, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        let first = files
            .iter()
            .find(|(_, text)| text.starts_with("execve("))
            .map(|(pid, _)| *pid)
            .expect("the first process's trace starts with execve");
        // Sockets each process holds when it forks, by child pid.
        let mut inherited: HashMap<i32, HashSet<i32>> = HashMap::new();
        let mut out = BTreeMap::new();
        let mut order: Vec<i32> = vec![first];
        while let Some(pid) = order.pop() {
            let text = &files.iter().find(|(p, _)| *p == pid).unwrap().1;
            let sockets = inherited.remove(&pid).unwrap_or_default();
            let (calls, children) = strace_calls(text, sockets);
            for (child, sockets) in children {
                inherited.insert(child, sockets);
                order.push(child);
            }
            out.insert(if pid == first { 0 } else { pid }, calls);
        }
        out
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One process's strace lines as compared calls; and the children it forked, each
/// with the sockets open at that moment.
fn strace_calls(text: &str, mut sockets: HashSet<i32>) -> (Calls, Vec<(i32, HashSet<i32>)>) {
    let mut calls = Vec::new();
    let mut children = Vec::new();
    // A call that returned EINTR because a handler ran: the program narrates it after
    // the handler's own calls, strace prints it before them.
    let mut interrupted: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        let Some((name, args)) = line.split_once('(') else {
            continue;
        };
        let result = line.rsplit_once(" = ").map_or("", |(_, r)| r.trim());
        let first_word = result.split_whitespace().next().unwrap_or("");
        let first_arg = args.split([',', ')']).next().unwrap_or("").trim();
        let fd: Option<i32> = first_arg.parse().ok();
        if name == "clone" {
            if let Ok(child) = first_word.parse() {
                children.push((child, sockets.clone()));
            }
            continue;
        }
        if result.contains("ERESTARTSYS") || result.contains("ERESTARTNOINTR") {
            // Restarted by the kernel: the program sees one call, strace two lines.
            continue;
        }
        let eintr = result.contains("ERESTARTNOHAND") || result.contains("ERESTART_RESTARTBLOCK");
        let first_word = if eintr { "-1" } else { first_word };
        if name != "wait4" {
            calls.extend(interrupted.take());
        }
        let keep = match name {
            "socket" | "accept4" => {
                if let Ok(fd) = first_word.parse::<i32>() {
                    if fd >= 0 {
                        sockets.insert(fd);
                    }
                }
                true
            }
            "close" => fd.is_some_and(|fd| sockets.remove(&fd)),
            "fcntl" => fd.is_some_and(|fd| sockets.contains(&fd)),
            // The Rust runtime's check of fds 0-2, before main.
            "poll" => !args.contains("events=0"),
            "execve" => false,
            name => COMPARED.contains(&name),
        };
        if keep {
            let call = format!("{name}({first_arg}) = {first_word}");
            if eintr {
                interrupted = Some(call);
            } else {
                calls.push(call);
            }
        }
    }
    calls.extend(interrupted);
    (calls, children)
}

/// The compared calls `--explain` printed, by process (0: the first one).
fn explained_calls(stderr: &str) -> BTreeMap<i32, Calls> {
    let mut out: BTreeMap<i32, Calls> = BTreeMap::new();
    for line in stderr.lines() {
        let (pid, line) = match line.strip_prefix("[pid ") {
            Some(rest) => {
                let (pid, line) = rest.split_once("] ").unwrap();
                (pid.parse().unwrap(), line)
            }
            None => (0, line),
        };
        let Some((name, args)) = line.split_once('(') else {
            continue;
        };
        if !COMPARED.contains(&name) || line.ends_with(" …") {
            continue;
        }
        let narrated = line.split("  /* ").next().unwrap();
        let Some((_, result)) = narrated.rsplit_once(" = ") else {
            continue;
        };
        let first_word = result.split_whitespace().next().unwrap_or("");
        let first_arg = args.split([',', ')']).next().unwrap_or("").trim();
        out.entry(pid)
            .or_default()
            .push(format!("{name}({first_arg}) = {first_word}"));
    }
    out
}

/// Each process's calls with the SIGCHLD handler's `wait4` calls set apart, after
/// the others, in their own order. A signal runs its handler whenever it arrives: its
/// `wait4` may be made after a call returned and before the program narrates that
/// call's result (strace: `accept4`, then `wait4`; the narration: the reverse). Where
/// the handler ran is the kernel's choice; which calls it made, and in which order,
/// is the program's, and that is compared.
fn handler_apart(calls: BTreeMap<i32, Calls>) -> BTreeMap<i32, Calls> {
    calls
        .into_iter()
        .map(|(pid, calls)| {
            let (handler, flow): (Calls, Calls) =
                calls.into_iter().partition(|c| c.starts_with("wait4("));
            (pid, flow.into_iter().chain(handler).collect())
        })
        .collect()
}

/// Both sides, and the assertion, with both listings when they differ.
fn assert_same_calls(step: &str, trace: &Trace, done: &Finished) {
    let traced = handler_apart(trace.calls());
    let explained = handler_apart(explained_calls(&done.stderr));
    assert_eq!(
        explained, traced,
        "{step}: --explain (left) and strace (right) differ; stderr:\n{}",
        done.stderr
    );
    assert!(
        explained.values().map(Vec::len).sum::<usize>() >= 6,
        "{step}: a session with calls to compare"
    );
}

/// The pid of the program strace runs (strace's only child).
fn traced_pid(strace: &Proc) -> i32 {
    let pid = strace.pid();
    let wait = std::time::Instant::now() + tests::TIMEOUT;
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(child) = children.split_whitespace().next() {
            return child.parse().unwrap();
        }
        assert!(std::time::Instant::now() < wait, "strace started nothing");
        std::thread::yield_now();
    }
}

/// Stop a traced server with SIGTERM and wait for it (and strace) to end.
fn stop(mut server: Server) -> Finished {
    let pid = traced_pid(&server.proc);
    // SAFETY: kill(2) with the pid of the traced server, alive until strace reaps it.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    server.proc.wait_exit()
}

fn can_trace() -> bool {
    require_tool("strace")
}

#[test]
fn explain_step01_prints_the_calls_strace_records() {
    if !can_trace() {
        return;
    }
    let trace = Trace::new("step01");
    let mut server = Server::launch(trace.launch(
        "step01-open-port",
        &["-p", "0", "-b", "127.0.0.1", "--explain"],
    ));
    drop(net::connect(server.addr));
    let done = server.proc.wait_exit();
    assert_same_calls("step01", &trace, &done);
}

#[test]
fn explain_step02_prints_the_calls_strace_records() {
    if !can_trace() {
        return;
    }
    let trace = Trace::new("step02");
    let mut server = Server::launch(trace.launch(
        "step02-receive",
        &["-p", "0", "-b", "127.0.0.1", "--once", "--explain"],
    ));
    let mut client = net::connect(server.addr);
    client.write_all(b"hello world\n").unwrap();
    drop(client);
    let done = server.proc.wait_exit();
    assert_same_calls("step02", &trace, &done);
}

#[test]
fn explain_step03_prints_the_calls_strace_records() {
    if !can_trace() {
        return;
    }
    let trace = Trace::new("step03");
    let server = ReplyServer::start(b"bye\n".to_vec());
    let port = server.port.to_string();
    let done = trace
        .launch("step03-client", &["-p", &port, "--explain", "hello"])
        .spawn()
        .wait_exit();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_same_calls("step03", &trace, &done);
}

/// Two clients in turn: the parent's accept4, clone and close, each child's calls,
/// and the SIGCHLD handler's wait4 calls in the parent.
#[test]
fn explain_step04_prints_the_calls_strace_records() {
    if !can_trace() {
        return;
    }
    let trace = Trace::new("step04");
    let server = Server::launch(trace.launch(
        "step04-respond",
        &["-p", "0", "-b", "127.0.0.1", "--explain"],
    ));
    for _ in 0..2 {
        let mut client = net::connect(server.addr);
        client.write_all(b"PING\nQUIT\n").unwrap();
        assert_eq!(net::read_to_end(&mut client), b"PONG\r\nBYE\r\n");
    }
    server
        .proc
        .wait_stderr_count("wait4(-1, NULL, WNOHANG, NULL) = ", 2);
    server
        .proc
        .wait_stderr("wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD");
    let done = stop(server);
    assert_same_calls("step04", &trace, &done);
}

/// In the foreground, logging to stderr: poll, accept4, the child, and at SIGTERM the
/// close of the listening socket and the waitid for each child.
#[test]
fn explain_step05_prints_the_calls_strace_records() {
    if !can_trace() {
        return;
    }
    let trace = Trace::new("step05");
    let pid_file = trace.dir.join("step05.pid");
    let pid_file = pid_file.to_string_lossy().into_owned();
    let server = Server::launch(trace.launch(
        "step05-daemon",
        &[
            "-p",
            "0",
            "-b",
            "127.0.0.1",
            "-f",
            "--log",
            "stderr",
            "--pid-file",
            &pid_file,
            "--explain",
        ],
    ));
    let mut client = net::connect(server.addr);
    client.write_all(b"PING\n").unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(net::read_to_end(&mut client), b"PONG\r\n");
    server
        .proc
        .wait_stderr("wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD");
    let done = stop(server);
    assert_same_calls("step05", &trace, &done);
}

/// A GET of a file: poll, accept4, and in the child recvfrom, openat2, the head's
/// sendto, sendfile and close.
#[test]
fn explain_step06_prints_the_calls_strace_records() {
    if !can_trace() {
        return;
    }
    let trace = Trace::new("step06");
    let root = trace.dir.join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hi\n").unwrap();
    let root = root.to_string_lossy().into_owned();
    let server = Server::launch(trace.launch(
        "step06-fileserver",
        &["-p", "0", "-b", "127.0.0.1", "--root", &root, "--explain"],
    ));
    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        .unwrap();
    let reply = net::read_to_end(&mut client);
    assert!(reply.ends_with(b"\r\n\r\nhi\n"));
    server
        .proc
        .wait_stderr("wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD");
    let done = stop(server);
    assert_same_calls("step06", &trace, &done);
}

/// The parser of strace's lines, on lines as strace writes them.
#[test]
fn strace_lines_become_calls() {
    let text = "\
execve(\"./x\", [\"x\"], 0x7ffc /* 20 vars */) = 0
close(3)                                = 0
poll([{fd=0, events=0}, {fd=1, events=0}, {fd=2, events=0}], 3, 0) = 0 (Timeout)
socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3
accept4(3, 0x7ffe054a0e18, [16], SOCK_CLOEXEC) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
--- SIGCHLD {si_signo=SIGCHLD} ---
wait4(-1, NULL, WNOHANG, NULL)          = -1 ECHILD (No child processes)
accept4(3, {sa_family=AF_INET, sin_port=htons(5), sin_addr=inet_addr(\"127.0.0.1\")}, [16], SOCK_CLOEXEC) = 4
clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 99
poll([{fd=3, events=POLLIN}, {fd=5, events=POLLIN}], 2, -1) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)
--- SIGCHLD {si_signo=SIGCHLD} ---
wait4(-1, NULL, WNOHANG, NULL)          = 99
wait4(-1, NULL, WNOHANG, NULL)          = 0
close(4)                                = 0
close(7)                                = 0
+++ exited with 0 +++
";
    let (calls, children) = strace_calls(text, HashSet::new());
    assert_eq!(
        calls,
        [
            "socket(AF_INET) = 3",
            "wait4(-1) = -1",
            "accept4(3) = 4",
            "wait4(-1) = 99",
            "wait4(-1) = 0",
            "poll([{fd=3) = -1",
            "close(4) = 0",
        ]
    );
    assert_eq!(children, [(99, HashSet::from([3, 4]))]);
}
