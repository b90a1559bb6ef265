//! Address conversion: `inet_aton`, `inet_addr`, `inet_ntoa` (`inet(3)`, slides 11–14).
//!
//! These accept exactly what glibc accepts, quirks included, because a student who
//! types `127.1` into the C client and into the Rust client must get the same answer:
//!
//! - one to four parts separated by dots: `a.b.c.d`, `a.b.c` (c fills 16 bits),
//!   `a.b` (b fills 24 bits), `a` (32 bits): `127.1` is 127.0.0.1;
//! - each part is a C integer constant: `0x` or `0X` means hex, a leading `0` means
//!   octal (`010.0.0.1` is 8.0.0.1), otherwise decimal;
//! - a part must start with a digit (no sign, no leading space) and fit its field;
//! - after the last part, the string may end or continue with one ASCII whitespace
//!   character, after which glibc stops reading: `"1.2.3.4 anything"` is accepted.

use crate::byteorder::htonl;
use crate::error::CallError;
use crate::sockaddr::{InAddr, INADDR_NONE};

/// Convert dotted notation to an address, glibc's rules (slide 13).
///
/// ```c
/// int inet_aton(const char *cp, struct in_addr *inp);   /* nonzero on success */
/// ```
///
/// See `inet_aton(3)`. Differs from C: returns the address or an error instead of
/// filling `*inp` and returning 0. A Rust string may contain a NUL byte, which a C
/// string cannot (glibc would stop reading there); such a string is rejected.
///
/// # Errors
///
/// [`CallError`] for `inet_aton` with the message `invalid address 'CP'` and exit
/// code 10, the slide's `exit(10)`. `inet_aton` sets no `errno`.
///
/// ```
/// use common::inet::inet_aton;
/// assert_eq!(inet_aton("127.1").unwrap().to_string(), "127.0.0.1");
/// assert_eq!(inet_aton("0x7f.1").unwrap().to_string(), "127.0.0.1");
/// let err = inet_aton("1.2.3.256").unwrap_err();
/// assert_eq!(err.to_string(), "inet_aton: invalid address '1.2.3.256'");
/// assert_eq!(err.exit_code(), 10);
/// ```
pub fn inet_aton(cp: &str) -> Result<InAddr, CallError> {
    parse(cp.as_bytes())
        .map(|s_addr| InAddr { s_addr })
        .ok_or_else(|| CallError::with_message("inet_aton", format!("invalid address '{cp}'")))
}

/// Convert dotted notation to an `in_addr_t`, with the slide's pitfall (slide 11).
///
/// ```c
/// in_addr_t inet_addr(const char *cp);   /* INADDR_NONE on error */
/// ```
///
/// See `inet_addr(3)`. Same rules as [`inet_aton`], but an error comes back as
/// `INADDR_NONE`, which is also the valid address `255.255.255.255`: the caller cannot
/// tell the two apart. That is why the lecture moves on to `inet_aton`.
///
/// # Errors
///
/// None reported: that is the point. Returns `INADDR_NONE` (`u32::MAX`).
///
/// ```
/// use common::inet::inet_addr;
/// assert_eq!(inet_addr("1.2.3.4").to_ne_bytes(), [1, 2, 3, 4]);
/// // An error and a real address look the same:
/// assert_eq!(inet_addr("not an address"), inet_addr("255.255.255.255"));
/// ```
pub fn inet_addr(cp: &str) -> u32 {
    parse(cp.as_bytes()).unwrap_or(INADDR_NONE.s_addr)
}

/// Convert an address to dotted notation (slide 14).
///
/// ```c
/// char *inet_ntoa(struct in_addr in);   /* points into a static buffer */
/// ```
///
/// See `inet_ntoa(3)`. Differs from C: returns an owned `String`. glibc's version
/// returns a pointer into one static buffer that the next call overwrites, so
/// `printf("%s %s", inet_ntoa(a), inet_ntoa(b))` prints the same address twice.
///
/// # Errors
///
/// None: every 32-bit value is an address.
///
/// ```
/// use common::inet::{inet_aton, inet_ntoa};
/// assert_eq!(inet_ntoa(inet_aton("10.0.0.1").unwrap()), "10.0.0.1");
/// ```
pub fn inet_ntoa(addr: InAddr) -> String {
    let [a, b, c, d] = addr.s_addr.to_ne_bytes();
    format!("{a}.{b}.{c}.{d}")
}

