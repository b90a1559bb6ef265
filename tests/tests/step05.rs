//! step05-daemon: the step04 server as a classic daemon. Each test runs the daemon in
//! a private mount namespace whose /dev/log is a socket of the test's (root only, as
//! in CI), so its syslog records can be read and waited for.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;

use tests::daemon::{can_use_namespaces, Detached, PrivateDev, Syslog, TempDir};
use tests::net;
use tests::process::{listening_address, Finished};
use tests::procfs::{eventually, stat};
use tests::rust_binary;

const STEP: &str = "step05-daemon";

/// A daemon started as a user would start it, inside the test's syslog namespace.
struct Started {
    daemon: Detached,
    addr: SocketAddr,
    launcher: Finished,
    dir: TempDir,
    syslog: Syslog,
}

impl Started {
    fn pid_file(&self) -> std::path::PathBuf {
        self.dir.join("d.pid")
    }
}

/// Launch `step05-daemon -b 127.0.0.1 --pid-file DIR/d.pid ARGS` (and `-c DIR/d.toml`
/// holding `config`, if any); the launcher must exit 0 and name the daemon's pid.
fn start(args: &[&str], config: Option<&str>) -> Started {
    let dir = TempDir::new("step05");
    let syslog = Syslog::new();
    let pid_file = dir.join("d.pid").to_string_lossy().into_owned();
    let config_file = dir.join("d.toml").to_string_lossy().into_owned();
    let mut all = vec!["-b", "127.0.0.1", "--pid-file", pid_file.as_str()];
    if let Some(text) = config {
        std::fs::write(&config_file, text).unwrap();
        all.extend(["-c", config_file.as_str()]);
    }
    all.extend_from_slice(args);
    let launcher = syslog.launch(&rust_binary(STEP), &all).spawn().wait_exit();
    assert_eq!(launcher.code, Some(0), "launcher: {}", launcher.stderr);
    let addr = listening_address(&launcher.stderr).expect("a listening line");
    let pid: i32 = launcher
        .stderr
        .split("daemon pid ")
        .nth(1)
        .and_then(|rest| rest.trim().parse().ok())
        .expect("a daemon pid line");
    Started {
        daemon: Detached { pid },
        addr,
        launcher,
        dir,
        syslog,
    }
}

