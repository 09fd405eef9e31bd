//! portcullis: a firewall rule engine for the Wireshark-style language.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod catalogue;
pub mod check;
pub mod compile;
pub mod context;
pub mod error;
pub mod filter;
pub mod functions;
pub mod limits;
pub mod lists;
pub mod rules;
pub mod schema;
pub mod syntax;
pub mod value;
pub mod vm;

pub use context::{Context, HttpRequest, Request};
pub use error::{Error, Stage};
pub use filter::{Compiler, Filter, compile};
pub use limits::Limits;
pub use lists::Lists;
pub use schema::{FieldId, Schema, Type};
pub use syntax::{Expr, Span, parse, parse_with};
pub use value::{Val, Value};
