//! Batch mode, for instructors: `cargo lab check STEP --c DIR` checks every `.c`
//! file in DIR and prints one line each,
//!
//! ```text
//! NAME  stepNN  PASSED/TOTAL  FIRST-FAILED-ID
//! ```
//!
//! (`-` when none failed), then a summary. Every check runs (as with `--all`), so
//! PASSED counts all that pass, not only those before the first failure; TOTAL
//! counts `compiles` and the checks of the slides (beyond ones are not run).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::check::Outcome;
use super::report::Style;
use super::runner::{self, Options};
use super::steps::Step;
use super::target::{Target, TargetError};

/// One program's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The file's name (`alice.c`).
    pub name: String,
    /// Checks passed.
    pub passed: usize,
    /// Checks in all, `compiles` included.
    pub total: usize,
    /// The first check that failed, if any.
    pub first_failed: Option<String>,
    /// Why it could not be checked at all (the line then says so instead).
    pub error: Option<String>,
}

impl Row {
    /// True unless a check failed or the program could not be checked.
    pub fn ok(&self) -> bool {
        self.first_failed.is_none() && self.error.is_none()
    }
}

/// The `.c` files in `dir`, sorted by name.
pub fn c_files(dir: &Path) -> Result<Vec<PathBuf>, TargetError> {
    let entries =
        fs::read_dir(dir).map_err(|e| TargetError::Usage(format!("{}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "c"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(TargetError::Usage(format!(
            "{}: no .c file in this folder",
            dir.display()
        )));
    }
    Ok(files)
}

/// Check every `.c` file in `dir` as a program of `step`, writing a line for each as
/// it is decided, then the summary. Returns the exit code: 1 if any failed.
pub fn check_all(
    step: &'static Step,
    dir: &Path,
    root: &Path,
    out: &mut dyn Write,
) -> Result<u8, TargetError> {
    let files = c_files(dir)?;
    let name_of = |f: &PathBuf| {
        f.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let width = files.iter().map(|f| name_of(f).len()).max().unwrap_or(0);
    let io_error = |e: io::Error| TargetError::Broken(format!("writing the report: {e}"));
    let mut rows = Vec::new();
    for file in &files {
        let row = check_one(step, file, name_of(file), root);
        writeln!(out, "{}", line(&row, step, width)).map_err(io_error)?;
        rows.push(row);
    }
    let failed = rows.iter().filter(|r| !r.ok()).count();
    let programs = if rows.len() == 1 {
        "program"
    } else {
        "programs"
    };
    writeln!(
        out,
        "{} {programs} checked as {}: {} passed every check, {failed} failed",
        rows.len(),
        step.name,
        rows.len() - failed,
    )
    .map_err(io_error)?;
    Ok(u8::from(failed > 0))
}

/// Check one file, the report itself thrown away.
fn check_one(step: &'static Step, file: &Path, name: String, root: &Path) -> Row {
    let total = 1 + step.checks(false).len();
    let options = Options {
        all: true,
        beyond: false,
    };
    let mut report = Vec::new();
    let target = Target::CFile(file.to_path_buf());
    match runner::check(step, &target, root, options, &mut report, Style::plain()) {
        Ok(summary) => {
            let passed = summary
                .results
                .iter()
                .filter(|(_, beyond, o)| !beyond && matches!(o, Some(Outcome::Passed)))
                .count();
            Row {
                name,
                passed,
                total,
                first_failed: summary.first_failure().map(|(id, _)| id.to_string()),
                error: None,
            }
        }
        Err(TargetError::Usage(e) | TargetError::Broken(e)) => Row {
            name,
            passed: 0,
            total,
            first_failed: None,
            error: Some(e),
        },
    }
}

/// `NAME  stepNN  PASSED/TOTAL  FIRST-FAILED-ID`, names padded to `width`.
pub fn line(row: &Row, step: &Step, width: usize) -> String {
    let last = match (&row.error, &row.first_failed) {
        (Some(error), _) => format!("not checked: {error}"),
        (None, Some(id)) => id.clone(),
        (None, None) => "-".into(),
    };
    format!(
        "{:<width$}  step{}  {}/{}  {last}",
        row.name,
        step.short(),
        row.passed,
        row.total,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_name_step_count_and_first_failure() {
        let step = Step::parse("01").unwrap();
        let row = Row {
            name: "good.c".into(),
            passed: 7,
            total: 7,
            first_failed: None,
            error: None,
        };
        assert_eq!(line(&row, step, 8), "good.c    step01  7/7  -");
        let row = Row {
            name: "no-htons.c".into(),
            passed: 6,
            total: 7,
            first_failed: Some("step01/htons".into()),
            error: None,
        };
        assert_eq!(
            line(&row, step, 10),
            "no-htons.c  step01  6/7  step01/htons"
        );
    }
}
