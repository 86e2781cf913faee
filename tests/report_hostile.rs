//! Strings from the network are hostile: a PTR name holding `<script>`, a TXT record with
//! ANSI escape bytes, a banner or name starting with `=`, newlines and pipes. For each format,
//! from a report file on disk (which bypasses the model's cleaning) and from a report built
//! by the model's reducer: escaped in HTML and XML, neutralised in CSV, stripped of control
//! characters in Markdown and text. (The same records served by the lab's DNS are checked
//! end to end in report_lab.rs.)

mod common;

use std::path::PathBuf;

use netdx::core::event::ScanEvent;
use netdx::core::model::{DnsAnswer, DnsResult, DnsStatus, RecordType, ScanReport};
use netdx::output::{self, Format};

fn from_disk() -> ScanReport {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/hostile.json");
    netdx::output::json::read(&p).unwrap()
}

const PTR: &str = "<script>alert(1)</script>\n=cmd|' /C calc'!A0\x1b[2J.evil.test";
const TXT: &str =
    "\x1b[31mred\x1b[0m | =HYPERLINK(\"http://evil.test\") <img src=x onerror=alert(1)>";

fn from_model() -> ScanReport {
    let mut r = ScanReport::default();
    let ip = "10.66.0.9".parse().unwrap();
    r.apply(ScanEvent::Targets(vec![ip]));
    r.apply(ScanEvent::Hostname {
        ip,
        name: Some(PTR.into()),
    });
    r.apply(ScanEvent::Target {
        ip,
        name: Some("@evil".into()),
    });
    r.apply(ScanEvent::Dns(DnsResult {
        name: "evil.test\n".into(),
        rtype: RecordType::TXT,
        status: DnsStatus::NoError,
        answers: vec![DnsAnswer {
            rtype: "TXT".into(),
            value: TXT.into(),
            ttl: 60,
        }],
        server: Some("10.66.0.53:53".into()),
        rtt_ms: Some(0.4),
        error: None,
        findings: Vec::new(),
    }));
    r.hosts.get_mut(&ip).unwrap().status = netdx::core::model::HostStatus::Up;
    r.apply(ScanEvent::Finished { interrupted: false });
    r
}

fn render(r: &ScanReport, f: Format) -> String {
    String::from_utf8(output::render(r, f).unwrap()).unwrap()
}

fn no_controls(what: &str, s: &str) {
    let bad: Vec<char> = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r'))
        .collect();
    assert!(bad.is_empty(), "{what}: control characters {bad:?}");
}

#[test]
fn html_escapes_markup() {
    for (what, r) in [("disk", from_disk()), ("model", from_model())] {
        let h = render(&r, Format::Html);
        no_controls(what, &h);
        assert_eq!(
            h.matches("<script").count(),
            1,
            "{what}: only netdx's own script"
        );
        assert!(!h.contains("<img"), "{what}");
        assert!(!h.contains("<svg onload"), "{what}");
        assert!(!h.contains("<b>"), "{what}");
        assert!(
            h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{what}"
        );
        // No attribute of ours can be closed early by a quote from the data.
        assert!(!h.contains("\"><svg"), "{what}");
    }
}

#[test]
fn xml_escapes_markup_and_drops_what_xml_cannot_hold() {
    for (what, r) in [("disk", from_disk()), ("model", from_model())] {
        let x = render(&r, Format::Xml);
        no_controls(what, &x);
        assert!(!x.contains("<script>"), "{what}");
        assert!(!x.contains("<img"), "{what}");
        assert!(
            x.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{what}"
        );
        // Every attribute value is closed by our own quote: no raw quote from the data.
        assert!(!x.contains("ssh\">"), "{what}");
    }
}

#[test]
fn csv_neutralises_formulas_and_keeps_one_row_per_line() {
    for (what, r) in [("disk", from_disk()), ("model", from_model())] {
        let c = render(&r, Format::Csv);
        no_controls(what, &c);
        let rows = common::parse_csv(&c);
        let expected: usize = r
            .hosts
            .values()
            .map(|h| {
                let sets = usize::from(!h.closed_ports.is_empty())
                    + usize::from(!h.filtered_ports.is_empty());
                (h.ports.len() + sets).max(1)
            })
            .sum();
        assert_eq!(rows.len(), expected + 1, "{what}: a newline split a row");
        for row in &rows[1..] {
            assert_eq!(row.len(), output::csv::HEADER.len());
            for (i, cell) in row.iter().enumerate() {
                // Our own numbers never start with '-'; every text cell must not start a formula.
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{what}: column {i} starts a formula: {cell:?}"
                );
            }
        }
        if what == "disk" {
            assert!(
                rows.iter()
                    .any(|r| r[2] == "'=HYPERLINK(\"http://evil.test\",\"click\")")
            );
            assert!(rows.iter().any(|r| r[5] == "'+cmd|' /C calc'!A0"));
            assert!(rows.iter().any(|r| r[3] == "'-2+3"));
            assert!(
                rows.iter()
                    .any(|r| r[14] == "'\u{FFFD}telnet\u{FFFD}\u{FFFD}=1+1")
            );
        } else {
            assert!(rows.iter().any(|r| r[3] == "'@evil"));
        }
    }
}

#[test]
fn markdown_strips_controls_and_escapes_syntax() {
    for (what, r) in [("disk", from_disk()), ("model", from_model())] {
        let m = render(&r, Format::Markdown);
        no_controls(what, &m);
        assert!(!m.contains('\r'), "{what}");
        assert!(
            !m.contains("<script>") && !m.contains("<img") && !m.contains("<b>"),
            "{what}"
        );
        let live_link = m.match_indices("](").any(|(i, _)| !m[..i].ends_with('\\'));
        assert!(!live_link, "{what}: a live link");
        // Every row of the hosts table has exactly its 9 columns: no pipe from the data
        // opened a new one, no newline broke a row.
        let hosts = m.split("## Hosts").nth(1).unwrap();
        for line in hosts.lines().skip(2).take_while(|l| l.starts_with('|')) {
            let unescaped = line
                .match_indices('|')
                .filter(|(i, _)| !line[..*i].ends_with('\\'))
                .count();
            assert_eq!(unescaped, 10, "{what}: {line}");
        }
    }
}

/// The stdout summary of `netdx scan` relies on the model's cleaning (it only ever renders a
/// report the reducer built).
#[test]
fn summary_table_of_a_scan_has_no_control_characters() {
    let t = netdx::output::table::render(&from_model(), None);
    no_controls("table", &t);
}
