//! The field schema: typed fields resolved to dense ids, aliases, named lists
//! and user functions. Built with [`SchemaBuilder`] or loaded from JSON.

use crate::error::Error;
use crate::functions::UserFunction;
use crate::types::{FieldId, Type};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

/// Name → id, with the engine's fast hasher (names come from the schema's
/// author, and every compile looks each one up).
type NameMap = HashMap<String, FieldId, crate::hash::FastHash>;

/// Most `Array<…>`/`Map<…>` wrappers one type may have: real schemas use two.
pub const MAX_TYPE_DEPTH: usize = 16;

impl Type {
    /// Parses `Bool`, `Int`, `Bytes` (or `String`), `Ip`, `Array<T>`, `Map<T>`,
    /// nested at most [`MAX_TYPE_DEPTH`] levels (read in a loop, not by
    /// recursion, so no input can exhaust the stack).
    pub fn parse(text: &str) -> Result<Type, Error> {
        let mut rest = text;
        // The wrappers from the outside in: `true` for an array.
        let mut wrappers = Vec::new();
        loop {
            let t = rest.trim();
            let unwrap = |prefix: &str| t.strip_prefix(prefix).and_then(|r| r.strip_suffix('>'));
            let (is_array, inner) = match (unwrap("Array<"), unwrap("Map<")) {
                (Some(inner), _) => (true, inner),
                (None, Some(inner)) => (false, inner),
                (None, None) => break,
            };
            if wrappers.len() == MAX_TYPE_DEPTH {
                return Err(Error::config(format!(
                    "type `{}…` nests more than {MAX_TYPE_DEPTH} levels of Array<…> and Map<…>",
                    text.trim().chars().take(40).collect::<String>()
                )));
            }
            wrappers.push(is_array);
            rest = inner;
        }
        let mut ty = match rest.trim() {
            "Bool" => Type::Bool,
            "Int" => Type::Int,
            "Bytes" | "String" => Type::Bytes,
            "Ip" => Type::Ip,
            _ => {
                return Err(Error::config(format!(
                    "unknown type `{rest}`; the types are Bool, Int, String (or Bytes), Ip, Array<T> and Map<T>"
                )));
            }
        };
        for is_array in wrappers.into_iter().rev() {
            ty = if is_array {
                Type::array(ty)
            } else {
                Type::map(ty)
            };
        }
        Ok(ty)
    }
}

/// One field of a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The canonical name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// What it holds and in which format (the default catalogue documents
    /// the fields whose format matters, e.g. certificate fields); `""` when
    /// undocumented.
    pub doc: &'static str,
}

/// Typed fields, aliases, named lists and user functions. Cheap to clone
/// (shared): a compiled filter keeps its schema, to explain itself.
#[derive(Clone, Default)]
pub struct Schema(Arc<SchemaData>);

#[derive(Clone, Default)]
struct SchemaData {
    /// The tag of its field ids, shifted into place (see [`FieldId`]).
    base: u32,
    fields: Vec<FieldDef>,
    /// Every field's name by id, shared with the programs compiled against
    /// the schema (for listings) without a copy per program.
    names: Arc<[Box<str>]>,
    by_name: NameMap,
    aliases: BTreeMap<String, FieldId>,
    lists: BTreeMap<String, Type>,
    functions: BTreeMap<String, Arc<UserFunction>>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("fields", &self.0.fields.len())
            .field("aliases", &self.0.aliases.len())
            .field("lists", &self.0.lists)
            .field("functions", &self.0.functions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Schema {
    /// Every field's name by id, shared (programs keep it for listings).
    pub fn names(&self) -> &Arc<[Box<str>]> {
        &self.0.names
    }

    /// Starts an empty schema.
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    /// The default HTTP and network catalogue of `FIELDS.md`.
    pub fn default_http() -> Schema {
        // The catalogue is checked by a unit test (`the_catalogue_builds`),
        // so this cannot fail.
        SchemaBuilder::default_http().build().unwrap_or_default()
    }

    /// Loads a schema from JSON:
    /// `{"fields": {"http.host": "Bytes"}, "aliases": {"host": "http.host"}, "lists": {"office": "Ip"}}`.
    pub fn from_json(text: &str) -> Result<Schema, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SchemaJson {
            fields: BTreeMap<String, String>,
            #[serde(default)]
            aliases: BTreeMap<String, String>,
            #[serde(default)]
            lists: BTreeMap<String, String>,
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::config(format!("schema JSON: {e}")))?;
        let json: SchemaJson =
            serde_json::from_value(value).map_err(|e| Error::config(format!("schema: {e}")))?;
        let mut b = Schema::builder();
        for (name, ty) in &json.fields {
            b = b.field(name, Type::parse(ty)?);
        }
        for (alias, target) in &json.aliases {
            b = b.alias(alias, target);
        }
        for (name, ty) in &json.lists {
            b = b.list(name, Type::parse(ty)?);
        }
        b.build()
    }

    /// Resolves a field name or alias.
    pub fn field_id(&self, name: &str) -> Option<FieldId> {
        self.0.by_name.get(name).copied()
    }

    /// The definition of a field.
    pub fn field(&self, id: FieldId) -> Option<&FieldDef> {
        self.0.fields.get(id.0.wrapping_sub(self.0.base) as usize)
    }

    /// The tag of the schema's field ids, in place: a request table of
    /// this schema keeps field `id` at `id.0 - base()`.
    pub(crate) fn base(&self) -> u32 {
        self.0.base
    }

    /// Every field, in id order.
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &FieldDef)> {
        self.0
            .fields
            .iter()
            .enumerate()
            .map(|(k, f)| (FieldId(self.0.base | k as u32), f))
    }

