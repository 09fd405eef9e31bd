//! The rule-set index: which rules can possibly match a request, found with
//! one read per field instead of one test per rule.
//!
//! Each rule gets an *anchor* when it has one: a conjunct that must hold for
//! the rule to match and that an index can answer for many rules at once —
//! `field == "x"` / `field in {...}` (a hash map per field), `field contains
//! "x"` (one Aho-Corasick automaton per field), `field matches "re"` (one
//! regex set per field), `ip in {cidr...}` (elementary intervals per field).
//! Rules without an anchor are candidates for every request. Candidates are
//! then evaluated in rule order, so verdicts are exactly those of evaluating
//! the rules one by one (a differential test checks it).

use crate::check::{Compare, Const, Node, Operand, Test};
use crate::compile::matchers::FastHash;
use crate::context::Request;
use crate::schema::FieldId;
use crate::value::Scalar;
use aho_corasick::AhoCorasick;
use regex_automata::{Input, PatternSet, meta};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::IpAddr;

/// What must hold for a rule to match.
#[derive(Debug, Clone)]
pub(crate) enum Anchor {
    /// The field equals one of these byte strings.
    Bytes(FieldId, Vec<Vec<u8>>),
    /// The field contains this byte string.
    Contains(FieldId, Vec<u8>),
    /// The field matches this regex.
    Regex(FieldId, String),
    /// The address is in one of these ranges (canonical, one family each).
    Ips(FieldId, Vec<(IpAddr, IpAddr)>),
}

/// Every anchor a (optimized) rule tree offers, with its rank; the index
/// picks one per rule, knowing the whole set ([`RuleIndex::build`]).
pub(crate) fn anchors_of(root: &Node) -> Vec<(u8, Anchor)> {
    let conjuncts = match root {
        Node::And(terms) => terms.as_slice(),
        other => std::slice::from_ref(other),
    };
    conjuncts
        .iter()
        .filter_map(|c| match c {
            Node::Compare(cmp) => anchor_of_compare(cmp),
            _ => None,
        })
        .collect()
}

/// Picks each rule's anchor: the best rank, and among equality anchors the
/// one whose values are shared by the fewest other rules (`path == "/x"`
/// rather than `method == "POST"`).
fn choose(options: Vec<Option<Vec<(u8, Anchor)>>>) -> Vec<Option<Option<Anchor>>> {
    let picks = pick_anchors(&options);
    // The picked anchor moves out of the rule's options.
    options
        .into_iter()
        .zip(picks)
        .map(|(opts, pick)| {
            let mut opts = opts?;
            Some(pick.flatten().map(|k| opts.swap_remove(k).1))
        })
        .collect()
}

/// For each rule, the position of its best anchor among its options.
fn pick_anchors(options: &[Option<Vec<(u8, Anchor)>>]) -> Vec<Option<Option<usize>>> {
    let mut shared: HashMap<(u32, &[u8]), usize, FastHash> =
        HashMap::with_capacity_and_hasher(options.len(), FastHash::default());
    for opts in options.iter().flatten() {
        for (_, a) in opts {
            if let Anchor::Bytes(f, values) = a {
                for v in values {
                    *shared.entry((f.0, v.as_slice())).or_default() += 1;
                }
            }
        }
    }
    let cost = |a: &Anchor| match a {
        Anchor::Bytes(f, values) => values
            .iter()
            .map(|v| shared.get(&(f.0, v.as_slice())).copied().unwrap_or(0))
            .sum::<usize>(),
        _ => 0,
    };
    options
        .iter()
        .map(|opts| {
            opts.as_ref().map(|opts| {
                opts.iter()
                    .enumerate()
                    .min_by_key(|(_, (rank, a))| (*rank, cost(a)))
                    .map(|(k, _)| k)
            })
        })
        .collect()
}

