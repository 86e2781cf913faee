//! One `GET /` and what its answer says: status, `Server`, `<title>`, redirect target.

use crate::core::identity::{HttpInfo, ServiceId};
use crate::core::sanitize::clean;

use super::banner::{cut, header};

/// The request: HTTP/1.0 so the server closes when done, a `Host` as a browser would send
/// (many devices answer 400 without one), and a User-Agent that says who asked.
pub fn request(host: &str) -> Vec<u8> {
    format!(
        "GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: netdx\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Whether the bytes are an HTTP answer at all.
pub fn is_http(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/")
}

/// Parse an answer to [`request`] (head and as much of the body as was read).
pub fn parse(bytes: &[u8]) -> Option<HttpInfo> {
    if !is_http(bytes) {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let status_line = text.lines().next()?;
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some(HttpInfo {
        status,
        server: header(bytes, "server"),
        title: title(body),
        location: header(bytes, "location"),
    })
}

/// The text of the first `<title>` element, whitespace collapsed, entities for `&amp;`,
/// `&lt;`, `&gt;`, `&quot;` and `&#39;` decoded (the result is text, never markup).
fn title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start
        + lower[start..]
            .find("</title")
            .unwrap_or(lower.len() - start);
    let raw = body.get(start..end)?;
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let decoded = collapsed
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let t = cut(&clean(&decoded));
    (!t.is_empty()).then_some(t)
}

/// Fill product, version and OS hint from a `Server` header: `nginx/1.22.1`,
/// `Apache/2.4.57 (Debian)`, `Microsoft-IIS/10.0`, `lighttpd`.
pub fn product_from_server(server: &str, id: &mut ServiceId) {
    let first = server.split_whitespace().next().unwrap_or("");
    let (name, version) = first.split_once('/').unwrap_or((first, ""));
    if name.is_empty() {
        return;
    }
    id.product = Some(name.to_string());
    id.version = Some(version.to_string()).filter(|v| !v.is_empty());
    if let Some(open) = server.find('(') {
        let inside: String = server[open + 1..]
            .chars()
            .take_while(|c| *c != ')')
            .collect();
        if !inside.is_empty() && inside.len() <= 24 {
            id.os_hint = Some(inside);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_page_with_title() {
        let r = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n\
                  <html><head><TITLE>\n  Welcome to   nginx!\n</TITLE></head>";
        let h = parse(r).expect("http");
        assert_eq!(h.status, 200);
        assert_eq!(h.server.as_deref(), Some("nginx/1.22.1"));
        assert_eq!(h.title.as_deref(), Some("Welcome to nginx!"));
        assert_eq!(h.location, None);
        let mut id = ServiceId::default();
        product_from_server("nginx/1.22.1", &mut id);
        assert_eq!(
            (id.product.as_deref(), id.version.as_deref()),
            (Some("nginx"), Some("1.22.1"))
        );
    }

    #[test]
    fn redirect_and_apache_os() {
        let r = b"HTTP/1.1 301 Moved Permanently\r\nServer: Apache/2.4.57 (Debian)\r\n\
                  Location: https://nas.lab.test/\r\n\r\n";
        let h = parse(r).expect("http");
        assert_eq!(h.status, 301);
        assert_eq!(h.location.as_deref(), Some("https://nas.lab.test/"));
        let mut id = ServiceId::default();
        product_from_server(h.server.as_deref().unwrap_or(""), &mut id);
        assert_eq!(id.product.as_deref(), Some("Apache"));
        assert_eq!(id.version.as_deref(), Some("2.4.57"));
        assert_eq!(id.os_hint.as_deref(), Some("Debian"));
    }

    #[test]
    fn hostile_title_is_text() {
        let r = "HTTP/1.0 200 OK\r\n\r\n<title>\x1b[31m<script>alert(1)</script> &lt;b&gt; \u{202e}gnp.exe</title>";
        let h = parse(r.as_bytes()).expect("http");
        let t = h.title.expect("title");
        assert!(!t.contains('\x1b'), "{t:?}");
        assert!(!t.contains('\u{202e}'), "bidi override neutralised: {t:?}");
        assert!(
            t.contains("<script>"),
            "kept as text, escaped by each writer: {t:?}"
        );
    }

    #[test]
    fn not_http() {
        assert_eq!(parse(b"SSH-2.0-x\r\n"), None);
        assert_eq!(parse(b"HTTP/1.1 abc\r\n\r\n"), None);
        assert_eq!(parse(b"HTTP/"), None);
    }
}
