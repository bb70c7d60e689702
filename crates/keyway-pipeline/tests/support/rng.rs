//! A small deterministic generator (xorshift64*), shared by the snapshot
//! tests and the `snapshot_cost` example: a fixed seed gives the same
//! sequence on every run, and digests as uniform as HMAC output.

use keyway_core::key_format::KeyDigest;

/// xorshift64*; the seed must not be 0.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A random key digest.
    pub fn digest(&mut self) -> KeyDigest {
        let mut d = [0u8; 32];
        for chunk in d.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        d
    }
}
