//! Faults the servers survive: what the kernel can refuse them (descriptors, processes),
//! files changing under a transfer, and signal storms. Root-only tests say so and, like
//! every test here, fail under CI=true rather than skip.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::Path;
use std::time::Duration;

use tests::daemon::TempDir;
use tests::data::{random_bytes, sha256_hex};
use tests::net;
use tests::process::Launch;
use tests::procfs::{children, eventually};
use tests::{rust_binary, Server};

fn prlimit(pid: i32, limit: &str) {
    let done = Launch::new(Path::new("prlimit"), &["--pid", &pid.to_string(), limit])
        .spawn()
        .wait_exit();
    assert_eq!(done.code, Some(0), "prlimit {limit}: {}", done.stderr);
}

/// Out of descriptors (`RLIMIT_NOFILE` lowered under the running parent): `accept`
/// fails with EMFILE, the parent says so once, pauses instead of spinning, and serves the
/// waiting client as soon as the limit is raised again.
#[test]
fn servers_survive_running_out_of_descriptors() {
    if !tests::daemon::can_use_namespaces() || !tests::require_tool("prlimit") {
        return;
    }
    let www = tests::bins::workspace_root().join("step06-fileserver/www");
    let cases: [tests::Case; 2] = [
        ("step04-respond", vec![], b"PING\n", b"PONG\r\n"),
        (
            "step06-fileserver",
            vec!["--root", www.to_str().unwrap()],
            b"GET /style.css HTTP/1.0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n",
        ),
    ];
    for (step, args, request, reply) in cases {
        let server = Server::start(&rust_binary(step), &args);
        let pid = server.proc.pid();
        // RLIMIT_NOFILE bounds descriptor numbers: at the lowest free number, the next
        // descriptor (the one accept needs) is refused.
        let lowest_free = (0..)
            .find(|fd| !Path::new(&format!("/proc/{pid}/fd/{fd}")).exists())
            .unwrap();
        prlimit(pid, &format!("--nofile={lowest_free}:"));
        // Two clients: an accept already blocked when the limit dropped has its
        // descriptor reserved (Linux allocates it before waiting), so the first may
        // still get in; the second meets EMFILE.
        let mut clients: Vec<_> = (0..2).map(|_| net::connect(server.addr)).collect();
        for client in &mut clients {
            client.write_all(request).unwrap();
        }
        server
            .proc
            .wait_stderr("accept: Too many open files: pausing accepts until it passes");
        // Spinning would show as more log lines or a busy process: let a few pauses pass.
        let ticks = |pid: i32| -> u64 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            let fields: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .collect();
            fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
        };
        let before = ticks(pid);
        std::thread::sleep(Duration::from_millis(500));
        let spent = ticks(pid) - before;
        assert!(
            spent < 20,
            "{step}: {spent} ticks of CPU in 0.5 s while out of descriptors"
        );
        assert_eq!(
            server
                .proc
                .stderr()
                .matches("accept: Too many open files")
                .count(),
            1
        );
        prlimit(pid, "--nofile=1024:");
        for client in &mut clients {
            let mut got = vec![0u8; reply.len()];
            client.read_exact(&mut got).unwrap();
            assert_eq!(got, reply, "{step}");
        }
        server.proc.wait_stderr("accept: working again");
    }
}

