//! TEACHING.md, the instructor's guide, stays true: every check it names exists, each
//! step has its section with a demo and a table of three mistakes, and the batch
//! example has the format `cargo lab check STEP --c DIR` prints.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use tests::bins::workspace_root;
use tests::lab::steps::STEPS;

fn guide() -> String {
    std::fs::read_to_string(workspace_root().join("TEACHING.md")).unwrap()
}

/// Every `stepNN/slug` in the guide is a check of the checker: a renamed check
/// cannot leave the guide pointing at nothing.
#[test]
fn every_check_the_guide_names_exists() {
    let text = guide();
    let known: Vec<&str> = STEPS
        .iter()
        .flat_map(|s| s.checks.iter().map(|c| c.id))
        .collect();
    let mut named = 0;
    for word in text.split(|c: char| c == '`' || c.is_whitespace()) {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let is_id =
            word.len() > 7 && word.starts_with("step0") && word.as_bytes().get(6) == Some(&b'/');
        if is_id {
            named += 1;
            assert!(
                known.contains(&word),
                "TEACHING.md names {word}, no such check"
            );
        }
    }
    assert!(
        named >= 18,
        "three mistakes a step, each with its check: {named}"
    );
}

/// One section per step, each with a demo and a table of three mistakes.
#[test]
fn every_step_has_a_demo_and_three_mistakes() {
    let text = guide();
    for step in &STEPS {
        let heading = format!("## Step {:02} ", step.number);
        let start = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no section {heading:?}"));
        let section = &text[start..];
        let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
        let section = &section[..end];
        assert!(section.contains("**Demo"), "{heading}: no demo");
        let rows = section
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(&format!("`step{:02}/", step.number)))
            .count();
        assert_eq!(rows, 3, "{heading}: three mistakes with their checks");
    }
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    assert!(readme.contains("[TEACHING.md](TEACHING.md)"));
}

/// The grading example has the batch format: NAME, stepNN, PASSED/TOTAL, first failure.
#[test]
fn the_grading_example_has_the_batch_format() {
    let text = guide();
    let block = text
        .split("```console\n$ cargo lab check 02 --c submissions/\n")
        .nth(1)
        .unwrap();
    let block = &block[..block.find("```").unwrap()];
    let lines: Vec<&str> = block.lines().collect();
    assert!(lines.len() >= 3, "{block}");
    for line in &lines[..lines.len() - 1] {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 4, "{line}");
        assert!(fields[0].ends_with(".c") && fields[1] == "step02", "{line}");
        let (passed, total) = fields[2].split_once('/').unwrap();
        assert!(passed.parse::<u32>().unwrap() <= total.parse::<u32>().unwrap());
    }
}
