//! Matchers: the algorithms predicates, lists and functions test values
//! with, each built once and testing without allocating: hash sets for byte
//! strings, sorted ranges for integers and addresses, `memmem` finders for
//! `contains`, and a linear-time wildcard matcher.

use crate::types::Scalar;
use aho_corasick::AhoCorasick;
use memchr::memmem;
use std::net::IpAddr;

/// Byte-string equality without a library call for short strings (the
/// common case: hosts, methods, paths): length first, then at most two
/// overlapping 8-byte words.
#[inline(always)]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    let word = |s: &[u8], at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    if (8..=16).contains(&n) {
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

/// Membership in sorted, disjoint, inclusive ranges.
#[inline]
pub fn in_ranges<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    // A few ranges: a straight scan beats the branches of a binary search.
    if ranges.len() <= 8 {
        // Without early exit: no branch per range to mispredict.
        return ranges
            .iter()
            .fold(false, |hit, &(lo, hi)| hit | ((lo <= x) & (x <= hi)));
    }
    // The first range whose end is >= x is the only candidate.
    let k = ranges.partition_point(|&(_, hi)| hi < x);
    ranges.get(k).is_some_and(|&(lo, _)| lo <= x)
}

pub use crate::hash::FastHash;

/// Haystacks shorter than this are searched with `memchr` on the needle's
/// first byte; longer ones with the prebuilt `memmem` finder.
const SHORT_HAYSTACK: usize = 64;

/// Whether `finder`'s needle occurs in `hay`. Most values tested in rules
/// (user agents, paths, hosts) are short, where setting up the finder's
/// vector search costs more than the search: there, candidates are found
/// with `memchr` and checked in place. The work stays bounded: at most
/// `SHORT_HAYSTACK` candidates, each compared once.
#[inline]
pub fn contains(finder: &memmem::Finder<'_>, hay: &[u8]) -> bool {
    let needle = finder.needle();
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if hay.len() >= SHORT_HAYSTACK {
        return finder.find(hay).is_some();
    }
    let mut at = 0;
    while let Some(k) = hay.get(at..).and_then(|h| memchr::memchr(first, h)) {
        let start = at + k;
        if hay.get(start + 1..).is_some_and(|t| t.starts_with(rest)) {
            return true;
        }
        at = start + 1;
    }
    false
}

/// A set of byte strings: a hash set, or a slice when small.
#[derive(Clone, Debug)]
pub enum BytesSet {
    /// Up to [`BytesSet::SMALL`] entries: linear scan with a length check first.
    Small(Box<[Box<[u8]>]>),
    /// More entries: hashed, in one buffer.
    Hashed(PackedSet),
}

impl BytesSet {
    /// The most entries a set scans rather than hashes.
    pub const SMALL: usize = 4;

    /// Builds a set from entries, distinct when there are at most
    /// [`BytesSet::SMALL`] (a small set keeps them sorted; a hashed one
    /// drops duplicates).
    pub fn new(items: Vec<Vec<u8>>) -> Self {
        if items.len() <= Self::SMALL {
            let mut boxed: Vec<Box<[u8]>> = items.into_iter().map(Vec::into_boxed_slice).collect();
            boxed.sort_unstable();
            BytesSet::Small(boxed.into_boxed_slice())
        } else {
            BytesSet::Hashed(PackedSet::new(items.iter().map(Vec::as_slice), items.len()))
        }
    }

    /// Builds a set from `count` entries, which may repeat.
    pub fn from_slices<'a>(items: impl Iterator<Item = &'a [u8]> + Clone, count: usize) -> Self {
        if count <= Self::SMALL {
            let mut v: Vec<Vec<u8>> = items.map(<[u8]>::to_vec).collect();
            v.sort_unstable();
            v.dedup();
            return BytesSet::new(v);
        }
        BytesSet::Hashed(PackedSet::new(items, count))
    }

    /// Membership.
    #[inline]
    pub fn contains(&self, b: &[u8]) -> bool {
        match self {
            BytesSet::Small(items) => items.iter().any(|i| bytes_eq(i, b)),
            BytesSet::Hashed(h) => h.contains(b),
        }
    }

    /// Every entry (a small set's sorted; a hashed one's in the order given).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (small, hashed) = match self {
            BytesSet::Small(items) => (Some(items.iter().map(|b| &**b)), None),
            BytesSet::Hashed(h) => (None, Some(h.iter())),
        };
        small
            .into_iter()
            .flatten()
            .chain(hashed.into_iter().flatten())
    }

    /// Bit `min(len, 63)` set for the length of every entry: a value whose
    /// length has no bit is in no set without hashing or comparing it.
    pub fn length_mask(&self) -> u64 {
        self.iter().fold(0, |m, i| m | 1u64 << i.len().min(63))
    }
}

