//! A student's work copies: `work/stepNN-name/`, made from the step's skeleton in
//! `stepNN-name/exercise/`, never overwritten; and the stored result of their last
//! check (`work/.lab/stepNN-name.result`), from which progress is told
//! ([`super::progress`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::check::Outcome;
use super::steps::{Step, STEPS};
use super::target::{Target, TargetError};
use crate::bins;

/// The workspace `cargo lab` works in: `LAB_ROOT` when set (the tests point it at a
/// scratch copy), else the one this crate belongs to.
pub fn root() -> PathBuf {
    std::env::var_os("LAB_ROOT").map_or_else(bins::workspace_root, PathBuf::from)
}

/// `work/stepNN-name/`.
pub fn work_dir(root: &Path, step: &Step) -> PathBuf {
    root.join("work").join(step.name)
}

/// `stepNN-name/exercise/`: the skeletons.
pub fn skeleton_dir(root: &Path, step: &Step) -> PathBuf {
    root.join(step.name).join("exercise")
}

/// The language of a work copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `exercise.c`.
    C,
    /// `Cargo.toml` and `src/`.
    Rust,
}

/// The files of a skeleton in `lang`, relative to the skeleton folder.
fn skeleton_files(dir: &Path, lang: Lang) -> io::Result<Vec<PathBuf>> {
    match lang {
        Lang::C => Ok(vec![PathBuf::from("exercise.c")]),
        Lang::Rust => {
            let mut files = vec![PathBuf::from("Cargo.toml")];
            let mut stack = vec![PathBuf::from("src")];
            while let Some(rel) = stack.pop() {
                for entry in fs::read_dir(dir.join(&rel))? {
                    let entry = entry?;
                    let rel = rel.join(entry.file_name());
                    if entry.file_type()?.is_dir() {
                        stack.push(rel);
                    } else {
                        files.push(rel);
                    }
                }
            }
            files.sort();
            Ok(files)
        }
    }
}

/// What to say once `step` passes: the command that starts the next exercise, or,
/// when the next step has no skeleton yet, that there is none to start.
pub fn after_done(root: &Path, step: &Step) -> String {
    match step.next() {
        Some(next) if skeleton_dir(root, next).is_dir() => {
            format!("step done, next: cargo lab start {}", next.short())
        }
        Some(_) => "step done; the steps after it have no exercise yet".into(),
        None => "step done: that was the last step".into(),
    }
}

/// What `start` did.
#[derive(Debug)]
pub struct Started {
    /// The work copy's folder.
    pub dir: PathBuf,
    /// The file a student opens first.
    pub main_file: PathBuf,
    /// Files copied now.
    pub copied: Vec<PathBuf>,
    /// Files that were there already and were left alone.
    pub kept: Vec<PathBuf>,
    /// The first `TODO` line of the main file, trimmed.
    pub first_task: Option<String>,
}

/// Copy the skeleton in `lang` into the work copy, leaving every existing file alone.
pub fn start(root: &Path, step: &Step, lang: Lang) -> Result<Started, TargetError> {
    let from = skeleton_dir(root, step);
    let files = skeleton_files(&from, lang)
        .map_err(|e| TargetError::Broken(format!("no skeleton in {}: {e}", from.display())))?;
    let dir = work_dir(root, step);
    let (mut copied, mut kept) = (Vec::new(), Vec::new());
    for rel in &files {
        let (src, dst) = (from.join(rel), dir.join(rel));
        if !src.is_file() {
            return Err(TargetError::Broken(format!(
                "{}: missing from the skeleton",
                src.display()
            )));
        }
        if dst.exists() {
            kept.push(rel.clone());
            continue;
        }
        copy_new(&src, &dst)
            .map_err(|e| TargetError::Broken(format!("copy to {}: {e}", dst.display())))?;
        copied.push(rel.clone());
    }
    let main_file = dir.join(match lang {
        Lang::C => "exercise.c",
        Lang::Rust => "src/main.rs",
    });
    let first_task = fs::read_to_string(&main_file)
        .ok()
        .and_then(|text| first_task(&text));
    Ok(Started {
        dir,
        main_file,
        copied,
        kept,
        first_task,
    })
}

