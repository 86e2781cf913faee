//! SSDP / UPnP: a unicast `M-SEARCH` to `ip:1900` (UPnP Device Architecture 1.1 section
//! 1.3.2 allows it, without `MX`), then the device description at the answer's `LOCATION`,
//! fetched only when that URL points at the same address (a device must not send us to
//! scan anything else).
//!
//! The description is read by careful tag extraction rather than an XML library: five leaf
//! fields of the root device are wanted, entities are limited to XML's five plus numeric
//! references (so no entity expansion can blow up), and text before the root device's
//! `<deviceList>` is all that is read, so an embedded device cannot shadow the root.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{Asker, Reply, Waits};
use crate::core::names::{UpnpInfo, text};
use crate::net::session::Session;

pub const PORT: u16 = 1900;

/// The most read of a description document.
const MAX_DESCRIPTION: usize = 64 * 1024;

/// The unicast search for root devices.
pub fn msearch(ip: IpAddr) -> Vec<u8> {
    let host = match ip {
        IpAddr::V4(v4) => format!("{v4}:{PORT}"),
        IpAddr::V6(v6) => format!("[{v6}]:{PORT}"),
    };
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: {host}\r\nMAN: \"ssdp:discover\"\r\nST: upnp:rootdevice\r\nUSER-AGENT: netdx/{} UPnP/1.1\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// A search answer's headers that matter here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub location: Option<String>,
    pub server: Option<String>,
}

/// An `HTTP/1.1 200 OK` search answer, or None.
pub fn parse_answer(bytes: &[u8]) -> Option<Answer> {
    let s = String::from_utf8_lossy(bytes);
    let mut lines = s.split("\r\n").flat_map(|l| l.split('\n'));
    let status = lines.next()?;
    if !status.starts_with("HTTP/1.") || status.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    let mut a = Answer::default();
    for line in lines.take(64) {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.trim().eq_ignore_ascii_case("location") {
            a.location = Some(v.to_string());
        } else if k.trim().eq_ignore_ascii_case("server") {
            a.server = Some(text(v));
        }
    }
    Some(a)
}

/// Where to fetch `location` from, when it is plain HTTP on `ip` itself: (address, path).
pub fn same_host(location: &str, ip: IpAddr) -> Option<(SocketAddr, String)> {
    let rest = location.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host: IpAddr = host.parse().ok()?;
    let port: u16 = match port {
        Some(p) => p.parse().ok()?,
        None => 80,
    };
    if host != ip || path.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    Some((SocketAddr::new(ip, port), path.to_string()))
}

/// `GET path` for the description.
pub fn get(path: &str, addr: SocketAddr) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: netdx/{}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// The body of a `200` HTTP answer (chunked or not).
pub fn body(bytes: &[u8]) -> Option<Vec<u8>> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]);
    let mut lines = head.split("\r\n");
    if lines.next()?.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    let raw = &bytes[split + 4..];
    if !chunked {
        return Some(raw.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            break;
        }
        // A hostile size near usize::MAX must not overflow the arithmetic (found by fuzzing).
        let end = (eol + 2).checked_add(size)?;
        let chunk = rest.get(eol + 2..end)?;
        out.extend_from_slice(chunk);
        rest = rest.get(end + 2..).unwrap_or_default();
    }
    Some(out)
}

