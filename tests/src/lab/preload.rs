//! Running a program with the send-capping shim (`tests/lab/shim/send-cap.c`), which
//! cuts each `send` on a socket to a few bytes, so a program without a send loop
//! (slide 29) is caught on loopback, where the kernel rarely sends less than asked.
//!
//! `LD_PRELOAD` works through the dynamic loader: a statically linked program never
//! sees the shim, so its check is skipped rather than passed. The shim writes a log,
//! so the check also knows whether it was loaded at all.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::check::Skip;
use super::scratch::Scratch;
use super::target::{find_program, Program};

/// The shim, built by the tests crate's `build.rs`.
pub const SHIM: &str = env!("LAB_SEND_CAP_SHIM");

/// The shim's log for one run: whether it was loaded, which sends it cut.
pub struct ShimLog {
    dir: Scratch,
}

impl ShimLog {
    fn path(&self) -> PathBuf {
        self.dir.path().join("send-cap.log")
    }

    fn lines(&self) -> Vec<String> {
        fs::read_to_string(self.path())
            .map(|text| text.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// True once a process of the program has loaded the shim.
    pub fn loaded(&self) -> bool {
        self.lines().iter().any(|l| l.starts_with("loaded "))
    }

    /// How many sends the shim has cut short.
    pub fn capped(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with("capped "))
            .count()
    }
}

/// `program`, set to run with each send capped at `cap` bytes, and the log to read
/// after; or a skip when the program is statically linked.
pub fn with_send_cap(program: &Program, cap: usize) -> Result<(Program, ShimLog), Skip> {
    let first = program.argv.first().map(PathBuf::from).unwrap_or_default();
    if let Some(path) = find_program(first.as_os_str()) {
        if is_static(&path).unwrap_or(false) {
            return Err(static_skip(&path));
        }
    }
    let dir = Scratch::new("send-cap").map_err(|e| Skip {
        reason: "no temporary folder".into(),
        detail: format!("cannot create one for the shim's log: {e}"),
    })?;
    let log = ShimLog { dir };
    let mut preload = OsString::from(SHIM);
    if let Some(existing) = std::env::var_os("LD_PRELOAD") {
        preload.push(" ");
        preload.push(existing);
    }
    let mut capped = program.clone();
    capped.env.extend([
        ("LD_PRELOAD".into(), preload),
        ("LAB_SEND_CAP".into(), cap.to_string().into()),
        ("LAB_SEND_CAP_LOG".into(), log.path().into_os_string()),
    ]);
    Ok((capped, log))
}

/// The skip for a program the shim cannot reach.
pub fn static_skip(path: &Path) -> Skip {
    Skip {
        reason: "static binary".into(),
        detail: format!(
            "{} is statically linked, so LD_PRELOAD cannot cap its sends; link it dynamically to run this check",
            path.display()
        ),
    }
}

/// True when `path` is an ELF executable without a program interpreter (statically
/// linked), or a script whose interpreter is. Anything else counts as dynamic: the
/// shim's log then tells whether it was really loaded.
pub fn is_static(path: &Path) -> io::Result<bool> {
    let mut head = Vec::new();
    fs::File::open(path)?.take(4096).read_to_end(&mut head)?;
    if let Some(line) = head.strip_prefix(b"#!") {
        let line =
            String::from_utf8_lossy(line.split(|&b| b == b'\n').next().unwrap_or(&[])).into_owned();
        let mut words = line.split_whitespace();
        let mut interpreter = words.next().map(PathBuf::from);
        // `#!/usr/bin/env python3`: the interpreter is python3, found on PATH.
        if interpreter.as_deref().is_some_and(|p| p.ends_with("env")) {
            interpreter = words.next().and_then(|w| find_program(w.as_ref()));
        }
        return match interpreter {
            Some(interpreter) if interpreter != path => is_static(&interpreter),
            _ => Ok(false),
        };
    }
    Ok(elf_has_no_interpreter(&head) == Some(true))
}

/// Some(true) for an ELF file without `PT_INTERP`, Some(false) with one, None when
/// it is not ELF or its program headers are not in the first bytes read.
fn elf_has_no_interpreter(head: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = *head.get(4)? == 2;
    let little = *head.get(5)? == 1;
    let read = |at: usize, len: usize| -> Option<u64> {
        let bytes = head.get(at..at + len)?;
        let mut value = 0u64;
        for i in 0..len {
            let byte = if little { bytes[len - 1 - i] } else { bytes[i] };
            value = (value << 8) | u64::from(byte);
        }
        Some(value)
    };
    let (phoff, phentsize, phnum) = if wide {
        (read(0x20, 8)?, read(0x36, 2)?, read(0x38, 2)?)
    } else {
        (read(0x1c, 4)?, read(0x2a, 2)?, read(0x2c, 2)?)
    };
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize).ok()?;
        if read(at, 4)? == u64::from(PT_INTERP) {
            return Some(false);
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_static_from_dynamic() {
        let me = std::env::current_exe().unwrap();
        assert!(
            !is_static(&me).unwrap(),
            "test binaries are dynamically linked"
        );
        assert!(!is_static(Path::new("/bin/sh")).unwrap());
        assert_eq!(elf_has_no_interpreter(b"#!/bin/sh\n"), None);
    }
}
