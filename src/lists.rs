//! Named lists (`$office_network`): contents supplied by the embedder and
//! replaceable at run time without recompiling filters.
//!
//! A compiled filter holds a [`ListHandle`] per list it reads. Replacing a
//! list's contents swaps one `Arc` under a lock, so an evaluation sees either
//! the whole old contents or the whole new ones, never a mix.

use crate::error::Error;
use crate::matchers::{BytesSet, IpRanges, merge_ranges};
use crate::schema::Schema;
use crate::swap::Swap;
use crate::syntax::{Literal, parse::classify_literal};
use crate::types::Type;
use crate::types::{Scalar, Val};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// The contents of one list, ready for membership tests.
#[derive(Debug, Clone)]
pub enum ListData {
    /// Byte strings.
    Bytes(BytesSet),
    /// Integer ranges.
    Ints(Box<[(i64, i64)]>),
    /// Address ranges.
    Ips(IpRanges),
}

impl ListData {
    /// An empty list of element type `ty`.
    pub fn empty(ty: &Type) -> ListData {
        match ty {
            Type::Int => ListData::Ints(Box::new([])),
            Type::Ip => ListData::Ips(IpRanges::default()),
            _ => ListData::Bytes(BytesSet::new(Vec::new())),
        }
    }

    /// Builds a list from items written as set elements (`"10.0.0.0/8"`,
    /// `"198.51.100.1..198.51.100.9"`, `80`, `"8000..8999"`, `"a.com"`).
    pub fn from_json(ty: &Type, items: &[serde_json::Value]) -> Result<ListData, String> {
        match ty {
            Type::Bytes => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    match it {
                        serde_json::Value::String(s) => out.push(s.as_bytes().to_vec()),
                        other => return Err(format!("expected a string, found {other}")),
                    }
                }
                out.sort();
                out.dedup();
                Ok(ListData::Bytes(BytesSet::new(out)))
            }
            Type::Int => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    let range = match it {
                        serde_json::Value::Number(n) => {
                            let n = n
                                .as_i64()
                                .ok_or_else(|| format!("{n} is not a 64-bit integer"))?;
                            (n, n)
                        }
                        serde_json::Value::String(s) => match classify_literal(s) {
                            Some(Literal::Int(n)) => (n, n),
                            Some(Literal::IntRange(a, b)) if a <= b => (a, b),
                            _ => {
                                return Err(format!("`{s}` is not an integer or an integer range"));
                            }
                        },
                        other => return Err(format!("expected an integer, found {other}")),
                    };
                    out.push(range);
                }
                Ok(ListData::Ints(
                    merge_ranges(out, |n| n.checked_add(1)).into_boxed_slice(),
                ))
            }
            Type::Ip => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    let serde_json::Value::String(s) = it else {
                        return Err(format!(
                            "expected an address, CIDR or range as a string, found {it}"
                        ));
                    };
                    out.push(ip_item(s)?);
                }
                Ok(ListData::Ips(IpRanges::new(&merge_ranges(
                    out,
                    crate::types::next_ip,
                ))))
            }
            other => Err(format!("lists cannot hold {other} values")),
        }
    }

    /// Membership of a value (false when missing or of another type).
    pub fn contains(&self, v: &Val<'_>) -> bool {
        self.contains_scalar(v.scalar())
    }

    /// Membership of a scalar (false when missing or of another type).
    pub fn contains_scalar(&self, v: Scalar<'_>) -> bool {
        match (self, v) {
            (ListData::Bytes(s), Scalar::Bytes(b)) => s.contains(b),
            (ListData::Ints(r), Scalar::Int(n)) => {
                let k = r.partition_point(|&(_, hi)| hi < n);
                r.get(k).is_some_and(|&(lo, _)| lo <= n)
            }
            (ListData::Ips(r), ip @ (Scalar::Ip4(_) | Scalar::Ip6(_))) => r.contains_scalar(ip),
            _ => false,
        }
    }
}

/// The element type that list items written as in a lists file most likely
/// have: numbers (and integer ranges) are Int, addresses, CIDR blocks and
/// address ranges are Ip, anything else String.
pub fn infer_type(items: &[serde_json::Value]) -> Type {
    let all = |f: &dyn Fn(&serde_json::Value) -> bool| !items.is_empty() && items.iter().all(f);
    let int_like = |v: &serde_json::Value| match v {
        serde_json::Value::Number(_) => true,
        serde_json::Value::String(s) => matches!(classify_literal(s), Some(Literal::IntRange(..))),
        _ => false,
    };
    let ip_like = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => ip_item(s).is_ok(),
        _ => false,
    };
    if all(&int_like) {
        Type::Int
    } else if all(&ip_like) {
        Type::Ip
    } else {
        Type::Bytes
    }
}

