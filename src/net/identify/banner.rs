//! What a service's first bytes say: SSH, FTP, SMTP, POP3, IMAP, telnet, MySQL, Redis, RTSP,
//! or any other text. Pure functions of the bytes received, so every vendor's greeting is a
//! unit test and the parser is a fuzz target.

use crate::core::identity::{MAX_TEXT, ServiceId};
use crate::core::sanitize::clean;

/// Telnet's "interpret as command" byte: option negotiation, never text.
const IAC: u8 = 0xff;

/// Bytes as text a person can read: telnet negotiation removed, invalid UTF-8 replaced,
/// control and invisible characters neutralised, cut to [`MAX_TEXT`] characters.
pub fn text(bytes: &[u8]) -> String {
    let plain = strip_telnet(bytes);
    let s = String::from_utf8_lossy(&plain);
    cut(&clean(
        s.trim_matches(|c: char| c.is_whitespace() || c == '\0'),
    ))
}

/// The first non-empty line of `bytes`, as [`text`].
pub fn first_line(bytes: &[u8]) -> String {
    let plain = strip_telnet(bytes);
    let s = String::from_utf8_lossy(&plain);
    let line = s
        .split(['\r', '\n'])
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\0'))
        .find(|l| !l.is_empty())
        .unwrap_or("");
    cut(&clean(line))
}

/// At most [`MAX_TEXT`] characters, with an ellipsis when cut.
pub fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_TEXT - 1).collect();
    out.push('…');
    out
}

