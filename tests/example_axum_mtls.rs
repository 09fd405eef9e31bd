//! The `axum_mtls` example run as a new user runs it: certificates made
//! with the `openssl` command line (a CA with a CRL, a server certificate,
//! valid, revoked and untrusted client certificates), the example started
//! on loopback, and `curl --cert` as the client; then the rule file is
//! rewritten, badly and well, while it serves.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok()
        || Command::new(name).arg("version").output().is_ok();
    if !found {
        eprintln!("SKIPPED: `{name}` is not installed; the axum_mtls example test did not run");
    }
    found
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, its CRL revoking `revoked`, a server certificate for the API
/// hosts, and client certificates, all made by `openssl`.
fn make_pki(dir: &Path) {
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
         default_md = sha256\ndefault_crl_days = 3650\n\
         [v3_client]\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid\n\
         [v3_server]\nextendedKeyUsage = serverAuth\n\
         subjectAltName = DNS:api.orangeclouded.com,DNS:orangeclouded.com,DNS:www.example.com,IP:127.0.0.1\n",
    )
    .unwrap();
    sh(
        dir,
        r#"
        : > index.txt; echo 01 > crlnumber
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
          -subj "/C=US/O=Orange Clouded/CN=Example Test CA" 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 3650 \
          -subj "/CN=Untrusted CA" 2>/dev/null
        issue() { # name subject ca-cert ca-key extension
          openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
          openssl x509 -req -in "$1.csr" -CA "$3" -CAkey "$4" -CAcreateserial -out "$1.pem" \
            -days 365 -extfile ca.cnf -extensions "$5" 2>/dev/null
        }
        issue server "/CN=api.orangeclouded.com" ca.pem ca.key v3_server
        issue client "/C=US/O=Billing/CN=billing-service" ca.pem ca.key v3_client
        issue revoked "/C=US/O=Billing/CN=stolen-laptop" ca.pem ca.key v3_client
        issue untrusted "/CN=mallory" other-ca.pem other.key v3_client
        openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -revoke revoked.pem 2>/dev/null
        openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -gencrl -out crl.pem 2>/dev/null
        "#,
    );
}

/// The example binary, built by `cargo test` beside the test binaries.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(Path::parent).unwrap();
    debug.join("examples").join("axum_mtls")
}

struct Server {
    child: Child,
    port: u16,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Waits for a line of the server's log containing `needle`.
    fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("the example never logged {needle:?}");
    }
}

fn start(dir: &Path) -> Server {
    let mut child = Command::new(example())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "server.pem",
            "--key",
            "server.key",
        ])
        .args([
            "--client-ca",
            "ca.pem",
            "--crl",
            "crl.pem",
            "--rules",
            "rules.json",
        ])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", example().display()));
    let stderr = child.stderr.take().unwrap();
    let (tx, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("example: {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        child,
        port: 0,
        log,
    };
    let line = server.wait_log("listening on https://");
    server.port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    server
}

/// `curl` to `host`, presenting `identity` (a file stem) if given: the
/// status and the body.
fn curl(dir: &Path, port: u16, host: &str, identity: Option<&str>) -> (String, String) {
    let mut cmd = Command::new("curl");
    cmd.current_dir(dir)
        .args(["-sS", "--cacert", "ca.pem", "-w", "\n%{http_code}"])
        .arg("--resolve")
        .arg(format!("{host}:{port}:127.0.0.1"))
        .arg(format!("https://{host}:{port}/v1/hello"));
    if let Some(id) = identity {
        cmd.args([
            "--cert",
            &format!("{id}.pem"),
            "--key",
            &format!("{id}.key"),
        ]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.to_string(), body.to_string())
}

#[test]
fn the_example_requires_valid_certificates_and_reloads_its_rules() {
    if !tool("openssl") || !tool("curl") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("portcullis-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    make_pki(&dir);
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mtls/rules.json");
    std::fs::copy(&rules, dir.join("rules.json")).unwrap();
    let server = start(&dir);
    let api = "api.orangeclouded.com";

    let (code, body) = curl(&dir, server.port, api, Some("client"));
    assert_eq!(code, "200", "{body}");
    assert!(
        body.contains("hello CN=billing-service,O=Billing,C=US"),
        "{body}"
    );
    assert!(body.contains(r#"logged: ["log-api"]"#), "{body}");
    for (who, id) in [
        ("no certificate", None),
        ("revoked", Some("revoked")),
        ("untrusted", Some("untrusted")),
    ] {
        let (code, body) = curl(&dir, server.port, api, id);
        assert_eq!(code, "403", "{who}: {body}");
        assert_eq!(
            body, r#"{"action":"block","rule":"mtls-required"}"#,
            "{who}"
        );
    }
    // Other hosts need no certificate.
    let (code, body) = curl(&dir, server.port, "www.example.com", None);
    assert_eq!(code, "200", "{body}");
    assert!(body.contains("hello anonymous"), "{body}");

    // A broken rule file is reported and the old rules keep serving.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        dir.join("rules.json"),
        r#"{"rules": [{"id": "x", "expression": "http.host ==", "action": "block"}]}"#,
    )
    .unwrap();
    server.wait_log("kept the old rules");
    assert_eq!(curl(&dir, server.port, api, None).0, "403");
    assert_eq!(curl(&dir, server.port, api, Some("client")).0, "200");

    // A good one takes effect: now every host needs a certificate.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        dir.join("rules.json"),
        r#"{"rules": [{"id": "everyone", "action": "block",
            "expression": "not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked"}]}"#,
    )
    .unwrap();
    server.wait_log("reloaded");
    let (code, body) = curl(&dir, server.port, "www.example.com", None);
    assert_eq!(code, "403", "{body}");
    assert_eq!(body, r#"{"action":"block","rule":"everyone"}"#);
    assert_eq!(curl(&dir, server.port, api, Some("client")).0, "200");
    let _ = std::fs::remove_dir_all(&dir);
}