fn ping(addr: SocketAddr) -> Vec<u8> {
    let mut client = net::connect(addr);
    client.write_all(b"PING\nQUIT\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    net::read_to_end(&mut client)
}

/// The launching command returns 0 only once the daemon listens: the very first
/// connection after it returns is answered, and it printed exactly the two lines.
#[test]
fn step05_launch_returns_once_the_port_answers() {
    if !can_use_namespaces() {
        return;
    }
    let started = start(&["-p", "0"], None);
    assert_eq!(ping(started.addr), b"PONG\r\nBYE\r\n");
    assert_eq!(
        started.launcher.stderr,
        format!(
            "listening on {}\ndaemon pid {}\n",
            started.addr, started.daemon.pid
        )
    );
}

/// What `ps` and `/proc` show of a proper daemon: no controlling terminal, a session it
/// does not lead (the second fork), cwd `/`, descriptors 0-2 on /dev/null and nothing
/// inherited, the configured umask, and its pid in the pid file.
#[test]
fn step05_is_a_proper_daemon() {
    if !can_use_namespaces() {
        return;
    }
    // A descriptor the daemon must not keep: fd 9, opened by the launching shell.
    let dir = TempDir::new("inherit");
    let leak = dir.join("leaked");
    std::fs::write(&leak, b"x").unwrap();
    let syslog = Syslog::new();
    let pid_file = dir.join("d.pid");
    let config = dir.join("d.toml");
    std::fs::write(&config, "umask = \"077\"\n").unwrap();
    let script = format!("exec 9<'{}'; exec \"$0\" \"$@\"", leak.display());
    let launch = syslog.launch(
        std::path::Path::new("sh"),
        &[
            "-c",
            &script,
            rust_binary(STEP).to_str().unwrap(),
            "-p",
            "0",
            "-b",
            "127.0.0.1",
            "-c",
            config.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
    );
    let launcher = launch.spawn().wait_exit();
    assert_eq!(launcher.code, Some(0), "{}", launcher.stderr);
    let pid: i32 = launcher
        .stderr
        .split("daemon pid ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let daemon = Detached { pid };

    let st = stat(pid).unwrap();
    assert_eq!(st.tty_nr, 0, "no controlling terminal");
    assert_ne!(st.session, pid, "not a session leader (second fork)");
    assert_ne!(st.pgrp, pid, "not a process group leader");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        std::path::Path::new("/")
    );
    for fd in 0..=2 {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"), "fd {fd}");
    }
    let open: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| {
            std::fs::read_link(e.unwrap().path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        !open.iter().any(|t| t.contains("leaked")),
        "inherited fd kept: {open:?}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("Umask:\t0077\n"), "{status}");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{pid}\n")
    );
    drop(daemon);
}

/// A second instance with the same pid file refuses to start and says who runs.
#[test]
fn step05_second_instance_refuses() {
    if !can_use_namespaces() {
        return;
    }
    let started = start(&["-p", "0"], None);
    let pid_file = started.pid_file().to_string_lossy().into_owned();
    let second = started
        .syslog
        .launch(
            &rust_binary(STEP),
            &["-p", "0", "-b", "127.0.0.1", "--pid-file", &pid_file],
        )
        .spawn()
        .wait_exit();
    assert_eq!(second.code, Some(1));
    assert_eq!(
        second.stderr,
        format!(
            "flock: {pid_file} is locked: already running as pid {}\n",
            started.daemon.pid
        )
    );
    assert!(started.daemon.alive(), "the first instance is untouched");
}

/// A bad configuration is refused before anything starts: exit 78, the key named.
#[test]
fn step05_bad_config_exits_78_naming_the_key() {
    let dir = TempDir::new("badcfg");
    for (text, key) in [
        ("colour = \"red\"\n", "'colour'"),
        ("port = \"http\"\n", "'port'"),
        ("umask = 27\n", "'umask'"),
    ] {
        let config = dir.join("bad.toml");
        std::fs::write(&config, text).unwrap();
        let done =
            tests::process::Launch::new(&rust_binary(STEP), &["-c", config.to_str().unwrap()])
                .spawn()
                .wait_exit();
        assert_eq!(done.code, Some(78), "{text:?}");
        assert!(done.stderr.contains(key), "{text:?}: {}", done.stderr);
        assert!(done
            .stderr
            .starts_with(&format!("config {}: ", config.display())));
    }
}

/// Port taken: the daemon's `bind: Address already in use` reaches the launching
/// terminal, with exit 2, through the readiness pipe.
#[test]
fn step05_startup_errors_reach_the_launcher() {
    if !can_use_namespaces() {
        return;
    }
    let (_holder, port) = net::taken_port();
    let dir = TempDir::new("taken");
    let syslog = Syslog::new();
    let pid_file = dir.join("d.pid");
    let port = port.to_string();
    let done = syslog
        .launch(
            &rust_binary(STEP),
            &[
                "-p",
                &port,
                "-b",
                "127.0.0.1",
                "--pid-file",
                pid_file.to_str().unwrap(),
            ],
        )
        .spawn()
        .wait_exit();
    assert_eq!(
        (done.code, done.stderr.as_str()),
        (Some(2), "bind: Address already in use\n")
    );
    assert!(
        !pid_file.exists(),
        "a daemon that did not start leaves no pid file"
    );
    syslog.wait_for("bind: Address already in use");
}

/// SIGHUP after the port was edited: the new port answers, the old one refuses, and
/// `reloaded configuration` is logged. A broken file on the next SIGHUP is logged and
/// the running configuration kept.
#[test]
fn step05_sighup_rebinds_a_changed_port() {
    if !can_use_namespaces() {
        return;
    }
    let started = start(&[], Some("port = 0\n"));
    let old = started.addr;
    let new_port = {
        let (probe, port) = net::taken_port();
        drop(probe);
        port
    };
    std::fs::write(started.dir.join("d.toml"), format!("port = {new_port}\n")).unwrap();
    started.daemon.signal(libc::SIGHUP);
    started.syslog.wait_for("reloaded configuration");
    started
        .syslog
        .wait_for(&format!("listening on 127.0.0.1:{new_port}"));
    assert_eq!(
        ping(SocketAddr::from(([127, 0, 0, 1], new_port))),
        b"PONG\r\nBYE\r\n"
    );
    let refused = TcpStream::connect(old).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    std::fs::write(started.dir.join("d.toml"), "port = \"broken\"\n").unwrap();
    started.daemon.signal(libc::SIGHUP);
    let record = started.syslog.wait_for("keeping the old configuration");
    assert!(record.contains("key 'port'"), "{record}");
    assert_eq!(
        ping(SocketAddr::from(([127, 0, 0, 1], new_port))),
        b"PONG\r\nBYE\r\n"
    );
}

/// SIGTERM: the daemon logs, removes its pid file and is gone.
#[test]
fn step05_sigterm_removes_the_pid_file_and_exits() {
    if !can_use_namespaces() {
        return;
    }
    let started = start(&["-p", "0"], None);
    assert!(started.pid_file().exists());
    started.daemon.signal(libc::SIGTERM);
    started.syslog.wait_for("stopped");
    eventually("the daemon is gone", || !started.daemon.alive());
    assert!(!started.pid_file().exists());
}

/// Every event reaches syslog as glibc writes RFC 3164 records: `<30>` (daemon.info),
/// a timestamp, `step05-daemon[PID]: ` and the same words as on a terminal.
#[test]
fn step05_logs_every_event_to_syslog() {
    if !can_use_namespaces() {
        return;
    }
    let started = start(&["-p", "0"], None);
    let pid = started.daemon.pid;
    let tag = format!(" step05-daemon[{pid}]: ");
    let listening = started.syslog.wait_for("listening on");
    assert!(listening.starts_with("<30>"), "{listening}");
    assert!(
        listening.ends_with(&format!("{tag}listening on {}", started.addr)),
        "{listening}"
    );
    // "<30>Nov 23 22:05:00 step05-daemon[…": the month, day and time of RFC 3164.
    let stamp = &listening[4..19];
    assert!(
        stamp.as_bytes()[3] == b' ' && stamp.as_bytes()[9] == b':',
        "{stamp:?}"
    );

    let mut client = net::connect(started.addr);
    let port = client.local_addr().unwrap().port();
    client.write_all(b"PING\n").unwrap();
    let mut reply = [0u8; 6];
    client.read_exact(&mut reply).unwrap();
    let connection = started
        .syslog
        .wait_for(&format!("Connection from: 127.0.0.1:{port} (pid "));
    assert!(
        connection.starts_with("<30>") && connection.contains(&tag),
        "{connection}"
    );

    started.daemon.signal(libc::SIGTERM);
    let stopping = started.syslog.wait_for("received SIGTERM: stopping");
    assert!(stopping.contains(&tag));
}

/// `--user nobody`, started as root: after binding, the daemon and its children run
/// with nobody's uid and gid, and no supplementary group.
#[test]
fn step05_user_drops_privileges_after_bind() {
    if !can_use_namespaces() {
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("a nobody user");
    let started = start(&["-p", "0", "--user", "nobody"], None);
    let mut client = net::connect(started.addr);
    client.write_all(b"PING\n").unwrap();
    let mut reply = [0u8; 6];
    client.read_exact(&mut reply).unwrap();
    let kids = tests::procfs::children(started.daemon.pid);
    assert_eq!(kids.len(), 1, "one child serves our client");
    for pid in [started.daemon.pid, kids[0].pid] {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let (uid, gid) = (nobody.uid, nobody.gid);
        assert!(
            status.contains(&format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}\n")),
            "{status}"
        );
        assert!(
            status.contains(&format!("Gid:\t{gid}\t{gid}\t{gid}\t{gid}\n")),
            "{status}"
        );
        assert!(status.contains(&format!("Groups:\t{gid} \n")), "{status}");
    }
}

/// `--foreground` with `log = "stderr"`: no detaching, the log on stderr, SIGTERM exit 0.
#[test]
fn step05_foreground_logs_to_stderr() {
    let dir = TempDir::new("fg");
    let config = dir.join("d.toml");
    std::fs::write(&config, "log = \"stderr\"\n").unwrap();
    let pid_file = dir.join("d.pid");
    let mut server = tests::Server::start(
        &rust_binary(STEP),
        &[
            "-f",
            "-c",
            config.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
    );
    assert_eq!(ping(server.addr), b"PONG\r\nBYE\r\n");
    server.proc.wait_stderr("Connection from: 127.0.0.1:");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", server.proc.pid())
    );
    server.proc.signal(libc::SIGTERM);
    let done = server.proc.wait_exit();
    assert_eq!(done.code, Some(0));
    assert!(
        done.stderr
            .ends_with("received SIGTERM: stopping\nstopped\n"),
        "{}",
        done.stderr
    );
    assert!(!pid_file.exists());
}

/// The C skeleton of the lecture detaches too: it logs `listening on` to syslog,
/// answers the step04 protocol, and stops on SIGTERM.
#[test]
fn step05_c_original_daemon_serves_and_stops() {
    if !can_use_namespaces() {
        return;
    }
    let syslog = Syslog::new();
    let launcher = syslog
        .launch(&tests::c_original(STEP), &["-p", "0", "-b", "127.0.0.1"])
        .spawn()
        .wait_exit();
    assert_eq!(launcher.code, Some(0), "{}", launcher.stderr);
    let record = syslog.wait_for("listening on ");
    assert!(record.starts_with("<30>"), "{record}");
    let pid: i32 = record
        .split("step05-daemon[")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .and_then(|p| p.parse().ok())
        .expect("the record names the pid");
    let daemon = Detached { pid };
    let addr: SocketAddr = record
        .rsplit("listening on ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(ping(addr), b"PONG\r\nBYE\r\n");
    let st = stat(pid).unwrap();
    assert_ne!(st.session, pid, "second fork");
    daemon.signal(libc::SIGTERM);
    syslog.wait_for("received SIGTERM: stopping");
    eventually("the C daemon is gone", || !daemon.alive());
}

/// The daemon serves step04's protocol (pipelined, CRLF and LF, mixed case, a line too
/// long), and after 200 quick connections no child is left and the parent holds as
/// many descriptors as before. Foreground mode, so any user can run it.
#[test]
fn step05_serves_the_step04_protocol_and_reaps_every_child() {
    let dir = TempDir::new("proto05");
    let pid_file = dir.join("d.pid");
    let server = tests::Server::start(
        &rust_binary(STEP),
        &["-f", "--pid-file", pid_file.to_str().unwrap()],
    );
    let session = |request: &[u8]| {
        let mut client = net::connect(server.addr);
        client.write_all(request).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        net::read_to_end(&mut client)
    };
    assert_eq!(
        session(b"ping\r\nECHO a b\nHelp\nnope\nPING"),
        b"PONG\r\na b\r\ncommands: ECHO <text>, TIME, PING, HELP, QUIT\r\nERR unknown command\r\nPONG\r\n"
    );
    let too_long = format!("ECHO {}\nPING\n", "x".repeat(1020));
    assert_eq!(session(too_long.as_bytes()), b"ERR line too long\r\n");

    let pid = server.proc.pid();
    let fds_before = tests::procfs::open_fds(pid);
    for _ in 0..200 {
        let mut client = net::connect(server.addr);
        client.write_all(b"PING\n").unwrap();
    }
    eventually("every child reaped", || {
        tests::procfs::children(pid).is_empty()
    });
    eventually("the parent's descriptors back to where they were", || {
        tests::procfs::open_fds(pid) == fds_before
    });
}

/// How a shell runs what the user typed, then prints the prompt: `exited N` on stderr
/// once the command has returned. A message the command printed comes before that
/// line; one that a detached process printed afterwards would come after it.
const AS_TYPED: &str = "\"$0\" \"$@\"; code=$?; echo \"exited $code\" >&2; exit $code";

/// `program args` run as [`AS_TYPED`], in `dev`'s private mount namespace; its exit
/// code and everything written on the shared stderr until the last writer is gone.
fn run_as_typed(dev: &PrivateDev, program: &Path, args: &[&str]) -> Finished {
    let mut all = vec!["-c", AS_TYPED, program.to_str().unwrap()];
    all.extend_from_slice(args);
    dev.launch(Path::new("sh"), &all).spawn().wait_exit()
}

/// Every error before the daemon listens (bad address, port taken, bad configuration,
/// pid file locked) is on the terminal before the prompt returns, with its exit code,
/// in the foreground and as a daemon. The C original has no configuration, no pid file
/// and no readiness pipe (its parent returns at once, as on slide 37): it is held to
/// the address in both modes and to the taken port in the foreground, where its
/// `LOG_PERROR` lines carry syslog's `step05-daemon[PID]: ` tag.
#[test]
fn step05_startup_errors_are_printed_before_the_prompt_returns() {
    if !can_use_namespaces() {
        return;
    }
    let dir = TempDir::new("errors05");
    let pid_file = dir.join("d.pid").to_string_lossy().into_owned();
    let config = dir.join("d.toml").to_string_lossy().into_owned();
    std::fs::write(&config, "bind = \"not an address\"\n").unwrap();
    let (_holder, taken) = net::taken_port();
    let taken = taken.to_string();
    // Another instance, as far as the pid file can tell: the lock and a pid.
    let locked = dir.join("locked.pid").to_string_lossy().into_owned();
    let lock = std::fs::File::create(&locked).unwrap();
    std::fs::write(&locked, "4242\n").unwrap();
    // SAFETY: flock on a descriptor this test owns; released when `lock` is dropped.
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );

    // (what, arguments, message, exit code, also for the C original)
    let rows: [(&str, Vec<&str>, String, i32, bool); 4] = [
        (
            "bad --bind",
            vec!["-p", "0", "-b", "nope", "--pid-file", &pid_file],
            "inet_aton: invalid address 'nope'\n".into(),
            10,
            true,
        ),
        (
            "port taken",
            vec!["-p", &taken, "-b", "127.0.0.1", "--pid-file", &pid_file],
            "bind: Address already in use\n".into(),
            2,
            true,
        ),
        (
            "bad config",
            vec!["-p", "0", "-c", &config, "--pid-file", &pid_file],
            format!("config {config}: key 'bind': invalid address 'not an address'\n"),
            78,
            false,
        ),
        (
            "pid file locked",
            vec!["-p", "0", "-b", "127.0.0.1", "--pid-file", &locked],
            format!("flock: {locked} is locked: already running as pid 4242\n"),
            1,
            false,
        ),
    ];
    // syslog's tag on the C original's LOG_PERROR lines.
    let untagged = |text: &str| {
        text.lines()
            .map(|line| match line.split_once("]: ") {
                Some((tag, rest)) if tag.starts_with("step05-daemon[") => rest,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect::<String>()
    };
    for (what, args, message, code, in_c) in &rows {
        for foreground in [true, false] {
            let mut args = args.clone();
            if foreground {
                args.push("-f");
            }
            let mode = if foreground { "foreground" } else { "daemon" };
            let dev = PrivateDev::new();
            let done = run_as_typed(&dev, &rust_binary(STEP), &args);
            assert_eq!(
                (done.code, done.stderr.as_str()),
                (Some(*code), format!("{message}exited {code}\n").as_str()),
                "{what}, {mode}"
            );
            assert!(!Path::new(&pid_file).exists(), "{what}, {mode}: a pid file");
            let c_holds = *in_c && (foreground || *what == "bad --bind");
            if c_holds {
                // The same flags, less the pid file the C original does not have.
                let at = args.iter().position(|&a| a == "--pid-file").unwrap();
                args.drain(at..at + 2);
                let done = run_as_typed(&dev, &tests::c_original(STEP), &args);
                assert_eq!(
                    (done.code, untagged(&done.stderr)),
                    (Some(*code), format!("{message}exited {code}\n")),
                    "C original: {what}, {mode}"
                );
            }
        }
    }
}

/// A step of the daemon routine itself that fails in the detached process (here:
/// `/dev/null` missing) reaches the terminal through the readiness pipe too, before
/// the prompt, instead of "the daemon exited before it was ready".
#[test]
fn step05_a_failing_daemon_routine_reaches_the_launcher() {
    if !can_use_namespaces() {
        return;
    }
    let dir = TempDir::new("nonull05");
    let pid_file = dir.join("d.pid").to_string_lossy().into_owned();
    let done = run_as_typed(
        &PrivateDev::without_null(),
        &rust_binary(STEP),
        &["-p", "0", "-b", "127.0.0.1", "--pid-file", &pid_file],
    );
    assert_eq!(
        (done.code, done.stderr.as_str()),
        (
            Some(1),
            "open: /dev/null: No such file or directory\nexited 1\n"
        )
    );
}

/// The address in the configuration file is checked like every other key: a bad one
/// is a configuration error naming the key (78); the same address on the command line
/// is the lecture's `inet_aton` error (10).
#[test]
fn step05_bad_bind_in_the_config_is_a_config_error() {
    let dir = TempDir::new("bindcfg");
    let config = dir.join("d.toml");
    std::fs::write(&config, "bind = \"not an address\"\n").unwrap();
    let pid_file = dir.join("d.pid");
    let run = |args: &[&str]| {
        let mut all = vec!["-f", "-p", "0", "--pid-file", pid_file.to_str().unwrap()];
        all.extend_from_slice(args);
        tests::process::Launch::new(&rust_binary(STEP), &all)
            .spawn()
            .wait_exit()
    };
    let from_file = run(&["-c", config.to_str().unwrap()]);
    assert_eq!(
        (from_file.code, from_file.stderr),
        (
            Some(78),
            format!(
                "config {}: key 'bind': invalid address 'not an address'\n",
                config.display()
            )
        )
    );
    let from_flag = run(&["-b", "not an address"]);
    assert_eq!(
        (from_flag.code, from_flag.stderr.as_str()),
        (Some(10), "inet_aton: invalid address 'not an address'\n")
    );
}

/// `--foreground` where syslog cannot be reached (no `/dev/log`, a regular file there,
/// a socket nobody reads): the log goes to stderr, and says so once, so a user sees
/// what the daemon does instead of a silent process.
#[test]
fn step05_foreground_without_syslog_logs_to_stderr() {
    if !can_use_namespaces() {
        return;
    }
    let dir = TempDir::new("nolog05");
    let pid_file = dir.join("d.pid").to_string_lossy().into_owned();
    let missing = PrivateDev::new();
    let file = PrivateDev::new();
    std::fs::write(file.join("log"), b"").unwrap();
    let deaf = PrivateDev::new();
    drop(std::os::unix::net::UnixDatagram::bind(deaf.join("log")).unwrap());
    for (dev, why) in [
        (&missing, "No such file or directory"),
        (&file, "Connection refused"),
        (&deaf, "Connection refused"),
    ] {
        let launch = dev.launch(
            &rust_binary(STEP),
            &["-f", "-p", "0", "-b", "127.0.0.1", "--pid-file", &pid_file],
        );
        let mut server = tests::Server::launch(launch);
        let notice = format!("connect: /dev/log: {why}; logging to stderr instead\n");
        server.proc.wait_stderr(&notice);
        assert_eq!(ping(server.addr), b"PONG\r\nBYE\r\n");
        server.proc.wait_stderr("Connection from: 127.0.0.1:");
        server.proc.signal(libc::SIGTERM);
        let done = server.proc.wait_exit();
        assert_eq!(done.code, Some(0), "{why}: {}", done.stderr);
        assert!(
            done.stderr
                .starts_with(&format!("listening on {}\n{notice}", server.addr)),
            "{why}: {}",
            done.stderr
        );
        assert_eq!(done.stderr.matches("logging to stderr").count(), 1);
        assert!(
            done.stderr
                .ends_with("received SIGTERM: stopping\nstopped\n"),
            "{why}: {}",
            done.stderr
        );
    }
    // The README shows the same first two lines (for the default address).
    let readme =
        std::fs::read_to_string(tests::bins::workspace_root().join("step05-daemon/README.md"))
            .unwrap();
    assert!(readme.contains(
        "listening on 0.0.0.0:1234\n\
         connect: /dev/log: No such file or directory; logging to stderr instead\n"
    ));
}

/// `--log stderr` and `--log syslog` choose the log on the command line, over the
/// file's `log` key, with a syslog that works: stderr gets the records and syslog
/// none, or syslog gets them and stderr only the listening line. `--log stderr`
/// without `--foreground` is a usage error: a daemon has no stderr.
#[test]
fn step05_log_flag_chooses_stderr_or_syslog() {
    if !can_use_namespaces() {
        return;
    }
    let dir = TempDir::new("logflag05");
    let pid_file = dir.join("d.pid").to_string_lossy().into_owned();
    let config = dir.join("d.toml").to_string_lossy().into_owned();
    for (file_says, flag) in [("syslog", "stderr"), ("stderr", "syslog")] {
        std::fs::write(&config, format!("log = \"{file_says}\"\n")).unwrap();
        let syslog = Syslog::new();
        let launch = syslog.launch(
            &rust_binary(STEP),
            &[
                "-f",
                "-p",
                "0",
                "-b",
                "127.0.0.1",
                "-c",
                &config,
                "--pid-file",
                &pid_file,
                "--log",
                flag,
            ],
        );
        let mut server = tests::Server::launch(launch);
        assert_eq!(ping(server.addr), b"PONG\r\nBYE\r\n");
        if flag == "stderr" {
            server.proc.wait_stderr("Connection from: 127.0.0.1:");
        } else {
            syslog.wait_for("Connection from: 127.0.0.1:");
        }
        server.proc.signal(libc::SIGTERM);
        let done = server.proc.wait_exit();
        assert_eq!(done.code, Some(0), "--log {flag}: {}", done.stderr);
        let records = syslog.settled_records();
        if flag == "stderr" {
            assert!(
                records.is_empty(),
                "--log stderr, yet syslog got {records:?}"
            );
            assert!(done.stderr.contains("Connection from: 127.0.0.1:"));
            assert!(!done.stderr.contains("logging to stderr"));
        } else {
            assert_eq!(done.stderr, format!("listening on {}\n", server.addr));
            assert!(
                records.iter().any(|r| r.ends_with("stopped")),
                "{records:?}"
            );
        }
    }

    let daemon = tests::process::Launch::new(&rust_binary(STEP), &["--log", "stderr"])
        .spawn()
        .wait_exit();
    assert_eq!(daemon.code, Some(64), "{}", daemon.stderr);
    assert!(daemon.stderr.contains("--foreground"), "{}", daemon.stderr);
}
