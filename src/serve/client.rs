//! A small client for another agent's `/api/v1/checks`, for `netdx tui --remote`.
//!
//! hyper's own HTTP/1 client connection over tokio-rustls: both are already in the build (axum
//! serves with hyper, the TLS check and the HTTPS listener use rustls), so reading one JSON
//! document adds no HTTP client stack (reqwest would bring its own connection pool, proxy
//! handling and redirect machinery that a single fixed URL does not need). One connection is
//! kept open between polls and opened again when it fails.
//!
//! Only the agent named by the URL is contacted; nothing is scanned.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, AUTHORIZATION, HOST, HeaderValue, WWW_AUTHENTICATE};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::api::{self, ChecksDoc};

/// Longest one poll may take, connect and TLS included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest document read (20,000 checks at about 600 bytes each, with room).
const MAX_BODY: usize = 32 << 20;

/// How the viewer proves who it is.
#[derive(Clone, Default, PartialEq)]
pub enum Credentials {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Bearer(_) => f.write_str("Bearer(..)"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user}, ..)"),
        }
    }
}

/// Everything needed to reach one agent, checked at the edge.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// `http://host:port` or `https://host:port`, optionally with a path prefix (a reverse
    /// proxy's); `/api/v1/checks` is appended.
    pub url: url::Url,
    pub credentials: Credentials,
    /// A PEM file of CA certificates to trust instead of the system's.
    pub ca_cert: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SetupError {
    #[error("{0}: not a URL")]
    Url(String),
    #[error("{0}: only http:// and https:// URLs")]
    Scheme(String),
    #[error("{0}: the URL names no host")]
    NoHost(String),
    #[error("{0}: put credentials in --user or --token-file, not in the URL")]
    UserInfo(String),
    #[error("{file}: {why}")]
    Ca { file: String, why: String },
    #[error("no trusted CA certificates on this system; give --ca-cert FILE")]
    NoRoots,
}