/// An anchor and its rank (lower is more selective).
fn anchor_of_compare(c: &Compare) -> Option<(u8, Anchor)> {
    let Operand::Field(id) = c.lhs else {
        return None;
    };
    Some(match &c.test {
        Test::Eq(Const::Bytes(b)) => (0, Anchor::Bytes(id, vec![b.clone()])),
        Test::InBytes(items) if !items.is_empty() => (0, Anchor::Bytes(id, items.clone())),
        Test::Eq(Const::Ip(ip)) => (1, Anchor::Ips(id, vec![(*ip, *ip)])),
        Test::InIps(r) if !r.is_empty() => (1, Anchor::Ips(id, r.clone())),
        Test::Contains(b) if b.len() >= 3 => (2, Anchor::Contains(id, b.clone())),
        // A pattern that expands to literals (`^/api/x(/|$)`) needs what they
        // all start with: a substring anchor, with no regex set to build.
        Test::Matches(re) => match re.alternatives().map(common_prefix) {
            Some(lit) if lit.len() >= 3 => (2, Anchor::Contains(id, lit.to_vec())),
            _ => (3, Anchor::Regex(id, re.as_str().to_string())),
        },
        _ => return None,
    })
}

/// The bytes every alternative starts with (each alternative's literal is
/// in any value it matches, so this prefix is too).
fn common_prefix(alternatives: &[crate::regexes::LiteralAlt]) -> &[u8] {
    let Some(((first, _, _), rest)) = alternatives.split_first() else {
        return &[];
    };
    let len = rest.iter().fold(first.len(), |len, (lit, _, _)| {
        first[..len]
            .iter()
            .zip(lit)
            .take_while(|(a, b)| a == b)
            .count()
    });
    &first[..len]
}

/// A set of rule positions.
#[derive(Debug, Clone, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, k: usize) {
        if let Some(w) = self.0.get_mut(k / 64) {
            *w |= 1 << (k % 64);
        }
    }
}

/// Rules per byte-string value of one field.
#[derive(Debug, Clone)]
struct EqIndex {
    field: FieldId,
    map: HashMap<Box<[u8]>, Vec<u32>, FastHash>,
}

/// Rules per needle of one field, searched in one pass.
#[derive(Debug, Clone)]
struct ContainsIndex {
    field: FieldId,
    automaton: AhoCorasick,
    rules: Vec<Vec<u32>>,
}

/// Rules per regex of one field, searched in one pass.
#[derive(Debug, Clone)]
struct RegexIndex {
    field: FieldId,
    set: meta::Regex,
    rules: Vec<u32>,
    /// Per pattern, the shared id of the rules' test of it (see
    /// [`RuleIndex::set_regex_ids`]): the set's search answers that test, so
    /// rules never run (nor compile) the regex themselves.
    ids: Vec<u32>,
}

/// Rules per address interval of one field (elementary, disjoint intervals).
#[derive(Debug, Clone)]
struct IpIndex {
    field: FieldId,
    v4: Intervals<u32>,
    v6: Intervals<u128>,
}

#[derive(Debug, Clone)]
struct Intervals<T> {
    /// Start of each elementary interval, sorted; interval k ends before starts[k + 1].
    starts: Vec<T>,
    /// Rules covering each interval.
    rules: Vec<Vec<u32>>,
}

