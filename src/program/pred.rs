//! Predicates: what a comparison's right side becomes at compile time, the
//! entries of a program's predicate pool. Each wraps a pre-built matcher
//! (see [`crate::matchers`]) and tests a value without allocating.

use crate::check::Order;
use crate::lists::ListHandle;
use crate::matchers::{BytesSet, IpRanges, Wildcard, bytes_eq, contains, in_ranges};
use crate::types::{Scalar, Val};
use memchr::memmem;
use regex::bytes::Regex;
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

/// `{a b..c ...}`: ranges as a set is written, one member where a range
/// holds one.
fn write_ranges<T: PartialEq + fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    ranges: impl Iterator<Item = (T, T)>,
) -> fmt::Result {
    write!(f, "{{")?;
    for (k, (a, b)) in ranges.enumerate() {
        let sep = if k > 0 { " " } else { "" };
        if a == b {
            write!(f, "{sep}{a}")?
        } else {
            write!(f, "{sep}{a}..{b}")?
        }
    }
    write!(f, "}}")
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
                let mut items: Vec<&[u8]> = h.iter().collect();
                items.sort_unstable();
                PredKey::Set(items)
            }
            Pred::IntRanges(r) => PredKey::Ints(r),
            Pred::IpRanges(r) => PredKey::Ips(r.v4(), r.v6()),
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
                let mut items: Vec<&[u8]> = s.iter().collect();
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
                write!(f, "in int-ranges")?;
                write_ranges(f, r.iter().copied())
            }
            Pred::IpRanges(r) => {
                if r.v4().len() + r.v6().len() > 8 {
                    return write!(
                        f,
                        "in ip-ranges(v4: {}, v6: {})",
                        r.v4().len(),
                        r.v6().len()
                    );
                }
                write!(f, "in ip-ranges")?;
                let v4 = r
                    .v4()
                    .iter()
                    .map(|&(a, b)| (IpAddr::V4(a.into()), IpAddr::V4(b.into())));
                let v6 = r
                    .v6()
                    .iter()
                    .map(|&(a, b)| (IpAddr::V6(a.into()), IpAddr::V6(b.into())));
                write_ranges(f, v4.chain(v6))
            }
            Pred::List(l) => write!(f, "in ${}", l.name()),
            Pred::BitAnd(m) => write!(f, "bitwise_and {m:#x}"),
        }
    }
}
