//! nmap's own ndiff must read two of our XML exports and report their differences
//! correctly: the host that went down, the one that came up, ports that opened or closed, the
//! changed MAC and PTR name, the changed DNS answer.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use netdx::output::{self, Format};

fn fixture(name: &str) -> netdx::core::model::ScanReport {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name);
    output::json::read(&p).expect("fixture reads")
}

fn export(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name.replace(".json", ".xml"));
    output::write(&fixture(name), &out, Some(Format::Xml)).unwrap();
    out
}

fn ndiff(args: &[&Path]) -> Option<(i32, String, String)> {
    let bin = ["/usr/bin/ndiff", "/usr/local/bin/ndiff"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if !common::require(
        "report_ndiff",
        bin.is_some(),
        "ndiff is not installed (Debian package ndiff or nmap)",
    ) {
        return None;
    }
    let bin = bin?;
    let out = Command::new(bin).args(args).output().unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Whether `text` has a line equal to `want`, runs of spaces (column padding) ignored.
fn has_line(text: &str, want: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    text.lines().any(|l| norm(l) == norm(want))
}

#[test]
fn ndiff_reports_the_differences_between_two_exports() {
    let dir = tempfile::tempdir().unwrap();
    let old = export(dir.path(), "lab.json");
    let new = export(dir.path(), "lab-new.json");
    let Some((code, out, err)) = ndiff(&[&old, &new]) else {
        return;
    };
    println!("{out}");
    assert!(err.is_empty(), "ndiff complained: {err}");
    assert_eq!(code, 1, "ndiff exits 1 when the scans differ");
    // The host that came up (was down): state, MAC and name, and its open port.
    for want in [
        "-10.77.0.3:",
        "+newpi.lab.test (10.77.0.3, B8:27:EB:77:00:03):",
        "-Host is down.",
        "+Host is up.",
        "+22/tcp open ssh",
        // The host that went down.
        "-db.lab.test (10.77.0.30, 00:16:3E:77:00:30):",
        "+10.77.0.30:",
        "-22/tcp open ssh",
        "-5432/tcp open postgresql",
        // Ports that changed on web.
        "-22/tcp open ssh",
        "+22/tcp filtered ssh",
        "-8080/tcp closed http-alt",
        "+8080/tcp open http-alt",
        // The MAC behind the gateway's address.
        "-gw.lab.test (10.77.0.1, 00:00:0C:77:00:01):",
        "+gw.lab.test (10.77.0.1, 3C:22:FB:77:00:33):",
        // The switch's new PTR name (ndiff identifies a host by address and name, so it
        // shows the old and the new name as two entries, as it does for nmap's own files).
        "-switch.lab.test (10.77.0.2, 00:00:0C:77:00:02):",
        "+sw-core.lab.test (10.77.0.2, 00:00:0C:77:00:02):",
        // The DNS answer that changed, as a post-scan script result.
        "Post-scan script results:",
        "|  netdx-dns:web.lab.test/A: NOERROR",
        "-|_ 10.77.0.20",
        "+|_ 10.77.0.21",
    ] {
        assert!(has_line(&out, want), "ndiff output lacks {want:?}:\n{out}");
    }
    // Hosts that did not change are not mentioned.
    assert!(!out.contains("printer.lab.test"), "{out}");
    assert!(!out.contains("10.77.0.99"), "{out}");

    // ndiff's XML output parses our files too.
    let (code, xml, err) = ndiff(&[Path::new("--xml"), &old, &new]).unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(xml.contains("<nmapdiff"), "{xml}");
}

#[test]
fn ndiff_sees_no_difference_between_an_export_and_itself() {
    let dir = tempfile::tempdir().unwrap();
    let a = export(dir.path(), "lab.json");
    let b = dir.path().join("again.xml");
    output::write(&fixture("lab.json"), &b, Some(Format::Xml)).unwrap();
    let Some((code, out, err)) = ndiff(&[&a, &b]) else {
        return;
    };
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.is_empty(), "{err}");
    // Only the two header lines (same scan, same time).
    assert!(
        out.lines()
            .filter(|l| l.starts_with(['+', '-']))
            .all(|l| l.contains("Nmap")),
        "{out}"
    );
}

#[test]
fn hostile_strings_leave_the_xml_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let x = export(dir.path(), "hostile.json");
    let text = std::fs::read_to_string(&x).unwrap();
    // Markup from the network is escaped, never live.
    assert!(!text.contains("<script>"), "{text}");
    assert!(!text.contains("<svg"), "{text}");
    assert!(!text.contains("]]>"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in XML"
    );
    assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;.evil.test"));
    // A strict XML parser (Python's expat) reads it, and the names round-trip escaped.
    let check = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, xml.etree.ElementTree as E\n\
             r = E.parse(sys.argv[1]).getroot()\n\
             names = [h.get('name') for h in r.iter('hostname')]\n\
             assert '<script>alert(1)</script>.evil.test' in names, names\n\
             assert all('\\n' not in n and '\\x1b' not in n for n in names), names\n\
             print(len(names))",
        )
        .arg(&x)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // And ndiff compares it against itself without error.
    if let Some((code, _, err)) = ndiff(&[&x, &x]) {
        assert_eq!(code, 0, "{err}");
        assert!(err.is_empty(), "{err}");
    }
}

