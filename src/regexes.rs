//! Compiled regexes, shared: a pattern that many rules use is compiled and
//! stored once per [`Compiler`](crate::Compiler).

use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::ast::{AssertionKind, Ast, ClassSet, ClassSetItem, GroupKind};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Compiled regexes by pattern, then by size limit (almost always one), so
/// a lookup borrows the pattern instead of allocating a key. The cache
/// holds them weakly: a regex lives as long as a filter uses it, so a
/// long-lived compiler does not keep every pattern it ever saw.
type ByPattern = HashMap<Box<str>, Vec<Entry>, crate::hash::FastHash>;

/// One compiled regex: its size limit, the regex (held weakly), and the
/// states of its program (see [`nfa_states`]).
type Entry = (usize, Weak<Regex>, usize);

/// The table and when to sweep it next.
#[derive(Default)]
struct Table {
    by_pattern: ByPattern,
    /// Entries (live or dead) at which the next insertion first drops the
    /// dead ones: twice the live count after the last sweep, so sweeping
    /// costs O(1) per insertion amortized and dead entries never outnumber
    /// live ones by more than that.
    sweep_at: usize,
    entries: usize,
}

/// Regexes by pattern and size limit; clones share the cache.
///
/// The shared table is only allocated when first needed (a pattern to
/// compile, or a clone to share it with), so a compiler that never meets a
/// regex never builds one.
#[derive(Default)]
pub struct RegexCache(OnceLock<Arc<Mutex<Table>>>);

impl Clone for RegexCache {
    fn clone(&self) -> Self {
        RegexCache(OnceLock::from(self.shared().clone()))
    }
}

impl fmt::Debug for RegexCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegexCache({} patterns)", self.len())
    }
}

impl RegexCache {
    /// The compiled regex for `pattern` (byte mode, case-sensitive, Unicode
    /// off unless the pattern turns it on), compiling it unless a live
    /// filter already holds it.
    pub fn get(&self, pattern: &str, size_limit: usize) -> Result<Arc<Regex>, regex::Error> {
        self.get_with_states(pattern, size_limit).map(|(re, _)| re)
    }

    /// [`RegexCache::get`], with the number of states of the regex's
    /// program, counted once when it is compiled.
    pub fn get_with_states(
        &self,
        pattern: &str,
        size_limit: usize,
    ) -> Result<(Arc<Regex>, usize), regex::Error> {
        let cached = |t: &Table| {
            t.by_pattern
                .get(pattern)?
                .iter()
                .find(|(limit, ..)| *limit == size_limit)
                .and_then(|(_, re, states)| Some((re.upgrade()?, *states)))
        };
        if let Some(hit) = cached(&self.lock()) {
            return Ok(hit);
        }
        // Built outside the lock; a racing thread's copy wins if it is first.
        let re = Arc::new(build(pattern, size_limit)?);
        let states = nfa_states(pattern);
        let mut t = self.lock();
        if let Some(hit) = cached(&t) {
            return Ok(hit);
        }
        if t.entries >= t.sweep_at {
            t.by_pattern.retain(|_, v| {
                v.retain(|(_, re, _)| re.strong_count() > 0);
                !v.is_empty()
            });
            t.entries = t.by_pattern.values().map(Vec::len).sum();
            t.sweep_at = (2 * t.entries).max(64);
        }
        let slot = t.by_pattern.entry(pattern.into()).or_default();
        match slot.iter_mut().find(|(limit, ..)| *limit == size_limit) {
            Some(dead) => *dead = (size_limit, Arc::downgrade(&re), states),
            None => {
                slot.push((size_limit, Arc::downgrade(&re), states));
                t.entries += 1;
            }
        }
        Ok((re, states))
    }

    /// Number of distinct (pattern, size limit) pairs compiled that a live
    /// filter still uses.
    pub fn len(&self) -> usize {
        match self.0.get() {
            Some(_) => self
                .lock()
                .by_pattern
                .values()
                .flatten()
                .filter(|(_, re, _)| re.strong_count() > 0)
                .count(),
            None => 0,
        }
    }

