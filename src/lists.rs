//! Named lists (`$office_network`): contents supplied by the embedder and
//! replaceable at run time without recompiling filters.
//!
//! All lists of a schema live in one snapshot (a vector of contents, by
//! list), swapped whole: replacing one list or loading several builds the
//! next snapshot and swaps it in at once, so a multi-list load is atomic.
//! A compiled filter holds a [`ListHandle`] per list it reads. An
//! evaluation that reads lists runs [`pinned`]: its first list lookup
//! takes the current snapshot, and every later one in the same evaluation
//! reads that same snapshot, so one evaluation (of a filter or of a whole
//! rule set) sees exactly one version of every list.

use crate::error::Error;
use crate::matchers::{BytesSet, IpRanges, merge_ranges};
use crate::schema::Schema;
use crate::swap::Swap;
use crate::syntax::{Literal, parse::classify_literal};
use crate::types::Type;
use crate::types::{Scalar, Val};
use std::cell::RefCell;
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
                if let Some(other) = items.iter().find(|it| !it.is_string()) {
                    return Err(format!("expected a string, found {other}"));
                }
                let strings = items.iter().filter_map(|it| it.as_str().map(str::as_bytes));
                Ok(ListData::Bytes(BytesSet::from_slices(strings, items.len())))
            }
            Type::Int => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    let range = match it {
                        serde_json::Value::Number(n) => {
                            let n = crate::types::json_int(n)
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

/// The contents of every list of one schema, by position.
type Snapshot = Vec<Arc<ListData>>;

/// The lists of one schema: their names and types, and the current
/// snapshot of their contents.
#[derive(Debug)]
struct Store {
    /// Sorted by name; a list's position is its index in the snapshot.
    names: Vec<(String, Type)>,
    current: Swap<Snapshot>,
}

thread_local! {
    /// The snapshots the evaluations running on this thread have taken, by
    /// store, and how deeply evaluations are nested (a user function may
    /// evaluate a filter).
    static PINS: RefCell<Pins> = const { RefCell::new(Pins { depth: 0, held: Vec::new() }) };
}

struct Pins {
    depth: u32,
    held: Vec<(*const Store, Arc<Snapshot>)>,
}

/// Runs one evaluation `f` with the lists pinned: every list lookup in it
/// reads the snapshot its first lookup took.
#[inline]
pub(crate) fn pinned<T>(f: impl FnOnce() -> T) -> T {
    let entered = PINS.with(|p| match p.try_borrow_mut() {
        Ok(mut p) => {
            p.depth += 1;
            true
        }
        Err(_) => false,
    });
    let out = f();
    if entered {
        PINS.with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                p.depth -= 1;
                if p.depth == 0 {
                    // Keeps its room for the next evaluation: no allocation.
                    // (The writer that replaced a snapshot frees it, not this.)
                    p.held.clear();
                }
            }
        });
    }
    out
}

/// A declared list, as filters read it. Cloning the handle shares the list.
#[derive(Clone)]
pub struct ListHandle {
    store: Arc<Store>,
    index: usize,
}

impl ListHandle {
    /// The list's name (without `$`).
    pub fn name(&self) -> &str {
        self.store
            .names
            .get(self.index)
            .map_or("", |(n, _)| n.as_str())
    }

    /// Membership under the current contents (those of this evaluation's
    /// snapshot, in a [`pinned`] evaluation).
    #[inline]
    pub fn contains(&self, v: &Val<'_>) -> bool {
        self.contains_scalar(v.scalar())
    }

    /// Membership of a scalar, as [`ListHandle::contains`].
    #[inline]
    pub fn contains_scalar(&self, v: Scalar<'_>) -> bool {
        let test = |snap: &Snapshot| snap.get(self.index).is_some_and(|d| d.contains_scalar(v));
        let key = Arc::as_ptr(&self.store);
        let pinned = PINS.with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            if p.depth == 0 {
                return None;
            }
            if let Some((_, snap)) = p.held.iter().find(|(k, _)| *k == key) {
                return Some(test(snap));
            }
            let snap = self.store.current.load();
            let hit = test(&snap);
            p.held.push((key, snap));
            Some(hit)
        });
        pinned.unwrap_or_else(|| self.store.current.with(test))
    }
}