fn ip_item(s: &str) -> Result<(IpAddr, IpAddr), String> {
    let not_one = || format!("`{s}` is not an address, CIDR block or address range");
    let lit = classify_literal(s).ok_or_else(not_one)?;
    lit.ip_range().map_err(|e| e.unwrap_or_else(not_one))
}

/// A shared, swappable list. Cloning the handle shares the list.
#[derive(Clone)]
pub struct ListHandle {
    name: Arc<str>,
    data: Swap<ListData>,
}

impl ListHandle {
    /// A list called `name` holding `data`.
    pub fn new(name: &str, data: ListData) -> Self {
        ListHandle {
            name: name.into(),
            data: Swap::new(data),
        }
    }

    /// The list's name (without `$`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Membership under the current contents.
    #[inline]
    pub fn contains(&self, v: &Val<'_>) -> bool {
        self.contains_scalar(v.scalar())
    }

    /// Membership of a scalar under the current contents.
    #[inline]
    pub fn contains_scalar(&self, v: Scalar<'_>) -> bool {
        self.data.with(|d| d.contains_scalar(v))
    }

    /// The current contents.
    pub fn snapshot(&self) -> Arc<ListData> {
        self.data.load()
    }

    /// Replaces the contents atomically.
    pub fn replace(&self, data: ListData) {
        self.data.store(data)
    }
}

impl fmt::Debug for ListHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListHandle(${})", self.name)
    }
}

/// The lists of one schema, by name: what filters compiled against it read.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    /// Sorted by name (a schema declares few; an empty vector, the common
    /// case, costs nothing to build or drop for every compiler).
    lists: Vec<(String, (Type, ListHandle))>,
}

impl Lists {
    /// An empty list of each kind the schema declares.
    pub fn for_schema(schema: &Schema) -> Lists {
        if schema.lists().next().is_none() {
            return Lists::default();
        }
        let mut lists: Vec<_> = schema
            .lists()
            .map(|(name, ty)| {
                (
                    name.to_string(),
                    (ty.clone(), ListHandle::new(name, ListData::empty(ty))),
                )
            })
            .collect();
        lists.sort_by(|a, b| a.0.cmp(&b.0));
        Lists { lists }
    }

    /// A declared list's type and handle.
    fn get(&self, name: &str) -> Option<&(Type, ListHandle)> {
        let at = self
            .lists
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        self.lists.get(at).map(|(_, entry)| entry)
    }

    /// The handle of a declared list.
    pub fn handle(&self, name: &str) -> Option<&ListHandle> {
        self.get(name).map(|(_, h)| h)
    }

    /// Replaces the contents of a declared list; filters see it at once.
    pub fn set_json(&self, name: &str, items: &[serde_json::Value]) -> Result<(), Error> {
        let Some((ty, handle)) = self.get(name) else {
            return Err(Error::config(format!(
                "list `${name}` is not declared in the schema"
            )));
        };
        let data = ListData::from_json(ty, items)
            .map_err(|m| Error::config(format!("list `${name}`: {m}")))?;
        handle.replace(data);
        Ok(())
    }

    /// Loads `{"name": [items...], ...}`; every list is validated before any is replaced.
    pub fn load_json(&self, text: &str) -> Result<(), Error> {
        let map: BTreeMap<String, Vec<serde_json::Value>> =
            serde_json::from_str(text).map_err(|e| Error::config(format!("lists JSON: {e}")))?;
        self.load_map(&map)
    }

    /// Like [`Lists::load_json`], from parsed JSON.
    pub fn load_map(&self, map: &BTreeMap<String, Vec<serde_json::Value>>) -> Result<(), Error> {
        let mut staged = Vec::new();
        for (name, items) in map {
            let Some((ty, handle)) = self.get(name) else {
                return Err(Error::config(format!(
                    "list `${name}` is not declared in the schema"
                )));
            };
            let data = ListData::from_json(ty, items)
                .map_err(|m| Error::config(format!("list `${name}`: {m}")))?;
            staged.push((handle, data));
        }
        for (h, d) in staged {
            h.replace(d);
        }
        Ok(())
    }
}
