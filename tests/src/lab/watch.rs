//! `cargo lab watch`: check a work copy again on every save, one screen per check.
//!
//! Saves are seen with inotify on the work copy's folder, not on the file: an editor
//! that writes a new file and renames it over the old one (vim's `backupcopy=no`,
//! most IDEs) replaces the inode that a watch on the file would keep following. One
//! save is a burst of events (truncate, writes, close; or create, write, rename), so
//! the check starts once the folder has been quiet for [`QUIET`]. A save during a
//! check makes that check moot: its programs are killed, the rest of its screen is
//! dropped, and the check starts over on the new file.
//!
//! Ctrl-C (SIGINT), SIGTERM and SIGHUP kill every program under check, then exit 0.
//! The three signals are blocked in every thread and taken by one thread with
//! `sigwait`, so no handler ever interrupts a check half-way.

use std::convert::Infallible;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::report::Style;
use super::run;
use super::runner::{self, Options};
use super::scratch;
use super::steps::Step;
use super::target::{Target, TargetError};
use super::workcopy;

/// How long the folder must stay quiet before a save is taken as finished.
pub const QUIET: Duration = Duration::from_millis(150);

/// What the watching thread hears.
enum Msg {
    /// A file of the exercise changed.
    Saved,
    /// The check under way has ended.
    Checked,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Stop,
}

/// Watch the work copy of `step` in the workspace at `root`, checking it now and
/// after every save, until a signal ends the process. `note` is shown under every
/// screen (why this step was chosen). Returns only on an error at the start.
pub fn watch(
    root: &Path,
    step: &'static Step,
    note: Option<String>,
) -> Result<Infallible, TargetError> {
    let (tx, rx) = mpsc::channel();
    // First, while this is the only thread: every thread made later inherits the mask.
    catch_stop(tx.clone())?;
    let dir = workcopy::work_dir(root, step);
    let _watcher = watch_saves(&dir, tx.clone()).map_err(|e| {
        TargetError::Broken(format!("cannot watch {} for saves: {e}", dir.display()))
    })?;
    let screen = ScreenSetup {
        root: root.to_path_buf(),
        step,
        note,
        style: Style::for_stdout(),
        clear: io::stdout().is_terminal(),
    };
    let mut n = 0;
    loop {
        n += 1;
        let moot = Arc::new(AtomicBool::new(false));
        let check = screen.clone();
        let (done, silenced) = (tx.clone(), Arc::clone(&moot));
        thread::spawn(move || {
            check.show(n, &silenced);
            let _ = done.send(Msg::Checked);
        });
        // Until the check ends; a save meanwhile makes it moot.
        let mut saved = false;
        loop {
            match rx.recv() {
                Ok(Msg::Checked) => break,
                Ok(Msg::Saved) if !saved => {
                    saved = true;
                    moot.store(true, Ordering::SeqCst);
                    run::cancel_all();
                }
                Ok(Msg::Saved) => {}
                Ok(Msg::Stop) | Err(_) => stop(),
            }
        }
        // The moot check has ended: the next may start programs.
        run::resume();
        while !saved {
            match rx.recv() {
                Ok(Msg::Saved) => saved = true,
                Ok(Msg::Checked) => {}
                Ok(Msg::Stop) | Err(_) => stop(),
            }
        }
        settle(&rx);
    }
}

/// Block SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread started
/// after it), and start the one thread that waits for them.
fn catch_stop(tx: Sender<Msg>) -> Result<(), TargetError> {
    let mut signals = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        signals.add(signal);
    }
    signals
        .thread_block()
        .map_err(|e| TargetError::Broken(format!("pthread_sigmask: {e}")))?;
    // The programs under check do not inherit the mask: std resets it between fork
    // and exec, so Ctrl-C in the checks of signals still reaches them.
    thread::spawn(move || {
        if signals.wait().is_ok() {
            let _ = tx.send(Msg::Stop);
        }
    });
    Ok(())
}