    fn shared(&self) -> &Arc<Mutex<Table>> {
        self.0.get_or_init(Arc::default)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        match self.shared().lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Entries held, live or dead (for tests of the sweep).
    #[cfg(test)]
    fn entries(&self) -> usize {
        self.0.get().map_or(0, |_| self.lock().entries)
    }
}

/// The states of `pattern`'s Thompson NFA, as the language configures it
/// (no captures): what a search steps through per byte of the value at
/// worst, when the lazy DFA gives up and the PikeVM runs. 0 for a pattern
/// that does not compile.
pub fn nfa_states(pattern: &str) -> usize {
    use regex_automata::nfa::thompson;
    thompson::Compiler::new()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
        .build(pattern)
        .map_or(0, |nfa| nfa.states().len())
}

/// Compiles a regex the way the language defines them.
pub fn build(pattern: &str, size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(size_limit)
        .dfa_size_limit(size_limit)
        .build()
}

/// The pattern of a `matches` test. Checking compiles it (through the
/// cache), except when it is a plain literal (`^/admin`, `\.php$`): the
/// compiler tests those as bytes, and the regex is only built if something
/// asks for it. Such a pattern always compiles (the checker skips only those
/// far inside the size limit), so building it later cannot fail in practice.
#[derive(Clone)]
pub struct Pattern {
    /// The source of a deferred pattern (empty once given compiled).
    source: Box<str>,
    size_limit: usize,
    compiled: OnceLock<Arc<Regex>>,
    /// For a deferred pattern that is literals: what they are (read once,
    /// when the pattern is checked).
    literals: Option<Box<[LiteralAlt]>>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

impl Pattern {
    /// A pattern already compiled.
    pub fn compiled(re: Arc<Regex>) -> Pattern {
        Pattern {
            source: Box::default(),
            size_limit: 0,
            compiled: OnceLock::from(re),
            literals: None,
        }
    }

    /// A pattern that is the literals `literals` (see
    /// [`literal_alternatives`]), compiled on first use with this size limit.
    pub fn deferred(source: &str, size_limit: usize, literals: Vec<LiteralAlt>) -> Pattern {
        Pattern {
            source: source.into(),
            size_limit,
            compiled: OnceLock::new(),
            literals: Some(literals.into_boxed_slice()),
        }
    }

    /// The alternatives of a pattern that is several literals (or none).
    pub fn alternatives(&self) -> Option<&[LiteralAlt]> {
        self.literals.as_deref().filter(|l| l.len() != 1)
    }

