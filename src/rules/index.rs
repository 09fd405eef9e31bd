//! The rule-set index: which rules can possibly match a request, found with
//! one read per field instead of one test per rule.
//!
//! Each rule gets an *anchor* when it has one: a conjunct that must hold for
//! the rule to match and that an index can answer for many rules at once —
//! `field == "x"` / `field in {...}` (a hash map per field), `field contains
//! "x"` (one Aho-Corasick automaton per field), `field matches "re"` (one
//! regex set per field), `ip in {cidr...}` (elementary intervals per field).
//! A pattern made of literals anchors on what they share instead: the
//! values themselves when they are whole (`^(GET|HEAD)$`, into the hash
//! map), else their common prefix — looked up by length when they all start
//! at the start of the value (`^/api/v1/item(/|$)`: a few hash lookups),
//! searched as a substring otherwise.
//! Rules without an anchor are candidates for every request. Candidates are
//! then evaluated in rule order, so verdicts are exactly those of evaluating
//! the rules one by one (a differential test checks it).

use crate::check::{Compare, Const, Node, Operand, Test};
use crate::context::Request;
use crate::matchers::FastHash;
use crate::types::FieldId;
use crate::types::Scalar;
use aho_corasick::AhoCorasick;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::{Input, PatternSet, meta};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::IpAddr;

/// What must hold for a rule to match.
#[derive(Debug, Clone)]
pub(crate) enum Anchor {
    /// The field equals this byte string ([`Anchor::Bytes`] of one, without
    /// a vector around it).
    Eq(FieldId, Vec<u8>),
    /// The field equals one of these byte strings.
    Bytes(FieldId, Vec<Vec<u8>>),
    /// The field contains this byte string.
    Contains(FieldId, Vec<u8>),
    /// The field starts with this byte string.
    Prefix(FieldId, Vec<u8>),
    /// The field matches this regex.
    Regex(FieldId, String),
    /// The address is in one of these ranges (canonical, one family each).
    Ips(FieldId, Vec<(IpAddr, IpAddr)>),
}

/// Every rule's anchor options, with their ranks, in one vector (a rule
/// offers one or two: no allocation each); the index picks one per rule,
/// knowing the whole set ([`RuleIndex::build`]).
#[derive(Debug, Default)]
pub(crate) struct AnchorOptions {
    /// Per rule: `None` when it is disabled (never a candidate), else where
    /// its options are in `all` (none: always a candidate).
    rules: Vec<Option<std::ops::Range<usize>>>,
    all: Vec<(u8, Anchor)>,
}

impl AnchorOptions {
    /// Room for `rules` rules.
    pub(crate) fn with_capacity(rules: usize) -> Self {
        AnchorOptions {
            rules: Vec::with_capacity(rules),
            all: Vec::with_capacity(rules + rules / 2),
        }
    }

    /// The next rule is disabled.
    pub(crate) fn push_disabled(&mut self) {
        self.rules.push(None);
    }

    /// The next rule offers the anchors of its (optimized) tree: those of
    /// its conjuncts.
    pub(crate) fn push_rule(&mut self, root: &Node) {
        let conjuncts = match root {
            Node::And(terms) => terms.as_slice(),
            other => std::slice::from_ref(other),
        };
        self.push(conjuncts.iter().filter_map(|c| match c {
            Node::Compare(cmp) => anchor_of_compare(cmp),
            _ => None,
        }));
    }

    /// The next rule offers `anchors`.
    fn push(&mut self, anchors: impl IntoIterator<Item = (u8, Anchor)>) {
        let start = self.all.len();
        self.all.extend(anchors);
        self.rules.push(Some(start..self.all.len()));
    }
}

