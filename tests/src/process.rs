//! Running a binary under test: captured output, deadlines, and a guard that kills
//! and reaps it whatever happens.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crate::TIMEOUT;

/// Bytes a reader thread has collected from one pipe, and whether it hit end of file.
/// (Also used by the `lab` checker's runner.)
#[derive(Default)]
pub(crate) struct Capture {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Capture {
    /// Read `pipe` to its end on a thread of its own.
    pub(crate) fn collect(pipe: impl Read + Send + 'static) -> (Arc<Capture>, JoinHandle<()>) {
        let capture = Arc::new(Capture::default());
        let sink = Arc::clone(&capture);
        let reader = thread::spawn(move || {
            let mut pipe = pipe;
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let n = match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => 0,
                    Ok(n) => n,
                };
                let mut state = sink.state.lock().unwrap_or_else(|p| p.into_inner());
                if n == 0 {
                    state.1 = true;
                } else {
                    state.0.extend_from_slice(&chunk[..n]);
                }
                sink.changed.notify_all();
                if n == 0 {
                    return;
                }
            }
        });
        (capture, reader)
    }

    /// Wait until `done(bytes, closed)` holds or the deadline passes; returns whether it held.
    pub(crate) fn wait_until(&self, deadline: Instant, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if done(&state.0, state.1) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }
}

/// How to start a process: program, arguments, what goes to its stdin, and whether its
/// stdout and stderr share one pipe (to see them interleaved as on a terminal).
pub struct Launch {
    cmd: Command,
    name: String,
    stdin: Option<Vec<u8>>,
    merged: bool,
}

impl Launch {
    /// `program` with `args`; stdin is empty (`/dev/null`) unless [`Launch::stdin`].
    pub fn new(program: &Path, args: &[&str]) -> Launch {
        let mut cmd = Command::new(program);
        cmd.args(args);
        let name = program
            .file_name()
            .map_or_else(|| "?".into(), |n| n.to_string_lossy().into_owned());
        Launch {
            cmd,
            name,
            stdin: None,
            merged: false,
        }
    }

    /// Prefix the command with a wrapper (e.g. `strace -f -o FILE`).
    pub fn wrapped(wrapper: &[&str], program: &Path, args: &[&str]) -> Launch {
        let (first, rest) = wrapper.split_first().expect("a wrapper command");
        let mut launch = Launch::new(Path::new(first), rest);
        launch.cmd.arg(program).args(args);
        launch.name = program
            .file_name()
            .map_or_else(|| "?".into(), |n| n.to_string_lossy().into_owned());
        launch
    }

    /// Feed these bytes to stdin, then close it (end of file).
    pub fn stdin(mut self, bytes: Vec<u8>) -> Launch {
        self.stdin = Some(bytes);
        self
    }

    /// Run it in `dir` (for a relative path among its arguments).
    pub fn current_dir(mut self, dir: &Path) -> Launch {
        self.cmd.current_dir(dir);
        self
    }

    /// Set an environment variable for the process.
    pub fn env(mut self, key: &str, value: &std::ffi::OsStr) -> Launch {
        self.cmd.env(key, value);
        self
    }

    /// Send stdout and stderr to one pipe, in the order they were written.
    pub fn merged(mut self) -> Launch {
        self.merged = true;
        self
    }

    /// Start it.
    pub fn spawn(self) -> Proc {
        let Launch {
            mut cmd,
            name,
            stdin,
            merged,
        } = self;
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let merged_reader = if merged {
            let (read_end, write_end) = cloexec_pipe();
            cmd.stdout(Stdio::from(write_end.try_clone().expect("dup pipe")));
            cmd.stderr(Stdio::from(write_end));
            Some(read_end)
        } else {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            None
        };
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        // The Command still holds our copies of the pipe's write end: drop it, or the
        // reader would never see end of file.
        drop(cmd);
        let mut threads = Vec::new();
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            threads.push(thread::spawn(move || {
                // The process may exit without reading everything: not our failure here.
                let _ = pipe.write_all(&bytes);
            }));
        }
        let (stdout, stderr) = match merged_reader {
            Some(read_end) => {
                let (both, reader) = Capture::collect(std::fs::File::from(read_end));
                threads.push(reader);
                (Arc::clone(&both), both)
            }
            None => {
                let (out, r1) = Capture::collect(child.stdout.take().expect("piped"));
                let (err, r2) = Capture::collect(child.stderr.take().expect("piped"));
                threads.extend([r1, r2]);
                (out, err)
            }
        };
        Proc {
            child,
            name,
            stdout,
            stderr,
            threads,
            status: None,
        }
    }
}

