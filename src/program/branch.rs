//! The branch form of a simple program: the bytecode, once optimized, lowered
//! to a flat list of test-and-branch instructions.
//!
//! Most rules only test fields and combine the results with `and`, `or` and
//! `not`. For them the accumulator, the jumps and the negations of the
//! bytecode are known statically after each test, so the program is
//! equivalent to a decision graph: each [`Branch`] tests one field and names
//! the branch (or the verdict) that follows on each outcome. The VM then runs
//! one typed test per step with no separate jump, `not` or `return`
//! instructions to dispatch, which is what makes the common rule cost a few
//! nanoseconds.
//!
//! Successors always have a higher index than their branch, so evaluation
//! ends after at most `branches.len()` steps.

use super::Pred;
use crate::check::{Const, Test};
use crate::types::FieldId;
use std::net::IpAddr;

/// What a [`Branch`] tests; chosen from the predicate at compile time so the
/// VM dispatches once per test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TestKind {
    /// `field == bytes` ([`Pred::BytesEq`]).
    BytesEq,
    /// `field in {bytes…}` ([`Pred::BytesSet`]); `data[0]` holds the set's
    /// [`BytesSet::length_mask`](crate::matchers::BytesSet::length_mask).
    BytesSet,
    /// `field` starts with bytes ([`Pred::StartsWith`]).
    StartsWith,
    /// `field contains bytes` ([`Pred::Contains`]).
    Contains,
    /// `field == int` ([`Pred::IntEq`]).
    IntEq,
    /// `field` ordered against an int ([`Pred::IntOrd`]).
    IntOrd,
    /// `field in {int ranges}` ([`Pred::IntRanges`]).
    IntRanges,
    /// `field in {address ranges}` ([`Pred::IpRanges`]).
    IpRanges,
    /// The field is `true`.
    Truthy,
    /// Any other predicate, through [`Pred::test_scalar`].
    Other,
    /// `field == bytes` of at most [`INLINE_BYTES`] bytes, held in the
    /// branch as `pack_bytes` packs them, the length in `len`.
    BytesEqInline,
    /// `field` starts with at most [`INLINE_BYTES`] bytes, held as for
    /// [`TestKind::BytesEqInline`].
    StartsWithInline,
    /// `field in {int ranges}`: at most four ranges within `0..=u32::MAX`,
    /// held in the branch (see [`in_inline_ranges`]).
    IntRangesInline,
    /// `field in {address ranges}`: at most four IPv4 ranges, held in the
    /// branch (see [`in_inline_ranges`]).
    Ip4RangesInline,
}

/// Ranges held in a branch, as 32-bit halves of its words: range `k`'s
/// lower end in word `k % 2` and its span (`hi - lo`) in word `2 + k % 2`,
/// the first two ranges in the low halves (read without a shift), the other
/// two in the high ones. Unused ranges repeat the first.
fn pack_ranges(ranges: impl Iterator<Item = (u64, u64)>) -> [u64; 4] {
    let mut lo = [0u32; 4];
    let mut span = [0u32; 4];
    let mut count = 0;
    for (k, (l, h)) in ranges.enumerate().take(4) {
        // Callers pass ranges within `0..=u32::MAX`.
        lo[k] = l as u32;
        span[k] = (h - l) as u32;
        count = k + 1;
    }
    for k in count..4 {
        lo[k] = lo[0];
        span[k] = span[0];
    }
    let pair = |a: u32, b: u32| u64::from(a) | u64::from(b) << 32;
    [
        pair(lo[0], lo[2]),
        pair(lo[1], lo[3]),
        pair(span[0], span[2]),
        pair(span[1], span[3]),
    ]
}

