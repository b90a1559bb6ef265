//! Test data: reproducible pseudo-random bytes and their sha256.

use sha2::{Digest, Sha256};

/// `len` pseudo-random bytes from `seed` (xorshift64*): the same every run, so a
/// failure can be replayed, and incompressible, so nothing along the way can cheat.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The sha256 of `data`, as lowercase hex (what `sha256sum` prints).
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
