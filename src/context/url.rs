//! The request target, split into its parts and its path normalised as the
//! public edge normalises URLs by default (`docs/language.md`, "Request
//! fields and normalisation").
//!
//! Everything here works on bytes, in time linear in the input, and accepts
//! any bytes (invalid UTF-8, a lone `%`, `%zz`): nothing can panic.

use crate::functions::eval::hex_val;

/// Which of the four forms of RFC 9112 §3.2 a request target has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// `/path?query`; also any target that is none of the others (its path
    /// is read as if it began with `/`).
    Origin,
    /// `scheme://authority/path?query`.
    Absolute,
    /// `host:port`, as `CONNECT` sends it: an authority, no path.
    Authority,
    /// `*`, as `OPTIONS` may send it.
    Asterisk,
}

/// A request target split into its raw parts (nothing decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Target<'a> {
    /// The form of the target.
    pub form: Form,
    /// The scheme of an absolute-form target, as written.
    pub scheme: Option<&'a [u8]>,
    /// The host and port of an absolute- or authority-form target, as
    /// written, without any `userinfo@`.
    pub authority: Option<&'a [u8]>,
    /// The path, as received (`""` for the authority form).
    pub path: &'a [u8],
    /// The query after the first `?`, as received; `None` without a `?`.
    pub query: Option<&'a [u8]>,
}

/// Splits a request target into its form and raw parts.
pub(super) fn split_target(t: &[u8]) -> Target<'_> {
    if t == b"*" {
        return Target {
            form: Form::Asterisk,
            scheme: None,
            authority: None,
            path: t,
            query: None,
        };
    }
    if is_authority_form(t) {
        return Target {
            form: Form::Authority,
            scheme: None,
            authority: Some(t),
            path: b"",
            query: None,
        };
    }
    let (form, scheme, authority, rest) = match scheme_end(t) {
        Some(k) => {
            let after = &t[k + 3..];
            let end = after
                .iter()
                .position(|&c| matches!(c, b'/' | b'\\' | b'?' | b'#'))
                .unwrap_or(after.len());
            let authority = &after[..end];
            let host = match authority.iter().rposition(|&c| c == b'@') {
                Some(at) => &authority[at + 1..],
                None => authority,
            };
            (Form::Absolute, Some(&t[..k]), Some(host), &after[end..])
        }
        None => (Form::Origin, None, None, t),
    };
    let (path, query) = match rest.iter().position(|&c| c == b'?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    Target {
        form,
        scheme,
        authority,
        path,
        query,
    }
}

/// The end of the scheme of an absolute-form target (`https` in
/// `https://h/`): RFC 3986's `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
/// followed by `://`.
fn scheme_end(t: &[u8]) -> Option<usize> {
    let k = t.iter().position(|&c| c == b':')?;
    let scheme = &t[..k];
    let well_formed = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    (well_formed && t[k..].starts_with(b"://")).then_some(k)
}

/// `host:port` and nothing else: no `/`, `\`, `?`, `#` or `@`, a host, and a
/// port of digits.
fn is_authority_form(t: &[u8]) -> bool {
    if t.iter()
        .any(|&c| matches!(c, b'/' | b'\\' | b'?' | b'#' | b'@'))
    {
        return false;
    }
    match t.iter().rposition(|&c| c == b':') {
        Some(k) => k > 0 && k + 1 < t.len() && t[k + 1..].iter().all(u8::is_ascii_digit),
        None => false,
    }
}

/// The normalised path of a target's raw path: a path that does not begin
/// with `/` or `\` (an empty one, or an origin-form target written without
/// its slash) is read as if it did, so that `admin/x` is `/admin/x`. The
/// asterisk form keeps its `*`; the authority form has no path (`""`).
pub(super) fn target_path(t: &Target<'_>) -> Vec<u8> {
    match t.form {
        Form::Asterisk => t.path.to_vec(),
        Form::Authority => Vec::new(),
        Form::Origin | Form::Absolute => {
            if matches!(t.path.first(), Some(b'/' | b'\\')) {
                normalize_path(t.path)
            } else {
                let mut p = Vec::with_capacity(t.path.len() + 1);
                p.push(b'/');
                p.extend_from_slice(t.path);
                normalize_path(&p)
            }
        }
    }
}

