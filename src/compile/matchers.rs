//! Pre-built matchers: what a comparison's right side becomes at compile time.
//!
//! Each is built once per program and tests a value without allocating:
//! hash sets for byte strings, sorted ranges with binary search for integers
//! and addresses, `memmem` finders for `contains`, compiled regexes, and a
//! linear-time wildcard matcher.

use crate::check::Order;
use crate::lists::ListHandle;
use crate::value::{Scalar, Val};
use memchr::memmem;
use regex::bytes::Regex;
use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// A predicate over one value; every predicate is false on a missing value.
#[derive(Clone)]
pub enum Pred {
    /// Byte string equal.
    BytesEq(Box<[u8]>),
    /// Byte string ordered against a constant.
    BytesOrd(Order, Box<[u8]>),
    /// Integer equal.
    IntEq(i64),
    /// Integer ordered against a constant.
    IntOrd(Order, i64),
    /// Address equal (IPv4-mapped IPv6 already folded to IPv4).
    IpEq(IpAddr),
    /// Address ordered against a constant of the same family.
    IpOrd(Order, IpAddr),
    /// Byte string starts with (a regex that is an anchored literal).
    StartsWith(Box<[u8]>),
    /// Byte string ends with (a regex that is a literal anchored at the end).
    EndsWith(Box<[u8]>),
    /// Byte string contains.
    Contains(Box<memmem::Finder<'static>>),
    /// Regex search.
    Matches(Arc<Regex>),
    /// Wildcard match.
    Wildcard(Box<Wildcard>),
    /// Byte string in a set.
    BytesSet(BytesSet),
    /// Integer in sorted disjoint inclusive ranges.
    IntRanges(Box<[(i64, i64)]>),
    /// Address in sorted disjoint inclusive ranges.
    IpRanges(IpRanges),
    /// Value in a named list (contents swappable at run time).
    List(ListHandle),
    /// `value & mask != 0`.
    BitAnd(i64),
    /// A predicate several programs of a rule set have, stored once (see
    /// [`Pred::resolved`]); never itself `Shared`.
    Shared(Arc<Pred>),
}

impl Pred {
    /// Tests `v`. Missing and values of another type are false.
    #[inline]
    pub fn test(&self, v: &Val<'_>) -> bool {
        self.test_scalar(v.scalar())
    }

