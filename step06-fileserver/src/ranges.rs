//! Conditional and partial requests: ETags, `If-None-Match`, `If-Modified-Since`
//! (RFC 9110 13.1), `Range` and `If-Range` (RFC 9110 14). Pure functions, table-tested.

use std::fmt::Write;
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

/// More ranges than this in one request are ignored (the whole file is sent): a client
/// asking for thousands of tiny overlapping ranges would make us do thousands of sends.
pub const MAX_RANGES: usize = 16;

/// What a `Range` header asks for, for a file of a given length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// No (usable) Range header: the whole file, 200.
    Whole,
    /// These byte ranges (end exclusive), in the order asked: 206.
    Parts(Vec<Range<u64>>),
    /// Not one byte of them exists: 416.
    Unsatisfiable,
}

/// Parse `Range: bytes=…` for a file of `len` bytes. A header that does not parse, or
/// another unit, is ignored, as RFC 9110 14.2 allows.
pub fn parse_range(header: &str, len: u64) -> Ranges {
    let Some(specs) = header
        .trim()
        .split_once('=')
        .filter(|(unit, _)| unit.trim().eq_ignore_ascii_case("bytes"))
        .map(|(_, specs)| specs)
    else {
        return Ranges::Whole;
    };
    let mut parts = Vec::new();
    let mut count = 0;
    for spec in specs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        count += 1;
        let Some((first, last)) = spec.split_once('-') else {
            return Ranges::Whole;
        };
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
        };
        let range = match (first, last) {
            // "-500": the last 500 bytes.
            ("", suffix) => {
                let Some(n) = number(suffix) else {
                    return Ranges::Whole;
                };
                (n > 0 && len > 0).then(|| len.saturating_sub(n)..len)
            }
            // "500-": from byte 500 to the end.
            (start, "") => {
                let Some(a) = number(start) else {
                    return Ranges::Whole;
                };
                (a < len).then_some(a..len)
            }
            // "500-999": both ends included.
            (start, end) => {
                let (Some(a), Some(b)) = (number(start), number(end)) else {
                    return Ranges::Whole;
                };
                if a > b {
                    return Ranges::Whole;
                }
                (a < len).then(|| a..b.min(len - 1) + 1)
            }
        };
        parts.extend(range);
    }
    if count == 0 || count > MAX_RANGES {
        Ranges::Whole
    } else if parts.is_empty() {
        Ranges::Unsatisfiable
    } else {
        Ranges::Parts(parts)
    }
}

/// The entity tag of a file: its size and modification time, so it changes when the
/// file does (RFC 9110 8.8.3).
pub fn etag(len: u64, modified: SystemTime) -> String {
    let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
    // Room for the longest tag (3 × 16 hex digits): format! would start small and grow
    // it twice (2 reallocations a response).
    let mut tag = String::with_capacity(56);
    let _ = write!(
        tag,
        "\"{len:x}-{:x}-{:x}\"",
        since.as_secs(),
        since.subsec_nanos()
    );
    tag
}

/// `modified` cut to whole seconds, as HTTP dates carry it.
fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 304? `If-None-Match` decides when present (weak comparison, `*` matches); otherwise
/// `If-Modified-Since` (not modified after that date). RFC 9110 13.2.2.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    tag: &str,
    modified: SystemTime,
) -> bool {
    if let Some(list) = if_none_match {
        let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
        return list
            .split(',')
            .any(|t| t.trim() == "*" || weak(t) == weak(tag));
    }
    match if_modified_since.and_then(|d| httpdate::parse_http_date(d).ok()) {
        Some(since) => seconds(modified) <= seconds(since),
        None => false,
    }
}