/// A pipe whose ends are close-on-exec, so processes that other tests start at the
/// same moment do not inherit them (the child gets its copy through dup2).
fn cloexec_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2 failed");
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A running process under test. Dropping it kills (SIGKILL) and reaps it.
pub struct Proc {
    child: Child,
    name: String,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    threads: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

/// How a process ended and what it printed.
#[derive(Debug)]
pub struct Finished {
    /// The exit code, if it exited (rather than being killed by a signal).
    pub code: Option<i32>,
    /// All of stdout (in merged mode: stdout and stderr interleaved).
    pub stdout: Vec<u8>,
    /// All of stderr, as text (in merged mode: the same as stdout).
    pub stderr: String,
}

impl Finished {
    /// stdout as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pids fit in i32")
    }

    /// stderr so far, as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.bytes()).into_owned()
    }

    /// stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.bytes()
    }

    /// Wait (with the deadline) until stderr contains `needle`; returns stderr so far.
    pub fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let found = self.stderr.wait_until(deadline, |bytes, _| {
            String::from_utf8_lossy(bytes).contains(needle)
        });
        let text = self.stderr();
        assert!(
            found,
            "{}: no {needle:?} on stderr within {TIMEOUT:?}; got:\n{text}",
            self.name
        );
        text
    }

    /// Wait (with the deadline) until stderr holds `count` occurrences of `needle`.
    pub fn wait_stderr_count(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let found = self.stderr.wait_until(deadline, |bytes, _| {
            String::from_utf8_lossy(bytes).matches(needle).count() >= count
        });
        let text = self.stderr();
        assert!(
            found,
            "{}: fewer than {count} {needle:?} on stderr; got:\n{text}",
            self.name
        );
        text
    }

    /// Wait (with the deadline) until stdout holds at least `len` bytes; returns it.
    pub fn wait_stdout_len(&self, len: usize) -> Vec<u8> {
        let deadline = Instant::now() + TIMEOUT;
        let found = self
            .stdout
            .wait_until(deadline, |bytes, _| bytes.len() >= len);
        let out = self.stdout();
        assert!(
            found,
            "{}: stdout has {} bytes, expected {len}",
            self.name,
            out.len()
        );
        out
    }

    /// Wait (with the deadline) until stdout holds `count` occurrences of `needle`.
    pub fn wait_stdout_count(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let found = self.stdout.wait_until(deadline, |bytes, _| {
            String::from_utf8_lossy(bytes).matches(needle).count() >= count
        });
        let text = String::from_utf8_lossy(&self.stdout()).into_owned();
        assert!(
            found,
            "{}: fewer than {count} {needle:?} on stdout; got:\n{text}",
            self.name
        );
        text
    }

    /// Send a signal (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with our own child's pid; the child is not yet reaped (we
        // hold it until wait), so the pid cannot have been reused.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// Wait (with the deadline) for the process to exit; returns how and what it printed.
    ///
    /// # Panics
    ///
    /// If it is still running after the deadline (it is killed first).
    pub fn wait_exit(&mut self) -> Finished {
        self.wait_exit_within(TIMEOUT)
    }

    /// [`Proc::wait_exit`] with a longer deadline, for a program that runs for a set
    /// time (a load generator).
    pub fn wait_exit_within(&mut self, limit: std::time::Duration) -> Finished {
        let deadline = Instant::now() + limit;
        // Output pipes reach end of file when the process (and anything it forked)
        // exits; only then is waitpid sure not to block.
        let closed = self.stdout.wait_until(deadline, |_, closed| closed)
            && self.stderr.wait_until(deadline, |_, closed| closed);
        if !closed {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("waitpid on our own child");
        self.status = Some(status);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        assert!(
            closed,
            "{} did not exit within {limit:?}; stderr:\n{}",
            self.name,
            self.stderr()
        );
        Finished {
            code: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A server under test, started on `127.0.0.1` with port 0, and the address it
/// reported in its `listening on` line.
pub struct Server {
    /// The process.
    pub proc: Proc,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Start `program` with `-p 0 -b 127.0.0.1` plus `args`, and wait for `listening on`.
    pub fn start(program: &Path, args: &[&str]) -> Server {
        let mut all = vec!["-p", "0", "-b", "127.0.0.1"];
        all.extend_from_slice(args);
        Server::launch(Launch::new(program, &all))
    }

    /// Start a prepared launch and wait for its `listening on` line.
    pub fn launch(launch: Launch) -> Server {
        let proc = launch.spawn();
        let stderr = proc.wait_stderr("listening on ");
        let addr = listening_address(&stderr)
            .unwrap_or_else(|| panic!("no address in the listening line:\n{stderr}"));
        Server { proc, addr }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// The `ADDR:PORT` of the first `listening on ADDR:PORT` line.
pub fn listening_address(stderr: &str) -> Option<SocketAddr> {
    stderr
        .lines()
        .find_map(|line| line.split("listening on ").nth(1))
        .and_then(|rest| rest.trim().parse().ok())
}
