//! What a check is, and what it can conclude.
//!
//! A [`Check`] is one fact about a program's behaviour, named for it (`step01/htons`),
//! with the slide that teaches it. Its `run` function drives the program through a
//! [`Ctx`] and concludes with `Ok(())` (passed) or a [`NotPassed`]: a [`Failure`] that
//! says what was sent, what was expected, what came back and what to fix, or a
//! [`Skip`] when the check cannot run here. A misbehaving program is never a panic:
//! every way it can go wrong is a `Failure`.

use super::ctx::Ctx;

/// One check of `cargo lab`.
pub struct Check {
    /// `stepNN/slug`: the step that teaches it, and the fact it checks.
    pub id: &'static str,
    /// The slide a student should read when it fails.
    pub slide: u32,
    /// One line: what a student would say when it passes.
    pub what: &'static str,
    /// True for what the project does beyond the slides: run only with `--beyond`,
    /// marked `(beyond)`, never changes the exit code.
    pub beyond: bool,
    /// The steps whose programs must pass it (its own step, and the later steps
    /// whose programs still do what it checks).
    pub applies_to: &'static [u8],
    /// Drive the program and conclude.
    pub run: fn(&Ctx) -> Result<(), NotPassed>,
}

/// Why a check did not pass.
#[derive(Debug)]
pub enum NotPassed {
    /// The program did something else than the slides say.
    Failed(Box<Failure>),
    /// The check cannot run here (no root, a static binary, …); never a pass.
    Skipped(Skip),
}

impl From<Failure> for NotPassed {
    fn from(failure: Failure) -> NotPassed {
        NotPassed::Failed(Box::new(failure))
    }
}

impl From<Skip> for NotPassed {
    fn from(skip: Skip) -> NotPassed {
        NotPassed::Skipped(skip)
    }
}

/// A failed check, as a lesson in four lines. Bytes in these texts are already
/// escaped and their lengths given ([`super::report::shown`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the checker did: the command it ran, the bytes it sent.
    pub sent: String,
    /// What the slides' program does in return.
    pub expected: String,
    /// What this program did.
    pub got: String,
    /// The likely mistake and what to do, in the slide's words.
    pub hint: String,
    /// The slide the hint points to, when it is not the check's own.
    pub slide: Option<u32>,
}

impl Failure {
    /// A failure whose hint points to the check's own slide.
    pub fn new(
        sent: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
        hint: impl Into<String>,
    ) -> Failure {
        Failure {
            sent: sent.into(),
            expected: expected.into(),
            got: got.into(),
            hint: hint.into(),
            slide: None,
        }
    }

    /// Point the hint to another slide than the check's.
    pub fn on_slide(mut self, slide: u32) -> Failure {
        self.slide = Some(slide);
        self
    }
}

/// A check that cannot run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Short, shown in parentheses: `needs root`, `static binary`.
    pub reason: String,
    /// What would make it run.
    pub detail: String,
}

/// How one check ended, for the report and the stored result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed; the program does not do what the slides say.
    Failed(Box<Failure>),
    /// It could not run here.
    Skipped(Skip),
}

impl From<Result<(), NotPassed>> for Outcome {
    fn from(result: Result<(), NotPassed>) -> Outcome {
        match result {
            Ok(()) => Outcome::Passed,
            Err(NotPassed::Failed(failure)) => Outcome::Failed(failure),
            Err(NotPassed::Skipped(skip)) => Outcome::Skipped(skip),
        }
    }
}

impl Outcome {
    /// The word stored in a result file and shown in progress.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed(_) => "failed",
            Outcome::Skipped(_) => "skipped",
        }
    }
}
