//! Testing daemons: a private `/dev`, a syslog that the test owns, and a guard for a
//! detached process.
//!
//! A daemon logs to `/dev/log`, and a test machine may have no syslog daemon and no
//! `/dev/log` at all. [`PrivateDev`] runs the daemon in a private mount namespace (root
//! only, as CI is) where `/dev` is a folder of the test's: the real `/dev/null` as
//! `null`, and as `log` whatever the test puts there (nothing, a regular file, a socket
//! nobody reads). [`Syslog`] puts a Unix datagram socket of its own there: glibc's
//! `syslog(3)` then delivers its RFC 3164 records to the test. Nothing on the host
//! changes.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

use crate::process::Launch;
use crate::TIMEOUT;

/// A temporary folder, removed (with what it holds) when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder under the system's temporary directory.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A folder mounted over `/dev` for the programs a test launches through it.
pub struct PrivateDev {
    dir: TempDir,
    null: bool,
}

impl PrivateDev {
    /// A `/dev` holding only `null` (the real one): no `/dev/log`.
    pub fn new() -> PrivateDev {
        let dir = TempDir::new("dev");
        std::fs::write(dir.join("null"), b"").expect("a mount point for /dev/null");
        PrivateDev { dir, null: true }
    }

    /// A `/dev` without even `null`: opening `/dev/null` fails with `ENOENT`.
    pub fn without_null() -> PrivateDev {
        PrivateDev {
            dir: TempDir::new("dev"),
            null: false,
        }
    }

    /// A path inside it: `join("log")` is what the launched program sees as `/dev/log`.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A launch of `program args` in a private mount namespace whose `/dev` is this
    /// folder. `unshare` and `sh` exec the program, so the launch's pid is its pid.
    pub fn launch(&self, program: &Path, args: &[&str]) -> Launch {
        let dir = self.dir.path().to_string_lossy().into_owned();
        let null = if self.null {
            format!("mount --bind /dev/null '{dir}/null' && ")
        } else {
            String::new()
        };
        let script = format!("{null}mount --rbind '{dir}' /dev && exec \"$@\"");
        let mut wrapper = vec!["unshare", "--mount", "--propagation", "private", "sh", "-c"];
        wrapper.push(&script);
        wrapper.push("sh");
        Launch::wrapped(&wrapper, program, args)
    }
}

impl Default for PrivateDev {
    fn default() -> Self {
        PrivateDev::new()
    }
}

/// The records a daemon sent to our stand-in for `/dev/log`.
pub struct Syslog {
    dev: PrivateDev,
    records: Arc<(Mutex<Vec<String>>, Condvar)>,
}

/// True when this process may create mount namespaces (root). Under `CI=true` a
/// missing privilege fails the test; elsewhere it says so and the caller skips.
pub fn can_use_namespaces() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "these tests need root for a private mount namespace, and CI=true"
        );
        eprintln!("SKIPPED: needs root (a private mount namespace for /dev/log)");
    }
    root && crate::require_tool("unshare") && crate::require_tool("mount")
}

impl Syslog {
    /// Bind the socket and start collecting records.
    pub fn new() -> Syslog {
        let dev = PrivateDev::new();
        let socket = UnixDatagram::bind(dev.join("log")).expect("bind the syslog socket");
        let records = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = Arc::clone(&records);
        thread::spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            // Lives as long as the test process; asleep in recv once the daemon is gone.
            while let Ok(n) = socket.recv(&mut buffer) {
                let record = String::from_utf8_lossy(&buffer[..n]).into_owned();
                let (lock, changed) = &*sink;
                lock.lock().unwrap_or_else(|p| p.into_inner()).push(record);
                changed.notify_all();
            }
        });
        Syslog { dev, records }
    }

    /// A launch of `program args` in a private mount namespace whose `/dev/log` is
    /// this socket.
    pub fn launch(&self, program: &Path, args: &[&str]) -> Launch {
        self.dev.launch(program, args)
    }

    /// Every record sent before this call, once it has been received: the test sends
    /// a record of its own and waits for it (a datagram socket keeps the order).
    pub fn settled_records(&self) -> Vec<String> {
        let marker = "<31>the test's own record: all earlier ones are in";
        UnixDatagram::unbound()
            .and_then(|s| s.send_to(marker.as_bytes(), self.dev.join("log")))
            .expect("send to the syslog socket");
        self.wait_for(marker);
        let mut records = self.records();
        records.retain(|r| r != marker);
        records
    }

    /// Every record so far.
    pub fn records(&self) -> Vec<String> {
        self.records
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Wait (with the deadline) for a record containing `needle`; return it.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_count(needle, 1)
    }

    /// Wait (with the deadline) until `count` records contain `needle`; return the last.
    pub fn wait_for_count(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let (lock, changed) = &*self.records;
        let mut records = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let found: Vec<&String> = records.iter().filter(|r| r.contains(needle)).collect();
            if found.len() >= count {
                return found[count - 1].clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "no syslog record {needle:?}; got:\n{}",
                records.join("\n")
            );
            records = changed
                .wait_timeout(records, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Default for Syslog {
    fn default() -> Self {
        Syslog::new()
    }
}

/// A detached daemon, by pid. Dropping it kills it (SIGKILL) if it is still there;
/// its parent is init now, which reaps it.
pub struct Detached {
    /// The daemon's pid.
    pub pid: i32,
}

impl Detached {
    /// True while the process exists and is not a zombie.
    pub fn alive(&self) -> bool {
        crate::procfs::stat(self.pid).is_some_and(|s| s.state != 'Z')
    }

    /// Send a signal.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the daemon's pid; `alive` was true when the test decided.
        unsafe { libc::kill(self.pid, signal) };
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        if self.alive() {
            self.signal(libc::SIGKILL);
        }
    }
}
