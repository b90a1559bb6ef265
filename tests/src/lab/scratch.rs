//! A temporary folder for what the checker builds (a compiled exercise, a shim's log),
//! removed when dropped. Unlike the tests' `TempDir`, creating one reports an error
//! instead of panicking: the checker never panics.
//!
//! The folders that exist are also listed, so that `cargo lab watch`, which exits on
//! Ctrl-C without waiting for the check under way, removes them first ([`remove_all`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The folders made and not yet removed.
static MADE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn made() -> MutexGuard<'static, Vec<PathBuf>> {
    MADE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Remove every folder made and not yet removed: for a checker about to exit while a
/// check on another thread still holds one.
pub fn remove_all() {
    for path in made().drain(..) {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// A folder under the system's temporary directory, removed with its contents on drop.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new empty folder named after `tag`, this process and a counter.
    pub fn new(tag: &str) -> io::Result<Scratch> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("lab-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        made().push(path.clone());
        Ok(Scratch(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        made().retain(|path| *path != self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
