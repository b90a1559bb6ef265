//! The benchmark's own tools work: `pipeline-load` counts real replies from step04 and
//! fails loudly when the server goes away, `bench/fork-floor.c` compiles cleanly and
//! measures, and `bench/run` and `bench/child-faults` are valid bash. (The benchmark
//! itself is not run here: it takes minutes and its numbers are not pass/fail.)

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tests::bins::{compile_c, workspace_root};
use tests::daemon::TempDir;
use tests::process::Launch;
use tests::{rust_binary, Server};

/// The rate `pipeline-load` printed, from its `Requests/sec: N` line.
fn rate(stdout: &str) -> f64 {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec: "))
        .unwrap_or_else(|| panic!("no rate in {stdout:?}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn pipeline_load_measures_step04() {
    // A queue of 64: five connects at once must not wait for SYN retries.
    let server = Server::start(&rust_binary("step04-respond"), &["--backlog", "64"]);
    let port = server.port().to_string();
    let args = ["-p", &port, "-c", "5", "-d", "4", "-s", "1"];
    let done = Launch::new(&rust_binary("pipeline-load"), &args)
        .spawn()
        .wait_exit_within(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let rate = rate(&String::from_utf8_lossy(&done.stdout));
    // Loopback answers thousands of PINGs a second even on a busy machine.
    assert!(rate > 1_000.0, "rate {rate}");
}

#[test]
fn pipeline_load_counts_what_the_server_answered() {
    // A server that counts the replies it sends: the rate reported over a window of at
    // least one second can be no more than that count (counting bytes, or the requests
    // sent, would overshoot it), and the whole run cannot have answered much more than
    // the rate allows.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let answered = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&answered);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if writer.write_all(b"PONG\r\n").is_err() {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    line.clear();
                }
            });
        }
    });
    let started = Instant::now();
    let done = Launch::new(
        &rust_binary("pipeline-load"),
        &["-p", &port, "-c", "4", "-d", "8", "-s", "1"],
    )
    .spawn()
    .wait_exit_within(Duration::from_secs(30));
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let rate = rate(&String::from_utf8_lossy(&done.stdout));
    let answered = answered.load(Ordering::SeqCst) as f64;
    assert!(rate > 0.0);
    assert!(
        rate <= answered,
        "reported {rate}/s, server answered {answered} in all"
    );
    assert!(
        answered <= rate * wall * 3.0,
        "reported {rate}/s over {wall:.1} s, answered {answered}"
    );
}

#[test]
fn pipeline_load_fails_when_the_server_hangs_up() {
    // QUIT makes step04 answer BYE and close: the load generator must say so and fail,
    // not report a rate.
    let server = Server::start(&rust_binary("step04-respond"), &["--backlog", "64"]);
    let port = server.port().to_string();
    let args = ["-p", &port, "-c", "2", "-s", "1", "-r", "QUIT"];
    let done = Launch::new(&rust_binary("pipeline-load"), &args)
        .spawn()
        .wait_exit_within(Duration::from_secs(30));
    assert_ne!(done.code, Some(0));
    assert!(
        done.stderr.contains("the server closed a connection"),
        "stderr: {}",
        done.stderr
    );
    assert!(!String::from_utf8_lossy(&done.stdout).contains("Requests/sec"));
}

#[test]
fn fork_floor_compiles_cleanly_and_measures() {
    let dir = TempDir::new("fork-floor");
    let exe = dir.join("fork-floor");
    compile_c("bench/fork-floor.c", &exe);
    let out = Command::new(&exe).arg("50").output().unwrap();
    assert!(out.status.success());
    let micros: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // A fork, an exit and a wait: more than a microsecond, less than a tenth of a second.
    assert!((1.0..100_000.0).contains(&micros), "{micros} µs");
    let usage = Command::new(&exe).arg("0").output().unwrap();
    assert_eq!(usage.status.code(), Some(64));
}

#[test]
fn the_ceiling_answers_what_step06_answers() {
    // bench/ceiling.c is the yardstick for step06: it must do the same work, or the
    // ratio means nothing. The same file, the same fields, keep-alive and pipelining,
    // Connection: close, a 404, and one access-log line per request.
    let dir = TempDir::new("ceiling");
    let exe = dir.join("ceiling");
    compile_c("bench/ceiling.c", &exe);
    let root = dir.join("www");
    std::fs::create_dir(&root).unwrap();
    let body: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("4k.bin"), &body).unwrap();
    std::fs::write(root.join("a.html"), b"<p>hi</p>").unwrap();
    let root_arg = root.to_str().unwrap();
    let ceiling = Server::launch(Launch::new(&exe, &[root_arg]));
    let step06 = Server::start(&rust_binary("step06-fileserver"), &["--root", root_arg]);

    let fields = [
        "Date",
        "Last-Modified",
        "ETag",
        "Accept-Ranges",
        "Content-Type",
        "Content-Length",
    ];
    for path in ["/4k.bin", "/a.html"] {
        let ours = tests::http::get(ceiling.addr, path, &[]);
        let theirs = tests::http::get(step06.addr, path, &[]);
        assert_eq!(ours.status, 200, "{path}");
        assert_eq!(ours.body, theirs.body, "{path}");
        for name in fields {
            let (a, b) = (ours.field(name), theirs.field(name));
            assert!(a.is_some(), "{path}: the ceiling sends no {name}");
            if name != "Date" {
                assert_eq!(a, b, "{path}: {name}");
            }
        }
        assert_eq!(ours.field("Connection"), Some("close"), "{path}");
    }
    // Nothing outside the root, as step06 (openat2 with RESOLVE_BENEATH, the same call).
    for path in ["/missing", "//etc/passwd", "/../../../etc/passwd"] {
        assert_eq!(
            tests::http::get(ceiling.addr, path, &[]).status,
            404,
            "{path}"
        );
    }

    // Three requests in one segment, the last asking to close: three answers in order,
    // then the end of the connection.
    let pipelined = b"GET /4k.bin HTTP/1.1\r\nHost: x\r\n\r\n\
        GET /a.html HTTP/1.1\r\nHost: x\r\n\r\n\
        GET /4k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let bytes = tests::http::exchange(ceiling.addr, pipelined);
    let responses = tests::http::parse_all(&bytes, false);
    let bodies: Vec<&[u8]> = responses.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, [&body[..], b"<p>hi</p>", &body[..]]);
    assert_eq!(responses[0].field("Connection"), None);

    // 2 + 3 + 3 requests: a line each, in Common Log Format.
    let log = ceiling.proc.wait_stdout_count("\n", 8);
    assert!(log.contains("\"GET /a.html HTTP/1.1\" 200 9\n"), "{log}");
}

#[test]
fn bench_scripts_are_valid_bash() {
    for script in ["bench/run", "bench/child-faults"] {
        let status = Command::new("bash")
            .arg("-n")
            .arg(workspace_root().join(script))
            .status()
            .unwrap();
        assert!(status.success(), "bash -n {script}");
    }
}
