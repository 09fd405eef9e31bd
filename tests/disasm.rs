//! Golden listings: what each sample expression compiles to, checked in under
//! `tests/golden/disasm.txt`. A change in code generation shows up as a
//! readable diff; regenerate with `UPDATE_GOLDEN=1 cargo test --test disasm`.

use portcullis::{Compiler, Schema};

const SAMPLES: &[&str] = &[
    r#"http.host == "api.example.com""#,
    r#"http.host != "api.example.com""#,
    r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#,
    r#"ip.src in {10.0.0.0/8 192.0.2.0/24} and tcp.dstport in {80 443 8000..8999}"#,
    r#"http.user_agent contains "curl" or http.request.uri.path matches "^/admin" or http.request.method eq "POST""#,
    r#"not (http.host == "a" and ssl)"#,
    r#"not (http.host == "a" or not ssl)"#,
    r#"ssl xor http.host == "a" xor tcp.dstport > 1024"#,
    r#"not (ssl xor cf.tls_client_auth.cert_verified)"#,
    r#"http.host wildcard "*.example.com" or http.host strict wildcard "API.*""#,
    r#"ip.src == ::ffff:192.0.2.1"#,
    r#"tcp.dstport == 017 or tcp.flags & 0x02"#,
    r#"http.request.headers["accept"][0] contains "json""#,
    r#"any(http.request.headers.names[*] == "x-forwarded-for")"#,
    r#"all(http.request.uri.args.values[*] != "")"#,
    r#"any(lower(http.request.headers.names[*])[*] contains "x-")"#,
    r#"len(http.request.headers["cookie"]) > 2"#,
    r#"starts_with(http.request.uri.path, "/api/") and ends_with(http.request.uri.path, ".php")"#,
    r#"http.host == http.referer"#,
    r#"not len(http.request.uri.args["order"]) >= 0"#,
    r#"regex_replace(http.request.uri.path, "/v[0-9]+/", "/") == "/users""#,
    r#"lookup_json_string(http.request.body.raw, "user", 0) == "admin""#,
    r#"true and (false or ssl)"#,
    r#"cidr(ip.src, 24, 64) == 192.0.2.0"#,
    r#"http.host == "a" or http.host == "b" or ssl or http.host in {"c" "a"} or tcp.dstport == 80 or tcp.dstport in {81..90}"#,
    r#"(ssl or http.host == "a") and tcp.dstport == 80"#,
    r#"(ssl or http.host == "a") and (tcp.dstport == 80 or http.referer == "b")"#,
    r#"not not ssl and (false or not true or http.host == "x")"#,
    r#"http.request.uri.path matches "\.php$" or http.request.uri.path matches "^/v[0-9]+/""#,
];

fn render() -> String {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema).keep_instructions(true);
    let mut out = String::new();
    for text in SAMPLES {
        let filter = compiler
            .compile(text)
            .unwrap_or_else(|e| panic!("`{text}`: {e}"));
        out.push_str(&format!("== {text}\n{}\n", filter.disassemble()));
    }
    out
}

#[test]
fn listings_match_the_golden_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/disasm.txt");
    let now = render();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &now).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(path).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    if golden != now {
        let first = golden
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "code generation changed (first difference at line {}):\n  golden: {:?}\n  now:    {:?}\nrerun with UPDATE_GOLDEN=1 and review the diff",
            first + 1,
            golden.lines().nth(first),
            now.lines().nth(first)
        );
    }
}

/// A program compiled without its instructions lists only what it keeps:
/// the branch form, decoded from the branches themselves, and the same as
/// the branch form listed next to the instructions. A program that is not
/// simple keeps everything.
#[test]
fn without_instructions_a_listing_is_its_branch_form() {
    let schema = Schema::default_http();
    let full = Compiler::new(&schema).keep_instructions(true);
    let lean = Compiler::new(&schema);
    for text in SAMPLES {
        let kept = full.compile(text).unwrap().disassemble();
        let filter = lean.compile(text).unwrap();
        let listing = filter.disassemble();
        if portcullis::test_support::runs_as_branches(&filter) {
            let at = kept
                .find("; branch form")
                .expect("a simple program lists its branches");
            assert_eq!(listing, kept[at..], "`{text}`");
            assert_eq!(
                portcullis::test_support::instruction_count(&filter),
                0,
                "`{text}`"
            );
        } else {
            assert_eq!(listing, kept, "`{text}`");
        }
    }
}