/// Why a poll failed, in words for the header.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FetchError {
    #[error("unreachable: {0}")]
    Connect(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("no answer within {} s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    #[error("401 unauthorized: the agent wants {0}")]
    Unauthorized(String),
    #[error("HTTP {0} from the agent")]
    Status(u16),
    #[error("bad answer: {0}")]
    Body(String),
    #[error("the agent speaks API version {0}; this netdx reads version {v}", v = api::VERSION)]
    Version(u32),
}

/// Parse and check the agent's URL.
pub fn parse_url(s: &str) -> Result<url::Url, SetupError> {
    let u = url::Url::parse(s).map_err(|_| SetupError::Url(s.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(SetupError::Scheme(s.to_string()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(SetupError::NoHost(s.to_string()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(SetupError::UserInfo(s.to_string()));
    }
    Ok(u)
}

/// One agent's API, polled by [`Client::fetch`].
pub struct Client {
    host: String,
    port: u16,
    /// `host:port` as the header shows it and the `Host` header carries it.
    authority: String,
    path: String,
    tls: Option<TlsConnector>,
    auth: Option<HeaderValue>,
    conn: Option<SendRequest<Empty<Bytes>>>,
}

impl Client {
    pub fn new(opts: &RemoteOptions) -> Result<Client, SetupError> {
        let u = &opts.url;
        let host = u
            .host_str()
            .ok_or_else(|| SetupError::NoHost(u.to_string()))?
            .to_string();
        let port = u.port_or_known_default().unwrap_or(80);
        let authority = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let path = format!("{}{}", u.path().trim_end_matches('/'), api::PATH);
        let tls = match u.scheme() {
            "https" => Some(connector(opts.ca_cert.as_deref())?),
            _ => None,
        };
        let auth = match &opts.credentials {
            Credentials::None => None,
            Credentials::Bearer(t) => HeaderValue::from_str(&format!("Bearer {t}")).ok(),
            Credentials::Basic { user, password } => {
                let raw = format!("{user}:{password}");
                let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                HeaderValue::from_str(&format!("Basic {enc}")).ok()
            }
        }
        .map(|mut v| {
            v.set_sensitive(true);
            v
        });
        Ok(Client {
            // `[::1]` in a URL; the socket wants `::1`.
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            authority,
            path,
            tls,
            auth,
            conn: None,
        })
    }

    /// `host:port` of the agent.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the URL is https.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Read the agent's checks once, within [`FETCH_TIMEOUT`].
    pub async fn fetch(&mut self) -> Result<ChecksDoc, FetchError> {
        match tokio::time::timeout(FETCH_TIMEOUT, self.fetch_inner()).await {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                Err(FetchError::Timeout)
            }
        }
    }

    async fn fetch_inner(&mut self) -> Result<ChecksDoc, FetchError> {
        // A kept connection the agent closed meanwhile fails at once: retry on a fresh one.
        if let Some(conn) = self.conn.as_mut()
            && conn.ready().await.is_ok()
        {
            match self.request().await {
                Ok(doc) => return doc,
                Err(_) => self.conn = None,
            }
        }
        self.conn = Some(self.connect().await?);
        match self.request().await {
            Ok(doc) => doc,
            Err(e) => {
                self.conn = None;
                Err(FetchError::Connect(e.to_string()))
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Empty<Bytes>>, FetchError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| FetchError::Connect(format!("{}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp).await,
            Some(tls) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| FetchError::Tls(e.to_string()))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| FetchError::Tls(tls_words(&e)))?;
                handshake(stream).await
            }
        }
    }

    /// One GET on the open connection; the outer error means the connection is unusable.
    async fn request(&mut self) -> Result<Result<ChecksDoc, FetchError>, hyper::Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(Err(FetchError::Connect("not connected".to_string())));
        };
        let mut req = hyper::Request::get(self.path.as_str())
            .header(ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string());
        if let Ok(r) = req.as_mut() {
            if let Ok(h) = HeaderValue::from_str(&self.authority) {
                r.headers_mut().insert(HOST, h);
            }
            if let Some(a) = &self.auth {
                r.headers_mut().insert(AUTHORIZATION, a.clone());
            }
        }
        let req = match req {
            Ok(r) => r,
            Err(why) => return Ok(Err(FetchError::Body(why))),
        };
        let resp = conn.send_request(req).await?;
        let status = resp.status();
        if status == hyper::StatusCode::UNAUTHORIZED {
            let wants = resp
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(|v| v.split(' ').next().unwrap_or(v).to_string())
                .collect::<Vec<_>>();
            let wants = match (wants.is_empty(), self.auth.is_some()) {
                (true, _) => "credentials".to_string(),
                (false, true) => format!(
                    "{} (the credentials given were refused)",
                    wants.join(" or ")
                ),
                (false, false) => wants.join(" or "),
            };
            return Ok(Err(FetchError::Unauthorized(wants)));
        }
        if !status.is_success() {
            return Ok(Err(FetchError::Status(status.as_u16())));
        }
        let body = match Limited::new(resp.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Ok(Err(FetchError::Body(e.to_string()))),
        };
        Ok(parse_doc(&body))
    }
}

/// The document, if this build reads its version.
pub fn parse_doc(body: &[u8]) -> Result<ChecksDoc, FetchError> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        version: u32,
    }
    let v: Versioned = serde_json::from_slice(body)
        .map_err(|e| FetchError::Body(format!("not the API's JSON: {e}")))?;
    if v.version != api::VERSION {
        return Err(FetchError::Version(v.version));
    }
    serde_json::from_slice(body).map_err(|e| FetchError::Body(e.to_string()))
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Empty<Bytes>>, FetchError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    // The connection task ends when `send` is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// rustls' error in plain words (an unknown CA is the usual one with a private agent),
/// by its type; anything else as rustls says it.
fn tls_words(e: &std::io::Error) -> String {
    use rustls::{CertificateError as C, Error as R};
    let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<R>()) else {
        return e.to_string();
    };
    match r {
        R::InvalidCertificate(C::UnknownIssuer) => {
            "the agent's certificate is not signed by a trusted CA (give --ca-cert FILE)".into()
        }
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the agent's certificate does not name this host".into()
        }
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the agent's certificate has expired".into()
        }
        // Webpki's own reasons (a self-signed certificate marked as a CA, from a plain
        // `openssl req -x509`, is `CaUsedAsEndEntity`) come wrapped; say what helps.
        R::InvalidCertificate(C::Other(o)) => format!(
            "the agent's certificate is not trusted ({o}): give its CA, or the certificate \
             itself, as --ca-cert"
        ),
        // A plain-HTTP server answers the ClientHello with an HTTP error page.
        R::InvalidMessage(_) => "the agent does not speak TLS on this port (try http://)".into(),
        other => other.to_string(),
    }
}

