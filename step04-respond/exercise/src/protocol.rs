//! The line protocol: one request per line, one reply per request, in order.
//!
//! A request is one line ending in LF or CRLF, at most [`MAX_LINE`] bytes without
//! its line ending. Commands are case-insensitive; every reply is one line ending in
//! CRLF, so `telnet` and `nc` show it well:
//!
//! | request     | reply                                   |
//! |-------------|-----------------------------------------|
//! | `ECHO text` | `text`                                  |
//! | `TIME`      | the current UTC time, RFC 3339          |
//! | `PING`      | `PONG`                                  |
//! | `HELP`      | one line listing the commands           |
//! | `QUIT`      | `BYE`, then the connection closes       |
//! | other       | `ERR unknown command`                   |
//! | too long    | `ERR line too long`, then it closes     |
//!
//! TCP delivers bytes, not lines: one `recv` may hold half a request or ten of them.
//! [`Requests`] keeps the unfinished line between calls. Nothing here does I/O, so the
//! rules can be tested as a table.

use std::time::{SystemTime, UNIX_EPOCH};

/// Longest request line, in bytes, not counting its LF or CRLF.
pub const MAX_LINE: usize = 1024;

/// The one-line answer to `HELP`.
pub const HELP: &str = "commands: ECHO <text>, TIME, PING, HELP, QUIT";

/// What a server with no free child says, before closing (the slides' "Service
/// temporary unavailable", grammar fixed).
pub const BUSY: &[u8] = b"ERR Service temporarily unavailable\r\n";

/// What the conversation does after the replies written so far are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading requests.
    Continue,
    /// Close the connection (after `QUIT`, or a line too long).
    Close,
}

/// The request lines of one connection, assembled from whatever `recv` returns.
#[derive(Debug, Default)]
pub struct Requests {
    /// The current line so far: at most `MAX_LINE` bytes plus a CR.
    line: Vec<u8>,
}

impl Requests {
    /// A connection with nothing received yet.
    pub fn new() -> Requests {
        Requests::default()
    }

    /// Take bytes as they arrived; append the reply to every complete request to
    /// `out`, in order. Stops at `QUIT` or a line too long (the bytes after it are
    /// not requests any more).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Flow {
        for &byte in bytes {
            if byte != b'\n' {
                // MAX_LINE bytes and a CR fit; one more byte cannot become a valid line.
                if self.line.len() == MAX_LINE + 1 {
                    out.extend_from_slice(b"ERR line too long\r\n");
                    return Flow::Close;
                }
                self.line.push(byte);
                continue;
            }
            let flow = self.answer_line(out);
            if flow == Flow::Close {
                return flow;
            }
        }
        Flow::Continue
    }

    /// The client closed its side: an unterminated last line is still a request.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.line.is_empty() {
            self.answer_line(out);
        }
    }

    fn answer_line(&mut self, out: &mut Vec<u8>) -> Flow {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > MAX_LINE {
            out.extend_from_slice(b"ERR line too long\r\n");
            return Flow::Close;
        }
        // Reuse the allocation for the next line.
        let flow = respond(&line, out);
        line.clear();
        self.line = line;
        flow
    }
}

/// Append the reply to one request line (without its line ending) to `out`.
pub fn respond(line: &[u8], out: &mut Vec<u8>) -> Flow {
    let verb_len = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let (verb, rest) = line.split_at(verb_len);
    let is = |name: &str| verb.eq_ignore_ascii_case(name.as_bytes());
    let mut flow = Flow::Continue;
    todo!(
        "slide 51: [4] the reply to this request, by its verb (the table at the top of \
         src/protocol.rs), appended to out; QUIT also sets flow to Flow::Close"
    );
    out.extend_from_slice(b"\r\n");
    flow
}

/// A moment in UTC, broken down as C's `struct tm` is by `gmtime_r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    /// Year, e.g. 2026.
    pub year: u64,
    /// Month, 1–12.
    pub month: u64,
    /// Day of the month, 1–31.
    pub day: u64,
    /// Hour, 0–23.
    pub hour: u64,
    /// Minute, 0–59.
    pub minute: u64,
    /// Second, 0–59.
    pub second: u64,
}

