//! A byte string that keeps up to [`SmallBytes::INLINE`] bytes in place.
//!
//! Most string literals in rules are short (methods, countries, short
//! hosts and paths). Held inline, such a literal goes from the parser
//! through the type checker to a branch's inline constant without a heap
//! allocation; a longer one is an ordinary vector. The type is the size of
//! a `Vec<u8>`, and equality, order and hashing are those of the bytes,
//! whichever way they are held.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Bytes, inline up to [`SmallBytes::INLINE`] of them, else on the heap.
#[derive(Clone)]
pub struct SmallBytes(Repr);

#[derive(Clone)]
enum Repr {
    /// The length, then the bytes (those past the length are zero).
    Inline(u8, [u8; SmallBytes::INLINE]),
    Heap(Vec<u8>),
}

impl SmallBytes {
    /// The most bytes held without allocating (what fits beside the
    /// length in the size of a `Vec<u8>`).
    pub const INLINE: usize = 15;

    /// A copy of `bytes`, inline when it fits.
    pub fn from_slice(bytes: &[u8]) -> Self {
        if bytes.len() <= Self::INLINE {
            let mut buf = [0u8; Self::INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            SmallBytes(Repr::Inline(bytes.len() as u8, buf))
        } else {
            SmallBytes(Repr::Heap(bytes.to_vec()))
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, buf) => &buf[..usize::from(*len).min(Self::INLINE)],
            Repr::Heap(v) => v,
        }
    }

    /// The bytes as a vector (allocating only when they were inline).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline(..) => self.as_slice().to_vec(),
            Repr::Heap(v) => v,
        }
    }

    /// Whether the bytes are held inline.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(..))
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes(Repr::Inline(0, [0; Self::INLINE]))
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(bytes: &[u8]) -> Self {
        Self::from_slice(bytes)
    }
}

impl From<&str> for SmallBytes {
    fn from(text: &str) -> Self {
        Self::from_slice(text.as_bytes())
    }
}

/// Short vectors move inline (freeing theirs); long ones are kept as they are.
impl From<Vec<u8>> for SmallBytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= Self::INLINE {
            Self::from_slice(&bytes)
        } else {
            SmallBytes(Repr::Heap(bytes))
        }
    }
}

impl From<SmallBytes> for Vec<u8> {
    fn from(bytes: SmallBytes) -> Self {
        bytes.into_vec()
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SmallBytes {}

impl PartialEq<[u8]> for SmallBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for SmallBytes {
    /// As the bytes (like a `Vec<u8>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

/// As a sequence of bytes, like a `Vec<u8>`.
impl Serialize for SmallBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SmallBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<u8>::deserialize(deserializer).map(SmallBytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::SmallBytes;
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    #[test]
    fn it_is_the_size_of_a_vector() {
        assert_eq!(
            std::mem::size_of::<SmallBytes>(),
            std::mem::size_of::<Vec<u8>>()
        );
        assert_eq!(std::mem::size_of::<Option<SmallBytes>>(), 24);
    }

    proptest! {
        /// Whichever way the bytes are held, they read back, compare,
        /// order, hash and serialize as the bytes themselves.
        #[test]
        fn behaves_as_its_bytes(
            a in proptest::collection::vec(any::<u8>(), 0..40),
            b in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let inline_or_not = SmallBytes::from_slice(&a);
            prop_assert_eq!(inline_or_not.is_inline(), a.len() <= SmallBytes::INLINE);
            // The same bytes held on the heap, even when short.
            let heap = SmallBytes(super::Repr::Heap(a.clone()));
            let other = SmallBytes::from(b.clone());
            let hasher = std::hash::RandomState::new();
            for x in [&inline_or_not, &heap] {
                prop_assert_eq!(x.as_slice(), &a[..]);
                prop_assert_eq!(x, &SmallBytes::from(a.clone()));
                prop_assert_eq!(x.cmp(&other), a.cmp(&b));
                prop_assert_eq!(x == &other, a == b);
                prop_assert_eq!(hasher.hash_one(x), hasher.hash_one(&a[..]));
                prop_assert_eq!(format!("{x:?}"), format!("{a:?}"));
                let json = serde_json::to_string(x).unwrap_or_default();
                prop_assert_eq!(&json, &serde_json::to_string(&a).unwrap_or_default());
                let back: SmallBytes = serde_json::from_str(&json).unwrap_or_default();
                prop_assert_eq!(&back, x);
                prop_assert_eq!(x.clone().into_vec(), a.clone());
            }
        }
    }
}
