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
            self.add(tail_word(rest) ^ ((rest.len() as u64) << 59));
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

/// The 1 to 7 bytes of `rest` in one word, without a variable-length copy:
/// from 4 bytes on, its first and last four (overlapping); below, its
/// first, middle and last byte. Either way every byte is in it, so two
/// tails of one length give the same word only when they are equal.
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let half = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&rest[at..at + 4]);
            u64::from(u32::from_le_bytes(w))
        };
        half(0) | half(n - 4) << 32
    } else {
        let b = |at: usize| u64::from(rest[at]);
        b(0) | b(n / 2) << 8 | b(n - 1) << 16
    }
}

/// Hash builder of [`FastHasher`].
pub type FastHash = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Two tails of one length share a word only when they are equal.
        #[test]
        fn a_tail_word_tells_tails_of_one_length_apart(
            (a, b) in (1usize..8).prop_flat_map(|n| (
                proptest::collection::vec(any::<u8>(), n),
                proptest::collection::vec(any::<u8>(), n),
            ))
        ) {
            prop_assert_eq!(tail_word(&a) == tail_word(&b), a == b);
        }
    }

    #[test]
    fn every_catalogue_name_hashes_apart() {
        let hash = |s: &str| {
            let mut h = FastHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        let mut seen = std::collections::HashMap::new();
        for (name, _) in crate::catalogue::FIELDS {
            if let Some(other) = seen.insert(hash(name), *name) {
                panic!("`{name}` and `{other}` hash alike");
            }
        }
    }
}