/// The kind and inline data of the branch that runs `pred`: small
/// constants live in the branch itself, saving the predicate-pool load and
/// the walk over its boxed data.
pub(crate) fn classify(pred: &Pred) -> (TestKind, u8, [u64; 4]) {
    match pred {
        Pred::BytesEq(c) if c.len() <= INLINE_BYTES => inline_bytes_eq(c),
        Pred::BytesSet(set) => (TestKind::BytesSet, 0, [set.length_mask(), 0, 0, 0]),
        Pred::StartsWith(c) if c.len() <= INLINE_BYTES => {
            (TestKind::StartsWithInline, c.len() as u8, pack_bytes(c))
        }
        Pred::IntRanges(r) if int_ranges_fit(r) => inline_int_ranges(r),
        Pred::IpRanges(r) if r.v6().is_empty() && (1..=4).contains(&r.v4().len()) => {
            inline_ip4_ranges(r.v4().len(), r.v4().iter().copied())
        }
        other => (TestKind::of(other), 0, [0; 4]),
    }
}

/// What [`classify`] gives the predicate `test` builds, when that is held
/// inline; read from the checked test itself, so that an inline test never
/// builds (and drops) a predicate.
pub(crate) fn classify_inline_test(test: &Test) -> Option<(TestKind, u8, [u64; 4])> {
    match test {
        Test::Eq(Const::Bytes(c)) | Test::Ne(Const::Bytes(c)) if c.len() <= INLINE_BYTES => {
            Some(inline_bytes_eq(c))
        }
        Test::InInts(r) if int_ranges_fit(r) => Some(inline_int_ranges(r)),
        Test::InIps(r) => {
            // As `IpRanges::new` splits them: pairs of one family each.
            let v4 = || {
                r.iter().filter_map(|pair| match *pair {
                    (IpAddr::V4(a), IpAddr::V4(b)) => Some((u32::from(a), u32::from(b))),
                    _ => None,
                })
            };
            let any_v6 = r
                .iter()
                .any(|pair| matches!(pair, (IpAddr::V6(_), IpAddr::V6(_))));
            let count = v4().count();
            (!any_v6 && (1..=4).contains(&count)).then(|| inline_ip4_ranges(count, v4()))
        }
        _ => None,
    }
}

fn inline_bytes_eq(c: &[u8]) -> (TestKind, u8, [u64; 4]) {
    (TestKind::BytesEqInline, c.len() as u8, pack_bytes(c))
}

/// Whether int ranges can be held inline: one to four, within `0..=u32::MAX`.
pub(crate) fn int_ranges_fit(r: &[(i64, i64)]) -> bool {
    (1..=4).contains(&r.len())
        && r.iter()
            .all(|&(lo, hi)| 0 <= lo && lo <= hi && hi <= i64::from(u32::MAX))
}

fn inline_int_ranges(r: &[(i64, i64)]) -> (TestKind, u8, [u64; 4]) {
    let data = pack_ranges(r.iter().map(|&(lo, hi)| (lo as u64, hi as u64)));
    (TestKind::IntRangesInline, r.len() as u8, data)
}

/// One to four IPv4 ranges, held inline.
fn inline_ip4_ranges(
    count: usize,
    r: impl Iterator<Item = (u32, u32)>,
) -> (TestKind, u8, [u64; 4]) {
    let data = pack_ranges(r.map(|(lo, hi)| (u64::from(lo), u64::from(hi))));
    (TestKind::Ip4RangesInline, count as u8, data)
}

/// Whether `x` is in one of the `count` (at most four) ranges packed in
/// `data` (see `pack_ranges`): `x - lo <= hi - lo` in 32 bits, a subtract
/// and a compare per range, the last two only when there are more than two.
/// A value past `u32::MAX` is in none.
#[inline(always)]
pub fn in_inline_ranges(data: &[u64; 4], count: u8, x: u64) -> bool {
    let Ok(x) = u32::try_from(x) else {
        return false;
    };
    let lane = |k: usize| {
        let (lo, span) = packed_range(data, k);
        x.wrapping_sub(lo) <= span
    };
    (lane(0) | lane(1)) || (count > 2 && (lane(2) | lane(3)))
}

/// Range `k`'s lower end and span as `pack_ranges` laid them out.
#[inline(always)]
fn packed_range(data: &[u64; 4], k: usize) -> (u32, u32) {
    let half = |w: u64| (w >> (32 * (k / 2))) as u32;
    (half(data[k % 2]), half(data[2 + k % 2]))
}

