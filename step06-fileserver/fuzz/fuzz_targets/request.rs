//! Fuzz request parsing, path resolution and range parsing together:
//! `cargo +nightly fuzz run request` (from step06-fileserver/). Inputs that find new
//! paths land in corpus/request/, which `cargo test` replays on a stable toolchain.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    step06_fileserver::fuzz::exercise(data);
});
