//! The current time as a response's `Date` and the access log print it, formatted once
//! a second, as nginx does: a child answering many requests in one second formats them
//! once (httpdate's formatting and the log's broken-down time and padded numbers were
//! 0.2 µs a request: bench/README.md "step06 and its ceiling").

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// One second's stamps.
#[derive(Debug)]
pub struct Stamps {
    /// Seconds since the epoch they show.
    second: u64,
    /// `Wed, 02 Dec 2026 06:53:12 GMT` (RFC 9110 5.6.7), for `Date`.
    pub http_date: String,
    /// `02/Dec/2026:06:53:12 +0000`, for the Common Log Format.
    pub log: String,
}

thread_local! {
    static NOW: RefCell<Stamps> = const {
        RefCell::new(Stamps { second: u64::MAX, http_date: String::new(), log: String::new() })
    };
}

/// Call `f` with the stamps of the current second.
pub fn with_now<R>(f: impl FnOnce(&Stamps) -> R) -> R {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    NOW.with_borrow_mut(|stamps| {
        if stamps.second != second {
            *stamps = Stamps {
                second,
                http_date: httpdate::fmt_http_date(now),
                log: log_stamp(now),
            };
        }
        f(stamps)
    })
}

/// The Common Log Format's time: `day/Mon/year:hh:mm:ss +0000`.
fn log_stamp(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = step04_respond::protocol::utc(now);
    let month = MONTHS[(t.month as usize).saturating_sub(1) % 12];
    format!(
        "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day, t.year, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_stamps_show_the_same_second() {
        let (date, log) = with_now(|s| (s.http_date.clone(), s.log.clone()));
        // "Wed, 02 Dec 2026 06:53:12 GMT" and "02/Dec/2026:06:53:12 +0000"
        let parts: Vec<&str> = date.split([' ', ',']).filter(|p| !p.is_empty()).collect();
        let expected = format!("{}/{}/{}:{} +0000", parts[1], parts[2], parts[3], parts[4]);
        assert_eq!(log, expected, "{date}");
    }

    #[test]
    fn log_stamps_are_padded() {
        let when = UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 31 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(log_stamp(when), "01/Feb/1970:03:04:05 +0000");
    }
}
