//! Service identification: what runs on an open TCP port.
//!
//! nmap's `-sV` waits up to 6 s on every silent port for a greeting that HTTP, TLS and most
//! modern services never send. Here the port number chooses the first question: TLS ports
//! get a handshake, web ports a `GET /` at once, and only the rest wait for a greeting, for a
//! time adapted to the host's measured round trip. A silent port then gets the few probes
//! that make silent services talk (HTTP, TLS, Redis `PING`, RTSP `OPTIONS`). Every connection
//! holds one of the session's connect permits, and at most [`PER_HOST`] run per host, so a
//! fragile device is not flooded.
//!
//! The parsers are pure functions of the bytes ([`banner`], [`http`], [`tls`]); this module
//! only moves bytes.

pub mod banner;
pub mod http;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout};

use crate::core::identity::ServiceId;
use crate::net::session::Session;

/// Connections to one host at once: enough to identify a host's few services in one round
/// trip, few enough for a printer's embedded web server.
pub const PER_HOST: usize = 4;

/// The most read from one service: a banner or an HTTP head and the start of a page (titles
/// sit near the top).
const READ_LIMIT: usize = 16 * 1024;

/// Ports whose service starts with a TLS handshake.
const TLS_PORTS: &[u16] = &[
    443, 465, 563, 636, 853, 990, 992, 993, 994, 995, 2376, 3269, 4443, 5001, 5986, 6443, 8443,
    8883, 9443, 10443,
];

/// TLS ports that carry HTTP (ask `GET /` inside the tunnel).
const HTTPS_PORTS: &[u16] = &[443, 4443, 5001, 5986, 6443, 8443, 9443, 10443];

/// Ports where a web server waits for the request: ask at once instead of waiting for a
/// greeting that never comes.
const HTTP_PORTS: &[u16] = &[
    80, 81, 591, 631, 2375, 3000, 5000, 5985, 7080, 8000, 8008, 8080, 8081, 8088, 8888, 9000, 9090,
    9100, 10000,
];

/// How long each step may take, from the session's estimate of the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waits {
    /// Connect and TLS handshake.
    pub connect: Duration,
    /// For a greeting or an answer after the last byte we sent.
    pub read: Duration,
}

impl Waits {
    /// From the host's smoothed RTT: a LAN host answers a request within a few ms, but a
    /// service may take a moment to greet (SMTP servers look up the client's name first), so
    /// the read wait has a floor well above the network's.
    pub fn for_rtt(srtt: Option<Duration>) -> Waits {
        let rtt = srtt.unwrap_or(Duration::from_millis(200));
        Waits {
            connect: (rtt * 4).clamp(Duration::from_millis(300), Duration::from_secs(3)),
            read: (rtt * 4 + Duration::from_millis(400))
                .clamp(Duration::from_millis(500), Duration::from_secs(3)),
        }
    }
}

/// Identify every port of `ports` on `ip`, at most [`PER_HOST`] at once, each holding a
/// connect permit of the session. `name` is what goes in `Host:` and TLS SNI (the host's
/// name when known, else its address).
pub async fn identify_host(
    session: &Session,
    ip: IpAddr,
    name: Option<&str>,
    ports: &[u16],
) -> Vec<(u16, ServiceId)> {
    let waits = Waits::for_rtt(session.estimate(ip).timing.rtt.srtt());
    let per_host = Arc::new(Semaphore::new(PER_HOST));
    let tls = tls::client_config();
    let host = name.map_or_else(|| ip.to_string(), str::to_string);
    let jobs = ports.iter().map(|&port| {
        let (per_host, tls, host) = (Arc::clone(&per_host), Arc::clone(&tls), host.clone());
        async move {
            let _slot = per_host.acquire().await.ok();
            let id = identify(session, SocketAddr::new(ip, port), &host, waits, &tls).await;
            (port, id)
        }
    });
    futures::future::join_all(jobs).await
}

