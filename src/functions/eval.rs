//! What each built-in function does, shared by the VM and the reference
//! evaluator. Every function is total: malformed input gives a missing value
//! or the input unchanged (as documented per function), never a panic, and
//! its work is linear in its input (recursive URL decoding reaches its
//! fixed point in one pass).

use super::Builtin;
use crate::limits::Limits;
use crate::matchers::Wildcard;
use crate::regexes::RegexCache;
use crate::types::{Seq, Val};
use regex::bytes::Regex;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// What a call prepares once, at compile time, from its literal arguments.
#[derive(Debug, Clone, Default)]
pub enum Prepared {
    /// Nothing to prepare.
    #[default]
    None,
    /// `regex_replace`: the regex and the replacement.
    Regex(Arc<Regex>, Box<[u8]>),
    /// `wildcard_replace`: the pattern and the replacement.
    Wildcard(Box<Wildcard>, Box<[u8]>),
}

impl Prepared {
    /// Prepares a call to `b`; `literal(k)` is argument `k` when it is a
    /// literal string.
    pub fn new<'a>(
        b: Builtin,
        literal: impl Fn(usize) -> Option<&'a [u8]>,
        limits: &Limits,
        cache: &RegexCache,
    ) -> Result<Prepared, String> {
        match b {
            Builtin::RegexReplace => {
                let pattern = literal(1).ok_or("regex_replace needs a literal regex")?;
                let pattern =
                    std::str::from_utf8(pattern).map_err(|_| "the regex must be UTF-8")?;
                let re = cache
                    .get(pattern, limits.max_regex_size)
                    .map_err(|e| format!("invalid regex: {e}"))?;
                let repl = literal(2).ok_or("regex_replace needs a literal replacement")?;
                Ok(Prepared::Regex(re, repl.into()))
            }
            Builtin::WildcardReplace => {
                let pattern = literal(1).ok_or("wildcard_replace needs a literal pattern")?;
                let strict = literal(3) == Some(b"s");
                let repl = literal(2).ok_or("wildcard_replace needs a literal replacement")?;
                Ok(Prepared::Wildcard(
                    Box::new(Wildcard::new(pattern, strict)),
                    repl.into(),
                ))
            }
            _ => Ok(Prepared::None),
        }
    }
}

/// A sub-slice that stays borrowed when its source is.
fn sub<'a>(b: &Cow<'a, [u8]>, from: usize, to: usize) -> Cow<'a, [u8]> {
    match b {
        Cow::Borrowed(s) => Cow::Borrowed(&s[from..to]),
        Cow::Owned(v) => Cow::Owned(v[from..to].to_vec()),
    }
}

fn bytes(v: Vec<u8>) -> Val<'static> {
    Val::Bytes(Cow::Owned(v))
}