impl fmt::Debug for ListHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListHandle(${})", self.name())
    }
}

/// The lists of one schema, by name: what filters compiled against it read.
/// Clones share the lists.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    /// `None` when the schema declares no list (the common case costs
    /// nothing to build or drop for every compiler).
    store: Option<Arc<Store>>,
}

impl Lists {
    /// An empty list of each kind the schema declares.
    pub fn for_schema(schema: &Schema) -> Lists {
        if schema.lists().next().is_none() {
            return Lists::default();
        }
        let mut names: Vec<(String, Type)> = schema
            .lists()
            .map(|(name, ty)| (name.to_string(), ty.clone()))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let snapshot = names
            .iter()
            .map(|(_, ty)| Arc::new(ListData::empty(ty)))
            .collect();
        Lists {
            store: Some(Arc::new(Store {
                names,
                current: Swap::new(snapshot),
            })),
        }
    }

    /// A declared list's position and type.
    fn get(&self, name: &str) -> Option<(usize, &Type)> {
        let store = self.store.as_ref()?;
        let at = store
            .names
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        store.names.get(at).map(|(_, ty)| (at, ty))
    }

    /// The handle of a declared list.
    pub fn handle(&self, name: &str) -> Option<ListHandle> {
        let (index, _) = self.get(name)?;
        Some(ListHandle {
            store: self.store.clone()?,
            index,
        })
    }

    /// Replaces the contents of a declared list; filters see it at once.
    pub fn set_json(&self, name: &str, items: &[serde_json::Value]) -> Result<(), Error> {
        self.replace(std::iter::once((name, items)))
    }

    /// Loads `{"name": [items...], ...}`: every list is validated before
    /// any is replaced, and all are replaced at once.
    pub fn load_json(&self, text: &str) -> Result<(), Error> {
        let map: BTreeMap<String, Vec<serde_json::Value>> =
            serde_json::from_str(text).map_err(|e| Error::config(format!("lists JSON: {e}")))?;
        self.load_map(&map)
    }

    /// Like [`Lists::load_json`], from parsed JSON.
    pub fn load_map(&self, map: &BTreeMap<String, Vec<serde_json::Value>>) -> Result<(), Error> {
        self.replace(
            map.iter()
                .map(|(name, items)| (name.as_str(), items.as_slice())),
        )
    }

    /// Builds the contents of every list named, then swaps them in as one
    /// snapshot (nothing changes if one is bad).
    fn replace<'a>(
        &self,
        lists: impl Iterator<Item = (&'a str, &'a [serde_json::Value])>,
    ) -> Result<(), Error> {
        let mut staged = Vec::new();
        for (name, items) in lists {
            let Some((index, ty)) = self.get(name) else {
                return Err(Error::config(format!(
                    "list `${name}` is not declared in the schema"
                )));
            };
            let data = ListData::from_json(ty, items)
                .map_err(|m| Error::config(format!("list `${name}`: {m}")))?;
            staged.push((index, Arc::new(data)));
        }
        let Some(store) = &self.store else {
            return Ok(());
        };
        let mut next: Snapshot = store.current.load().as_ref().clone();
        let mut replaced = Vec::with_capacity(staged.len());
        for (index, data) in staged {
            if let Some(slot) = next.get_mut(index) {
                replaced.push(std::mem::replace(slot, data));
            }
        }
        store.current.store(next);
        // The old contents are freed here too, not by a reader.
        for old in replaced {
            crate::swap::free_when_unshared(old);
        }
        Ok(())
    }
}
