//! `cargo lab`: check your solutions to the lecture's exercises.
//!
//! ```text
//! cargo lab start STEP [--c|--rust]    make a work copy in work/ (never overwrites)
//! cargo lab check STEP [TARGET] [--all] [--beyond]
//! cargo lab hint STEP                  the hint for the first failing check
//! ```
//!
//! STEP is `1`, `01`, `step01` or `step01-open-port`. TARGET is nothing (the work
//! copy), `--c FILE`, `--rust DIR`, `--reference`, or `-- CMD ARGS…` (any language;
//! the checker appends the C originals' flags, e.g. `-p PORT`). Exit codes: 0 every
//! check passed, 1 one failed, 64 a usage error. The checks live in the `tests`
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
use tests::lab::runner::{self, Options, COMPILES};
use tests::lab::target::TargetError;
use tests::lab::workcopy::{self, Lang};
use tests::lab::{Outcome, Step, Target};

const EXIT_CODES: &str = "\
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
    /// Check this C file (compiled with cc -std=c11 -Wall -Wextra)
    #[arg(long = "c", value_name = "FILE", conflicts_with_all = ["rust", "reference"])]
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
        None => {
            let mut help = <Cli as clap::CommandFactory>::command();
            let _ = help.print_help();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Start { step, rust, .. }) => step_named(&step)
            .and_then(|step| start(&root, step, if rust { Lang::Rust } else { Lang::C })),
        Some(Command::Check(args)) => check(&root, &args),
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
    let target = if let Some(file) = &args.c_file {
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
    let Some((id, failure)) = summary.first_failure() else {
        let next = step.next().map_or_else(
            || "every step is done".to_string(),
            |n| format!("next: cargo lab start {}", n.short()),
        );
        println!("every check of {} passes: step done, {next}", step.name);
        return Ok(ExitCode::SUCCESS);
    };
    let check = step.checks(false).into_iter().find(|c| c.id == id);
    let outcome = Outcome::Failed(Box::new(failure.clone()));
    let line = Line {
        id,
        what: check.map_or(COMPILES, |c| c.what),
        slide: check.map(|c| c.slide),
        beyond: false,
        outcome: &outcome,
    };
    let mut stdout = io::stdout();
    write_line(&mut stdout, &line, id.len() + 3, Style::for_stdout())
        .map_err(|e| TargetError::Broken(format!("writing: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
