//! [`RequestView`]: a request that borrows its values from the caller, for
//! an embedder that already holds them (parsed headers, a connection's
//! address): no allocation, nothing derived.

use super::Request;
use crate::error::Error;
use crate::schema::Schema;
use crate::types::{FieldId, Scalar, Seq, Type, Val, Value, canonical_ip};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Most fields one view holds.
pub const VIEW_CAPACITY: usize = 24;

/// Field positions a view finds in one step (later ones by a scan).
const DIRECT: usize = 256;

/// A request over values the caller owns: each field set by id to a value
/// borrowed for `'a`, checked against the schema's type; nothing is copied,
/// allocated or derived (give `http.host` lower-cased, as the language
/// expects, or build an [`HttpRequest`](crate::HttpRequest), which derives
/// every field from raw parts). Holds at most [`VIEW_CAPACITY`] fields.
///
/// ```
/// use portcullis::{Compiler, RequestView, Schema};
/// let schema = Schema::default_http();
/// let filter = Compiler::new(&schema).compile(r#"http.host eq "a.example" and tcp.dstport == 443"#).unwrap();
/// let (host, port) = (schema.field_id("http.host").unwrap(), schema.field_id("tcp.dstport").unwrap());
/// let mut view = RequestView::new(&schema);
/// view.bytes(host, b"a.example").unwrap().int(port, 443).unwrap();
/// assert!(filter.matches(&view));
/// ```
pub struct RequestView<'a> {
    schema: &'a Schema,
    /// By field position (below [`DIRECT`]): slot + 1, or 0.
    slot_of: [u8; DIRECT],
    ids: [FieldId; VIEW_CAPACITY],
    vals: [Val<'a>; VIEW_CAPACITY],
    len: usize,
}

impl<'a> RequestView<'a> {
    /// An empty view (every field missing) over `schema`'s fields.
    pub fn new(schema: &'a Schema) -> Self {
        RequestView {
            schema,
            slot_of: [0; DIRECT],
            ids: [FieldId(0); VIEW_CAPACITY],
            vals: [const { Val::Missing }; VIEW_CAPACITY],
            len: 0,
        }
    }

    /// Sets field `id` to `value`, after checking that the schema has the
    /// field and that the value has its type. An array must be borrowed
    /// (`Seq::Values`): a view computes nothing.
    pub fn set(&mut self, id: FieldId, value: Val<'a>) -> Result<&mut Self, Error> {
        let bad = |message: String| Error::Request {
            field: format!("#{}", id.0),
            message,
        };
        let Some(def) = self.schema.field(id) else {
            return Err(bad("not a field of this view's schema".into()));
        };
        let fits = matches!(
            (&def.ty, &value),
            (_, Val::Missing)
                | (Type::Bool, Val::Bool(_))
                | (Type::Int, Val::Int(_))
                | (Type::Bytes, Val::Bytes(_))
                | (Type::Ip, Val::Ip(_))
                | (Type::Map(_), Val::Map(_))
                | (Type::Array(_), Val::Array(Seq::Values(_)))
        );
        if !fits {
            return Err(Error::Request {
                field: def.name.clone(),
                message: format!("expected a borrowed {} value", def.ty),
            });
        }
        let value = match value {
            Val::Ip(ip) => Val::Ip(canonical_ip(ip)),
            v => v,
        };
        let at = self.position(id);
        if let Some(slot) = self.slot(id, at) {
            self.vals[slot] = value;
            return Ok(self);
        }
        if self.len == VIEW_CAPACITY {
            return Err(Error::Request {
                field: def.name.clone(),
                message: format!(
                    "a view holds at most {VIEW_CAPACITY} fields (build a Context or an HttpRequest for more)"
                ),
            });
        }
        let slot = self.len;
        self.len += 1;
        self.ids[slot] = id;
        self.vals[slot] = value;
        if let Some(s) = self.slot_of.get_mut(at) {
            *s = slot as u8 + 1;
        }
        Ok(self)
    }

