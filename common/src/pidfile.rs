//! A pid file that is also a lock: a second instance of a daemon refuses to start.
//!
//! Beyond the slides (systemd's daemon(7), step 14: "write the daemon PID to a PID
//! file, race-free"). Checking whether the pid written in the file is alive is racy
//! and fooled by pid reuse; a lock is not: `flock(2)` on the open file lasts exactly as
//! long as the process, and the kernel drops it when the process dies, even by SIGKILL.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::CallError;

/// A locked pid file holding this process's pid; [`PidFile::remove`] deletes it.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    file: File,
}

impl PidFile {
    /// Open (or create) `path`, lock it, and write our pid into it.
    ///
    /// ```c
    /// int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    /// if (flock(fd, LOCK_EX | LOCK_NB) == -1) { /* another instance runs */ }
    /// ftruncate(fd, 0);
    /// dprintf(fd, "%d\n", getpid());
    /// ```
    ///
    /// See `flock(2)`. Race-free: after locking, it checks that `path` still names the
    /// file it locked (an instance that was exiting may have unlinked it meanwhile) and
    /// starts over if not. Call it after the last `fork`, so the pid is the daemon's.
    ///
    /// # Errors
    ///
    /// `open` (`EACCES`, `ENOENT` for a missing directory), or `flock` with the
    /// message `PATH is locked: already running as pid N` when another instance holds it.
    /// Exit code 1.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-{}.pid", std::process::id()));
    /// let pid_file = common::pidfile::PidFile::create(&path).unwrap();
    /// let again = common::pidfile::PidFile::create(&path).unwrap_err();
    /// assert!(again.to_string().contains("already running as pid"));
    /// pid_file.remove();
    /// assert!(!path.exists());
    /// ```
    pub fn create(path: &Path) -> Result<PidFile, CallError> {
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)
                .map_err(|e| with_path("open", path, e))?;
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == -1 {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                    return Err(with_path("flock", path, err));
                }
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(CallError::with_message(
                    "flock",
                    format!(
                        "{} is locked: already running as pid {}",
                        path.display(),
                        holder.trim()
                    ),
                ));
            }
            // Locked. Is it still the file at `path`? If not, lock the new one.
            let ours = file.metadata().map_err(|e| with_path("fstat", path, e))?;
            match std::fs::metadata(path) {
                Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {}
                _ => continue,
            }
            file.set_len(0)
                .map_err(|e| with_path("ftruncate", path, e))?;
            file.rewind().map_err(|e| with_path("lseek", path, e))?;
            writeln!(file, "{}", std::process::id()).map_err(|e| with_path("write", path, e))?;
            return Ok(PidFile {
                path: path.to_path_buf(),
                file,
            });
        }
    }

    /// Where it is.
    ///
    /// ```no_run
    /// # let pid_file = common::pidfile::PidFile::create("/tmp/x.pid".as_ref()).unwrap();
    /// println!("{}", pid_file.path().display());
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Delete the file, then release the lock (in that order, so no other instance can
    /// lock the file we are deleting). A daemon that dropped its privileges may no
    /// longer be allowed to delete it; it then empties it instead, which is as good:
    /// the lock, not the file, says whether an instance runs.
    ///
    /// ```c
    /// unlink(path);
    /// close(fd);   /* releases the lock */
    /// ```
    pub fn remove(self) {
        if std::fs::remove_file(&self.path).is_err() {
            let _ = self.file.set_len(0);
        }
        drop(self.file);
    }

    /// In a forked child: close our copy of the descriptor without touching the file
    /// or the lock (the parent still holds both).
    ///
    /// ```no_run
    /// # let pid_file = common::pidfile::PidFile::create("/tmp/x.pid".as_ref()).unwrap();
    /// pid_file.forget_in_child();
    /// ```
    pub fn forget_in_child(self) {
        drop(self.file);
    }
}

/// `call PATH: text`, for errors about a file.
fn with_path(call: &'static str, path: &Path, err: std::io::Error) -> CallError {
    let text = match err.raw_os_error() {
        Some(errnum) => crate::error::strerror(errnum),
        None => err.to_string(),
    };
    CallError::with_message(call, format!("{}: {text}", path.display()))
}