/// The bytes a value built during evaluation holds of its own (what it
/// borrows from the request costs nothing), as value budgets count them.
pub fn held_bytes(v: &Val<'_>) -> usize {
    match v {
        Val::Bytes(Cow::Owned(b)) => b.len(),
        Val::Array(Seq::Vals(items)) => items
            .iter()
            .map(|i| std::mem::size_of::<Val<'_>>() + held_bytes(i))
            .sum(),
        _ => 0,
    }
}

/// Calls built-in `b`. `prepared` must come from [`Prepared::new`] for the
/// same call (the reference evaluator prepares its own). A function that
/// would build a value of more than `room` bytes yields missing instead,
/// without building it (see [`held_bytes`]).
pub fn call<'a>(b: Builtin, args: &[Val<'a>], prepared: &Prepared, room: usize) -> Val<'a> {
    use Builtin::*;
    // Missing arguments make the result missing, except where the function
    // says otherwise.
    if !matches!(b, Coalesce | Concat) && args.iter().any(Val::is_missing) {
        return Val::Missing;
    }
    let arg = |k: usize| args.get(k).unwrap_or(&Val::Missing);
    let arg_bytes = |k: usize| arg(k).as_bytes();
    // These build a value at most as long as their first argument.
    let from_input = matches!(b, Lower | Upper | UrlDecode | RemoveBytes | DecodeBase64);
    if from_input && arg_bytes(0).is_some_and(|s| s.len() > room) {
        return Val::Missing;
    }
    match b {
        Any | All => match arg(0) {
            Val::Array(seq) => {
                let want = b == Any;
                let n = seq.len();
                let found = (0..n).any(|k| matches!(seq.get(k), Val::Bool(x) if x == want));
                Val::Bool(if want {
                    found
                } else {
                    !found && (0..n).all(|k| matches!(seq.get(k), Val::Bool(true)))
                })
            }
            _ => Val::Missing,
        },
        Lower | Upper => match arg(0) {
            Val::Bytes(s) => {
                let changes = s.iter().any(|c| {
                    if b == Lower {
                        c.is_ascii_uppercase()
                    } else {
                        c.is_ascii_lowercase()
                    }
                });
                if !changes {
                    return Val::Bytes(s.clone());
                }
                bytes(if b == Lower {
                    s.to_ascii_lowercase()
                } else {
                    s.to_ascii_uppercase()
                })
            }
            _ => Val::Missing,
        },
        Len => match arg(0) {
            Val::Bytes(s) => Val::Int(s.len() as i64),
            Val::Array(a) => Val::Int(a.len() as i64),
            Val::Map(m) => Val::Int(m.len() as i64),
            _ => Val::Missing,
        },
        StartsWith | EndsWith => match (arg_bytes(0), arg_bytes(1)) {
            (Some(s), Some(p)) => Val::Bool(if b == StartsWith {
                s.starts_with(p)
            } else {
                s.ends_with(p)
            }),
            _ => Val::Missing,
        },
        Concat => concat(args, room),
        Substring => substring(args),
        UrlDecode => match arg(0) {
            Val::Bytes(s) => {
                let flags = arg_bytes(1).unwrap_or(b"");
                url_decode(s, flags.contains(&b'r'), flags.contains(&b'u'))
            }
            _ => Val::Missing,
        },
        ToString => match arg(0) {
            Val::Int(n) => bytes(n.to_string().into_bytes()),
            Val::Bool(x) => bytes(x.to_string().into_bytes()),
            Val::Ip(ip) => bytes(ip.to_string().into_bytes()),
            _ => Val::Missing,
        },
        LookupJsonString | LookupJsonInteger => match arg_bytes(0)
            .and_then(|doc| serde_json::from_slice::<serde_json::Value>(doc).ok())
        {
            Some(root) => lookup_json(
                b == LookupJsonString,
                &root,
                args.get(1..).unwrap_or_default(),
            ),
            None => Val::Missing,
        },
        HasKey => match (arg(0), arg_bytes(1)) {
            (Val::Map(m), Some(k)) => Val::Bool(m.contains_key(k)),
            _ => Val::Missing,
        },
        HasValue => has_value(arg(0), arg(1)),
        Split => match (arg(0), arg_bytes(1)) {
            (Val::Bytes(s), Some(sep)) if !sep.is_empty() => {
                let limit = match arg(2) {
                    Val::Int(n) if *n >= 1 => *n as usize,
                    _ => usize::MAX,
                };
                let mut out = Vec::new();
                let mut from = 0;
                while out.len() + 1 < limit {
                    match memchr::memmem::find(&s[from..], sep) {
                        Some(at) => {
                            out.push(Val::Bytes(sub(s, from, from + at)));
                            from += at + sep.len();
                        }
                        None => break,
                    }
                }
                out.push(Val::Bytes(sub(s, from, s.len())));
                Val::Array(Seq::Vals(out))
            }
            _ => Val::Missing,
        },
        Join => match (arg(0), arg_bytes(1)) {
            (Val::Array(a), Some(sep)) => {
                let total: usize = (0..a.len())
                    .map(|k| a.get(k).as_bytes().map_or(0, <[u8]>::len) + sep.len())
                    .sum();
                if total > room.saturating_add(sep.len()) {
                    return Val::Missing;
                }
                let mut out = Vec::new();
                for k in 0..a.len() {
                    if k > 0 {
                        out.extend_from_slice(sep);
                    }
                    if let Val::Bytes(x) = a.get(k) {
                        out.extend_from_slice(&x);
                    }
                }
                bytes(out)
            }
            _ => Val::Missing,
        },
        Sha256 => match arg(0) {
            Val::Bytes(s) => {
                use sha2::Digest;
                bytes(sha2::Sha256::digest(s.as_ref()).to_vec())
            }
            _ => Val::Missing,
        },
        RemoveQueryArgs => match arg(0) {
            Val::Bytes(query) => {
                let names: Vec<&[u8]> = (1..args.len()).filter_map(arg_bytes).collect();
                remove_query_args(query, &names)
            }
            _ => Val::Missing,
        },
        IsTimedHmacValidV0 => match (arg_bytes(0), arg(1), arg(2), arg(3)) {
            (Some(key), Val::Bytes(token), Val::Int(ttl), Val::Int(now)) => {
                let separator = match arg(4) {
                    Val::Int(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                    _ => 0,
                };
                Val::Bool(timed_hmac_valid(key, token, *ttl, *now, separator))
            }
            _ => Val::Missing,
        },
        RemoveBytes => match (arg(0), arg_bytes(1)) {
            (Val::Bytes(s), Some(set)) => {
                let mut table = [false; 256];
                for &c in set {
                    table[c as usize] = true;
                }
                if !s.iter().any(|&c| table[c as usize]) {
                    return Val::Bytes(s.clone());
                }
                bytes(s.iter().copied().filter(|&c| !table[c as usize]).collect())
            }
            _ => Val::Missing,
        },
        RegexReplace => match (arg(0), prepared) {
            (Val::Bytes(s), Prepared::Regex(re, repl)) => regex_replace(s, re, repl, room),
            _ => Val::Missing,
        },
        WildcardReplace => match (arg(0), prepared) {
            (Val::Bytes(s), Prepared::Wildcard(w, repl)) => match w.captures(s) {
                Some(caps) => {
                    let mut out = Vec::new();
                    match expand(&mut out, repl, room, |k| {
                        caps.get(k).map(|&(a, z)| &s[a..z])
                    }) {
                        Some(()) => bytes(out),
                        None => Val::Missing,
                    }
                }
                None => Val::Bytes(s.clone()),
            },
            _ => Val::Missing,
        },
        Cidr | Cidr6 => {
            let Val::Ip(ip) = arg(0) else {
                return Val::Missing;
            };
            let bits = |k: usize| match arg(k) {
                Val::Int(n) => Some(*n),
                _ => None,
            };
            match ip.to_canonical() {
                IpAddr::V4(v4) if b == Cidr => match bits(1) {
                    Some(n @ 0..=32) => {
                        let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
                        Val::Ip(IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)))
                    }
                    _ => Val::Missing,
                },
                IpAddr::V4(v4) => Val::Ip(IpAddr::V4(v4)),
                IpAddr::V6(v6) => match bits(if b == Cidr { 2 } else { 1 }) {
                    Some(n @ 0..=128) => {
                        let mask = if n == 0 { 0 } else { u128::MAX << (128 - n) };
                        Val::Ip(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)))
                    }
                    _ => Val::Missing,
                },
            }
        }
        DecodeBase64 => match arg(0) {
            Val::Bytes(s) => match base64_decode(s) {
                Some(v) => bytes(v),
                None => Val::Missing,
            },
            _ => Val::Missing,
        },
        EncodeBase64 => match arg(0) {
            Val::Bytes(s) if s.len().div_ceil(3).saturating_mul(4) > room => Val::Missing,
            Val::Bytes(s) => {
                // Unpadded unless `p`; the URL-safe alphabet with `u`.
                let flags = arg_bytes(1).unwrap_or(b"");
                bytes(base64_encode(
                    s,
                    flags.contains(&b'u'),
                    flags.contains(&b'p'),
                ))
            }
            _ => Val::Missing,
        },
        Coalesce => args
            .iter()
            .find(|a| !a.is_missing())
            .cloned()
            .unwrap_or(Val::Missing),
    }
}

