//! Test-time PKI and an mTLS server on loopback, for the integration tests.
//!
//! Every certificate is made when the test runs (rcgen): a CA with a CRL,
//! a second CA nobody trusts, a server certificate, and client
//! certificates that are valid, expired, issued by the other CA, and
//! revoked.
#![allow(dead_code)]

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis::tls::ClientAuth;
use portcullis::{ConnectionInfo, RuleSetHandle, RulesLayer};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SerialNumber, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, Service};

/// A certificate, its key, and PEM forms of both.
pub struct Issued {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Issued {
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }
}

/// The test PKI.
pub struct Pki {
    pub ca: Issued,
    pub other_ca: Issued,
    pub server: Issued,
    pub valid: Issued,
    pub expired: Issued,
    pub wrong_ca: Issued,
    pub revoked: Issued,
    pub crl_pem: String,
    pub crl: rustls::pki_types::CertificateRevocationListDer<'static>,
}

fn ca(cn: &str) -> Issued {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CountryName, "US");
    p.distinguished_name
        .push(DnType::OrganizationName, "Orange Clouded, Inc.");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2045, 1, 1);
    p.serial_number = Some(SerialNumber::from(vec![0x26, 0x88, 0x20, 0x1d, 0xba]));
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Issued { cert, key }
}

/// A client certificate for `cn`, valid from `from` to `until` (years),
/// with serial `serial`, signed by `issuer`.
fn client(cn: &str, serial: &[u8], from: i32, until: i32, issuer: &Issued) -> Issued {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CountryName, "US");
    p.distinguished_name
        .push(DnType::StateOrProvinceName, "Texas");
    p.distinguished_name
        .push(DnType::LocalityName, "Z\u{fc}rich");
    p.distinguished_name
        .push(DnType::OrganizationName, "Access, Admins+Co");
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "#ops team ");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    p.not_before = date_time_ymd(from, 3, 1);
    p.not_after = date_time_ymd(until, 3, 21);
    p.serial_number = Some(SerialNumber::from(serial.to_vec()));
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Issued { cert, key }
}

impl Pki {
    pub fn new() -> Pki {
        let ca = ca("Orange Clouded Test CA");
        let other_ca = ca_other();
        let mut sp = CertificateParams::new(vec![
            "localhost".to_string(),
            "api.orangeclouded.com".to_string(),
            "orangeclouded.com".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        sp.distinguished_name.push(DnType::CommonName, "localhost");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        sp.not_before = date_time_ymd(2020, 1, 1);
        sp.not_after = date_time_ymd(2045, 1, 1);
        let skey = KeyPair::generate().unwrap();
        let server = Issued {
            cert: sp.signed_by(&skey, &ca.cert, &ca.key).unwrap(),
            key: skey,
        };
        let valid = client("James Royal", &[0x8f, 0x01, 0x02, 0x03], 2021, 2044, &ca);
        let expired = client("Old Timer", &[0x11, 0x22], 2019, 2021, &ca);
        let wrong_ca = client("Mallory", &[0x33, 0x44], 2021, 2044, &other_ca);
        let revoked = client("Revoked Rita", &[0x55, 0x66, 0x77], 2021, 2044, &ca);
        let crl = CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 1),
            next_update: date_time_ymd(2044, 1, 1),
            crl_number: SerialNumber::from(vec![1]),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(vec![0x55, 0x66, 0x77]),
                revocation_time: date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&ca.cert, &ca.key)
        .unwrap();
        Pki {
            crl_pem: crl.pem().unwrap(),
            crl: crl.der().clone(),
            ca,
            other_ca,
            server,
            valid,
            expired,
            wrong_ca,
            revoked,
        }
    }

    /// The verifier: trusts `ca`, with its CRL.
    pub fn client_auth(&self) -> ClientAuth {
        ClientAuth::new(vec![self.ca.der()], vec![self.crl.clone()]).unwrap()
    }
}

fn ca_other() -> Issued {
    ca("Someone Else's CA")
}

