//! portcullis: a firewall rule engine for the Wireshark-style rules language
//! of edge firewalls (Cloudflare's Rules language, wirefilter).
//!
//! The pipeline, one module per stage: [`syntax`] (nom parser, AST with
//! spans, canonical printer) → [`check`] (types against a [`Schema`]) →
//! [`compile`](mod@compile) (flat bytecode with pre-built matchers) → [`vm`] (evaluation
//! over a [`Request`]). [`rules`] adds actions and verdicts on top.
//!
//! Parse, check, compile once; evaluate on every request:
//!
//! ```
//! use portcullis::{Compiler, HttpRequest, Schema};
//! use portcullis::context::http::ClientCert;
//!
//! # fn main() -> Result<(), portcullis::Error> {
//! let schema = Schema::default_http();
//! let compiler = Compiler::new(&schema);
//!
//! // Parse → type-check → compile, once.
//! let mtls = compiler.compile(
//!     r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#,
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

pub mod catalogue;
pub mod check;
pub mod compile;
pub mod context;
pub mod error;
pub mod filter;
pub mod functions;
pub mod hash;
pub mod limits;
pub mod lists;
pub mod matchers;
pub mod program;
pub mod reference;
pub mod regexes;
pub mod rules;
pub mod schema;
pub mod small_bytes;
mod stack;
pub mod swap;
pub mod syntax;
pub mod types;
pub mod vm;

pub use context::{Context, HttpRequest, Request};
pub use error::{Error, Stage};
pub use filter::{Compiler, Filter, compile};
pub use limits::Limits;
pub use lists::Lists;
pub use schema::Schema;
pub use small_bytes::SmallBytes;
pub use syntax::{Expr, Span, parse, parse_with};
pub use types::{FieldId, Type};
pub use types::{Val, Value};

/// The README's Rust snippets run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
