//! Fuzz regressions, replayed by plain `cargo test`.
//!
//! The checks are the fuzz targets' own (`fuzz/src/lib.rs`, compiled in here
//! with `#[path]`), so an input replays exactly as `cargo fuzz` ran it.
//!
//! Inputs come from two places:
//! - the table [`CASES`] below: `(target, input bytes)`;
//! - every file under `tests/fuzz_regressions/<target>/` (raw bytes, as
//!   `cargo fuzz tmin` writes them). A file whose name ends in `.pending`
//!   still fails (its bug is not fixed yet) and is skipped; drop the suffix
//!   once the fix lands.
//!
//! The seed corpora under `fuzz/seeds/<target>/` are replayed as well.
//!
//! For `compile_eval` and `differential` an input is `EXPR\0REQUEST_JSON`.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// Hand-written regressions: `(target, input)`.
const CASES: &[(&str, &[u8])] = &[
    // The README example, on every target.
    ("parse", br#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#),
    ("roundtrip", br#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#),
    ("compile_eval", b"(http.host in {\"orangeclouded.com\" \"api.orangeclouded.com\"} and not cf.tls_client_auth.cert_verified)\0{\"http.host\":\"api.orangeclouded.com\",\"cf.tls_client_auth.cert_verified\":false}"),
    ("differential", b"(http.host in {\"orangeclouded.com\" \"api.orangeclouded.com\"} and not cf.tls_client_auth.cert_verified)\0{\"http.host\":\"api.orangeclouded.com\",\"cf.tls_client_auth.cert_verified\":false}"),
    // Errors at the very end of the text, and in multi-byte text.
    ("parse", b"http.host == \"abc"),
    ("parse", "http.host == \"\u{e9}\" and\n  \u{2603} == 1".as_bytes()),
    ("parse", b"ssl and"),
    ("parse", b""),
    // Missing values: `!=` on a missing field is false, its `not` true.
    ("differential", b"not http.host != \"a\" and not len(http.request.uri.args[\"order\"]) >= 0\0{}"),
    // Named lists on both sides of a skip rule.
    ("differential", b"ip.src in $office\0{\"ip.src\":\"::ffff:10.1.2.3\",\"http.request.method\":\"POST\"}"),
    // No NUL: empty request.
    ("compile_eval", b"any(lower(http.request.headers.names[*])[*] == \"x\")"),
    ("differential", b"all(http.request.headers.names[*] == \"x\")"),
    // A rule set of one line replicated 256 times, skips and all; lines that
    // do not check are dropped.
    ("ruleset", b"http.host eq \"a\"\nnot valid (\0{\"http.host\":\"a1\"}"),
    ("ruleset", b"http.request.uri.path matches \"^/v[0-9]$\"\nip.src in $office"),
    ("ruleset", b""),
];

#[test]
fn table() {
    for (k, (target, input)) in CASES.iter().enumerate() {
        assert!(
            checks::TARGETS.contains(target),
            "case {k}: unknown target `{target}`"
        );
        eprintln!("case {k} ({target}): {:?}", String::from_utf8_lossy(input));
        checks::run(target, input);
    }
}

/// `(target, file)` for every file under `DIR/<target>/`.
fn inputs_under(dir: &str) -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return out;
    };
    for entry in dirs.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let target = entry.file_name().to_string_lossy().into_owned();
        assert!(
            checks::TARGETS.contains(&target.as_str()),
            "{dir}/{target}/ is not named after a fuzz target ({:?})",
            checks::TARGETS
        );
        for file in std::fs::read_dir(&path)
            .expect("read regression dir")
            .flatten()
        {
            if file.path().is_file() {
                out.push((target.clone(), file.path()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn files() {
    let mut ran = 0;
    let mut pending = Vec::new();
    for (target, path) in inputs_under("tests/fuzz_regressions") {
        let name = path.display().to_string();
        if name.ends_with(".pending") {
            pending.push(name);
            continue;
        }
        let input = std::fs::read(&path).expect("read regression input");
        eprintln!("replaying {name}");
        checks::run(&target, &input);
        ran += 1;
    }
    eprintln!(
        "{ran} regression file(s) replayed, {} pending (skipped): {pending:?}",
        pending.len()
    );
}

/// The `ruleset` target builds sets of hundreds of rules from one input.
#[test]
fn ruleset_size() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/ruleset/all-seeds");
    let input = std::fs::read(&seed).expect("read ruleset seed");
    let n = checks::ruleset_rules(&input);
    assert!(
        (200..=1000).contains(&n),
        "{n} rules from {}",
        seed.display()
    );
    assert!(checks::ruleset_rules(b"ssl\0{}") >= 200);
    assert_eq!(checks::ruleset_rules(b"no such field\0{}"), 0);
}

/// Copies of a rule get the copy number appended to each string literal.
#[test]
fn ruleset_literal_variation() {
    let vary = checks::vary_literals;
    assert_eq!(
        vary(r#"http.host in {"a" "b\"c"} and ssl"#, "7"),
        r#"http.host in {"a7" "b\"c7"} and ssl"#
    );
    assert_eq!(
        vary(r###"x == r#"a"b"# or y == r"c" or raw.z == "\\""###, "12"),
        r###"x == r#"a"b12"# or y == r"c12" or raw.z == "\\12""###
    );
    assert_eq!(vary(r#"http.host == "open"#, "3"), r#"http.host == "open"#);
    assert_eq!(vary("ssl", "3"), "ssl");
}

/// The checked-in seed corpora pass their own targets' checks.
#[test]
fn seeds() {
    let inputs = inputs_under("fuzz/seeds");
    for (target, path) in &inputs {
        let input = std::fs::read(path).expect("read seed");
        eprintln!("seed {}", path.display());
        checks::run(target, &input);
    }
    assert!(
        inputs.len() >= checks::TARGETS.len(),
        "no seeds under fuzz/seeds/"
    );
}