/// Normalises a path as the public edge does by default: percent-encoded
/// unreserved characters decoded (`%41` → `A`, `%2e` → `.`), every other
/// escape kept with upper-case hex (`%2f` → `%2F`), bytes that may not stand
/// in a URL percent-encoded (a space → `%20`, a `%` that starts no escape →
/// `%25`), backslashes turned into slashes, repeated slashes merged, and dot
/// segments removed (RFC 3986 §5.2.4; never above the root).
///
/// Decoding comes first, so `%2e%2e` is a `..` segment and is removed; it is
/// done once, so `%252e` stays `%252e`. The result is normal: normalising
/// it again changes nothing.
pub(super) fn normalize_path(raw: &[u8]) -> Vec<u8> {
    remove_dot_segments(&normalize_bytes(raw))
}

/// RFC 3986 §2.3's unreserved characters.
fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2's reserved characters (gen-delims and sub-delims), which
/// stand in a path as they are.
fn reserved(c: u8) -> bool {
    matches!(
        c,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

/// Appends `%XX`, upper-case.
fn push_escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
}

/// The percent-encoding normalised and backslashes made slashes, in one
/// pass: decoding never makes a `\` (`%5C` is not unreserved), so this is
/// the same as decoding first.
fn normalize_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut k = 0;
    while k < raw.len() {
        let c = raw[k];
        if c == b'%'
            && let (Some(hi), Some(lo)) = (
                raw.get(k + 1).copied().and_then(hex_val),
                raw.get(k + 2).copied().and_then(hex_val),
            )
        {
            let decoded = hi << 4 | lo;
            if unreserved(decoded) {
                out.push(decoded);
            } else {
                push_escape(&mut out, decoded);
            }
            k += 3;
            continue;
        }
        match c {
            b'\\' => out.push(b'/'),
            c if unreserved(c) || reserved(c) => out.push(c),
            // A `%` that starts no escape, a space, a control byte, a byte
            // of a UTF-8 sequence (or of none).
            c => push_escape(&mut out, c),
        }
        k += 1;
    }
    out
}

/// Repeated slashes merged and dot segments removed, in one pass over the
/// segments: `.` is dropped, `..` drops the segment before it (none at the
/// root), and a path whose last segment is empty, `.` or `..` ends with `/`.
/// Each output byte is written once and removed at most once, so this is
/// linear in the input.
fn remove_dot_segments(s: &[u8]) -> Vec<u8> {
    let absolute = s.first() == Some(&b'/');
    // Every kept segment, each after a `/`.
    let mut out = Vec::with_capacity(s.len() + 1);
    let mut directory = false;
    for segment in s.split(|&c| c == b'/') {
        directory = true;
        match segment {
            b"" | b"." => {}
            b".." => {
                let start = out.iter().rposition(|&c| c == b'/').unwrap_or(0);
                out.truncate(start);
            }
            _ => {
                out.push(b'/');
                out.extend_from_slice(segment);
                directory = false;
            }
        }
    }
    if out.is_empty() {
        return if absolute { b"/".to_vec() } else { Vec::new() };
    }
    if directory {
        out.push(b'/');
    }
    if !absolute {
        out.remove(0);
    }
    out
}

