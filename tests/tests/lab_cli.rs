//! The `lab` binary (`cargo lab`): its exit codes (0 passed, 1 failed, 64 usage
//! error), `start` that never overwrites, the kept result and `hint`.
//! Work copies are made in a scratch workspace (`LAB_ROOT`), never in the real `work/`.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tests::bins::workspace_root;
use tests::daemon::TempDir;
use tests::process::{Finished, Launch};
use tests::rust_binary;

/// Run `lab ARGS…` (with `LAB_ROOT` when given) to its end.
fn lab(args: &[&str], root: Option<&Path>) -> Finished {
    let mut launch = Launch::new(Path::new(env!("CARGO_BIN_EXE_lab")), args);
    if let Some(root) = root {
        launch = launch.env("LAB_ROOT", root.as_os_str());
    }
    launch.spawn().wait_exit()
}

fn faulty(name: &str) -> String {
    workspace_root()
        .join("tests/lab/faulty")
        .join(name)
        .display()
        .to_string()
}

/// Every check passed: exit 0, and the report says what to do next.
#[test]
fn a_passing_program_exits_0() {
    let reference = rust_binary("step01-open-port");
    let done = lab(&["check", "01", "--", reference.to_str().unwrap()], None);
    assert_eq!(done.code, Some(0), "{}{}", done.stdout_text(), done.stderr);
    assert!(done
        .stdout_text()
        .ends_with("step done, next: cargo lab start 02\n"));
}

/// `--reference` builds (or finds) the step's own binary and checks it.
#[test]
fn the_reference_target_passes() {
    let done = lab(&["check", "step01", "--reference"], None);
    assert_eq!(done.code, Some(0), "{}{}", done.stdout_text(), done.stderr);
    assert!(done
        .stdout_text()
        .contains("checking the reference step01-open-port"));
}

/// A failed check, or a file that does not compile: exit 1, and the report says why.
#[test]
fn a_failing_program_exits_1() {
    let done = lab(&["check", "1", "--c", &faulty("step01-no-htons.c")], None);
    assert_eq!(done.code, Some(1), "{}", done.stdout_text());
    assert!(done.stdout_text().contains("✗ step01/htons "));

    let scratch = TempDir::new("lab-cli-broken");
    let broken = scratch.join("broken.c");
    fs::write(&broken, "int main(void) { return x; }\n").unwrap();
    let done = lab(&["check", "01", "--c", broken.to_str().unwrap()], None);
    assert_eq!(done.code, Some(1));
    let out = done.stdout_text();
    assert!(out.contains("✗ compiles "), "{out}");
    assert!(
        out.contains("error: ‘x’ undeclared") || out.contains("error: use of undeclared"),
        "{out}"
    );
    assert!(
        !out.contains("step01/listens"),
        "nothing runs after a failed compile:\n{out}"
    );
}

/// Usage errors exit 64 and say what is wrong: an unknown step (however typed), a
/// missing file or command, two targets at once, an unknown flag.
#[test]
fn usage_errors_exit_64() {
    for step in ["7", "0", "step1", "step07", "open-port", "01x"] {
        for command in ["check", "start", "hint"] {
            let done = lab(&[command, step], None);
            assert_eq!(done.code, Some(64), "{command} {step}");
            assert!(
                done.stderr.contains(&format!("unknown step '{step}'")),
                "{command} {step}: {}",
                done.stderr
            );
        }
    }
    for args in [
        &["check", "01", "--c", "/no/such/file.c"][..],
        &["check", "01", "--rust", "/no/such/dir"],
        &["check", "01", "--", "/no/such/program"],
        &["check", "01", "--", "no-such-command-on-path"],
        &["check", "01", "--reference", "--", "python3"],
        &["check", "01", "--c", "a.c", "--reference"],
        &["check", "01", "--bogus"],
        &["check"],
        &["frobnicate"],
    ] {
        let done = lab(args, None);
        assert_eq!(done.code, Some(64), "{args:?}: {}", done.stderr);
        assert!(
            !done.stderr.is_empty(),
            "{args:?}: a usage error says what is wrong"
        );
    }
}

/// A scratch workspace with a step 01 skeleton in both languages.
fn scratch_workspace() -> TempDir {
    let root = TempDir::new("lab-cli-root");
    let skeleton = root.join("step01-open-port/exercise");
    fs::create_dir_all(skeleton.join("src")).unwrap();
    fs::write(
        skeleton.join("exercise.c"),
        "int main(void)\n{\n    /* TODO (slide 17): create the socket */\n    return 0;\n}\n",
    )
    .unwrap();
    fs::write(
        skeleton.join("Cargo.toml"),
        "[package]\nname = \"step01-exercise\"\n",
    )
    .unwrap();
    fs::write(
        skeleton.join("src/main.rs"),
        "fn main() {\n    todo!(\"slide 17: socket\");\n}\n",
    )
    .unwrap();
    root
}

