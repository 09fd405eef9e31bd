//! An HTTPS service (axum) that requires a valid client certificate on its
//! API hosts, decided by the rules in a file that it reloads on change and
//! on SIGHUP (a bad file is reported and the old rules keep serving).
//!
//! ```sh
//! cargo run --features service --example axum_mtls -- \
//!     --listen 127.0.0.1:8443 --cert server.pem --key server.key \
//!     --client-ca ca.pem [--crl crl.pem] --rules examples/mtls/rules.json
//! curl --cacert ca.pem --cert client.pem --key client.key \
//!     --resolve api.orangeclouded.com:8443:127.0.0.1 https://api.orangeclouded.com:8443/v1/hello
//! ```
//!
//! TLS is rustls; the client-certificate verifier records (presented,
//! verified, revoked) instead of failing the handshake, so the rules see
//! every certificate and decide. The handler shows what it was told.

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis::tls::ClientAuth;
use portcullis::{Compiler, ConnectionInfo, Decision, RuleSet, RuleSetHandle, RulesLayer, Schema};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower::{Layer, Service};

struct Args {
    listen: String,
    cert: PathBuf,
    key: PathBuf,
    client_ca: PathBuf,
    crl: Option<PathBuf>,
    rules: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut listen = "127.0.0.1:8443".to_string();
    let (mut cert, mut key, mut client_ca, mut crl, mut rules) = (None, None, None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--cert" => cert = Some(value()?.into()),
            "--key" => key = Some(value()?.into()),
            "--client-ca" => client_ca = Some(value()?.into()),
            "--crl" => crl = Some(value()?.into()),
            "--rules" => rules = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let need = |v: Option<PathBuf>, name: &str| v.ok_or(format!("--{name} is required"));
    Ok(Args {
        listen,
        cert: need(cert, "cert")?,
        key: need(key, "key")?,
        client_ca: need(client_ca, "client-ca")?,
        crl,
        rules: need(rules, "rules")?,
    })
}

/// The rule file compiled, or every error in it.
fn load_rules(path: &Path) -> Result<portcullis::CompiledRuleSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let set = RuleSet::load(&path.to_string_lossy(), &text).map_err(|e| e.to_string())?;
    let schema = Schema::default_http();
    set.compile(&Compiler::new(&schema)).map_err(|e| {
        e.errors()
            .iter()
            .map(|e| e.render(&text))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Reloads the rules when the file changes or on SIGHUP; a bad file keeps
/// the old rules.
async fn reload(path: PathBuf, handle: RuleSetHandle) {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut seen: Option<SystemTime> = modified(&path);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let signalled = async {
            match hup.as_mut() {
                Some(s) => s.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        let by_signal = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => false,
            s = signalled => s,
        };
        let now = modified(&path);
        if !by_signal && now == seen {
            continue;
        }
        seen = now;
        match load_rules(&path) {
            Ok(set) => {
                eprintln!("reloaded {} ({} rules)", path.display(), set.len());
                handle.store(set);
            }
            Err(e) => eprintln!("kept the old rules; {} is invalid:\n{e}", path.display()),
        }
    }
}

async fn hello(
    Extension(decision): Extension<Decision>,
    Extension(connection): Extension<ConnectionInfo>,
) -> String {
    let cert = &connection.client_cert;
    format!(
        "hello {}\nverified: {}, revoked: {}{}\nlogged: {:?}\n",
        if cert.presented {
            cert.subject_dn.as_str()
        } else {
            "anonymous"
        },
        cert.verified,
        cert.revoked,
        if cert.failure.is_empty() {
            String::new()
        } else {
            format!(" ({})", cert.failure)
        },
        decision.logged,
    )
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = args()?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let chain = CertificateDer::pem_slice_iter(&read(&args.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", args.cert.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&args.key)?)
        .map_err(|e| format!("{}: {e}", args.key.display()))?;
    let crl = match &args.crl {
        Some(p) => read(p)?,
        None => Vec::new(),
    };
    let auth = ClientAuth::from_pem(&read(&args.client_ca)?, &crl).map_err(|e| e.to_string())?;
    let mut config =
        rustls::ServerConfig::builder_with_provider(portcullis::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(auth.verifier())
            .with_single_cert(chain, key)
            .map_err(|e| format!("server certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

    let rules = RuleSetHandle::new(load_rules(&args.rules)?);
    tokio::spawn(reload(args.rules.clone(), rules.clone()));
    let app = Router::new()
        .route("/", get(hello))
        .route("/{*path}", get(hello));
    let app = RulesLayer::new(rules).layer(app);

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("listening on https://{local}");
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let (acceptor, auth, app) = (acceptor.clone(), auth.clone(), app.clone());
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    _ => return,
                };
            let info = auth.connection_info(tls.get_ref().1, Some(peer), Some(local));
            let service = tower::service_fn(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(info.clone());
                app.clone().call(request)
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(
                    TokioIo::new(tls),
                    hyper_util::service::TowerToHyperService::new(service),
                )
                .await;
        });
    }
}
