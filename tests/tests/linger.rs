//! The right way to close, bounded: a client that keeps trickling bytes after the
//! server is done with it costs the server a process (and a `--max-clients` slot) for
//! the lingering close's bound at most, not for as long as it cares to trickle.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tests::net;
use tests::{c_original, rust_binary, Server};

/// The bound the READMEs promise for the lingering close (nginx's `lingering_time`):
/// `common::close::LINGER_TIME`, and `LINGER_TIME` in step04's and step05's `original.c`.
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Slack for a loaded machine: a child's exit, its reaping, a new connection.
const SLACK: Duration = Duration::from_secs(1);

/// Clients that send a byte a second on their connections, ignoring every error (the
/// server is right to reset them), until told to stop.
struct Trickle {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Trickle {
    fn start(mut streams: Vec<TcpStream>) -> Trickle {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::spawn(move || loop {
            for stream in &mut streams {
                let _ = stream.write_all(b"x");
            }
            // Pacing, not synchronisation: a byte a second is what this client is; a
            // stop ends the wait at once.
            match stopped.recv_timeout(Duration::from_secs(1)) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        });
        Trickle { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().unwrap();
    }
}

/// Try `attempt` (a new client each time) until it is served or `deadline` passes;
/// returns whether it was served by then, and the last answer. A busy answer is
/// retried after a few milliseconds: the server owes nothing better until a slot frees.
fn served_by(deadline: Instant, mut attempt: impl FnMut() -> (bool, Vec<u8>)) -> (bool, Vec<u8>) {
    loop {
        let (served, answer) = attempt();
        let late = Instant::now() > deadline;
        if served || late {
            return (served && !late, answer);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// One request on a new connection; whatever came back before the server closed.
fn ask(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut client = net::connect(addr);
    // The busy path may close before our request arrives: a reset is an answer here.
    let _ = client.write_all(request);
    let _ = client.shutdown(Shutdown::Write);
    net::read_to_end_lossy(&mut client)
}

/// step04 (Rust and C) with `--max-clients 2`: two clients send `QUIT` and then trickle
/// a byte a second without ever reading. Their children answer `BYE`, close the right
/// way and give up lingering after its bound, so a third client gets `PONG` within
/// that bound plus a second (if each byte renewed the drain's receive timeout, the two
/// would hold their slots for as long as they trickled).
#[test]
fn step04_a_trickling_client_holds_a_slot_for_the_linger_bound_at_most() {
    for program in [rust_binary("step04-respond"), c_original("step04-respond")] {
        let server = Server::start(&program, &["-m", "2"]);
        let mut quitters: Vec<TcpStream> = (0..2).map(|_| net::connect(server.addr)).collect();
        server.proc.wait_stderr_count("Connection from:", 2);
        for quitter in &mut quitters {
            quitter.write_all(b"QUIT\n").unwrap();
        }
        let start = Instant::now();
        let trickle = Trickle::start(quitters);

        let busy = ask(server.addr, b"PING\n");
        assert_eq!(
            busy,
            b"ERR Service temporarily unavailable\r\n",
            "{}: both slots are taken at first",
            program.display()
        );
        let (served, answer) = served_by(start + LINGER_TIME + SLACK, || {
            let answer = ask(server.addr, b"PING\n");
            (answer == b"PONG\r\n", answer)
        });
        let waited = start.elapsed();
        trickle.stop();
        assert!(
            served,
            "{}: no PONG within {:?}; the last answer was {:?}",
            program.display(),
            waited,
            String::from_utf8_lossy(&answer)
        );
    }
}

/// step06 with `--max-clients 3 --timeout 2`: three clients send the start of a request
/// head, get `408` when `--timeout` runs out, and go on trickling their head a byte a
/// second, ignoring the answer. A normal client is served within `--timeout` plus the
/// lingering close's bound plus a second. They are silent until the 408 on purpose:
/// had the drain kept the head's receive timeout (here nearly 2 s), a byte a second
/// would renew it for ever.
#[test]
fn step06_trickling_heads_hold_slots_for_timeout_and_linger_at_most() {
    let www = tests::bins::workspace_root().join("step06-fileserver/www");
    let args = [
        "--max-clients",
        "3",
        "--timeout",
        "2",
        "--root",
        www.to_str().unwrap(),
    ];
    let server = Server::start(&rust_binary("step06-fileserver"), &args);
    let timeout = Duration::from_secs(2);
    let start = Instant::now();
    let mut slow: Vec<TcpStream> = (0..3).map(|_| net::connect(server.addr)).collect();
    for stream in &mut slow {
        stream
            .write_all(b"GET /style.css HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
    }
    let normal = b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let busy = ask(server.addr, normal);
    assert!(
        busy.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"),
        "the three slots are taken at first: {:?}",
        String::from_utf8_lossy(&busy)
    );

    // The head's deadline holds: each slow client gets 408 and the server's FIN.
    for stream in &mut slow {
        let answer = net::read_to_end(stream);
        assert!(
            answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    let answered = start.elapsed();
    assert!(answered < timeout + SLACK, "408 after {answered:?}");
    let trickle = Trickle::start(slow);

    let (served, answer) = served_by(start + timeout + LINGER_TIME + SLACK, || {
        let answer = ask(server.addr, normal);
        (answer.starts_with(b"HTTP/1.1 200 OK\r\n"), answer)
    });
    let waited = start.elapsed();
    trickle.stop();
    assert!(
        served,
        "no 200 within {waited:?}; the last answer was {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(40)])
    );
}