/// Distinct byte strings packed in one buffer, found through an
/// open-addressing table of their indexes: three allocations whatever the
/// number of entries (a million-entry list loads, swaps and frees without
/// a million allocations), and a lookup is one hash and, mostly, one
/// comparison.
#[derive(Clone, Debug, Default)]
pub struct PackedSet {
    bytes: Box<[u8]>,
    /// Where entry `k` ends in `bytes` (it starts where `k - 1` ends).
    ends: Box<[usize]>,
    /// Entry index + 1, 0 for an empty slot; a power of two long, at most
    /// half full, so a probe ends at an empty slot.
    slots: Box<[u32]>,
    /// Per slot, 8 more bits of its entry's hash: most entries that are
    /// not the one looked up are passed over without reading them.
    tags: Box<[u8]>,
    /// `64 - log2(slots.len())`: a hash's top bits are its first slot.
    shift: u32,
}

impl PackedSet {
    /// The set of `items` (about `count` of them), duplicates dropped.
    fn new<'a>(items: impl Iterator<Item = &'a [u8]> + Clone, count: usize) -> PackedSet {
        let want = count.max(1).saturating_mul(2).next_power_of_two();
        let len = want.min(1 << 31);
        let shift = 64 - len.trailing_zeros();
        let total: usize = items.clone().map(<[u8]>::len).sum();
        let mut set = PackedSet {
            bytes: Box::default(),
            ends: Box::default(),
            slots: vec![0u32; len].into_boxed_slice(),
            tags: vec![0u8; len].into_boxed_slice(),
            shift,
        };
        let mut bytes = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(count);
        for item in items {
            // Past the table's half (more items than counted), stop: the
            // caller counted them, so this is never reached.
            if ends.len() >= len / 2 {
                break;
            }
            let (mut at, tag) = set.first_slot(item);
            let fresh = loop {
                match set.slots.get(at).copied() {
                    Some(0) | None => break true,
                    Some(k) => {
                        let k = k as usize - 1;
                        let start = if k == 0 { 0 } else { ends[k - 1] };
                        if bytes.get(start..ends[k]) == Some(item) {
                            break false;
                        }
                    }
                }
                at = (at + 1) & (len - 1);
            };
            if fresh {
                bytes.extend_from_slice(item);
                ends.push(bytes.len());
                if let (Some(slot), Some(t)) = (set.slots.get_mut(at), set.tags.get_mut(at)) {
                    *slot = ends.len() as u32;
                    *t = tag;
                }
            }
        }
        set.bytes = bytes.into_boxed_slice();
        set.ends = ends.into_boxed_slice();
        set
    }

    /// Where `b`'s probe starts, and its tag.
    #[inline]
    fn first_slot(&self, b: &[u8]) -> (usize, u8) {
        use std::hash::BuildHasher;
        let h = crate::hash::FastHash::default().hash_one(b);
        // Mixed, then the top bits (a multiplicative hash's best) for the
        // slot and the 8 below them for the tag.
        let mixed = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (
            (mixed >> self.shift) as usize,
            (mixed >> self.shift.saturating_sub(8)) as u8,
        )
    }

    /// Entry `k`.
    #[inline]
    fn entry(&self, k: usize) -> &[u8] {
        let start = match k.checked_sub(1) {
            Some(j) => self.ends.get(j).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(k).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or_default()
    }

    /// Membership.
    #[inline]
    pub fn contains(&self, b: &[u8]) -> bool {
        let mask = self.slots.len().wrapping_sub(1);
        let (mut at, tag) = self.first_slot(b);
        // At most half the slots are full: the probe meets an empty one.
        for _ in 0..self.slots.len() {
            match self.slots.get(at).copied() {
                Some(0) | None => return false,
                Some(k) => {
                    if self.tags.get(at) == Some(&tag) && bytes_eq(self.entry(k as usize - 1), b) {
                        return true;
                    }
                }
            }
            at = (at + 1) & mask;
        }
        false
    }

    /// The entries, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.ends.len()).map(|k| self.entry(k))
    }
}

