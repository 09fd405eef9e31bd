//! The language's reserved words: a leaf, so that other stages (the
//! schema refuses them as field names) need nothing else of the parser.

/// The words that are never field names.
pub const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "xor",
    "not",
    "in",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "contains",
    "matches",
    "wildcard",
    "strict",
    "any",
    "all",
    "bitwise_and",
    "true",
    "false",
];
