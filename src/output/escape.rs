//! Escaping for every report format, in one place so that each rule is written and tested once.
//!
//! The model cleans strings from the network when they arrive, but a report converted with
//! `netdx report` was read from disk and may hold anything. So every writer escapes every
//! string it did not build itself, whatever its origin: control characters are replaced
//! (text, Markdown, HTML, XML, CSV), metacharacters are escaped (HTML, XML, Markdown) and
//! spreadsheet formula prefixes are neutralised (CSV).

use std::borrow::Cow;
use std::fmt::Write;

use crate::core::sanitize::{clean, is_unsafe};

/// Plain text for a terminal or a ticket: no control or invisible formatting character
/// (bidirectional override, zero-width space) survives.
pub fn text(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_unsafe) {
        Cow::Owned(clean(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// Text for HTML element content and (double- or single-quoted) attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_unsafe(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text for XML 1.0 content and attribute values. Control characters (even tab and newline,
/// which attribute normalisation would silently turn into spaces) and the non-characters
/// U+FFFE/U+FFFF are not allowed or not preserved, so they become U+FFFD.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_unsafe(c) || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"), or
/// that some spreadsheets strip before doing so.
const FORMULA_PREFIXES: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV field (RFC 4180): a cell that a spreadsheet would run as a formula gets a leading
/// `'`; a field holding a comma, a quote or a line break is quoted with quotes doubled.
/// Control characters are replaced first, so a newline in a PTR name cannot split a row.
pub fn csv(s: &str) -> String {
    let mut cell = String::with_capacity(s.len() + 3);
    if s.starts_with(FORMULA_PREFIXES) {
        cell.push('\'');
    }
    cell.push_str(&text(s));
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// Text for a Markdown table cell or inline text: control characters replaced, characters
/// that start Markdown syntax backslash-escaped (so a PTR name cannot become a link, an
/// emphasis or a new column), and `<`, `>`, `&` as entities (so no renderer that passes raw
/// HTML through can be made to run a script).
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if is_unsafe(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Ports as compact ranges: `22,80,443,8000-8010`.
pub fn port_ranges(ports: impl IntoIterator<Item = u16>) -> String {
    let mut v: Vec<u16> = ports.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = v[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    out
}

/// An RFC 3339 time as a technician reads it: `2024-05-01 10:00:00 UTC` (seconds, no
/// fraction). Anything unexpected is shown as it is, cleaned.
pub fn human_time(s: &str) -> String {
    crate::core::clock::parse_rfc3339(s)
        .map_or_else(|| text(s).into_owned(), crate::core::clock::human)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_metacharacters_and_controls() {
        assert_eq!(
            html("<script>alert('x')</script>&\"\x1b[31m"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\u{FFFD}[31m"
        );
    }

    #[test]
    fn xml_replaces_what_xml_cannot_hold() {
        assert_eq!(
            xml("a\0b\nc\u{FFFE}<'>"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}&lt;&apos;&gt;"
        );
    }

    #[test]
    fn csv_quotes_and_neutralises() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv("+1"), "'+1");
        assert_eq!(csv("-1"), "'-1");
        assert_eq!(csv("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv("\tx"), "'\u{FFFD}x");
        assert_eq!(csv("\r=1"), "'\u{FFFD}=1");
        assert_eq!(csv("a\nb"), "a\u{FFFD}b");
        assert_eq!(csv(""), "");
    }

    #[test]
    fn markdown_cannot_open_syntax() {
        assert_eq!(
            markdown("a|b [x](http://e) <img>\x1b"),
            "a\\|b \\[x\\](http://e) &lt;img&gt;\u{FFFD}"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            port_ranges([443, 22, 80, 81, 82, 1, 65535]),
            "1,22,80-82,443,65535"
        );
        assert_eq!(port_ranges([]), "");
    }

    #[test]
    fn human_time_cleans_what_is_not_a_time() {
        assert_eq!(
            human_time("2024-05-01T10:00:00.5Z"),
            "2024-05-01 10:00:00 UTC"
        );
        assert_eq!(human_time("bad\x1b"), "bad\u{FFFD}");
    }
}
