//! Certificate facts from DER: every `cf.tls_client_auth.*` string of
//! [`ClientCert`], in the formats `ClientCert` documents (those of the
//! public edge, which are OpenSSL's).
//!
//! Nothing here verifies anything: [`ClientCert::from_der_chain`] reads what
//! a client presented, and leaves `verified` and `revoked` false for the
//! verifier ([`crate::tls`]) to decide.

use crate::context::ClientCert;
use crate::error::Error;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate, X509Name};
use x509_parser::x509::AttributeTypeAndValue;

/// The encoded `cf.tls_client_auth.cert_rfc9440` is at most this long.
const RFC9440_LIMIT: usize = 10 * 1024;
/// The encoded `cf.tls_client_auth.cert_chain_rfc9440` is at most this long.
const RFC9440_CHAIN_LIMIT: usize = 16 * 1024;

impl ClientCert {
    /// The facts of the chain a client presented (leaf first, then the
    /// intermediates as sent), with `presented` true and `verified` and
    /// `revoked` false: deciding those is the verifier's job.
    ///
    /// `issuers` are certificates that may have issued the leaf (the
    /// trusted CAs): the issuer's serial and SKI come from the chain's
    /// certificate whose subject is the leaf's issuer, else from one of
    /// these; without either, `issuer_serial` is empty and `issuer_ski` is
    /// the leaf's Authority Key Identifier.
    ///
    /// An empty chain is the default (nothing presented); a leaf that is
    /// not a DER X.509 certificate is an [`Error::Request`].
    pub fn from_der_chain<C: AsRef<[u8]>>(chain: &[C], issuers: &[C]) -> Result<ClientCert, Error> {
        let Some(leaf_der) = chain.first() else {
            return Ok(ClientCert::default());
        };
        let leaf_der = leaf_der.as_ref();
        let leaf = parse(leaf_der)?;
        let issuer = chain[1..]
            .iter()
            .chain(issuers)
            .filter_map(|c| parse(c.as_ref()).ok())
            .find(|c| c.subject().as_raw() == leaf.issuer().as_raw());
        let rfc9440 = byte_sequence(leaf_der);
        let chain_rfc9440 = chain[1..]
            .iter()
            .map(|c| byte_sequence(c.as_ref()))
            .collect::<Vec<_>>()
            .join(", ");
        let issuer_ski = issuer
            .as_ref()
            .and_then(subject_key_id)
            .or_else(|| authority_key_id(&leaf))
            .map(upper_hex)
            .unwrap_or_default();
        let subject_dn = rfc2253(leaf.subject());
        let issuer_dn = rfc2253(leaf.issuer());
        Ok(ClientCert {
            presented: true,
            verified: false,
            revoked: false,
            failure: String::new(),
            subject_dn_rfc2253: subject_dn.clone(),
            issuer_dn_rfc2253: issuer_dn.clone(),
            subject_dn,
            issuer_dn,
            subject_dn_legacy: legacy(leaf.subject()),
            issuer_dn_legacy: legacy(leaf.issuer()),
            serial: serial(leaf.raw_serial()),
            issuer_serial: issuer
                .as_ref()
                .map(|c| serial(c.raw_serial()))
                .unwrap_or_default(),
            fingerprint_sha256: lower_hex(&Sha256::digest(leaf_der)),
            fingerprint_sha1: lower_hex(&Sha1::digest(leaf_der)),
            not_before: openssl_time(leaf.validity().not_before.timestamp()),
            not_after: openssl_time(leaf.validity().not_after.timestamp()),
            ski: subject_key_id(&leaf).map(upper_hex).unwrap_or_default(),
            issuer_ski,
            rfc9440_too_large: rfc9440.len() > RFC9440_LIMIT,
            rfc9440: if rfc9440.len() > RFC9440_LIMIT {
                String::new()
            } else {
                rfc9440
            },
            chain_rfc9440_too_large: chain_rfc9440.len() > RFC9440_CHAIN_LIMIT,
            chain_rfc9440: if chain_rfc9440.len() > RFC9440_CHAIN_LIMIT {
                String::new()
            } else {
                chain_rfc9440
            },
        })
    }
}

/// One DER certificate, all of it.
fn parse(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(cert_error("trailing bytes after the certificate")),
        Err(e) => Err(cert_error(&e.to_string())),
    }
}

fn cert_error(message: &str) -> Error {
    Error::Request {
        field: "client certificate".to_string(),
        message: format!("not a DER X.509 certificate: {message}"),
    }
}

/// An RFC 8941 byte sequence: `:` base64 `:`.
fn byte_sequence(der: &[u8]) -> String {
    format!(":{}:", STANDARD.encode(der))
}

fn subject_key_id<'a>(cert: &X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        })
}

fn authority_key_id<'a>(cert: &X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        })
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The serial as `openssl x509 -serial` prints it: upper-case hex of the
/// integer's bytes without the sign byte DER adds (`00` for zero).
fn serial(raw: &[u8]) -> String {
    let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
    match &raw[start..] {
        [] => "00".to_string(),
        digits => upper_hex(digits),
    }
}

/// A time as OpenSSL prints one: `Mar  1 13:35:00 2022 GMT`.
fn openssl_time(unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {day:>2} {:02}:{:02}:{:02} {year} GMT",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian (year, month 1–12, day 1–31) of a count of days
/// since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// OpenSSL's short name of an attribute type, or its dotted OID.
fn short_name(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type().to_id_string();
    let name = match oid.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return oid,
    };
    name.to_string()
}