/// A full port scan collapses closed ports into `extraports` as nmap does; ndiff still reads
/// it and reports a port that opened among them.
#[test]
fn extraports_of_a_large_scan_are_read_by_ndiff() {
    use netdx::core::model::PortState;
    let mut old = fixture("lab.json");
    let web = old.hosts.get_mut(&"10.77.0.20".parse().unwrap()).unwrap();
    web.ports.clear();
    web.closed_ports = Default::default();
    for port in 1..=2000 {
        let state = if port == 22 {
            PortState::Open
        } else {
            PortState::Closed
        };
        web.set_port(port, state, None);
    }
    let mut new = old.clone();
    let web = new.hosts.get_mut(&"10.77.0.20".parse().unwrap()).unwrap();
    web.set_port(1234, PortState::Open, None);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
    output::write(&old, &a, Some(Format::Xml)).unwrap();
    output::write(&new, &b, Some(Format::Xml)).unwrap();
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(
        text.contains("<extraports state=\"closed\" count=\"1999\">"),
        "{text}"
    );
    assert!(
        text.len() < 20_000,
        "2,000 ports should not take {} bytes",
        text.len()
    );
    let Some((code, out, err)) = ndiff(&[&a, &b]) else {
        return;
    };
    assert_eq!(code, 1, "{err}");
    assert!(err.is_empty(), "{err}");
    assert!(has_line(&out, "+1234/tcp open  search-agent"), "{out}");
    assert!(has_line(&out, "-Not shown: 1999 closed ports"), "{out}");
    assert!(has_line(&out, "+Not shown: 1998 closed ports"), "{out}");
}

