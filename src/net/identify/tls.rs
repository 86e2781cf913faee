//! TLS on any port: the protocol version and the certificate, recorded rather than judged.
//!
//! A browser refuses an expired or self-signed certificate; a technician needs to see it. The
//! verifier here accepts every certificate (nothing sent over the connection is secret: a
//! `GET /` at most) and the handshake's certificate chain is read afterwards.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::core::identity::TlsInfo;
use crate::core::sanitize::clean;

use super::banner::cut;

/// Accepts any certificate; signatures of the handshake are still checked, so what we record
/// is what the server holds the key of.
#[derive(Debug)]
struct RecordOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration every TLS probe shares (TLS 1.2 and 1.3, ring's algorithms),
/// built once per process.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    Arc::clone(CONFIG.get_or_init(build_config))
}

fn build_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(RecordOnly(provider)))
                .with_no_client_auth()
        });
    match config {
        Ok(c) => Arc::new(c),
        // ring supports both default versions; this cannot fail with this provider.
        Err(e) => panic!("TLS client configuration: {e}"),
    }
}

/// The name of a negotiated protocol version as technicians write it.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// What the leaf certificate says, with `days_left` counted from `now` (seconds since the
/// Unix epoch). A certificate that does not parse still yields the version.
pub fn describe(version: String, leaf: Option<&[u8]>, now: i64) -> TlsInfo {
    let mut info = TlsInfo {
        version,
        ..Default::default()
    };
    let Some(der) = leaf else { return info };
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return info;
    };
    let text = |s: &str| cut(&clean(s));
    info.subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(text);
    info.issuer = Some(text(&cert.issuer().to_string())).filter(|s| !s.is_empty());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        info.sans = san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(text(d)),
                GeneralName::IPAddress(b) => ip_text(b),
                _ => None,
            })
            .take(32)
            .collect();
    }
    let not_after = cert.validity().not_after.timestamp();
    info.not_after = time::OffsetDateTime::from_unix_timestamp(not_after)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    info.days_left = Some((not_after - now).div_euclid(86_400));
    info.self_signed = cert.subject() == cert.issuer();
    info
}

fn ip_text(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
        16 => {
            let a: [u8; 16] = b.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_builds() {
        let c = client_config();
        assert!(c.alpn_protocols.is_empty());
    }

    #[test]
    fn garbage_certificate_keeps_the_version() {
        let i = describe("TLSv1.3".into(), Some(b"not a certificate"), 0);
        assert_eq!(i.version, "TLSv1.3");
        assert_eq!(i.subject_cn, None);
        assert_eq!(i.days_left, None);
    }
}
