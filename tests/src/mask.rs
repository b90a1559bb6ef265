//! Hide what legitimately differs between two runs (ports, pids) before comparing.

/// Replace every port after an IPv4 address (`127.0.0.1:40312`) with `PORT`.
///
/// ```
/// assert_eq!(
///     tests::mask::ports("Connection from: 127.0.0.1:40312\n"),
///     "Connection from: 127.0.0.1:PORT\n"
/// );
/// ```
pub fn ports(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = ipv4_port_end(bytes, i) {
            let colon = text[i..end].rfind(':').map(|c| i + c).unwrap_or(end);
            out.push_str(&text[i..=colon]);
            out.push_str("PORT");
            i = end;
        } else {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Also replace the address itself: `ADDR:PORT` (for transcripts taken on another
/// interface).
///
/// ```
/// assert_eq!(tests::mask::addresses("listening on 0.0.0.0:1234"), "listening on ADDR:PORT");
/// ```
pub fn addresses(text: &str) -> String {
    let masked = ports(text);
    let bytes = masked.as_bytes();
    let mut out = String::with_capacity(masked.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(len) = dotted_quad_len(&bytes[i..]) {
            if masked[i + len..].starts_with(":PORT") && (i == 0 || !bytes[i - 1].is_ascii_digit())
            {
                out.push_str("ADDR");
                i += len;
                continue;
            }
        }
        let ch = masked[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// If `bytes[start..]` begins with `a.b.c.d:PORT` (and `start` is not mid-number),
/// the index just past the port.
fn ipv4_port_end(bytes: &[u8], start: usize) -> Option<usize> {
    if start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
        return None;
    }
    let len = dotted_quad_len(&bytes[start..])?;
    let mut i = start + len;
    if bytes.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0).then_some(i + digits)
}

/// Length of a leading `a.b.c.d` (1–3 digits each), if any.
fn dotted_quad_len(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    for part in 0..4 {
        let digits = bytes[i..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        i += digits;
        if part < 3 {
            if bytes.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    Some(i)
}

/// Replace the number in every `(pid N)` with `PID`.
///
/// ```
/// assert_eq!(tests::mask::pids("Connection from: x (pid 4242)"), "Connection from: x (pid PID)");
/// ```
pub fn pids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("(pid ") {
        out.push_str(&rest[..at + "(pid ".len()]);
        rest = &rest[at + "(pid ".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        out.push_str(if digits > 0 { "PID" } else { "" });
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_ports_but_not_other_numbers() {
        assert_eq!(
            ports("listening on 0.0.0.0:40312\nConnection from: 127.0.0.1:5\n"),
            "listening on 0.0.0.0:PORT\nConnection from: 127.0.0.1:PORT\n"
        );
        assert_eq!(ports("1.2.3 and 10:20 stay"), "1.2.3 and 10:20 stay");
        assert_eq!(addresses("from 127.0.0.1:80."), "from ADDR:PORT.");
    }
}
