//! mTLS end to end on loopback: rustls with certificates made at test
//! time, the recording verifier, the tower layer, and real clients (hyper
//! over HTTP/1.1 and HTTP/2, and `curl --cert` when it is installed). Each
//! certificate field is checked against what `openssl x509` prints for the
//! same certificate.

mod support;

use portcullis::{Compiler, RuleSet, RuleSetHandle, Schema};
use std::path::Path;
use std::process::Command;
use support::{Issued, Pki, get, serve};

/// The seed rule in its safe form (a revoked certificate is also verified).
const RULES: &str = r#"{"rules": [
  {"id": "mtls-required", "action": "block",
   "expression": "(http.host in {\"orangeclouded.com\" \"api.orangeclouded.com\"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))"},
  {"id": "log-presented", "action": "log", "expression": "cf.tls_client_auth.cert_presented"}
]}"#;

fn rules() -> RuleSetHandle {
    let schema = Schema::default_http();
    let set = RuleSet::from_json(RULES)
        .unwrap()
        .compile(&Compiler::new(&schema))
        .unwrap();
    RuleSetHandle::new(set)
}

/// What `openssl x509 <args>` prints for `cert`, or `None` (said loudly)
/// when openssl is not installed.
fn openssl(cert: &Issued, dir: &Path, args: &[&str]) -> Option<String> {
    let path = dir.join("cert.pem");
    std::fs::write(&path, cert.cert.pem()).unwrap();
    let out = Command::new("openssl")
        .arg("x509")
        .arg("-in")
        .arg(&path)
        .arg("-noout")
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        Ok(o) => panic!(
            "openssl x509 {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            eprintln!(
                "SKIPPED: openssl is not installed ({e}); certificate fields are not compared with it"
            );
            None
        }
    }
}

/// `key=value` from openssl's output.
fn after<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

fn hex_of(colons: &str) -> String {
    colons.replace(':', "")
}