    /// Tests a scalar. Missing and values of another type are false.
    #[inline(always)]
    pub fn test_scalar(&self, v: Scalar<'_>) -> bool {
        match (self, v) {
            (Pred::BytesEq(c), Scalar::Bytes(b)) => bytes_eq(b, c),
            (Pred::BytesOrd(o, c), Scalar::Bytes(b)) => o.holds(b.cmp(&**c)),
            (Pred::IntEq(c), Scalar::Int(n)) => n == *c,
            (Pred::IntOrd(o, c), Scalar::Int(n)) => o.holds(n.cmp(c)),
            (Pred::IpEq(c), s @ (Scalar::Ip4(_) | Scalar::Ip6(_))) => s.as_ip() == Some(*c),
            (Pred::IpOrd(o, c), s @ (Scalar::Ip4(_) | Scalar::Ip6(_))) => match s.as_ip() {
                Some(ip) => ip.is_ipv4() == c.is_ipv4() && o.holds(ip.cmp(c)),
                None => false,
            },
            (Pred::StartsWith(p), Scalar::Bytes(b)) => b.starts_with(p),
            (Pred::EndsWith(p), Scalar::Bytes(b)) => b.ends_with(p),
            (Pred::Contains(f), Scalar::Bytes(b)) => contains(f, b),
            (Pred::Matches(re), Scalar::Bytes(b)) => re.is_match(b),
            (Pred::Wildcard(w), Scalar::Bytes(b)) => w.matches(b),
            (Pred::BytesSet(s), Scalar::Bytes(b)) => s.contains(b),
            (Pred::IntRanges(r), Scalar::Int(n)) => in_ranges(r, n),
            (Pred::IpRanges(r), ip @ (Scalar::Ip4(_) | Scalar::Ip6(_))) => r.contains_scalar(ip),
            (Pred::List(l), v) => l.contains_scalar(v),
            (Pred::BitAnd(m), Scalar::Int(n)) => n & m != 0,
            (Pred::Shared(p), v) => p.test_scalar(v),
            _ => false,
        }
    }
}

/// What a predicate tests, for recognizing the same test in two programs:
/// equal keys test the same thing (a regex by its source).
#[derive(Debug, PartialEq, Eq, Hash)]
pub enum PredKey<'p> {
    /// The predicate's variant (its position in [`Pred`]) and its data.
    Bytes(u8, &'p [u8]),
    /// An ordering against byte strings.
    BytesOrd(Order, &'p [u8]),
    /// Integer data.
    Int(u8, Option<Order>, i64),
    /// Address data.
    Ip(Option<Order>, IpAddr),
    /// A regex by its source.
    Regex(&'p str),
    /// A wildcard by pattern and strictness.
    Wildcard(&'p [u8], bool),
    /// A byte-string set, sorted.
    Set(Vec<&'p [u8]>),
    /// A small byte-string set ([`BytesSet::Small`], sorted): borrowed.
    SmallSet(&'p [Box<[u8]>]),
    /// Integer ranges.
    Ints(&'p [(i64, i64)]),
    /// Address ranges by family.
    Ips(&'p [(u32, u32)], &'p [(u128, u128)]),
    /// A named list.
    List(&'p str),
}

impl Pred {
    /// Moves the predicate out, leaving a placeholder that holds nothing.
    pub(crate) fn take(&mut self) -> Pred {
        std::mem::replace(self, Pred::BitAnd(0))
    }

    /// The predicate itself, through [`Pred::Shared`].
    #[inline(always)]
    pub fn resolved(&self) -> &Pred {
        match self {
            Pred::Shared(p) => p,
            p => p,
        }
    }

    /// Whether two programs holding this predicate would each store its
    /// data on the heap (strings, sets, ranges, searchers): what a rule set
    /// stores once ([`Pred::Shared`]). A regex is shared already.
    pub fn holds_heap_data(&self) -> bool {
        matches!(
            self,
            Pred::BytesEq(_)
                | Pred::BytesOrd(..)
                | Pred::StartsWith(_)
                | Pred::EndsWith(_)
                | Pred::Contains(_)
                | Pred::Wildcard(_)
                | Pred::BytesSet(_)
                | Pred::IntRanges(_)
                | Pred::IpRanges(_)
        )
    }

    /// The key of this predicate (see [`PredKey`]); a shared one's is that
    /// of what it shares.
    pub fn key(&self) -> PredKey<'_> {
        match self {
            Pred::Shared(p) => p.key(),
            Pred::BytesEq(b) => PredKey::Bytes(0, b),
            Pred::StartsWith(b) => PredKey::Bytes(1, b),
            Pred::EndsWith(b) => PredKey::Bytes(2, b),
            Pred::Contains(f) => PredKey::Bytes(3, f.needle()),
            Pred::BytesOrd(o, b) => PredKey::BytesOrd(*o, b),
            Pred::IntEq(n) => PredKey::Int(0, None, *n),
            Pred::IntOrd(o, n) => PredKey::Int(0, Some(*o), *n),
            Pred::BitAnd(m) => PredKey::Int(1, None, *m),
            Pred::IpEq(ip) => PredKey::Ip(None, *ip),
            Pred::IpOrd(o, ip) => PredKey::Ip(Some(*o), *ip),
            Pred::Matches(re) => PredKey::Regex(re.as_str()),
            Pred::Wildcard(w) => PredKey::Wildcard(&w.source, w.strict),
            Pred::BytesSet(BytesSet::Small(items)) => PredKey::SmallSet(items),
            Pred::BytesSet(BytesSet::Hashed(h)) => {
                let mut items: Vec<&[u8]> = h.iter().map(|b| &**b).collect();
                items.sort_unstable();
                PredKey::Set(items)
            }
            Pred::IntRanges(r) => PredKey::Ints(r),
            Pred::IpRanges(r) => PredKey::Ips(&r.v4, &r.v6),
            Pred::List(l) => PredKey::List(l.name()),
        }
    }
}

impl fmt::Debug for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::syntax::QuotedBytes as Q;
        match self {
            Pred::Shared(p) => p.fmt(f),
            Pred::BytesEq(b) => write!(f, "eq {}", Q(b)),
            Pred::BytesOrd(o, b) => write!(f, "{} {}", o.keyword(), Q(b)),
            Pred::IntEq(n) => write!(f, "eq {n}"),
            Pred::IntOrd(o, n) => write!(f, "{} {n}", o.keyword()),
            Pred::IpEq(ip) => write!(f, "eq {ip}"),
            Pred::IpOrd(o, ip) => write!(f, "{} {ip}", o.keyword()),
            Pred::StartsWith(b) => write!(f, "starts_with {}", Q(b)),
            Pred::EndsWith(b) => write!(f, "ends_with {}", Q(b)),
            Pred::Contains(fi) => write!(f, "contains {}", Q(fi.needle())),
            Pred::Matches(re) => write!(f, "matches {:?}", re.as_str()),
            Pred::Wildcard(w) => write!(
                f,
                "{}wildcard {}",
                if w.strict { "strict " } else { "" },
                Q(&w.source)
            ),
            Pred::BytesSet(s) => {
                let mut items: Vec<&[u8]> = match s {
                    BytesSet::Small(v) => v.iter().map(|b| &**b).collect(),
                    BytesSet::Hashed(h) => h.iter().map(|b| &**b).collect(),
                };
                if items.len() > 8 {
                    return write!(f, "in hash-set({} items)", items.len());
                }
                items.sort();
                write!(f, "in {{")?;
                for (k, b) in items.iter().enumerate() {
                    write!(f, "{}{}", if k > 0 { " " } else { "" }, Q(b))?;
                }
                write!(f, "}}")
            }
            Pred::IntRanges(r) => {
                write!(f, "in int-ranges{{")?;
                for (k, (a, b)) in r.iter().enumerate() {
                    let sep = if k > 0 { " " } else { "" };
                    if a == b {
                        write!(f, "{sep}{a}")?
                    } else {
                        write!(f, "{sep}{a}..{b}")?
                    }
                }
                write!(f, "}}")
            }
            Pred::IpRanges(r) => {
                if r.v4.len() + r.v6.len() > 8 {
                    return write!(f, "in ip-ranges(v4: {}, v6: {})", r.v4.len(), r.v6.len());
                }
                write!(f, "in ip-ranges{{")?;
                let v4 =
                    r.v4.iter()
                        .map(|&(a, b)| (IpAddr::V4(a.into()), IpAddr::V4(b.into())));
                let v6 =
                    r.v6.iter()
                        .map(|&(a, b)| (IpAddr::V6(a.into()), IpAddr::V6(b.into())));
                for (k, (a, b)) in v4.chain(v6).enumerate() {
                    let sep = if k > 0 { " " } else { "" };
                    if a == b {
                        write!(f, "{sep}{a}")?
                    } else {
                        write!(f, "{sep}{a}..{b}")?
                    }
                }
                write!(f, "}}")
            }
            Pred::List(l) => write!(f, "in ${}", l.name()),
            Pred::BitAnd(m) => write!(f, "bitwise_and {m:#x}"),
        }
    }
}

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

pub use crate::hash::{FastHash, FastHasher};

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
    /// Up to 4 entries: linear scan with a length check first.
    Small(Box<[Box<[u8]>]>),
    /// More entries: hashed.
    Hashed(HashSet<Box<[u8]>, FastHash>),
}

impl BytesSet {
    /// Builds a set from distinct entries (a small set keeps them sorted).
    pub fn new(items: Vec<Vec<u8>>) -> Self {
        let mut boxed: Vec<Box<[u8]>> = items.into_iter().map(Vec::into_boxed_slice).collect();
        if boxed.len() <= 4 {
            boxed.sort_unstable();
            BytesSet::Small(boxed.into_boxed_slice())
        } else {
            BytesSet::Hashed(boxed.into_iter().collect())
        }
    }

    /// Membership.
    #[inline]
    pub fn contains(&self, b: &[u8]) -> bool {
        match self {
            BytesSet::Small(items) => items.iter().any(|i| bytes_eq(i, b)),
            BytesSet::Hashed(h) => h.contains(b),
        }
    }

    /// Bit `min(len, 63)` set for the length of every entry: a value whose
    /// length has no bit is in no set without hashing or comparing it.
    pub fn length_mask(&self) -> u64 {
        let bit = |b: &[u8]| 1u64 << b.len().min(63);
        match self {
            BytesSet::Small(items) => items.iter().fold(0, |m, i| m | bit(i)),
            BytesSet::Hashed(h) => h.iter().fold(0, |m, i| m | bit(i)),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            BytesSet::Small(i) => i.len(),
            BytesSet::Hashed(h) => h.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// Membership; IPv4-mapped IPv6 is looked up as IPv4.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_scalar(Scalar::ip(ip))
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
        Wildcard {
            segments,
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

    fn find(&self, hay: &[u8], needle: &[u8]) -> Option<usize> {
        if needle.is_empty() {
            return Some(0);
        }
        if self.strict {
            return memmem::find(hay, needle);
        }
        hay.windows(needle.len())
            .position(|w| self.eq_at(w, needle))
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
            match self.find(&value[pos..tail_start], seg) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
