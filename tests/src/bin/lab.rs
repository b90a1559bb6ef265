//! `cargo lab`: check your solutions to the lecture's exercises.
//!
//! ```text
//! cargo lab                            progress over all steps, and what to do next
//! cargo lab start STEP [--c|--rust]    make a work copy in work/ (never overwrites)
//! cargo lab check STEP [TARGET] [--all] [--beyond] [--strace]
//! cargo lab watch [STEP]               check the work copy again on every save
//! cargo lab hint STEP                  the hint for the first failing check
//! ```
//!
//! STEP is `1`, `01`, `step01` or `step01-open-port`. TARGET is nothing (the work
//! copy), `--c FILE`, `--c DIR` (every `.c` file in it, one line each), `--rust DIR`,
//! `--reference`, or `-- CMD ARGS…` (any language; the checker appends the C
//! originals' flags, e.g. `-p PORT`). Exit codes: 0 every check passed, 1 one
//! failed, 64 a usage error. The checks live in the `tests`
//! library (`tests/src/lab/`), where `cargo test` also runs them against the
//! references. SPEC.md, "Exercises and the checker", is the contract.
//!
//! Work copies go to `work/` in this workspace, or in the one `LAB_ROOT` names (the
//! tests point it at a scratch folder, so they never touch a student's `work/`).

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tests::lab::report::{write_line, Line, Style};
use tests::lab::runner::{self, Options};
use tests::lab::target::TargetError;
use tests::lab::workcopy::{self, Lang};
use tests::lab::{batch, progress, watch};
use tests::lab::{Outcome, Step, Target};

const EXIT_CODES: &str = "\
Without a command: your progress over every step, and the command to type next.

Exit codes:
  0   every check passed (skipped ones aside)
  1   a check failed (the compiler failing included)
  64  usage error (unknown step, missing file)";

/// Check your solutions to the lecture's exercises, check by check.
#[derive(Parser)]
#[command(name = "cargo lab", bin_name = "cargo lab", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Copy a step's skeleton into work/STEP-NAME/ (an existing file is never overwritten)
    Start {
        /// 1, 01, step01 or step01-open-port
        step: String,
        /// The C skeleton, exercise.c (the default)
        #[arg(long, conflicts_with = "rust")]
        c: bool,
        /// The Rust skeleton, a Cargo project
        #[arg(long)]
        rust: bool,
    },
    /// Run a step's checks against your work copy or another TARGET
    Check(CheckArgs),
    /// Check your work copy again on every save (Ctrl-C to stop)
    Watch {
        /// 1, 01, step01 or step01-open-port (default: the work copy started last)
        step: Option<String>,
    },
    /// Show the hint for the first failing check of your work copy
    Hint {
        /// 1, 01, step01 or step01-open-port
        step: String,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// 1, 01, step01 or step01-open-port
    step: String,
    /// Check this C file (compiled with cc -std=c11 -Wall -Wextra); a folder: every
    /// .c file in it, one line each (PASSED/TOTAL counts every check)
    #[arg(long = "c", value_name = "FILE|DIR", conflicts_with_all = ["rust", "reference"])]
    c_file: Option<PathBuf>,
    /// Check this Cargo project (built offline)
    #[arg(long, value_name = "DIR", conflicts_with = "reference")]
    rust: Option<PathBuf>,
    /// Check the step's own Rust binary (proves the checks)
    #[arg(long)]
    reference: bool,
    /// Run every check instead of stopping at the first failure
    #[arg(long)]
    all: bool,
    /// Add the checks of what the project does beyond the slides
    #[arg(long)]
    beyond: bool,
    /// Then show its socket calls beside original.c's, under strace (advisory)
    #[arg(long)]
    strace: bool,
    /// Any program, in any language: `-- python3 server.py` (the flags are appended)
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                usage_exit()
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let root = workcopy::root();
    let result = match cli.command {
        None => show_progress(&root),
        Some(Command::Start { step, rust, .. }) => step_named(&step)
            .and_then(|step| start(&root, step, if rust { Lang::Rust } else { Lang::C })),
        Some(Command::Check(args)) => check(&root, &args),
        Some(Command::Watch { step }) => watch(&root, step.as_deref()),
        Some(Command::Hint { step }) => step_named(&step).and_then(|step| hint(&root, step)),
    };
    result.unwrap_or_else(|err| match err {
        TargetError::Usage(message) => {
            eprintln!("error: {message}");
            usage_exit()
        }
        TargetError::Broken(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    })
}

/// EX_USAGE.
fn usage_exit() -> ExitCode {
    ExitCode::from(64)
}

/// A step as typed, or the usage error that lists the spellings.
fn step_named(text: &str) -> Result<&'static Step, TargetError> {
    Step::parse(text).ok_or_else(|| {
        TargetError::Usage(format!(
            "unknown step '{text}': give 1 to 6, as 1, 01, step01 or step01-open-port"
        ))
    })
}