    /// Every alias and the field it names.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, FieldId)> {
        self.0.aliases.iter().map(|(a, id)| (a.as_str(), *id))
    }

    /// Number of fields (ids are `0..len`).
    pub fn len(&self) -> usize {
        self.0.fields.len()
    }

    /// True when the schema has no fields.
    pub fn is_empty(&self) -> bool {
        self.0.fields.is_empty()
    }

    /// A copy of the schema that also declares list `$name` of element type `ty`.
    pub fn with_list(&self, name: &str, ty: Type) -> Schema {
        let mut s = self.clone();
        Arc::make_mut(&mut s.0).lists.insert(name.to_string(), ty);
        s
    }

    /// The element type of a declared named list.
    pub fn list_type(&self, name: &str) -> Option<&Type> {
        self.0.lists.get(name)
    }

    /// Every declared list and its element type.
    pub fn lists(&self) -> impl Iterator<Item = (&str, &Type)> {
        self.0.lists.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// A registered user function.
    pub fn function(&self, name: &str) -> Option<&Arc<UserFunction>> {
        self.0.functions.get(name)
    }

    /// The known name closest to `name` (for "did you mean").
    pub fn suggest_field(&self, name: &str) -> Option<&str> {
        closest(name, self.0.by_name.keys().map(String::as_str))
    }

    /// The declared list name closest to `name`.
    pub fn suggest_list(&self, name: &str) -> Option<&str> {
        closest(name, self.0.lists.keys().map(String::as_str))
    }
}

/// The tag of a schema that does not extend the catalogue: 1 to 65535, from
/// its fields' names and types, so that the same fields get the same tag
/// (a request built for one copy of a schema fits filters of another).
fn tag(fields: &[(String, Type)]) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    for (name, ty) in fields {
        name.hash(&mut h);
        ty.to_string().hash(&mut h);
    }
    (h.finish() % 0xFFFF) as u32 + 1
}

/// The candidate within a small edit distance of `name`, if any.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.len() / 3).clamp(1, 4);
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance over bytes, bounded to short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 4 || a.len() > 128 || b.len() > 128 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Builds a [`Schema`]; [`SchemaBuilder::build`] validates names and aliases.
#[derive(Default)]
pub struct SchemaBuilder {
    /// Started from the default catalogue: its field ids are the catalogue's.
    extends_catalogue: bool,
    fields: Vec<(String, Type)>,
    aliases: Vec<(String, String)>,
    lists: Vec<(String, Type)>,
    functions: Vec<UserFunction>,
}

impl SchemaBuilder {
    /// A builder holding the default catalogue ([`Schema::default_http`]),
    /// to extend with fields, lists and functions of one's own. Its fields
    /// keep their catalogue ids, so requests built by
    /// [`HttpRequestBuilder`](crate::HttpRequestBuilder) fit it; set the
    /// added fields with
    /// [`HttpRequestBuilder::extra_field`](crate::HttpRequestBuilder::extra_field).
    pub fn default_http() -> SchemaBuilder {
        let mut b = SchemaBuilder {
            extends_catalogue: true,
            ..SchemaBuilder::default()
        };
        for (name, ty) in crate::catalogue::FIELDS {
            b = b.field(name, Type::parse(ty).unwrap_or(Type::Bytes));
        }
        for (alias, target) in crate::catalogue::ALIASES {
            b = b.alias(alias, target);
        }
        for (name, ty) in crate::catalogue::LISTS {
            b = b.list(name, Type::parse(ty).unwrap_or(Type::Ip));
        }
        b
    }

    /// Adds a field.
    pub fn field(mut self, name: &str, ty: Type) -> Self {
        self.fields.push((name.to_string(), ty));
        self
    }

    /// Makes `alias` another name for the field `target`.
    pub fn alias(mut self, alias: &str, target: &str) -> Self {
        self.aliases.push((alias.to_string(), target.to_string()));
        self
    }

    /// Declares a named list (`$name`) whose elements have type `ty` (Bytes, Int or Ip).
    pub fn list(mut self, name: &str, ty: Type) -> Self {
        self.lists.push((name.to_string(), ty));
        self
    }

    /// Registers a user function.
    pub fn function(mut self, f: UserFunction) -> Self {
        self.functions.push(f);
        self
    }

