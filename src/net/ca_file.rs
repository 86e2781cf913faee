//! A private CA's PEM file, for the TLS clients that accept one (`netdx dns --ca-file` for
//! DoT/DoH, `netdx tui --remote --ca-cert`): one reader, so both say the same thing about a
//! file they cannot use.

use std::path::Path;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// The certificates of the PEM file at `path`, each added to `roots` too. The error is the
/// reason, in words, without the file's name (the caller's error names it).
pub fn add_pem_cas(
    path: &Path,
    roots: &mut RootCertStore,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the file".to_string());
    }
    for c in &certs {
        roots
            .add(c.clone())
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    Ok(certs)
}