/// Address ranges split by family, as integers, for binary search.
#[derive(Clone, Debug, Default)]
pub struct IpRanges {
    v4: Box<[(u32, u32)]>,
    v6: Box<[(u128, u128)]>,
}

impl IpRanges {
    /// Builds from sorted, merged inclusive ranges of one family each.
    pub fn new(ranges: &[(IpAddr, IpAddr)]) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (a, b) in ranges {
            match (a, b) {
                (IpAddr::V4(a), IpAddr::V4(b)) => v4.push((u32::from(*a), u32::from(*b))),
                (IpAddr::V6(a), IpAddr::V6(b)) => v6.push((u128::from(*a), u128::from(*b))),
                _ => {}
            }
        }
        IpRanges {
            v4: v4.into_boxed_slice(),
            v6: v6.into_boxed_slice(),
        }
    }

    /// The IPv4 ranges, as integers.
    pub fn v4(&self) -> &[(u32, u32)] {
        &self.v4
    }

    /// The IPv6 ranges, as integers.
    pub fn v6(&self) -> &[(u128, u128)] {
        &self.v6
    }

    /// Membership of an address scalar (anything else is not a member).
    #[inline]
    pub fn contains_scalar(&self, ip: Scalar<'_>) -> bool {
        match ip {
            Scalar::Ip4(a) => in_ranges(&self.v4, a),
            Scalar::Ip6(a) => in_ranges(&self.v6, a),
            _ => false,
        }
    }
}

/// A wildcard pattern: `*` matches any run of bytes, `\*` a star, `\\` a
/// backslash; the whole value must match. Matching is linear in the value's
/// length times the number of segments (greedy, no backtracking blow-up).
#[derive(Clone, Debug)]
pub struct Wildcard {
    /// Literal segments between stars, lowercased when not strict.
    segments: Vec<Vec<u8>>,
    /// For a pattern that ignores case, a searcher per middle segment (by
    /// segment index; `None` for the others): linear in the value, as
    /// `memmem` is for a strict pattern.
    folded: Vec<Option<AhoCorasick>>,
    /// Case-sensitive.
    pub strict: bool,
    /// The pattern as written (for listings).
    pub source: Vec<u8>,
}

impl Wildcard {
    /// Compiles a pattern (escapes already validated by the checker).
    pub fn new(pattern: &[u8], strict: bool) -> Self {
        let mut segments = vec![Vec::new()];
        let mut k = 0;
        while k < pattern.len() {
            match pattern[k] {
                b'\\' if k + 1 < pattern.len() => {
                    if let Some(s) = segments.last_mut() {
                        s.push(pattern[k + 1]);
                    }
                    k += 2;
                }
                b'*' => {
                    segments.push(Vec::new());
                    k += 1;
                }
                c => {
                    let c = if strict { c } else { c.to_ascii_lowercase() };
                    if let Some(s) = segments.last_mut() {
                        s.push(c);
                    }
                    k += 1;
                }
            }
        }
        let middle = 1..segments.len().saturating_sub(1);
        let folded = segments
            .iter()
            .enumerate()
            .map(|(k, seg)| {
                let searched = !strict && middle.contains(&k) && !seg.is_empty();
                searched
                    .then(|| {
                        AhoCorasick::builder()
                            .ascii_case_insensitive(true)
                            .build([seg])
                            .ok()
                    })
                    .flatten()
            })
            .collect();
        Wildcard {
            segments,
            folded,
            strict,
            source: pattern.to_vec(),
        }
    }

    fn eq_at(&self, hay: &[u8], needle: &[u8]) -> bool {
        if self.strict {
            hay == needle
        } else {
            hay.len() == needle.len()
                && hay
                    .iter()
                    .zip(needle)
                    .all(|(h, n)| h.to_ascii_lowercase() == *n)
        }
    }

    /// Where middle segment `k` first occurs in `hay`.
    fn find(&self, hay: &[u8], k: usize) -> Option<usize> {
        let needle = self.segments.get(k)?;
        if needle.is_empty() {
            return Some(0);
        }
        match self.folded.get(k) {
            Some(Some(ac)) => ac.find(hay).map(|m| m.start()),
            _ if self.strict => memmem::find(hay, needle),
            // Not reached (every such segment has its searcher): the plain scan.
            _ => hay
                .windows(needle.len())
                .position(|w| self.eq_at(w, needle)),
        }
    }

