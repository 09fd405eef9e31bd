//! Connections to the Rust service ecosystem, each behind a cargo feature
//! so that an embedder of the engine pays for none of them:
//!
//! - `http`: [`HttpRequest::from_http`](crate::HttpRequest::from_http), a
//!   request from the `http` crate's;
//! - `x509`: [`ClientCert::from_der_chain`](crate::ClientCert::from_der_chain),
//!   every certificate field from a DER chain;
//! - `rustls`: [`tls::ClientAuth`](crate::tls::ClientAuth), mTLS that records
//!   rather than rejects;
//! - `tower`: [`RulesLayer`](crate::RulesLayer), the rules as middleware.
//!
//! They sit above the engine: they build requests (`context`) and evaluate
//! rule sets (`rules`); nothing below imports them.

#[cfg(feature = "http")]
mod http;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tower")]
mod tower;
#[cfg(feature = "x509")]
mod x509;

#[cfg(feature = "tower")]
pub use tower::{ActionResponse, Decision, RulesFuture, RulesLayer, RulesService};
