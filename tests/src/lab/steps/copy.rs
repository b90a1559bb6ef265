//! Reading a copied byte stream for the mistake behind it: step02's server copies
//! `recv` to stdout, step03's client copies stdin to the socket and the reply to
//! stdout. Where the copy differs from what was sent tells what went wrong: cut at
//! each NUL byte (`strlen`, `printf("%s")`), stale bytes added (`strlen` on a buffer
//! `recv` did not terminate), only the first chunk (no loop).

use crate::lab::ctx::todo_message;
use crate::lab::report::{quoted, shown};

/// One copy loop, in the words of its calls.
pub struct Copy {
    /// The call that fills the buffer: `recv`, `read`.
    pub read: &'static str,
    /// Where the bytes go: `stdout`, `the server`.
    pub to: &'static str,
    /// The verb for passing them on: `write`, `send`.
    pub pass: &'static str,
    /// The call that passes them on, as it should be written.
    pub call: &'static str,
}

/// The status lines the programs print, which belong on stderr.
const STATUS_LINES: [&str; 4] = [
    "Success!",
    "Connection from",
    "Connection closed",
    "listening on",
];

/// step02's server and step03's reply: `recv`, then `write` to stdout.
pub const RECV_TO_STDOUT: Copy = Copy {
    read: "recv",
    to: "stdout",
    pass: "write",
    call: "write(1, buffer, n)",
};

/// step03 without MESSAGE: `read` from stdin, then send to the server.
pub const STDIN_TO_SERVER: Copy = Copy {
    read: "read",
    to: "the server",
    pass: "send",
    call: "sendall(fd, buffer, &n)",
};

impl Copy {
    /// The likely mistake when `got` arrived for `sent`; `stderr` is the program's.
    pub fn hint(&self, sent: &[u8], got: &[u8], stderr: &[u8]) -> String {
        let Copy {
            read,
            to,
            pass,
            call,
        } = self;
        if let Some((message, _)) = todo_message(&String::from_utf8_lossy(stderr)) {
            return format!(
                "a todo!() is still in the code ({message}): replace it with what the slide shows"
            );
        }
        if got.is_empty() {
            if *to == "stdout" && sent.len() > 2 && contains(stderr, &sent[..sent.len() - 1]) {
                return "the bytes went to stderr: they are data, so write them to stdout (file descriptor 1); stderr is for the status lines".into();
            }
            return format!(
                "nothing reached {to}: after each {read}, {pass} the n bytes it returned to {to}, {call}"
            );
        }
        if let Some(line) = STATUS_LINES
            .iter()
            .find(|line| contains(got, line.as_bytes()) && !contains(sent, line.as_bytes()))
        {
            return format!(
                "{to} has `{line}` in it: status lines go to stderr, fprintf(stderr, …), so that {to} carries only the data"
            );
        }
        if sent.contains(&0) && !got.contains(&0) {
            let printf = if *to == "stdout" {
                ", and not with printf(\"%s\", buffer)"
            } else {
                ""
            };
            return format!(
                "{to} gets nothing from a NUL byte on: {read} does not add a NUL, and the data may contain some; {pass} exactly the n bytes {read} returned, not strlen(buffer) bytes{printf}"
            );
        }
        if got.len() > sent.len() && is_subsequence(sent, got) {
            return format!(
                "{to} got {} bytes more than were sent, left in the buffer by an earlier {read}: {read} does not add a NUL, so strlen(buffer) (or sizeof buffer) is not what arrived; {pass} exactly the n bytes {read} returned",
                got.len() - sent.len()
            );
        }
        if got.len() > sent.len() {
            return format!(
                "{to} got more bytes than were sent: {pass} exactly the n bytes each {read} returned"
            );
        }
        if sent.starts_with(got) {
            return format!(
                "only the first {} of {} bytes reached {to}: {read} again and again until it returns 0, and {pass} what each call returned",
                got.len(),
                sent.len()
            );
        }
        format!(
            "{to} did not get what was sent: {pass} each chunk exactly as {read} returned it, in order, nothing added"
        )
    }
}

/// Data as the report shows it: escaped when short, described when long.
pub fn describe_data(data: &[u8]) -> String {
    if data.len() <= 64 {
        shown(data)
    } else {
        format!("{} random bytes (NULs included)", data.len())
    }
}

/// What came back, against what was sent: escaped when short; when long, its length
/// and where it first differs.
pub fn describe_got(sent: &[u8], got: &[u8]) -> String {
    if got.is_empty() || (sent.len() <= 64 && got.len() <= 200) {
        return shown(got);
    }
    if got == sent {
        return format!("{} bytes, all right", got.len());
    }
    let at = sent
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(sent.len().min(got.len()));
    let window = |bytes: &[u8]| quoted(&bytes[at.min(bytes.len())..(at + 16).min(bytes.len())]);
    format!(
        "{} bytes, the first {at} right; from byte {at}: sent {}, got {}",
        got.len(),
        window(sent),
        window(got)
    )
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// True when every byte of `sent` appears in `got`, in order (others in between).
fn is_subsequence(sent: &[u8], got: &[u8]) -> bool {
    let mut rest = got.iter();
    sent.iter().all(|b| rest.any(|g| g == b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_trace_each_mistake_leaves() {
        let text: &[u8] = b"hello world\n";
        let binary: &[u8] = b"ab\0cd\n";
        let hint = |sent, got, stderr| RECV_TO_STDOUT.hint(sent, got, stderr);
        // strlen on the slides' 5-byte buffer: stale bytes after a short recv.
        assert!(hint(text, b"hello world\norl", b"").contains("strlen(buffer)"));
        // printf("%s") or strlen: cut at the NUL.
        assert!(hint(binary, b"ab\n", b"").contains("from a NUL byte on"));
        assert!(hint(binary, b"ab\nb", b"").contains("from a NUL byte on"));
        assert!(hint(text, b"hello", b"").contains("recv again and again"));
        assert!(hint(text, b"", b"hello world\n").contains("stderr is for"));
        assert!(hint(text, b"", b"").starts_with("nothing reached stdout"));
        assert!(hint(text, b"hello world\nSuccess!\n", b"").contains("status lines go to stderr"));
        assert!(STDIN_TO_SERVER
            .hint(text, b"hello", b"")
            .contains("read again and again"));
    }

    #[test]
    fn a_long_difference_is_located() {
        let got = describe_got(&[1u8; 100], &[1u8; 50]);
        assert!(got.starts_with("50 bytes, the first 50 right"), "{got}");
    }
}
