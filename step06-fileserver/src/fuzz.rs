//! The fuzz target's body: request parsing, then path resolution, then range parsing,
//! on arbitrary bytes, with the invariants that must hold whatever arrives.
//!
//! `fuzz/fuzz_targets/request.rs` (cargo-fuzz) calls [`exercise`]; the seed corpus in
//! `fuzz/corpus/request/` is replayed by a normal test below, so `cargo test` runs every
//! input the fuzzer ever kept, without a nightly toolchain.

use crate::path;
use crate::ranges::{self, Ranges};
use crate::request::{self, Head, MAX_HEAD};

/// Feed `data` through parsing, path checks and ranges; panic if an invariant breaks.
pub fn exercise(data: &[u8]) {
    match request::parse(data) {
        Head::Complete(req, consumed) => {
            assert!(consumed <= data.len() && consumed <= MAX_HEAD);
            assert!(req.path.starts_with(b"/"), "origin-form after parsing");
            if let Ok(decoded) = path::decode(&req.path) {
                assert!(!decoded.contains(&0), "no NUL after decoding");
                for show_hidden in [false, true] {
                    if let Ok(segments) = path::segments(&decoded, show_hidden) {
                        for segment in segments {
                            assert!(!segment.is_empty() && segment != b"." && segment != b"..");
                            assert!(!segment.contains(&b'/'));
                            assert!(show_hidden || !segment.starts_with(b"."));
                        }
                    }
                }
            }
            if let Some(range) = &req.range {
                // A length taken from the input, so the fuzzer explores it too.
                let len = u64::from(data.len() as u32).wrapping_mul(997);
                if let Ranges::Parts(parts) = ranges::parse_range(range, len) {
                    assert!(!parts.is_empty() && parts.len() <= ranges::MAX_RANGES);
                    for part in parts {
                        assert!(part.start < part.end && part.end <= len);
                    }
                }
            }
            let _ = request::request_line(data).to_string();
        }
        Head::Incomplete => assert!(data.len() <= MAX_HEAD),
        Head::Rejected(_) => {}
    }
}

#[cfg(test)]
mod tests {
    /// Every input of the fuzz corpus, replayed: no panic, no broken invariant.
    #[test]
    fn the_fuzz_corpus_replays_cleanly() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/request");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus is in the tree") {
            let data = std::fs::read(entry.expect("a corpus entry").path()).expect("readable");
            super::exercise(&data);
            count += 1;
        }
        assert!(count >= 20, "only {count} corpus inputs");
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// What cargo-fuzz does, in small: a valid request with parts replaced by
        /// arbitrary bytes, and plain noise. No panic, no broken invariant.
        #[test]
        fn mutated_requests_keep_the_invariants(
            target in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'.'), Just(b'%'), any::<u8>(), Just(b'2'), Just(b'e')], 0..40),
            range in "[-=,0-9a-z ]{0,30}",
            noise in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut request = b"GET /".to_vec();
            request.extend_from_slice(&target);
            request.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nRange: ");
            request.extend_from_slice(range.as_bytes());
            request.extend_from_slice(b"\r\n\r\n");
            super::exercise(&request);
            super::exercise(&noise);
        }
    }
}
