//! step03-client: connect, send, shutdown(SHUT_WR), print the reply, exit.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use tests::net::ReplyServer;
use tests::process::Launch;
use tests::{c_original, rust_binary, Server};

const STEP: &str = "step03-client";

fn both() -> [PathBuf; 2] {
    [rust_binary(STEP), c_original(STEP)]
}

// What the slides' client does (connect and say Success!, send the MESSAGE or all of
// stdin, shutdown(SHUT_WR), print the reply, a send loop, the exit codes of a refused
// connection and of an invalid address) is checked by `cargo lab`'s step 03 checks
// (tests/src/lab/steps/step03.rs); lab_step03.rs runs them against this binary and
// the C original, with 100 MiB of stdin. What follows is beyond the slides, or
// compares C with Rust.

/// Beyond the slides: a name nobody knows is glibc's `getaddrinfo` message, exit 10,
/// the same text in C and in Rust. (A host that starts with a digit but is no
/// address, `inet_aton: invalid address`, is the invalid-address check's.)
#[test]
fn step03_unknown_host_name_exits_10() {
    let texts: Vec<String> = both()
        .iter()
        .map(|program| {
            let done = Launch::new(program, &["-H", "no-such-host.invalid", "x"])
                .spawn()
                .wait_exit();
            assert!(done.stderr.starts_with("getaddrinfo: "), "{}", done.stderr);
            assert_eq!(done.code, Some(10), "{}", program.display());
            done.stderr
        })
        .collect();
    // Both take the message from glibc's gai_strerror: the same text.
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