/// `gmtime_r` without a time library: `when` broken down in UTC. A time before 1970
/// (a clock set wrong) shows as the epoch rather than a panic.
pub fn utc(when: SystemTime) -> Utc {
    let secs = when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    Utc {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

/// `2026-11-23T22:05:00Z`: what C gets from `gmtime_r` and
/// `strftime("%Y-%m-%dT%H:%M:%SZ")`.
pub fn rfc3339_utc(when: SystemTime) -> String {
    let t = utc(when);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
/// Howard Hinnant's `civil_from_days` (public domain), for days >= 0.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year, from March 1
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn replies(input: &[u8]) -> (String, Flow) {
        let mut requests = Requests::new();
        let mut out = Vec::new();
        let flow = requests.feed(input, &mut out);
        if flow == Flow::Continue {
            requests.finish(&mut out);
        }
        (String::from_utf8_lossy(&out).into_owned(), flow)
    }

    /// The protocol, one rule a line: request bytes → reply bytes.
    #[test]
    fn the_protocol_table() {
        let table: &[(&[u8], &str)] = &[
            (b"PING\n", "PONG\r\n"),
            (b"PING\r\n", "PONG\r\n"),
            (b"ping\n", "PONG\r\n"),
            (b"pInG\r\n", "PONG\r\n"),
            (b"ECHO hello world\n", "hello world\r\n"),
            (b"echo  two spaces\n", " two spaces\r\n"),
            (b"ECHO\n", "\r\n"),
            (b"ECHO \n", "\r\n"),
            (
                b"HELP\n",
                "commands: ECHO <text>, TIME, PING, HELP, QUIT\r\n",
            ),
            (b"QUIT\n", "BYE\r\n"),
            (b"quit\r\nPING\n", "BYE\r\n"),
            (b"\n", "ERR unknown command\r\n"),
            (b"PINGX\n", "ERR unknown command\r\n"),
            (b"ECHOES x\n", "ERR unknown command\r\n"),
            (b"\x00\xff\n", "ERR unknown command\r\n"),
            (b"PING", "PONG\r\n"),
            (b"ECHO last", "last\r\n"),
            (b"PING\nECHO a\nPING", "PONG\r\na\r\nPONG\r\n"),
        ];
        for (input, expected) in table {
            assert_eq!(
                replies(input).0,
                *expected,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn ten_pipelined_requests_are_answered_in_order() {
        let input: String = (0..10).map(|i| format!("ECHO {i}\r\n")).collect();
        let expected: String = (0..10).map(|i| format!("{i}\r\n")).collect();
        assert_eq!(replies(input.as_bytes()), (expected, Flow::Continue));
    }

    #[test]
    fn line_length_limit_is_1024_bytes_without_the_line_ending() {
        let ok = format!("ECHO {}\r\n", "x".repeat(MAX_LINE - 5));
        assert_eq!(replies(ok.as_bytes()).0.len(), MAX_LINE - 5 + 2);
        let too_long = format!("ECHO {}\n", "x".repeat(MAX_LINE - 4));
        assert_eq!(
            replies(too_long.as_bytes()),
            ("ERR line too long\r\n".into(), Flow::Close)
        );
        // Without any newline: detected as soon as the line cannot be valid.
        let endless = vec![b'a'; 1 << 20];
        assert_eq!(
            replies(&endless),
            ("ERR line too long\r\n".into(), Flow::Close)
        );
        // A CR right at the limit is still fine.
        let mut edge = vec![b'b'; MAX_LINE];
        edge.extend_from_slice(b"\r\n");
        assert_eq!(replies(&edge).0, "ERR unknown command\r\n");
    }

    #[test]
    fn requests_split_across_recv_calls_are_joined() {
        let mut requests = Requests::new();
        let mut out = Vec::new();
        for piece in [&b"PI"[..], b"NG\r", b"\nEC", b"HO x", b"y\n"] {
            assert_eq!(requests.feed(piece, &mut out), Flow::Continue);
        }
        assert_eq!(out, b"PONG\r\nxy\r\n");
    }

    #[test]
    fn time_is_rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_471_500);
        assert_eq!(rfc3339_utc(t), "2026-11-23T22:05:00Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