    /// The literal of a pattern that is one, optionally anchored.
    pub fn literal(&self) -> Option<&LiteralAlt> {
        match self.literals.as_deref() {
            Some([one]) => Some(one),
            _ => None,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        match self.compiled.get() {
            Some(re) => re.as_str(),
            None => &self.source,
        }
    }

    /// The compiled regex (built now if it was deferred); `None` only if a
    /// deferred pattern fails to build.
    pub fn regex(&self) -> Option<&Arc<Regex>> {
        if let Some(re) = self.compiled.get() {
            return Some(re);
        }
        let re = build(&self.source, self.size_limit).ok()?;
        Some(self.compiled.get_or_init(|| Arc::new(re)))
    }

    /// Whether `haystack` matches (false if a deferred pattern fails to build).
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.regex().is_some_and(|re| re.is_match(haystack))
    }
}

/// One way a finite literal pattern can match: `(bytes, anchored at the
/// start, anchored at the end)`. Unanchored means "anywhere" (contains), as
/// with the regex.
pub type LiteralAlt = (Vec<u8>, bool, bool);

/// Most alternatives [`literal_alternatives`] expands a pattern to.
const MAX_ALTERNATIVES: usize = 16;
/// Most members one bracketed class may have to be read as alternatives
/// (`[ch]`; `[a-z]` stays a regex).
const MAX_CLASS: usize = 4;
/// Deepest nesting it reads (far inside the regex parser's own limit).
const MAX_NEST: u32 = 16;

/// One alternative as read so far: `^`, then bytes, then `$`. Anything
/// else (a `^` after a byte, a byte after a `$`) is no literal.
#[derive(Clone, Default)]
struct Alt {
    bytes: Vec<u8>,
    start: bool,
    end: bool,
}

impl Alt {
    /// `self` followed by `next`, when that is still one literal.
    fn then(&self, next: &Alt) -> Option<Alt> {
        if (next.start && (!self.bytes.is_empty() || self.end))
            || (self.end && !next.bytes.is_empty())
        {
            return None;
        }
        let mut bytes = Vec::with_capacity(self.bytes.len() + next.bytes.len());
        bytes.extend_from_slice(&self.bytes);
        bytes.extend_from_slice(&next.bytes);
        Some(Alt {
            bytes,
            start: self.start || next.start,
            end: self.end || next.end,
        })
    }
}

/// When `pattern` only matches a few literal strings, each optionally
/// anchored (`^/api/v3/item42(/|$)`, `^(GET|HEAD)$`, `\\.(php|asp)$`,
/// `\\.[ch]$`): those alternatives, so that the pattern can be tested as
/// bytes. The pattern is parsed by `regex-syntax` (the parser of the regex
/// engine itself); its syntax tree is read as literals when it is made only
/// of literal characters, groups without flags, alternations, small
/// bracketed classes, and `^`/`$` where they anchor a whole alternative
/// (the language's regexes are not multi-line, and no flag can make them
/// so here). `None` for anything else, a pattern that does not parse, or one
/// that matches more than [`MAX_ALTERNATIVES`] literals.
pub fn literal_alternatives(pattern: &str) -> Option<Vec<LiteralAlt>> {
    thread_local! {
        // A parser keeps its scratch buffers from one pattern to the next.
        static PARSER: std::cell::RefCell<regex_syntax::ast::parse::Parser> = std::cell::RefCell::new(
            regex_syntax::ast::parse::ParserBuilder::new().nest_limit(MAX_NEST).build(),
        );
    }
    let ast = PARSER.with(|p| p.try_borrow_mut().ok()?.parse(pattern).ok())?;
    let alts = expand(&ast)?;
    Some(
        alts.into_iter()
            .map(|a| (a.bytes, a.start, a.end))
            .collect(),
    )
}

/// Every literal `ast` matches, with its anchors (the nesting limit of the
/// parse bounds the recursion).
fn expand(ast: &Ast) -> Option<Vec<Alt>> {
    let one = |alt: Alt| Some(vec![alt]);
    match ast {
        Ast::Empty(_) => one(Alt::default()),
        Ast::Literal(lit) => one(Alt {
            bytes: literal_bytes(lit)?,
            ..Alt::default()
        }),
        Ast::Assertion(a) => match a.kind {
            AssertionKind::StartLine | AssertionKind::StartText => one(Alt {
                start: true,
                ..Alt::default()
            }),
            AssertionKind::EndLine | AssertionKind::EndText => one(Alt {
                end: true,
                ..Alt::default()
            }),
            _ => None,
        },
        Ast::ClassBracketed(class) if !class.negated => match &class.kind {
            ClassSet::Item(item) => Some(
                class_members(item)?
                    .into_iter()
                    .map(|bytes| Alt {
                        bytes,
                        ..Alt::default()
                    })
                    .collect(),
            ),
            ClassSet::BinaryOp(_) => None,
        },
        Ast::Group(g) => match &g.kind {
            GroupKind::NonCapturing(flags) if !flags.items.is_empty() => None,
            _ => expand(&g.ast),
        },
        Ast::Concat(c) => {
            let mut out = vec![Alt::default()];
            for item in &c.asts {
                // A literal character extends every alternative in place
                // (most of a pattern's items).
                if let Ast::Literal(lit) = item {
                    let mut buf = [0; 4];
                    let bytes = literal_utf8(lit, &mut buf)?;
                    for a in &mut out {
                        if a.end {
                            return None;
                        }
                        a.bytes.extend_from_slice(bytes);
                    }
                    continue;
                }
                let next = expand(item)?;
                if out.len() * next.len() > MAX_ALTERNATIVES {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|a| next.iter().map(move |b| a.then(b)))
                    .collect::<Option<_>>()?;
            }
            Some(out)
        }
        Ast::Alternation(alt) => {
            let mut out = Vec::new();
            for item in &alt.asts {
                out.extend(expand(item)?);
                if out.len() > MAX_ALTERNATIVES {
                    return None;
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// The bytes a literal character matches: itself, in UTF-8 (an escape
/// that names a byte above ASCII, which matches that byte, is left to the
/// regex).
fn literal_bytes(lit: &regex_syntax::ast::Literal) -> Option<Vec<u8>> {
    literal_utf8(lit, &mut [0; 4]).map(<[u8]>::to_vec)
}

/// [`literal_bytes`], encoded into `buf`.
fn literal_utf8<'b>(lit: &regex_syntax::ast::Literal, buf: &'b mut [u8; 4]) -> Option<&'b [u8]> {
    use regex_syntax::ast::LiteralKind;
    let byte_escape = matches!(
        lit.kind,
        LiteralKind::HexFixed(_) | LiteralKind::HexBrace(_) | LiteralKind::Octal
    );
    if !lit.c.is_ascii() && byte_escape {
        return None;
    }
    Some(lit.c.encode_utf8(buf).as_bytes())
}

/// The members of a bracketed class made of literals and ranges, at most
/// [`MAX_CLASS`] of them.
fn class_members(item: &ClassSetItem) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let items = match item {
        ClassSetItem::Union(u) => u.items.as_slice(),
        other => std::slice::from_ref(other),
    };
    for item in items {
        match item {
            ClassSetItem::Literal(lit) => out.push(literal_bytes(lit)?),
            ClassSetItem::Range(r) => {
                let (lo, hi) = (u32::from(r.start.c), u32::from(r.end.c));
                if hi.saturating_sub(lo) as usize >= MAX_CLASS {
                    return None;
                }
                for c in (lo..=hi).filter_map(char::from_u32) {
                    let lit = regex_syntax::ast::Literal {
                        c,
                        ..r.start.clone()
                    };
                    out.push(literal_bytes(&lit)?);
                }
            }
            _ => return None,
        }
        if out.len() > MAX_CLASS {
            return None;
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// `(literal bytes, anchored at start, anchored at end)` when `pattern` is
/// one literal, optionally anchored (checked patterns carry theirs:
/// [`Pattern::literal`]).
#[cfg(test)]
fn regex_literal(pattern: &str) -> Option<LiteralAlt> {
    let mut alts = literal_alternatives(pattern)?;
    if alts.len() == 1 { alts.pop() } else { None }
}

/// Whether `pattern` is one literal, optionally anchored (what
/// [`regex_literal`] reads).
#[cfg(test)]
fn is_regex_literal(pattern: &str) -> bool {
    regex_literal(pattern).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_regexes_become_byte_tests() {
        type Case<'a> = (&'a str, Option<(&'a [u8], bool, bool)>);
        let cases: &[Case] = &[
            ("^/admin", Some((b"/admin", true, false))),
            ("curl", Some((b"curl", false, false))),
            ("\\.php$", Some((b".php", false, true))),
            ("^GET$", Some((b"GET", true, true))),
            ("a.c", None),
            ("^/v[0-9]+", None),
            ("\\d", None),
            ("(?i)abc", None),
            ("a$b", None),
            ("\\<word\\>", None),
        ];
        for (pattern, want) in cases {
            assert_eq!(is_regex_literal(pattern), want.is_some(), "{pattern}");
            let got = regex_literal(pattern);
            assert_eq!(
                got.as_ref().map(|(l, s, e)| (l.as_slice(), *s, *e)),
                *want,
                "{pattern}"
            );
        }
    }

    /// The checker leaves literal patterns uncompiled, on the grounds that
    /// every one compiles well inside its size-limit margin.
    #[test]
    fn every_literal_regex_compiles_within_the_margin() {
        let mut patterns: Vec<String> = Vec::new();
        for b in 0u8..128 {
            let c = b as char;
            patterns.push(format!("^\\{c}x$"));
            patterns.push(format!("a{c}"));
        }
        patterns.extend(["".into(), "é日本\u{10ffff}".into(), "^".into(), "$".into()]);
        patterns.push(format!("^{}$", "\\.é".repeat(1000)));
        for p in &patterns {
            if !is_regex_literal(p) {
                continue;
            }
            let limit = 64 * p.len() + 4096;
            assert!(
                crate::regexes::build(p, limit).is_ok(),
                "{p:?} fails at size limit {limit}"
            );
        }
    }

    /// What the alternatives say about `h`.
    fn alternatives_match(alts: &[LiteralAlt], h: &[u8]) -> bool {
        alts.iter().any(|(lit, start, end)| match (start, end) {
            (true, true) => h == lit.as_slice(),
            (true, false) => h.starts_with(lit),
            (false, true) => h.ends_with(lit),
            (false, false) => lit.is_empty() || h.windows(lit.len()).any(|w| w == lit.as_slice()),
        })
    }

    #[test]
    fn the_cache_compiles_a_pattern_once_per_size_limit() {
        let cache = RegexCache::default();
        let a = cache.get("a+b", 1 << 20).unwrap();
        let again = cache.get("a+b", 1 << 20).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        let other_limit = cache.get("a+b", 1 << 21).unwrap();
        assert!(!Arc::ptr_eq(&a, &other_limit));
        let _held = cache.get("c+d", 1 << 20).unwrap();
        assert_eq!(cache.len(), 3);
        assert!(cache.get("(", 1 << 20).is_err());
        assert_eq!(cache.len(), 3, "a pattern that fails is not stored");
    }

    #[test]
    fn the_cache_holds_only_what_live_filters_use() {
        let cache = RegexCache::default();
        let kept: Vec<_> = (0..10)
            .map(|k| cache.get(&format!("k{k}+"), 1 << 20).unwrap())
            .collect();
        for k in 0..10_000 {
            // Compiled and dropped at once, as a filter compiled and dropped.
            drop(cache.get(&format!("p{k}+"), 1 << 20).unwrap());
        }
        assert_eq!(cache.len(), kept.len());
        assert!(
            cache.entries() <= 2 * 64,
            "{} entries held",
            cache.entries()
        );
        // A dropped pattern compiles again; a kept one is the same regex.
        assert!(Arc::ptr_eq(&cache.get("k3+", 1 << 20).unwrap(), &kept[3]));
        assert!(cache.get("p7+", 1 << 20).is_ok());
    }

    #[test]
    fn literal_alternatives_read_the_examples() {
        let alts = literal_alternatives("^/api/v3/item42(/|$)").unwrap();
        assert_eq!(
            alts,
            vec![
                (b"/api/v3/item42/".to_vec(), true, false),
                (b"/api/v3/item42".to_vec(), true, true)
            ]
        );
        let alts = literal_alternatives("^(?:GET|HEAD)$").unwrap();
        assert!(alts.iter().all(|a| a.1 && a.2));
        for p in [
            "a+",
            "a\\<",
            "a(b",
            "a)b",
            "a^b",
            "$a",
            "\\d",
            "a.b",
            "(a|b){2}",
            "(?i)abcde",
            "[a-z]",
        ] {
            assert!(literal_alternatives(p).is_none(), "{p}");
        }
        // Small bracketed classes are alternatives too.
        for (p, n) in [("[ab]", 2), ("[a-c]", 3), ("\\.[ch]$", 2), ("(a|b)", 2)] {
            assert_eq!(literal_alternatives(p).map(|a| a.len()), Some(n), "{p}");
        }
    }

    /// Every pattern read as literals matches exactly what the regex matches,
    /// and compiles inside the margin the checker relies on.
    #[test]
    fn literal_alternatives_agree_with_the_regex() {
        const TOKENS: &[&str] = &[
            "a", "b", "/", "\\.", "ab", "(", ")", "(?:", "|", "^", "$", "é", "\\$", "[ab]", "[.$]",
        ];
        let mut haystacks: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for h in &last {
                for c in [b'a', b'b', b'/', b'.', b'$'] {
                    let mut v: Vec<u8> = h.clone();
                    v.push(c);
                    next.push(v);
                }
            }
            haystacks.extend(next.iter().cloned());
            last = next;
        }
        haystacks.push("aé".as_bytes().to_vec());
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut read = 0;
        for _ in 0..20_000 {
            let mut p = String::new();
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let n = (seed >> 60) as usize % 9;
            for _ in 0..n {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                p.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
            }
            let Some(alts) = literal_alternatives(&p) else {
                continue;
            };
            read += 1;
            let re = build(&p, 64 * p.len() + 4096)
                .unwrap_or_else(|e| panic!("{p:?} was read as literals but does not build: {e}"));
            for h in &haystacks {
                assert_eq!(
                    alternatives_match(&alts, h),
                    re.is_match(h),
                    "pattern {p:?} on {:?}",
                    String::from_utf8_lossy(h)
                );
            }
        }
        assert!(read > 1000, "only {read} patterns exercised");
    }
}
