//! The gateway's TLS: rustls with the server's certificate, and client
//! certificates asked for and recorded by [`ClientAuth`] (never refused in
//! the handshake: the rules decide).

use super::config::GatewayConfig;
use crate::error::Error;
use crate::integrations::tls::{ClientAuth, crypto_provider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::config(format!("{}: {e}", path.display())))
}

/// The verifier for `client_ca` and its CRLs, when one is configured.
pub(crate) fn client_auth(
    client_ca: Option<&PathBuf>,
    crls: &[PathBuf],
) -> Result<Option<ClientAuth>, Error> {
    let Some(ca) = client_ca else {
        return Ok(None);
    };
    let mut crl_pem = Vec::new();
    for p in crls {
        crl_pem.extend_from_slice(&read(p)?);
        crl_pem.push(b'\n');
    }
    ClientAuth::from_pem(&read(ca)?, &crl_pem)
        .map(Some)
        .map_err(|e| Error::config(format!("{}: {}", ca.display(), e.message())))
}

/// The acceptor for `[gateway]`, and the verifier it records client
/// certificates with.
pub(crate) fn acceptor(
    g: &GatewayConfig,
) -> Result<(tokio_rustls::TlsAcceptor, Option<ClientAuth>), Error> {
    let chain = CertificateDer::pem_slice_iter(&read(&g.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("{}: {e}", g.cert.display())))?;
    if chain.is_empty() {
        return Err(Error::config(format!(
            "{}: no certificate in it",
            g.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&g.key)?)
        .map_err(|e| Error::config(format!("{}: {e}", g.key.display())))?;
    let auth = client_auth(g.client_ca.as_ref(), &g.crl)?;
    let builder = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS: {e}")))?;
    let builder = match &auth {
        Some(a) => builder.with_client_cert_verifier(a.verifier()),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| Error::config(format!("the server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((tokio_rustls::TlsAcceptor::from(Arc::new(config)), auth))
}