impl<T> Default for Intervals<T> {
    fn default() -> Self {
        Intervals {
            starts: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// Most (interval, rule) pairs an address index stores; past that, address
/// anchors are not indexed (their rules are evaluated for every request).
const MAX_INTERVAL_ENTRIES: usize = 1 << 20;

impl<T: Ord + Copy> Intervals<T> {
    /// The elementary intervals of `ranges` (inclusive, with their rules)
    /// and the rules covering each, in one sweep over the interval ends:
    /// O(n log n) plus the size of the result, which is capped.
    fn build(ranges: &[(T, T, u32)], succ: impl Fn(T) -> Option<T>) -> Option<Self> {
        let mut points: Vec<T> = Vec::with_capacity(ranges.len() * 2);
        for &(lo, hi, _) in ranges {
            points.push(lo);
            if let Some(after) = succ(hi) {
                points.push(after);
            }
        }
        points.sort();
        points.dedup();
        // Per point: the rules whose ranges start there (+1) or end just
        // before it (-1).
        let mut events: Vec<(usize, bool, u32)> = Vec::with_capacity(ranges.len() * 2);
        for &(lo, hi, rule) in ranges {
            if lo > hi {
                continue;
            }
            events.push((points.partition_point(|p| *p < lo), true, rule));
            if let Some(after) = succ(hi) {
                events.push((points.partition_point(|p| *p < after), false, rule));
            }
        }
        events.sort_unstable();
        let mut active: BTreeMap<u32, usize> = BTreeMap::new();
        let mut rules = Vec::with_capacity(points.len());
        let mut total = 0;
        let mut next = events.iter().peekable();
        for k in 0..points.len() {
            while let Some(&(_, starts, rule)) = next.next_if(|e| e.0 == k) {
                if starts {
                    *active.entry(rule).or_default() += 1;
                } else if let Some(n) = active.get_mut(&rule) {
                    *n -= 1;
                    if *n == 0 {
                        active.remove(&rule);
                    }
                }
            }
            total += active.len();
            if total > MAX_INTERVAL_ENTRIES {
                return None;
            }
            rules.push(active.keys().copied().collect());
        }
        Some(Intervals {
            starts: points,
            rules,
        })
    }

    fn lookup(&self, x: T) -> &[u32] {
        let k = self.starts.partition_point(|s| *s <= x);
        if k == 0 {
            return &[];
        }
        self.rules.get(k - 1).map_or(&[][..], |v| v.as_slice())
    }
}

/// The index of a compiled rule set.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleIndex {
    /// Rules evaluated for every request (enabled, no anchor).
    always: Vec<u64>,
    eq: Vec<EqIndex>,
    contains: Vec<ContainsIndex>,
    regexes: Vec<RegexIndex>,
    ips: Vec<IpIndex>,
    /// Number of rule slots.
    len: usize,
}

/// Needles of one field and the rules of each, before the automaton is built.
type PendingContains = (FieldId, Vec<Vec<u8>>, Vec<Vec<u32>>);
/// Address ranges (v4, v6) of one field with their rules.
type PendingIps = (FieldId, Vec<(u32, u32, u32)>, Vec<(u128, u128, u32)>);

thread_local! {
    /// Reused pattern sets for regex-set searches (allocated once per thread).
    static PATTERNS: RefCell<PatternSet> = RefCell::new(PatternSet::new(0));
}

impl RuleIndex {
    /// Builds the index; `options[k]` is `None` for a disabled rule (never a
    /// candidate), else the anchors rule `k` offers (none: always a candidate).
    /// Also returns the regex anchors' keys, in the order
    /// [`RuleIndex::set_regex_ids`] takes their ids.
    pub(crate) fn build(
        options: Vec<Option<Vec<(u8, Anchor)>>>,
    ) -> (RuleIndex, Vec<(FieldId, String)>) {
        let mut keys = Vec::new();
        let anchors = choose(options);
        let n = anchors.len();
        let mut always = Bits::new(n);
        let mut eq: Vec<EqIndex> = Vec::new();
        let mut contains: Vec<PendingContains> = Vec::new();
        let mut regexes: Vec<(FieldId, Vec<String>, Vec<u32>)> = Vec::new();
        let mut ips: Vec<PendingIps> = Vec::new();
        // Where each (field, needle) already is, so a needle many rules
        // share is found without scanning the field's needles.
        let mut needle_at: HashMap<(FieldId, Vec<u8>), usize, FastHash> = HashMap::default();
        for (k, a) in anchors.into_iter().enumerate() {
            let rule = k as u32;
            match a {
                None => {}
                Some(None) => always.set(k),
                Some(Some(Anchor::Bytes(field, values))) => {
                    let slot = match eq.iter().position(|e| e.field == field) {
                        Some(p) => p,
                        None => {
                            eq.push(EqIndex {
                                field,
                                map: HashMap::default(),
                            });
                            eq.len() - 1
                        }
                    };
                    for v in values {
                        let list = eq[slot].map.entry(v.into_boxed_slice()).or_default();
                        if list.last() != Some(&rule) {
                            list.push(rule);
                        }
                    }
                }
                Some(Some(Anchor::Contains(field, needle))) => {
                    let slot = match contains.iter().position(|c| c.0 == field) {
                        Some(p) => p,
                        None => {
                            contains.push((field, Vec::new(), Vec::new()));
                            contains.len() - 1
                        }
                    };
                    let (_, needles, rules) = &mut contains[slot];
                    match needle_at.entry((field, needle)) {
                        std::collections::hash_map::Entry::Occupied(at) => {
                            if let Some(list) = rules.get_mut(*at.get()) {
                                list.push(rule);
                            }
                        }
                        std::collections::hash_map::Entry::Vacant(v) => {
                            needles.push(v.key().1.clone());
                            rules.push(vec![rule]);
                            v.insert(needles.len() - 1);
                        }
                    }
                }
                Some(Some(Anchor::Regex(field, pattern))) => {
                    let slot = match regexes.iter().position(|r| r.0 == field) {
                        Some(p) => p,
                        None => {
                            regexes.push((field, Vec::new(), Vec::new()));
                            regexes.len() - 1
                        }
                    };
                    regexes[slot].1.push(pattern);
                    regexes[slot].2.push(rule);
                }
                Some(Some(Anchor::Ips(field, ranges))) => {
                    let slot = match ips.iter().position(|r| r.0 == field) {
                        Some(p) => p,
                        None => {
                            ips.push((field, Vec::new(), Vec::new()));
                            ips.len() - 1
                        }
                    };
                    for (lo, hi) in ranges {
                        match (lo, hi) {
                            (IpAddr::V4(a), IpAddr::V4(b)) => {
                                ips[slot].1.push((u32::from(a), u32::from(b), rule))
                            }
                            (IpAddr::V6(a), IpAddr::V6(b)) => {
                                ips[slot].2.push((u128::from(a), u128::from(b), rule))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        let mut index = RuleIndex {
            always: always.0,
            eq,
            len: n,
            ..RuleIndex::default()
        };
        for (field, needles, rules) in contains {
            match AhoCorasick::new(&needles) {
                Ok(automaton) => index.contains.push(ContainsIndex {
                    field,
                    automaton,
                    rules,
                }),
                Err(_) => rules.iter().flatten().for_each(|&r| index.set_always(r)),
            }
        }
        for (field, patterns, rules) in regexes {
            let built = meta::Builder::new()
                .syntax(
                    regex_automata::util::syntax::Config::new()
                        .unicode(false)
                        .utf8(false),
                )
                .configure(
                    meta::Config::new()
                        .match_kind(regex_automata::MatchKind::All)
                        .utf8_empty(false),
                )
                .build_many(&patterns);
            match built {
                Ok(set) => {
                    keys.extend(patterns.into_iter().map(|p| (field, p)));
                    let ids = vec![crate::vm::NOT_SHARED; rules.len()];
                    index.regexes.push(RegexIndex {
                        field,
                        set,
                        rules,
                        ids,
                    })
                }
                Err(_) => rules.iter().for_each(|&r| index.set_always(r)),
            }
        }
        for (field, v4, v6) in ips {
            let v4i = Intervals::build(&v4, |x: u32| x.checked_add(1));
            let v6i = Intervals::build(&v6, |x: u128| x.checked_add(1));
            match (v4i, v6i) {
                (Some(v4), Some(v6)) => index.ips.push(IpIndex { field, v4, v6 }),
                _ => v4
                    .iter()
                    .map(|r| r.2)
                    .chain(v6.iter().map(|r| r.2))
                    .for_each(|r| index.set_always(r)),
            }
        }
        (index, keys)
    }

    /// The shared ids of the regex anchors' tests, in the order of the keys
    /// [`RuleIndex::build`] returned ([`NOT_SHARED`](crate::vm::NOT_SHARED)
    /// for one without an id).
    pub(crate) fn set_regex_ids(&mut self, ids: &[u32]) {
        let mut ids = ids.iter();
        for x in &mut self.regexes {
            for id in &mut x.ids {
                *id = ids.next().copied().unwrap_or(crate::vm::NOT_SHARED);
            }
        }
    }

    fn set_always(&mut self, rule: u32) {
        if let Some(w) = self.always.get_mut(rule as usize / 64) {
            *w |= 1 << (rule % 64);
        }
    }

    /// Number of rule slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Marks in `out` (one bit per rule, `len` bits) every rule that can
    /// match `req`, and records in `tests` the outcome of every regex test
    /// the regex sets answered.
    pub(crate) fn candidates<R: Request + ?Sized>(
        &self,
        req: &R,
        out: &mut [u64],
        tests: &mut crate::vm::SharedTests<'_>,
    ) {
        for (o, a) in out.iter_mut().zip(&self.always) {
            *o = *a;
        }
        let mut mark = |rules: &[u32]| {
            for &r in rules {
                if let Some(w) = out.get_mut(r as usize / 64) {
                    *w |= 1 << (r % 64);
                }
            }
        };
        for e in &self.eq {
            with_bytes(req, e.field, |b| {
                if let Some(rules) = e.map.get(b) {
                    mark(rules);
                }
            });
        }
        for c in &self.contains {
            with_bytes(req, c.field, |b| {
                for m in c.automaton.find_overlapping_iter(b) {
                    if let Some(rules) = c.rules.get(m.pattern().as_usize()) {
                        mark(rules);
                    }
                }
            });
        }
        for x in &self.regexes {
            with_bytes(req, x.field, |b| {
                let run = |set: &mut PatternSet,
                           mark: &mut dyn FnMut(&[u32]),
                           tests: &mut crate::vm::SharedTests<'_>| {
                    set.clear();
                    x.set.which_overlapping_matches(&Input::new(b), set);
                    for pid in set.iter() {
                        if let Some(&r) = x.rules.get(pid.as_usize()) {
                            mark(&[r]);
                        }
                    }
                    // Every pattern was searched for: matched or not, its
                    // test's outcome is known.
                    for (k, &id) in x.ids.iter().enumerate() {
                        let hit = regex_automata::PatternID::new(k).is_ok_and(|p| set.contains(p));
                        tests.record(id, hit);
                    }
                };
                let n = x.set.pattern_len();
                let reused = PATTERNS.with(|p| match p.try_borrow_mut() {
                    Ok(mut set) => {
                        if set.capacity() < n {
                            *set = PatternSet::new(n);
                        }
                        run(&mut set, &mut mark, tests);
                        true
                    }
                    Err(_) => false,
                });
                if !reused {
                    run(&mut PatternSet::new(n), &mut mark, tests);
                }
            });
        }
        for i in &self.ips {
            let ip = match req.scalar(i.field) {
                s @ (Scalar::Ip4(_) | Scalar::Ip6(_)) => s.as_ip(),
                Scalar::Composite => match req.get(i.field) {
                    crate::value::Val::Ip(ip) => Some(ip),
                    _ => None,
                },
                _ => None,
            };
            match ip.map(|ip| ip.to_canonical()) {
                Some(IpAddr::V4(a)) => mark(i.v4.lookup(u32::from(a))),
                Some(IpAddr::V6(a)) => mark(i.v6.lookup(u128::from(a))),
                None => {}
            }
        }
    }
}

/// Calls `f` with the field's bytes when it is a byte string.
#[inline]
fn with_bytes<R: Request + ?Sized>(req: &R, field: FieldId, f: impl FnOnce(&[u8])) {
    match req.scalar(field) {
        Scalar::Bytes(b) => f(b),
        Scalar::Composite => {
            if let crate::value::Val::Bytes(b) = req.get(field) {
                f(&b)
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Every point's rules are exactly the rules with a range holding
        /// it, at the range ends and between them.
        #[test]
        fn intervals_hold_exactly_the_covering_rules(
            ranges in proptest::collection::vec((0u32..40, 0u32..40, 0u32..6), 0..12),
        ) {
            let ranges: Vec<(u32, u32, u32)> =
                ranges.into_iter().map(|(a, b, r)| (a.min(b), a.max(b), r)).collect();
            let index = Intervals::build(&ranges, |x: u32| x.checked_add(1)).unwrap();
            for x in 0..42u32 {
                let mut want: Vec<u32> = ranges
                    .iter()
                    .filter(|(lo, hi, _)| *lo <= x && x <= *hi)
                    .map(|r| r.2)
                    .collect();
                want.sort_unstable();
                want.dedup();
                proptest::prop_assert_eq!(index.lookup(x), &want[..], "at {}", x);
            }
        }
    }

    #[test]
    fn a_literal_regex_is_anchored_on_the_prefix_its_expansions_share() {
        let alts = |v: &[&str]| -> Vec<crate::regexes::LiteralAlt> {
            v.iter()
                .map(|s| (s.as_bytes().to_vec(), true, false))
                .collect()
        };
        assert_eq!(
            common_prefix(&alts(&["/api/v3/item1/", "/api/v3/item1"])),
            b"/api/v3/item1"
        );
        assert_eq!(common_prefix(&alts(&["/ad", "/bc"])), b"/");
        assert_eq!(common_prefix(&alts(&["abc"])), b"abc");
        assert_eq!(common_prefix(&[]), b"");
    }
}
