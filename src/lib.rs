//! portcullis: a firewall rule engine for the Wireshark-style rules language
//! of edge firewalls (Cloudflare's Rules language, wirefilter).
//!
//! The pipeline, one module per stage: `syntax` (nom parser, AST with spans,
//! canonical printer; public as [`syntax`], for tools) → `check` (types
//! against a [`Schema`]) → `compile` (the branch form or instructions, with
//! pre-built predicates) → `vm` (evaluation over a [`Request`]); `program`
//! owns the compiled form the last two meet in, `rules` adds actions and
//! verdicts on top, and `lint` warns about rules that compile but cannot do
//! what their author meant. Each module imports only those before it in
//! this order: `types`, `limits`, `error`, `matchers`, `regexes`, `syntax`,
//! `functions`, `schema`, `lists`, `context`, `check`, `program`,
//! `compile`, `vm`, `filter`, `explain`, `rules`, `lint`
//! (`docs/architecture.md` has the whole map).
//!
//! Parse, check, compile once; evaluate on every request:
//!
//! ```
//! use portcullis::{Compiler, HttpRequest, Schema};
//! use portcullis::ClientCert;
//!
//! # fn main() -> Result<(), portcullis::Error> {
//! let schema = Schema::default_http();
//! let compiler = Compiler::new(&schema);
//!
//! // Parse → type-check → compile, once. (A revoked certificate is also
//! // verified, so the rule tests both: `portcullis lint` warns otherwise.)
//! let mtls = compiler.compile(
//!     r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))"#,
//! )?;
//!
//! // Evaluate per request: no allocation, no panic.
//! let no_cert = HttpRequest::builder()
//!     .header("Host", "api.orangeclouded.com")
//!     .client_cert(&ClientCert::default())
//!     .build()?;
//! assert!(mtls.matches(&no_cert));
//!
//! let verified = HttpRequest::builder()
//!     .header("Host", "api.orangeclouded.com")
//!     .client_cert(&ClientCert { presented: true, verified: true, ..ClientCert::default() })
//!     .build()?;
//! assert!(!mtls.matches(&verified));
//!
//! // Errors say what and where, with a caret rendering for people.
//! let err = compiler.compile(r#"http.hots == "a""#).unwrap_err();
//! assert_eq!(err.span().map(|s| (s.start, s.end)), Some((0, 9)));
//! assert!(err.render(r#"http.hots == "a""#).contains("did you mean `http.host`?"));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The stages, in dependency order: each module imports only those above it
// (see docs/architecture.md).
mod catalogue;
mod check;
mod compile;
mod context;
mod error;
mod explain;
mod filter;
mod functions;
#[cfg(feature = "gateway")]
pub mod gateway;
mod hash;
mod integrations;
mod limits;
mod lint;
mod lists;
mod matchers;
mod program;
mod reference;
mod regexes;
mod rules;
mod schema;
mod small_bytes;
mod stack;
mod swap;
pub mod syntax;
#[doc(hidden)]
pub mod test_support;
mod types;
mod vm;

pub use context::{
    ClientCert, ConnectionInfo, Context, DEFAULT_BODY_LIMIT, HttpRequest, HttpRequestBuilder,
    MAX_REQUEST_ELEMENTS, Request, RequestView, TlsInfo, VIEW_CAPACITY,
};
pub use error::{Error, ErrorKind, LineCol, Stage, line_col};
pub use explain::{Explanation, Outcome, Step, StepKind};
pub use filter::{Checked, Compiler, Filter, declare_lists};
pub use functions::{UserFunction, UserImpl};
#[cfg(feature = "rustls")]
pub use integrations::tls;
#[cfg(feature = "tower")]
pub use integrations::{ActionResponse, Decision, RulesFuture, RulesLayer, RulesService};
pub use limits::{HARD_MAX_DEPTH, Limits};
pub use lint::{LINTS, Lint, lint, lint_expression};
pub use lists::{Lists, infer_type as infer_list_type};
pub use rules::{
    Action, ActionParameters, CompiledRule, CompiledRuleSet, Fate, Rule, RuleSet, RuleSetError,
    RuleSetExplanation, RuleSetHandle, RuleTrace, Stop, Verdict,
};
pub use schema::{FieldDef, MAX_TYPE_DEPTH, Schema, SchemaBuilder};
pub use syntax::{Expr, parse, parse_with};
pub use types::{FieldId, Scalar, Seq, Span, Type, Val, Value};

/// The README's Rust snippets run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