/// `fork` fails (`RLIMIT_NPROC` reached, as the user nobody): the client gets the busy
/// answer from the parent, which keeps running and says why.
#[test]
fn servers_answer_busy_when_fork_fails() {
    if !tests::daemon::can_use_namespaces() || !tests::require_tool("setpriv") {
        return;
    }
    let www = tests::bins::workspace_root().join("step06-fileserver/www");
    let cases: [(&str, Vec<&str>, &[u8], &str); 2] = [
        (
            "step04-respond",
            vec![],
            b"PING\n",
            "ERR Service temporarily unavailable\r\n",
        ),
        (
            "step06-fileserver",
            vec!["--root", www.to_str().unwrap()],
            b"GET / HTTP/1.0\r\n\r\n",
            "HTTP/1.1 503 Service Unavailable\r\n",
        ),
    ];
    for (step, args, request, busy) in cases {
        let binary = rust_binary(step);
        let mut all = vec![
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "prlimit",
            "--nproc=1",
            "--",
            binary.to_str().unwrap(),
            "-p",
            "0",
            "-b",
            "127.0.0.1",
        ];
        all.extend(args.iter());
        let server = Server::launch(Launch::new(Path::new("setpriv"), &all));
        let mut client = net::connect(server.addr);
        client.write_all(request).unwrap();
        // The busy answer may already have closed the connection.
        let _ = client.shutdown(Shutdown::Write);
        let reply = String::from_utf8_lossy(&net::read_to_end(&mut client)).into_owned();
        assert!(reply.starts_with(busy), "{step}: {reply:?}");
        server
            .proc
            .wait_stderr("fork: Resource temporarily unavailable");
        assert!(
            stat_alive(server.proc.pid()),
            "{step}: the parent keeps running"
        );
        let mut again = net::connect(server.addr);
        let _ = again.write_all(request);
        let _ = again.shutdown(Shutdown::Write);
        assert!(String::from_utf8_lossy(&net::read_to_end(&mut again)).starts_with(busy));
    }
}

fn stat_alive(pid: i32) -> bool {
    tests::procfs::stat(pid).is_some_and(|s| s.state != 'Z')
}

/// Read a response head byte by byte; return it and its Content-Length.
fn read_head(client: &mut std::net::TcpStream) -> (String, u64) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        client.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length = head
        .split("Content-Length: ")
        .nth(1)
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (head, length)
}

/// A file truncated while it is being sent: the connection is closed short (never
/// padded, never left hanging) and the next request is fine. A file deleted while it is
/// being sent is still sent whole (the open descriptor keeps it).
#[test]
fn step06_survives_files_changing_under_a_transfer() {
    let dir = TempDir::new("faults06");
    let block = random_bytes(12, 1 << 20);
    let write_file = |name: &str| {
        let mut f = std::fs::File::create(dir.join(name)).unwrap();
        for _ in 0..64 {
            f.write_all(&block).unwrap();
        }
    };
    write_file("shrinks.bin");
    write_file("vanishes.bin");
    let server = Server::start(
        &rust_binary("step06-fileserver"),
        &["--root", dir.path().to_str().unwrap()],
    );

    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /shrinks.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (_, length) = read_head(&mut client);
    assert_eq!(length, 64 << 20);
    let mut first = vec![0u8; 1 << 20];
    client.read_exact(&mut first).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("shrinks.bin"))
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    let rest = net::read_to_end(&mut client);
    let total = (first.len() + rest.len()) as u64;
    assert!(total < length, "closed short: {total} of {length} bytes");
    // Never padded: every byte received is the file's own byte at that offset (the
    // file is random data; zeros or anything else invented would differ).
    let received: Vec<u8> = first.iter().chain(rest.iter()).copied().collect();
    let original: Vec<u8> = block.iter().copied().cycle().take(received.len()).collect();
    assert!(received == original, "the bytes sent are the file's own");
    server.proc.wait_stderr("file shrank while being sent");

    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /vanishes.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (_, length) = read_head(&mut client);
    let mut body = vec![0u8; 1 << 20];
    client.read_exact(&mut body).unwrap();
    std::fs::remove_file(dir.join("vanishes.bin")).unwrap();
    body.extend(net::read_to_end(&mut client));
    assert_eq!(body.len() as u64, length);
    let whole: Vec<u8> = block.iter().copied().cycle().take(64 << 20).collect();
    assert_eq!(sha256_hex(&body), sha256_hex(&whole));

    let reply = tests::http::get(server.addr, "/shrinks.bin", &[]);
    assert_eq!((reply.status, reply.body.len()), (200, 2 << 20));
}