/// The usual WebPKI check, plus: a certificate given in `--ca-cert` is trusted as itself
/// when the agent presents exactly it. `openssl req -x509` makes a self-signed certificate
/// marked as a CA, which WebPKI refuses as a server's own (`CaUsedAsEndEntity`); handing
/// that very file to `--ca-cert` is an explicit pin, as ssh's known_hosts is. Signatures of
/// the handshake are still checked against it.
#[derive(Debug)]
struct PinnedOrWebPki {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => Ok(v),
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS client setup trusting `ca` (PEM) or else the system's CAs.
fn connector(ca: Option<&Path>) -> Result<TlsConnector, SetupError> {
    let mut roots = rustls::RootCertStore::empty();
    let mut pinned = Vec::new();
    match ca {
        Some(path) => {
            let file = path.display().to_string();
            let bad = |why: String| SetupError::Ca {
                file: file.clone(),
                why,
            };
            pinned = crate::net::ca_file::add_pem_cas(path, &mut roots).map_err(bad)?;
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(SetupError::NoRoots);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |why: String| SetupError::Ca {
        file: ca.map(|p| p.display().to_string()).unwrap_or_default(),
        why,
    };
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .map_err(|e| setup(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki { inner, pinned }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("https://10.0.0.5:9430").expect("valid");
        let c = Client::new(&RemoteOptions {
            url: u,
            credentials: Credentials::None,
            ca_cert: None,
        });
        // The system may have no CA bundle; the URL part is what is tested here.
        if let Ok(c) = c {
            assert_eq!(c.authority(), "10.0.0.5:9430");
            assert_eq!(c.path, "/api/v1/checks");
            assert!(c.is_tls());
        }
        let c = Client::new(&RemoteOptions {
            url: parse_url("http://[::1]:9430/netdx/").expect("valid"),
            credentials: Credentials::Bearer("t".into()),
            ca_cert: None,
        })
        .expect("plain http needs no CA");
        assert_eq!((c.host.as_str(), c.port), ("::1", 9430));
        assert_eq!(c.path, "/netdx/api/v1/checks");
        assert!(!c.is_tls());
        assert!(matches!(parse_url("ftp://x"), Err(SetupError::Scheme(_))));
        assert!(matches!(parse_url("nope"), Err(SetupError::Url(_))));
        assert!(matches!(
            parse_url("https://u:p@host"),
            Err(SetupError::UserInfo(_))
        ));
        assert_eq!(
            format!(
                "{:?}",
                Credentials::Basic {
                    user: "u".into(),
                    password: "secret".into()
                }
            ),
            "Basic(u, ..)"
        );
    }

    #[test]
    fn versions_and_garbage() {
        assert_eq!(
            parse_doc(br#"{"version":2,"whatever":1}"#),
            Err(FetchError::Version(2))
        );
        assert!(matches!(parse_doc(b"<html>"), Err(FetchError::Body(_))));
    }

    /// An https:// URL against a plain-HTTP server on loopback, then against a TLS server
    /// whose self-signed certificate is not trusted: both named in plain words.
    #[tokio::test]
    async fn tls_failures_in_words() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = plain.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = plain.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let (crt, key) = (dir.path().join("a.crt"), dir.path().join("a.key"));
        let made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=x", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .output()
            .is_ok_and(|o| o.status.success());
        let client = |url: String, ca: Option<PathBuf>| {
            Client::new(&RemoteOptions {
                url: parse_url(&url).expect("url"),
                credentials: Credentials::None,
                ca_cert: ca,
            })
        };
        // openssl is in tests/run.sh's packages; without it there is nothing to test here.
        if !made {
            return;
        }
        let mut c = client(format!("https://{addr}"), Some(crt.clone())).expect("client");
        let e = c.fetch().await.expect_err("plain HTTP");
        assert_eq!(
            e,
            FetchError::Tls("the agent does not speak TLS on this port (try http://)".into())
        );
        // A TLS server with that certificate, and a client trusting another one.
        let (config, _) = crate::serve::web_config::server_config(&crt, &key).expect("tls");
        let tls = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = tls.local_addr().expect("addr");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        tokio::spawn(async move {
            while let Ok((s, _)) = tls.accept().await {
                let _ = acceptor.accept(s).await;
            }
        });
        let other = dir.path().join("other.crt");
        let other_made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args([
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=y",
            ])
            .arg("-keyout")
            .arg(dir.path().join("other.key"))
            .arg("-out")
            .arg(&other)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            other_made,
            "openssl made the first certificate but not the second"
        );
        let mut c = client(format!("https://{addr}"), Some(other)).expect("client");
        let e = c.fetch().await.expect_err("untrusted");
        assert_eq!(
            e,
            FetchError::Tls(
                "the agent's certificate is not trusted (CaUsedAsEndEntity): give its CA, or \
                 the certificate itself, as --ca-cert"
                    .into()
            )
        );
    }

    #[test]
    fn bad_ca_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "junk\n").expect("write");
        assert!(matches!(connector(Some(&f)), Err(SetupError::Ca { .. })));
    }
}
