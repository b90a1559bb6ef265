//! How results are shown: one line per check (`✓`, `✗`, `–`), and under a failure
//! the four lines that make it a lesson (sent, expected, got, hint). The marks are
//! UTF-8 whatever the locale or terminal; colour only on a terminal, and `NO_COLOR`
//! turns it off and changes nothing else.

use std::io::{self, IsTerminal, Write};

use super::check::{Failure, Outcome};

/// Colour or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on the marks.
    pub colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn for_stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: !no_color && io::stdout().is_terminal(),
        }
    }

    /// No colour (files, tests).
    pub fn plain() -> Style {
        Style { colour: false }
    }

    /// `text` in ANSI colour `code` (`"31"` red), or as it is without colour.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// One line of the report: a check (or `compiles`) and how it went.
pub struct Line<'a> {
    /// `step01/htons`, or `compiles`.
    pub id: &'a str,
    /// What it verifies.
    pub what: &'a str,
    /// Its slide (`compiles` has none).
    pub slide: Option<u32>,
    /// A beyond-the-slides check.
    pub beyond: bool,
    /// How it went.
    pub outcome: &'a Outcome,
}

/// Write `line` with ids padded to `width` columns.
pub fn write_line(out: &mut dyn Write, line: &Line, width: usize, style: Style) -> io::Result<()> {
    let beyond = if line.beyond { " (beyond)" } else { "" };
    let slide = line
        .slide
        .map(|n| format!(" (slide {n})"))
        .unwrap_or_default();
    let id = format!("{:<width$}", line.id);
    match line.outcome {
        Outcome::Passed => {
            writeln!(
                out,
                "{} {id}{}{slide}{beyond}",
                style.paint("32", "✓"),
                line.what
            )
        }
        Outcome::Failed(failure) => {
            writeln!(out, "{} {id}{}{beyond}", style.paint("31", "✗"), line.what)?;
            write_failure(out, failure, failure.slide.or(line.slide))
        }
        Outcome::Skipped(skip) => {
            writeln!(out, "{} {id}{}{beyond}", style.paint("33", "–"), line.what)?;
            writeln!(out, "    – skipped ({}): {}", skip.reason, skip.detail)
        }
    }
}

/// The four lines under a failed check; a value of several lines continues indented
/// under its first line.
pub fn write_failure(out: &mut dyn Write, failure: &Failure, slide: Option<u32>) -> io::Result<()> {
    for (label, value) in [
        ("sent", &failure.sent),
        ("expected", &failure.expected),
        ("got", &failure.got),
    ] {
        let mut lines = value.lines();
        writeln!(out, "    {label:<10}{}", lines.next().unwrap_or(""))?;
        for more in lines {
            writeln!(out, "              {more}")?;
        }
    }
    match slide {
        Some(n) => writeln!(out, "    hint (slide {n}): {}", failure.hint),
        None => writeln!(out, "    hint: {}", failure.hint),
    }
}

/// Bytes as a quoted string with escapes, and their length: `"ab\0cd\n" (6 bytes)`.
/// Long data shows its first 200 bytes and then `…`.
pub fn shown(bytes: &[u8]) -> String {
    let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
    format!("{} ({} {unit})", quoted(bytes), bytes.len())
}

/// Bytes as a quoted string with escapes: printable ASCII as is, `\n` `\r` `\t` `\0`
/// `\\` `\"`, anything else `\xNN`. Cut after 200 bytes with `…`.
pub fn quoted(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let mut text = String::from("\"");
    for &b in bytes.iter().take(MAX) {
        match b {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            0 => text.push_str("\\0"),
            b'\\' => text.push_str("\\\\"),
            b'"' => text.push_str("\\\""),
            0x20..=0x7e => text.push(char::from(b)),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    text.push('"');
    if bytes.len() > MAX {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::check::Skip;

    #[test]
    fn bytes_are_escaped_and_counted() {
        assert_eq!(shown(b"ab\0cd\n"), r#""ab\0cd\n" (6 bytes)"#);
        assert_eq!(shown(b"\xff\"\\\t\r"), r#""\xff\"\\\t\r" (5 bytes)"#);
        assert_eq!(shown(b"x"), r#""x" (1 byte)"#);
        assert!(shown(&[b'a'; 300]).ends_with("\"… (300 bytes)"));
    }

    /// The layout SPEC shows, mark for mark.
    #[test]
    fn lines_look_as_spec_shows() {
        let mut out = Vec::new();
        let passed = Outcome::Passed;
        let line = |id, what, outcome| Line {
            id,
            what,
            slide: Some(31),
            beyond: false,
            outcome,
        };
        write_line(
            &mut out,
            &line(
                "step02/verbatim",
                "every received byte reaches stdout unchanged",
                &passed,
            ),
            21,
            Style::plain(),
        )
        .unwrap();
        let failed = Outcome::Failed(Box::new(Failure::new(
            shown(b"ab\0cd\n"),
            format!("stdout {}", quoted(b"ab\0cd\n")),
            format!("stdout {}", shown(b"ab")),
            "recv does not add a NUL; write exactly the n bytes it returned, not strlen(buffer)",
        )));
        write_line(
            &mut out,
            &line(
                "step02/binary-safe",
                "bytes after a NUL byte reach stdout",
                &failed,
            ),
            21,
            Style::plain(),
        )
        .unwrap();
        let expected = concat!(
            "✓ step02/verbatim      every received byte reaches stdout unchanged (slide 31)\n",
            "✗ step02/binary-safe   bytes after a NUL byte reach stdout\n",
            "    sent      \"ab\\0cd\\n\" (6 bytes)\n",
            "    expected  stdout \"ab\\0cd\\n\"\n",
            "    got       stdout \"ab\" (2 bytes)\n",
            "    hint (slide 31): recv does not add a NUL; write exactly the n bytes it returned, not strlen(buffer)\n",
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn colour_changes_only_the_marks() {
        let skipped = Outcome::Skipped(Skip {
            reason: "needs root".into(),
            detail: "run as root".into(),
        });
        let line = Line {
            id: "step05/syslog",
            what: "records reach syslog",
            slide: Some(38),
            beyond: true,
            outcome: &skipped,
        };
        let (mut plain, mut colour) = (Vec::new(), Vec::new());
        write_line(&mut plain, &line, 16, Style::plain()).unwrap();
        write_line(&mut colour, &line, 16, Style { colour: true }).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        let colour = String::from_utf8(colour).unwrap();
        assert_eq!(colour.replace("\x1b[33m", "").replace("\x1b[0m", ""), plain);
        assert_eq!(
            plain,
            "– step05/syslog   records reach syslog (beyond)\n    – skipped (needs root): run as root\n"
        );
    }
}
