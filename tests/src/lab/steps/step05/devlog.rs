//! A private `/dev/log`: the daemon's syslog records, delivered to the checker.
//!
//! glibc's `syslog(3)` sends each record as one datagram to the Unix socket
//! `/dev/log`. The daemon runs in a mount namespace of its own (`unshare --mount`,
//! root only) whose `/dev` is a folder of the checker's: the real `/dev/null`,
//! `/dev/zero` and the random devices, and as `log` a socket the checker reads.
//! Nothing on the host changes, and a machine with no syslog daemon at all works the
//! same.
//!
//! The namespace also gets an empty `/run`: a daemon's pid file there (the Rust
//! reference's default as root) cannot meet one of a daemon already running.

use std::ffi::OsString;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::lab::check::Skip;
use crate::lab::scratch::Scratch;
use crate::lab::target::find_program;

/// The devices of the real `/dev` that the private one holds too: what a program
/// may open besides `/dev/log`.
const DEVICES: [&str; 4] = ["null", "zero", "random", "urandom"];

/// The records received so far, and a signal for each new one.
type Records = (Mutex<Vec<String>>, Condvar);

/// A folder to mount over `/dev`, with a socket as its `log`.
pub struct DevLog {
    dir: Scratch,
    records: Arc<Records>,
}

impl DevLog {
    /// Bind the socket and start collecting; a [`Skip`] when this process cannot
    /// make a mount namespace (not root, or no `unshare`/`mount`).
    pub fn new() -> Result<DevLog, Skip> {
        // SAFETY: geteuid cannot fail and touches no memory.
        if unsafe { libc::geteuid() } != 0 {
            return Err(Skip {
                reason: "needs root".into(),
                detail: "the daemon's records are read from a private /dev/log, in a mount namespace only root can make; as root, the checker reads them".into(),
            });
        }
        for tool in ["unshare", "mount"] {
            if find_program(tool.as_ref()).is_none() {
                return Err(Skip {
                    reason: format!("needs {tool}"),
                    detail: format!(
                        "{tool} (util-linux) makes the private /dev/log the records are read from"
                    ),
                });
            }
        }
        let broken = |what: &str, e: io::Error| Skip {
            reason: "no private /dev/log".into(),
            detail: format!("{what}: {e}"),
        };
        let dir = Scratch::new("dev").map_err(|e| broken("a temporary folder", e))?;
        for device in DEVICES {
            std::fs::write(dir.path().join(device), b"")
                .map_err(|e| broken(&format!("a mount point for /dev/{device}"), e))?;
        }
        let socket = UnixDatagram::bind(dir.path().join("log"))
            .map_err(|e| broken("bind the /dev/log socket", e))?;
        let records: Arc<Records> = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        collect(socket, Arc::downgrade(&records));
        let log = DevLog { dir, records };
        // Root may still be denied a namespace (a container without CAP_SYS_ADMIN):
        // tried once, with a program that does nothing.
        static WORKS: OnceLock<Result<(), String>> = OnceLock::new();
        WORKS
            .get_or_init(|| log.try_once())
            .clone()
            .map_err(|e| Skip {
                reason: "no mount namespace".into(),
                detail: format!("the private /dev/log needs one, and here: {e}"),
            })?;
        Ok(log)
    }

    /// Run `true` the way a daemon is run; what went wrong, if anything.
    fn try_once(&self) -> Result<(), String> {
        let argv = self.wrap(&["true".into()]);
        let output = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", argv[0].to_string_lossy()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
        }
    }

    /// `argv`, run in a mount namespace where `/dev` is this folder and `/run` is
    /// empty. `unshare` and `sh` exec the program: it keeps their pid, its exit
    /// status is the command's.
    pub fn wrap(&self, argv: &[OsString]) -> Vec<OsString> {
        let dir = self.dir.path().to_string_lossy().replace('\'', r"'\''");
        let devices: String = DEVICES
            .iter()
            .map(|d| format!("mount --bind /dev/{d} '{dir}/{d}' && "))
            .collect();
        let script = format!(
            "{devices}mount --rbind '{dir}' /dev && \
             {{ [ ! -d /run ] || mount -t tmpfs tmpfs /run; }} && exec \"$@\""
        );
        let mut wrapped: Vec<OsString> = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        wrapped.extend(argv.iter().cloned());
        wrapped
    }

    /// Every record so far, as received (`<30>Mon DD HH:MM:SS NAME[PID]: TEXT`).
    pub fn records(&self) -> Vec<String> {
        let records = self.records.0.lock().unwrap_or_else(|p| p.into_inner());
        theirs(&records)
    }

    /// Every record sent before this call, once received: the checker sends one of
    /// its own and waits for it (a datagram socket keeps their order).
    pub fn settled(&self) -> Vec<String> {
        static SENT: AtomicUsize = AtomicUsize::new(0);
        let marker = format!("{MARKER} {}", SENT.fetch_add(1, Ordering::Relaxed));
        let sent = UnixDatagram::unbound()
            .and_then(|s| s.send_to(marker.as_bytes(), self.dir.path().join("log")));
        if sent.is_ok() {
            self.wait_raw(Instant::now() + Duration::from_secs(2), |r| {
                r.contains(&marker)
            });
        }
        self.records()
    }

    /// Wait until `done(records so far)` holds or the deadline passes; the records.
    pub fn wait_until(&self, deadline: Instant, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        self.wait_raw(deadline, |records| done(&theirs(records)));
        self.records()
    }

    fn wait_raw(&self, deadline: Instant, done: impl Fn(&[String]) -> bool) {
        let (lock, changed) = &*self.records;
        let mut records = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if done(&records) || left.is_zero() {
                return;
            }
            records = changed
                .wait_timeout(records, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// How the checker's own records begin (see [`DevLog::settled`]).
const MARKER: &str = "<31>the checker's own record: the earlier ones are in";

/// The records the program sent, without the checker's own.
fn theirs(records: &[String]) -> Vec<String> {
    records
        .iter()
        .filter(|r| !r.starts_with(MARKER))
        .cloned()
        .collect()
}

/// Receive datagrams into `records` until the [`DevLog`] is dropped (the thread
/// notices within a tenth of a second and ends, closing the socket).
fn collect(socket: UnixDatagram, records: Weak<Records>) {
    let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
    thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let received = socket.recv(&mut buffer);
            let Some(records) = records.upgrade() else {
                return;
            };
            match received {
                Ok(n) => {
                    let record = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    let (lock, changed) = &*records;
                    lock.lock().unwrap_or_else(|p| p.into_inner()).push(record);
                    changed.notify_all();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    });
}
