//! `cargo lab watch`: it checks the work copy again after every save, whether the
//! editor writes the file in place or writes a new file and renames it over the old
//! one; a save during a check starts the check over; Ctrl-C kills the program under
//! check and exits 0.
//!
//! Each test drives `lab watch` as a child process in a scratch workspace
//! (`LAB_ROOT`), waits for its screens with a deadline, and stops it at the end.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tests::bins::workspace_root;
use tests::daemon::TempDir;
use tests::lab::ctx::DEADLINE;
use tests::process::{Launch, Proc};
use tests::procfs;

/// The line that ends every screen: the check is over, the next save is awaited.
const FOOTER: &str = "save to check again, Ctrl-C to stop";

/// A program that listens on `-p PORT` and never accepts: a check that connects to
/// it waits until its deadline (10 s), long enough to act during it.
const NEVER_ACCEPTS: &str = r#"#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    struct sockaddr_in own;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&own, 0, sizeof own);
    own.sin_family = AF_INET;
    own.sin_port = htons(argc > 2 ? atoi(argv[2]) : 1234);
    if (fd == -1 || bind(fd, (struct sockaddr *)&own, sizeof own) == -1 || listen(fd, 5) == -1)
        return 1;
    pause();
    return 0;
}
"#;

/// A scratch workspace with a step 01 work copy holding `content` (and a step 02
/// skeleton folder, so a passing check names `cargo lab start 02`).
fn workspace_with(content: &str) -> (TempDir, PathBuf) {
    let root = TempDir::new("lab-watch");
    fs::create_dir_all(root.join("step02-receive/exercise")).unwrap();
    let work = root.join("work/step01-open-port");
    fs::create_dir_all(&work).unwrap();
    let file = work.join("exercise.c");
    fs::write(&file, content).unwrap();
    (root, file)
}

fn source(path: &str) -> String {
    fs::read_to_string(workspace_root().join(path)).unwrap()
}

/// `lab watch ARGS…` running; stopped with SIGINT (then killed) when dropped, so a
/// failing test leaves no checker behind, nor a program it was checking.
struct Watching(Proc);

impl Watching {
    fn start(root: &Path, args: &[&str]) -> Watching {
        let mut all = vec!["watch"];
        all.extend_from_slice(args);
        let launch = Launch::new(Path::new(env!("CARGO_BIN_EXE_lab")), &all)
            .env("LAB_ROOT", root.as_os_str())
            .env("NO_COLOR", "1".as_ref());
        Watching(launch.spawn())
    }

