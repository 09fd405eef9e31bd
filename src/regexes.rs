//! Compiled regexes, shared: a pattern that many rules use is compiled and
//! stored once per [`Compiler`](crate::Compiler).

use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Compiled regexes by pattern, then by size limit (almost always one), so
/// a lookup borrows the pattern instead of allocating a key.
type ByPattern = HashMap<Box<str>, Vec<(usize, Arc<Regex>)>, crate::hash::FastHash>;

/// Regexes by pattern and size limit; clones share the cache.
///
/// The shared table is only allocated when first needed (a pattern to
/// compile, or a clone to share it with), so a compiler that never meets a
/// regex never builds one.
#[derive(Default)]
pub struct RegexCache(OnceLock<Arc<Mutex<ByPattern>>>);

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
    /// off unless the pattern turns it on), compiling it on first use.
    pub fn get(&self, pattern: &str, size_limit: usize) -> Result<Arc<Regex>, regex::Error> {
        let cached = |map: &ByPattern| {
            map.get(pattern)?
                .iter()
                .find(|(limit, _)| *limit == size_limit)
                .map(|(_, re)| re.clone())
        };
        if let Some(re) = cached(&self.lock()) {
            return Ok(re);
        }
        // Built outside the lock; a racing thread's copy wins if it is first.
        let re = Arc::new(build(pattern, size_limit)?);
        let mut map = self.lock();
        if let Some(re) = cached(&map) {
            return Ok(re);
        }
        map.entry(pattern.into())
            .or_default()
            .push((size_limit, re.clone()));
        Ok(re)
    }

    /// Number of distinct (pattern, size limit) pairs compiled.
    pub fn len(&self) -> usize {
        match self.0.get() {
            Some(_) => self.lock().values().map(Vec::len).sum(),
            None => 0,
        }
    }

    fn shared(&self) -> &Arc<Mutex<ByPattern>> {
        self.0.get_or_init(Arc::default)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByPattern> {
        match self.shared().lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
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
    /// For a deferred pattern that is a few literals: what they are.
    alternatives: Option<Box<[LiteralAlt]>>,
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
            alternatives: None,
        }
    }

    /// A pattern to compile on first use, with this size limit; when it is a
    /// few literals, `alternatives` says which (see [`literal_alternatives`]).
    pub fn deferred(
        source: &str,
        size_limit: usize,
        alternatives: Option<Vec<LiteralAlt>>,
    ) -> Pattern {
        Pattern {
            source: source.into(),
            size_limit,
            compiled: OnceLock::new(),
            alternatives: alternatives.map(Vec::into_boxed_slice),
        }
    }

    /// The literal alternatives of a deferred pattern, if it has them.
    pub fn alternatives(&self) -> Option<&[LiteralAlt]> {
        self.alternatives.as_deref()
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
/// Deepest group nesting it reads (far inside the regex parser's own limit).
const MAX_GROUP_DEPTH: usize = 16;

/// A pattern piece: a byte, or `^` / `$` (start / end of the haystack: the
/// language's regexes are not multi-line).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Piece {
    Byte(u8),
    Start,
    End,
}

/// One alternative as read so far, kept as what it must be: `^`s, then
/// bytes, then `$`s. Anything else (a `^` after a byte, a byte after a
/// `$`) makes it `bad`, and the pattern is not read as literals.
#[derive(Clone, Default)]
struct Alt {
    bytes: Vec<u8>,
    start: bool,
    end: bool,
    bad: bool,
}

impl Alt {
    /// Appends `p`; `room` is the most bytes the alternative can have (the
    /// pattern's length), reserved at the first byte.
    fn push(&mut self, p: Piece, room: usize) {
        match p {
            Piece::Start if !self.bytes.is_empty() || self.end => self.bad = true,
            Piece::Start => self.start = true,
            Piece::End => self.end = true,
            Piece::Byte(_) if self.end => self.bad = true,
            Piece::Byte(b) => {
                if self.bytes.capacity() == 0 {
                    self.bytes.reserve_exact(room);
                }
                self.bytes.push(b);
            }
        }
    }

    /// `self` followed by `next`.
    fn then(&self, next: &Alt, room: usize) -> Alt {
        let mut bytes = Vec::with_capacity(room);
        bytes.extend_from_slice(&self.bytes);
        let mut a = Alt {
            bytes,
            start: self.start,
            end: self.end,
            bad: self.bad || next.bad,
        };
        if next.start {
            a.push(Piece::Start, room);
        }
        if !next.bytes.is_empty() {
            if a.end {
                a.bad = true;
            } else {
                a.bytes.extend_from_slice(&next.bytes);
            }
        }
        a.end |= next.end;
        a
    }
}