/// A host as rules compare it (`http.host`), and the authority `full_uri`
/// starts with: ASCII letters lowercased and trailing dots dropped from the
/// host, and the host without its port (`API.Example.:8443` gives
/// `api.example` and `api.example:8443`; `[::1]:443` gives `[::1]`). DNS
/// names are case-insensitive and `example.com.` is `example.com`, so a
/// rule on `http.host` cannot be passed by case, a trailing dot or a port.
pub(super) fn normalize_host(authority: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let port_at = if authority.first() == Some(&b'[') {
        // An IPv6 literal: the port follows the closing bracket.
        authority
            .iter()
            .position(|&c| c == b']')
            .map(|k| k + 1)
            .filter(|&k| authority.get(k) == Some(&b':'))
    } else {
        authority.iter().rposition(|&c| c == b':')
    };
    let (host, port) = match port_at {
        Some(k) => (&authority[..k], &authority[k..]),
        None => (authority, &b""[..]),
    };
    let mut host = host.to_ascii_lowercase();
    while host.last() == Some(&b'.') {
        host.pop();
    }
    let mut with_port = host.clone();
    with_port.extend_from_slice(port);
    (host, with_port)
}

/// The extension of a path's last segment: what follows its last `.`
/// (`""` when it has none).
pub(super) fn extension(path: &[u8]) -> &[u8] {
    let last = match path.iter().rposition(|&c| c == b'/') {
        Some(k) => &path[k + 1..],
        None => path,
    };
    match last.iter().rposition(|&c| c == b'.') {
        Some(k) => &last[k + 1..],
        None => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(s: &[u8]) -> String {
        String::from_utf8_lossy(&normalize_path(s)).into_owned()
    }

    #[test]
    fn decodes_unreserved_and_keeps_other_escapes_upper_case() {
        for (raw, want) in [
            ("/%41%62%7e%2D%5f%2e", "/Ab~-_."),
            ("/a%2fb", "/a%2Fb"),
            ("/a%20b", "/a%20b"),
            ("/a%00b", "/a%00b"),
            ("/a%5cb", "/a%5Cb"),
            ("/%252e%252e/admin", "/%252e%252e/admin"),
            ("/a b", "/a%20b"),
            ("/caf\u{e9}", "/caf%C3%A9"),
            ("/a%", "/a%25"),
            ("/a%zz", "/a%25zz"),
            ("/a%4", "/a%254"),
            ("/%%41", "/%25A"),
            ("/;=:@!$&'()*+,[]#", "/;=:@!$&'()*+,[]#"),
        ] {
            assert_eq!(norm(raw.as_bytes()), want, "{raw}");
        }
        assert_eq!(norm(b"/\x00\xff\xc3("), "/%00%FF%C3(");
    }

    #[test]
    fn removes_dot_segments_merges_slashes_and_turns_backslashes() {
        for (raw, want) in [
            ("/", "/"),
            ("", ""),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/../", "/a/"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("//a///b//", "/a/b/"),
            ("/a//../b", "/b"),
            ("\\a\\..\\b", "/b"),
            ("/a/%2e%2E/b", "/b"),
            ("/a/.%2e/b", "/b"),
            ("/a/..%2fb", "/a/..%2Fb"),
            ("/a./b..", "/a./b.."),
            ("/.../a", "/.../a"),
            ("a/../b", "b"),
            ("../a", "a"),
            ("./", ""),
        ] {
            assert_eq!(norm(raw.as_bytes()), want, "{raw:?}");
        }
    }

    #[test]
    fn splits_the_four_forms_of_a_target() {
        let t = split_target(b"https://user@h.example:8443/a/../b?x=1?y");
        assert_eq!(t.form, Form::Absolute);
        assert_eq!(t.scheme, Some(&b"https"[..]));
        assert_eq!(t.authority, Some(&b"h.example:8443"[..]));
        assert_eq!((t.path, t.query), (&b"/a/../b"[..], Some(&b"x=1?y"[..])));
        assert_eq!(target_path(&t), b"/b");
        let t = split_target(b"http://h");
        assert_eq!(
            (t.path, t.query, target_path(&t)),
            (&b""[..], None, b"/".to_vec())
        );
        let t = split_target(b"http://h\\..\\admin");
        assert_eq!(
            (t.authority, target_path(&t)),
            (Some(&b"h"[..]), b"/admin".to_vec())
        );
        let t = split_target(b"example.com:443");
        assert_eq!(
            (t.form, t.authority, t.path),
            (Form::Authority, Some(&b"example.com:443"[..]), &b""[..])
        );
        assert_eq!(split_target(b"[::1]:443").form, Form::Authority);
        let t = split_target(b"*");
        assert_eq!((t.form, target_path(&t)), (Form::Asterisk, b"*".to_vec()));
        let t = split_target(b"admin/x?q");
        assert_eq!(
            (t.form, target_path(&t), t.query),
            (Form::Origin, b"/admin/x".to_vec(), Some(&b"q"[..]))
        );
        for not_absolute in [&b"1http://h/"[..], b"ht tp://h/", b"https:/h", b"://h"] {
            assert_eq!(
                split_target(not_absolute).form,
                Form::Origin,
                "{not_absolute:?}"
            );
        }
        assert_eq!(split_target(b"").form, Form::Origin);
        assert_eq!(target_path(&split_target(b"")), b"/");
    }

    #[test]
    fn extension_is_after_the_last_dot_of_the_last_segment() {
        assert_eq!(extension(b"/a/b.tar.GZ"), b"GZ");
        assert_eq!(extension(b"/a.d/b"), b"");
        assert_eq!(extension(b"/a/b.php/"), b"");
        assert_eq!(extension(b"/a/.htaccess"), b"htaccess");
        assert_eq!(extension(b"x.php;y"), b"php;y");
    }

    #[test]
    fn ten_thousand_dot_dot_segments_take_linear_time() {
        let mut raw = b"/a".repeat(50_000);
        raw.extend(b"/..".repeat(100_000));
        raw.extend(b"/%2e%2e/".repeat(100_000));
        raw.extend(b"admin");
        let start = std::time::Instant::now();
        assert_eq!(normalize_path(&raw), b"/admin");
        // Quadratic work on this input would take minutes, even optimised.
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    /// Paths built from the pieces that path tricks are made of.
    fn tricky_path() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"/".to_vec()),
            Just(b"\\".to_vec()),
            Just(b".".to_vec()),
            Just(b"..".to_vec()),
            Just(b"%2e".to_vec()),
            Just(b"%2E".to_vec()),
            Just(b"%2f".to_vec()),
            Just(b"%25".to_vec()),
            Just(b"%".to_vec()),
            Just(b"%4".to_vec()),
            Just(b"%zz".to_vec()),
            Just(b"%41".to_vec()),
            Just(b"a".to_vec()),
            Just(b"4".to_vec()),
            Just(b";".to_vec()),
            Just(b" ".to_vec()),
            any::<u8>().prop_map(|b| vec![b]),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    /// Every `%` of `s` starts an upper-case escape of a byte that is not unreserved.
    fn escapes_are_canonical(s: &[u8]) -> bool {
        let upper_hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
        s.iter()
            .enumerate()
            .filter(|&(_, &c)| c == b'%')
            .all(
                |(k, _)| match (s.get(k + 1).copied(), s.get(k + 2).copied()) {
                    (Some(h), Some(l)) if upper_hex(h) && upper_hex(l) => hex_val(h)
                        .zip(hex_val(l))
                        .is_some_and(|(h, l)| !unreserved(h << 4 | l)),
                    _ => false,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn normalising_is_idempotent_and_leaves_no_trick(raw in tricky_path()) {
            let once = normalize_path(&raw);
            prop_assert_eq!(&normalize_path(&once), &once);
            if raw.first() == Some(&b'/') {
                prop_assert_eq!(once.first(), Some(&b'/'));
            }
            let has = |needle: &[u8]| once.windows(needle.len()).any(|w| w == needle);
            prop_assert!(!has(b"//") && !has(b"/./") && !has(b"/../") && !has(b"\\"), "{:?}", once);
            prop_assert!(!once.ends_with(b"/.") && !once.ends_with(b"/.."), "{:?}", once);
            prop_assert!(once != b"." && once != b"..", "{:?}", once);
            prop_assert!(escapes_are_canonical(&once), "{:?}", once);
        }
    }
}
