//! step03-client: connect, send, shutdown(SHUT_WR), print the reply, exit.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use tests::data::{random_bytes, sha256_hex};
use tests::net::{refused_port, ReplyServer};
use tests::process::Launch;
use tests::{c_original, rust_binary, Server};

const STEP: &str = "step03-client";

fn both() -> [PathBuf; 2] {
    [rust_binary(STEP), c_original(STEP)]
}

/// `step03-client -p PORT hello there` sends `hello there\n`, says `Success!` on stderr,
/// and prints the server's reply on stdout. The server replies only after reading end
/// of file, so this also shows that the client shut down its sending side.
#[test]
fn step03_sends_the_message_and_prints_the_reply() {
    for program in both() {
        let server = ReplyServer::start(b"got it\r\n".to_vec());
        let port = server.port.to_string();
        let done = Launch::new(&program, &["-p", &port, "hello", "there"])
            .spawn()
            .wait_exit();
        assert_eq!(server.received(), b"hello there\n", "{}", program.display());
        assert_eq!(done.stdout, b"got it\r\n");
        assert_eq!(done.stderr, "Success!\n");
        assert_eq!(done.code, Some(0));
    }
}

/// With no MESSAGE the client streams stdin: 100 MiB arrive byte for byte, and a
/// 1 MiB binary reply is printed byte for byte.
#[test]
fn step03_streams_stdin_byte_exact() {
    let data = random_bytes(3, 100 << 20);
    let reply = random_bytes(4, 1 << 20);
    for program in both() {
        let server = ReplyServer::start(reply.clone());
        let port = server.port.to_string();
        let done = Launch::new(&program, &["-p", &port])
            .stdin(data.clone())
            .spawn()
            .wait_exit();
        let received = server.received();
        assert_eq!(received.len(), data.len(), "{}", program.display());
        assert_eq!(
            sha256_hex(&received),
            sha256_hex(&data),
            "{}",
            program.display()
        );
        assert_eq!(sha256_hex(&done.stdout), sha256_hex(&reply));
        assert_eq!(done.code, Some(0));
    }
}

/// Nobody listening: `connect: Connection refused`, exit 2.
#[test]
fn step03_refused_is_exit_2() {
    let (_held, port) = refused_port();
    let port = port.to_string();
    for program in both() {
        let done = Launch::new(&program, &["-p", &port, "x"])
            .spawn()
            .wait_exit();
        assert_eq!(
            done.stderr,
            "connect: Connection refused\n",
            "{}",
            program.display()
        );
        assert_eq!(done.code, Some(2));
    }
}

/// A host that starts with a digit but is no address is a typo: `inet_aton: invalid
/// address`, exit 10. A name nobody knows: glibc's `getaddrinfo` message, exit 10.
#[test]
fn step03_bad_hosts_exit_10() {
    for program in both() {
        for host in ["300.1.2.3", "1.2.3.4.5", "127.0.0.1x"] {
            let done = Launch::new(&program, &["-H", host, "x"])
                .spawn()
                .wait_exit();
            assert_eq!(
                done.stderr,
                format!("inet_aton: invalid address '{host}'\n")
            );
            assert_eq!(done.code, Some(10));
        }
        let done = Launch::new(&program, &["-H", "no-such-host.invalid", "x"])
            .spawn()
            .wait_exit();
        assert!(done.stderr.starts_with("getaddrinfo: "), "{}", done.stderr);
        assert_eq!(done.code, Some(10));
    }
    // Both take the message from glibc's gai_strerror: the same text.
    let texts: Vec<String> = both()
        .iter()
        .map(|p| {
            Launch::new(p, &["-H", "no-such-host.invalid", "x"])
                .spawn()
                .wait_exit()
                .stderr
        })
        .collect();
    assert_eq!(texts[0], texts[1]);
}

/// inet_aton's shorthand and a host name both reach the server.
#[test]
fn step03_accepts_shorthand_and_host_names() {
    for program in both() {
        for host in ["127.1", "0x7f.0.0.1", "localhost"] {
            let server = ReplyServer::start(b"ok\n".to_vec());
            let port = server.port.to_string();
            let done = Launch::new(&program, &["-H", host, "-p", &port, "hi"])
                .spawn()
                .wait_exit();
            assert_eq!(server.received(), b"hi\n");
            assert_eq!(
                (done.code, done.stdout),
                (Some(0), b"ok\n".to_vec()),
                "{host}"
            );
        }
    }
}

/// Usage errors exit 64.
#[test]
fn step03_usage_errors_exit_64() {
    for program in both() {
        for args in [&["--bogus"][..], &["-p", "70000"], &["-p"]] {
            let done = Launch::new(&program, args).spawn().wait_exit();
            assert_eq!(done.code, Some(64), "{} {args:?}", program.display());
        }
    }
}

/// Cross-step: the client talks to step02, which prints exactly what was sent.
#[test]
fn step03_talks_to_step02() {
    let mut server = Server::start(&rust_binary("step02-receive"), &["--once"]);
    let port = server.port().to_string();
    let done = Launch::new(&rust_binary(STEP), &["-p", &port])
        .stdin(b"line one\nline two\n".to_vec())
        .spawn()
        .wait_exit();
    assert_eq!((done.code, done.stderr.as_str()), (Some(0), "Success!\n"));
    assert!(done.stdout.is_empty(), "step02 sends no reply");
    let served = server.proc.wait_exit();
    assert_eq!(served.stdout, b"line one\nline two\n");
}

/// `--explain` shows the right way to close: shutdown(SHUT_WR), recv until 0, close.
#[test]
fn step03_explain_shows_the_right_way_to_close() {
    let server = ReplyServer::start(b"bye\n".to_vec());
    let port = server.port.to_string();
    let done = Launch::new(&rust_binary(STEP), &["-p", &port, "--explain", "hi"])
        .spawn()
        .wait_exit();
    let calls: Vec<&str> = done
        .stderr
        .lines()
        .filter_map(|l| l.split('(').next())
        .filter(|name| ["connect", "sendto", "shutdown", "recvfrom", "close"].contains(name))
        .collect();
    assert_eq!(
        calls,
        ["connect", "sendto", "shutdown", "recvfrom", "recvfrom", "close"],
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("shutdown(3, SHUT_WR) = 0"));
}

/// C and Rust, same session against the same kind of server: same stdout, stderr and
/// exit code, for a reply and for a refusal.
#[test]
fn step03_c_and_rust_behave_the_same() {
    let run = |program: &PathBuf| {
        let server = ReplyServer::start(b"reply\n".to_vec());
        let port = server.port.to_string();
        let done = Launch::new(program, &["-p", &port, "same", "words"])
            .spawn()
            .wait_exit();
        (server.received(), done.code, done.stdout, done.stderr)
    };
    let [rust, c] = both();
    assert_eq!(run(&rust), run(&c));
}