    /// Sets a String field to borrowed bytes.
    pub fn bytes(&mut self, id: FieldId, value: &'a [u8]) -> Result<&mut Self, Error> {
        self.set(id, Val::Bytes(Cow::Borrowed(value)))
    }

    /// Sets a String field to a borrowed string.
    pub fn str(&mut self, id: FieldId, value: &'a str) -> Result<&mut Self, Error> {
        self.bytes(id, value.as_bytes())
    }

    /// Sets an Int field.
    pub fn int(&mut self, id: FieldId, value: i64) -> Result<&mut Self, Error> {
        self.set(id, Val::Int(value))
    }

    /// Sets a Bool field.
    pub fn bool(&mut self, id: FieldId, value: bool) -> Result<&mut Self, Error> {
        self.set(id, Val::Bool(value))
    }

    /// Sets an Ip field (IPv4-mapped IPv6 is IPv4, as everywhere).
    pub fn ip(&mut self, id: FieldId, value: IpAddr) -> Result<&mut Self, Error> {
        self.set(id, Val::Ip(value))
    }

    /// Sets an Array field to borrowed elements.
    pub fn array(&mut self, id: FieldId, items: &'a [Value]) -> Result<&mut Self, Error> {
        self.set(id, Val::Array(Seq::Values(items)))
    }

    /// Sets a Map field to a borrowed map.
    pub fn map(
        &mut self,
        id: FieldId,
        map: &'a BTreeMap<Vec<u8>, Value>,
    ) -> Result<&mut Self, Error> {
        self.set(id, Val::Map(map))
    }

    /// Where the schema keeps field `id` (past [`DIRECT`] for another
    /// schema's id, whose tag differs: see [`FieldId`]).
    #[inline]
    fn position(&self, id: FieldId) -> usize {
        id.0.wrapping_sub(self.schema.base()) as usize
    }

    #[inline]
    fn slot(&self, id: FieldId, at: usize) -> Option<usize> {
        match self.slot_of.get(at) {
            Some(&s) => (s > 0).then(|| usize::from(s) - 1),
            None => self.ids[..self.len].iter().position(|&i| i == id),
        }
    }

    #[inline]
    fn value(&self, id: FieldId) -> Option<&Val<'a>> {
        self.vals.get(self.slot(id, self.position(id))?)
    }
}

impl Request for RequestView<'_> {
    #[inline]
    fn get(&self, id: FieldId) -> Val<'_> {
        self.value(id).cloned().unwrap_or(Val::Missing)
    }

    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        self.value(id).map_or(Scalar::Missing, Val::scalar)
    }

    #[inline]
    fn precomputed(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_checks_types_and_capacity_and_answers_what_it_holds() {
        let schema = Schema::default_http();
        let id = |n: &str| schema.field_id(n).unwrap();
        let mut view = RequestView::new(&schema);
        view.str(id("http.host"), "a.example").unwrap();
        assert!(view.int(id("http.host"), 1).is_err(), "a String field");
        assert!(view.set(FieldId(0x7FFF_0000), Val::Int(1)).is_err());
        view.str(id("http.host"), "b.example").unwrap();
        assert_eq!(
            view.get(id("http.host")),
            Val::Bytes(Cow::Borrowed(b"b.example"))
        );
        assert_eq!(view.len, 1, "set twice, held once");
        view.ip(id("ip.src"), "::ffff:10.0.0.1".parse().unwrap())
            .unwrap();
        assert_eq!(view.get(id("ip.src")), Val::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(view.get(id("http.referer")), Val::Missing);
        let strings: Vec<(FieldId, &str)> = schema
            .fields()
            .filter(|(_, f)| f.ty == Type::Bytes)
            .map(|(id, f)| (id, f.name.as_str()))
            .take(VIEW_CAPACITY + 1)
            .collect();
        let mut full = RequestView::new(&schema);
        for (k, (id, name)) in strings.iter().enumerate() {
            let r = full.str(*id, name);
            assert_eq!(r.is_ok(), k < VIEW_CAPACITY, "{name}");
        }
    }
}