/// `start` copies the skeleton into work/step01-open-port/, prints the path and the
/// first task; run again, it leaves the student's edits alone.
#[test]
fn start_copies_the_skeleton_and_never_overwrites() {
    let root = scratch_workspace();
    let done = lab(&["start", "1"], Some(root.path()));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let out = done.stdout_text();
    assert!(
        out.contains("work copy: work/step01-open-port/exercise.c\n"),
        "{out}"
    );
    assert!(
        out.contains("first task: line 3: TODO (slide 17): create the socket\n"),
        "{out}"
    );
    let work = root.join("work/step01-open-port/exercise.c");
    let edited = "/* my own work */\n";
    fs::write(&work, edited).unwrap();

    for step in ["01", "step01", "step01-open-port"] {
        let done = lab(&["start", step, "--c"], Some(root.path()));
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        assert!(
            done.stdout_text().contains("kept:"),
            "{}",
            done.stdout_text()
        );
        assert_eq!(
            fs::read_to_string(&work).unwrap(),
            edited,
            "start {step} overwrote it"
        );
    }

    // Rust: a file the student already has is kept, a missing one is copied.
    let main_rs = root.join("work/step01-open-port/src/main.rs");
    fs::create_dir_all(main_rs.parent().unwrap()).unwrap();
    fs::write(&main_rs, "fn main() {} // mine\n").unwrap();
    let done = lab(&["start", "01", "--rust"], Some(root.path()));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        fs::read_to_string(&main_rs).unwrap(),
        "fn main() {} // mine\n"
    );
    assert!(root.join("work/step01-open-port/Cargo.toml").is_file());
    let out = done.stdout_text();
    assert!(
        out.contains("copied:    Cargo.toml\n") && out.contains("kept:      src/main.rs"),
        "{out}"
    );
}

/// `check` with no TARGET checks the work copy and keeps its result for progress;
/// `hint` shows the first failing check with its hint. Without a work copy, both say
/// how to make one (exit 64).
#[test]
fn the_work_copy_is_checked_its_result_kept_and_hinted() {
    let root = scratch_workspace();
    let done = lab(&["check", "01"], Some(root.path()));
    assert_eq!(done.code, Some(64));
    assert!(
        done.stderr.contains("cargo lab start 01"),
        "{}",
        done.stderr
    );

    let work = root.join("work/step01-open-port");
    fs::create_dir_all(&work).unwrap();
    fs::copy(faulty("step01-no-ntohs.c"), work.join("exercise.c")).unwrap();
    let done = lab(&["check", "01"], Some(root.path()));
    assert_eq!(done.code, Some(1), "{}", done.stdout_text());
    assert!(done
        .stdout_text()
        .contains("checking work/step01-open-port/exercise.c"));
    let result = fs::read_to_string(root.join("work/.lab/step01-open-port.result")).unwrap();
    let lines: Vec<&str> = result.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "compiles passed",
            "step01/listens passed",
            "step01/htons passed",
            "step01/accepts passed",
            "step01/ntohs failed",
            "step01/exits not-run",
            "step01/reuseaddr not-run",
        ]
    );

    let done = lab(&["hint", "01"], Some(root.path()));
    assert_eq!(done.code, Some(0));
    let out = done.stdout_text();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "step01-open-port: 4 of 7 checks pass on work/step01-open-port/exercise.c; the first to fix:",
        "{out}"
    );
    assert!(lines[1].starts_with("✗ step01/ntohs "), "{out}");
    assert!(out.contains("\n    hint (slide 10): it printed "), "{out}");
    assert_eq!(
        lines.last().unwrap(),
        &"then: cargo lab check 01   (or leave `cargo lab watch 01` running: it checks on every save)"
    );

    // Once it passes, hint says the step is done and names the next exercise, if
    // the next step has one (a skeleton to start from).
    fs::copy(
        workspace_root().join("step01-open-port/original.c"),
        work.join("exercise.c"),
    )
    .unwrap();
    let done = lab(&["hint", "1"], Some(root.path()));
    assert_eq!(done.code, Some(0));
    assert_eq!(
        done.stdout_text(),
        "step01-open-port: 7 of 7 checks pass on work/step01-open-port/exercise.c: step done; the steps after it have no exercise yet\n"
    );
    fs::create_dir_all(root.join("step02-receive/exercise")).unwrap();
    let done = lab(&["hint", "1"], Some(root.path()));
    assert_eq!(
        done.stdout_text(),
        "step01-open-port: 7 of 7 checks pass on work/step01-open-port/exercise.c: step done, next: cargo lab start 02\n"
    );
}