/// Watch `dir` and everything under it (`src/` of a Rust work copy); send
/// [`Msg::Saved`] for each event that changes a file of the exercise.
fn watch_saves(dir: &Path, tx: Sender<Msg>) -> notify::Result<RecommendedWatcher> {
    let folder = dir.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        let Ok(event) = event else { return };
        // A queue overflow loses events: anything may have changed.
        let relevant = event.need_rescan()
            || (is_change(&event.kind)
                && event
                    .paths
                    .iter()
                    .any(|path| workcopy::is_exercise_file(&folder, path)));
        if relevant {
            let _ = tx.send(Msg::Saved);
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// Events that change a file's content or which file a name points to. Opening and
/// reading are not (the compiler reads the file on every check).
fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

/// Wait until no save has come for [`QUIET`]: the editor has finished writing.
fn settle(rx: &Receiver<Msg>) {
    loop {
        match rx.recv_timeout(QUIET) {
            Ok(Msg::Saved | Msg::Checked) => {}
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => stop(),
            Err(RecvTimeoutError::Timeout) => return,
        }
    }
}

/// Kill every program under check, remove the compiled programs' folders, and exit
/// 0. A check still running on another thread cannot start a program any more
/// (`cancel_all`) nor print (stdout stays locked here until the process has exited).
fn stop() -> ! {
    let mut out = io::stdout().lock();
    run::cancel_all();
    scratch::remove_all();
    let _ = writeln!(
        out,
        "\nstopped watching: every program under check was killed"
    );
    let _ = out.flush();
    std::process::exit(0)
}

/// What every screen needs.
#[derive(Clone)]
struct ScreenSetup {
    root: PathBuf,
    step: &'static Step,
    note: Option<String>,
    style: Style,
    /// Clear the terminal first (only on a terminal: a pipe has no screen).
    clear: bool,
}

impl ScreenSetup {
    /// Check the work copy, showing screen `n`; keep the result unless a save made
    /// the check moot meanwhile (then nothing more is shown either).
    fn show(&self, n: u64, moot: &Arc<AtomicBool>) {
        let mut out = Screen {
            moot: Arc::clone(moot),
        };
        let started = Instant::now();
        let _ = self.show_check(n, &mut out);
        let dir = workcopy::work_dir(&self.root, self.step);
        let shown = dir.strip_prefix(&self.root).unwrap_or(&dir);
        let _ = writeln!(
            out,
            "\nwatching {}/ (checked in {:.1} s): save to check again, Ctrl-C to stop",
            shown.display(),
            started.elapsed().as_secs_f64()
        );
        if let Some(note) = &self.note {
            let _ = writeln!(out, "{note}");
        }
        let _ = out.flush();
    }

    fn show_check(&self, n: u64, out: &mut Screen) -> io::Result<()> {
        if self.clear {
            // Cursor home, clear the screen and its scrollback: one screen per check.
            write!(out, "\x1b[H\x1b[2J\x1b[3J")?;
        }
        writeln!(out, "cargo lab watch {}: check {n}", self.step.short())?;
        let result = runner::check(
            self.step,
            &Target::WorkCopy,
            &self.root,
            Options::default(),
            out,
            self.style,
        );
        match result {
            Ok(summary) if !out.moot.load(Ordering::SeqCst) => {
                if let Err(e) = workcopy::save_result(&self.root, self.step, &summary.stored()) {
                    writeln!(out, "warning: cannot keep the result in work/.lab/: {e}")?;
                }
            }
            Ok(_) => {}
            Err(TargetError::Usage(message) | TargetError::Broken(message)) => {
                writeln!(out, "{message}")?;
            }
        }
        Ok(())
    }
}

/// stdout for one check's screen, silent once a save has made that check moot.
struct Screen {
    moot: Arc<AtomicBool>,
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Decided under stdout's lock, which `stop` keeps until the process exits.
        let mut stdout = io::stdout().lock();
        if self.moot.load(Ordering::SeqCst) {
            return Ok(buf.len());
        }
        stdout.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RenameMode};

    /// Writing, creating, renaming and removing are changes; opening and reading (the
    /// compiler, every check) are not, or each check would start the next.
    #[test]
    fn reading_is_not_a_save() {
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ] {
            assert!(is_change(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
        ] {
            assert!(!is_change(&kind), "{kind:?}");
        }
    }
}
