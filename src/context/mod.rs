//! Request data: what the VM reads, by field id.
//!
//! [`Request`] is the trait. [`Context`] (any schema) and [`HttpRequest`]
//! (the default HTTP catalogue, with a builder that derives dependent fields)
//! are the same dense table of values indexed by field id, which the VM reads
//! by borrowing.

mod client_cert;
mod connection;
pub mod http;
mod request_json;
mod url;
mod view;

pub use client_cert::ClientCert;
pub use connection::{ConnectionInfo, TlsInfo};
pub use http::{DEFAULT_BODY_LIMIT, HttpRequest, HttpRequestBuilder};
pub use request_json::MAX_REQUEST_ELEMENTS;
pub use view::{RequestView, VIEW_CAPACITY};

use crate::error::Error;
use crate::schema::Schema;
use crate::types::{FieldId, Type};
use crate::types::{Scalar, Val, Value, canonical_ip};
use std::collections::BTreeMap;

/// Request data the VM reads by field id. A field the request does not set is
/// [`Val::Missing`].
pub trait Request {
    /// The value of field `id` (ids are those of the schema the filter was compiled with).
    fn get(&self, id: FieldId) -> Val<'_>;

    /// The fast path for scalar fields: the value as a [`Scalar`], or
    /// [`Scalar::Composite`] to make the VM call [`get`](Request::get). The
    /// default always answers `Composite`, which is correct, only slower.
    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        let _ = id;
        Scalar::Composite
    }

    /// Whether every field's value is already computed, so that reading one
    /// is a table lookup (as for [`Context`] and
    /// [`HttpRequest`]). Rule sets read other requests
    /// through a per-request memo, so that each field is computed at most
    /// once per request however many rules test it; for these, the table is
    /// the memo. The default, `false`, is always correct.
    #[inline]
    fn precomputed(&self) -> bool {
        false
    }
}

/// The storage of [`Context`] and [`HttpRequest`]: every field's value by id
/// (a missing field is `None`). Reading a field is one bounds-checked load.
#[derive(Debug, Clone, Default, PartialEq)]
struct Table {
    /// The schema's tag ([`Schema::base`]): field `id` is at `id.0 - base`,
    /// and an id of another schema falls outside the table (missing).
    base: u32,
    values: Vec<Option<Value>>,
    /// While a request is built for some fields only
    /// ([`HttpRequestBuilder::only`]): a bit per field, set for those to keep.
    only: Option<Box<[u64]>>,
}

impl Table {
    /// `len` fields, all missing.
    fn new(len: usize) -> Self {
        Table::of(0, len)
    }

    /// `len` fields of the schema tagged `base`, all missing.
    fn of(base: u32, len: usize) -> Self {
        Table {
            base,
            values: vec![None; len],
            only: None,
        }
    }

    /// Where field `id` is kept (past the end for another schema's id).
    #[inline]
    fn at(&self, id: FieldId) -> usize {
        id.0.wrapping_sub(self.base) as usize
    }

    /// Whether field `id` is to be stored (always, unless the table is
    /// built for some fields only).
    #[inline]
    fn wants(&self, id: FieldId) -> bool {
        match &self.only {
            None => true,
            Some(bits) => bits
                .get(self.at(id) / 64)
                .is_some_and(|w| w & (1 << (self.at(id) % 64)) != 0),
        }
    }

    /// Stores the value `value()` computes as field `id`, computing it only
    /// when the field is wanted.
    #[inline]
    fn set_with(&mut self, id: FieldId, value: impl FnOnce() -> Value) {
        if self.wants(id) {
            self.set(id, value());
        }
    }

