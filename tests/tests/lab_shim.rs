//! The send-capping shim (`tests/lab/shim/send-cap.c`) that `cargo lab` preloads to
//! force partial sends: a single `send` delivers only the first bytes, a send loop
//! (slide 29's sendall) still delivers everything, and a statically linked program,
//! which `LD_PRELOAD` cannot reach, gets a skip instead of a pass.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;

use tests::daemon::TempDir;
use tests::lab::ctx::deadline;
use tests::lab::preload::{is_static, with_send_cap};
use tests::lab::run::{Running, Stdin};
use tests::lab::Program;
use tests::net::ReplyServer;
use tests::{c_original, rust_binary, TIMEOUT};

/// One `send(b"hello world")` from Python under the shim sends 3 bytes, and the
/// shim's log says it was loaded and cut one call.
#[test]
fn one_send_delivers_only_the_cap() {
    if !tests::require_tool("python3") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let python = Program::executable(Path::new("python3"));
    let (capped, log) = with_send_cap(&python, 3).unwrap();
    let script = format!(
        "import socket; s = socket.create_connection(('127.0.0.1', {port})); print(s.send(b'hello world'))"
    );
    let mut run = Running::start(
        &capped.with_args(&["-c", &script]),
        &capped.env,
        Stdin::Null,
    )
    .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(TIMEOUT)).unwrap();
    let status = run.wait_exit(deadline()).unwrap();
    assert!(
        status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr())
    );
    assert_eq!(run.stdout(), b"3\n", "send() returned the cap");
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"hel");
    assert!(log.loaded());
    assert_eq!(log.capped(), 1);
}

/// The step 03 client sends in a loop: under the shim, in C and in Rust, the whole
/// message still arrives, in many capped sends.
#[test]
fn a_send_loop_delivers_everything_under_the_shim() {
    for binary in [c_original("step03-client"), rust_binary("step03-client")] {
        let server = ReplyServer::start(b"ok\n".to_vec());
        let (capped, log) = with_send_cap(&Program::executable(&binary), 2).unwrap();
        let port = server.port.to_string();
        let argv = capped.with_args(&["-H", "127.0.0.1", "-p", &port, "hello", "world"]);
        let mut run = Running::start(&argv, &capped.env, Stdin::Null).unwrap();
        let status = run.wait_exit(deadline()).unwrap();
        assert!(
            status.success(),
            "{}: {}",
            binary.display(),
            String::from_utf8_lossy(&run.stderr())
        );
        assert_eq!(server.received(), b"hello world\n", "{}", binary.display());
        assert_eq!(run.stdout(), b"ok\n");
        assert!(
            log.capped() >= 2,
            "{}: {} sends capped",
            binary.display(),
            log.capped()
        );
    }
}

/// A statically linked program cannot be reached by LD_PRELOAD: the check is skipped
/// and says why.
#[test]
fn a_static_program_is_skipped() {
    let dir = TempDir::new("lab-shim-static");
    let source = dir.join("static.c");
    std::fs::write(&source, "int main(void) { return 0; }\n").unwrap();
    let binary = dir.join("static");
    let built = std::process::Command::new("cc")
        .args(["-static", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .unwrap();
    assert!(
        built.success(),
        "cc -static (the libc6-dev package has libc.a)"
    );
    assert!(is_static(&binary).unwrap());
    let skip = with_send_cap(&Program::executable(&binary), 3)
        .err()
        .unwrap();
    assert_eq!(skip.reason, "static binary");
    assert!(skip.detail.contains("LD_PRELOAD"), "{}", skip.detail);
    assert!(!is_static(&c_original("step03-client")).unwrap());
}