/// The longest byte string a branch holds (see [`eq_inline`]).
pub const INLINE_BYTES: usize = 16;

/// The two words [`eq_inline`] compares a byte string of at most
/// [`INLINE_BYTES`] bytes by: from 8 bytes on, its first and last eight
/// bytes; from 4, its first and last four in one word; below that, its
/// first, middle and last byte (together they cover every byte).
#[inline(always)]
fn words(c: &[u8]) -> (u64, u64) {
    let n = c.len();
    let word = |at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&c[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |at: usize| -> u64 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&c[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    if n >= 8 {
        (word(0), word(n - 8))
    } else if n >= 4 {
        (half(0) | half(n - 4) << 32, 0)
    } else if n > 0 {
        let b = |at: usize| u64::from(c[at]);
        (b(0) | b(n / 2) << 8 | b(n - 1) << 16, 0)
    } else {
        (0, 0)
    }
}

/// A byte string of at most [`INLINE_BYTES`] bytes as a branch holds it.
fn pack_bytes(c: &[u8]) -> [u64; 4] {
    let (first, last) = words(c);
    [first, last, 0, 0]
}

/// Whether `v` equals the constant of length `len` (at most
/// [`INLINE_BYTES`]) that the lowering packed into `data`: a length
/// compare and one or two word compares, whatever the length.
#[inline(always)]
pub fn eq_inline(data: &[u64; 4], len: u8, v: &[u8]) -> bool {
    if v.len() != usize::from(len) {
        return false;
    }
    let (first, last) = words(v);
    first == data[0] && last == data[1]
}

/// Whether `v` starts with the constant packed into `data` (as for [`eq_inline`]).
#[inline(always)]
pub fn prefix_inline(data: &[u64; 4], len: u8, v: &[u8]) -> bool {
    match v.get(..usize::from(len)) {
        Some(head) => eq_inline(data, len, head),
        None => false,
    }
}

/// The bytes [`pack_bytes`] packed (`len` of them): each packed word
/// covers the positions [`words`] took it from.
fn unpack_bytes(data: &[u64; 4], len: u8) -> Vec<u8> {
    let n = usize::from(len).min(INLINE_BYTES);
    let mut out = vec![0u8; n];
    let (first, last) = (data[0].to_le_bytes(), data[1].to_le_bytes());
    if n >= 8 {
        out[n - 8..].copy_from_slice(&last);
        out[..8].copy_from_slice(&first);
    } else if n >= 4 {
        out[n - 4..].copy_from_slice(&first[4..]);
        out[..4].copy_from_slice(&first[..4]);
    } else if n > 0 {
        out[n - 1] = first[2];
        out[n / 2] = first[1];
        out[0] = first[0];
    }
    out
}

/// The `count` ranges [`pack_ranges`] packed, as `(lo, hi)`.
fn unpack_ranges(data: &[u64; 4], count: u8) -> impl Iterator<Item = (u32, u32)> + '_ {
    (0..usize::from(count).min(4)).map(move |k| {
        let (lo, span) = packed_range(data, k);
        (lo, lo.wrapping_add(span))
    })
}

/// Whether an inline branch's test holds on `v`, before `invert` (false for
/// a value of another type, and for a kind that is not inline). The VM's
/// hot path tests stored values itself; this serves values the request
/// computes.
pub fn inline_holds(b: &Branch, v: crate::types::Scalar<'_>) -> bool {
    use crate::types::Scalar;
    match (b.kind, v) {
        (TestKind::BytesEqInline, Scalar::Bytes(v)) => eq_inline(&b.data, b.len, v),
        (TestKind::StartsWithInline, Scalar::Bytes(v)) => prefix_inline(&b.data, b.len, v),
        (TestKind::IntRangesInline, Scalar::Int(n)) => in_inline_ranges(&b.data, b.len, n as u64),
        (TestKind::Ip4RangesInline, Scalar::Ip4(a)) => {
            in_inline_ranges(&b.data, b.len, u64::from(a))
        }
        _ => false,
    }
}

/// The predicate an inline branch holds, rebuilt for listings (`None` for
/// a kind that is not inline: its predicate is in the pool).
pub fn inline_pred(b: &Branch) -> Option<Pred> {
    Some(match b.kind {
        TestKind::BytesEqInline => Pred::BytesEq(unpack_bytes(&b.data, b.len).into()),
        TestKind::StartsWithInline => Pred::StartsWith(unpack_bytes(&b.data, b.len).into()),
        TestKind::IntRangesInline => Pred::IntRanges(
            unpack_ranges(&b.data, b.len)
                .map(|(lo, hi)| (i64::from(lo), i64::from(hi)))
                .collect(),
        ),
        TestKind::Ip4RangesInline => {
            let ip = |a: u32| std::net::IpAddr::V4(a.into());
            let ranges: Vec<_> = unpack_ranges(&b.data, b.len)
                .map(|(lo, hi)| (ip(lo), ip(hi)))
                .collect();
            Pred::IpRanges(crate::matchers::IpRanges::new(&ranges))
        }
        _ => return None,
    })
}

impl TestKind {
    /// Whether the kind holds its constant in the branch (no pool entry).
    pub fn is_inline(self) -> bool {
        matches!(
            self,
            TestKind::BytesEqInline
                | TestKind::StartsWithInline
                | TestKind::IntRangesInline
                | TestKind::Ip4RangesInline
        )
    }

    /// The kind that runs `pred`.
    pub fn of(pred: &Pred) -> TestKind {
        match pred {
            Pred::BytesEq(_) => TestKind::BytesEq,
            Pred::BytesSet(_) => TestKind::BytesSet,
            Pred::StartsWith(_) => TestKind::StartsWith,
            Pred::Contains(_) => TestKind::Contains,
            Pred::IntEq(_) => TestKind::IntEq,
            Pred::IntOrd(..) => TestKind::IntOrd,
            Pred::IntRanges(_) => TestKind::IntRanges,
            Pred::IpRanges(_) => TestKind::IpRanges,
            // Listed, not matched by `_`: a new predicate must choose its
            // kind here (the general one tests it through `test_scalar`).
            Pred::BytesOrd(..)
            | Pred::IpEq(_)
            | Pred::IpOrd(..)
            | Pred::EndsWith(_)
            | Pred::Matches(_)
            | Pred::Wildcard(_)
            | Pred::List(_)
            | Pred::BitAnd(_)
            | Pred::Shared(_) => TestKind::Other,
        }
    }
}

/// [`Branch::pred`] of a branch with no predicate in the pool.
pub const NO_PRED: u32 = u32::MAX;

/// Where a branch goes next: a branch index, or one of the two verdicts.
pub type Next = u32;
/// The program returns `true`.
pub const VERDICT_TRUE: Next = u32::MAX;
/// The program returns `false`.
pub const VERDICT_FALSE: Next = u32::MAX - 1;

/// One test-and-branch step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    /// How to test.
    pub kind: TestKind,
    /// Invert the predicate on a present value (`!=`, `not contains`…);
    /// a missing field still takes the `on_false` way.
    pub invert: bool,
    /// The field tested.
    pub field: FieldId,
    /// Index into the predicate pool; [`NO_PRED`] for [`TestKind::Truthy`]
    /// and for the inline kinds once the program drops its instructions
    /// (their constant is then only in `data`).
    pub pred: u32,
    /// Length of an inline byte string; number of inline ranges.
    pub len: u8,
    /// Inline constants (see the `*Inline` kinds).
    pub data: [u64; 4],
    /// Where the step leads, by which way its predicate goes on a present
    /// value of the tested type, *before* `invert`: `next[1]` where it
    /// holds, `next[0]` where not. An inverted test's successors are stored
    /// swapped, so the VM reads `next[hit]` with nothing to negate. A
    /// missing value (or one of another type) satisfies no test, inverted
    /// or not: it takes `next[invert]`, the way of [`Branch::on_false`].
    pub next: [Next; 2],
}