    #[inline]
    fn get(&self, id: FieldId) -> Val<'_> {
        match self.values.get(self.at(id)) {
            Some(Some(v)) => v.as_val(),
            _ => Val::Missing,
        }
    }

    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        match self.values.get(self.at(id)) {
            Some(Some(v)) => v.scalar(),
            _ => Scalar::Missing,
        }
    }

    /// The stored value of field `id`, if set.
    #[inline]
    fn value(&self, id: FieldId) -> Option<&Value> {
        self.values.get(self.at(id)).and_then(Option::as_ref)
    }

    /// Stores `value` (the caller has checked its type) as field `id`,
    /// growing the table for a field past its end (a request's table starts
    /// as long as the fields it holds need; an extended schema adds fields
    /// past the catalogue); another schema's id is ignored.
    #[inline]
    fn set(&mut self, id: FieldId, value: Value) {
        if !self.wants(id) {
            return;
        }
        let at = self.at(id);
        if at >= self.values.len() {
            if at >= FieldId::MAX_FIELDS {
                return;
            }
            self.values.resize(at + 1, None);
        }
        self.values[at] = Some(value);
    }

    /// Makes field `id` missing.
    fn unset(&mut self, id: FieldId) {
        let at = self.at(id);
        if let Some(slot) = self.values.get_mut(at) {
            *slot = None;
        }
    }

    /// Makes every field missing (keeps the allocation).
    fn clear(&mut self) {
        self.values.iter_mut().for_each(|v| *v = None);
    }

    /// The fields that are set, by id.
    fn into_set(self) -> impl Iterator<Item = (FieldId, Value)> {
        let base = self.base;
        self.values
            .into_iter()
            .enumerate()
            .filter_map(move |(k, v)| Some((FieldId(base | k as u32), v?)))
    }
}

/// Values indexed by field id, with setters that check types against the schema.
#[derive(Debug, Clone)]
pub struct Context<'s> {
    schema: &'s Schema,
    table: Table,
}

impl Request for Context<'_> {
    #[inline]
    fn precomputed(&self) -> bool {
        true
    }

    #[inline]
    fn get(&self, id: FieldId) -> Val<'_> {
        self.table.get(id)
    }

    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        self.table.scalar(id)
    }
}

impl<'s> Context<'s> {
    /// An empty request (every field missing) for `schema`.
    pub fn new(schema: &'s Schema) -> Self {
        Context {
            schema,
            table: Table::of(schema.base(), schema.len()),
        }
    }

    /// Sets a field by name (or alias), checking its type.
    pub fn set(&mut self, name: &str, value: Value) -> Result<&mut Self, Error> {
        let id = self.schema.field_id(name).ok_or_else(|| Error::Request {
            field: name.to_string(),
            message: match self.schema.suggest_field(name) {
                Some(s) => format!("unknown field; did you mean `{s}`?"),
                None => "unknown field".to_string(),
            },
        })?;
        self.set_by_id(id, value)
    }

    /// Sets a field by id, checking its type.
    pub fn set_by_id(&mut self, id: FieldId, value: Value) -> Result<&mut Self, Error> {
        let Some(def) = self.schema.field(id) else {
            return Err(Error::Request {
                field: format!("#{}", id.0),
                message: "no such field id in the schema".to_string(),
            });
        };
        if let Err(m) = check_value(&def.ty, &value) {
            return Err(Error::Request {
                field: def.name.clone(),
                message: m,
            });
        }
        self.table.set(id, canonical(value));
        Ok(self)
    }

    /// Makes a field missing again.
    pub fn unset(&mut self, id: FieldId) {
        self.table.unset(id);
    }

    /// Makes every field missing (keeps the allocation for reuse).
    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// Builds a request from a flat JSON object (`{"http.host": "a.com", "tcp.dstport": 443}`).
    /// Strings are `Bytes` (and `Ip`, parsed), numbers `Int`, `true`/`false`
    /// `Bool`, arrays `Array<T>`, objects `Map<T>`. For a map field `X` whose
    /// schema also has `X.names` / `X.values`, those are derived when not given.
    pub fn from_json(schema: &'s Schema, text: &str) -> Result<Self, Error> {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Request {
            field: String::new(),
            message: format!("request is not valid JSON: {e}"),
        })?;
        Self::from_json_value(schema, &json)
    }

    /// Like [`Context::from_json`], from parsed JSON.
    pub fn from_json_value(schema: &'s Schema, json: &serde_json::Value) -> Result<Self, Error> {
        request_json::within_element_limit(json)?;
        let serde_json::Value::Object(obj) = json else {
            return Err(Error::Request {
                field: String::new(),
                message: "a request must be a JSON object from field name to value".to_string(),
            });
        };
        let mut cx = Context::new(schema);
        set_json_fields(schema, &mut cx.table, obj)?;
        Ok(cx)
    }
}

