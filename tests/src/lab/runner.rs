//! Running a step's checks against a target, printing each line as it is decided.
//!
//! The order: `compiles` (for what is compiled), then the step's checks; by default
//! the run stops at the first failure, as a student fixes one thing at a time; `--all`
//! runs them all. Beyond-the-slides checks never stop the run and never change the
//! exit code.

use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::check::{Check, Failure, Outcome};
use super::ctx::Ctx;
use super::report::{write_line, Line, Style};
use super::steps::Step;
use super::target::{prepare, Program, Target, TargetError};
use super::workcopy;

/// `--all` and `--beyond`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Run every check instead of stopping at the first failure.
    pub all: bool,
    /// Add the checks of what the project does beyond the slides.
    pub beyond: bool,
}

/// The id of the check that compiling or building is.
pub const COMPILES: &str = "compiles";

/// What a check run concluded, line by line.
#[derive(Debug, Clone)]
pub struct Summary {
    /// What was checked (the report's name for it).
    pub label: String,
    /// Each check's id, whether it is beyond the slides, and its outcome (`None`:
    /// not run, after the first failure).
    pub results: Vec<(String, bool, Option<Outcome>)>,
}

impl Summary {
    /// The first failed check of the slides (beyond ones aside): id and failure.
    pub fn first_failure(&self) -> Option<(&str, &Failure)> {
        self.results
            .iter()
            .find_map(|(id, beyond, outcome)| match outcome {
                Some(Outcome::Failed(failure)) if !beyond => Some((id.as_str(), failure.as_ref())),
                _ => None,
            })
    }

    /// The outcome of check `id`, if it ran.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.results
            .iter()
            .find(|(i, _, _)| i == id)
            .and_then(|(_, _, o)| o.as_ref())
    }

    /// True when every check of the slides ran and passed (skipped ones aside).
    pub fn passed(&self) -> bool {
        self.results.iter().all(|(_, beyond, outcome)| {
            *beyond || matches!(outcome, Some(Outcome::Passed | Outcome::Skipped(_)))
        })
    }

    /// True when some check was skipped (the step is then not done, whatever passed).
    pub fn skipped(&self) -> bool {
        self.results
            .iter()
            .any(|(_, _, outcome)| matches!(outcome, Some(Outcome::Skipped(_))))
    }

    /// SPEC's exit code: 0 when every check passed (skipped ones aside), else 1.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.passed())
    }

    /// `(id, outcome)` per check, for the stored result.
    pub fn stored(&self) -> Vec<(String, Option<Outcome>)> {
        self.results
            .iter()
            .filter(|(_, beyond, _)| !beyond)
            .map(|(id, _, outcome)| (id.clone(), outcome.clone()))
            .collect()
    }
}

/// Prepare `target` and run `step`'s checks on it, writing the report to `out`.
pub fn check(
    step: &'static Step,
    target: &Target,
    root: &Path,
    options: Options,
    out: &mut dyn Write,
    style: Style,
) -> Result<Summary, TargetError> {
    let prepared = prepare(target, step, root)?;
    let checks = step.checks(options.beyond);
    let width = checks
        .iter()
        .map(|c| c.id.len())
        .chain([COMPILES.len()])
        .max()
        .unwrap_or(0)
        + 3;
    let label = prepared
        .program
        .as_ref()
        .map_or_else(|| target_name(target), |p| p.label.clone());
    let mut summary = Summary {
        label: label.clone(),
        results: Vec::new(),
    };
    let io_error = |e: io::Error| TargetError::Broken(format!("writing the report: {e}"));
    writeln!(out, "{}: checking {label}", step.name).map_err(io_error)?;
    if let Some(build) = &prepared.build {
        let line = Line {
            id: COMPILES,
            what: &build.what,
            slide: None,
            beyond: false,
            outcome: &build.outcome,
        };
        write_line(out, &line, width, style).map_err(io_error)?;
        for warning in build.output.lines().filter(|l| !l.trim().is_empty()) {
            writeln!(out, "    {warning}").map_err(io_error)?;
        }
        summary
            .results
            .push((COMPILES.to_string(), false, Some(build.outcome.clone())));
    }
    let Some(program) = prepared.program else {
        summary.results.extend(not_run(&checks));
        return Ok(summary);
    };
    let mut stopped = false;
    for (i, check) in checks.iter().enumerate() {
        let outcome = run_one(check, step, &program);
        let line = Line {
            id: check.id,
            what: check.what,
            slide: Some(check.slide),
            beyond: check.beyond,
            outcome: &outcome,
        };
        write_line(out, &line, width, style).map_err(io_error)?;
        let failed = matches!(outcome, Outcome::Failed(_)) && !check.beyond;
        summary
            .results
            .push((check.id.to_string(), check.beyond, Some(outcome)));
        if failed && !options.all {
            summary.results.extend(not_run(&checks[i + 1..]));
            stopped = i + 1 < checks.len();
            break;
        }
    }
    if stopped {
        writeln!(
            out,
            "(stopped at the first failure; --all runs every check)"
        )
        .map_err(io_error)?;
    } else if summary.passed() && !summary.skipped() {
        writeln!(out, "{}", workcopy::after_done(root, step)).map_err(io_error)?;
    }
    Ok(summary)
}

/// Run one check against `program` as a program of `step`. A panic in the checker
/// itself (a bug, never the student's) is reported as a failure of that check.
pub fn run_one(check: &Check, step: &'static Step, program: &Program) -> Outcome {
    let ctx = Ctx { step, program };
    catch_unwind(AssertUnwindSafe(|| (check.run)(&ctx)))
        .map(Outcome::from)
        .unwrap_or_else(|_| {
            Outcome::Failed(Box::new(Failure::new(
                "(the checker's own code)",
                "the check runs to a conclusion",
                "the checker panicked (see the message above)",
                "this is a bug in the checker, not in your program: please report it",
            )))
        })
}

fn not_run(checks: &[&Check]) -> Vec<(String, bool, Option<Outcome>)> {
    checks
        .iter()
        .map(|c| (c.id.to_string(), c.beyond, None))
        .collect()
}

/// A target's name before it is prepared.
fn target_name(target: &Target) -> String {
    match target {
        Target::WorkCopy => "the work copy".into(),
        Target::CFile(p) | Target::RustDir(p) | Target::Executable(p) => p.display().to_string(),
        Target::Reference => "the reference".into(),
        Target::COriginal => "original.c".into(),
        Target::Command(argv) => argv
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// [`check`] with the report kept as text instead of printed (for the proofs in
/// `cargo test`): every check runs (`--all`), beyond ones included.
pub fn check_to_text(
    step: &'static Step,
    target: &Target,
    root: &Path,
) -> Result<(Summary, String), TargetError> {
    let mut out = Vec::new();
    let options = Options {
        all: true,
        beyond: true,
    };
    let summary = check(step, target, root, options, &mut out, Style::plain())?;
    Ok((summary, String::from_utf8_lossy(&out).into_owned()))
}
