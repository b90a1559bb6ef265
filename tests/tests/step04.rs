//! step04-respond: the forking line-protocol server.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tests::mask;
use tests::net::{self, taken_port};
use tests::process::Launch;
use tests::procfs::{children, eventually, open_fds};
use tests::{c_original, rust_binary, Server};

const STEP: &str = "step04-respond";

fn both() -> [PathBuf; 2] {
    [rust_binary(STEP), c_original(STEP)]
}

/// Send `request` in one write, shut down our sending side, read until the server closes.
fn session(server: &Server, request: &[u8]) -> Vec<u8> {
    let mut client = net::connect(server.addr);
    client.write_all(request).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    net::read_to_end(&mut client)
}

/// Send one line and read exactly one reply line.
fn ask(client: &mut TcpStream, line: &str) -> String {
    client.write_all(line.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        assert_eq!(
            client.read(&mut byte).unwrap(),
            1,
            "server closed mid-reply"
        );
        reply.push(byte[0]);
    }
    String::from_utf8(reply).unwrap()
}

/// In telnet, every command of the table gets its reply, with LF or CRLF, in any case.
#[test]
fn step04_answers_the_protocol_table() {
    let table = [
        ("PING\n", "PONG\r\n"),
        ("ping\r\n", "PONG\r\n"),
        ("ECHO hello world\n", "hello world\r\n"),
        ("eChO  spaced\r\n", " spaced\r\n"),
        ("ECHO\n", "\r\n"),
        (
            "HELP\n",
            "commands: ECHO <text>, TIME, PING, HELP, QUIT\r\n",
        ),
        (
            "help\r\n",
            "commands: ECHO <text>, TIME, PING, HELP, QUIT\r\n",
        ),
        ("nonsense\n", "ERR unknown command\r\n"),
        ("\r\n", "ERR unknown command\r\n"),
    ];
    for program in both() {
        let server = Server::start(&program, &[]);
        let mut client = net::connect(server.addr);
        for (request, reply) in table {
            assert_eq!(
                ask(&mut client, request),
                reply,
                "{} {request:?}",
                program.display()
            );
        }
        let time = ask(&mut client, "Time\n");
        assert!(is_rfc3339_now(time.trim_end()), "{time:?}");
        assert_eq!(ask(&mut client, "QUIT\r\n"), "BYE\r\n");
        assert_eq!(
            net::read_to_end(&mut client),
            b"",
            "QUIT closes the connection"
        );
    }
}

/// `2026-11-23T22:05:00Z`, within a minute of the test's own clock.
fn is_rfc3339_now(text: &str) -> bool {
    let b = text.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    // SAFETY: time(NULL) only returns the clock.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers for the call.
    unsafe { libc::gmtime_r(&now, &mut tm) };
    let today = format!(
        "{:04}-{:02}-{:02}T",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday
    );
    shape && (text.starts_with(&today) || tm.tm_hour == 0)
}

/// Ten requests in one `send` get ten replies, in order.
#[test]
fn step04_answers_pipelined_requests_in_order() {
    let request: String = (0..10).map(|i| format!("ECHO request {i}\r\n")).collect();
    let expected: String = (0..10).map(|i| format!("request {i}\r\n")).collect();
    for program in both() {
        let server = Server::start(&program, &[]);
        assert_eq!(
            String::from_utf8(session(&server, request.as_bytes())).unwrap(),
            expected
        );
    }
}

/// At end of file the child still answers what it has, an unterminated last line
/// included, and then closes.
#[test]
fn step04_answers_buffered_requests_at_client_eof() {
    for program in both() {
        let server = Server::start(&program, &[]);
        assert_eq!(
            session(&server, b"PING\nECHO x\r\nPING"),
            b"PONG\r\nx\r\nPONG\r\n"
        );
        assert_eq!(session(&server, b"ECHO"), b"\r\n");
    }
}

/// A 1024-byte line is fine; a 1025-byte line gets `ERR line too long` and the
/// connection closes (what follows it is not answered).
#[test]
fn step04_rejects_a_line_over_1024_bytes() {
    for program in both() {
        let server = Server::start(&program, &[]);
        let fits = format!("ECHO {}\r\n", "a".repeat(1019));
        assert_eq!(session(&server, fits.as_bytes()).len(), 1019 + 2);
        let too_long = format!("ECHO {}\nPING\n", "a".repeat(1020));
        assert_eq!(
            session(&server, too_long.as_bytes()),
            b"ERR line too long\r\n"
        );
        // Megabytes without a newline: refused as soon as the line cannot fit.
        let mut client = net::connect(server.addr);
        client.write_all(&vec![b'x'; 4096]).unwrap();
        assert_eq!(net::read_to_end(&mut client), b"ERR line too long\r\n");
    }
}