/// The fields of a request JSON object, by name, in `table`: each value of
/// its field's type; then, for a map field `X` whose schema also has
/// `X.names` / `X.values` and that the request does not set, those from the
/// map, in the order the request gave the keys (FIELDS.md: arrays keep
/// request order). An unknown name is an error that suggests the closest field.
fn set_json_fields<'j>(
    schema: &Schema,
    table: &mut Table,
    fields: impl IntoIterator<Item = (&'j String, &'j serde_json::Value)> + Clone,
) -> Result<(), Error> {
    for (name, v) in fields.clone() {
        let Some(id) = schema.field_id(name) else {
            return Err(Error::Request {
                field: name.clone(),
                message: match schema.suggest_field(name) {
                    Some(s) => format!("unknown field; did you mean `{s}`?"),
                    None => "unknown field".to_string(),
                },
            });
        };
        let ty = &schema.field(id).map(|f| f.ty.clone()).unwrap_or(Type::Bool);
        let value = from_json(ty, v).map_err(|m| Error::Request {
            field: name.clone(),
            message: m,
        })?;
        table.set(id, canonical(value));
    }
    for (name, v) in fields {
        let serde_json::Value::Object(map) = v else {
            continue;
        };
        let mut names = Vec::with_capacity(map.len());
        let mut values = Vec::new();
        for (k, item) in map {
            names.push(Value::Bytes(k.as_bytes().to_vec()));
            match item {
                serde_json::Value::Array(a) => values.extend(
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .map(|x| Value::Bytes(x.as_bytes().to_vec())),
                ),
                serde_json::Value::String(x) => values.push(Value::Bytes(x.as_bytes().to_vec())),
                _ => {}
            }
        }
        let Some(def) = schema.field_id(name).and_then(|id| schema.field(id)) else {
            continue;
        };
        if !matches!(def.ty, Type::Map(_)) {
            continue;
        }
        for (suffix, derived) in [("names", names), ("values", values)] {
            let derived_name = format!("{}.{suffix}", def.name);
            if let Some(did) = schema.field_id(&derived_name)
                && table.value(did).is_none()
                && schema.field(did).map(|f| &f.ty) == Some(&Type::array(Type::Bytes))
            {
                table.set(did, Value::Array(derived));
            }
        }
    }
    Ok(())
}

/// IPv4-mapped addresses become IPv4, everywhere in the value.
fn canonical(v: Value) -> Value {
    match v {
        Value::Ip(ip) => Value::Ip(canonical_ip(ip)),
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, canonical(v))).collect()),
        other => other,
    }
}

/// Whether `v` has type `ty`.
pub fn check_value(ty: &Type, v: &Value) -> Result<(), String> {
    let ok = match (ty, v) {
        (Type::Bool, Value::Bool(_))
        | (Type::Int, Value::Int(_))
        | (Type::Bytes, Value::Bytes(_))
        | (Type::Ip, Value::Ip(_)) => true,
        (Type::Array(t), Value::Array(items)) => {
            return items.iter().try_for_each(|i| check_value(t, i));
        }
        (Type::Map(t), Value::Map(items)) => {
            return items.values().try_for_each(|i| check_value(t, i));
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected a {ty}, found {}", kind_of(v)))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "Bool",
        Value::Int(_) => "Int",
        Value::Bytes(_) => "String",
        Value::Ip(_) => "Ip",
        Value::Array(_) => "Array",
        Value::Map(_) => "Map",
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Converts JSON to a value of type `ty`.
pub fn from_json(ty: &Type, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    match (ty, v) {
        (Type::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Int, J::Number(n)) => crate::types::json_int(n)
            .map(Value::Int)
            .ok_or_else(|| format!("{n} is not a 64-bit integer")),
        (Type::Bytes, J::String(s)) => Ok(Value::Bytes(s.as_bytes().to_vec())),
        (Type::Ip, J::String(s)) => s
            .trim()
            .parse()
            .map(|ip| Value::Ip(canonical_ip(ip)))
            .map_err(|_| format!("`{s}` is not an IPv4 or IPv6 address")),
        (Type::Array(t), J::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(k, i)| from_json(t, i).map_err(|m| format!("element {k}: {m}")))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (Type::Map(t), J::Object(items)) => {
            let mut m = BTreeMap::new();
            for (k, i) in items {
                // A single value where the map holds arrays is taken as a one-element array.
                let value = match (&**t, i) {
                    (Type::Array(inner), x) if !x.is_array() => Value::Array(vec![
                        from_json(inner, x).map_err(|e| format!("key `{k}`: {e}"))?,
                    ]),
                    _ => from_json(t, i).map_err(|e| format!("key `{k}`: {e}"))?,
                };
                m.insert(k.as_bytes().to_vec(), value);
            }
            Ok(Value::Map(m))
        }
        _ => Err(format!("expected a {ty}, found {}", json_kind(v))),
    }
}