/// Identify one open port.
pub async fn identify(
    session: &Session,
    addr: SocketAddr,
    host: &str,
    waits: Waits,
    tls: &Arc<rustls::ClientConfig>,
) -> ServiceId {
    let port = addr.port();
    if TLS_PORTS.contains(&port)
        && let Some(id) = over_tls(session, addr, host, waits, tls).await
    {
        return id;
    }
    if HTTP_PORTS.contains(&port)
        && let Some(id) = ask_http(session, addr, host, waits).await
    {
        return id;
    }
    // Wait for a greeting.
    if let Some(bytes) = exchange(session, addr, &[], waits).await
        && !bytes.is_empty()
    {
        return from_greeting(port, &bytes);
    }
    // Silent: the probes that make silent services answer.
    let specific: Option<&[u8]> = match port {
        6379 => Some(b"PING\r\n"),
        554 | 8554 => Some(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: netdx\r\n\r\n"),
        _ => None,
    };
    if let Some(probe) = specific
        && let Some(bytes) = exchange(session, addr, probe, waits).await
        && !bytes.is_empty()
    {
        return banner::identify(port, &bytes);
    }
    if !HTTP_PORTS.contains(&port)
        && let Some(id) = ask_http(session, addr, host, waits).await
    {
        return id;
    }
    if !TLS_PORTS.contains(&port)
        && let Some(id) = over_tls(session, addr, host, waits, tls).await
    {
        return id;
    }
    ServiceId {
        protocol: "unknown".into(),
        silent: true,
        ..Default::default()
    }
}

/// A greeting that may itself be an HTTP answer (some servers send one unasked).
pub(crate) fn from_greeting(port: u16, bytes: &[u8]) -> ServiceId {
    match http::parse(bytes) {
        Some(h) => web("http", h),
        None => banner::identify(port, bytes),
    }
}

fn web(protocol: &str, h: crate::core::identity::HttpInfo) -> ServiceId {
    let mut id = ServiceId {
        protocol: protocol.into(),
        ..Default::default()
    };
    if let Some(server) = &h.server {
        http::product_from_server(server, &mut id);
    }
    id.http = Some(h);
    id
}

/// `GET /` in clear; None when the answer is not HTTP (or there is none).
async fn ask_http(
    session: &Session,
    addr: SocketAddr,
    host: &str,
    waits: Waits,
) -> Option<ServiceId> {
    let bytes = exchange(session, addr, &http::request(host), waits).await?;
    match http::parse(&bytes) {
        Some(h) => Some(web("http", h)),
        // Something else answered our request: still a fact worth keeping.
        None if !bytes.is_empty() => Some(banner::identify(addr.port(), &bytes)),
        None => None,
    }
}

/// Connect (within `connect`) and complete a TLS handshake (within `connect + read`); the
/// stream and what its certificate says. None when the port does not speak TLS. The caller
/// holds a permit of the session's connect budget.
pub async fn handshake(
    addr: SocketAddr,
    host: &str,
    connect: Duration,
    read: Duration,
    config: &Arc<rustls::ClientConfig>,
) -> Option<(
    tokio_rustls::client::TlsStream<TcpStream>,
    crate::core::identity::TlsInfo,
)> {
    let stream = timeout(connect, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let server_name = match host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(host.to_string()).ok()?,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    let tls = timeout(connect + read, connector.connect(server_name, stream))
        .await
        .ok()?
        .ok()?;
    let (version, leaf) = {
        let (_, conn) = tls.get_ref();
        let version = conn.protocol_version().map(tls::version_name)?;
        let leaf = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec());
        (version, leaf)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Some((tls, tls::describe(version, leaf.as_deref(), now)))
}

/// A TLS handshake, then `GET /` (web ports) or the greeting inside the tunnel (IMAPS, POP3S,
/// SMTPS...). None when the port does not speak TLS.
async fn over_tls(
    session: &Session,
    addr: SocketAddr,
    host: &str,
    waits: Waits,
    config: &Arc<rustls::ClientConfig>,
) -> Option<ServiceId> {
    let _permit = session.connects().acquire().await.ok()?;
    let (mut tls, info) = handshake(addr, host, waits.connect, waits.read, config).await?;
    let port = addr.port();
    let mut id = if HTTPS_PORTS.contains(&port) {
        let bytes = talk(&mut tls, &http::request(host), waits).await;
        match http::parse(&bytes) {
            Some(h) => web("https", h),
            None if !bytes.is_empty() => banner::identify(port, &bytes),
            None => ServiceId {
                protocol: "tls".into(),
                ..Default::default()
            },
        }
    } else {
        let bytes = talk(&mut tls, &[], waits).await;
        if bytes.is_empty() {
            ServiceId {
                protocol: "tls".into(),
                ..Default::default()
            }
        } else {
            from_greeting(port, &bytes)
        }
    };
    id.tls = Some(info);
    Some(id)
}

/// Connect, send `request` (if any), read until the service closes, [`READ_LIMIT`], or
/// `waits.read` passes without a byte. None when the connection fails.
async fn exchange(
    session: &Session,
    addr: SocketAddr,
    request: &[u8],
    waits: Waits,
) -> Option<Vec<u8>> {
    let _permit = session.connects().acquire().await.ok()?;
    let mut stream = timeout(waits.connect, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let _ = stream.set_nodelay(true);
    Some(talk(&mut stream, request, waits).await)
}

async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    request: &[u8],
    waits: Waits,
) -> Vec<u8> {
    if !request.is_empty() && (s.write_all(request).await.is_err() || s.flush().await.is_err()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // The whole read is bounded too: a service dribbling a byte at a time must not hold us.
    let overall = Instant::now() + waits.read * 3;
    loop {
        let wait = waits
            .read
            .min(overall.saturating_duration_since(Instant::now()));
        match timeout(wait, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() >= READ_LIMIT || greeting_complete(&out, request.is_empty()) {
                    break;
                }
            }
        }
    }
    out.truncate(READ_LIMIT);
    out
}

/// A greeting is one line (or one MySQL packet): waiting for more only costs time. An answer
/// to a request is read to the end (the page title may come later).
pub(crate) fn greeting_complete(bytes: &[u8], greeting: bool) -> bool {
    if !greeting {
        return false;
    }
    if bytes.first() == Some(&0xff) {
        // Telnet negotiation comes before the prompt: wait for some text.
        return bytes.iter().filter(|b| b.is_ascii_alphabetic()).count() >= 8;
    }
    if bytes.len() >= 4 && bytes[3] == 0 {
        let len = usize::from(bytes[0]) | usize::from(bytes[1]) << 8 | usize::from(bytes[2]) << 16;
        return bytes.len() >= len + 4;
    }
    bytes.contains(&b'\n') && !bytes.starts_with(b"HTTP/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_rtt_within_bounds() {
        let lan = Waits::for_rtt(Some(Duration::from_micros(300)));
        assert_eq!(lan.connect, Duration::from_millis(300));
        assert_eq!(lan.read, Duration::from_millis(500));
        let far = Waits::for_rtt(Some(Duration::from_millis(200)));
        assert_eq!(far.read, Duration::from_millis(1200));
        let awful = Waits::for_rtt(Some(Duration::from_secs(5)));
        assert_eq!(awful.connect, Duration::from_secs(3));
        assert_eq!(awful.read, Duration::from_secs(3));
    }

    #[test]
    fn greeting_ends_at_line_or_packet() {
        assert!(greeting_complete(b"SSH-2.0-x\r\n", true));
        assert!(!greeting_complete(b"SSH-2.0-x", true));
        assert!(
            !greeting_complete(b"220 a\r\n", false),
            "answers read to the end"
        );
        assert!(greeting_complete(&[3, 0, 0, 0, 10, b'5', 0], true));
        assert!(!greeting_complete(&[9, 0, 0, 0, 10, b'5', 0], true));
        assert!(!greeting_complete(&[0xff, 251, 1, b'\n'], true));
    }
}