/// The progress lines of `cargo lab` (no command), one per step, and its `next:`.
fn progress(root: &Path) -> (Vec<String>, String) {
    let done = lab(&[], Some(root));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let out = done.stdout_text();
    let lines = out
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.trim_end().to_string())
        .collect();
    let next = out
        .lines()
        .find_map(|l| l.strip_prefix("next: "))
        .unwrap_or_else(|| panic!("no next line:\n{out}"))
        .to_string();
    (lines, next)
}

/// `cargo lab` alone tells each step's state from the last check of its work copy:
/// not started, in progress (n of m checks, which fails), done; a step with a
/// skipped check is not done; steps without checks or skeleton say so. The `next:`
/// line is the command to type.
#[test]
fn progress_tells_each_step_and_the_next_command() {
    let root = scratch_workspace();
    let no_exercise = [
        "    step02-receive      no exercise yet",
        "    step03-client       no exercise yet",
        "    step04-respond      no exercise yet",
        "    step05-daemon       no exercise yet",
        "    step06-fileserver   no exercise yet",
    ];
    let expect = |first: &str| {
        let mut lines = vec![first.to_string()];
        lines.extend(no_exercise.map(String::from));
        lines
    };
    let (lines, next) = progress(root.path());
    assert_eq!(lines, expect("    step01-open-port    not started"));
    assert_eq!(
        next,
        "cargo lab start 01   (the C skeleton; --rust for the Rust one)"
    );

    let work = root.join("work/step01-open-port");
    fs::create_dir_all(&work).unwrap();
    fs::copy(faulty("step01-no-reuseaddr.c"), work.join("exercise.c")).unwrap();
    let (lines, next) = progress(root.path());
    assert_eq!(
        lines,
        expect("    step01-open-port    in progress: not checked yet")
    );
    assert_eq!(
        next,
        "cargo lab check 01   (your work copy is in work/step01-open-port/)"
    );

    assert_eq!(lab(&["check", "01"], Some(root.path())).code, Some(1));
    let (lines, next) = progress(root.path());
    assert_eq!(
        lines,
        expect("  ✗ step01-open-port    in progress (6 of 7 checks pass): step01/reuseaddr fails")
    );
    assert_eq!(
        next,
        "cargo lab hint 01   (why step01/reuseaddr fails, and what to change)"
    );

    let original = workspace_root().join("step01-open-port/original.c");
    fs::copy(&original, work.join("exercise.c")).unwrap();
    let (lines, _) = progress(root.path());
    assert_eq!(
        lines[0],
        "  ✗ step01-open-port    in progress (6 of 7 checks pass): step01/reuseaddr fails (edited since)"
    );
    assert_eq!(lab(&["check", "01"], Some(root.path())).code, Some(0));
    let (lines, next) = progress(root.path());
    assert_eq!(
        lines,
        expect("  ✓ step01-open-port    done (7 of 7 checks pass)")
    );
    assert_eq!(
        next,
        "nothing: every exercise with checks is done (steps 02, 03, 04, 05, 06 have no checks yet)"
    );

    // A check that could not run here (as one needing root would) leaves it undone.
    let result = root.join("work/.lab/step01-open-port.result");
    let kept = fs::read_to_string(&result).unwrap();
    fs::write(
        &result,
        kept.replace("step01/exits passed", "step01/exits skipped"),
    )
    .unwrap();
    let (lines, next) = progress(root.path());
    assert_eq!(
        lines[0],
        "  – step01-open-port    in progress (6 of 7 checks pass): skipped here, step01/exits"
    );
    assert_eq!(
        next,
        "cargo lab check 01   (step01/exits could not run here; the check says why)"
    );
}