    /// Wait (with the deadline) until `n` screens are complete; return screen `n`.
    fn screen(&self, n: usize) -> String {
        let text = self.0.wait_stdout_count(FOOTER, n);
        screens(&text).into_iter().nth(n - 1).unwrap()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let pid = self.0.pid();
        if procfs::stat(pid).is_some_and(|s| s.state != 'Z') {
            // SAFETY: kill(2) on our own child, not yet reaped (Proc reaps on drop).
            unsafe { libc::kill(pid, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while procfs::stat(pid).is_some_and(|s| s.state != 'Z') && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// The screens in `stdout`: from each `cargo lab watch NN: check N` header line to
/// the next.
fn screens(stdout: &str) -> Vec<String> {
    let mut screens: Vec<String> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("cargo lab watch ") && line.contains(": check ") {
            screens.push(String::new());
        }
        if let Some(screen) = screens.last_mut() {
            screen.push_str(line);
            screen.push('\n');
        }
    }
    screens
}

/// Replace `file` the way vim (`backupcopy=no`) and most IDEs save: write a new
/// file in the same folder and rename it over the old one (a new inode).
fn save_by_rename(file: &Path, content: &str) {
    let temp = file.with_file_name(".exercise.c.new");
    fs::write(&temp, content).unwrap();
    fs::rename(&temp, file).unwrap();
}

/// A save is seen however the editor writes: a rename over the file (new inode) and
/// an in-place write (same inode) each give a new screen with the new verdict.
#[test]
fn watch_rechecks_after_a_rename_over_and_an_in_place_write() {
    let (root, file) = workspace_with(&source("tests/lab/faulty/step01-no-htons.c"));
    let watching = Watching::start(root.path(), &["01"]);
    let first = watching.screen(1);
    assert!(
        first.starts_with("cargo lab watch 01: check 1\n"),
        "{first}"
    );
    assert!(first.contains("✗ step01/htons "), "{first}");
    assert!(first.contains("hint (slide 22): "), "{first}");

    let inode = fs::metadata(&file).unwrap().ino();
    save_by_rename(&file, &source("step01-open-port/original.c"));
    assert_ne!(fs::metadata(&file).unwrap().ino(), inode, "a new inode");
    let second = watching.screen(2);
    assert!(
        second.starts_with("cargo lab watch 01: check 2\n"),
        "{second}"
    );
    assert!(second.contains("✓ step01/reuseaddr "), "{second}");
    assert!(
        second.contains("step done, next: cargo lab start 02\n"),
        "{second}"
    );

    let inode = fs::metadata(&file).unwrap().ino();
    fs::write(&file, source("tests/lab/faulty/step01-no-ntohs.c")).unwrap();
    assert_eq!(fs::metadata(&file).unwrap().ino(), inode, "the same inode");
    let third = watching.screen(3);
    assert!(
        third.starts_with("cargo lab watch 01: check 3\n"),
        "{third}"
    );
    assert!(third.contains("✗ step01/ntohs "), "{third}");

    // Each check's result is kept for progress, as `cargo lab check` keeps it.
    let kept = fs::read_to_string(root.join("work/.lab/step01-open-port.result")).unwrap();
    assert!(kept.contains("step01/ntohs failed\n"), "{kept}");
}

/// A save while a check waits on the program (here for a connection that is never
/// accepted, up to the checks' 10 s deadline) kills that program and starts over on
/// the new file at once: the first screen to finish is check 2's, well before that
/// deadline, and check 1 never prints a verdict.
#[test]
fn a_save_during_a_check_starts_it_over() {
    let (root, file) = workspace_with(NEVER_ACCEPTS);
    let watching = Watching::start(root.path(), &["01"]);
    // The accepts check is under way once the htons line is out.
    watching.0.wait_stdout_count("✓ step01/htons ", 1);
    let saved = Instant::now();
    save_by_rename(&file, &source("step01-open-port/original.c"));
    let text = watching.0.wait_stdout_count(FOOTER, 1);
    assert!(
        saved.elapsed() < DEADLINE,
        "check 1 ran to its deadline: {:?}\n{text}",
        saved.elapsed()
    );
    let screens = screens(&text);
    assert_eq!(screens.len(), 2, "{text}");
    assert!(!screens[0].contains("step01/accepts"), "{text}");
    assert!(
        screens[1].contains("step done, next: cargo lab start 02\n"),
        "{text}"
    );
}

/// Ctrl-C while a check waits on the program: the program is killed, not left
/// listening, its compiled binary's folder removed, and watch says so and exits 0.
#[test]
fn ctrl_c_kills_the_program_under_check_and_exits_0() {
    let (root, _file) = workspace_with(NEVER_ACCEPTS);
    let mut watching = Watching::start(root.path(), &["01"]);
    watching.0.wait_stdout_count("✓ step01/htons ", 1);
    let lab = watching.0.pid();
    let mut program = None;
    procfs::eventually("the accepts check starts the program", || {
        program = procfs::children(lab)
            .into_iter()
            .find(|s| s.state != 'Z' && comm(s.pid) == "exercise")
            .map(|s| s.pid);
        program.is_some()
    });
    let program = program.unwrap();
    let binary = fs::read_link(format!("/proc/{program}/exe")).unwrap();
    let folder = binary.parent().unwrap().to_path_buf();
    assert!(folder.is_dir(), "{}", folder.display());
    watching.0.signal(libc::SIGINT);
    let done = watching.0.wait_exit();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stdout_text()
            .ends_with("stopped watching: every program under check was killed\n"),
        "{}",
        done.stdout_text()
    );
    assert!(!done.stdout_text().contains("step01/accepts"));
    procfs::eventually("the program under check is gone", || {
        procfs::stat(program).is_none_or(|s| s.state == 'Z')
    });
    assert!(!folder.exists(), "{} is left behind", folder.display());
}

/// Without a work copy there is nothing to watch: exit 64, saying how to make one.
#[test]
fn watch_without_a_work_copy_says_how_to_start() {
    let root = TempDir::new("lab-watch-empty");
    for args in [&[][..], &["01"]] {
        let mut watching = Watching::start(root.path(), args);
        let done = watching.0.wait_exit();
        assert_eq!(done.code, Some(64), "{args:?}");
        assert!(
            done.stderr.contains("cargo lab start 01"),
            "{}",
            done.stderr
        );
    }
}

/// The name a process runs under (`/proc/PID/comm`).
fn comm(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// Without a step, watch takes the work copy started last and names the others; a
/// step whose checks are not written yet cannot be watched (exit 64, saying so).
#[test]
fn watch_without_a_step_takes_the_work_copy_started_last() {
    let (root, _file) = workspace_with(&source("step01-open-port/original.c"));
    let only = Watching::start(root.path(), &[]);
    let screen = only.screen(1);
    assert!(
        screen.starts_with("cargo lab watch 01: check 1\n"),
        "{screen}"
    );
    assert!(!screen.contains("also started"), "{screen}");
    drop(only);

    // Started after step 01 (and a higher step, if the file system keeps no birth time).
    let step02 = root.join("work/step02-receive");
    fs::create_dir_all(&step02).unwrap();
    fs::copy(
        workspace_root().join("step02-receive/original.c"),
        step02.join("exercise.c"),
    )
    .unwrap();
    let mut latest = Watching::start(root.path(), &[]);
    if tests::lab::Step::parse("02").unwrap().checks.is_empty() {
        let done = latest.0.wait_exit();
        assert_eq!(done.code, Some(64));
        assert!(
            done.stderr
                .contains("no checks are written for step02-receive yet"),
            "{}",
            done.stderr
        );
    } else {
        let note =
            "step02-receive is the work copy started last; for another: cargo lab watch 01\n";
        let text = latest.0.wait_stdout_count(note, 1);
        let screen = &screens(&text)[0];
        assert!(
            screen.starts_with("cargo lab watch 02: check 1\n"),
            "{screen}"
        );
        assert!(
            screen.ends_with(&format!("Ctrl-C to stop\n{note}")),
            "{screen}"
        );
    }
}
