//! Compiled regexes, shared: a pattern that many rules use is compiled and
//! stored once per [`Compiler`](crate::Compiler).

use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Compiled regexes keyed by (pattern, size limit).
type ByPattern = HashMap<(String, usize), Arc<Regex>>;

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
        let key = (pattern.to_string(), size_limit);
        if let Some(re) = self.lock().get(&key) {
            return Ok(re.clone());
        }
        let re = Arc::new(build(pattern, size_limit)?);
        Ok(self.lock().entry(key).or_insert(re).clone())
    }

    /// Number of distinct patterns compiled.
    pub fn len(&self) -> usize {
        match self.0.get() {
            Some(_) => self.lock().len(),
            None => 0,
        }
    }

    /// True when nothing was compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        }
    }

    /// A pattern to compile on first use, with this size limit.
    pub fn deferred(source: &str, size_limit: usize) -> Pattern {
        Pattern {
            source: source.into(),
            size_limit,
            compiled: OnceLock::new(),
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
