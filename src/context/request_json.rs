//! [`HttpRequest::from_json`]: a request JSON over the default catalogue.
//!
//! Its keys are raw request parts ([`PARTS`]: method, request target,
//! headers...), which go through [`HttpRequestBuilder`] and so derive what
//! the builder derives, and field names (`"http.host": "a.com"`), which set
//! their field as [`Context::from_json`](super::Context::from_json) does and
//! win over anything derived. Any other key is an error that names it and
//! suggests the closest known key: a misspelled key never changes a verdict
//! silently.

use super::http::default_schema;
use super::{
    ClientCert, HttpRequest, HttpRequestBuilder, Table, from_json, json_kind, set_json_fields,
};
use crate::catalogue;
use crate::error::Error;
use crate::schema::closest;
use crate::types::{FieldId, Type, Value};
use serde_json::Value as J;

/// The keys of a request JSON that are raw request parts, each given to the
/// [`HttpRequestBuilder`] method of the same meaning (`docs/language.md`).
const PARTS: &[&str] = &[
    "method",
    "uri",
    "scheme",
    "host",
    "headers",
    "client_ip",
    "body",
    "body_mime",
    "tls",
    "client_cert",
];

impl HttpRequest {
    /// Builds a request from JSON text: raw request parts and fields by
    /// name (see [`HttpRequest::from_json_value`]).
    pub fn from_json(text: &str) -> Result<HttpRequest, Error> {
        let json: J = serde_json::from_str(text).map_err(|e| Error::Request {
            field: String::new(),
            message: format!("request is not valid JSON: {e}"),
        })?;
        Self::from_json_value(&json)
    }

    /// Builds a request from a JSON object whose keys are raw request parts
    /// or default-catalogue fields:
    ///
    /// ```json
    /// {"method": "GET", "uri": "/a/../admin?x=1", "scheme": "https",
    ///  "headers": [["Host", "a.com"], ["Cookie", "sid=1"]],
    ///  "client_ip": "192.0.2.1", "tls": {"version": "TLSv1.3", "cipher": "AEAD-AES128-GCM-SHA256"},
    ///  "client_cert": {"presented": true, "verified": true, "subject_dn": "CN=a"},
    ///  "body": "a=1", "body_mime": "application/x-www-form-urlencoded",
    ///  "cf.bot_management.score": 12}
    /// ```
    ///
    /// The parts derive every dependent field through the
    /// [`HttpRequestBuilder`], exactly as the builder's methods do; a field
    /// given by name sets that field only (as [`Context::from_json`] does)
    /// and wins over a derived value. `headers` is an object from name to a
    /// string or an array of strings, or an array of `[name, value]` pairs
    /// (to keep the order and repeats of the request); `body_mime`
    /// defaults to the `Content-Type` header's media type; `client_cert`
    /// takes the field names of [`ClientCert`] (unset ones are false or
    /// empty, as for a connection without a certificate).
    ///
    /// [`Context::from_json`]: super::Context::from_json
    pub fn from_json_value(json: &J) -> Result<HttpRequest, Error> {
        Self::from_json_onto(json, HttpRequest::builder())
    }

    /// [`HttpRequest::from_json_value`] building only `fields` (a rule
    /// set's [`fields`](crate::CompiledRuleSet::fields)), as
    /// [`HttpRequestBuilder::only`] does: the same verdicts, for less work.
    pub fn from_json_value_only(json: &J, fields: &[FieldId]) -> Result<HttpRequest, Error> {
        Self::from_json_onto(json, HttpRequest::builder().only(fields))
    }