impl Branch {
    /// Where the step leads when its test (`invert` applied) holds.
    pub fn on_true(&self) -> Next {
        self.next[usize::from(!self.invert)]
    }

    /// Where the step leads when its test does not hold, a missing value included.
    pub fn on_false(&self) -> Next {
        self.next[usize::from(self.invert)]
    }

    /// The step that tests `field` as `test` says (its kind, and the inline
    /// constant's length and data), with pool entry `pred`, and leads to
    /// `on_true` when the test (`invert` applied) holds, else to `on_false`.
    pub(crate) fn step(
        field: FieldId,
        test: (TestKind, u8, [u64; 4]),
        pred: u32,
        invert: bool,
        on_true: Next,
        on_false: Next,
    ) -> Branch {
        let (kind, len, data) = test;
        Branch {
            kind,
            invert,
            field,
            pred,
            len,
            data,
            next: Branch::ways(invert, on_true, on_false),
        }
    }

    /// [`Branch::next`] of a test with `invert` that leads to `on_true`
    /// when it holds and to `on_false` when not.
    pub fn ways(invert: bool, on_true: Next, on_false: Next) -> [Next; 2] {
        if invert {
            [on_true, on_false]
        } else {
            [on_false, on_true]
        }
    }
}

/// Branches built back to front (each successor before the branches that
/// lead to it), from `start` on, as the branch form: what was built after
/// the start precedes it and cannot be reached; the rest is renumbered so
/// the start comes first and every successor has a higher index than its
/// branch. A verdict as `start` leaves no branches.
pub(crate) fn front_to_back(start: Next, mut built: Vec<Branch>) -> (Next, Vec<Branch>) {
    if start >= VERDICT_FALSE {
        return (start, Vec::new());
    }
    let keep = start + 1;
    built.truncate(keep as usize);
    built.reverse();
    let flip = |t: Next| if t >= VERDICT_FALSE { t } else { keep - 1 - t };
    for b in &mut built {
        b.next = b.next.map(flip);
    }
    (0, built)
}

