//! A syslog record as glibc's `syslog(3)` sends it to `/dev/log` (RFC 3164):
//! `<30>Nov 23 22:05:00 step05-daemon[4242]: listening on 0.0.0.0:1234`: the
//! priority, a timestamp, the name `openlog` was given and, with `LOG_PID`, the pid
//! in brackets, then the text.

use crate::lab::report::quoted;

/// The parts of a record a check looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The name (`openlog`'s first argument, else the program's name).
    pub name: String,
    /// The pid in brackets (`LOG_PID`), if any.
    pub pid: Option<i32>,
    /// The text.
    pub text: String,
}

/// Parse a record; `None` for what glibc would not send.
pub fn parse(record: &str) -> Option<Record> {
    let rest = record.strip_prefix('<')?;
    let (priority, rest) = rest.split_once('>')?;
    priority.parse::<u8>().ok()?;
    // "Mmm dd hh:mm:ss ": 16 bytes, all ASCII.
    let rest = rest.get(16..)?;
    let (tag, text) = rest.split_once(": ")?;
    let (name, pid) = match tag.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
        Some((name, pid)) => (name, Some(pid.parse().ok()?)),
        None => (tag, None),
    };
    Some(Record {
        name: name.to_string(),
        pid,
        text: text.trim_end_matches(['\n', '\0']).to_string(),
    })
}

/// Records for a report: `(none)`, or each quoted, the first few.
pub fn shown_all(records: &[String]) -> String {
    const SHOWN: usize = 6;
    if records.is_empty() {
        return "(no record)".into();
    }
    let mut text = records
        .iter()
        .take(SHOWN)
        .map(|r| quoted(r.as_bytes()))
        .collect::<Vec<_>>()
        .join(", ");
    if records.len() > SHOWN {
        text.push_str(&format!(" … ({} more)", records.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_glibc_sends() {
        assert_eq!(
            parse("<30>Nov  3 22:05:00 step05-daemon[4242]: listening on 0.0.0.0:1234"),
            Some(Record {
                name: "step05-daemon".into(),
                pid: Some(4242),
                text: "listening on 0.0.0.0:1234".into(),
            })
        );
        // No LOG_PID, no openlog: the program's name, no pid.
        assert_eq!(
            parse("<14>Nov 23 22:05:00 exercise: Connection from: 127.0.0.1:5000\n"),
            Some(Record {
                name: "exercise".into(),
                pid: None,
                text: "Connection from: 127.0.0.1:5000".into(),
            })
        );
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("<30>short"), None);
    }
}