/// Every certificate field the rules saw equals what openssl prints.
fn check_fields_against_openssl(cert: &Issued, issuer: &Issued, fields: &serde_json::Value) {
    let dir = tempdir();
    let field = |name: &str| {
        fields[format!("cf.tls_client_auth.{name}")]
            .as_str()
            .unwrap_or_else(|| panic!("{name} missing in {fields}"))
            .to_string()
    };
    let Some(rfc) = openssl(cert, &dir, &["-subject", "-issuer", "-nameopt", "RFC2253"]) else {
        return;
    };
    assert_eq!(field("cert_subject_dn_rfc2253"), after(&rfc, "subject="));
    assert_eq!(field("cert_issuer_dn_rfc2253"), after(&rfc, "issuer="));
    assert_eq!(field("cert_subject_dn"), after(&rfc, "subject="));
    assert_eq!(field("cert_issuer_dn"), after(&rfc, "issuer="));
    let compat = openssl(cert, &dir, &["-subject", "-issuer", "-nameopt", "compat"]).unwrap();
    assert_eq!(field("cert_subject_dn_legacy"), after(&compat, "subject="));
    assert_eq!(field("cert_issuer_dn_legacy"), after(&compat, "issuer="));
    let facts = openssl(cert, &dir, &["-serial", "-dates"]).unwrap();
    assert_eq!(field("cert_serial"), after(&facts, "serial="));
    assert_eq!(field("cert_not_before"), after(&facts, "notBefore="));
    assert_eq!(field("cert_not_after"), after(&facts, "notAfter="));
    let sha256 = openssl(cert, &dir, &["-fingerprint", "-sha256"]).unwrap();
    assert_eq!(
        field("cert_fingerprint_sha256"),
        hex_of(after(&sha256, "sha256 Fingerprint=")).to_lowercase()
    );
    let sha1 = openssl(cert, &dir, &["-fingerprint", "-sha1"]).unwrap();
    assert_eq!(
        field("cert_fingerprint_sha1"),
        hex_of(after(&sha1, "sha1 Fingerprint=")).to_lowercase()
    );
    let ski = openssl(cert, &dir, &["-ext", "subjectKeyIdentifier"]).unwrap();
    let ski = ski.lines().nth(1).map(str::trim).unwrap_or_default();
    assert_eq!(field("cert_ski"), hex_of(ski));
    let issuer_facts = openssl(issuer, &dir, &["-serial", "-ext", "subjectKeyIdentifier"]).unwrap();
    assert_eq!(field("cert_issuer_serial"), after(&issuer_facts, "serial="));
    let issuer_ski = issuer_facts
        .lines()
        .skip_while(|l| !l.contains("Subject Key Identifier"))
        .nth(1)
        .map(str::trim)
        .unwrap_or_default();
    // The test CA has no SKI extension when rcgen leaves it out; then the
    // field is the leaf's Authority Key Identifier.
    if !issuer_ski.is_empty() {
        assert_eq!(field("cert_issuer_ski"), hex_of(issuer_ski));
    }
    // RFC 9440: the DER, base64, between colons.
    let b64 = cert
        .cert
        .pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    assert_eq!(field("cert_rfc9440"), format!(":{b64}:"));
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portcullis-mtls-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_certificate_gets_the_verdict_and_fields_it_should() {
    let pki = Pki::new();
    let addr = serve(&pki, rules()).await;
    // (certificate, presented, verified, revoked, status on the api host)
    type Case<'a> = (&'a str, Option<&'a Issued>, bool, bool, bool, u16);
    let cases: [Case<'_>; 5] = [
        ("valid", Some(&pki.valid), true, true, false, 200),
        ("none", None, false, false, false, 403),
        ("expired", Some(&pki.expired), true, false, false, 403),
        ("wrong CA", Some(&pki.wrong_ca), true, false, false, 403),
        ("revoked", Some(&pki.revoked), true, true, true, 403),
    ];
    for (name, cert, presented, verified, revoked, api_status) in cases {
        for h2 in [false, true] {
            let api = get(&pki, addr, cert, "api.orangeclouded.com", "/v1/x", h2).await;
            assert_eq!(api.status, api_status, "{name} h2={h2}: {}", api.body);
            if api_status == 403 {
                assert_eq!(
                    api.json(),
                    serde_json::json!({"action": "block", "rule": "mtls-required"}),
                    "{name}"
                );
            }
            // Another host passes, and shows what the rules saw.
            let other = get(&pki, addr, cert, "www.example.com", "/", h2).await;
            assert_eq!(other.status, 200, "{name} h2={h2}: {}", other.body);
            let json = other.json();
            let fields = &json["fields"];
            assert_eq!(
                fields["cf.tls_client_auth.cert_presented"], presented,
                "{name}"
            );
            assert_eq!(
                fields["cf.tls_client_auth.cert_verified"], verified,
                "{name}"
            );
            assert_eq!(fields["cf.tls_client_auth.cert_revoked"], revoked, "{name}");
            assert_eq!(fields["http.host"], "www.example.com", "{name} h2={h2}");
            assert_eq!(fields["ssl"], true);
            assert_eq!(fields["ip.src"], "127.0.0.1");
            assert_eq!(fields["cf.tls_version"], "TLSv1.3");
            assert_eq!(fields["cf.tls_cipher"], "AEAD-AES256-GCM-SHA384");
            assert_eq!(
                fields["http.request.version"],
                if h2 { "HTTP/2" } else { "HTTP/1.1" }
            );
            let logged = if presented {
                serde_json::json!(["log-presented"])
            } else {
                serde_json::json!([])
            };
            assert_eq!(json["decision"]["logged"], logged, "{name}");
            if let Some(cert) = cert {
                let issuer = if name == "wrong CA" {
                    &pki.other_ca
                } else {
                    &pki.ca
                };
                // The issuer's serial is known only for a CA the server trusts.
                if name != "wrong CA" {
                    check_fields_against_openssl(cert, issuer, fields);
                }
            } else {
                assert_eq!(fields["cf.tls_client_auth.cert_subject_dn"], "");
                assert_eq!(fields["cf.tls_client_auth.cert_serial"], "");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_a_client_certificate() {
    let pki = Pki::new();
    let addr = serve(&pki, rules()).await;
    let dir = tempdir();
    std::fs::write(dir.join("ca.pem"), pki.ca.cert.pem()).unwrap();
    let mut cases = vec![("none", None, 403)];
    for (name, cert, status) in [
        ("valid", &pki.valid, 200),
        ("expired", &pki.expired, 403),
        ("wrong-ca", &pki.wrong_ca, 403),
        ("revoked", &pki.revoked, 403),
    ] {
        std::fs::write(dir.join(format!("{name}.pem")), cert.cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), cert.key.serialize_pem()).unwrap();
        cases.push((name, Some(name), status));
    }
    for (name, file, status) in cases {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(dir.join("ca.pem"))
            .arg("--resolve")
            .arg(format!("api.orangeclouded.com:{}:127.0.0.1", addr.port()))
            .arg(format!(
                "https://api.orangeclouded.com:{}/v1/x",
                addr.port()
            ));
        if let Some(file) = file {
            cmd.arg("--cert")
                .arg(dir.join(format!("{file}.pem")))
                .arg("--key")
                .arg(dir.join(format!("{file}.key")));
        }
        let out = match tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
        {
            Ok(out) => out,
            Err(e) => {
                eprintln!("SKIPPED: curl is not installed ({e}); the curl client case did not run");
                return;
            }
        };
        let code = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            code,
            status.to_string(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