fn concat<'a>(args: &[Val<'a>], room: usize) -> Val<'a> {
    let size = |a: &Val<'_>| match a {
        Val::Bytes(b) => b.len(),
        Val::Array(seq) => seq.len().saturating_mul(std::mem::size_of::<Val<'_>>()),
        _ => 0,
    };
    if args.iter().map(size).fold(0usize, usize::saturating_add) > room {
        return Val::Missing;
    }
    match args.iter().find(|a| !a.is_missing()) {
        Some(Val::Array(_)) => {
            let mut out = Vec::new();
            for a in args {
                if let Val::Array(seq) = a {
                    out.extend((0..seq.len()).map(|k| seq.get(k)));
                }
            }
            Val::Array(Seq::Vals(out))
        }
        _ => {
            let mut out = Vec::new();
            for a in args {
                if let Val::Bytes(b) = a {
                    out.extend_from_slice(b);
                }
            }
            bytes(out)
        }
    }
}

fn substring<'a>(args: &[Val<'a>]) -> Val<'a> {
    let Some(Val::Bytes(s)) = args.first() else {
        return Val::Missing;
    };
    let len = s.len() as i64;
    let index = |v: Option<&Val<'_>>, default: i64| -> i64 {
        let n = match v {
            Some(Val::Int(n)) => *n,
            _ => default,
        };
        let n = if n < 0 { len.saturating_add(n) } else { n };
        n.clamp(0, len)
    };
    let from = index(args.get(1), 0);
    let to = index(args.get(2), len);
    if from >= to {
        return Val::Bytes(Cow::Borrowed(b""));
    }
    Val::Bytes(sub(s, from as usize, to as usize))
}