/// Honour `Range`? Only if `If-Range` is absent, or names this very version: the same
/// strong ETag, or exactly its Last-Modified date (RFC 9110 13.1.5).
pub fn range_applies(if_range: Option<&str>, tag: &str, modified: SystemTime) -> bool {
    match if_range.map(str::trim) {
        None => true,
        Some(v) if v.starts_with('"') => v == tag,
        Some(v) if v.starts_with("W/") => false,
        Some(date) => {
            httpdate::parse_http_date(date).is_ok_and(|d| seconds(d) == seconds(modified))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Range rules for a 1000-byte file: header → outcome.
    #[test]
    fn the_rules_for_a_range() {
        let p = |v: &[(u64, u64)]| Ranges::Parts(v.iter().map(|&(a, b)| a..b).collect());
        let table: &[(&str, Ranges)] = &[
            ("bytes=0-499", p(&[(0, 500)])),
            ("bytes=500-", p(&[(500, 1000)])),
            ("bytes=-100", p(&[(900, 1000)])),
            ("bytes=-5000", p(&[(0, 1000)])),
            ("bytes=990-5000", p(&[(990, 1000)])),
            ("bytes=999-999", p(&[(999, 1000)])),
            ("bytes=0-0,-1", p(&[(0, 1), (999, 1000)])),
            ("bytes= 0-9 , 20-29", p(&[(0, 10), (20, 30)])),
            ("BYTES=0-9", p(&[(0, 10)])),
            ("bytes=1000-", Ranges::Unsatisfiable),
            ("bytes=1000-2000", Ranges::Unsatisfiable),
            ("bytes=-0", Ranges::Unsatisfiable),
            ("bytes=1000-,2000-", Ranges::Unsatisfiable),
            ("bytes=5-1", Ranges::Whole),
            ("bytes=a-b", Ranges::Whole),
            ("bytes=0-9,x", Ranges::Whole),
            ("bytes=", Ranges::Whole),
            ("items=0-9", Ranges::Whole),
            ("0-9", Ranges::Whole),
            ("bytes=+1-2", Ranges::Whole),
            ("bytes=99999999999999999999-", Ranges::Whole),
        ];
        for (header, expected) in table {
            assert_eq!(&parse_range(header, 1000), expected, "{header:?}");
        }
        let many: String = (0..=MAX_RANGES).map(|i| format!("{i}-{i},")).collect();
        assert_eq!(parse_range(&format!("bytes={many}"), 1000), Ranges::Whole);
        assert_eq!(parse_range("bytes=0-", 0), Ranges::Unsatisfiable);
    }

    #[test]
    fn conditionals() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 500);
        let tag = etag(42, t);
        let date = httpdate::fmt_http_date(t);
        let earlier = httpdate::fmt_http_date(t - Duration::from_secs(1));
        assert!(not_modified(Some(&tag), None, &tag, t));
        assert!(not_modified(
            Some(&format!("\"x\", W/{tag}")),
            None,
            &tag,
            t
        ));
        assert!(not_modified(Some("*"), None, &tag, t));
        assert!(
            !not_modified(Some("\"other\""), Some(&date), &tag, t),
            "If-None-Match wins"
        );
        assert!(not_modified(None, Some(&date), &tag, t));
        assert!(!not_modified(None, Some(&earlier), &tag, t));
        assert!(!not_modified(None, Some("yesterday"), &tag, t));
        assert!(!not_modified(None, None, &tag, t));

        assert!(range_applies(None, &tag, t));
        assert!(range_applies(Some(&tag), &tag, t));
        assert!(!range_applies(Some("\"old\""), &tag, t));
        assert!(!range_applies(Some(&format!("W/{tag}")), &tag, t));
        assert!(range_applies(Some(&date), &tag, t));
        assert!(!range_applies(Some(&earlier), &tag, t));
    }

    #[test]
    fn the_etag_changes_with_size_and_time() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_ne!(etag(1, t), etag(2, t));
        assert_ne!(etag(1, t), etag(1, t + Duration::from_nanos(1)));
        assert!(etag(1, t).starts_with('"') && etag(1, t).ends_with('"'));
    }
}