    fn from_json_onto(json: &J, mut b: HttpRequestBuilder) -> Result<HttpRequest, Error> {
        within_element_limit(json)?;
        let J::Object(obj) = json else {
            return Err(Error::Request {
                field: String::new(),
                message: "a request must be a JSON object of request parts and field names"
                    .to_string(),
            });
        };
        let schema = default_schema();
        let mut fields = Vec::new();
        let (mut body, mut body_mime) = (None, None);
        for (key, v) in obj {
            let bad = |message: String| Error::Request {
                field: key.clone(),
                message,
            };
            b = match key.as_str() {
                "method" => b.method(string(v).map_err(bad)?),
                "uri" => b.uri(string(v).map_err(bad)?),
                "scheme" => b.scheme(string(v).map_err(bad)?),
                "host" => b.host(string(v).map_err(bad)?),
                "headers" => headers(b, v).map_err(bad)?,
                "client_ip" => match from_json(&Type::Ip, v).map_err(bad)? {
                    Value::Ip(ip) => b.client_ip(ip),
                    other => return Err(bad(format!("expected an address, found {other:?}"))),
                },
                "body" => {
                    body = Some(string(v).map_err(bad)?);
                    b
                }
                "body_mime" => {
                    body_mime = Some(string(v).map_err(bad)?);
                    b
                }
                "tls" => {
                    const KEYS: &[&str] = &["version", "cipher"];
                    let version = member(v, "version", KEYS).map_err(bad)?;
                    let cipher = member(v, "cipher", KEYS).map_err(bad)?;
                    b.tls(version, cipher)
                }

                "client_cert" => b.client_cert(&client_cert(v).map_err(bad)?),
                name if schema.field_id(name).is_some() => {
                    fields.push((key, v));
                    b
                }
                name => {
                    let known = PARTS
                        .iter()
                        .copied()
                        .chain(schema.fields().map(|(_, f)| f.name.as_str()))
                        .chain(schema.aliases().map(|(a, _)| a));
                    return Err(bad(match closest(name, known) {
                        Some(s) => {
                            format!("neither a request part nor a field; did you mean `{s}`?")
                        }
                        None => "neither a request part nor a field".to_string(),
                    }));
                }
            };
        }
        match (body, body_mime) {
            (Some(body), mime) => b = b.body(body.as_bytes(), mime.unwrap_or_default()),
            (None, Some(_)) => {
                return Err(Error::Request {
                    field: "body_mime".to_string(),
                    message: "a MIME type without a `body`".to_string(),
                });
            }
            (None, None) => {}
        }
        let mut table = Table::new(catalogue::FIELDS.len());
        set_json_fields(schema, &mut table, fields)?;
        b.checked_fields(table.into_set()).build()
    }
}

/// Most values (every string, number, array element and object member,
/// nested ones included) a request JSON may hold: far above any real
/// request (servers cap headers at about a hundred), low enough that a
/// hostile line cannot make the request it derives large.
pub const MAX_REQUEST_ELEMENTS: usize = 100_000;

/// An error when `json` holds more than [`MAX_REQUEST_ELEMENTS`] values.
pub(crate) fn within_element_limit(json: &J) -> Result<(), Error> {
    if too_many_elements(json, MAX_REQUEST_ELEMENTS) {
        return Err(Error::Request {
            field: String::new(),
            message: format!(
                "a request JSON holds more than {MAX_REQUEST_ELEMENTS} values (headers, arguments, array elements); no real request does"
            ),
        });
    }
    Ok(())
}

/// Whether `v` holds more than `max` values, counted until the limit.
fn too_many_elements(v: &J, max: usize) -> bool {
    let mut left = max;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        let Some(l) = left.checked_sub(1) else {
            return true;
        };
        left = l;
        match v {
            J::Array(items) => todo.extend(items),
            J::Object(m) => todo.extend(m.values()),
            _ => {}
        }
    }
    false
}

fn string(v: &J) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected a string, found {}", json_kind(v)))
}

/// String member `name` of object `v`, whose only keys may be `keys`.
fn member<'j>(v: &'j J, name: &str, keys: &[&str]) -> Result<&'j str, String> {
    let J::Object(obj) = v else {
        return Err(format!(
            "expected an object with {}, found {}",
            keys.join(" and "),
            json_kind(v)
        ));
    };
    if let Some(k) = obj.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(unknown_key(k, keys));
    }
    match obj.get(name) {
        Some(x) => string(x).map_err(|m| format!("`{name}`: {m}")),
        None => Err(format!("`{name}` is missing")),
    }
}

fn unknown_key(key: &str, keys: &[&str]) -> String {
    match closest(key, keys.iter().copied()) {
        Some(s) => format!("unknown key `{key}`; did you mean `{s}`?"),
        None => format!("unknown key `{key}` (known: {})", keys.join(", ")),
    }
}