/// When `pattern` only matches a few literal strings, each optionally
/// anchored (`^/api/v3/item42(/|$)`, `^(GET|HEAD)$`, `\.(php|asp)$`): those
/// alternatives, so that the pattern can be tested as bytes. The subset read
/// is small and always valid regex syntax: literal characters, escaped ASCII
/// punctuation (but not `\<` and `\>`, which are word boundaries), groups
/// `(...)` and `(?:...)`, `|`, and `^`/`$` only where they anchor the whole
/// alternative. Anything else gives `None`, and the pattern is compiled.
pub fn literal_alternatives(pattern: &str) -> Option<Vec<LiteralAlt>> {
    let mut chars = pattern.chars().peekable();
    let alts = alternation(&mut chars, 0, pattern.len())?;
    if chars.next().is_some() {
        return None; // an unmatched `)`
    }
    alts.into_iter()
        .map(|mut a| {
            a.bytes.shrink_to_fit();
            (!a.bad).then_some((a.bytes, a.start, a.end))
        })
        .collect()
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// `concat ('|' concat)*`, up to a `)` (not consumed) or the end.
fn alternation(chars: &mut Chars<'_>, depth: usize, room: usize) -> Option<Vec<Alt>> {
    let mut out = concatenation(chars, depth, room)?;
    while chars.peek() == Some(&'|') {
        chars.next();
        out.extend(concatenation(chars, depth, room)?);
        if out.len() > MAX_ALTERNATIVES {
            return None;
        }
    }
    Some(out)
}

/// A sequence of items, expanded to every string it can be.
fn concatenation(chars: &mut Chars<'_>, depth: usize, room: usize) -> Option<Vec<Alt>> {
    let mut out: Vec<Alt> = vec![Alt::default()];
    let add = |out: &mut Vec<Alt>, p: Piece| out.iter_mut().for_each(|a| a.push(p, room));
    while let Some(&c) = chars.peek() {
        match c {
            '|' | ')' => break,
            '(' => {
                chars.next();
                if depth + 1 > MAX_GROUP_DEPTH {
                    return None;
                }
                if chars.peek() == Some(&'?') {
                    chars.next();
                    if chars.next() != Some(':') {
                        return None;
                    }
                }
                let inner = alternation(chars, depth + 1, room)?;
                if chars.next() != Some(')') {
                    return None;
                }
                if out.len() * inner.len() > MAX_ALTERNATIVES {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|s| inner.iter().map(move |t| s.then(t, room)))
                    .collect();
            }
            '^' => {
                chars.next();
                add(&mut out, Piece::Start);
            }
            '$' => {
                chars.next();
                add(&mut out, Piece::End);
            }
            '\\' => {
                chars.next();
                match chars.next() {
                    Some(e) if e.is_ascii_punctuation() && e != '<' && e != '>' => {
                        add(&mut out, Piece::Byte(e as u8));
                    }
                    _ => return None,
                }
            }
            '.' | '+' | '*' | '?' | '[' | ']' | '{' | '}' | '#' => return None,
            c if c.is_whitespace() && c != ' ' => return None,
            c => {
                chars.next();
                let mut buf = [0; 4];
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    add(&mut out, Piece::Byte(b));
                }
            }
        }
    }
    Some(out)
}

/// Whether `pattern` is a plain literal, optionally anchored (what
/// [`regex_literal`] reads), without building the literal.
pub(crate) fn is_regex_literal(pattern: &str) -> bool {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // As in `regex_literal`: `\<` and `\>` are word boundaries.
                Some(e) if e.is_ascii_punctuation() && e != '<' && e != '>' => {}
                _ => return false,
            },
            '$' if chars.peek().is_none() => {}
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' => {
                return false;
            }
            c if c.is_whitespace() && c != ' ' => return false,
            _ => {}
        }
    }
    true
}

/// `(literal bytes, anchored at start, anchored at end)` when `pattern` is one.
pub(crate) fn regex_literal(pattern: &str) -> Option<(Vec<u8>, bool, bool)> {
    let (start, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut out = Vec::new();
    let mut end = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // An escaped punctuation character is itself.
                // (`\<` and `\>` are word boundaries, not brackets.)
                Some(e) if e.is_ascii_punctuation() && e != '<' && e != '>' => out.push(e as u8),
                _ => return None,
            },
            '$' if chars.peek().is_none() => end = true,
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' => {
                return None;
            }
            c if c.is_whitespace() && c != ' ' => return None,
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some((out, start, end))
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
        cache.get("c+d", 1 << 20).unwrap();
        assert_eq!(cache.len(), 3);
        assert!(cache.get("(", 1 << 20).is_err());
        assert_eq!(cache.len(), 3, "a pattern that fails is not stored");
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
            "a+", "(?i)a", "a\\<", "[ab]", "a(b", "a)b", "a^b", "$a", "\\d", "a.b", "(a|b){2}",
        ] {
            assert!(literal_alternatives(p).is_none(), "{p}");
        }
    }

    /// Every pattern read as literals matches exactly what the regex matches,
    /// and compiles inside the margin the checker relies on.
    #[test]
    fn literal_alternatives_agree_with_the_regex() {
        const TOKENS: &[&str] = &[
            "a", "b", "/", "\\.", "ab", "(", ")", "(?:", "|", "^", "$", "é", "\\$",
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
