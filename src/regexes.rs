//! Compiled regexes, shared: a pattern that many rules use is compiled and
//! stored once per [`Compiler`](crate::Compiler).

use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Compiled regexes keyed by (pattern, size limit).
type ByPattern = HashMap<(String, usize), Arc<Regex>>;

/// Regexes by pattern and size limit; clones share the cache.
#[derive(Clone, Default)]
pub struct RegexCache(Arc<Mutex<ByPattern>>);

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
        self.lock().len()
    }

    /// True when nothing was compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByPattern> {
        match self.0.lock() {
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