/// Picks each rule's anchor: the one the fewest other rules share, so that
/// a request makes the fewest candidates (`path == "/x"` rather than
/// `method == "POST"`; `ua contains "bot7"` rather than `host == "a.com"`
/// when every rule of the set tests that host), with the rank as a small
/// extra cost (an equality is the cheapest lookup and the most exact).
fn choose(options: AnchorOptions) -> Vec<Option<Option<Anchor>>> {
    let picks = pick_anchors(&options);
    // The picked anchor moves out of the options.
    let mut all: Vec<Option<Anchor>> = options.all.into_iter().map(|(_, a)| Some(a)).collect();
    picks
        .into_iter()
        .map(|pick| pick.map(|k| k.and_then(|k| all.get_mut(k).and_then(Option::take))))
        .collect()
}

/// What two rules' anchors share when they are the same lookup: an
/// equality value, or the same needle, prefix, regex or address ranges.
#[derive(Debug, PartialEq, Eq, Hash)]
enum SharedKey<'a> {
    Value(FieldId, &'a [u8]),
    Contains(FieldId, &'a [u8]),
    Prefix(FieldId, &'a [u8]),
    Regex(FieldId, &'a str),
    Ips(FieldId, &'a [(IpAddr, IpAddr)]),
}

/// The extra cost of an anchor of each rank, in rules: a rarer anchor of a
/// higher rank wins over an equality that more than this many rules share.
const RANK_COST: [usize; 4] = [0, 1, 2, 4];

/// For each rule, the position in `options.all` of its best anchor.
fn pick_anchors(options: &AnchorOptions) -> Vec<Option<Option<usize>>> {
    // The keys of one anchor: each of its values for an equality, else one.
    fn keys(a: &Anchor) -> impl Iterator<Item = SharedKey<'_>> {
        let (values, other) = match a {
            Anchor::Eq(f, v) => (Some((*f, std::slice::from_ref(v))), None),
            Anchor::Bytes(f, values) => (Some((*f, values.as_slice())), None),
            Anchor::Contains(f, b) => (None, Some(SharedKey::Contains(*f, b))),
            Anchor::Prefix(f, b) => (None, Some(SharedKey::Prefix(*f, b))),
            Anchor::Regex(f, re) => (None, Some(SharedKey::Regex(*f, re))),
            Anchor::Ips(f, r) => (None, Some(SharedKey::Ips(*f, r))),
        };
        let values = values
            .into_iter()
            .flat_map(|(f, vs)| vs.iter().map(move |v| SharedKey::Value(f, v.as_slice())));
        values.chain(other)
    }
    let mut shared: HashMap<SharedKey<'_>, usize, FastHash> =
        HashMap::with_capacity_and_hasher(options.all.len(), FastHash::default());
    for (_, a) in &options.all {
        for k in keys(a) {
            *shared.entry(k).or_default() += 1;
        }
    }
    let cost = |rank: u8, a: &Anchor| {
        let rules: usize = keys(a).map(|k| shared.get(&k).copied().unwrap_or(0)).sum();
        rules + RANK_COST.get(usize::from(rank)).copied().unwrap_or(8)
    };
    options
        .rules
        .iter()
        .map(|range| {
            range.clone().map(|range| {
                let start = range.start;
                options.all.get(range).and_then(|opts| {
                    opts.iter()
                        .enumerate()
                        .min_by_key(|(_, (rank, a))| (cost(*rank, a), *rank))
                        .map(|(k, _)| start + k)
                })
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
        Test::Eq(Const::Bytes(b)) => (0, Anchor::Eq(id, b.to_vec())),
        Test::InBytes(items) if !items.is_empty() => (0, Anchor::Bytes(id, items.clone())),
        Test::Eq(Const::Ip(ip)) => (1, Anchor::Ips(id, vec![(*ip, *ip)])),
        Test::InIps(r) if !r.is_empty() => (1, Anchor::Ips(id, r.clone())),
        Test::Contains(b) if b.len() >= 3 => (2, Anchor::Contains(id, b.clone())),
        // A pattern that is a literal, or expands to literals, needs no regex
        // set: made only of whole values (`^(GET|HEAD)$`), it is an
        // equality; else it needs what its literals all start with, at the
        // start of the value when every one is anchored there.
        Test::Matches(re) => {
            let (lit, at_start) = match re.alternatives() {
                Some(alts) if !alts.is_empty() && alts.iter().all(|a| a.1 && a.2) => {
                    let values = alts.iter().map(|a| a.0.clone()).collect();
                    return Some((0, Anchor::Bytes(id, values)));
                }
                Some(alts) => (common_prefix(alts).to_vec(), alts.iter().all(|a| a.1)),
                None => match re.literal() {
                    Some((lit, true, true)) => return Some((0, Anchor::Eq(id, lit.clone()))),
                    Some((lit, start, _)) => (lit.clone(), *start),
                    None => (Vec::new(), false),
                },
            };
            match lit.len() {
                0..3 => (3, Anchor::Regex(id, re.as_str().to_string())),
                _ if at_start => (2, Anchor::Prefix(id, lit)),
                _ => (2, Anchor::Contains(id, lit)),
            }
        }
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

/// The rules under one key of an index, in order: most keys have one,
/// held without a vector.
#[derive(Debug, Clone)]
enum Rules {
    One(u32),
    Many(Vec<u32>),
}

impl Rules {
    /// Adds `rule` unless it is the last one already.
    fn add(&mut self, rule: u32) {
        match self {
            Rules::One(r) if *r == rule => {}
            Rules::One(r) => *self = Rules::Many(vec![*r, rule]),
            Rules::Many(v) => {
                if v.last() != Some(&rule) {
                    v.push(rule);
                }
            }
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Rules::One(r) => std::slice::from_ref(r),
            Rules::Many(v) => v,
        }
    }
}

/// Adds `rule` under `key` in `map`.
fn add_rule(map: &mut HashMap<Box<[u8]>, Rules, FastHash>, key: Vec<u8>, rule: u32) {
    map.entry(key.into_boxed_slice())
        .and_modify(|r| r.add(rule))
        .or_insert(Rules::One(rule));
}

/// Rules per byte-string value of one field.
#[derive(Debug, Clone)]
struct EqIndex {
    field: FieldId,
    map: HashMap<Box<[u8]>, Rules, FastHash>,
}

/// Rules per needle of one field, searched in one pass.
#[derive(Debug, Clone)]
struct ContainsIndex {
    field: FieldId,
    automaton: AhoCorasick,
    rules: Vec<Rules>,
}

/// Rules per prefix of one field: a lookup per prefix length.
#[derive(Debug, Clone)]
struct PrefixIndex {
    field: FieldId,
    /// The prefixes' lengths, ascending, each once.
    lens: Vec<usize>,
    map: HashMap<Box<[u8]>, Rules, FastHash>,
}

/// More prefix lengths than this on one field and its prefixes are
/// searched as substrings instead (one automaton pass, not a lookup each).
const MAX_PREFIX_LENGTHS: usize = 8;

/// Rules per regex of one field, searched one bounded set at a time.
#[derive(Debug, Clone)]
struct RegexIndex {
    field: FieldId,
    sets: Vec<RegexSet>,
}

/// Up to [`MAX_SET_PATTERNS`] patterns of one field, searched in one pass.
#[derive(Debug, Clone)]
struct RegexSet {
    set: meta::Regex,
    rules: Vec<u32>,
    /// Per pattern, the shared id of the rules' test of it (see
    /// [`RuleIndex::set_regex_ids`]): the set's search answers that test, so
    /// rules never run (nor compile) the regex themselves.
    ids: Vec<u32>,
}

/// Most patterns one regex set holds. A set's search state grows with its
/// patterns times its states, and its lazy DFA's states with the patterns
/// matching at once: small sets keep both small, at one pass per set.
const MAX_SET_PATTERNS: usize = 64;
/// Most compiled bytes (Thompson NFA, without captures) one regex set holds:
/// 64 patterns like `^/v[0-9]+/item123$` take ~54 KiB.
const MAX_SET_NFA_BYTES: usize = 96 * 1024;
/// A pattern compiling to more than this (`[a-z]{300}x`: ~7.6 KiB) joins no
/// set: its states would slow every search of the set and crowd its lazy
/// DFA. Its rule gets no regex anchor and runs the regex itself (a
/// candidate for every request, evaluated in rule order like any other).
const MAX_MERGED_PATTERN_BYTES: usize = 4 * 1024;
/// The lazy DFA cache of one set, per thread searching it (at least the
/// minimum a set of [`MAX_SET_NFA_BYTES`] needs; past it the DFA is reset,
/// and after too many resets the search runs on the PikeVM, whose state is
/// a few bytes per NFA state).
const SET_CACHE_BYTES: usize = 256 * 1024;

/// The regex syntax of the language (bytes, no Unicode classes).
fn regex_syntax() -> regex_automata::util::syntax::Config {
    regex_automata::util::syntax::Config::new()
        .unicode(false)
        .utf8(false)
}

/// The compiled size of `pattern` as a set holds it (its Thompson NFA
/// without captures), or `None` if it does not compile.
fn compiled_size(pattern: &str) -> Option<usize> {
    thompson::Compiler::new()
        .syntax(regex_syntax())
        .configure(thompson::Config::new().which_captures(WhichCaptures::None))
        .build(pattern)
        .ok()
        .map(|nfa| nfa.memory_usage())
}

/// One regex set over `patterns`, every engine bounded: no captures (the
/// search only asks which patterns match), no one-pass or backtracking
/// engine (they answer no overlapping search), an NFA capped at twice what
/// the chunking allows and a lazy DFA cache of [`SET_CACHE_BYTES`].
fn build_set(patterns: &[&str]) -> Option<meta::Regex> {
    meta::Builder::new()
        .syntax(regex_syntax())
        .configure(
            meta::Config::new()
                .match_kind(regex_automata::MatchKind::All)
                .utf8_empty(false)
                .which_captures(WhichCaptures::None)
                .onepass(false)
                .backtrack(false)
                .nfa_size_limit(Some(2 * MAX_SET_NFA_BYTES))
                .hybrid_cache_capacity(SET_CACHE_BYTES),
        )
        .build_many(patterns)
        .ok()
}

/// A regex anchor measured, before its field's sets are built.
struct PendingRegex {
    pattern: String,
    rule: u32,
    bytes: usize,
}

/// The rule at which the compiled size of a rule set's regex anchors went
/// past the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OverBudget {
    /// The rule's position in the set.
    pub(crate) rule: usize,
    /// The total compiled size up to and including that rule's regex.
    pub(crate) total: usize,
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
    prefixes: Vec<PrefixIndex>,
    contains: Vec<ContainsIndex>,
    regexes: Vec<RegexIndex>,
    ips: Vec<IpIndex>,
    /// Number of rule slots.
    len: usize,
}

/// Needles of one field and the rules of each, before the automaton is built.
type PendingContains = (FieldId, Vec<Vec<u8>>, Vec<Rules>);
/// Prefixes of one field, each with its rule, before the index is built.
type PendingPrefixes = (FieldId, Vec<(Vec<u8>, u32)>);
/// Address ranges (v4, v6) of one field with their rules.
type PendingIps = (FieldId, Vec<(u32, u32, u32)>, Vec<(u128, u128, u32)>);

/// Adds `rule` under each of `values` on `field`.
fn add_values(
    eq: &mut Vec<EqIndex>,
    field: FieldId,
    values: impl IntoIterator<Item = Vec<u8>>,
    rule: u32,
) {
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
        add_rule(&mut eq[slot].map, v, rule);
    }
}

/// Adds `rule` under `needle` on `field`, the needle once per field
/// (`needle_at` says where each already is).
fn add_needle(
    contains: &mut Vec<PendingContains>,
    needle_at: &mut HashMap<(FieldId, Vec<u8>), usize, FastHash>,
    field: FieldId,
    needle: Vec<u8>,
    rule: u32,
) {
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
                list.add(rule);
            }
        }
        std::collections::hash_map::Entry::Vacant(v) => {
            needles.push(v.key().1.clone());
            rules.push(Rules::One(rule));
            v.insert(needles.len() - 1);
        }
    }
}

thread_local! {
    /// A reused pattern set for regex-set searches (allocated once per
    /// thread, [`MAX_SET_PATTERNS`] bits: every set fits).
    static PATTERNS: RefCell<PatternSet> = RefCell::new(PatternSet::new(0));
}

impl RuleIndex {
    /// Builds the index from the anchors each rule offers.
    /// Also returns the regex anchors' keys, in the order
    /// [`RuleIndex::set_regex_ids`] takes their ids. Fails when the regexes
    /// rules anchor on compile to more than `regex_budget` bytes in all.
    pub(crate) fn build(
        options: AnchorOptions,
        regex_budget: usize,
    ) -> Result<(RuleIndex, Vec<(FieldId, String)>), OverBudget> {
        let mut keys = Vec::new();
        let anchors = choose(options);
        let n = anchors.len();
        let mut always = Bits::new(n);
        let mut eq: Vec<EqIndex> = Vec::new();
        let mut contains: Vec<PendingContains> = Vec::new();
        let mut regexes: Vec<(FieldId, Vec<PendingRegex>)> = Vec::new();
        let mut regex_bytes = 0usize;
        let mut ips: Vec<PendingIps> = Vec::new();
        let mut prefixes: Vec<PendingPrefixes> = Vec::new();
        // Where each (field, needle) already is, so a needle many rules
        // share is found without scanning the field's needles.
        let mut needle_at: HashMap<(FieldId, Vec<u8>), usize, FastHash> = HashMap::default();
        for (k, a) in anchors.into_iter().enumerate() {
            let rule = k as u32;
            match a {
                None => {}
                Some(None) => always.set(k),
                Some(Some(Anchor::Eq(field, value))) => add_values(&mut eq, field, [value], rule),
                Some(Some(Anchor::Bytes(field, values))) => {
                    add_values(&mut eq, field, values, rule)
                }
                Some(Some(Anchor::Contains(field, needle))) => {
                    add_needle(&mut contains, &mut needle_at, field, needle, rule);
                }
                Some(Some(Anchor::Prefix(field, prefix))) => {
                    match prefixes.iter_mut().find(|p| p.0 == field) {
                        Some((_, list)) => list.push((prefix, rule)),
                        None => prefixes.push((field, vec![(prefix, rule)])),
                    }
                }
                Some(Some(Anchor::Regex(field, pattern))) => {
                    // Measured in rule order, so the rule past the budget
                    // is the one named.
                    let Some(bytes) = compiled_size(&pattern) else {
                        always.set(k);
                        continue;
                    };
                    regex_bytes = regex_bytes.saturating_add(bytes);
                    if regex_bytes > regex_budget {
                        return Err(OverBudget {
                            rule: k,
                            total: regex_bytes,
                        });
                    }
                    if bytes > MAX_MERGED_PATTERN_BYTES {
                        always.set(k);
                        continue;
                    }
                    let slot = match regexes.iter().position(|r| r.0 == field) {
                        Some(p) => p,
                        None => {
                            regexes.push((field, Vec::new()));
                            regexes.len() - 1
                        }
                    };
                    regexes[slot].1.push(PendingRegex {
                        pattern,
                        rule,
                        bytes,
                    });
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
        for (field, list) in prefixes {
            let mut lens: Vec<usize> = list.iter().map(|(p, _)| p.len()).collect();
            lens.sort_unstable();
            lens.dedup();
            if lens.len() > MAX_PREFIX_LENGTHS {
                // A value starts with a prefix only if it contains it.
                for (prefix, rule) in list {
                    add_needle(&mut contains, &mut needle_at, field, prefix, rule);
                }
                continue;
            }
            let mut map: HashMap<Box<[u8]>, Rules, FastHash> = HashMap::default();
            for (prefix, rule) in list {
                add_rule(&mut map, prefix, rule);
            }
            index.prefixes.push(PrefixIndex { field, lens, map });
        }
        for (field, needles, rules) in contains {
            match AhoCorasick::new(&needles) {
                Ok(automaton) => index.contains.push(ContainsIndex {
                    field,
                    automaton,
                    rules,
                }),
                Err(_) => rules
                    .iter()
                    .flat_map(Rules::as_slice)
                    .for_each(|&r| index.set_always(r)),
            }
        }
        for (field, pending) in regexes {
            let mut sets = Vec::new();
            let mut rest = pending.as_slice();
            while !rest.is_empty() {
                // As many patterns as fit one set, at least one.
                let mut bytes = 0;
                let take = rest
                    .iter()
                    .take(MAX_SET_PATTERNS)
                    .take_while(|p| {
                        bytes += p.bytes;
                        bytes <= MAX_SET_NFA_BYTES
                    })
                    .count()
                    .max(1);
                let (chunk, after) = rest.split_at(take);
                rest = after;
                let patterns: Vec<&str> = chunk.iter().map(|p| p.pattern.as_str()).collect();
                match build_set(&patterns) {
                    Some(set) => {
                        keys.extend(chunk.iter().map(|p| (field, p.pattern.clone())));
                        sets.push(RegexSet {
                            set,
                            rules: chunk.iter().map(|p| p.rule).collect(),
                            ids: vec![crate::vm::NOT_SHARED; chunk.len()],
                        });
                    }
                    None => chunk.iter().for_each(|p| index.set_always(p.rule)),
                }
            }
            if !sets.is_empty() {
                index.regexes.push(RegexIndex { field, sets });
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
        Ok((index, keys))
    }

    /// The shared ids of the regex anchors' tests, in the order of the keys
    /// [`RuleIndex::build`] returned ([`NOT_SHARED`](crate::vm::NOT_SHARED)
    /// for one without an id).
    pub(crate) fn set_regex_ids(&mut self, ids: &[u32]) {
        let mut ids = ids.iter();
        for x in self.regexes.iter_mut().flat_map(|x| &mut x.sets) {
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
                    mark(rules.as_slice());
                }
            });
        }
        for x in &self.prefixes {
            with_bytes(req, x.field, |b| {
                for &len in &x.lens {
                    let Some(head) = b.get(..len) else {
                        break;
                    };
                    if let Some(rules) = x.map.get(head) {
                        mark(rules.as_slice());
                    }
                }
            });
        }
        for c in &self.contains {
            with_bytes(req, c.field, |b| {
                for m in c.automaton.find_overlapping_iter(b) {
                    if let Some(rules) = c.rules.get(m.pattern().as_usize()) {
                        mark(rules.as_slice());
                    }
                }
            });
        }
        for x in &self.regexes {
            with_bytes(req, x.field, |b| {
                let input = Input::new(b);
                let mut run = |set: &mut PatternSet| {
                    for chunk in &x.sets {
                        set.clear();
                        chunk.set.which_overlapping_matches(&input, set);
                        for pid in set.iter() {
                            if let Some(&r) = chunk.rules.get(pid.as_usize()) {
                                mark(&[r]);
                            }
                        }
                        // Every pattern was searched for: matched or not,
                        // its test's outcome is known.
                        for (k, &id) in chunk.ids.iter().enumerate() {
                            let hit =
                                regex_automata::PatternID::new(k).is_ok_and(|p| set.contains(p));
                            tests.record(id, hit);
                        }
                    }
                };
                let reused = PATTERNS.with(|p| match p.try_borrow_mut() {
                    Ok(mut set) => {
                        if set.capacity() < MAX_SET_PATTERNS {
                            *set = PatternSet::new(MAX_SET_PATTERNS);
                        }
                        run(&mut set);
                        true
                    }
                    Err(_) => false,
                });
                if !reused {
                    run(&mut PatternSet::new(MAX_SET_PATTERNS));
                }
            });
        }
        for i in &self.ips {
            let ip = match req.scalar(i.field) {
                s @ (Scalar::Ip4(_) | Scalar::Ip6(_)) => s.as_ip(),
                Scalar::Composite => match req.get(i.field) {
                    crate::types::Val::Ip(ip) => Some(ip),
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
            if let crate::types::Val::Bytes(b) = req.get(field) {
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

    /// The anchors a rule offers, as `kind text`.
    fn anchors_text(expr: &str) -> Vec<String> {
        let schema = crate::Schema::default_http();
        let mut root = crate::Compiler::new(&schema)
            .check(expr)
            .unwrap()
            .typed
            .root;
        crate::compile::optimize::optimize_in_place(&mut root);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut options = AnchorOptions::default();
        options.push_rule(&root);
        options
            .all
            .into_iter()
            .map(|(_, a)| match a {
                Anchor::Eq(..) => "eq 1".to_string(),
                Anchor::Bytes(_, v) => format!("eq {}", v.len()),
                Anchor::Contains(_, n) => format!("contains {}", text(&n)),
                Anchor::Prefix(_, p) => format!("prefix {}", text(&p)),
                Anchor::Regex(_, r) => format!("regex {r}"),
                Anchor::Ips(..) => "ips".to_string(),
            })
            .collect()
    }

    #[test]
    fn literal_patterns_anchor_on_a_prefix_or_a_substring() {
        let path = "http.request.uri.path matches";
        for (pattern, want) in [
            (r#""^/api/v3/item1(/|$)""#, "prefix /api/v3/item1"),
            (r#""^/admin""#, "prefix /admin"),
            (r#""^/admin$""#, "eq 1"),
            (r#""^(GET|HEAD)$""#, "eq 2"),
            (r#""curl""#, "contains curl"),
            (r#""\.php$""#, "contains .php"),
            (r#""^(/ad|/bc)x""#, "regex ^(/ad|/bc)x"),
            (r#""^(/ab|/ab/c)|zz/ab""#, "regex ^(/ab|/ab/c)|zz/ab"),
            (r#""^/a""#, "regex ^/a"),
            (r#""^/v[0-9]+/""#, "regex ^/v[0-9]+/"),
        ] {
            let expr = format!("{path} {pattern}");
            assert_eq!(anchors_text(&expr), [want], "{expr}");
        }
    }

    /// Rules anchored on prefixes of `lens` lengths (rule `k` on `"/" +
    /// "a" * lens[k]`), and the rules each path would make candidates.
    fn candidates_by_prefix(lens: &[usize], paths: &[&str]) -> (RuleIndex, Vec<Vec<u32>>) {
        let schema = crate::Schema::default_http();
        let field = schema.field_id("http.request.uri.path").unwrap();
        let mut options = AnchorOptions::default();
        for &n in lens {
            let prefix = format!("/{}", "a".repeat(n)).into_bytes();
            options.push([(2, Anchor::Prefix(field, prefix))]);
        }
        let (index, _) = RuleIndex::build(options, usize::MAX).unwrap();
        let found = path_candidates(&index, &schema, paths);
        (index, found)
    }

    #[test]
    fn prefixes_are_looked_up_by_length_and_many_lengths_become_substrings() {
        let paths = ["/aaa", "/aaaaaa/x", "/b/aaaa", "/", ""];
        // Rule k holds when the path starts with "/" and lens[k] a's.
        let want_prefix = |lens: &[usize]| -> Vec<Vec<u32>> {
            paths
                .iter()
                .map(|p| {
                    (0..lens.len() as u32)
                        .filter(|&k| p.starts_with(&format!("/{}", "a".repeat(lens[k as usize]))))
                        .collect()
                })
                .collect()
        };
        let few = [3, 4, 3, 6, 9];
        let (index, found) = candidates_by_prefix(&few, &paths);
        assert_eq!(index.prefixes.len(), 1);
        assert!(index.contains.is_empty());
        assert_eq!(found, want_prefix(&few));
        // Past the cap on lengths, the prefixes are searched as substrings:
        // every rule whose prefix is anywhere in the path is a candidate.
        let many: Vec<usize> = (3..=3 + MAX_PREFIX_LENGTHS).collect();
        let (index, found) = candidates_by_prefix(&many, &paths);
        assert!(index.prefixes.is_empty());
        assert_eq!(index.contains.len(), 1);
        let want: Vec<Vec<u32>> = paths
            .iter()
            .map(|p| {
                (0..many.len() as u32)
                    .filter(|&k| p.contains(&format!("/{}", "a".repeat(many[k as usize]))))
                    .collect()
            })
            .collect();
        assert_eq!(found, want);
    }

    /// The candidates `index` names for a request of each path.
    fn path_candidates(index: &RuleIndex, schema: &crate::Schema, paths: &[&str]) -> Vec<Vec<u32>> {
        paths
            .iter()
            .map(|path| {
                let mut cx = crate::Context::new(schema);
                cx.set("http.request.uri.path", (*path).into()).unwrap();
                let mut out = vec![0u64; index.len().div_ceil(64)];
                let (mut known, mut value) = ([0u64; 1], [0u64; 1]);
                let mut tests = crate::vm::SharedTests {
                    known: &mut known[..0],
                    value: &mut value[..0],
                };
                index.candidates(&cx, &mut out, &mut tests);
                (0..index.len() as u32)
                    .filter(|&r| out[r as usize / 64] >> (r % 64) & 1 != 0)
                    .collect()
            })
            .collect()
    }

    /// The rules each path makes candidates, for an index over `anchors`.
    fn candidates_of(anchors: Vec<Anchor>, paths: &[&str]) -> (RuleIndex, Vec<Vec<u32>>) {
        let schema = crate::Schema::default_http();
        let mut options = AnchorOptions::default();
        for a in anchors {
            options.push([(3, a)]);
        }
        let (index, keys) = RuleIndex::build(options, usize::MAX).unwrap();
        let patterns: usize = index
            .regexes
            .iter()
            .flat_map(|x| &x.sets)
            .map(|s| s.rules.len())
            .sum();
        assert_eq!(keys.len(), patterns);
        let found = path_candidates(&index, &schema, paths);
        (index, found)
    }

    #[test]
    fn regex_anchors_are_split_into_bounded_sets_and_large_ones_left_out() {
        let schema = crate::Schema::default_http();
        let field = schema.field_id("http.request.uri.path").unwrap();
        // (pattern, whether it joins a set): every fourth one is large.
        let patterns: Vec<(String, bool)> = (0..200)
            .map(|k| match k % 4 {
                3 => (format!("[a-z]{{{}}}x", 300 + k), false),
                _ => (format!("^/v[0-9]+/item{k}$"), true),
            })
            .collect();
        let anchors = patterns
            .iter()
            .map(|(p, _)| Anchor::Regex(field, p.clone()))
            .collect();
        let paths = ["/v1/item0", "/v22/item150", "/v1/item3", "/x"];
        let (index, found) = candidates_of(anchors, &paths);
        let sets = &index.regexes[0].sets;
        assert_eq!(index.regexes.len(), 1);
        assert_eq!(sets.len(), 150usize.div_ceil(MAX_SET_PATTERNS));
        for s in sets {
            assert!(s.rules.len() <= MAX_SET_PATTERNS);
            assert_eq!(s.set.pattern_len(), s.rules.len());
        }
        // A path's candidates: the large patterns' rules, always, and the
        // rule whose small pattern it matches.
        for (path, found) in paths.iter().zip(found) {
            let want: Vec<u32> = (0..200u32)
                .filter(|&k| {
                    let (_, merged) = &patterns[k as usize];
                    !merged || *path == format!("/v1/item{k}") || *path == format!("/v22/item{k}")
                })
                .collect();
            assert_eq!(found, want, "{path}");
        }
    }
}