/// 200 SIGCHLDs delivered to the child while it sends a 1 GiB body: every interrupted
/// `sendfile` is resumed, and the body arrives complete (sha256).
#[test]
fn step06_survives_an_eintr_storm_during_a_large_transfer() {
    let dir = TempDir::new("storm06");
    let block = random_bytes(13, 1 << 20);
    {
        let mut f = std::fs::File::create(dir.join("big.bin")).unwrap();
        for _ in 0..1024 {
            f.write_all(&block).unwrap();
        }
    }
    let server = Server::start(
        &rust_binary("step06-fileserver"),
        &["--root", dir.path().to_str().unwrap()],
    );
    let mut client = net::connect(server.addr);
    client
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    client
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (_, length) = read_head(&mut client);
    let child = {
        let mut kids = Vec::new();
        eventually("the child serving us", || {
            kids = children(server.proc.pid());
            kids.len() == 1
        });
        kids[0].pid
    };
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let mut received = 0u64;
    let mut chunk = vec![0u8; 256 * 1024];
    let mut sent_signals = 0;
    loop {
        let n = client.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&chunk[..n]);
        received += n as u64;
        if sent_signals < 200 && received > (sent_signals as u64 + 1) * (4 << 20) {
            // SAFETY: kill(2) on the child serving us; it exists until the body is sent.
            unsafe { libc::kill(child, libc::SIGCHLD) };
            sent_signals += 1;
        }
    }
    assert_eq!(sent_signals, 200, "the storm happened during the transfer");
    assert_eq!(received, length);
    let mut expected = sha2::Sha256::new();
    for _ in 0..1024 {
        expected.update(&block);
    }
    assert_eq!(
        format!("{:x}", hash.finalize()),
        format!("{:x}", expected.finalize())
    );
}

/// 200 SIGHUPs in a row at the daemon (foreground, log on stderr): it reloads as often
/// as it can and keeps serving.
#[test]
fn step05_survives_a_sighup_storm() {
    let dir = TempDir::new("hup05");
    let config = dir.join("d.toml");
    std::fs::write(&config, "log = \"stderr\"\n").unwrap();
    let pid_file = dir.join("d.pid");
    let server = Server::start(
        &rust_binary("step05-daemon"),
        &[
            "-f",
            "-c",
            config.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
    );
    for _ in 0..200 {
        server.proc.signal(libc::SIGHUP);
    }
    server.proc.wait_stderr("reloaded configuration");
    let mut client = net::connect(server.addr);
    client.write_all(b"PING\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(net::read_to_end(&mut client), b"PONG\r\n");
    assert!(stat_alive(server.proc.pid()));
}

/// A client that floods requests without reading the replies, then resets: the child
/// meets the reset mid-reply, logs one line and exits; the parent serves the next client.
#[test]
fn protocol_servers_survive_a_reset_mid_reply() {
    let dir = TempDir::new("reset45");
    let pid_file = dir.join("d.pid");
    let config = dir.join("d.toml");
    std::fs::write(&config, "log = \"stderr\"\n").unwrap();
    let servers = [
        Server::start(&rust_binary("step04-respond"), &[]),
        Server::start(
            &rust_binary("step05-daemon"),
            &[
                "-f",
                "-c",
                config.to_str().unwrap(),
                "--pid-file",
                pid_file.to_str().unwrap(),
            ],
        ),
    ];
    let line = format!("ECHO {}\n", "x".repeat(1000));
    for server in &servers {
        let mut flood = net::connect(server.addr);
        flood.set_nonblocking(true).unwrap();
        // Write until both directions' buffers are full: the child is then blocked
        // sending replies nobody reads.
        let mut written = 0;
        while written < (64 << 20) {
            match flood.write(line.as_bytes()) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        assert!(written > 1 << 20, "the buffers took only {written} bytes");
        net::reset(flood);
        server.proc.wait_stderr("Connection reset by peer");
        eventually("the child is gone", || {
            children(server.proc.pid()).is_empty()
        });
        let mut client = net::connect(server.addr);
        client.write_all(b"PING\n").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(net::read_to_end(&mut client), b"PONG\r\n");
        assert!(!server.proc.stderr().contains("panicked"));
    }
}