/// The value of hex digit `c` (either case).
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// One pass of `%XX`, `+` and (with `unicode`) `%uXXXX` decoding. Malformed
/// escapes are kept as they are.
fn url_decode_once(s: &[u8], unicode: bool) -> Vec<u8> {
    decode_pass(s, unicode, true)
}

/// One decoding pass; `plus` decodes `+` as a space (only the first pass of a
/// recursive decode does: a `+` that came from `%2B` is a plus).
fn decode_pass(s: &[u8], unicode: bool, plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        match s[k] {
            b'+' if plus => {
                out.push(b' ');
                k += 1;
            }
            b'%' => {
                if unicode && matches!(s.get(k + 1), Some(b'u' | b'U')) {
                    let digits = s.get(k + 2..k + 6).and_then(|d| {
                        d.iter()
                            .try_fold(0u32, |acc, &c| hex_val(c).map(|h| acc * 16 + h as u32))
                    });
                    if let Some(cp) = digits {
                        let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        k += 6;
                        continue;
                    }
                }
                match (
                    s.get(k + 1).copied().and_then(hex_val),
                    s.get(k + 2).copied().and_then(hex_val),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        k += 3;
                    }
                    _ => {
                        out.push(b'%');
                        k += 1;
                    }
                }
            }
            c => {
                out.push(c);
                k += 1;
            }
        }
    }
    out
}

/// Decodes `%XX` and `+` once (and `%uXXXX` with `unicode`); malformed escapes stay as they are.
pub fn url_decode_bytes(s: &[u8], unicode: bool) -> Vec<u8> {
    url_decode_once(s, unicode)
}

fn url_decode<'a>(s: &Cow<'a, [u8]>, recursive: bool, unicode: bool) -> Val<'a> {
    if !s.iter().any(|&c| c == b'%' || c == b'+') {
        return Val::Bytes(s.clone());
    }
    if recursive {
        return bytes(decode_to_fixed_point(s, unicode));
    }
    bytes(url_decode_once(s, unicode))
}

/// What decoding again and again until nothing changes gives (`url_decode`
/// with `r`), in one pass: every byte goes on the output, and an escape that
/// the output now ends with is decoded at once, which may complete another.
/// A `+` is a space whenever it appears, read or decoded (`%2B` decodes to
/// `+`, which a second decode reads as a space). Each decode shortens the
/// output, so the work is linear in the input.
fn decode_to_fixed_point(s: &[u8], unicode: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        out.push(if c == b'+' { b' ' } else { c });
        loop {
            let n = out.len();
            if n >= 3 && out[n - 3] == b'%' {
                if let (Some(h), Some(l)) = (hex_val(out[n - 2]), hex_val(out[n - 1])) {
                    out.truncate(n - 3);
                    let b = h * 16 + l;
                    out.push(if b == b'+' { b' ' } else { b });
                    continue;
                }
            }
            if unicode && n >= 6 && out[n - 6] == b'%' && matches!(out[n - 5], b'u' | b'U') {
                let cp = out[n - 4..]
                    .iter()
                    .try_fold(0u32, |acc, &c| hex_val(c).map(|h| acc * 16 + u32::from(h)));
                if let Some(cp) = cp {
                    out.truncate(n - 6);
                    let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                    let mut buf = [0; 4];
                    let encoded = c.encode_utf8(&mut buf).as_bytes();
                    out.extend_from_slice(if encoded == b"+" { b" " } else { encoded });
                    continue;
                }
            }
            break;
        }
    }
    out
}

