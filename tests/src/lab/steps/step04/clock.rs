//! Reading the answer to `TIME`: an RFC 3339 time in UTC (`2026-11-23T22:05:00Z`),
//! turned into seconds since the epoch to compare with the checker's own clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// How a `TIME` answer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// A UTC time (`Z`, or the offset `+00:00`): seconds since the epoch.
    Utc(i64),
    /// A valid time with another offset (local time): its seconds and the offset.
    Offset(i64, i64),
}

/// Seconds since the epoch now, by the checker's clock.
pub fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// Parse `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `None` for anything else. The
/// fraction is allowed (RFC 3339 has it) and ignored; the seconds are those of the
/// time as written, the offset given apart.
pub fn parse(text: &str) -> Option<Stamp> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let punct = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if !punct.iter().all(|&(at, c)| b.get(at) == Some(&c))
        || !matches!(b.get(10), Some(b'T' | b't'))
    {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let digits = b[at..].iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        at += digits;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    match &b[at..] {
        [b'Z' | b'z'] => Some(Stamp::Utc(seconds)),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let offset = num(at + 1, 2)? * 3600 + num(at + 4, 2)? * 60;
            let offset = if *sign == b'-' { -offset } else { offset };
            if offset == 0 {
                Some(Stamp::Utc(seconds))
            } else {
                Some(Stamp::Offset(seconds - offset, offset))
            }
        }
        _ => None,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc_3339_in_utc() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(Stamp::Utc(0)));
        assert_eq!(parse("2000-03-01T00:00:00Z"), Some(Stamp::Utc(951_868_800)));
        assert_eq!(
            parse("2026-11-23T22:05:00Z"),
            Some(Stamp::Utc(1_795_471_500))
        );
        assert_eq!(
            parse("2026-11-23T22:05:00.25Z"),
            Some(Stamp::Utc(1_795_471_500))
        );
        assert_eq!(
            parse("2026-11-23T22:05:00+00:00"),
            Some(Stamp::Utc(1_795_471_500))
        );
    }

    #[test]
    fn tells_local_time_from_utc() {
        assert_eq!(
            parse("2026-11-24T03:35:00+05:30"),
            Some(Stamp::Offset(1_795_471_500, 19_800))
        );
        assert_eq!(
            parse("2026-11-23T17:05:00-05:00"),
            Some(Stamp::Offset(1_795_471_500, -18_000))
        );
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for text in [
            "",
            "2026-11-23 22:05:00",
            "2026-11-23T22:05:00",
            "2026-11-23T22:05Z",
            "2026-13-23T22:05:00Z",
            "2026-11-23T24:05:00Z",
            "Mon Nov 23 22:05:00 2026",
            "1795471500",
            "2026-11-23T22:05:00.Z",
            "2026-11-23T22:05:00Z\r",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}