/// glibc's `inet_aton_end`, step for step; the address in network byte order.
fn parse(cp: &[u8]) -> Option<u32> {
    // The largest value the last part may take, by how many parts came before it.
    const MAX: [u32; 4] = [0xffff_ffff, 0x00ff_ffff, 0xffff, 0xff];
    if cp.contains(&0) {
        return None;
    }
    let mut parts = [0u8; 4];
    let mut n_parts = 0;
    let mut rest = cp;
    loop {
        // A part must start with a digit: no sign, no space (strtoul would skip those).
        if !rest.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (value, after) = strtoul(rest)?;
        rest = after;
        if rest.first() != Some(&b'.') {
            // Last part: it fills every byte the earlier parts left.
            let ends_well = match rest.first() {
                None => true,
                // After one whitespace character glibc stops reading.
                Some(c) => c.is_ascii() && is_c_space(*c),
            };
            if !ends_well || value > MAX[n_parts] {
                return None;
            }
            let high = u32::from_be_bytes(parts);
            return Some(htonl(high | value));
        }
        // A dotted part is one byte, and at most three come before the last.
        if n_parts > 2 || value > 0xff {
            return None;
        }
        parts[n_parts] = value as u8;
        n_parts += 1;
        rest = &rest[1..];
    }
}

/// `strtoul(s, &end, 0)` for a string that starts with a digit: base from the prefix,
/// `None` if the value does not fit 32 bits (glibc rejects `> 0xffffffff`).
fn strtoul(s: &[u8]) -> Option<(u32, &[u8])> {
    let (radix, digits) = match s {
        // "0x" counts as a prefix only if a hex digit follows; else it is "0" then "x".
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    let len = digits
        .iter()
        .take_while(|c| char::from(**c).is_digit(radix))
        .count();
    let mut value: u64 = 0;
    for &c in &digits[..len] {
        let digit = u64::from(char::from(c).to_digit(radix)?);
        // Past 32 bits it can only be rejected; stop growing once it is too big.
        value = (value * u64::from(radix) + digit).min(u64::from(u32::MAX) + 1);
    }
    let value = u32::try_from(value).ok()?;
    Some((value, &digits[len..]))
}

/// `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ffi::CString;

    // glibc's own functions, the reference (the libc crate does not bind them).
    mod glibc {
        use libc::{c_char, c_int, in_addr, in_addr_t};
        extern "C" {
            pub fn inet_aton(cp: *const c_char, inp: *mut in_addr) -> c_int;
            pub fn inet_addr(cp: *const c_char) -> in_addr_t;
            pub fn inet_ntoa(addr: in_addr) -> *mut c_char;
        }
    }

    /// glibc's own answer for the same string: `Some(s_addr)` or `None`.
    fn glibc_inet_aton(cp: &str) -> Option<u32> {
        let c = CString::new(cp).ok()?;
        let mut addr = libc::in_addr { s_addr: 0 };
        // SAFETY: c is a valid NUL-terminated string; addr is a writable in_addr.
        let ok = unsafe { glibc::inet_aton(c.as_ptr(), &mut addr) };
        (ok != 0).then_some(addr.s_addr)
    }

    fn glibc_inet_addr(cp: &str) -> u32 {
        let c = CString::new(cp).expect("test strings hold no NUL");
        // SAFETY: c is a valid NUL-terminated string.
        unsafe { glibc::inet_addr(c.as_ptr()) }
    }

    fn ours(cp: &str) -> Option<u32> {
        inet_aton(cp).ok().map(|a| a.s_addr)
    }

    /// The rules, one line each: input, and the address glibc gives (None = rejected).
    const TABLE: &[(&str, Option<[u8; 4]>)] = &[
        // four parts
        ("1.2.3.4", Some([1, 2, 3, 4])),
        ("0.0.0.0", Some([0, 0, 0, 0])),
        ("255.255.255.255", Some([255, 255, 255, 255])),
        ("127.0.0.1", Some([127, 0, 0, 1])),
        ("256.0.0.1", None),
        ("1.2.3.256", None),
        ("1.2.3.4.5", None),
        // three parts: the last fills 16 bits
        ("1.2.3", Some([1, 2, 0, 3])),
        ("1.2.65535", Some([1, 2, 255, 255])),
        ("1.2.65536", None),
        ("1.256.3", None),
        // two parts: the last fills 24 bits
        ("127.1", Some([127, 0, 0, 1])),
        ("10.65536", Some([10, 1, 0, 0])),
        ("1.16777215", Some([1, 255, 255, 255])),
        ("1.16777216", None),
        // one part: 32 bits
        ("1", Some([0, 0, 0, 1])),
        ("0", Some([0, 0, 0, 0])),
        ("2130706433", Some([127, 0, 0, 1])),
        ("4294967295", Some([255, 255, 255, 255])),
        ("4294967296", None),
        ("99999999999999999999999", None),
        // octal and hex parts
        ("010.0.0.1", Some([8, 0, 0, 1])),
        ("0377.0.0.1", Some([255, 0, 0, 1])),
        ("0400.0.0.1", None),
        ("08.0.0.1", None),
        ("09", None),
        ("0x7f.1", Some([127, 0, 0, 1])),
        ("0X7F.0.0.0X1", Some([127, 0, 0, 1])),
        ("0xff.0xff.0xff.0xff", Some([255, 255, 255, 255])),
        ("0x100.0.0.1", None),
        ("0x", None),
        ("0x.1.2.3", None),
        ("0xg", None),
        ("0xffffffff", Some([255, 255, 255, 255])),
        ("0x100000000", None),
        ("00000000000000000000001.2.3.4", Some([1, 2, 3, 4])),
        // empty parts, empty string
        ("", None),
        (".", None),
        ("1.", None),
        (".1.2.3", None),
        ("1..2.3", None),
        ("1.2.3.", None),
        // signs and spaces
        ("+1.2.3.4", None),
        ("-1.2.3.4", None),
        ("1.-2.3.4", None),
        (" 1.2.3.4", None),
        ("1.2.3.4 ", Some([1, 2, 3, 4])),
        ("1.2.3.4\t", Some([1, 2, 3, 4])),
        ("1.2.3.4\n", Some([1, 2, 3, 4])),
        ("1.2.3.4 garbage", Some([1, 2, 3, 4])),
        ("1.2.3.4 5", Some([1, 2, 3, 4])),
        ("1.2 .3.4", Some([1, 0, 0, 2])),
        ("1. 2.3.4", None),
        // trailing garbage without a space
        ("1.2.3.4x", None),
        ("1.2.3.4/24", None),
        ("1.2.3.4:80", None),
        ("localhost", None),
        ("a.b.c.d", None),
        ("1.2.3.4\u{e9}", None),
        ("::1", None),
        ("1.2.3.4\0", None),
    ];

    #[test]
    fn the_table_of_rules_holds_for_us_and_for_glibc() {
        assert!(TABLE.len() >= 40);
        for &(input, expected) in TABLE {
            let expected = expected.map(u32::from_ne_bytes);
            assert_eq!(ours(input), expected, "ours, {input:?}");
            if !input.contains('\0') {
                assert_eq!(glibc_inet_aton(input), expected, "glibc, {input:?}");
                assert_eq!(inet_addr(input), glibc_inet_addr(input), "{input:?}");
            }
        }
    }

    #[test]
    fn inet_addr_cannot_tell_an_error_from_broadcast() {
        assert_eq!(inet_addr("255.255.255.255"), INADDR_NONE.s_addr);
        assert_eq!(inet_addr("nonsense"), INADDR_NONE.s_addr);
        assert!(inet_aton("255.255.255.255").is_ok());
        assert!(inet_aton("nonsense").is_err());
    }

    #[test]
    fn inet_ntoa_agrees_with_glibc() {
        for bytes in [
            [0, 0, 0, 0],
            [127, 0, 0, 1],
            [255, 255, 255, 255],
            [10, 20, 30, 40],
        ] {
            let addr = InAddr {
                s_addr: u32::from_ne_bytes(bytes),
            };
            // SAFETY: inet_ntoa returns a pointer to a NUL-terminated static buffer,
            // read at once on this thread.
            let c = unsafe { std::ffi::CStr::from_ptr(glibc::inet_ntoa(addr.into())) };
            assert_eq!(inet_ntoa(addr), c.to_str().unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]

        /// Random strings over the characters that matter: same answer as glibc.
        #[test]
        fn agrees_with_glibc_on_random_strings(cp in "[0-9.xXa-fA-Fg-z \t\n\x0b\x0c\r+-]{0,20}") {
            prop_assert_eq!(ours(&cp), glibc_inet_aton(&cp));
            prop_assert_eq!(inet_addr(&cp), glibc_inet_addr(&cp));
        }

        /// Strings shaped like addresses (so most of them parse): same answer as glibc.
        #[test]
        fn agrees_with_glibc_on_address_shapes(
            parts in proptest::collection::vec("(0[xX]?)?[0-9a-fA-F]{1,10}", 1..6),
            tail in "( [a-z0-9]{0,3}|[a-z.]?)",
        ) {
            let cp = format!("{}{}", parts.join("."), tail);
            prop_assert_eq!(ours(&cp), glibc_inet_aton(&cp));
        }
    }
}
