//! Hostile input: noise, mangled requests, endless lines and slow clients. After each,
//! the server still answers a normal client, its parent did not grow, nothing panicked.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use tests::data::random_bytes;
use tests::net;
use tests::{rust_binary, Server};

/// Peak resident memory of a process, from `/proc/PID/status` (VmHWM), in KiB.
fn peak_rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// [`peak_rss_kib`] of a process that may exit meanwhile (then `None`).
fn peak_rss_of_live(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// Send `bytes` and close; ignore what happens (the server may reset us, rightly).
fn throw(addr: SocketAddr, bytes: &[u8]) {
    let mut stream = net::connect(addr);
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = net::read_to_end_lossy(&mut stream);
}

/// The hostile inputs: noise with NULs, a valid request with one part mangled each
/// way, and two megabytes without a newline.
fn hostile_inputs() -> Vec<Vec<u8>> {
    let valid = b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n".to_vec();
    let mut inputs: Vec<Vec<u8>> = (0..20)
        .map(|i| random_bytes(100 + i, 1 + (i as usize * 997) % 65536))
        .collect();
    for i in 0..valid.len() {
        for replacement in [0u8, b'\n', b'\r', 0xff, b'%', b' '] {
            if i % 3 == 0 {
                let mut mangled = valid.clone();
                mangled[i] = replacement;
                inputs.push(mangled);
            }
        }
    }
    inputs.push(vec![b'A'; 2 << 20]);
    inputs.push([b"ECHO ".as_slice(), &[0u8; 4096], b"\n"].concat());
    inputs
}

/// step02, step04 and step06 take every hostile input and then serve a normal client;
/// the parent stays small and nothing panics.
#[test]
fn servers_survive_hostile_bytes() {
    let www = tests::bins::workspace_root().join("step06-fileserver/www");
    let servers: [tests::Case; 3] = [
        ("step02-receive", vec!["-B", "65536"], b"still here\n", b""),
        ("step04-respond", vec![], b"PING\n", b"PONG\r\n"),
        (
            "step06-fileserver",
            vec!["--root", www.to_str().unwrap()],
            b"GET /style.css HTTP/1.0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n",
        ),
    ];
    let inputs = hostile_inputs();
    for (step, args, normal, answer) in servers {
        let server = Server::start(&rust_binary(step), &args);
        for input in &inputs {
            throw(server.addr, input);
        }
        let mut client = net::connect(server.addr);
        client.write_all(normal).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let reply = net::read_to_end(&mut client);
        assert!(
            reply.starts_with(answer),
            "{step}: {:?}",
            String::from_utf8_lossy(&reply[..reply.len().min(80)])
        );
        if step == "step02-receive" {
            server
                .proc
                .wait_stderr_count("Connection closed:", inputs.len() + 1);
        }
        let parent_kib = peak_rss_kib(server.proc.pid());
        assert!(
            parent_kib < 32 * 1024,
            "{step}: parent peaked at {parent_kib} KiB"
        );
        assert!(
            !server.proc.stderr().contains("panicked"),
            "{step}: {}",
            server.proc.stderr()
        );
    }
}

/// 200 clients trickling a byte a second (`--timeout 2`): throughout, a normal request
/// is answered within the timeout plus one second.
#[test]
fn servers_stay_responsive_under_200_slow_clients() {
    let www = tests::bins::workspace_root().join("step06-fileserver/www");
    let servers: [tests::Case; 2] = [
        (
            "step04-respond",
            // 200 connects at once need more than slide 50's queue of 10 (see load.rs).
            vec!["-t", "2", "-m", "300", "--backlog", "256"],
            b"PING\n",
            b"PONG\r\n",
        ),
        (
            "step06-fileserver",
            vec![
                "--timeout",
                "2",
                "--max-clients",
                "300",
                "--root",
                www.to_str().unwrap(),
            ],
            b"GET /style.css HTTP/1.0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n",
        ),
    ];
    for (step, args, normal, answer) in servers {
        let server = Server::start(&rust_binary(step), &args);
        let addr = server.addr;
        let trickle = thread::spawn(move || {
            let mut slow: Vec<TcpStream> = (0..200).map(|_| net::connect(addr)).collect();
            for second in 0..4 {
                for stream in &mut slow {
                    let _ = stream.write_all(if second == 0 { b"G" } else { b"E" });
                }
                // Pacing, not synchronisation: this is what a slow client is.
                thread::sleep(Duration::from_secs(1));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut asked = 0;
        while Instant::now() < deadline {
            let start = Instant::now();
            let mut client = net::connect(addr);
            client.write_all(normal).unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let reply = net::read_to_end(&mut client);
            let took = start.elapsed();
            assert!(
                reply.starts_with(answer),
                "{step}: {:?}",
                String::from_utf8_lossy(&reply)
            );
            assert!(
                took < Duration::from_secs(3),
                "{step}: answered after {took:?}"
            );
            asked += 1;
            thread::sleep(Duration::from_millis(250));
        }
        trickle.join().unwrap();
        assert!(
            asked >= 8,
            "{step}: only {asked} normal requests during the storm"
        );
    }
}

/// Memory per child stays bounded: 50 clients, each holding a child with a half-sent
/// request, and no child's peak resident memory reaches 16 MiB (its buffers are capped:
/// a request head at 16 KiB, a protocol line at 1 KiB).
#[test]
fn children_memory_stays_bounded() {
    let www = tests::bins::workspace_root().join("step06-fileserver/www");
    let servers: [tests::Case; 2] = [
        ("step04-respond", vec!["-m", "100"], b"ECHO ", b""),
        (
            "step06-fileserver",
            vec!["--max-clients", "100", "--root", www.to_str().unwrap()],
            b"GET / HTTP/1.1\r\nX: ",
            b"",
        ),
    ];
    for (step, args, partial, _) in servers {
        let server = Server::start(&rust_binary(step), &args);
        let mut held = Vec::new();
        for _ in 0..50 {
            let mut client = net::connect(server.addr);
            client.write_all(partial).unwrap();
            client.write_all(&[b'z'; 900]).unwrap();
            held.push(client);
        }
        let mut kids = Vec::new();
        tests::procfs::eventually("a child for every client", || {
            kids = tests::procfs::children(server.proc.pid());
            kids.len() == 50
        });
        let worst = kids
            .iter()
            .filter_map(|c| peak_rss_of_live(c.pid))
            .max()
            .unwrap();
        assert!(worst < 16 * 1024, "{step}: a child peaked at {worst} KiB");
    }
}