    /// Validates and builds the schema.
    pub fn build(self) -> Result<Schema, Error> {
        if self.fields.len() > FieldId::MAX_FIELDS {
            return Err(Error::config(format!(
                "a schema has at most {} fields, this one {}",
                FieldId::MAX_FIELDS,
                self.fields.len()
            )));
        }
        let mut s = SchemaData {
            base: if self.extends_catalogue {
                0
            } else {
                tag(&self.fields) << 16
            },
            ..SchemaData::default()
        };
        for (name, ty) in self.fields {
            validate_name(&name, "field")?;
            if s.by_name.contains_key(&name) {
                return Err(Error::config(format!("field `{name}` is declared twice")));
            }
            let id = FieldId(s.base | s.fields.len() as u32);
            s.by_name.insert(name.clone(), id);
            let doc = crate::catalogue::doc(&name);
            s.fields.push(FieldDef { name, ty, doc });
        }
        s.names = s.fields.iter().map(|f| f.name.as_str().into()).collect();
        for (alias, target) in self.aliases {
            validate_name(&alias, "alias")?;
            let Some(&id) = s.by_name.get(&target) else {
                return Err(Error::config(format!(
                    "alias `{alias}` names `{target}`, which is not a field"
                )));
            };
            if s.by_name.insert(alias.clone(), id).is_some() {
                return Err(Error::config(format!("`{alias}` is declared twice")));
            }
            s.aliases.insert(alias, id);
        }
        for (name, ty) in self.lists {
            validate_name(&name, "list")?;
            if !matches!(ty, Type::Bytes | Type::Int | Type::Ip) {
                return Err(Error::config(format!(
                    "list `${name}` has type {ty}; lists hold String, Int or Ip values"
                )));
            }
            s.lists.insert(name, ty);
        }
        for f in self.functions {
            if crate::functions::Builtin::from_name(&f.name).is_some() {
                return Err(Error::config(format!(
                    "function `{}` would hide the built-in of that name",
                    f.name
                )));
            }
            if f.name.is_empty()
                || !f
                    .name
                    .starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                || !f
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(Error::config(format!(
                    "function name `{}` must be made of `[a-z0-9_]` and start with a letter",
                    f.name
                )));
            }
            s.functions.insert(f.name.clone(), Arc::new(f));
        }
        Ok(Schema(Arc::new(s)))
    }
}

fn validate_name(name: &str, what: &str) -> Result<(), Error> {
    // The first segment starts with a letter or `_`; later ones may start
    // with a digit (`cf.response.1xxx_code`).
    let ok = !name.is_empty()
        && name.split('.').enumerate().all(|(k, seg)| {
            seg.starts_with(|c: char| {
                c.is_ascii_lowercase() || c == '_' || (k > 0 && c.is_ascii_digit())
            }) && seg
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    let reserved = crate::syntax::keywords::KEYWORDS.contains(&name);
    if ok && !reserved {
        Ok(())
    } else {
        Err(Error::config(format!(
            "{what} name `{name}` is invalid: use dot-separated segments of `[a-z0-9_]`, the first starting with a letter or `_`, and no keyword"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_builds() {
        let mut b = Schema::builder();
        for (name, ty) in crate::catalogue::FIELDS {
            b = b.field(name, Type::parse(ty).unwrap());
        }
        for (alias, target) in crate::catalogue::ALIASES {
            b = b.alias(alias, target);
        }
        for (name, ty) in crate::catalogue::LISTS {
            b = b.list(name, Type::parse(ty).unwrap());
        }
        let built = b.build().unwrap();
        assert_eq!(built.len(), crate::catalogue::FIELDS.len());
        assert_eq!(Schema::default_http().len(), crate::catalogue::FIELDS.len());
    }

    #[test]
    fn types_parse_and_print() {
        for (text, shown) in [
            ("Bool", "Bool"),
            ("Bytes", "String"),
            ("String", "String"),
            ("Map<Array<Bytes>>", "Map<Array<String>>"),
            ("Array<Int>", "Array<Int>"),
        ] {
            assert_eq!(
                Type::parse(text).map(|t| t.to_string()).ok().as_deref(),
                Some(shown)
            );
        }
        assert!(Type::parse("Strng").is_err());
    }

    #[test]
    fn json_schema_resolves_aliases_and_suggests() {
        let s = Schema::from_json(
            r#"{"fields": {"http.host": "Bytes", "http.request.headers": "Map<Array<Bytes>>"},
                "aliases": {"host": "http.host"}, "lists": {"office": "Ip"}}"#,
        )
        .unwrap();
        assert_eq!(s.field_id("host"), s.field_id("http.host"));
        assert_eq!(s.suggest_field("http.hots"), Some("http.host"));
        assert_eq!(s.list_type("office"), Some(&Type::Ip));
        assert!(Schema::from_json(r#"{"fields": {"Bad": "Int"}}"#).is_err());
    }
}