/// `path` relative to the workspace root when it is inside it.
fn short(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn start(root: &Path, step: &Step, lang: Lang) -> Result<ExitCode, TargetError> {
    let started = workcopy::start(root, step, lang)?;
    let list = |files: &[PathBuf]| {
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("work copy: {}", short(root, &started.main_file));
    if !started.copied.is_empty() {
        println!("copied:    {}", list(&started.copied));
    }
    if !started.kept.is_empty() {
        println!(
            "kept:      {} (already there: never overwritten)",
            list(&started.kept)
        );
    }
    if let Some(task) = &started.first_task {
        println!("first task: {task}");
    }
    println!("then:      cargo lab check {}", step.short());
    Ok(ExitCode::SUCCESS)
}

/// `cargo lab` alone: each step's state and the command to type next.
fn show_progress(root: &Path) -> Result<ExitCode, TargetError> {
    let steps = progress::progress(root);
    progress::write(&mut io::stdout(), &steps, Style::for_stdout())
        .map_err(|e| TargetError::Broken(format!("writing: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo lab watch [STEP]`: without STEP, the work copy started last.
fn watch(root: &Path, step: Option<&str>) -> Result<ExitCode, TargetError> {
    let (step, note) = match step {
        Some(text) => (step_named(text)?, None),
        None => {
            let step = workcopy::latest_started(root).ok_or_else(|| {
                TargetError::Usage(
                    "no work copy yet: make one with `cargo lab start 01` (or `--rust`)".into(),
                )
            })?;
            let others: Vec<String> = workcopy::started(root)
                .iter()
                .filter(|s| s.number != step.number)
                .map(|s| format!("cargo lab watch {}", s.short()))
                .collect();
            let note = (!others.is_empty()).then(|| {
                format!(
                    "{} is the work copy started last; for another: {}",
                    step.name,
                    others.join(", ")
                )
            });
            (step, note)
        }
    };
    if step.checks(false).is_empty() {
        return Err(TargetError::Usage(format!(
            "no checks are written for {} yet",
            step.name
        )));
    }
    // Said now, not on every screen: there must be a work copy to watch.
    workcopy::detect(root, step)?;
    match watch::watch(root, step, note)? {}
}

fn check(root: &Path, args: &CheckArgs) -> Result<ExitCode, TargetError> {
    let step = step_named(&args.step)?;
    let chosen = [
        args.c_file.is_some(),
        args.rust.is_some(),
        args.reference,
        !args.command.is_empty(),
    ];
    if chosen.iter().filter(|&&c| c).count() > 1 {
        return Err(TargetError::Usage(
            "give one TARGET: --c FILE, --rust DIR, --reference or -- CMD".into(),
        ));
    }
    let target = if let Some(dir) = args.c_file.as_ref().filter(|f| f.is_dir()) {
        if args.beyond {
            return Err(TargetError::Usage(
                "--beyond is for one program; a folder's lines count the checks of the slides"
                    .into(),
            ));
        }
        let code = batch::check_all(step, dir, root, &mut io::stdout())?;
        return Ok(ExitCode::from(code));
    } else if let Some(file) = &args.c_file {
        Target::CFile(file.clone())
    } else if let Some(dir) = &args.rust {
        Target::RustDir(dir.clone())
    } else if args.reference {
        Target::Reference
    } else if !args.command.is_empty() {
        Target::Command(args.command.clone())
    } else {
        Target::WorkCopy
    };
    let options = Options {
        all: args.all,
        beyond: args.beyond,
    };
    let summary = run(
        root,
        step,
        &target,
        options,
        &mut io::stdout(),
        Style::for_stdout(),
    )?;
    if args.strace {
        tests::lab::strace::show(step, &target, root, &mut io::stdout())
            .map_err(|e| TargetError::Broken(format!("writing the strace view: {e}")))?;
    }
    Ok(ExitCode::from(summary.exit_code()))
}

/// Run the checks, keeping the result when the work copy was checked.
fn run(
    root: &Path,
    step: &'static Step,
    target: &Target,
    options: Options,
    out: &mut dyn Write,
    style: Style,
) -> Result<runner::Summary, TargetError> {
    if step.checks(options.beyond).is_empty() {
        return Err(TargetError::Usage(format!(
            "no checks are written for {} yet",
            step.name
        )));
    }
    let summary = runner::check(step, target, root, options, out, style)?;
    if *target == Target::WorkCopy {
        if let Err(e) = workcopy::save_result(root, step, &summary.stored()) {
            eprintln!("warning: cannot keep the result in work/.lab/: {e}");
        }
    }
    Ok(summary)
}

/// `cargo lab hint STEP`: check the work copy quietly, then show where it stands,
/// the first failing check with its hint, and what to type next.
fn hint(root: &Path, step: &'static Step) -> Result<ExitCode, TargetError> {
    let mut quiet = Vec::new();
    let summary = run(
        root,
        step,
        &Target::WorkCopy,
        Options::default(),
        &mut quiet,
        Style::plain(),
    )?;
    let counted: Vec<_> = summary.results.iter().filter(|(_, b, _)| !b).collect();
    let passed = counted
        .iter()
        .filter(|(_, _, o)| matches!(o, Some(Outcome::Passed)))
        .count();
    let standing = format!(
        "{}: {passed} of {} checks pass on {}",
        step.name,
        counted.len(),
        summary.label
    );
    let write_error = |e: io::Error| TargetError::Broken(format!("writing: {e}"));
    let mut stdout = io::stdout();
    let Some((id, failure)) = summary.first_failure() else {
        let skipped: Vec<_> = counted
            .iter()
            .filter_map(|(id, _, o)| match o {
                Some(Outcome::Skipped(skip)) => Some((id, skip)),
                _ => None,
            })
            .collect();
        if skipped.is_empty() {
            println!("{standing}: {}", workcopy::after_done(root, step));
        } else {
            println!("{standing}; none fails, but the step is done only once these run too:");
            for (id, skip) in skipped {
                println!("– {id} skipped ({}): {}", skip.reason, skip.detail);
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    println!("{standing}; the first to fix:");
    let check = step.checks(false).into_iter().find(|c| c.id == id);
    let outcome = Outcome::Failed(Box::new(failure.clone()));
    let line = Line {
        id,
        what: check.map_or("your work copy compiles", |c| c.what),
        slide: check.map(|c| c.slide),
        beyond: false,
        outcome: &outcome,
    };
    write_line(&mut stdout, &line, id.len() + 3, Style::for_stdout()).map_err(write_error)?;
    let nn = step.short();
    println!(
        "then: cargo lab check {nn}   (or leave `cargo lab watch {nn}` running: it checks on every save)"
    );
    Ok(ExitCode::SUCCESS)
}