    /// Whether the whole of `value` matches.
    pub fn matches(&self, value: &[u8]) -> bool {
        self.place(value, |_, _| {})
    }

    /// When the whole of `value` matches: the whole span, then the span each
    /// `*` covered (leftmost placement, so earlier stars take the least).
    pub fn captures(&self, value: &[u8]) -> Option<Vec<(usize, usize)>> {
        let mut starts = Vec::with_capacity(self.segments.len());
        if !self.place(value, |k, at| starts.push((k, at))) {
            return None;
        }
        let mut caps = vec![(0, value.len())];
        for w in starts.windows(2) {
            let (k, at) = w[0];
            caps.push((at + self.segments[k].len(), w[1].1));
        }
        Some(caps)
    }

    /// Places every segment; `seen(k, at)` learns where segment `k` starts.
    fn place(&self, value: &[u8], mut seen: impl FnMut(usize, usize)) -> bool {
        let segs = &self.segments;
        if segs.len() == 1 {
            seen(0, 0);
            return self.eq_at(value, &segs[0]);
        }
        let first = &segs[0];
        let last = &segs[segs.len() - 1];
        if value.len() < first.len() + last.len() {
            return false;
        }
        if !self.eq_at(&value[..first.len()], first) {
            return false;
        }
        let tail_start = value.len() - last.len();
        if !self.eq_at(&value[tail_start..], last) {
            return false;
        }
        // Middle segments: leftmost placement is always safe (greedy is optimal
        // when every gap is a `*`).
        seen(0, 0);
        let mut pos = first.len();
        for (k, seg) in segs.iter().enumerate().take(segs.len() - 1).skip(1) {
            match self.find(&value[pos..tail_start], k) {
                Some(at) => {
                    seen(k, pos + at);
                    pos += at + seg.len();
                }
                None => return false,
            }
        }
        seen(segs.len() - 1, tail_start);
        true
    }
}

/// Sorts inclusive ranges and merges overlapping or adjacent ones.
pub fn merge_ranges<T: Ord + Copy>(
    mut v: Vec<(T, T)>,
    succ: impl Fn(T) -> Option<T>,
) -> Vec<(T, T)> {
    v.sort_unstable();
    // In place: `w` ranges are kept, each read range joins the last kept one
    // or becomes the next.
    let mut w = 0;
    for k in 0..v.len() {
        let (lo, hi) = v[k];
        if w > 0 {
            let last = &mut v[w - 1];
            let touches = lo <= last.1 || succ(last.1) == Some(lo);
            // IPv4 never touches IPv6: every v4 sorts first and the last v4 has no successor.
            if touches {
                if hi > last.1 {
                    last.1 = hi;
                }
                continue;
            }
        }
        v[w] = (lo, hi);
        w += 1;
    }
    v.truncate(w);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A byte-string set, small or packed, holds exactly its entries
        /// (repeats, the empty string and prefixes of entries included).
        #[test]
        fn byte_sets_hold_exactly_their_entries(
            items in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 0..40),
            probes in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..5), 0..20),
        ) {
            let set = BytesSet::from_slices(items.iter().map(Vec::as_slice), items.len());
            for p in items.iter().chain(&probes) {
                proptest::prop_assert_eq!(set.contains(p), items.contains(p), "{:?}", p);
            }
            let mut listed: Vec<&[u8]> = set.iter().collect();
            listed.sort_unstable();
            let mut want: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(listed, want);
        }
    }

    proptest::proptest! {
        /// Short and long haystacks (either side of `SHORT_HAYSTACK`), with
        /// needles of every length from empty, agree with a plain search.
        #[test]
        fn contains_agrees_with_a_plain_search(
            hay in proptest::collection::vec(0u8..3, 0..SHORT_HAYSTACK + 40),
            needle in proptest::collection::vec(0u8..3, 0..6),
        ) {
            let finder = memmem::Finder::new(&needle).into_owned();
            let plain = needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle);
            proptest::prop_assert_eq!(contains(&finder, &hay), plain);
        }
    }
}