/// Batch mode: `check STEP --c DIR` gives one line per `.c` file (name, step, checks
/// passed of all, first failed or `-`), then a summary; exit 1 when one failed, 0
/// when all passed, 64 for a folder without C files.
#[test]
fn a_folder_of_c_files_is_checked_one_line_each() {
    let dir = TempDir::new("lab-cli-batch");
    fs::copy(
        workspace_root().join("step01-open-port/original.c"),
        dir.join("good.c"),
    )
    .unwrap();
    fs::copy(faulty("step01-no-htons.c"), dir.join("no-htons.c")).unwrap();
    fs::write(dir.join("notes.txt"), "not a program\n").unwrap();
    let folder = dir.path().to_str().unwrap();
    let done = lab(&["check", "01", "--c", folder], None);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(
        done.stdout_text(),
        concat!(
            "good.c      step01  7/7  -\n",
            "no-htons.c  step01  6/7  step01/htons\n",
            "2 programs checked as step01-open-port: 1 passed every check, 1 failed\n",
        )
    );

    fs::remove_file(dir.join("no-htons.c")).unwrap();
    let done = lab(&["check", "1", "--c", folder], None);
    assert_eq!(done.code, Some(0), "{}", done.stdout_text());
    assert!(done
        .stdout_text()
        .ends_with("1 program checked as step01-open-port: 1 passed every check, 0 failed\n"));

    fs::remove_file(dir.join("good.c")).unwrap();
    let done = lab(&["check", "01", "--c", folder], None);
    assert_eq!(done.code, Some(64));
    assert!(
        done.stderr.contains("no .c file in this folder"),
        "{}",
        done.stderr
    );
}

/// The console blocks after `<!-- lab transcript -->` in the root README, each as
/// (the `cargo lab` arguments, the output).
fn readme_lab_transcript() -> Vec<(Vec<String>, String)> {
    let readme = fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let after = readme
        .split("<!-- lab transcript -->")
        .nth(1)
        .expect("README.md has a <!-- lab transcript --> marker");
    after
        .split("```console\n")
        .skip(1)
        .take(2)
        .map(|block| {
            let block = block.split("```").next().unwrap();
            let (command, output) = block.split_once('\n').unwrap();
            let args = command
                .strip_prefix("$ cargo lab ")
                .unwrap_or_else(|| panic!("not a cargo lab command: {command:?}"))
                .split_whitespace()
                .map(String::from)
                .collect();
            (args, output.to_string())
        })
        .collect()
}

/// What differs from run to run: the port, the compiled program's temporary folder.
fn mask_run(text: &str) -> String {
    let temp = std::env::temp_dir().display().to_string();
    let text = text.replace(&format!("{temp}/lab-cc-"), "/tmp/lab-cc-");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = ["lab-cc-", "-p ", "port "]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
        .min()
    {
        let (at, len) = at;
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap_or(rest.len());
        if digits > 0 {
            out.push('N');
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The compiler's warnings under `✓ compiles` as one `    …` line (the README leaves
/// them out: their wording and quotes depend on the compiler and the locale).
fn elide_warnings(text: &str) -> String {
    let mut out = Vec::new();
    let mut under_compiles = false;
    for line in text.lines() {
        if line.starts_with("✓ compiles ") {
            under_compiles = true;
            out.push(line.to_string());
            out.push("    …".to_string());
        } else if under_compiles && line.starts_with("    ") {
            continue;
        } else {
            under_compiles = false;
            out.push(line.to_string());
        }
    }
    out.join("\n") + "\n"
}

/// The README's "Practise" transcript is what `cargo lab start 01 --c` and then
/// `cargo lab check 01` print on the untouched skeleton (in a scratch workspace),
/// ports and temporary folders masked, the compiler's warnings elided.
#[test]
fn readme_practise_transcript_is_what_cargo_lab_prints() {
    let root = TempDir::new("lab-cli-readme");
    let skeleton = root.join("step01-open-port/exercise");
    fs::create_dir_all(&skeleton).unwrap();
    fs::copy(
        workspace_root().join("step01-open-port/exercise/exercise.c"),
        skeleton.join("exercise.c"),
    )
    .unwrap();
    let transcript = readme_lab_transcript();
    assert_eq!(transcript.len(), 2, "start, then check");
    for (args, expected) in transcript {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let done = lab(&args, Some(root.path()));
        let out = done.stdout_text();
        if args[0] == "check" {
            assert_eq!(done.code, Some(1), "{out}");
            let warnings = out.split("✓ compiles ").nth(1).unwrap().lines().nth(1);
            assert!(
                warnings.is_some_and(|l| l.starts_with("    ")),
                "the skeleton warns, as the README says:\n{out}"
            );
        }
        assert_eq!(
            mask_run(&elide_warnings(&out)),
            mask_run(&expected),
            "cargo lab {args:?}"
        );
    }
}
