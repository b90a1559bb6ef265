//! What a server does when `accept` fails: report it, and do not spin.
//!
//! Most `accept` errors concern one connection (`ECONNABORTED`: the client gave up while
//! queued) and the next call works. Running out of descriptors (`EMFILE` for the
//! process, `ENFILE` for the system) or memory is different: the connection stays in
//! the queue, `poll` keeps saying "readable", and a loop that retries at once burns a
//! core and floods the log. [`AcceptErrors`] logs the first failure of such a spell,
//! pauses 100 ms before each retry, and logs once when accepting works again.

use std::time::Duration;

use crate::diag;
use crate::error::CallError;

/// The pause between retries while the process is out of descriptors or memory.
pub const PAUSE: Duration = Duration::from_millis(100);

/// Tracks a spell of resource errors from `accept`.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    failing: bool,
}

impl AcceptErrors {
    /// No spell yet.
    ///
    /// ```
    /// let errors = common::backoff::AcceptErrors::new();
    /// ```
    pub fn new() -> AcceptErrors {
        AcceptErrors::default()
    }

    /// `accept` failed: log it (once per spell for resource errors) and, for those,
    /// pause before the caller tries again.
    ///
    /// ```c
    /// if (errno == EMFILE || errno == ENFILE) { usleep(100000); }
    /// ```
    ///
    /// ```
    /// let mut errors = common::backoff::AcceptErrors::new();
    /// errors.failed(&common::CallError::from_errno("accept", libc::ECONNABORTED));
    /// ```
    pub fn failed(&mut self, err: &CallError) {
        let scarce = matches!(
            err.errno().map(|e| e as i32),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        );
        if !scarce {
            diag::error(&err.to_string());
            return;
        }
        if !self.failing {
            diag::error(&format!("{err}: pausing accepts until it passes"));
            self.failing = true;
        }
        std::thread::sleep(PAUSE);
    }

    /// `accept` worked: end a spell, saying so.
    ///
    /// ```
    /// let mut errors = common::backoff::AcceptErrors::new();
    /// errors.succeeded();
    /// ```
    pub fn succeeded(&mut self) {
        if self.failing {
            diag::report("accept: working again");
            self.failing = false;
        }
    }
}
