//! A fast, non-cryptographic hasher for the engine's own tables: the
//! schema's name table, constant pools, byte-string sets and the rule-set
//! index. Their keys are fixed when a schema or a program is built, so a
//! request cannot grow a probe sequence, and SipHash's strength would buy
//! nothing on lookups every compile and many evaluations make.
//! (A multiply-rotate over 8-byte words.)

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher (see the module doc).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash builder of [`FastHasher`].
pub type FastHash = BuildHasherDefault<FastHasher>;
