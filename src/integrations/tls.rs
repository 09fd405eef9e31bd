//! mTLS with rustls, as the public edge does it: the handshake never fails
//! for a bad client certificate; the certificate's facts (presented,
//! verified, revoked, why not) go to the rules, which decide.
//!
//! Stock rustls rejects an expired, untrusted or revoked certificate in the
//! handshake, so an application would never see
//! `cert_presented and not cert_verified`. [`ClientAuth::verifier`] accepts
//! any well-formed chain — still checking, in the handshake, that the client
//! holds the certificate's private key — and [`ClientAuth::client_cert`]
//! verifies the chain afterwards with the WebPKI verifier, recording the
//! outcome in a [`ClientCert`].

use crate::context::{ClientCert, ConnectionInfo, TlsInfo};
use crate::error::Error;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, CipherSuite, DigitallySignedStruct, DistinguishedName, ProtocolVersion,
    RootCertStore, ServerConnection, SignatureScheme,
};
use std::net::SocketAddr;
use std::sync::Arc;

/// Client-certificate authentication against a set of trusted CAs and
/// their CRLs, recording instead of rejecting.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// The trusted CAs' certificates, where issuer facts are looked up.
    cas: Vec<CertificateDer<'static>>,
    /// WebPKI, without CRLs: decides `verified`.
    chain: Arc<dyn ClientCertVerifier>,
    /// WebPKI with the CRLs: a chain `chain` accepts and this one calls
    /// revoked is `revoked`. `None` without CRLs.
    revocation: Option<Arc<dyn ClientCertVerifier>>,
}

fn config_error(message: String) -> Error {
    Error::config(message)
}

impl ClientAuth {
    /// Trusts `cas` (DER certificates), with `crls` (DER CRLs, possibly
    /// none) for revocation, using rustls's *ring* provider.
    pub fn new(
        cas: Vec<CertificateDer<'static>>,
        crls: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<ClientAuth, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in &cas {
            roots
                .add(ca.clone())
                .map_err(|e| config_error(format!("a trusted CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(config_error(
                "client authentication needs at least one trusted CA certificate".into(),
            ));
        }
        let roots = Arc::new(roots);
        let chain = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| config_error(format!("client-certificate verifier: {e}")))?;
        let revocation = if crls.is_empty() {
            None
        } else {
            Some(
                WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .with_crls(crls)
                    .allow_unknown_revocation_status()
                    .build()
                    .map_err(|e| config_error(format!("a CRL: {e}")))?,
            )
        };
        Ok(ClientAuth {
            cas,
            chain,
            revocation,
        })
    }

    /// [`new`](Self::new) from PEM text: the CAs' certificates, and CRLs
    /// (empty for none). Text that holds no certificate, or a block that
    /// does not decode, is an error.
    pub fn from_pem(ca_pem: &[u8], crl_pem: &[u8]) -> Result<ClientAuth, Error> {
        let cas = CertificateDer::pem_slice_iter(ca_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config_error(format!("the CA certificates' PEM: {e}")))?;
        let crls = CertificateRevocationListDer::pem_slice_iter(crl_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config_error(format!("the CRLs' PEM: {e}")))?;
        ClientAuth::new(cas, crls)
    }

    /// The verifier for [`rustls::ServerConfig`]: it asks for a client
    /// certificate (optional), accepts any chain, and checks the
    /// handshake's signature against the presented certificate, so that a
    /// client must hold the certificate's key.
    pub fn verifier(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::new(Recording {
            inner: self.chain.clone(),
        })
    }

    /// The facts of the chain a client presented (`None` or empty: no
    /// certificate), verified now.
    pub fn client_cert(&self, chain: Option<&[CertificateDer<'_>]>) -> ClientCert {
        self.client_cert_at(chain, UnixTime::now())
    }

    /// [`client_cert`](Self::client_cert) at time `now`.
    pub fn client_cert_at(
        &self,
        chain: Option<&[CertificateDer<'_>]>,
        now: UnixTime,
    ) -> ClientCert {
        let Some((leaf, intermediates)) = chain.and_then(<[_]>::split_first) else {
            return ClientCert::default();
        };
        let chain = chain.unwrap_or_default();
        let mut cert =
            ClientCert::from_der_chain(chain, &self.cas).unwrap_or_else(|e| ClientCert {
                presented: true,
                failure: e.to_string(),
                ..ClientCert::default()
            });
        match self.chain.verify_client_cert(leaf, intermediates, now) {
            Ok(_) => {
                cert.verified = true;
                if let Some(revocation) = &self.revocation {
                    cert.revoked = matches!(
                        revocation.verify_client_cert(leaf, intermediates, now),
                        Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
                    );
                }
            }
            Err(e) => cert.failure = failure_reason(&e),
        }
        cert
    }

    /// The connection facts of an established server connection: its TLS
    /// session and the client certificate it carries, with the addresses.
    pub fn connection_info(
        &self,
        conn: &ServerConnection,
        client_addr: Option<SocketAddr>,
        server_addr: Option<SocketAddr>,
    ) -> ConnectionInfo {
        ConnectionInfo {
            client_addr,
            server_addr,
            tls: Some(tls_info(conn)),
            client_cert: self.client_cert(conn.peer_certificates()),
        }
    }
}

/// The TLS facts of a connection: version, cipher (OpenSSL's name), ALPN
/// and SNI.
pub fn tls_info(conn: &ServerConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => String::new(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| cipher_name(s.suite()))
        .unwrap_or_default();
    TlsInfo {
        version,
        cipher,
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        sni: conn.server_name().map(str::to_string),
    }
}

/// A cipher suite's OpenSSL (BoringSSL, for TLS 1.3) name, as
/// `cf.tls_cipher` gives it; rustls's name for a suite without one.
fn cipher_name(suite: CipherSuite) -> String {
    let name = match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "AEAD-AES128-GCM-SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "AEAD-AES256-GCM-SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "AEAD-CHACHA20-POLY1305-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "ECDHE-ECDSA-CHACHA20-POLY1305"
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        other => return format!("{other:?}"),
    };
    name.to_string()
}

/// Why verification failed, in OpenSSL's words where it has them (the
/// public edge reports those).
fn failure_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate is not yet valid".into()
            }
            CertificateError::UnknownIssuer => "unable to get local issuer certificate".into(),
            CertificateError::BadSignature => "certificate signature failure".into(),
            CertificateError::Revoked => "certificate revoked".into(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}

/// The verifier rustls calls in the handshake: any chain is accepted (it is
/// verified after the handshake, and the rules decide); the handshake
/// signature is checked as WebPKI checks it.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for Recording {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The default crypto provider this module uses, for building a
/// [`rustls::ServerConfig`] that matches it.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