/// Remove telnet option negotiation (IAC DO/DONT/WILL/WONT x, IAC SB ... IAC SE, IAC x).
fn strip_telnet(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != IAC {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            // IAC IAC: a literal 0xff byte.
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            // WILL, WONT, DO, DONT + option.
            Some(251..=254) => i += 3,
            // SB ... IAC SE.
            Some(250) => {
                let end = bytes[i + 2..]
                    .windows(2)
                    .position(|w| w == [IAC, 240])
                    .map_or(bytes.len(), |p| i + 2 + p + 2);
                i = end;
            }
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    out
}

/// What a greeting sent on connect (before we said anything) identifies. `port` breaks ties
/// that the text leaves open ("220 ready" on 21 is FTP, on 25 SMTP).
pub fn identify(port: u16, bytes: &[u8]) -> ServiceId {
    if bytes.first() == Some(&IAC) {
        return ServiceId {
            protocol: "telnet".into(),
            banner: Some(first_line(bytes)).filter(|b| !b.is_empty()),
            ..Default::default()
        };
    }
    if let Some(m) = mysql(bytes) {
        return m;
    }
    let line = first_line(bytes);
    let mut id = ServiceId {
        protocol: "unknown".into(),
        banner: Some(line.clone()).filter(|b| !b.is_empty()),
        ..Default::default()
    };
    if let Some(rest) = line.strip_prefix("SSH-") {
        ssh(rest, &mut id);
    } else if line.starts_with("220") || line.starts_with("421") {
        let lower = line.to_ascii_lowercase();
        let is_ftp = lower.contains("ftp")
            || (!lower.contains("smtp") && !lower.contains("mail") && port == 21);
        id.protocol = if is_ftp { "ftp" } else { "smtp" }.into();
        products(&line, FTP_SMTP_PRODUCTS, &mut id);
    } else if line.starts_with("+OK") {
        id.protocol = "pop3".into();
        products(&line, MAIL_PRODUCTS, &mut id);
    } else if line.starts_with("* OK") || line.starts_with("* PREAUTH") {
        id.protocol = "imap".into();
        products(&line, MAIL_PRODUCTS, &mut id);
    } else if line.starts_with("+PONG") || line.starts_with("-NOAUTH") || line.starts_with("-ERR") {
        id.protocol = "redis".into();
    } else if line.starts_with("RTSP/") {
        id.protocol = "rtsp".into();
        if let Some(server) = header(bytes, "server") {
            id.product = Some(server);
        }
    }
    id
}

/// `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3` (after the `SSH-`): protocol, software, version,
/// OS hint (RFC 4253 section 4.2).
fn ssh(rest: &str, id: &mut ServiceId) {
    id.protocol = "ssh".into();
    let (proto, software) = rest.split_once('-').unwrap_or((rest, ""));
    id.extra = Some(format!("protocol {proto}"));
    let (software, comments) = software.split_once(' ').unwrap_or((software, ""));
    let (product, version) = match software.split_once(['_', '-']) {
        Some((p, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => (p, Some(v)),
        _ => (software, None),
    };
    if !product.is_empty() {
        id.product = Some(product.to_string());
    }
    id.version = version.map(str::to_string);
    let hint = comments
        .split(['-', ' ', '_'])
        .next()
        .filter(|w| OS_HINTS.iter().any(|h| h.eq_ignore_ascii_case(w)));
    id.os_hint = hint.map(str::to_string);
}

/// Names an OS in SSH comments and `Server` headers.
const OS_HINTS: &[&str] = &[
    "Debian", "Ubuntu", "Raspbian", "FreeBSD", "OpenBSD", "NetBSD", "CentOS", "Fedora", "RedHat",
    "RHEL", "Alpine", "Win32", "Win64", "Windows", "SUSE",
];

const FTP_SMTP_PRODUCTS: &[&str] = &[
    "vsFTPd",
    "ProFTPD",
    "Pure-FTPd",
    "FileZilla",
    "Microsoft FTP Service",
    "Postfix",
    "Exim",
    "Sendmail",
    "Microsoft ESMTP MAIL Service",
    "OpenSMTPD",
    "qmail",
];

const MAIL_PRODUCTS: &[&str] = &[
    "Dovecot",
    "Courier",
    "Cyrus",
    "Zimbra",
    "Microsoft Exchange",
];

/// The first known product named in `line`, with the version that follows it when there is
/// one ("Exim 4.96", "vsFTPd 3.0.3", "Dovecot (Debian)").
fn products(line: &str, known: &[&str], id: &mut ServiceId) {
    let lower = line.to_ascii_lowercase();
    for name in known {
        let Some(at) = lower.find(&name.to_ascii_lowercase()) else {
            continue;
        };
        id.product = Some((*name).to_string());
        let after = line[at + name.len()..].trim_start_matches([' ', '/', '_']);
        let word: String = after
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ')' && *c != ']' && *c != ',')
            .collect();
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            id.version = Some(word);
        }
        if let Some(open) = after.find('(') {
            let inside: String = after[open + 1..]
                .chars()
                .take_while(|c| *c != ')')
                .collect();
            let first = inside.split(['/', ' ']).next().unwrap_or("");
            if OS_HINTS.iter().any(|h| h.eq_ignore_ascii_case(first)) {
                id.os_hint = Some(first.to_string());
            }
        }
        return;
    }
}

/// A header value of a text protocol answer (`Server: ...`), cleaned and cut.
pub fn header(bytes: &[u8], name: &str) -> Option<String> {
    let head = String::from_utf8_lossy(bytes);
    let head = head.split("\r\n\r\n").next().unwrap_or("");
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| cut(&clean(v.trim())))
            .filter(|v| !v.is_empty())
    })
}

