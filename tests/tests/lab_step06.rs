//! Proof that `cargo lab`'s step 06 checks are right: they pass against the step's
//! C original, its Rust binary and a Python program written otherwise; each faulty
//! variant in `tests/lab/faulty/` (the original with exactly one mistake) fails the
//! check its header names, first, with the hint that names the mistake, and no
//! other check of the slides; and no process of a checked program is left alive
//! afterwards. (The skeletons' proof is lab_skeletons.rs.)

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

mod lab_proof;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use lab_proof::{assert_all_pass, assert_faulty_variants, check, Faulty};
use tests::bins::{c_original, workspace_root};
use tests::lab::{Outcome, Step, Target};
use tests::rust_binary;

const STEP: &str = "step06-fileserver";

fn step() -> &'static Step {
    Step::parse("06").unwrap()
}

/// The live processes running `program` (by `/proc/PID/exe`) or a script naming it
/// on their command line (`python3 SCRIPT`). Waits a little for processes being
/// killed at that moment to be gone.
fn alive(program: &Path) -> Vec<i32> {
    let find = || -> Vec<i32> {
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| {
                let exe = fs::read_link(format!("/proc/{pid}/exe")).ok();
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let named = cmdline
                    .split(|&b| b == 0)
                    .any(|arg| arg == program.as_os_str().as_encoded_bytes());
                let live = tests::procfs::stat(pid).is_some_and(|s| s.state != 'Z');
                live && (exe.as_deref() == Some(program) || named)
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = find();
        if found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every check of the slides passed, and of the beyond ones step 01's signals (every
/// server here ends with exit 0 on SIGINT and SIGTERM), none of step 06's: what a
/// server in original.c's image does.
fn assert_passes_the_slides(target: &Target) -> String {
    let (summary, report) = check(step(), target);
    let ids: Vec<&str> = summary
        .results
        .iter()
        .map(|(id, _, _)| id.as_str())
        .collect();
    let expected: Vec<&str> = step().checks(true).iter().map(|c| c.id).collect();
    assert_eq!(ids, expected, "every check of step 06 ran:\n{report}");
    assert!(ids.contains(&"step01/htons"), "step 01's checks apply");
    for (id, beyond, outcome) in &summary.results {
        let passed = outcome.as_ref() == Some(&Outcome::Passed);
        let should = !beyond || !id.starts_with("step06/");
        assert_eq!(passed, should, "{id}:\n{report}");
    }
    assert_eq!(summary.exit_code(), 0, "{report}");
    let last = report.lines().last().unwrap_or_default();
    assert!(last.starts_with("step done"), "{report}");
    report
}

/// The Rust binary serves what original.c serves, and what the crate adds beyond
/// it: every check passes, beyond ones included; then none of its processes lives.
#[test]
fn rust_reference_passes_every_step06_check() {
    let binary = rust_binary(STEP);
    assert_all_pass(step(), &Target::Executable(binary.clone()));
    assert_eq!(alive(&binary), Vec::<i32>::new(), "left alive");
}

/// The C original, compiled by build.rs, passes every check of the slides and none
/// of the beyond ones (no listing, ranges, conditionals, percent-decoding,
/// keep-alive): they are marked and leave the exit code at 0.
#[test]
fn c_original_passes_the_slides_checks_and_not_the_beyond_ones() {
    let report = assert_passes_the_slides(&Target::COriginal);
    assert!(report.contains("✗ step06/ranges "), "{report}");
    assert!(report.contains(" (beyond)\n"), "{report}");
    assert_eq!(alive(&c_original(STEP)), Vec::<i32>::new(), "left alive");
}

/// The original.c source, compiled as a student's file is (`--c FILE`), passes too,
/// after a `compiles` line.
#[test]
fn original_c_as_a_student_file_passes() {
    let file = workspace_root().join(STEP).join("original.c");
    let (summary, report) = check(step(), &Target::CFile(file));
    assert_eq!(summary.exit_code(), 0, "{report}");
    assert_eq!(summary.outcome("compiles"), Some(&Outcome::Passed));
}

/// A server written otherwise, in Python (realpath for the root, mimetypes,
/// sendfile, HTTP/1.1 answers), passes through `-- CMD`: the checks hold to what
/// the slides ask, not to how original.c words it.
#[test]
fn a_python_server_passes_through_a_command() {
    if !tests::require_tool("python3") {
        return;
    }
    let script = workspace_root().join("tests/lab/other/step06_server.py");
    let target = Target::Command(vec!["python3".into(), script.clone().into()]);
    assert_passes_the_slides(&target);
    assert_eq!(alive(&script), Vec::<i32>::new(), "left alive");
}

/// The beyond checks a C program in original.c's image fails, each with words of
/// its hint: every faulty variant fails them too, and nothing else but its own.
const C_BEYOND: &[(&str, &str)] = &[
    ("step06/listing", "read the folder (opendir, readdir)"),
    ("step06/redirect", "answer 301 with Location"),
    ("step06/percent-decoding", "decode %20 to a space"),
    ("step06/ranges", "answer 206 with Content-Range"),
    (
        "step06/conditional",
        "ETag (from size and mtime) or Last-Modified",
    ),
    (
        "step06/keep-alive",
        "HTTP/1.1 keeps the connection open by default",
    ),
];

/// Each step 06 mistake fails the check that names it, first, with its hint; every
/// other check of the slides passes (one mistake, one red line). The secret beside
/// the root is what step06-dotdot-escapes.c gives away.
#[test]
fn each_faulty_variant_fails_its_own_check_with_its_hint() {
    assert_faulty_variants(
        step(),
        &[
            Faulty {
                file: "step06-dotdot-escapes.c",
                hint: "\"..\" climbs out of the root: refuse a target containing \"/.\"",
                also: C_BEYOND,
            },
            Faulty {
                file: "step06-http10-only.c",
                hint: "curl and browsers send \"HTTP/1.1\": accept every HTTP/1.x version",
                also: C_BEYOND,
            },
            Faulty {
                file: "step06-no-content-length.c",
                hint: "add the header line Content-Length: the file's size in bytes",
                also: C_BEYOND,
            },
            Faulty {
                file: "step06-one-recv.c",
                hint: "the request came in two parts and only the first was read",
                also: C_BEYOND,
            },
        ],
    );
}