/// `{"Name": "v" | ["v", ...]}` or `[["Name", "v"], ...]`, in order.
fn headers(mut b: HttpRequestBuilder, v: &J) -> Result<HttpRequestBuilder, String> {
    match v {
        J::Object(obj) => {
            for (name, value) in obj {
                match value {
                    J::String(s) => b = b.header(name, s),
                    J::Array(items) => {
                        for (k, item) in items.iter().enumerate() {
                            let s = string(item).map_err(|m| format!("`{name}` value {k}: {m}"))?;
                            b = b.header(name, s);
                        }
                    }
                    other => {
                        return Err(format!(
                            "`{name}`: expected a string or an array of strings, found {}",
                            json_kind(other)
                        ));
                    }
                }
            }
        }
        J::Array(pairs) => {
            for (k, pair) in pairs.iter().enumerate() {
                match pair.as_array().map(Vec::as_slice) {
                    Some([J::String(name), J::String(value)]) => b = b.header(name, value),
                    _ => {
                        return Err(format!(
                            "element {k}: expected a [name, value] pair of strings, found {pair}"
                        ));
                    }
                }
            }
        }
        other => {
            return Err(format!(
                "expected an object from name to value or an array of [name, value] pairs, found {}",
                json_kind(other)
            ));
        }
    }
    Ok(b)
}

/// The keys of a `client_cert` object: [`ClientCert`]'s field names.
const CERT_KEYS: &[&str] = &[
    "presented",
    "verified",
    "revoked",
    "failure",
    "subject_dn",
    "issuer_dn",
    "subject_dn_rfc2253",
    "issuer_dn_rfc2253",
    "subject_dn_legacy",
    "issuer_dn_legacy",
    "serial",
    "issuer_serial",
    "fingerprint_sha256",
    "fingerprint_sha1",
    "not_before",
    "not_after",
    "ski",
    "issuer_ski",
    "rfc9440",
    "rfc9440_too_large",
    "chain_rfc9440",
    "chain_rfc9440_too_large",
];

/// Where a `client_cert` key goes in a [`ClientCert`].
enum Slot<'c> {
    Flag(&'c mut bool),
    Text(&'c mut String),
}

fn slot<'c>(c: &'c mut ClientCert, key: &str) -> Option<Slot<'c>> {
    use Slot::{Flag, Text};
    Some(match key {
        "presented" => Flag(&mut c.presented),
        "verified" => Flag(&mut c.verified),
        "revoked" => Flag(&mut c.revoked),
        "failure" => Text(&mut c.failure),
        "subject_dn" => Text(&mut c.subject_dn),
        "issuer_dn" => Text(&mut c.issuer_dn),
        "subject_dn_rfc2253" => Text(&mut c.subject_dn_rfc2253),
        "issuer_dn_rfc2253" => Text(&mut c.issuer_dn_rfc2253),
        "subject_dn_legacy" => Text(&mut c.subject_dn_legacy),
        "issuer_dn_legacy" => Text(&mut c.issuer_dn_legacy),
        "serial" => Text(&mut c.serial),
        "issuer_serial" => Text(&mut c.issuer_serial),
        "fingerprint_sha256" => Text(&mut c.fingerprint_sha256),
        "fingerprint_sha1" => Text(&mut c.fingerprint_sha1),
        "not_before" => Text(&mut c.not_before),
        "not_after" => Text(&mut c.not_after),
        "ski" => Text(&mut c.ski),
        "issuer_ski" => Text(&mut c.issuer_ski),
        "rfc9440" => Text(&mut c.rfc9440),
        "rfc9440_too_large" => Flag(&mut c.rfc9440_too_large),
        "chain_rfc9440" => Text(&mut c.chain_rfc9440),
        "chain_rfc9440_too_large" => Flag(&mut c.chain_rfc9440_too_large),
        _ => return None,
    })
}