/// The task marked `[1]` (or else the first task) of a skeleton, with its line
/// number: `line 97: TODO (slide 17): [1] make fd a TCP socket for IPv4 (…)`. A C
/// comment of several lines is joined into one.
pub fn first_task(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let is_task = |line: &&str| line.contains("TODO (slide") || line.contains("todo!(\"slide");
    let at = lines
        .iter()
        .position(|line| is_task(line) && line.contains("[1]"))
        .or_else(|| lines.iter().position(is_task))?;
    let mut task = lines[at].trim().trim_start_matches("/*").trim().to_string();
    if lines[at].contains("/*") {
        let mut rest = lines[at + 1..].iter();
        while !task.contains("*/") {
            let Some(more) = rest.next() else { break };
            task.push(' ');
            task.push_str(more.trim().trim_start_matches('*').trim());
        }
        task = task.trim_end_matches("*/").trim().to_string();
    }
    Some(format!("line {}: {task}", at + 1))
}

/// Create `dst` with `src`'s content, failing if `dst` exists (`O_EXCL`: even a file
/// that appears between our look and our write is never overwritten).
fn copy_new(src: &Path, dst: &Path) -> io::Result<()> {
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut input = fs::File::open(src)?;
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)?;
    io::copy(&mut input, &mut output)?;
    Ok(())
}

/// The work copy to check: C if it has `exercise.c`, Rust if it has `Cargo.toml`;
/// when it has both, the one edited last.
pub fn detect(root: &Path, step: &Step) -> Result<Target, TargetError> {
    let dir = work_dir(root, step);
    let c = dir.join("exercise.c");
    let rust = dir.join("Cargo.toml");
    match (c.is_file(), rust.is_file()) {
        (true, false) => Ok(Target::CFile(c)),
        (false, true) => Ok(Target::RustDir(dir)),
        (true, true) => {
            if newest(&dir.join("src")).max(newest(&rust)) > newest(&c) {
                Ok(Target::RustDir(dir))
            } else {
                Ok(Target::CFile(c))
            }
        }
        (false, false) => Err(TargetError::Usage(format!(
            "no work copy in {}: make one with `cargo lab start {}` (or `--rust`)",
            dir.display(),
            step.short()
        ))),
    }
}

/// The steps that have a work copy (a folder in `work/` with `exercise.c` or
/// `Cargo.toml`), in step order.
pub fn started(root: &Path) -> Vec<&'static Step> {
    STEPS
        .iter()
        .filter(|step| {
            let dir = work_dir(root, step);
            dir.join("exercise.c").is_file() || dir.join("Cargo.toml").is_file()
        })
        .collect()
}

/// The work copy started last: the latest folder creation time where the file
/// system records it, else the highest step (students take them in order).
pub fn latest_started(root: &Path) -> Option<&'static Step> {
    started(root).into_iter().max_by_key(|step| {
        let born = fs::metadata(work_dir(root, step))
            .and_then(|m| m.created())
            .ok();
        (born, step.number)
    })
}

/// True when a file of the work copy changed after its last check was kept (the
/// stored result may no longer hold).
pub fn edited_since_check(root: &Path, step: &Step) -> bool {
    let Some(checked) = fs::metadata(result_file(root, step))
        .and_then(|m| m.modified())
        .ok()
    else {
        return false;
    };
    let dir = work_dir(root, step);
    [
        newest(&dir.join("exercise.c")),
        newest(&dir.join("Cargo.toml")),
        newest(&dir.join("src")),
    ]
    .into_iter()
    .flatten()
    .any(|edited| edited > checked)
}

