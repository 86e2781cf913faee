//! `netdx serve --web-config FILE`: TLS and basic auth for the listener, in the YAML format of
//! the Prometheus exporter-toolkit (`--web.config.file` of node_exporter, blackbox_exporter):
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: serve.crt
//!   key_file: serve.key
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt, e.g. `htpasswd -nbBC 10 "" PASSWORD | cut -d: -f2`
//! ```
//!
//! Why this format rather than a `[listen]` table in serve's TOML: the operators who scrape
//! netdx already keep such a file (and the Ansible roles and docs that write one) for their
//! other exporters, and the same file can be handed to every exporter on a host. The keys
//! netdx does not implement (client certificates, cipher lists, HTTP headers) are refused by
//! name rather than ignored, so nobody believes a setting is in force when it is not.
//! Relative paths are taken from the file's directory, as the exporter-toolkit does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::auth::BasicUsers;

/// The listener settings one web-config file gives, loaded and checked.
#[derive(Clone)]
pub struct WebConfig {
    pub file: PathBuf,
    /// The server's TLS setup (certificate chain and key), when `tls_server_config` is set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `basic_auth_users`, when set.
    pub users: Option<BasicUsers>,
    /// The bytes the TLS setup was built from, so a reload can tell whether it changed.
    fingerprint: Vec<u8>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("file", &self.file)
            .field("tls", &self.tls.is_some())
            .field("users", &self.users)
            .finish()
    }
}

impl PartialEq for WebConfig {
    fn eq(&self, other: &WebConfig) -> bool {
        self.file == other.file
            && self.fingerprint == other.fingerprint
            && self.users == other.users
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WebConfigError {
    #[error("{file}: cannot read: {why}")]
    Read { file: String, why: String },
    #[error("{file}: {why}")]
    Syntax { file: String, why: String },
    #[error("{file}: {why}")]
    Tls { file: String, why: String },
    #[error("{file}: basic_auth_users: {user}: {why}")]
    Hash {
        file: String,
        user: String,
        why: String,
    },
}

pub type Result<T> = std::result::Result<T, WebConfigError>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    tls_server_config: Option<RawTls>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

/// Read and check the file, and the certificate and key it names.
pub fn load(path: &Path) -> Result<WebConfig> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| WebConfigError::Read {
        file: file.clone(),
        why: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(path, base, &text)
}

/// Parse `text` (from `path`), relative file names taken from `base`.
pub fn parse(path: &Path, base: &Path, text: &str) -> Result<WebConfig> {
    let file = path.display().to_string();
    let syntax = |why: String| WebConfigError::Syntax {
        file: file.clone(),
        why: one_line(&why),
    };
    // An empty file is a valid exporter-toolkit config (plain HTTP, no auth).
    let raw: RawFile = if text.trim().is_empty() {
        RawFile {
            tls_server_config: None,
            basic_auth_users: None,
        }
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| syntax(e.to_string()))?
    };
    let mut fingerprint = Vec::new();
    let tls = match raw.tls_server_config {
        None => None,
        Some(t) => {
            let (Some(cert), Some(key)) = (t.cert_file, t.key_file) else {
                return Err(syntax(
                    "tls_server_config needs both cert_file and key_file".to_string(),
                ));
            };
            let cert = base.join(cert);
            let key = base.join(key);
            let (config, bytes) = server_config(&cert, &key)?;
            fingerprint = bytes;
            Some(Arc::new(config))
        }
    };
    let users = match raw.basic_auth_users {
        None => None,
        Some(map) if map.is_empty() => None,
        Some(map) => Some(
            BasicUsers::new(map).map_err(|(user, why)| WebConfigError::Hash {
                file: file.clone(),
                user,
                why,
            })?,
        ),
    };
    Ok(WebConfig {
        file: path.to_path_buf(),
        tls,
        users,
        fingerprint,
    })
}

/// serde_yaml's messages can span lines; errors here are one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A rustls server setup from PEM files: the chain in `cert`, the private key in `key`
/// (PKCS#8, PKCS#1 or SEC1), HTTP/1.1 offered over ALPN. Also returns the files' bytes.
pub fn server_config(cert: &Path, key: &Path) -> Result<(rustls::ServerConfig, Vec<u8>)> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| WebConfigError::Read {
            file: p.display().to_string(),
            why: e.to_string(),
        })
    };
    let tls_err = |p: &Path, why: String| WebConfigError::Tls {
        file: p.display().to_string(),
        why,
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_err(cert, format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(tls_err(cert, "no certificate in the file".to_string()));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| tls_err(key, format!("no usable PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| tls_err(key, format!("does not fit the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut bytes = cert_pem;
    bytes.extend_from_slice(&key_pem);
    Ok((config, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<WebConfig> {
        parse(Path::new("web.yml"), Path::new("/nonexistent"), text)
    }

    #[test]
    fn empty_file_is_plain_http() {
        let c = parse_str("").expect("valid");
        assert!(c.tls.is_none() && c.users.is_none());
        let c = parse_str("basic_auth_users: {}\n").expect("valid");
        assert!(c.users.is_none());
    }

    #[test]
    fn users_with_bcrypt_hashes() {
        let hash = bcrypt::hash_with_salt("pw", 4, [7u8; 16])
            .expect("hash")
            .format_for_version(bcrypt::Version::TwoY);
        let c = parse_str(&format!("basic_auth_users:\n  prom: '{hash}'\n")).expect("valid");
        let users = c.users.expect("users");
        assert_eq!(users.len(), 1);
        assert_eq!(format!("{users:?}"), "BasicUsers([\"prom\"])");
    }

    #[test]
    fn refusals_are_one_line_and_name_the_problem() {
        let e = parse_str("basic_auth_users:\n  prom: hunter2\n").expect_err("plaintext");
        assert!(
            matches!(&e, WebConfigError::Hash { user, .. } if user == "prom"),
            "{e}"
        );
        let e = parse_str("tls_server_config:\n  cert_file: a.crt\n  client_ca_file: ca\n")
            .expect_err("unsupported key");
        let msg = e.to_string();
        assert!(
            msg.contains("client_ca_file") && !msg.contains('\n'),
            "{msg}"
        );
        let e = parse_str("tls_server_config:\n  cert_file: a.crt\n").expect_err("no key");
        assert!(e.to_string().contains("both cert_file and key_file"));
        let e = parse_str("http_server_config:\n  http2: true\n").expect_err("unsupported");
        assert!(e.to_string().contains("http_server_config"));
        let e = parse_str("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n")
            .expect_err("missing files");
        assert!(
            matches!(&e, WebConfigError::Read { file, .. } if file == "/nonexistent/a.crt"),
            "{e}"
        );
    }

    #[test]
    fn bad_pem_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("c.pem"), "not a certificate\n").expect("write");
        std::fs::write(dir.path().join("k.pem"), "not a key\n").expect("write");
        let e =
            server_config(&dir.path().join("c.pem"), &dir.path().join("k.pem")).expect_err("bad");
        assert!(e.to_string().contains("no certificate"), "{e}");
    }
}