/// 500 quick connections (half of them leave without reading), then no child is left,
/// zombie or alive, and the parent holds as many descriptors as before.
#[test]
fn step04_reaps_every_child() {
    for program in both() {
        let server = Server::start(&program, &[]);
        let pid = server.proc.pid();
        let fds_before = open_fds(pid);
        for i in 0..500 {
            let mut client = net::connect(server.addr);
            client.write_all(b"PING\n").unwrap();
            if i % 2 == 0 {
                let mut reply = [0u8; 6];
                client.read_exact(&mut reply).unwrap();
                assert_eq!(&reply, b"PONG\r\n");
            }
        }
        eventually("every child reaped", || children(pid).is_empty());
        eventually("the parent's descriptors back to where they were", || {
            open_fds(pid) == fds_before
        });
        let log = server
            .proc
            .wait_stderr_count("Connection from: 127.0.0.1:", 500);
        assert_eq!(log.matches("Connection from: 127.0.0.1:").count(), 500);
    }
}

/// With `--max-clients 2` and two idle clients held, a third gets the busy reply at once
/// and is closed; once one of the two leaves, a new client is served.
#[test]
fn step04_max_clients_answers_busy_without_forking() {
    for program in both() {
        let server = Server::start(&program, &["-m", "2"]);
        let pid = server.proc.pid();
        let mut first = net::connect(server.addr);
        let _second = net::connect(server.addr);
        server.proc.wait_stderr_count("Connection from:", 2);

        let mut third = net::connect(server.addr);
        assert_eq!(
            net::read_to_end(&mut third),
            b"ERR Service temporarily unavailable\r\n"
        );
        assert_eq!(
            children(pid).len(),
            2,
            "the busy answer came without a fork"
        );

        assert_eq!(ask(&mut first, "QUIT\n"), "BYE\r\n");
        drop(first);
        eventually("the first child reaped", || children(pid).len() == 1);
        let mut fourth = net::connect(server.addr);
        assert_eq!(
            ask(&mut fourth, "PING\n"),
            "PONG\r\n",
            "{}",
            program.display()
        );
    }
}

/// `--timeout 1`: a client that says nothing is disconnected after about a second.
#[test]
fn step04_timeout_closes_an_idle_client() {
    for program in both() {
        let server = Server::start(&program, &["-t", "1"]);
        let mut idle = net::connect(server.addr);
        let start = Instant::now();
        assert_eq!(net::read_to_end(&mut idle), b"");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(900),
            "closed after {waited:?}"
        );
        assert!(waited < Duration::from_secs(10), "closed after {waited:?}");
    }
}

/// Each connection is logged with the pid of the child serving it.
#[test]
fn step04_logs_each_connection_with_its_childs_pid() {
    let server = Server::start(&rust_binary(STEP), &[]);
    let mut client = net::connect(server.addr);
    assert_eq!(ask(&mut client, "PING\n"), "PONG\r\n");
    let port = client.local_addr().unwrap().port();
    let line = format!("Connection from: 127.0.0.1:{port} (pid ");
    let stderr = server.proc.wait_stderr(&line);
    let pid: i32 = stderr
        .split(&line)
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let kids = children(server.proc.pid());
    assert!(
        kids.iter().any(|k| k.pid == pid),
        "{pid} is not a child: {kids:?}"
    );
}

/// Failure paths keep the lecture's codes: port taken 2, bad address 10, usage 64.
#[test]
fn step04_failures_exit_with_the_lecture_codes() {
    let (_holder, port) = taken_port();
    let port = port.to_string();
    for program in both() {
        let done = Launch::new(&program, &["-p", &port, "-b", "127.0.0.1"])
            .spawn()
            .wait_exit();
        assert_eq!(
            (done.code, done.stderr.as_str()),
            (Some(2), "bind: Address already in use\n")
        );
        let done = Launch::new(&program, &["-b", "1.2.3.4.5"])
            .spawn()
            .wait_exit();
        assert_eq!(done.code, Some(10));
        for args in [&["-m", "0"][..], &["-t", "x"], &["--nope"]] {
            let done = Launch::new(&program, args).spawn().wait_exit();
            assert_eq!(done.code, Some(64), "{} {args:?}", program.display());
        }
    }
}

/// C and Rust, the same protocol session: the same bytes back, the same log lines
/// (ports and pids masked), exit 0 on SIGTERM.
#[test]
fn step04_c_and_rust_behave_the_same() {
    let run = |program: &PathBuf| {
        let mut server = Server::start(program, &[]);
        let replies = session(&server, b"PING\r\necho Same\nHELP\nbad\nECHO\nQUIT\nPING\n");
        server.proc.wait_stderr("Connection from:");
        server.proc.signal(libc::SIGTERM);
        let done = server.proc.wait_exit();
        let log = mask::ports(&done.stderr);
        let log: String = log
            .lines()
            .map(|l| l.split(" (pid ").next().unwrap_or(l).to_string() + "\n")
            .collect();
        (replies, done.code, log)
    };
    let [rust, c] = both();
    let rust_run = run(&rust);
    assert_eq!(rust_run.0, b"PONG\r\nSame\r\ncommands: ECHO <text>, TIME, PING, HELP, QUIT\r\nERR unknown command\r\n\r\nBYE\r\n");
    assert_eq!(rust_run, run(&c));
}
