//! What runs on an open port, as far as the service itself told us.
//!
//! Every string here came from the network: it is cleaned ([`crate::core::sanitize::clean`])
//! and cut to a sane length when it is created, so views and reports may print it as text
//! (and must still escape it for their markup).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The longest string kept from a banner, header or title: enough for any real product line,
/// short enough that a hostile service cannot flood a table or a report.
pub const MAX_TEXT: usize = 160;

/// What one open port said about itself. Every string came from the network: control and
/// invisible characters replaced, cut to 160 characters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
// Closed in the schema (the reader ignores unknown fields): every field netdx writes is here.
#[schemars(deny_unknown_fields)]
pub struct ServiceId {
    /// The protocol it speaks: `ssh`, `http`, `https`, `ftp`, `smtp`, `pop3`, `imap`, `mysql`,
    /// `telnet`, `redis`, `rtsp`, `tls` (TLS carrying something else), or `unknown` for a
    /// service that sent text we do not recognise.
    pub protocol: String,
    /// Software name, e.g. `OpenSSH`, `nginx`, `Postfix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Anything else the service said about itself: "protocol 2.0" for SSH, a MySQL error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
    /// The operating system the software was built for, when it says so ("Debian" in
    /// `SSH-2.0-OpenSSH_9.2p1 Debian-2`, "Ubuntu" in an Apache `Server` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_hint: Option<String>,
    /// The first line the service sent on connect (cleaned and cut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
    /// The port accepted the connection but answered none of our probes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
}

/// The answer to one `GET /`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HttpInfo {
    /// The HTTP status code.
    #[schemars(range(min = 100, max = 999))]
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where a redirect points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The TLS handshake and the certificate the server presented (recorded, never trusted or
/// rejected: a technician wants to see the expired certificate, not an error).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_cn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// RFC 3339 date and time the certificate stops being valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub not_after: Option<String>,
    /// Whole days from the scan to `not_after` (negative once expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    pub self_signed: bool,
}

/// A certificate this close to its end is a problem worth a line in every report.
pub const EXPIRY_WARN_DAYS: i64 = 30;

impl TlsInfo {
    /// "certificate expired 3 days ago" / "certificate expires in 12 days", or None when
    /// the certificate has more than [`EXPIRY_WARN_DAYS`] left.
    pub fn problem(&self) -> Option<String> {
        let d = self.days_left?;
        match d {
            d if d < 0 => Some(format!(
                "certificate expired {} day{} ago",
                -d,
                if d == -1 { "" } else { "s" }
            )),
            d if d < EXPIRY_WARN_DAYS => Some(format!(
                "certificate expires in {d} day{}",
                if d == 1 { "" } else { "s" }
            )),
            _ => None,
        }
    }
}

impl ServiceId {
    /// One line for tables and text output: "OpenSSH 9.2p1 (Debian)", "nginx 1.22.1 ·
    /// 200 \"Welcome\"", "TLSv1.3 CN=web.lab.test, expires in 12 days".
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut product = String::new();
        if let Some(p) = &self.product {
            product.push_str(p);
        }
        if let Some(v) = &self.version {
            if !product.is_empty() {
                product.push(' ');
            }
            product.push_str(v);
        }
        let notes: Vec<&str> = [&self.os_hint, &self.extra]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !notes.is_empty() {
            if !product.is_empty() {
                product.push(' ');
            }
            product.push_str(&format!("({})", notes.join("; ")));
        }
        if !product.is_empty() {
            parts.push(product);
        }
        if let Some(h) = &self.http {
            let mut s = h.status.to_string();
            if let Some(t) = &h.title {
                s.push_str(&format!(" \"{t}\""));
            }
            if let Some(l) = &h.location {
                s.push_str(&format!(" → {l}"));
            }
            if self.product.is_none()
                && let Some(srv) = &h.server
            {
                parts.push(srv.clone());
            }
            parts.push(s);
        }
        if let Some(t) = &self.tls {
            let mut s = t.version.clone();
            if let Some(cn) = &t.subject_cn {
                s.push_str(&format!(" CN={cn}"));
            }
            if t.self_signed {
                s.push_str(" self-signed");
            }
            if let Some(p) = t.problem() {
                s.push_str(&format!(", {p}"));
            }
            parts.push(s);
        }
        if parts.is_empty() {
            if self.silent {
                return "silent".into();
            }
            if let Some(b) = &self.banner {
                return b.clone();
            }
            return self.protocol.clone();
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_product_version_and_hint() {
        let s = ServiceId {
            protocol: "ssh".into(),
            product: Some("OpenSSH".into()),
            version: Some("9.2p1".into()),
            os_hint: Some("Debian".into()),
            extra: Some("protocol 2.0".into()),
            ..Default::default()
        };
        assert_eq!(s.summary(), "OpenSSH 9.2p1 (Debian; protocol 2.0)");
    }

    #[test]
    fn summary_of_https_with_expiring_certificate() {
        let s = ServiceId {
            protocol: "https".into(),
            http: Some(HttpInfo {
                status: 200,
                server: Some("nginx/1.22.1".into()),
                title: Some("Welcome".into()),
                location: None,
            }),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                subject_cn: Some("web.lab.test".into()),
                days_left: Some(12),
                self_signed: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            s.summary(),
            "nginx/1.22.1 · 200 \"Welcome\" · TLSv1.3 CN=web.lab.test self-signed, certificate expires in 12 days"
        );
    }

    #[test]
    fn expiry_words() {
        let t = |d| TlsInfo {
            days_left: Some(d),
            ..Default::default()
        };
        assert_eq!(
            t(-1).problem().as_deref(),
            Some("certificate expired 1 day ago")
        );
        assert_eq!(
            t(-5).problem().as_deref(),
            Some("certificate expired 5 days ago")
        );
        assert_eq!(
            t(0).problem().as_deref(),
            Some("certificate expires in 0 days")
        );
        assert_eq!(
            t(29).problem().as_deref(),
            Some("certificate expires in 29 days")
        );
        assert_eq!(t(30).problem(), None);
        assert_eq!(t(400).problem(), None);
    }

    #[test]
    fn silent_and_bare_banner() {
        let s = ServiceId {
            protocol: "unknown".into(),
            silent: true,
            ..Default::default()
        };
        assert_eq!(s.summary(), "silent");
        let s = ServiceId {
            protocol: "unknown".into(),
            banner: Some("hello there".into()),
            ..Default::default()
        };
        assert_eq!(s.summary(), "hello there");
    }
}