/// An attribute's value as text, when it is a string type: UTF-8,
/// Printable, IA5 and Numeric as they are; BMP (UTF-16) and Universal
/// (UTF-32) decoded; Teletex read as Latin-1, as OpenSSL reads it.
fn value_text(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let data = attr.as_slice();
    match attr.attr_value().tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::NumericString => {
            std::str::from_utf8(data).ok().map(str::to_string)
        }
        Tag::BmpString if data.len() % 2 == 0 => char::decode_utf16(
            data.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        Tag::UniversalString if data.len() % 4 == 0 => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

/// `#` and the hex of a value's DER, for a value that is not a string
/// (RFC 2253 §2.4).
fn value_der_hex(attr: &AttributeTypeAndValue<'_>) -> String {
    let data = attr.as_slice();
    let mut der = vec![attr.attr_value().tag().0 as u8];
    match data.len() {
        n if n < 0x80 => der.push(n as u8),
        n => {
            let len = (n as u64).to_be_bytes();
            let start = len.iter().position(|&b| b != 0).unwrap_or(7);
            der.push(0x80 | (8 - start) as u8);
            der.extend_from_slice(&len[start..]);
        }
    }
    der.extend_from_slice(data);
    format!("#{}", upper_hex(&der))
}

/// The RFC 2253 form, as OpenSSL's `-nameopt RFC2253` prints it: the
/// attributes in reverse order, `,` between RDNs and `+` within one;
/// `,+"\<>;`, a leading `#` or space and a trailing space escaped with
/// `\`, control characters and every byte of a non-ASCII character as `\XX`.
fn rfc2253(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for (k, rdn) in name
        .iter_rdn()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .enumerate()
    {
        for (j, attr) in rdn.iter().collect::<Vec<_>>().into_iter().rev().enumerate() {
            if j > 0 {
                out.push('+');
            } else if k > 0 {
                out.push(',');
            }
            out.push_str(&short_name(attr));
            out.push('=');
            match value_text(attr) {
                Some(text) => out.push_str(&escape_rfc2253(&text)),
                None => out.push_str(&value_der_hex(attr)),
            }
        }
    }
    out
}

fn escape_rfc2253(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (k, &b) in bytes.iter().enumerate() {
        let edge = (k == 0 && (b == b'#' || b == b' ')) || (k + 1 == bytes.len() && b == b' ');
        match b {
            b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' => {
                out.push('\\');
                out.push(char::from(b));
            }
            _ if edge => {
                out.push('\\');
                out.push(char::from(b));
            }
            0..0x20 | 0x7f.. => {
                let _ = write!(out, "\\{b:02X}");
            }
            _ => out.push(char::from(b)),
        }
    }
    out
}

/// The legacy form, as OpenSSL's `-nameopt compat` prints it: certificate
/// order, `/name=value` for each RDN and `+name=value` for a further
/// attribute of the same RDN; `/` and `+` in a value escaped with `\`,
/// bytes outside printable ASCII as `\xXX`.
fn legacy(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for rdn in name.iter_rdn() {
        for (j, attr) in rdn.iter().enumerate() {
            out.push(if j == 0 { '/' } else { '+' });
            out.push_str(&short_name(attr));
            out.push('=');
            let text = value_text(attr).unwrap_or_else(|| value_der_hex(attr));
            for &b in text.as_bytes() {
                match b {
                    b'/' | b'+' => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    0x20..0x7f => out.push(char::from(b)),
                    _ => {
                        let _ = write!(out, "\\x{b:02X}");
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_times() {
        assert_eq!(openssl_time(0), "Jan  1 00:00:00 1970 GMT");
        // 2022-03-21T13:35:00Z, the public edge's example.
        assert_eq!(openssl_time(1_647_869_700), "Mar 21 13:35:00 2022 GMT");
        // A leap day, and a date past 2038.
        assert_eq!(openssl_time(951_782_400), "Feb 29 00:00:00 2000 GMT");
        assert_eq!(openssl_time(4_102_444_799), "Dec 31 23:59:59 2099 GMT");
        assert_eq!(openssl_time(-1), "Dec 31 23:59:59 1969 GMT");
    }

    #[test]
    fn serials_drop_the_sign_byte() {
        assert_eq!(serial(&[0x00, 0x8f, 0x01]), "8F01");
        assert_eq!(serial(&[0x01]), "01");
        assert_eq!(serial(&[0x00]), "00");
        assert_eq!(serial(&[]), "00");
    }

    #[test]
    fn rfc2253_escapes() {
        assert_eq!(escape_rfc2253("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rfc2253("#x "), "\\#x\\ ");
        assert_eq!(escape_rfc2253(" x"), "\\ x");
        assert_eq!(escape_rfc2253("é\n"), "\\C3\\A9\\0A");
        assert_eq!(escape_rfc2253("a#b c"), "a#b c");
    }

    #[test]
    fn garbage_is_an_error_and_nothing_is_the_default() {
        let none: [&[u8]; 0] = [];
        assert_eq!(
            ClientCert::from_der_chain(&none, &none).unwrap(),
            ClientCert::default()
        );
        let e = ClientCert::from_der_chain(&[&b"not a certificate"[..]], &[]).unwrap_err();
        assert!(e.to_string().contains("not a DER X.509 certificate"), "{e}");
    }
}
