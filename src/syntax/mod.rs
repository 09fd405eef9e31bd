//! Concrete syntax: the nom parser, the AST it builds and the canonical printer.

pub mod ast;
pub mod keywords;
pub mod parse;
pub mod print;

pub use ast::*;
pub use parse::{parse, parse_with};
pub use print::{QuotedBytes, normalize};
