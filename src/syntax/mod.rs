//! Concrete syntax: the nom parser, the syntax tree it builds and the
//! canonical printer. Public for tools: the tree ([`Expr`] and its parts),
//! [`parse`], [`parse_with`] and [`normalize`]; `Display` on [`Expr`] is
//! the canonical form.

mod ast;
pub(crate) mod keywords;
pub(crate) mod parse;
mod print;

pub use ast::*;
pub use parse::{parse, parse_with};
pub(crate) use print::QuotedBytes;
pub use print::normalize;
