//! The language's vocabulary, below every stage: value types and field ids
//! ([`Type`], [`FieldId`]), values ([`Value`] owned, [`Val`] borrowed,
//! [`Scalar`] for the fast path) and source spans ([`Span`]).

mod value;

pub use value::*;

use serde::{Deserialize, Serialize};
use std::fmt;

/// A half-open byte range `start..end` into the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte of the node.
    pub start: usize,
    /// One past the last byte of the node.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A value type of the language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `true` / `false`.
    Bool,
    /// A signed 64-bit integer.
    Int,
    /// A byte string, shown to users as "String".
    Bytes,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An ordered list of values of one type.
    Array(Box<Type>),
    /// Byte-string keys to values of one type.
    Map(Box<Type>),
}

impl Type {
    /// `Array<T>`.
    pub fn array(t: Type) -> Type {
        Type::Array(Box::new(t))
    }

    /// `Map<T>`.
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// Element type of an array or map.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::Array(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("Bool"),
            Type::Int => f.write_str("Int"),
            Type::Bytes => f.write_str("String"),
            Type::Ip => f.write_str("Ip"),
            Type::Array(t) => write!(f, "Array<{t}>"),
            Type::Map(t) => write!(f, "Map<{t}>"),
        }
    }
}

/// A field of a schema: its position in the schema (the low 16 bits) and
/// the schema's tag (the high 16 bits: 0 for the default catalogue and the
/// schemas that extend it, a hash of the fields for any other). A request
/// of one schema answers an id of another as missing, never with the value
/// of some other field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

impl FieldId {
    /// Most fields a schema may have.
    pub const MAX_FIELDS: usize = 1 << 16;

    /// The field's position in its schema, as a `usize` index.
    pub fn index(self) -> usize {
        (self.0 & 0xFFFF) as usize
    }
}