/// MySQL and MariaDB send a binary greeting: a 3-byte length, sequence 0, then protocol 10
/// and a NUL-terminated version string; or an error packet (0xff) when this client's address
/// may not connect ("Host ... is not allowed").
fn mysql(bytes: &[u8]) -> Option<ServiceId> {
    if bytes.len() < 6 || bytes[3] != 0 {
        return None;
    }
    let len = usize::from(bytes[0]) | usize::from(bytes[1]) << 8 | usize::from(bytes[2]) << 16;
    if len + 4 > bytes.len() + 64 || len < 2 {
        return None;
    }
    match bytes[4] {
        10 => {
            let body = &bytes[5..];
            let nul = body.iter().position(|&b| b == 0)?;
            let version = std::str::from_utf8(&body[..nul]).ok()?;
            if version.is_empty()
                || !version.starts_with(|c: char| c.is_ascii_digit())
                || version.chars().any(|c| c.is_control())
            {
                return None;
            }
            let full = cut(&clean(version));
            let version = full.as_str();
            // MariaDB reports "5.5.5-10.11.6-MariaDB-0+deb12u1" (the prefix keeps old clients
            // happy); the real version follows it.
            let (product, version) = if let Some(i) = version.find("-MariaDB") {
                let v = &version[..i];
                let v = v.strip_prefix("5.5.5-").unwrap_or(v);
                ("MariaDB", v.to_string())
            } else {
                let v = version.split('-').next().unwrap_or(version).to_string();
                ("MySQL", v)
            };
            let os_hint = OS_HINTS
                .iter()
                .find(|h| full.to_ascii_lowercase().contains(&h.to_ascii_lowercase()))
                .map(|h| (*h).to_string())
                .or_else(|| full.contains("deb").then(|| "Debian".to_string()));
            Some(ServiceId {
                protocol: "mysql".into(),
                product: Some(product.into()),
                version: Some(version),
                os_hint,
                extra: Some("protocol 10".into()),
                ..Default::default()
            })
        }
        0xff if bytes.len() > 7 => {
            let msg = bytes.get(7..).unwrap_or_default();
            let msg = msg
                .strip_prefix(b"#")
                .map_or(msg, |m| m.get(5..).unwrap_or_default());
            Some(ServiceId {
                protocol: "mysql".into(),
                extra: Some(text(msg)).filter(|m| !m.is_empty()),
                ..Default::default()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(port: u16, s: &str) -> ServiceId {
        identify(port, s.as_bytes())
    }

    #[test]
    fn ssh_vendors() {
        let s = id(22, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        assert_eq!(s.protocol, "ssh");
        assert_eq!(s.product.as_deref(), Some("OpenSSH"));
        assert_eq!(s.version.as_deref(), Some("9.2p1"));
        assert_eq!(s.os_hint.as_deref(), Some("Debian"));
        assert_eq!(s.extra.as_deref(), Some("protocol 2.0"));
        assert_eq!(
            s.banner.as_deref(),
            Some("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")
        );

        let s = id(22, "SSH-2.0-dropbear_2022.83\r\n");
        assert_eq!(s.product.as_deref(), Some("dropbear"));
        assert_eq!(s.version.as_deref(), Some("2022.83"));
        assert_eq!(s.os_hint, None);

        let s = id(22, "SSH-1.99-Cisco-1.25\n");
        assert_eq!(s.product.as_deref(), Some("Cisco"));
        assert_eq!(s.version.as_deref(), Some("1.25"));
        assert_eq!(s.extra.as_deref(), Some("protocol 1.99"));

        let s = id(22, "SSH-2.0-ROSSSH\r\n");
        assert_eq!(s.product.as_deref(), Some("ROSSSH"));
        assert_eq!(s.version, None);

        let s = id(2222, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n");
        assert_eq!(s.os_hint.as_deref(), Some("Ubuntu"));
    }

    #[test]
    fn ftp_and_smtp() {
        let s = id(21, "220 (vsFTPd 3.0.3)\r\n");
        assert_eq!(s.protocol, "ftp");
        assert_eq!(s.product.as_deref(), Some("vsFTPd"));
        assert_eq!(s.version.as_deref(), Some("3.0.3"));

        let s = id(21, "220 ProFTPD Server (Debian) [::ffff:10.77.0.20]\r\n");
        assert_eq!(s.protocol, "ftp");
        assert_eq!(s.product.as_deref(), Some("ProFTPD"));
        assert_eq!(s.version, None);

        let s = id(21, "220 Welcome\r\n");
        assert_eq!(s.protocol, "ftp");

        let s = id(25, "220 mail.lab.test ESMTP Postfix (Debian/GNU)\r\n");
        assert_eq!(s.protocol, "smtp");
        assert_eq!(s.product.as_deref(), Some("Postfix"));
        assert_eq!(s.os_hint.as_deref(), Some("Debian"));

        let s = id(
            587,
            "220 mx.example ESMTP Exim 4.96 Mon, 30 Nov 2026 10:00:00 +0000\r\n",
        );
        assert_eq!(s.protocol, "smtp");
        assert_eq!(s.product.as_deref(), Some("Exim"));
        assert_eq!(s.version.as_deref(), Some("4.96"));
    }

    #[test]
    fn pop3_imap() {
        let s = id(110, "+OK Dovecot (Debian) ready.\r\n");
        assert_eq!(s.protocol, "pop3");
        assert_eq!(s.product.as_deref(), Some("Dovecot"));
        assert_eq!(s.os_hint.as_deref(), Some("Debian"));
        let s = id(
            143,
            "* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot ready.\r\n",
        );
        assert_eq!(s.protocol, "imap");
        assert_eq!(s.product.as_deref(), Some("Dovecot"));
    }

    #[test]
    fn telnet_negotiation_is_not_text() {
        let mut b = vec![IAC, 251, 1, IAC, 251, 3, IAC, 250, 24, 1, IAC, 240];
        b.extend_from_slice(b"\r\nUser Access Verification\r\n\r\nUsername: ");
        let s = identify(23, &b);
        assert_eq!(s.protocol, "telnet");
        assert_eq!(s.banner.as_deref(), Some("User Access Verification"));
    }

    #[test]
    fn mysql_and_mariadb_greetings() {
        let greet = |v: &str| {
            let mut body = vec![10u8];
            body.extend_from_slice(v.as_bytes());
            body.push(0);
            body.extend_from_slice(&[1, 0, 0, 0, b'a', b'b', 0]);
            let mut b = vec![body.len() as u8, 0, 0, 0];
            b.extend(body);
            b
        };
        let s = identify(3306, &greet("8.0.36-0ubuntu0.22.04.1"));
        assert_eq!(s.protocol, "mysql");
        assert_eq!(s.product.as_deref(), Some("MySQL"));
        assert_eq!(s.version.as_deref(), Some("8.0.36"));
        assert_eq!(s.os_hint.as_deref(), Some("Ubuntu"));
        let s = identify(3306, &greet("5.5.5-10.11.6-MariaDB-0+deb12u1"));
        assert_eq!(s.product.as_deref(), Some("MariaDB"));
        assert_eq!(s.version.as_deref(), Some("10.11.6"));
        assert_eq!(s.os_hint.as_deref(), Some("Debian"));

        let mut err = vec![0x40, 0, 0, 0, 0xff, 0x6a, 0x04];
        err.extend_from_slice(
            b"Host '10.77.0.10' is not allowed to connect to this MariaDB server",
        );
        let s = identify(3306, &err);
        assert_eq!(s.protocol, "mysql");
        assert!(
            s.extra.as_deref().unwrap_or("").contains("not allowed"),
            "{s:?}"
        );
    }

    #[test]
    fn hostile_banner_is_neutralised_and_cut() {
        let evil = format!(
            "\x1b]0;pwned\x07\x1b[2J<script>alert(1)</script>{}\r\n",
            "A".repeat(500)
        );
        let s = id(9999, &evil);
        assert_eq!(s.protocol, "unknown");
        let b = s.banner.expect("banner kept");
        assert!(!b.chars().any(|c| c.is_control()), "{b:?}");
        assert!(b.chars().count() <= MAX_TEXT, "cut: {}", b.chars().count());
        assert!(b.ends_with('…'));
    }

    #[test]
    fn garbage_never_panics() {
        for b in [
            &b""[..],
            b"\xff",
            b"\xff\xfa",
            b"\x05\x00\x00\x00\x0a",
            b"\x00\x00\x00\x00\xff\x01",
        ] {
            let _ = identify(1, b);
        }
    }

    #[test]
    fn redis_and_rtsp_answers() {
        assert_eq!(id(6379, "+PONG\r\n").protocol, "redis");
        assert_eq!(
            id(6379, "-NOAUTH Authentication required.\r\n").protocol,
            "redis"
        );
        let s = id(
            554,
            "RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: GStreamer RTSP server\r\n\r\n",
        );
        assert_eq!(s.protocol, "rtsp");
        assert_eq!(s.product.as_deref(), Some("GStreamer RTSP server"));
    }
}
