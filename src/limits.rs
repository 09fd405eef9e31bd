//! Configurable limits (LANGUAGE.md §8), with the defaults of public edge firewalls.

use serde::{Deserialize, Serialize};

/// The deepest nesting any stage will accept, whatever `max_depth` says: every
/// stage that walks the tree recursively stays far inside a 2 MiB thread stack
/// (the size of a test thread) at this depth, even in debug builds.
pub const HARD_MAX_DEPTH: usize = 256;

/// Limits enforced while parsing, checking and compiling an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Longest expression, in bytes (default 4,096).
    pub max_length: usize,
    /// Deepest nesting of parentheses, `not` and function calls (default 128,
    /// capped at [`HARD_MAX_DEPTH`]).
    pub max_depth: usize,
    /// Largest compiled size of one regex, in bytes (default 10 MiB).
    pub max_regex_size: usize,
    /// Most regexes (`matches` and `regex_replace`) in one expression (default 64).
    pub max_regexes: usize,
    /// Most bytecode instructions in one compiled program (default 65,536).
    pub max_instructions: usize,
    /// Most bytes one value built during evaluation may hold (a function
    /// result: `concat`, `regex_replace`...; default 4 MiB, room for a
    /// transform of a whole 1 MiB body). A function
    /// that would build a larger one yields missing, without building it.
    pub max_value_bytes: usize,
    /// Most bytes the values built during one evaluation may hold in all
    /// (default 32 MiB); past it, functions yield missing.
    pub max_evaluation_bytes: usize,
    /// Most times an expression may grow its input by nesting transforms
    /// (`regex_replace` with several `${N}`, `encode_base64`, `concat` of a
    /// value with itself...), estimated when it is checked (default 1,024):
    /// an expression whose values could outgrow their inputs more than
    /// that is rejected, naming the sub-expression.
    pub max_value_growth: usize,
    /// Most steps a `matches` search may take at worst: the states of the
    /// regex's program times `max_value_bytes` (default 2^32, about 1,000
    /// states). A regex past it is rejected when it is checked:
    /// `(a|b)*a(a|b){2000}c` would take seconds per megabyte.
    pub max_regex_work: u64,
    /// Largest total compiled size, in bytes, of the regexes a rule set's
    /// rules anchor on (`field matches "re"` conjuncts the rule-set index
    /// searches for; each counted as its Thompson NFA), across the whole set
    /// (default 256 MiB: ~300,000 rules like `path matches "^/v[0-9]+/x1$"`).
    /// Past it, compiling the set fails with a limit error naming the rule.
    pub max_rule_set_regex_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_length: 4096,
            max_depth: 128,
            max_regex_size: 10 * 1024 * 1024,
            max_regexes: 64,
            max_instructions: 65_536,
            max_value_bytes: 4 << 20,
            max_evaluation_bytes: 32 << 20,
            max_value_growth: 1024,
            max_regex_work: 1 << 32,
            max_rule_set_regex_bytes: 256 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// `max_depth` after the hard cap.
    pub fn effective_depth(&self) -> usize {
        self.max_depth.min(HARD_MAX_DEPTH)
    }
}