/// `query` (`a=1&b=2`, or a URI whose query follows its `?`) without the
/// arguments named `names` (compared as written, before decoding); the
/// others keep their order and bytes. Unchanged when none is named.
fn remove_query_args<'a>(query: &Cow<'a, [u8]>, names: &[&[u8]]) -> Val<'a> {
    let (head, q) = match query.iter().position(|&c| c == b'?') {
        Some(k) => (&query[..=k], &query[k + 1..]),
        None => (&query[..0], &query[..]),
    };
    let named = |pair: &[u8]| {
        let name = pair.split(|&c| c == b'=').next().unwrap_or_default();
        names.contains(&name)
    };
    let pairs: Vec<&[u8]> = q.split(|&c| c == b'&').collect();
    if !pairs.iter().any(|p| named(p)) {
        return Val::Bytes(query.clone());
    }
    let mut out = head.to_vec();
    let kept: Vec<&[u8]> = pairs.into_iter().filter(|p| !named(p)).collect();
    out.extend_from_slice(&kept.join(&b'&'));
    if out.last() == Some(&b'?') && kept.iter().all(|p| p.is_empty()) {
        out.pop();
    }
    bytes(out)
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in message {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// `is_timed_hmac_valid_v0`: `token` is `message`, a separator of
/// `separator` bytes, a Unix timestamp, `-` and the base64 (standard or
/// URL-safe, padded or not, possibly percent-encoded) HMAC-SHA256 of
/// `message` followed by the timestamp's digits, under `key`. Valid when the
/// MAC matches (compared in constant time) and the token was issued no
/// later than `now` and at most `ttl` seconds before it.
fn timed_hmac_valid(key: &[u8], token: &[u8], ttl: i64, now: i64, separator: usize) -> bool {
    let Some(dash) = token.iter().rposition(|&c| c == b'-') else {
        return false;
    };
    let (head, mac) = (&token[..dash], &token[dash + 1..]);
    let digits = head.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return false;
    }
    let (rest, stamp) = head.split_at(head.len() - digits);
    let Some(message_len) = rest.len().checked_sub(separator) else {
        return false;
    };
    let Some(issued) = std::str::from_utf8(stamp)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return false;
    };
    if issued > now || now.saturating_sub(issued) > ttl {
        return false;
    }
    let Some(given) = base64_decode(&decode_pass(mac, false, false)) else {
        return false;
    };
    let want = hmac_sha256(key, &[&rest[..message_len], stamp]);
    given.len() == want.len() && given.iter().zip(want).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

/// The string (`want_string`) or integer at `path` (object keys and array
/// indexes) in a parsed JSON document; missing when there is none.
pub(crate) fn lookup_json(
    want_string: bool,
    root: &serde_json::Value,
    path: &[Val<'_>],
) -> Val<'static> {
    let mut cur = root;
    for step in path {
        let next = match (step, cur) {
            (Val::Bytes(k), serde_json::Value::Object(m)) => {
                std::str::from_utf8(k).ok().and_then(|k| m.get(k))
            }
            (Val::Int(i), serde_json::Value::Array(a)) => {
                usize::try_from(*i).ok().and_then(|i| a.get(i))
            }
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Val::Missing,
        }
    }
    match cur {
        serde_json::Value::String(s) if want_string => bytes(s.as_bytes().to_vec()),
        serde_json::Value::Number(n) if !want_string => {
            crate::types::json_int(n).map_or(Val::Missing, Val::Int)
        }
        _ => Val::Missing,
    }
}

