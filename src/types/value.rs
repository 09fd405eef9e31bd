//! Values: owned request data ([`Value`]) and the values evaluation works on ([`Val`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// An owned value, as stored in a request [`Context`](crate::context::Context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A Bool.
    Bool(bool),
    /// An Int.
    Int(i64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// An address (IPv4-mapped IPv6 is stored as IPv4).
    Ip(IpAddr),
    /// An array.
    Array(Vec<Value>),
    /// A map from byte-string keys.
    Map(BTreeMap<Vec<u8>, Value>),
}

impl Value {
    /// A borrowed view of the value.
    pub fn as_val(&self) -> Val<'_> {
        match self {
            Value::Bool(b) => Val::Bool(*b),
            Value::Int(n) => Val::Int(*n),
            Value::Bytes(b) => Val::Bytes(Cow::Borrowed(b)),
            Value::Ip(ip) => Val::Ip(*ip),
            Value::Array(a) => Val::Array(Seq::Values(a)),
            Value::Map(m) => Val::Map(m),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Bytes(s.into_bytes())
    }
}

impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Bytes(b.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<u16> for Value {
    /// A port.
    fn from(n: u16) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<IpAddr> for Value {
    /// The address, IPv4-mapped IPv6 as IPv4.
    fn from(ip: IpAddr) -> Self {
        Value::Ip(canonical_ip(ip))
    }
}

impl From<std::net::Ipv4Addr> for Value {
    fn from(ip: std::net::Ipv4Addr) -> Self {
        Value::Ip(IpAddr::V4(ip))
    }
}

impl From<std::net::Ipv6Addr> for Value {
    /// The address, IPv4-mapped as IPv4.
    fn from(ip: std::net::Ipv6Addr) -> Self {
        Value::Ip(canonical_ip(IpAddr::V6(ip)))
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    /// An array.
    fn from(items: Vec<T>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

/// A value during evaluation: borrowed from the request where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// Absent: an unset field, an index out of range, a missing key.
    Missing,
    /// A Bool.
    Bool(bool),
    /// An Int.
    Int(i64),
    /// A byte string, borrowed or computed.
    Bytes(Cow<'a, [u8]>),
    /// An address.
    Ip(IpAddr),
    /// An array, borrowed or computed.
    Array(Seq<'a>),
    /// A map (maps only come from request data).
    Map(&'a BTreeMap<Vec<u8>, Value>),
}

/// The elements of an array value.
#[derive(Debug, Clone, PartialEq)]
pub enum Seq<'a> {
    /// Borrowed from request data.
    Values(&'a [Value]),
    /// Computed during evaluation (by `[*]` or a function).
    Vals(Vec<Val<'a>>),
}

impl<'a> Seq<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Seq::Values(v) => v.len(),
            Seq::Vals(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `k`, or missing.
    pub fn get(&self, k: usize) -> Val<'a> {
        match self {
            Seq::Values(v) => v.get(k).map_or(Val::Missing, Value::as_val),
            Seq::Vals(v) => v.get(k).cloned().unwrap_or(Val::Missing),
        }
    }
}

impl<'a> Val<'a> {
    /// An owned copy, for results that must outlive their inputs (`None`
    /// for a missing value; missing array elements are left out).
    pub fn to_value(&self) -> Option<Value> {
        Some(match self {
            Val::Missing => return None,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(n) => Value::Int(*n),
            Val::Bytes(b) => Value::Bytes(b.to_vec()),
            Val::Ip(ip) => Value::Ip(*ip),
            Val::Array(s) => {
                Value::Array((0..s.len()).filter_map(|k| s.get(k).to_value()).collect())
            }
            Val::Map(m) => Value::Map((*m).clone()),
        })
    }

    /// Bytes, when the value is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Val::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// True for [`Val::Missing`].
    pub fn is_missing(&self) -> bool {
        matches!(self, Val::Missing)
    }
}

/// A scalar value borrowed from request data: `Copy`, so reading it costs no
/// drop. [`Scalar::Composite`] means "not a scalar here: read it with `get`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// Absent.
    Missing,
    /// A Bool.
    Bool(bool),
    /// An Int.
    Int(i64),
    /// A byte string.
    Bytes(&'a [u8]),
    /// An IPv4 address (IPv4-mapped IPv6 included), as an integer.
    Ip4(u32),
    /// An IPv6 address, as an integer.
    Ip6(u128),
    /// An array, a map, or a value the source computes: use `Request::get`.
    Composite,
}

impl Scalar<'_> {
    /// The scalar of an address, IPv4-mapped IPv6 folded to IPv4.
    #[inline]
    pub fn ip(ip: IpAddr) -> Scalar<'static> {
        match ip.to_canonical() {
            IpAddr::V4(a) => Scalar::Ip4(u32::from(a)),
            IpAddr::V6(a) => Scalar::Ip6(u128::from(a)),
        }
    }

    /// The address, when the scalar is one.
    #[inline]
    pub fn as_ip(&self) -> Option<IpAddr> {
        match *self {
            Scalar::Ip4(a) => Some(IpAddr::V4(a.into())),
            Scalar::Ip6(a) => Some(IpAddr::V6(a.into())),
            _ => None,
        }
    }
}

impl<'a> Val<'a> {
    /// The scalar view of a value (`Composite` for arrays and maps).
    #[inline]
    pub fn scalar(&self) -> Scalar<'_> {
        match self {
            Val::Missing => Scalar::Missing,
            Val::Bool(b) => Scalar::Bool(*b),
            Val::Int(n) => Scalar::Int(*n),
            Val::Bytes(b) => Scalar::Bytes(b),
            Val::Ip(ip) => Scalar::ip(*ip),
            Val::Array(_) | Val::Map(_) => Scalar::Composite,
        }
    }
}

impl Value {
    /// The scalar view of an owned value.
    #[inline]
    pub fn scalar(&self) -> Scalar<'_> {
        match self {
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Int(n) => Scalar::Int(*n),
            Value::Bytes(b) => Scalar::Bytes(b),
            Value::Ip(ip) => Scalar::ip(*ip),
            Value::Array(_) | Value::Map(_) => Scalar::Composite,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) become IPv4, so both forms compare equal.
#[inline]
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The next address of the same family, if any (for merging adjacent ranges).
pub(crate) fn next_ip(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v) => u32::from(v).checked_add(1).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(v) => u128::from(v).checked_add(1).map(|n| IpAddr::V6(n.into())),
    }
}

/// A JSON number as an Int: an integer in range, or `-0` (which JSON
/// parsers read as a float) as 0; `None` for fractions and out-of-range
/// numbers.
pub(crate) fn json_int(n: &serde_json::Number) -> Option<i64> {
    n.as_i64()
        .or_else(|| (n.as_f64() == Some(0.0)).then_some(0))
}