/// The web host of the lab fixture as a version scan would leave it: SSH and HTTPS
/// identified, names from NetBIOS and mDNS, a device type. `ssh_version` and the strings
/// from the network vary between the two sides of a test.
fn identified(ssh_version: &str, title: &str, netbios: &str) -> netdx::core::model::ScanReport {
    use netdx::core::identity::{HttpInfo, ServiceId, TlsInfo};
    use netdx::core::names::{HostNames, MdnsInfo, NetbiosInfo};
    let mut r = fixture("lab.json");
    let web = r.hosts.get_mut(&"10.77.0.20".parse().unwrap()).unwrap();
    for p in &mut web.ports {
        p.identity = match p.port {
            22 => Some(ServiceId {
                protocol: "ssh".into(),
                product: Some("OpenSSH".into()),
                version: Some(ssh_version.into()),
                os_hint: Some("Debian".into()),
                extra: Some("protocol 2.0".into()),
                ..Default::default()
            }),
            443 => Some(ServiceId {
                protocol: "https".into(),
                product: Some("nginx".into()),
                version: Some("1.22.1".into()),
                http: Some(HttpInfo {
                    status: 200,
                    title: Some(title.into()),
                    ..Default::default()
                }),
                tls: Some(TlsInfo {
                    version: "TLSv1.3".into(),
                    subject_cn: Some("web.lab.test".into()),
                    not_after: Some("2027-01-01T00:00:00Z".into()),
                    self_signed: true,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            _ => None,
        };
    }
    web.names = HostNames {
        netbios: Some(NetbiosInfo {
            name: Some(netbios.into()),
            ..Default::default()
        }),
        mdns: Some(MdnsInfo {
            hostname: Some("web.local".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    web.device = Some(netdx::core::devtype::DeviceType {
        kind: "server".into(),
        confidence: "medium".into(),
        evidence: vec![format!("title {title}")],
    });
    r
}

#[test]
fn ndiff_reads_identified_services_and_lan_names() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
    output::write(
        &identified("9.2p1", "Welcome", "WEB01"),
        &a,
        Some(Format::Xml),
    )
    .unwrap();
    output::write(
        &identified("9.3p1", "Welcome", "WEB01"),
        &b,
        Some(Format::Xml),
    )
    .unwrap();
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(
        text.contains("<service name=\"ssh\" product=\"OpenSSH\" version=\"9.2p1\" extrainfo=\"Debian; protocol 2.0\" ostype=\"Linux\" method=\"probed\" conf=\"10\"/>"),
        "{text}"
    );
    assert!(
        text.contains("<service name=\"http\" product=\"nginx\" version=\"1.22.1\" tunnel=\"ssl\" method=\"probed\" conf=\"10\"/>"),
        "{text}"
    );
    assert!(text.contains("<!-- netdx device type: server: title Welcome (medium) -->"));
    assert!(!text.contains("<os"), "no OS match is invented");
    let Some((code, out, err)) = ndiff(&[&a, &b]) else {
        return;
    };
    println!("{out}");
    assert!(err.is_empty(), "ndiff complained: {err}");
    assert_eq!(code, 1, "{out}");
    // ndiff names the host by all its names, and shows the version that changed.
    for want in [
        "WEB01, web.lab.test, web.local (10.77.0.20, 00:50:56:77:00:20):",
        "-22/tcp open ssh OpenSSH 9.2p1 (Debian; protocol 2.0)",
        "+22/tcp open ssh OpenSSH 9.3p1 (Debian; protocol 2.0)",
    ] {
        assert!(has_line(&out, want), "ndiff output lacks {want:?}:\n{out}");
    }
    // The HTTPS port did not change: not mentioned.
    assert!(!out.contains("443/tcp"), "{out}");

    // Unchanged, the same export compares equal to itself.
    let (code, out, err) = ndiff(&[&a, &a]).unwrap();
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn hostile_banners_titles_and_names_leave_the_xml_well_formed() {
    const EVIL: &str = "\"/><script>alert(1)</script>--><!--\u{1b}[2J]]>&amp;";
    let r = identified(EVIL, EVIL, EVIL);
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("evil.xml");
    output::write(&r, &x, Some(Format::Xml)).unwrap();
    let text = std::fs::read_to_string(&x).unwrap();
    assert!(!text.contains("<script>"), "{text}");
    assert!(!text.contains("]]>"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in XML"
    );
    // Python's expat reads it; the version and the name round-trip as text (the title is in
    // the device type's evidence, a comment).
    let check = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, xml.etree.ElementTree as E\n\
             r = E.parse(sys.argv[1]).getroot()\n\
             names = [h.get('name') for h in r.iter('hostname')]\n\
             versions = [s.get('version') for s in r.iter('service') if s.get('version')]\n\
             evil = '\"/><script>alert(1)</script>--><!--\\ufffd[2J]]>&amp;'\n\
             assert evil in names, names\n\
             assert evil in versions, versions\n\
             print(len(names))",
        )
        .arg(&x)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    if let Some((code, _, err)) = ndiff(&[&x, &x]) {
        assert_eq!(code, 0, "{err}");
        assert!(err.is_empty(), "{err}");
    }
}
