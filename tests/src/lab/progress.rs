//! `cargo lab` with no command: where a student stands in each step, told from the
//! last check of each work copy (kept by `check` in `work/.lab/`), and the command
//! to type next.
//!
//! Nothing is run here: progress is what the last check concluded. A step is done
//! only when every check passed; a skipped one (it could not run on this machine)
//! leaves it in progress, as SPEC says.

use std::io::{self, Write};
use std::path::Path;

use super::report::Style;
use super::runner::COMPILES;
use super::steps::{Step, STEPS};
use super::workcopy;

/// Where a step stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No skeleton to start from (and no work copy).
    NoExercise,
    /// A skeleton (or a work copy), but no checks written yet.
    NoChecks {
        /// A work copy exists.
        started: bool,
    },
    /// No work copy.
    NotStarted,
    /// A work copy, never checked.
    NotChecked,
    /// Checked, and not every check passed.
    InProgress {
        /// Checks that passed.
        passed: usize,
        /// Checks in all (`compiles` included).
        total: usize,
        /// The first check that failed, if one did (else some were skipped or not
        /// run).
        failed: Option<String>,
        /// The checks that were skipped.
        skipped: Vec<String>,
    },
    /// Every check passed.
    Done {
        /// Checks in all (`compiles` included).
        total: usize,
    },
}

/// One step's line of the progress report.
#[derive(Clone)]
pub struct StepProgress {
    /// The step.
    pub step: &'static Step,
    /// Where it stands.
    pub state: State,
    /// A file of the work copy changed after its last check.
    pub edited_since: bool,
}

/// Every step's progress, in order.
pub fn progress(root: &Path) -> Vec<StepProgress> {
    STEPS
        .iter()
        .map(|step| StepProgress {
            step,
            state: state(root, step),
            edited_since: workcopy::edited_since_check(root, step),
        })
        .collect()
}

fn state(root: &Path, step: &'static Step) -> State {
    let checks = step.checks(false);
    let started = workcopy::started(root)
        .iter()
        .any(|s| s.number == step.number);
    if !started && !workcopy::skeleton_dir(root, step).is_dir() {
        return State::NoExercise;
    }
    if checks.is_empty() {
        return State::NoChecks { started };
    }
    if !started {
        return State::NotStarted;
    }
    let Some(stored) = workcopy::load_result(root, step) else {
        return State::NotChecked;
    };
    // Counted against today's checks, so a check added since the last run is not
    // counted as passed.
    let ids: Vec<&str> = std::iter::once(COMPILES)
        .chain(checks.iter().map(|c| c.id))
        .collect();
    let word = |id: &str| {
        stored
            .iter()
            .find(|(stored_id, _)| stored_id == id)
            .map_or("not-run", |(_, word)| word.as_str())
    };
    let passed = ids.iter().filter(|id| word(id) == "passed").count();
    let total = ids.len();
    if passed == total {
        return State::Done { total };
    }
    State::InProgress {
        passed,
        total,
        failed: ids
            .iter()
            .find(|id| word(id) == "failed")
            .map(|id| id.to_string()),
        skipped: ids
            .iter()
            .filter(|id| word(id) == "skipped")
            .map(|id| id.to_string())
            .collect(),
    }
}

/// The command to type next, and why: the first step with an exercise that is
/// not done.
pub fn next_command(steps: &[StepProgress]) -> String {
    for p in steps {
        let nn = p.step.short();
        let work = workcopy_path(p.step);
        match &p.state {
            State::NoExercise | State::NoChecks { .. } | State::Done { .. } => continue,
            State::NotStarted => {
                return format!("cargo lab start {nn}   (the C skeleton; --rust for the Rust one)")
            }
            State::NotChecked => {
                return format!("cargo lab check {nn}   (your work copy is in {work})")
            }
            State::InProgress { failed: None, .. } if p.edited_since => {
                return format!("cargo lab check {nn}   (edited since the last check)")
            }
            State::InProgress {
                failed: None,
                skipped,
                ..
            } => {
                return format!(
                    "cargo lab check {nn}   ({} could not run here; the check says why)",
                    skipped.join(", ")
                )
            }
            State::InProgress {
                failed: Some(id), ..
            } => return format!("cargo lab hint {nn}   (why {id} fails, and what to change)"),
        }
    }
    let unchecked: Vec<String> = steps
        .iter()
        .filter(|p| matches!(p.state, State::NoExercise | State::NoChecks { .. }))
        .map(|p| p.step.short())
        .collect();
    if unchecked.is_empty() {
        "nothing: every exercise is done".into()
    } else {
        format!(
            "nothing: every exercise with checks is done (steps {} have no checks yet)",
            unchecked.join(", ")
        )
    }
}

/// `work/stepNN-name/`, as a student finds it.
fn workcopy_path(step: &Step) -> String {
    format!("work/{}/", step.name)
}

/// The report: one line per step, then the next command.
pub fn write(out: &mut dyn Write, steps: &[StepProgress], style: Style) -> io::Result<()> {
    let width = STEPS.iter().map(|s| s.name.len()).max().unwrap_or(0) + 3;
    writeln!(
        out,
        "Your progress (from the last check of each work copy):"
    )?;
    for p in steps {
        let (mark, text) = describe(p);
        let edited = if p.edited_since && p.state != State::NotChecked {
            " (edited since)"
        } else {
            ""
        };
        writeln!(
            out,
            "  {} {:<width$}{text}{edited}",
            paint_mark(mark, style),
            p.step.name
        )?;
    }
    writeln!(out)?;
    writeln!(out, "next: {}", next_command(steps))?;
    writeln!(out, "(cargo lab --help lists every command)")
}

/// The mark and the words for a step's state.
fn describe(p: &StepProgress) -> (char, String) {
    match &p.state {
        State::NoExercise => (' ', "no exercise yet".into()),
        State::NoChecks { started: false } => (' ', "not started (no checks yet)".into()),
        State::NoChecks { started: true } => (' ', "started (no checks yet)".into()),
        State::NotStarted => (' ', "not started".into()),
        State::NotChecked => (' ', "in progress: not checked yet".into()),
        State::Done { total } => ('✓', format!("done ({total} of {total} checks pass)")),
        State::InProgress {
            passed,
            total,
            failed,
            skipped,
        } => {
            let why = match (failed, skipped.is_empty()) {
                (Some(id), _) => format!(": {id} fails"),
                (None, false) => format!(": skipped here, {}", skipped.join(", ")),
                (None, true) => String::new(),
            };
            let mark = if failed.is_some() { '✗' } else { '–' };
            (
                mark,
                format!("in progress ({passed} of {total} checks pass){why}"),
            )
        }
    }
}

fn paint_mark(mark: char, style: Style) -> String {
    let code = match mark {
        '✓' => "32",
        '✗' => "31",
        '–' => "33",
        _ => return mark.to_string(),
    };
    style.paint(code, &mark.to_string())
}