/// XML's five entities and numeric character references; anything else is left as is.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        // Looked for in bytes: the 12th byte may fall inside a character (found by fuzzing).
        let window = &after.as_bytes()[..after.len().min(12)];
        let Some(end) = window.iter().position(|&b| b == b';') else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let entity = &after[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of the first `<tag>` (or `<tag attr...>`) element in `xml`.
fn leaf(xml: &str, tag: &str) -> Option<String> {
    let mut from = 0;
    loop {
        let start = from + xml[from..].find(&format!("<{tag}"))?;
        let after = &xml[start + 1 + tag.len()..];
        let close = after.find('>')?;
        if after.starts_with('>') || after.starts_with(char::is_whitespace) {
            if after[..close].ends_with('/') {
                return None;
            }
            let content = &after[close + 1..];
            let end = content.find(&format!("</{tag}"))?;
            let raw = content[..end].trim();
            let raw = raw
                .strip_prefix("<![CDATA[")
                .and_then(|r| r.strip_suffix("]]>"))
                .map_or_else(|| unescape(raw), str::to_string);
            let t = text(&raw);
            return (!t.is_empty()).then_some(t);
        }
        from = start + 1;
    }
}

/// The root device of a UPnP description document.
pub fn describe(xml: &str) -> UpnpInfo {
    let root = xml.find("<device").map_or(xml, |i| &xml[i..]);
    let root = root.find("<deviceList").map_or(root, |i| &root[..i]);
    UpnpInfo {
        friendly_name: leaf(root, "friendlyName"),
        manufacturer: leaf(root, "manufacturer"),
        model_name: leaf(root, "modelName"),
        model_number: leaf(root, "modelNumber"),
        device_type: leaf(root, "deviceType"),
        ..Default::default()
    }
}

/// Search `ip:1900` for its root device, then read its description when it is on `ip`.
pub async fn probe(session: &Session, ip: IpAddr, waits: Waits) -> Option<UpnpInfo> {
    let answer = {
        // Not connected: some stacks answer from a port other than 1900.
        let asker = Asker::open(session, SocketAddr::new(ip, PORT), false).await?;
        match asker
            .ask(&msearch(ip), waits, |b| parse_answer(b).is_some())
            .await
        {
            Reply::Answer(bytes) => parse_answer(&bytes)?,
            Reply::Refused | Reply::Silent => return None,
        }
    };
    let mut info = UpnpInfo {
        server: answer.server.clone(),
        location: answer.location.as_deref().map(text),
        ..Default::default()
    };
    if let Some((addr, path)) = answer.location.as_deref().and_then(|l| same_host(l, ip))
        && let Some(xml) = fetch(session, addr, &path, waits).await
    {
        let d = describe(&String::from_utf8_lossy(&xml));
        info = UpnpInfo {
            server: info.server,
            location: info.location,
            ..d
        };
    }
    Some(info)
}

/// One HTTP GET of the description, within a few waits.
async fn fetch(session: &Session, addr: SocketAddr, path: &str, waits: Waits) -> Option<Vec<u8>> {
    let _permit = session.connects().acquire().await.ok()?;
    let budget = waits.reply * 4;
    let work = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(&get(path, addr)).await.ok()?;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = s.read(&mut buf).await.ok()?;
            if n == 0 || out.len() >= MAX_DESCRIPTION {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out.truncate(MAX_DESCRIPTION);
        Some(out)
    };
    body(&timeout(budget, work).await.ok()??)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYNOLOGY: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>
<friendlyName>DiskStation (DS920+)</friendlyName>
<manufacturer>Synology</manufacturer>
<modelName>DS920+</modelName>
<modelNumber>DS920+ 7.2</modelNumber>
<modelDescription>Synology NAS &amp; more</modelDescription>
<deviceList><device><friendlyName>embedded</friendlyName><modelNumber>x</modelNumber></device></deviceList>
</device></root>"#;

    #[test]
    fn msearch_is_unicast_without_mx() {
        let m = String::from_utf8(msearch("10.77.0.80".parse().unwrap())).unwrap();
        assert!(m.starts_with("M-SEARCH * HTTP/1.1\r\nHOST: 10.77.0.80:1900\r\n"));
        assert!(m.contains("ST: upnp:rootdevice\r\n"));
        assert!(!m.contains("MX:"));
        assert!(m.ends_with("\r\n\r\n"));
    }

    #[test]
    fn search_answer_headers() {
        let a = parse_answer(
            b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nLocation: http://10.77.0.80:5000/ssdp/desc-DSM-eth0.xml\r\nSERVER: Synology/DSM/10.77.0.80\r\nST: upnp:rootdevice\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            a.location.as_deref(),
            Some("http://10.77.0.80:5000/ssdp/desc-DSM-eth0.xml")
        );
        assert_eq!(a.server.as_deref(), Some("Synology/DSM/10.77.0.80"));
        assert_eq!(parse_answer(b"NOTIFY * HTTP/1.1\r\n\r\n"), None);
        assert_eq!(parse_answer(b"HTTP/1.1 404 Not Found\r\n\r\n"), None);
    }

    #[test]
    fn only_the_same_address_is_fetched() {
        let ip: IpAddr = "10.77.0.80".parse().unwrap();
        assert_eq!(
            same_host("http://10.77.0.80:5000/desc.xml", ip),
            Some(("10.77.0.80:5000".parse().unwrap(), "/desc.xml".into()))
        );
        assert_eq!(
            same_host("http://10.77.0.80", ip),
            Some(("10.77.0.80:80".parse().unwrap(), "/".into()))
        );
        assert_eq!(same_host("http://10.77.0.81:5000/d.xml", ip), None);
        assert_eq!(same_host("http://evil.example/d.xml", ip), None);
        assert_eq!(same_host("https://10.77.0.80/d.xml", ip), None);
        assert_eq!(same_host("http://10.77.0.80/a b\r\nX: y", ip), None);
        let v6: IpAddr = "fd77::80".parse().unwrap();
        assert_eq!(
            same_host("http://[fd77::80]:49152/d.xml", v6),
            Some(("[fd77::80]:49152".parse().unwrap(), "/d.xml".into()))
        );
    }

    #[test]
    fn the_root_device_is_described() {
        let d = describe(SYNOLOGY);
        assert_eq!(d.friendly_name.as_deref(), Some("DiskStation (DS920+)"));
        assert_eq!(d.manufacturer.as_deref(), Some("Synology"));
        assert_eq!(d.model_name.as_deref(), Some("DS920+"));
        assert_eq!(d.model_number.as_deref(), Some("DS920+ 7.2"));
        assert_eq!(
            d.device_type.as_deref(),
            Some("urn:schemas-upnp-org:device:Basic:1")
        );
    }

    #[test]
    fn hostile_descriptions_are_neutralised() {
        let d = describe(
            "<device><friendlyName>TV\u{1b}]0;pwned\u{7}&#x202E;x &lt;script&gt;</friendlyName><modelName/><manufacturer><![CDATA[A&B]]></manufacturer></device>",
        );
        assert_eq!(
            d.friendly_name.as_deref(),
            Some("TV\u{FFFD}]0;pwned\u{FFFD}\u{FFFD}x <script>")
        );
        assert_eq!(d.model_name, None);
        assert_eq!(d.manufacturer.as_deref(), Some("A&B"));
        assert_eq!(
            describe("<device><friendlyName>unterminated"),
            UpnpInfo::default()
        );
        assert_eq!(
            unescape("a &bogus; &#99999999; &amp"),
            "a &bogus; &#99999999; &amp"
        );
    }

    #[test]
    fn bodies_plain_and_chunked() {
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").unwrap(),
            b"abc"
        );
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
                .unwrap(),
            b"abcde"
        );
        assert_eq!(body(b"HTTP/1.1 404 Not Found\r\n\r\n"), None);
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            None
        );
    }

    /// Inputs the `ssdp` fuzz target found (fuzz/corpus/ssdp/): a chunk size that overflows
    /// the arithmetic, and an entity whose 12-byte window ends inside a character.
    #[test]
    fn hostile_chunk_sizes_and_entities_do_not_panic() {
        let huge =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab\r\n";
        assert_eq!(body(huge), None);
        let xml = "<root><device><friendlyName>&abcdefghij\u{e9}x;</friendlyName></device></root>";
        assert_eq!(
            describe(xml).friendly_name.as_deref(),
            Some("&abcdefghij\u{e9}x;")
        );
        assert_eq!(unescape("&#x41;&amp\u{e9}&lt;"), "A&amp\u{e9}<");
    }
}