/// A server's TLS config: the test server certificate, client
/// certificates asked for and recorded by `auth`, ALPN h2 and http/1.1.
pub fn server_config(pki: &Pki, auth: &ClientAuth) -> Arc<rustls::ServerConfig> {
    let mut config =
        rustls::ServerConfig::builder_with_provider(portcullis::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(auth.verifier())
            .with_single_cert(vec![pki.server.der(), pki.ca.der()], pki.server.key_der())
            .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The upstream behind the rules: it answers 200 with the request's
/// `cf.tls_client_auth.*` fields, as the rules saw them, as JSON.
async fn echo(request: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let built = portcullis::HttpRequest::from_http(&request).unwrap();
    let mut fields = serde_json::Map::new();
    for name in [
        "cf.tls_client_auth.cert_presented",
        "cf.tls_client_auth.cert_verified",
        "cf.tls_client_auth.cert_revoked",
        "cf.tls_client_auth.cert_subject_dn",
        "cf.tls_client_auth.cert_issuer_dn",
        "cf.tls_client_auth.cert_subject_dn_rfc2253",
        "cf.tls_client_auth.cert_issuer_dn_rfc2253",
        "cf.tls_client_auth.cert_subject_dn_legacy",
        "cf.tls_client_auth.cert_issuer_dn_legacy",
        "cf.tls_client_auth.cert_serial",
        "cf.tls_client_auth.cert_issuer_serial",
        "cf.tls_client_auth.cert_fingerprint_sha256",
        "cf.tls_client_auth.cert_fingerprint_sha1",
        "cf.tls_client_auth.cert_not_before",
        "cf.tls_client_auth.cert_not_after",
        "cf.tls_client_auth.cert_ski",
        "cf.tls_client_auth.cert_issuer_ski",
        "cf.tls_client_auth.cert_rfc9440",
        "http.host",
        "http.request.uri.path",
        "http.request.version",
        "cf.tls_version",
        "cf.tls_cipher",
        "ssl",
        "ip.src",
    ] {
        let value = match built.get_by_name(name) {
            Some(portcullis::Val::Bool(b)) => serde_json::Value::Bool(b),
            Some(portcullis::Val::Bytes(b)) => String::from_utf8_lossy(&b).into_owned().into(),
            Some(portcullis::Val::Ip(ip)) => ip.to_string().into(),
            _ => serde_json::Value::Null,
        };
        fields.insert(name.to_string(), value);
    }
    let decision = request.extensions().get::<portcullis::Decision>().cloned();
    let body = serde_json::json!({ "fields": fields, "decision": decision });
    Ok(http::Response::new(Full::from(body.to_string())))
}

/// An mTLS server on loopback deciding with `rules` in front of [`echo`];
/// returns its address. It runs until the runtime ends.
pub async fn serve(pki: &Pki, rules: RuleSetHandle) -> SocketAddr {
    let auth = pki.client_auth();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(pki, &auth));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layered = RulesLayer::new(rules).layer(tower::service_fn(echo));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let auth = auth.clone();
            let layered = layered.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let info: ConnectionInfo =
                    auth.connection_info(tls.get_ref().1, Some(peer), Some(addr));
                let service = tower::service_fn(move |mut request: http::Request<Incoming>| {
                    request.extensions_mut().insert(info.clone());
                    layered.clone().call(request)
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(
                        TokioIo::new(tls),
                        hyper_util::service::TowerToHyperService::new(service),
                    )
                    .await;
            });
        }
    });
    addr
}

/// A response: status, `x-`… headers aside, and the body as text.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// GET `path` with `Host: host` over TLS (ALPN `h2` when `h2`), presenting
/// `identity` if given.
pub async fn get(
    pki: &Pki,
    addr: SocketAddr,
    identity: Option<&Issued>,
    host: &str,
    path: &str,
    h2: bool,
) -> Reply {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(portcullis::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.der()], id.key_der())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![if h2 {
        b"h2".to_vec()
    } else {
        b"http/1.1".to_vec()
    }];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("api.orangeclouded.com").unwrap(), tcp)
        .await
        .unwrap();
    let io = TokioIo::new(tls);
    let response = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        let request = http::Request::builder()
            .uri(format!("https://{host}{path}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let request = http::Request::builder()
            .uri(path)
            .header("host", host)
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(request).await.unwrap()
    };
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
pub mod gateway;