fn has_value(container: &Val<'_>, needle: &Val<'_>) -> Val<'static> {
    let eq = |v: &Val<'_>| -> bool {
        match v {
            Val::Array(inner) if !matches!(needle, Val::Array(_)) => {
                (0..inner.len()).any(|k| inner.get(k) == *needle)
            }
            other => other == needle,
        }
    };
    match container {
        Val::Array(seq) => Val::Bool((0..seq.len()).any(|k| eq(&seq.get(k)))),
        Val::Map(m) => Val::Bool(m.values().any(|v| eq(&v.as_val()))),
        _ => Val::Missing,
    }
}

fn regex_replace<'a>(s: &Cow<'a, [u8]>, re: &Regex, repl: &[u8], room: usize) -> Val<'a> {
    let Some(caps) = re.captures(s) else {
        return Val::Bytes(s.clone());
    };
    let Some(whole) = caps.get(0) else {
        return Val::Bytes(s.clone());
    };
    let kept = s.len() - whole.len();
    let mut out = Vec::with_capacity((s.len() + repl.len()).min(room));
    out.extend_from_slice(&s[..whole.start()]);
    if expand(&mut out, repl, room.saturating_sub(kept), |k| {
        caps.get(k).map(|m| m.as_bytes())
    })
    .is_none()
    {
        return Val::Missing;
    }
    out.extend_from_slice(&s[whole.end()..]);
    bytes(out)
}

/// Appends to `out` the expansion of `${N}` (group N, empty when it did
/// not take part) and `$$` in `repl`; `None` as soon as the expansion
/// would pass `room` bytes.
fn expand<'s>(
    out: &mut Vec<u8>,
    repl: &[u8],
    room: usize,
    group: impl Fn(usize) -> Option<&'s [u8]>,
) -> Option<()> {
    let limit = out.len().saturating_add(room);
    let mut k = 0;
    while k < repl.len() {
        if repl[k] == b'$' {
            if repl.get(k + 1) == Some(&b'$') {
                out.push(b'$');
                k += 2;
                continue;
            }
            if repl.get(k + 1) == Some(&b'{')
                && let Some(end) = repl[k..].iter().position(|&c| c == b'}')
                && let Ok(n) = std::str::from_utf8(&repl[k + 2..k + end])
                    .unwrap_or("x")
                    .parse::<usize>()
            {
                let g = group(n).unwrap_or(b"");
                if out.len() + g.len() > limit {
                    return None;
                }
                out.extend_from_slice(g);
                k += end + 1;
                continue;
            }
        }
        if out.len() >= limit {
            return None;
        }
        out.push(repl[k]);
        k += 1;
    }
    Some(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_encode(s: &[u8], url: bool, pad: bool) -> Vec<u8> {
    let table = if url { B64_URL } else { B64 };
    let mut out = Vec::with_capacity(s.len().div_ceil(3) * 4);
    for chunk in s.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (k, &b)| acc | (b as u32) << (16 - 8 * k));
        let emit = chunk.len() + 1;
        for k in 0..4 {
            if k < emit {
                out.push(table[(n >> (18 - 6 * k) & 63) as usize]);
            } else if pad {
                out.push(b'=');
            }
        }
    }
    out
}

/// Decodes standard or URL-safe base64, padded or not; `None` when malformed.
fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = match s.iter().rposition(|&c| c != b'=') {
        Some(last) if s.len() - last - 1 <= 2 => &s[..=last],
        Some(_) => return None,
        None if s.is_empty() => s,
        None => return None,
    };
    if s.len() % 4 == 1 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (k, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * k);
        }
        let produced = chunk.len() - 1;
        for k in 0..produced {
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        for s in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            b"\xff\xfe\x00",
        ] {
            for (url, pad) in [(false, true), (true, false)] {
                assert_eq!(
                    base64_decode(&base64_encode(s, url, pad)).as_deref(),
                    Some(s)
                );
            }
        }
        assert_eq!(base64_encode(b"foobar", false, true), b"Zm9vYmFy");
        assert_eq!(base64_encode(b"fo", false, true), b"Zm8=");
        assert_eq!(base64_decode(b"Zm8"), Some(b"fo".to_vec()));
        assert_eq!(base64_decode(b"Z"), None);
        assert_eq!(base64_decode(b"Zm8*"), None);
        assert_eq!(base64_decode(b"Zm8===="), None);
    }
}
