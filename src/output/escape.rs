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

/// Milliseconds with two decimals, or a dash.
pub fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.2} ms"))
}

/// A percentage without decimals when whole, or a dash.
pub fn pct(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if v.fract() == 0.0 => format!("{v:.0}%"),
        Some(v) => format!("{v:.1}%"),
    }
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

/// An RFC 3339 time as seconds since the Unix epoch (nmap's XML uses those). Accepts what
/// netdx writes (`2024-05-01T10:00:00Z`, fractional seconds, `+02:00` offsets); `None` for
/// anything else rather than a wrong date.
pub fn unix_time(s: &str) -> Option<i64> {
    unix_time_frac(s).map(|(secs, _)| secs)
}

/// [`unix_time`] with the fraction of a second (0.0 to <1.0) kept apart.
fn unix_time_frac(s: &str) -> Option<(i64, f64)> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = format!("0.{}", &s[start..i]).parse().ok()?;
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + min * 60 + sec - offset, frac))
}

/// An RFC 3339 time as a technician reads it: `2024-05-01 10:00:00 UTC` (seconds, no
/// fraction). Anything unexpected is shown as it is, cleaned.
pub fn human_time(s: &str) -> String {
    if unix_time(s).is_some() && (s.ends_with('Z') || s.ends_with('z')) {
        format!("{} {} UTC", &s[..10], &s[11..19])
    } else if unix_time(s).is_some() {
        format!("{} {} {}", &s[..10], &s[11..19], &s[s.len() - 6..])
    } else {
        text(s).into_owned()
    }
}

/// Seconds between two RFC 3339 times, fractions included, when both parse and are in order.
pub fn elapsed_secs(start: Option<&str>, end: Option<&str>) -> Option<f64> {
    let (a, fa) = unix_time_frac(start?)?;
    let (b, fb) = unix_time_frac(end?)?;
    let d = (b - a) as f64 + (fb - fa);
    (d >= 0.0).then_some(d)
}

/// A duration as people say it: `0.7 s`, `7.3 s`, `3 min 12 s`.
pub fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let s = secs.round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
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
    fn rfc3339() {
        assert_eq!(unix_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_time("2024-05-01T10:00:00Z"), Some(1_714_557_600));
        assert_eq!(
            unix_time("2024-05-01T10:00:00.123456Z"),
            Some(1_714_557_600)
        );
        assert_eq!(unix_time("2024-05-01T12:00:00+02:00"), Some(1_714_557_600));
        assert_eq!(unix_time("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(unix_time("2024-13-01T10:00:00Z"), None);
        assert_eq!(unix_time("yesterday"), None);
        assert_eq!(unix_time("2024-05-01T10:00:00"), None);
        assert_eq!(
            human_time("2024-05-01T10:00:00.5Z"),
            "2024-05-01 10:00:00 UTC"
        );
        assert_eq!(human_time("bad\x1b"), "bad\u{FFFD}");
        assert_eq!(
            elapsed_secs(
                Some("2024-05-01T10:00:00.5Z"),
                Some("2024-05-01T10:00:07.25Z")
            ),
            Some(6.75)
        );
        assert_eq!(duration(0.74), "0.7 s");
        assert_eq!(duration(192.4), "3 min 12 s");
    }
}