/// Whether the branches, run from `start`, form one chain: each leads on to
/// the next or to a verdict, the last to verdicts only (`a and b and c`,
/// `a or b or c`, and their negations). The VM then runs them in order.
pub fn is_chain(start: Next, branches: &[Branch]) -> bool {
    let n = branches.len();
    start == 0
        && n > 0
        && branches.iter().enumerate().all(|(k, b)| {
            let goes_on = |t: Next| t as usize == k + 1 && k + 1 < n;
            let ends = |t: Next| t >= VERDICT_FALSE;
            b.next.iter().all(|&t| goes_on(t) || ends(t))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::pred::Pred;

    /// Runs a branch form over fixed predicate results (`hit(field)`, before `invert`).
    fn run(start: Next, branches: &[Branch], hit: impl Fn(FieldId) -> bool) -> bool {
        let mut at = start;
        while let Some(b) = branches.get(at as usize) {
            let next = b.next[usize::from(hit(b.field))];
            assert!(next > at, "successors go forward");
            at = next;
        }
        at == VERDICT_TRUE
    }

    /// The branch form `text` compiles to, over a schema of an Int field
    /// `f0` and a Bool field `f1`.
    fn lowered(text: &str) -> (Next, Vec<Branch>) {
        let schema =
            crate::Schema::from_json(r#"{"fields": {"f0": "Int", "f1": "Bool"}}"#).unwrap();
        let f = crate::Compiler::new(&schema).compile(text).unwrap();
        let p = f.program();
        assert!(p.simple, "{text}");
        (p.branch_start, p.branches.clone())
    }

    #[test]
    fn chains_are_the_programs_whose_steps_each_go_on_or_end() {
        let schema = crate::Schema::default_http();
        let compiler = crate::Compiler::new(&schema);
        for (text, chain) in [
            (r#"http.host == "a""#, true),
            (
                r#"http.host == "a" and not ssl and tcp.dstport == 80"#,
                true,
            ),
            (r#"http.host == "a" or ssl or tcp.dstport == 80"#, true),
            (r#"not (http.host == "a" or ssl)"#, true),
            (
                r#"(ssl or http.host == "a") and (tcp.dstport == 80 or http.referer == "b")"#,
                false,
            ),
            ("true", false),
        ] {
            let f = compiler.compile(text).unwrap();
            let p = f.program();
            assert_eq!(p.chain, chain, "{text}");
            assert_eq!(is_chain(p.branch_start, &p.branches), chain, "{text}");
        }
        // A step that skips one is no chain, nor is one that loops back.
        let step = |on_true, on_false| Branch {
            kind: TestKind::Truthy,
            invert: false,
            field: FieldId(0),
            pred: 0,
            len: 0,
            data: [0; 4],
            next: [on_false, on_true],
        };
        assert!(is_chain(
            0,
            &[step(1, VERDICT_FALSE), step(VERDICT_TRUE, VERDICT_FALSE)]
        ));
        assert!(!is_chain(
            0,
            &[
                step(2, 1),
                step(2, VERDICT_FALSE),
                step(VERDICT_TRUE, VERDICT_FALSE)
            ]
        ));
        assert!(!is_chain(0, &[step(0, VERDICT_FALSE)]));
        assert!(!is_chain(0, &[step(1, VERDICT_FALSE)]));
    }

    #[test]
    fn lowers_and_or_not_as_the_bytecode_runs_them() {
        let both = [(false, false), (false, true), (true, false), (true, true)];
        let hits = |h0: bool, h1: bool| move |f: FieldId| if f.index() == 0 { h0 } else { h1 };
        let (start, b) = lowered("f0 == 1 and not f1");
        assert_eq!(b.len(), 2);
        for (h0, h1) in both {
            assert_eq!(run(start, &b, hits(h0, h1)), h0 && !h1, "{h0} {h1}");
        }
        let (start, b) = lowered("not (f0 == 1 or f1)");
        for (h0, h1) in both {
            assert_eq!(run(start, &b, hits(h0, h1)), !(h0 || h1), "{h0} {h1}");
        }
    }

    #[test]
    fn a_known_verdict_needs_no_branch_and_dead_tests_are_dropped() {
        assert_eq!(lowered("true"), (VERDICT_TRUE, Vec::new()));
        // The test after a known `false` in an `and` is unreachable.
        assert_eq!(lowered("false and f0 == 1"), (VERDICT_FALSE, Vec::new()));
        assert_eq!(lowered("f1 or true"), (VERDICT_TRUE, Vec::new()));
    }

    #[test]
    fn inline_ranges_hold_exactly_their_members() {
        let ranges: &[(i64, i64)] = &[(80, 80), (443, 443), (8000, 8999)];
        let (kind, count, data) = classify(&Pred::IntRanges(ranges.into()));
        assert_eq!((kind, count), (TestKind::IntRangesInline, 3));
        for n in [
            -1i64,
            0,
            79,
            80,
            81,
            442,
            443,
            444,
            7999,
            8000,
            8500,
            8999,
            9000,
            1 << 40,
        ] {
            let expected = ranges.iter().any(|&(lo, hi)| lo <= n && n <= hi);
            assert_eq!(in_inline_ranges(&data, count, n as u64), expected, "{n}");
        }
        // The whole u32 span, and its edges.
        let (_, one, data) = classify(&Pred::IntRanges([(0, i64::from(u32::MAX))].into()));
        assert!(
            in_inline_ranges(&data, one, 0) && in_inline_ranges(&data, one, u64::from(u32::MAX))
        );
        assert!(!in_inline_ranges(&data, one, 1 << 32));
        // Too many ranges, or out of span: the pool predicate instead.
        let five: Vec<(i64, i64)> = (0..5).map(|k| (k * 10, k * 10 + 1)).collect();
        assert_eq!(
            classify(&Pred::IntRanges(five.into())).0,
            TestKind::IntRanges
        );
        assert_eq!(
            classify(&Pred::IntRanges([(-5, 5)].into())).0,
            TestKind::IntRanges
        );
        let ips = crate::matchers::IpRanges::new(&[(
            "10.0.0.0".parse().unwrap(),
            "10.255.255.255".parse().unwrap(),
        )]);
        let (kind, one, data) = classify(&Pred::IpRanges(ips));
        assert_eq!((kind, one), (TestKind::Ip4RangesInline, 1));
        assert!(
            in_inline_ranges(&data, one, 0x0a00_0000) && in_inline_ranges(&data, one, 0x0aff_ffff)
        );
        assert!(
            !in_inline_ranges(&data, one, 0x09ff_ffff)
                && !in_inline_ranges(&data, one, 0x0b00_0000)
        );
    }

    #[test]
    fn every_inline_range_is_tested_up_to_four() {
        let ip = |s: &str| -> std::net::IpAddr { s.parse().unwrap() };
        let four: Vec<_> = (1..=4)
            .map(|k| (ip(&format!("10.{k}.0.0")), ip(&format!("10.{k}.0.255"))))
            .collect();
        let (kind, count, data) = classify(&Pred::IpRanges(crate::matchers::IpRanges::new(&four)));
        assert_eq!((kind, count), (TestKind::Ip4RangesInline, 4));
        for k in 1..=4u64 {
            let net = 0x0a00_0000 | k << 16;
            assert!(in_inline_ranges(&data, count, net | 7), "range {k}");
            assert!(
                !in_inline_ranges(&data, count, net | 0x100),
                "past range {k}"
            );
        }
        let ints: Vec<(i64, i64)> = (0..4).map(|k| (k * 100, k * 100 + 9)).collect();
        let (_, count, data) = classify(&Pred::IntRanges(ints.clone().into()));
        for (lo, hi) in ints {
            assert!(
                in_inline_ranges(&data, count, lo as u64)
                    && in_inline_ranges(&data, count, hi as u64)
            );
            assert!(!in_inline_ranges(&data, count, hi as u64 + 1));
        }
    }

    #[test]
    fn inline_bytes_compare_length_and_both_words() {
        let (kind, len, data) = classify(&Pred::BytesEq(b"api.example.com"[..].into()));
        assert_eq!((kind, len), (TestKind::BytesEqInline, 15));
        assert!(eq_inline(&data, len, b"api.example.com"));
        for other in [
            &b"api.example.co"[..],
            b"api.example.con",
            b"bpi.example.com",
            b"",
        ] {
            assert!(!eq_inline(&data, len, other), "{other:?}");
        }
        // Longer than a branch holds: the pool keeps it.
        assert_eq!(
            classify(&Pred::BytesEq(b"seventeen bytes!!"[..].into())).0,
            TestKind::BytesEq
        );
        assert_eq!(
            classify(&Pred::StartsWith(b"/admin"[..].into())).0,
            TestKind::StartsWithInline
        );
    }

    proptest::proptest! {
        /// The length filter of a set branch never rejects a member, for
        /// small and hashed sets, with entries past 63 bytes sharing a bit.
        #[test]
        fn set_length_filter_keeps_every_member(
            items in proptest::collection::btree_set(proptest::collection::vec(0u8..4, 0..70), 0..9),
            probe in proptest::collection::vec(0u8..4, 0..70),
        ) {
            let items: Vec<Vec<u8>> = items.into_iter().collect();
            let set = crate::matchers::BytesSet::new(items.clone());
            let (kind, _, data) = classify(&Pred::BytesSet(set.clone()));
            proptest::prop_assert_eq!(kind, TestKind::BytesSet);
            for v in items.iter().chain([&probe]) {
                let passes = (data[0] >> v.len().min(63)) & 1 != 0;
                proptest::prop_assert!(passes || !set.contains(v));
                proptest::prop_assert_eq!(set.contains(v), items.contains(v));
            }
        }
    }

    proptest::proptest! {
        /// For every length a branch holds (and one past it), inline
        /// equality and prefix agree with comparing the bytes: each byte
        /// of the constant is covered by one of the packed words.
        #[test]
        fn inline_bytes_agree_with_slices(
            c in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=INLINE_BYTES + 1),
            v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=20),
            flip in proptest::prelude::any::<(usize, u8)>(),
        ) {
            // A near miss: the constant itself with one byte changed.
            let mut near = c.clone();
            if !near.is_empty() {
                let at = flip.0 % near.len();
                near[at] ^= flip.1.max(1);
            }
            let eq = classify(&Pred::BytesEq(c.clone().into()));
            let pre = classify(&Pred::StartsWith(c.clone().into()));
            let inline = c.len() <= INLINE_BYTES;
            proptest::prop_assert_eq!(eq.0 == TestKind::BytesEqInline, inline);
            proptest::prop_assert_eq!(pre.0 == TestKind::StartsWithInline, inline);
            if inline {
                let longer = [&c[..], &v[..]].concat();
                for x in [&c, &near, &v, &longer] {
                    proptest::prop_assert_eq!(eq_inline(&eq.2, eq.1, x), x == &c);
                    proptest::prop_assert_eq!(prefix_inline(&pre.2, pre.1, x), x.starts_with(&c));
                }
            }
        }
    }

    /// A branch built from `pred`, as the lowering builds it.
    fn branch_of(pred: &Pred) -> Branch {
        let (kind, len, data) = classify(pred);
        Branch {
            kind,
            invert: false,
            field: FieldId(0),
            pred: NO_PRED,
            len,
            data,
            next: [VERDICT_FALSE, VERDICT_TRUE],
        }
    }

    proptest::proptest! {
        /// An inline constant is the only copy the program keeps: what the
        /// branch holds gives back the predicate it came from, exactly.
        #[test]
        fn inline_constants_decode_to_their_predicate(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..=INLINE_BYTES),
            ends in proptest::collection::btree_set(0u32..=u32::MAX, 2..=8),
        ) {
            let ends: Vec<u32> = ends.into_iter().collect();
            let ranges: Vec<(u32, u32)> = ends.chunks_exact(2).map(|r| (r[0], r[1])).collect();
            let ip = |a: u32| std::net::IpAddr::V4(a.into());
            let ips: Vec<_> = ranges.iter().map(|&(lo, hi)| (ip(lo), ip(hi))).collect();
            for pred in [
                Pred::BytesEq(bytes.clone().into()),
                Pred::StartsWith(bytes.clone().into()),
                Pred::IntRanges(ranges.iter().map(|&(lo, hi)| (i64::from(lo), i64::from(hi))).collect()),
                Pred::IpRanges(crate::matchers::IpRanges::new(&ips)),
            ] {
                let b = branch_of(&pred);
                proptest::prop_assert!(b.kind.is_inline(), "{pred:?}");
                let back = inline_pred(&b).map(|p| format!("{p:?}"));
                proptest::prop_assert_eq!(back, Some(format!("{pred:?}")));
            }
        }
    }

    /// Values the request computes meet the same inline tests as stored ones.
    #[test]
    fn inline_tests_hold_on_any_scalar_of_their_type() {
        use crate::types::Scalar;
        let eq = branch_of(&Pred::BytesEq(b"abc"[..].into()));
        assert!(inline_holds(&eq, Scalar::Bytes(b"abc")));
        assert!(!inline_holds(&eq, Scalar::Bytes(b"abd")));
        assert!(!inline_holds(&eq, Scalar::Int(3)), "another type");
        let ports = branch_of(&Pred::IntRanges([(80, 80), (8000, 8999)][..].into()));
        assert!(inline_holds(&ports, Scalar::Int(8080)));
        assert!(
            !inline_holds(&ports, Scalar::Int(-1)),
            "negative: in no range"
        );
        let net = std::net::IpAddr::V4([10, 0, 0, 0].into());
        let end = std::net::IpAddr::V4([10, 255, 255, 255].into());
        let tens = branch_of(&Pred::IpRanges(crate::matchers::IpRanges::new(&[(
            net, end,
        )])));
        assert!(inline_holds(&tens, Scalar::Ip4(0x0a01_0203)));
        assert!(!inline_holds(&tens, Scalar::Ip6(0x0a01_0203)), "IPv6");
        let inline_kind = branch_of(&Pred::IntEq(1));
        assert!(!inline_kind.kind.is_inline() && !inline_holds(&inline_kind, Scalar::Int(1)));
    }
}