/// A `client_cert` object, key by key onto [`ClientCert`] (unset keys keep
/// its default: no certificate).
fn client_cert(v: &J) -> Result<ClientCert, String> {
    let J::Object(obj) = v else {
        return Err(format!(
            "expected an object of certificate facts, found {}",
            json_kind(v)
        ));
    };
    let mut cert = ClientCert::default();
    for (key, value) in obj {
        match (slot(&mut cert, key), value) {
            (Some(Slot::Flag(f)), J::Bool(b)) => *f = *b,
            (Some(Slot::Text(t)), J::String(s)) => s.clone_into(t),
            (Some(Slot::Flag(_)), other) => {
                return Err(format!(
                    "`{key}`: expected a boolean, found {}",
                    json_kind(other)
                ));
            }
            (Some(Slot::Text(_)), other) => {
                return Err(format!(
                    "`{key}`: expected a string, found {}",
                    json_kind(other)
                ));
            }
            (None, _) => return Err(unknown_key(key, CERT_KEYS)),
        }
    }
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Val, Value};
    use serde_json::json;
    use std::borrow::Cow;

    fn get<'r>(r: &'r HttpRequest, name: &str) -> Val<'r> {
        r.get_by_name(name).unwrap()
    }

    fn text(s: &str) -> Val<'_> {
        Val::Bytes(Cow::Borrowed(s.as_bytes()))
    }

    #[test]
    fn parts_derive_what_the_builder_derives() {
        let json = json!({
            "method": "POST",
            "uri": "/a/./b/../C%2ephp?x=%41&x=2",
            "scheme": "https",
            "headers": [["Host", "a.com"], ["X-Trace", "1"], ["x-trace", "2"], ["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]],
            "client_ip": "::ffff:192.0.2.1",
            "tls": {"version": "TLSv1.3", "cipher": "AES"},
            "client_cert": {"presented": true, "verified": true, "subject_dn": "CN=a"},
            "body": "k=v",
        });
        let from_json = HttpRequest::from_json_value(&json).unwrap();
        let built = HttpRequest::builder()
            .method("POST")
            .uri("/a/./b/../C%2ephp?x=%41&x=2")
            .scheme("https")
            .header("Host", "a.com")
            .header("X-Trace", "1")
            .header("x-trace", "2")
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .client_ip("192.0.2.1".parse().unwrap())
            .tls("TLSv1.3", "AES")
            .client_cert(&ClientCert {
                presented: true,
                verified: true,
                subject_dn: "CN=a".into(),
                ..ClientCert::default()
            })
            .body(b"k=v", "")
            .build()
            .unwrap();
        assert_eq!(from_json, built);
        assert_eq!(
            get(&built, "http.request.full_uri"),
            text("https://a.com/a/C.php?x=%41&x=2")
        );
        assert_eq!(
            get(&built, "http.request.body.mime"),
            text("application/x-www-form-urlencoded")
        );
        assert_eq!(
            get(&built, "http.request.body.form"),
            Value::Map(
                [(
                    b"k".to_vec(),
                    Value::Array(vec![Value::Bytes(b"v".to_vec())])
                )]
                .into()
            )
            .as_val()
        );
        // The object form of headers, with an array for a repeated header.
        let objects = HttpRequest::from_json_value(&json!({
            "headers": {"Host": "a.com", "X-Trace": ["1", "2"]}
        }))
        .unwrap();
        let pairs = HttpRequest::from_json_value(&json!({
            "headers": [["Host", "a.com"], ["X-Trace", "1"], ["X-Trace", "2"]]
        }))
        .unwrap();
        assert_eq!(objects, pairs);
    }

    #[test]
    fn a_field_by_name_wins_over_a_derived_one_and_sets_only_itself() {
        let r = HttpRequest::from_json_value(&json!({
            "http.request.uri.path": "/given",
            "uri": "/derived.php",
            "headers": {"Host": "a.com"},
            "http.host": "b.com",
        }))
        .unwrap();
        assert_eq!(get(&r, "http.request.uri.path"), text("/given"));
        assert_eq!(get(&r, "http.request.uri.path.extension"), text("php"));
        assert_eq!(get(&r, "http.host"), text("b.com"));
        // A map given by name brings its names and values (as `Context` does).
        let r = HttpRequest::from_json_value(&json!({
            "headers": {"Host": "a.com"},
            "http.request.headers": {"X-A": "1"},
        }))
        .unwrap();
        assert_eq!(
            get(&r, "http.request.headers.names"),
            Value::Array(vec![Value::Bytes(b"X-A".to_vec())]).as_val()
        );
    }

    #[test]
    fn only_fields_by_name_give_what_context_gives() {
        let schema = crate::Schema::default_http();
        let json = json!({
            "http.host": "a.com",
            "ip.src": "10.0.0.1",
            "http.request.headers": {"Accept": ["a", "b"]},
            "ssl": true,
        });
        let cx = super::super::Context::from_json_value(&schema, &json).unwrap();
        let r = HttpRequest::from_json_value(&json).unwrap();
        assert_eq!(r.table, cx.table);
    }

    #[test]
    fn unknown_and_ill_typed_keys_are_errors_that_name_them() {
        for (json, field, fragment) in [
            (json!({"url": "/"}), "url", "did you mean `uri`?"),
            (json!({"header": {}}), "header", "did you mean `headers`?"),
            (
                json!({"http.hots": "a"}),
                "http.hots",
                "did you mean `http.host`?",
            ),
            (
                json!({"zzzzzzzz": 1}),
                "zzzzzzzz",
                "neither a request part nor a field",
            ),
            (
                json!({"uri": 1}),
                "uri",
                "expected a string, found a number",
            ),
            (
                json!({"headers": "Host: a"}),
                "headers",
                "array of [name, value] pairs",
            ),
            (json!({"headers": [["Host"]]}), "headers", "element 0"),
            (json!({"headers": {"A": [1]}}), "headers", "`A` value 0"),
            (
                json!({"client_ip": "10.0.0.300"}),
                "client_ip",
                "not an IPv4 or IPv6 address",
            ),
            (
                json!({"tls": {"version": "v"}}),
                "tls",
                "`cipher` is missing",
            ),
            (
                json!({"tls": {"version": "v", "cipher": "c", "ciphr": "c"}}),
                "tls",
                "did you mean `cipher`?",
            ),
            (
                json!({"client_cert": {"verifed": true}}),
                "client_cert",
                "did you mean `verified`?",
            ),
            (
                json!({"client_cert": {"verified": "yes"}}),
                "client_cert",
                "expected a boolean",
            ),
            (
                json!({"client_cert": {"serial": 1}}),
                "client_cert",
                "expected a string",
            ),
            (
                json!({"body_mime": "text/plain"}),
                "body_mime",
                "without a `body`",
            ),
            (json!({"ssl": "yes"}), "ssl", "expected a Bool"),
            (json!(["uri", "/"]), "", "must be a JSON object"),
        ] {
            match HttpRequest::from_json_value(&json) {
                Err(Error::Request { field: f, message }) => {
                    assert_eq!(f, field, "{json}");
                    assert!(message.contains(fragment), "{json}: {message}");
                }
                other => panic!("{json}: {other:?}"),
            }
        }
        assert!(HttpRequest::from_json("{").is_err());
    }

    #[test]
    fn no_part_is_a_field_name() {
        let schema = default_schema();
        for part in PARTS {
            assert!(schema.field_id(part).is_none(), "{part}");
        }
    }

    #[test]
    fn every_client_cert_key_reaches_its_field() {
        let mut obj = serde_json::Map::new();
        for (k, key) in CERT_KEYS.iter().enumerate() {
            let value = match slot(&mut ClientCert::default(), key) {
                Some(Slot::Flag(_)) => json!(true),
                Some(Slot::Text(_)) => json!(format!("v{k}")),
                None => panic!("`{key}` has no slot"),
            };
            obj.insert(key.to_string(), value);
        }
        // Naming every field (no `..`): a field added to `ClientCert` stops
        // this from compiling until it has its key.
        let want = ClientCert {
            presented: true,
            verified: true,
            revoked: true,
            failure: "v3".into(),
            subject_dn: "v4".into(),
            issuer_dn: "v5".into(),
            subject_dn_rfc2253: "v6".into(),
            issuer_dn_rfc2253: "v7".into(),
            subject_dn_legacy: "v8".into(),
            issuer_dn_legacy: "v9".into(),
            serial: "v10".into(),
            issuer_serial: "v11".into(),
            fingerprint_sha256: "v12".into(),
            fingerprint_sha1: "v13".into(),
            not_before: "v14".into(),
            not_after: "v15".into(),
            ski: "v16".into(),
            issuer_ski: "v17".into(),
            rfc9440: "v18".into(),
            rfc9440_too_large: true,
            chain_rfc9440: "v20".into(),
            chain_rfc9440_too_large: true,
        };
        assert_eq!(client_cert(&J::Object(obj)).unwrap(), want);
    }
}