/// True when `path` is one of the files a work copy in `dir` is made of: what a
/// save of the exercise touches (`exercise.c`, `Cargo.toml`, a `.rs` file under
/// `src/`), not an editor's swap or backup file, nor the `Cargo.lock` a build adds.
pub fn is_exercise_file(dir: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(dir) else {
        return false;
    };
    rel == Path::new("exercise.c")
        || rel == Path::new("Cargo.toml")
        || (rel.starts_with("src") && rel.extension().is_some_and(|e| e == "rs"))
}

/// The latest modification time of `path` or, for a folder, of anything in it.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    fs::read_dir(path)
        .ok()?
        .filter_map(|e| newest(&e.ok()?.path()))
        .max()
}

/// Where the last check of a work copy is kept.
pub fn result_file(root: &Path, step: &Step) -> PathBuf {
    root.join("work")
        .join(".lab")
        .join(format!("{}.result", step.name))
}

/// Keep the outcome of a work copy's check: one line per check, `ID OUTCOME`, with
/// `not-run` for the checks after the first failure.
pub fn save_result(
    root: &Path,
    step: &Step,
    lines: &[(String, Option<Outcome>)],
) -> io::Result<()> {
    let path = result_file(root, step);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut text =
        String::from("# cargo lab check: the last result of this work copy (ID OUTCOME)\n");
    for (id, outcome) in lines {
        let word = outcome.as_ref().map_or("not-run", Outcome::word);
        text.push_str(&format!("{id} {word}\n"));
    }
    // Write then rename: a reader (progress, watch) never sees half a file.
    let tmp = path.with_extension("result.tmp");
    fs::write(&tmp, text)?;
    fs::rename(tmp, path)
}

/// The stored result: `(id, outcome word)` per line, or `None` if never checked.
pub fn load_result(root: &Path, step: &Step) -> Option<Vec<(String, String)>> {
    let text = fs::read_to_string(result_file(root, step)).ok()?;
    Some(
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (id, word) = line.split_once(' ')?;
                Some((id.to_string(), word.to_string()))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first task is the one numbered [1], wherever it is, a C comment joined.
    #[test]
    fn the_first_task_is_number_one() {
        let c = "/* the numbered TODOs [1] to [3] */\nint main(void)\n{\n    /* TODO (slide 29): [3] send it all */\n    /* TODO (slide 17): [1] make fd a socket\n     * (if that fails: exit 1) */\n}\n";
        assert_eq!(
            first_task(c).as_deref(),
            Some("line 5: TODO (slide 17): [1] make fd a socket (if that fails: exit 1)")
        );
        let rust =
            "fn main() {\n    let fd: Socket = todo!(\"slide 17: [1] fd: a TCP socket\");\n}\n";
        assert_eq!(
            first_task(rust).as_deref(),
            Some("line 2: let fd: Socket = todo!(\"slide 17: [1] fd: a TCP socket\");")
        );
        let unnumbered = "int main(void)\n{\n    /* TODO (slide 17): create the socket */\n}\n";
        assert_eq!(
            first_task(unnumbered).as_deref(),
            Some("line 3: TODO (slide 17): create the socket")
        );
        assert_eq!(first_task("int main(void) { return 0; }\n"), None);
    }

    /// A save touches the exercise's own files; an editor's swap, backup and test
    /// files and a build's Cargo.lock are not saves (they would re-check forever).
    #[test]
    fn only_the_exercise_files_are_saves() {
        let dir = Path::new("/w/work/step01-open-port");
        for file in ["exercise.c", "Cargo.toml", "src/main.rs", "src/net/mod.rs"] {
            assert!(is_exercise_file(dir, &dir.join(file)), "{file}");
        }
        for file in [
            ".exercise.c.swp",
            "exercise.c~",
            "4913",
            "#exercise.c#",
            "Cargo.lock",
            "src/.main.rs.swp",
            "src/main.rs~",
            "exercise",
        ] {
            assert!(!is_exercise_file(dir, &dir.join(file)), "{file}");
        }
        assert!(!is_exercise_file(
            dir,
            Path::new("/w/work/step02-receive/exercise.c")
        ));
    }
}
