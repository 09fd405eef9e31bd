//! The hasher of the engine's own tables: the schema's name table,
//! constant pools, byte-string sets and the rule-set index. Their keys are
//! fixed when a schema or a program is built, so a request cannot grow a
//! probe sequence, and SipHash's strength would buy nothing on lookups every
//! compile and many evaluations make. `rustc-hash`'s Fx hasher (the
//! compiler's own): a multiply per word, and deterministic, so iteration
//! order, and so every listing, is the same from run to run.

/// Hash builder of the engine's tables (see the module doc).
pub type FastHash = rustc_hash::FxBuildHasher;
