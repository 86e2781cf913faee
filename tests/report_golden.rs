//! Golden files: every format rendered from a fixed report (tests/fixtures/reports/lab.json,
//! fixed timestamps) must match tests/golden/ byte for byte. After an intended change, run
//! `NETDX_BLESS=1 cargo test --test report_golden` and review the diff of tests/golden/.
//! Also: every JSON report netdx produces validates against assets/report.schema.json.

mod common;

use std::path::{Path, PathBuf};

use netdx::core::model::ScanReport;
use netdx::output::{self, Format};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> ScanReport {
    output::json::read(&root().join("tests/fixtures/reports").join(name)).expect("fixture reads")
}

fn check_golden(fixture_name: &str, format: Format, ext: &str) {
    let report = fixture(fixture_name);
    let got = output::render(&report, format).expect("renders");
    let stem = fixture_name.trim_end_matches(".json");
    let path = root().join("tests/golden").join(format!("{stem}.{ext}"));
    if std::env::var_os("NETDX_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with NETDX_BLESS=1 to create it)",
            path.display()
        )
    });
    if got != want {
        let got = String::from_utf8_lossy(&got);
        let want = String::from_utf8_lossy(&want);
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{} differs from the golden file at line {}:\n  got:  {:?}\n  want: {:?}\n(NETDX_BLESS=1 to accept)",
            path.display(),
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

#[test]
fn golden_json() {
    check_golden("lab.json", Format::Json, "json");
}

#[test]
fn golden_csv() {
    check_golden("lab.json", Format::Csv, "csv");
}

#[test]
fn golden_markdown() {
    check_golden("lab.json", Format::Markdown, "md");
}

#[test]
fn golden_html() {
    check_golden("lab.json", Format::Html, "html");
}

#[test]
fn golden_xml() {
    check_golden("lab.json", Format::Xml, "xml");
}

/// The alerts and the LAN checks, in every format (tests/fixtures/reports/watch.json: the lab
/// report plus a rogue DHCP server, a duplicate IP, a gateway claim, a rogue IPv6 router and
/// a switch port).
#[test]
fn golden_alerts_and_lan_checks_in_every_format() {
    for (format, ext) in [
        (Format::Json, "json"),
        (Format::Csv, "csv"),
        (Format::Markdown, "md"),
        (Format::Html, "html"),
        (Format::Xml, "xml"),
    ] {
        check_golden("watch.json", format, ext);
    }
    let report = fixture("watch.json");
    let md = String::from_utf8(output::render(&report, Format::Markdown).unwrap()).unwrap();
    // Most serious first; every LAN problem named.
    let critical = md
        .find("| critical | rogue_dhcp")
        .expect("rogue DHCP alert");
    let info = md.find("| info | new_device").expect("new device alert");
    assert!(critical < info, "{md}");
    for want in [
        "**problem**: DHCP: 2 servers answer",
        "**problem**: Duplicate IP 10.77.0.50: answered by 02:00:00:77:00:50 and 02:00:00:77:00:51",
        "**problem**: Gateway ARP: 02:00:00:00:00:66 claims the gateway 10.77.0.1 (gratuitous ARP)",
        "**problem**: Unexpected IPv6 router: fe80::66",
        "**ok**: Switch port: switch core-sw1 port Gi1/0/12 (Reception desk), VLAN 20, management 10.77.0.2 (LLDP)",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    assert!(
        md.contains("| 00:50:56:77:00:20 | VMware, Inc. | 10.77.0.20, fd77::20 |"),
        "one device, two addresses:\n{md}"
    );
    let xml = String::from_utf8(output::render(&report, Format::Xml).unwrap()).unwrap();
    assert!(xml.contains("<prescript><script id=\"netdx-lan\""), "{xml}");
    assert!(
        xml.contains("<!-- netdx: the same device (MAC) also answers at fd77::20 -->"),
        "{xml}"
    );
    assert!(
        xml.contains("<script id=\"netdx-alerts\" output=\"critical: rogue DHCP"),
        "{xml}"
    );
    let csv = String::from_utf8(output::render(&report, Format::Csv).unwrap()).unwrap();
    // Nothing is left out of the CSV: an alert about an address that is not a host is a row
    // of its own, and so is each line of the LAN checks.
    assert!(
        csv.lines().any(|l| l.starts_with("10.77.0.66,alert,")
            && l.contains("critical: rogue DHCP server 10.77.0.66")),
        "{csv}"
    );
    assert!(
        csv.lines().any(|l| l.starts_with(",lan,")
            && l.contains("ok: Switch port: switch core-sw1 port Gi1/0/12")),
        "{csv}"
    );
    let web: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("10.77.0.20,"))
        .collect();
    assert!(
        !web.is_empty()
            && web.iter().all(|l| l
                .trim_end()
                .ends_with("info: 10.77.0.20: port 8080/tcp open (was closed),fd77::20")),
        "{csv}"
    );
}

#[test]
fn json_round_trips_without_loss() {
    let report = fixture("lab.json");
    let text = output::render(&report, Format::Json).unwrap();
    let again: ScanReport = serde_json::from_slice(&text).unwrap();
    assert_eq!(again, report);
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/report.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema itself is valid")
}

fn assert_valid(v: &jsonschema::Validator, what: &str, json: &[u8]) {
    let value: serde_json::Value = serde_json::from_slice(json).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
}

/// Every JSON report netdx writes validates: the fixtures, their re-rendering, a report built
/// by the reducer from events, an empty one and an interrupted one.
#[test]
fn every_produced_json_report_validates_against_the_schema() {
    let v = validator();
    for name in ["lab.json", "lab-new.json", "hostile.json", "watch.json"] {
        let path = root().join("tests/fixtures/reports").join(name);
        assert_valid(&v, name, &std::fs::read(&path).unwrap());
        let rendered = output::render(&fixture(name), Format::Json).unwrap();
        assert_valid(&v, &format!("{name} re-rendered"), &rendered);
    }
    let empty = ScanReport::default();
    assert_valid(
        &v,
        "empty report",
        &output::render(&empty, Format::Json).unwrap(),
    );

    use netdx::core::event::ScanEvent;
    let mut built = ScanReport::default();
    built.started_at = Some("2024-05-01T10:00:00Z".into());
    built.apply(ScanEvent::Targets(vec![
        "10.0.0.1".parse().unwrap(),
        "fd00::1".parse().unwrap(),
    ]));
    built.apply(ScanEvent::Hostname {
        ip: "10.0.0.1".parse().unwrap(),
        name: Some("a\x1bb.test".into()),
    });
    built.apply(ScanEvent::Finished { interrupted: true });
    built.finished_at = Some("2024-05-01T10:00:01.5+02:00".into());
    assert_valid(
        &v,
        "built by the reducer",
        &output::render(&built, Format::Json).unwrap(),
    );

    // And the schema catches what it should: a wrong state is not accepted.
    let mut bad: serde_json::Value =
        serde_json::from_slice(&output::render(&fixture("lab.json"), Format::Json).unwrap())
            .unwrap();
    bad["hosts"][1]["ports"][0]["state"] = "ajar".into();
    assert!(!v.is_valid(&bad));
    // Nor a closed port in the open list (schema 1's layout), nor a malformed range set.
    bad["hosts"][1]["ports"][0]["state"] = "closed".into();
    assert!(!v.is_valid(&bad));
    let mut bad: serde_json::Value =
        serde_json::from_slice(&output::render(&fixture("lab.json"), Format::Json).unwrap())
            .unwrap();
    bad["hosts"][0]["closed_ports"]["ranges"] = "22,,80".into();
    assert!(!v.is_valid(&bad));
}

#[test]
fn csv_has_one_row_per_open_port_and_one_per_closed_or_filtered_set() {
    let report = fixture("lab.json");
    let text = String::from_utf8(output::render(&report, Format::Csv).unwrap()).unwrap();
    let rows = common::parse_csv(&text);
    let expected: usize = report
        .hosts
        .values()
        .map(|h| {
            let sets =
                usize::from(!h.closed_ports.is_empty()) + usize::from(!h.filtered_ports.is_empty());
            (h.ports.len() + sets).max(1)
        })
        .sum();
    assert_eq!(rows.len(), expected + 1);
    assert!(rows.iter().all(|r| r.len() == output::csv::HEADER.len()));
    // A host without ports has one row, port columns empty.
    let silent: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "10.77.0.3").collect();
    assert_eq!(silent.len(), 1);
    assert_eq!(silent[0][1], "no answer");
    assert!(silent[0][11..].iter().all(String::is_empty));
    // Closed ports are one row: their ranges and their count.
    let gw: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "10.77.0.1").collect();
    assert_eq!(gw.len(), 1);
    assert_eq!(
        (gw[0][11].as_str(), gw[0][13].as_str()),
        ("22,80,443", "closed")
    );
    assert_eq!(gw[0][16], "3");
    // A host found by ARP that drops pings: no loss figure, the reason instead.
    let laptop = rows.iter().find(|r| r[0] == "10.77.0.33").unwrap();
    assert_eq!(laptop[10], "ping blocked");
    // The vendor with a comma survived quoting.
    assert!(rows.iter().any(|r| r[5] == "Cisco Systems, Inc"));
}

#[test]
fn write_picks_the_format_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("lab.json");
    for (ext, format) in [
        ("json", Format::Json),
        ("csv", Format::Csv),
        ("md", Format::Markdown),
        ("HTML", Format::Html),
        ("xml", Format::Xml),
    ] {
        let p = dir.path().join(format!("out.{ext}"));
        assert_eq!(output::write(&report, &p, None).unwrap(), format);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            output::render(&report, format).unwrap()
        );
    }
    let e = output::write(&report, Path::new("out.txt"), None).unwrap_err();
    assert!(e.to_string().contains("--format"), "{e}");
    // --format wins over the extension.
    let p = dir.path().join("report.txt");
    assert_eq!(
        output::write(&report, &p, Some(Format::Markdown)).unwrap(),
        Format::Markdown
    );
}
