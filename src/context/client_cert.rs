//! [`ClientCert`]: the facts of a TLS client certificate, as the
//! `cf.tls_client_auth.*` fields carry them.
//!
//! The formats are those of the public edge (`LANGUAGE.md` §10); each field
//! says its own. With the `x509` feature, `ClientCert::from_der_chain` derives
//! every field from the certificates a client presented; with `rustls`, the
//! verifier in `portcullis::tls` decides `verified` and `revoked`.

use super::Table;
use crate::catalogue;
use crate::types::Value;

/// The id of default-catalogue field `$name`, computed at compile time.
macro_rules! id {
    ($name:literal) => {
        const { catalogue::id($name) }
    };
}

/// The facts of a TLS client certificate (mutual TLS), one per
/// `cf.tls_client_auth.*` field.
///
/// A connection without a certificate is `ClientCert::default()`: every Bool
/// false, every string empty, as at the public edge.
///
/// **`verified` is also true for a revoked certificate** (as at the public
/// edge): a certificate that chains to a trusted CA and is within its
/// validity period is verified; `revoked` says whether a CRL revokes it. The
/// safe mTLS rule is therefore
/// `not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCert {
    /// `cert_presented`: the client sent a certificate (valid or not).
    pub presented: bool,
    /// `cert_verified`: the certificate chains to a trusted CA and is within
    /// its validity period; **true also when it is revoked**.
    pub verified: bool,
    /// `cert_revoked`: a verified certificate that a CRL of its CA revokes.
    pub revoked: bool,
    /// Why verification failed (`""` when verified or when no certificate was
    /// presented), e.g. `certificate expired`. Not a rule field: for logs and
    /// forwarded headers.
    pub failure: String,
    /// `cert_subject_dn`: the subject DN in the edge's default form, which is
    /// RFC 2253's (`CN=James Royal,OU=Access Admins,O=Access,C=US`).
    pub subject_dn: String,
    /// `cert_issuer_dn`: the issuer DN, in the same form as `subject_dn`.
    pub issuer_dn: String,
    /// `cert_subject_dn_rfc2253`: the subject DN per RFC 2253 (last RDN first,
    /// `,` between RDNs, `+` within one, special characters escaped with `\`).
    pub subject_dn_rfc2253: String,
    /// `cert_issuer_dn_rfc2253`: the issuer DN per RFC 2253.
    pub issuer_dn_rfc2253: String,
    /// `cert_subject_dn_legacy`: the subject DN in the legacy form, in
    /// certificate order (`/C=US/O=Access/OU=Access Admins/CN=James Royal`).
    pub subject_dn_legacy: String,
    /// `cert_issuer_dn_legacy`: the issuer DN in the legacy form.
    pub issuer_dn_legacy: String,
    /// `cert_serial`: the serial number in upper-case hex without separators
    /// or leading zero bytes (what `openssl x509 -serial` prints).
    pub serial: String,
    /// `cert_issuer_serial`: the serial number of the direct issuer's
    /// certificate, in the same form (`""` when the issuer is unknown).
    pub issuer_serial: String,
    /// `cert_fingerprint_sha256`: SHA-256 of the DER certificate, lower-case
    /// hex without separators.
    pub fingerprint_sha256: String,
    /// `cert_fingerprint_sha1`: SHA-1 of the DER certificate, lower-case hex.
    pub fingerprint_sha1: String,
    /// `cert_not_before`: start of validity, as `Mar 21 13:35:00 2022 GMT`
    /// (the day space-padded to two characters, as `openssl x509 -dates`).
    pub not_before: String,
    /// `cert_not_after`: end of validity, in the same form.
    pub not_after: String,
    /// `cert_ski`: the certificate's Subject Key Identifier, upper-case hex
    /// (`""` without the extension).
    pub ski: String,
    /// `cert_issuer_ski`: the direct issuer's Subject Key Identifier (from the
    /// issuer's certificate, else the certificate's Authority Key
    /// Identifier), upper-case hex.
    pub issuer_ski: String,
    /// `cert_rfc9440`: the certificate as an RFC 9440 `Client-Cert` header
    /// value: `:` base64 of the DER `:` (`""` when too large).
    pub rfc9440: String,
    /// `cert_rfc9440_too_large`: the certificate exceeds the
    /// RFC 9440 size limit (10 KiB of DER), so `rfc9440` is empty.
    pub rfc9440_too_large: bool,
    /// `cert_chain_rfc9440`: the rest of the presented chain as an RFC 9440
    /// `Client-Cert-Chain` value (byte sequences joined by `, `).
    pub chain_rfc9440: String,
    /// `cert_chain_rfc9440_too_large`: the chain exceeds the size limit
    /// (16 KiB of DER), so `chain_rfc9440` is empty.
    pub chain_rfc9440_too_large: bool,
}

impl ClientCert {
    /// Writes every `cf.tls_client_auth.*` field of `table`.
    pub(super) fn write(&self, t: &mut Table) {
        for (id, b) in [
            (id!("cf.tls_client_auth.cert_presented"), self.presented),
            (id!("cf.tls_client_auth.cert_verified"), self.verified),
            (id!("cf.tls_client_auth.cert_revoked"), self.revoked),
            (
                id!("cf.tls_client_auth.cert_rfc9440_too_large"),
                self.rfc9440_too_large,
            ),
            (
                id!("cf.tls_client_auth.cert_chain_rfc9440_too_large"),
                self.chain_rfc9440_too_large,
            ),
        ] {
            t.set(id, Value::Bool(b));
        }
        for (id, s) in [
            (id!("cf.tls_client_auth.cert_subject_dn"), &self.subject_dn),
            (id!("cf.tls_client_auth.cert_issuer_dn"), &self.issuer_dn),
            (
                id!("cf.tls_client_auth.cert_subject_dn_rfc2253"),
                &self.subject_dn_rfc2253,
            ),
            (
                id!("cf.tls_client_auth.cert_issuer_dn_rfc2253"),
                &self.issuer_dn_rfc2253,
            ),
            (
                id!("cf.tls_client_auth.cert_subject_dn_legacy"),
                &self.subject_dn_legacy,
            ),
            (
                id!("cf.tls_client_auth.cert_issuer_dn_legacy"),
                &self.issuer_dn_legacy,
            ),
            (id!("cf.tls_client_auth.cert_serial"), &self.serial),
            (
                id!("cf.tls_client_auth.cert_issuer_serial"),
                &self.issuer_serial,
            ),
            (
                id!("cf.tls_client_auth.cert_fingerprint_sha256"),
                &self.fingerprint_sha256,
            ),
            (
                id!("cf.tls_client_auth.cert_fingerprint_sha1"),
                &self.fingerprint_sha1,
            ),
            (id!("cf.tls_client_auth.cert_not_before"), &self.not_before),
            (id!("cf.tls_client_auth.cert_not_after"), &self.not_after),
            (id!("cf.tls_client_auth.cert_ski"), &self.ski),
            (id!("cf.tls_client_auth.cert_issuer_ski"), &self.issuer_ski),
            (id!("cf.tls_client_auth.cert_rfc9440"), &self.rfc9440),
            (
                id!("cf.tls_client_auth.cert_chain_rfc9440"),
                &self.chain_rfc9440,
            ),
        ] {
            t.set_with(id, || Value::Bytes(s.as_bytes().to_vec()));
        }
    }
}
