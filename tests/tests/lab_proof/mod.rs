//! What the proofs of `cargo lab`'s checks share (lab_step01.rs, lab_step02.rs,
//! lab_step03.rs): run a step's checks against a target and read the outcome; every
//! check passing against a reference; each faulty variant failing the check its
//! header names, with the hint that names its mistake.

// Each test file uses a part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use tests::bins::workspace_root;
use tests::lab::runner::check_to_text;
use tests::lab::workcopy;
use tests::lab::{Outcome, Step, Summary, Target};

/// Run every check of `step` (beyond ones included, none stopping the run)
/// against `target`: the summary and the report as printed.
pub fn check(step: &'static Step, target: &Target) -> (Summary, String) {
    check_to_text(step, target, &workcopy::root()).unwrap()
}

/// Every check of `step` ran and passed (none skipped, beyond ones included), or the
/// report says which did not; the report ends saying the step is done.
pub fn assert_all_pass(step: &'static Step, target: &Target) {
    let (summary, report) = check(step, target);
    let ids: Vec<&str> = summary
        .results
        .iter()
        .map(|(id, _, _)| id.as_str())
        .collect();
    let expected: Vec<&str> = step.checks(true).iter().map(|c| c.id).collect();
    assert_eq!(ids, expected, "every check of {} ran:\n{report}", step.name);
    for (id, _, outcome) in &summary.results {
        assert_eq!(outcome.as_ref(), Some(&Outcome::Passed), "{id}:\n{report}");
    }
    assert_eq!(summary.exit_code(), 0);
    let last = report.lines().last().unwrap_or_default();
    assert!(last.starts_with("step done"), "{report}");
}

/// A faulty variant in `tests/lab/faulty/`, and what its report must say.
pub struct Faulty {
    /// Its file name.
    pub file: &'static str,
    /// Words of the hint of the check its header names: the mistake, by name.
    pub hint: &'static str,
    /// The other checks the same mistake fails, each with words of its hint; any
    /// other check must pass (one mistake, no unrelated red line).
    pub also: &'static [(&'static str, &'static str)],
}

/// The faulty variants of step `NN`: `tests/lab/faulty/stepNN-*.c`, sorted.
pub fn faulty_files(step: &Step) -> Vec<PathBuf> {
    let prefix = format!("step{}-", step.short());
    let dir = workspace_root().join("tests/lab/faulty");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".c")
        })
        .collect();
    files.sort();
    files
}

/// The `Caught by: stepNN/slug` line of a faulty variant's header.
pub fn caught_by(file: &PathBuf) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.starts_with("/* Faulty on purpose: "),
        "{}",
        file.display()
    );
    let line = text.lines().nth(1).unwrap();
    line.trim_start_matches(" * Caught by: ")
        .trim_end_matches(" */")
        .to_string()
}

/// Each faulty variant of `step` (all of them, each described in `variants`) fails
/// the check its header names, first or after the checks in `also`, with its hint
/// (on that check's slide unless the hint points elsewhere); the checks in `also` fail with theirs; every other check
/// passes, beyond ones included.
pub fn assert_faulty_variants(step: &'static Step, variants: &[Faulty]) {
    let files = faulty_files(step);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut described: Vec<&str> = variants.iter().map(|v| v.file).collect();
    described.sort_unstable();
    assert_eq!(names, described, "a description for every variant");
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        let variant = variants.iter().find(|v| v.file == name).unwrap();
        let id = caught_by(file);
        let (summary, report) = check(step, &Target::CFile(file.clone()));
        let context = format!("{}:\n{report}", file.display());
        assert_eq!(summary.exit_code(), 1, "{context}");
        let slide = step
            .checks(false)
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} is no check of {}", step.name))
            .slide;
        let failure = |id: &str| match summary.outcome(id) {
            Some(Outcome::Failed(failure)) => failure.clone(),
            other => panic!("{id} did not fail but {other:?}:\n{context}"),
        };
        let own = failure(&id);
        assert!(own.hint.contains(variant.hint), "{id}: {context}");
        // The hint names the check's slide, or one it points to on purpose.
        let hint_slide = own.slide.unwrap_or(slide);
        assert!(report.contains(&format!("✗ {id} ")), "{context}");
        assert!(
            report.contains(&format!("hint (slide {hint_slide}): {}", own.hint)),
            "{context}"
        );
        for (other, words) in variant.also {
            assert!(failure(other).hint.contains(words), "{other}: {context}");
        }
        let expected: Vec<&str> = std::iter::once(id.as_str())
            .chain(variant.also.iter().map(|(other, _)| *other))
            .collect();
        let not_passed: Vec<&str> = summary
            .results
            .iter()
            .filter(|(_, _, o)| !matches!(o, Some(Outcome::Passed)))
            .map(|(i, _, _)| i.as_str())
            .collect();
        let mut sorted = expected.clone();
        sorted.sort_unstable();
        let mut failed = not_passed.clone();
        failed.sort_unstable();
        assert_eq!(failed, sorted, "only these fail:\n{context}");
        let (first, _) = summary.first_failure().unwrap();
        assert!(expected.contains(&first), "{context}");
    }
}
