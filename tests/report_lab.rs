//! Hostile DNS records served inside the namespace lab, end to end: `netdx scan -o` in the
//! scanner namespace writes every format, and each proves the records harmless (escaped in
//! HTML and XML, neutralised in CSV, stripped of control characters in Markdown and on
//! stdout). Then a change made in the lab between two scans shows in `netdx diff` and in
//! nmap's ndiff over the XML exports. Two scans of the unchanged lab with identification,
//! names and device types differ in none of those (absence read as unknown, not as change),
//! and their XML export with `nmap -sV` style services is read by expat and ndiff.
//!
//! The hostile server (tests/fixtures/reports/hostile_dns.py) runs in the lab's DNS host
//! namespace on port 5300, beside dnsmasq, which refuses control bytes in PTR names; netdx
//! is pointed at it with `--resolver`. It serves a PTR for web.lab.test whose labels hold
//! `<script>`, an ANSI escape, a newline, a pipe and a leading `=`, and a TXT record for
//! evil.lab.test with escape bytes, BEL, CR LF, markup and a byte that is not UTF-8.
//!
//! Needs root (skipped loudly otherwise; CI sets NETDX_REQUIRE_LAB=1 and must run it).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::Lab;

static SERIAL: Mutex<()> = Mutex::new(());

/// A process started in a lab namespace, killed (by its pid) when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_ns(ns: &str, argv: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .args(argv)
        .stdin(Stdio::null());
    c
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports")
}

fn start_hostile_dns(lab: &Lab) -> (Background, String) {
    let dns = lab.host("dns");
    let web = lab.host("web");
    let script = fixtures().join("hostile_dns.py");
    let py = common::python();
    let mut child = in_ns(&dns.ns, &[py.to_str().unwrap(), script.to_str().unwrap()])
        .args([dns.ip.to_string(), "5300".into(), web.ip.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hostile_dns.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Background(child);
    assert_eq!(line.trim(), "ready", "hostile_dns.py did not start");
    (server, format!("{}:5300", dns.ip))
}

fn no_controls(what: &str, s: &str) {
    let bad: Vec<char> = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r'))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: control characters {bad:?} in:\n{s}"
    );
}

fn validate_schema(json: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../assets/report.schema.json")).unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = v.iter_errors(json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn hostile_dns_records_are_harmless_in_every_format() {
    let Some(lab) = common::lab_or_skip("hostile_dns_records_are_harmless_in_every_format") else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, resolver) = start_hostile_dns(&lab);
    let web = lab.host("web").ip.to_string();
    let dir = tempfile::tempdir().unwrap();

    let scan = |ext: &str| -> (PathBuf, String) {
        let out = dir.path().join(format!("hostile.{ext}"));
        let o = lab.netdx(&[
            "scan",
            &web,
            "-p",
            "22,80",
            "--resolver",
            &resolver,
            "--dns",
            "evil.lab.test:TXT",
            "-o",
            out.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "netdx scan failed: {}\n{stdout}",
            String::from_utf8_lossy(&o.stderr)
        );
        (out, stdout)
    };

    // JSON: the records really came through, cleaned, and the report validates.
    let (json_path, stdout) = scan("json");
    no_controls("stdout summary", &stdout);
    let text = std::fs::read_to_string(&json_path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    validate_schema(&json);
    let host = &json["hosts"][0];
    let ptr = host["hostname"]
        .as_str()
        .expect("the hostile PTR name was recorded");
    assert!(ptr.contains("script") && ptr.contains("evil.test"), "{ptr}");
    no_controls("PTR name", ptr);
    let txt = json["dns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "TXT")
        .expect("TXT lookup");
    assert_eq!(txt["status"], "NOERROR");
    let answers: Vec<&str> = txt["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert!(answers.iter().any(|a| a.contains("pwned")), "{answers:?}");
    for a in &answers {
        no_controls("TXT answer", a);
    }
    let report = netdx::output::json::read(&json_path).unwrap();

    // HTML: only netdx's own script element, markup from the network escaped.
    let (p, _) = scan("html");
    let html = std::fs::read_to_string(p).unwrap();
    no_controls("HTML", &html);
    assert_eq!(html.matches("<script").count(), 1, "an injected script");
    assert!(!html.contains("<img") && !html.contains("<script>alert"));
    assert!(
        html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
        "TXT markup escaped"
    );
    assert!(html.contains("pwned"));

    // XML: well formed for a strict parser, names and answers escaped.
    let (p, _) = scan("xml");
    let xml = std::fs::read_to_string(&p).unwrap();
    no_controls("XML", &xml);
    assert!(!xml.contains("<script>"));
    let check = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, xml.etree.ElementTree as E\n\
             r = E.parse(sys.argv[1]).getroot()\n\
             out = [s.get('output') for s in r.iter('script')]\n\
             assert any('<script>alert(2)</script>' in o for o in out), out\n\
             names = [h.get('name') for h in r.iter('hostname')]\n\
             assert any('script' in n for n in names), names",
        )
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // CSV: one row per port, no cell that a spreadsheet would run.
    let (p, _) = scan("csv");
    let csv = std::fs::read_to_string(p).unwrap();
    no_controls("CSV", &csv);
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 3, "header + ports 22 and 80:\n{csv}");
    for r in &rows[1..] {
        for cell in r.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?} in {r}"
            );
        }
    }

    // Markdown: no control characters, no live markup, table rows intact.
    let (p, _) = scan("md");
    let md = std::fs::read_to_string(p).unwrap();
    no_controls("Markdown", &md);
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "{md}");
    let hosts = md.split("## Hosts").nth(1).unwrap();
    for line in hosts.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let pipes = line
            .match_indices('|')
            .filter(|(i, _)| !line[..*i].ends_with('\\'))
            .count();
        assert_eq!(pipes, 10, "{line}");
    }

    // The same report, converted from disk, renders identically.
    for (ext, f) in [
        ("html", netdx::output::Format::Html),
        ("md", netdx::output::Format::Markdown),
    ] {
        let again = netdx::output::render(&report, f).unwrap();
        no_controls(ext, &String::from_utf8(again).unwrap());
    }
}

fn wait_for_port(lab: &Lab, ip: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = format!("import socket; socket.create_connection(('{ip}', {port}), 1).close()");
    loop {
        let o = lab.in_scanner(&["python3", "-c", &code]);
        if o.status.success() {
            return;
        }
        assert!(Instant::now() < deadline, "{ip}:{port} never opened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn xml_of(json: &Path, xml: &Path) {
    let r = netdx::output::json::read(json).unwrap();
    netdx::output::write(&r, xml, Some(netdx::output::Format::Xml)).unwrap();
}

#[test]
fn a_port_opened_in_the_lab_shows_in_netdx_diff_and_ndiff() {
    let Some(lab) = common::lab_or_skip("a_port_opened_in_the_lab_shows_in_netdx_diff_and_ndiff")
    else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let web = lab.host("web");
    let ip = web.ip.to_string();
    assert_eq!(web.port_state(8080), common::PortState::Closed);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("before.json"),
        dir.path().join("after.json"),
    );
    let scan = |out: &Path| {
        let o = lab.netdx(&["scan", &ip, "-p", "22,80,8080", "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    scan(&a);
    // Someone starts a service on web:8080.
    let listen = common::lab_dir().join("listen.py");
    let py = common::python();
    let _listener = Background(
        in_ns(
            &web.ns,
            &[py.to_str().unwrap(), listen.to_str().unwrap(), "8080"],
        )
        .spawn()
        .expect("start listener"),
    );
    wait_for_port(&lab, &ip, 8080);
    scan(&b);

    let out = assert_cmd::Command::cargo_bin("netdx")
        .unwrap()
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Ports opened (1)"), "{text}");
    assert!(
        text.contains(&format!("+ {ip} (web.lab.test)  8080/tcp")) && text.contains("(was closed)"),
        "{text}"
    );
    assert!(!text.contains("Ports no longer open"), "{text}");

    let (xa, xb) = (dir.path().join("before.xml"), dir.path().join("after.xml"));
    xml_of(&a, &xa);
    xml_of(&b, &xb);
    if !common::require(
        "report_lab: ndiff part",
        Path::new("/usr/bin/ndiff").exists(),
        "ndiff is not installed",
    ) {
        return;
    }
    let nd = Command::new("/usr/bin/ndiff")
        .arg(&xa)
        .arg(&xb)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&nd.stdout);
    assert_eq!(
        nd.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&nd.stderr)
    );
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("-8080/tcp closed")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("+8080/tcp open")),
        "{text}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("-22/tcp") || l.starts_with("+22/tcp")),
        "{text}"
    );
}

/// `netdx scan --log` appends to the history that `netdx history` lists.
#[test]
fn scan_log_appends_to_history() {
    let Some(lab) = common::lab_or_skip("scan_log_appends_to_history") else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let report = data.path().join("r.json");
    let ip = lab.host("web").ip.to_string();
    let o = lab
        .netdx_command(
            &[
                "scan",
                &ip,
                "-p",
                "80",
                "--log",
                "-o",
                report.to_str().unwrap(),
            ],
            common::NETDX_TIMEOUT,
        )
        .env("NETDX_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(data.path().join("history.jsonl")).expect("history written");
    let entry: netdx::store::history::HistoryEntry = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(entry.targets, std::slice::from_ref(&ip));
    assert_eq!(entry.summary.open_ports, 1);
    assert_eq!(
        entry.report.as_deref(),
        Some(report.canonicalize().unwrap().as_path())
    );
    let out = assert_cmd::Command::cargo_bin("netdx")
        .unwrap()
        .arg("history")
        .env("NETDX_DATA_DIR", data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&ip) && text.contains("1/1") && text.contains("r.json"),
        "{text}"
    );
}

/// Every lab host, every service port: the scan with the most identity in it.
fn identity_scan(lab: &Lab, out: &Path) {
    let mut targets: Vec<String> = Vec::new();
    let mut ports = std::collections::BTreeSet::new();
    for (key, by_port) in lab.json()["services"].as_object().expect("services") {
        targets.push(lab.host(key).ip.to_string());
        ports.extend(by_port.as_object().expect("ports").keys().cloned());
    }
    for key in lab.json()["device_types"]
        .as_object()
        .expect("device_types")
        .keys()
    {
        if key.starts_with('_') {
            continue;
        }
        let ip = lab.host(key).ip.to_string();
        if !targets.contains(&ip) {
            targets.push(ip);
        }
    }
    let ports = ports.into_iter().collect::<Vec<_>>().join(",");
    let mut args = vec![
        "scan",
        "-p",
        &ports,
        "--no-rdns",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(targets.iter().map(String::as_str));
    let o = lab.netdx(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn an_unchanged_lab_keeps_its_identity_between_scans() {
    let Some(lab) = common::lab_or_skip("an_unchanged_lab_keeps_its_identity_between_scans") else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    identity_scan(&lab, &a);
    identity_scan(&lab, &b);
    // The comparison below is not vacuous: the scans identified, named and typed hosts.
    let r = netdx::output::json::read(&a).unwrap();
    let ids = r
        .hosts
        .values()
        .flat_map(|h| h.open_ports())
        .filter(|p| p.identity.as_ref().is_some_and(|i| i.product.is_some()))
        .count();
    assert!(ids >= 10, "{ids} ports identified with a product");
    assert!(r.hosts.values().filter(|h| h.device.is_some()).count() >= 5);
    assert!(r.hosts.values().filter(|h| !h.names.is_empty()).count() >= 3);

    let d = dir.path().join("d.json");
    let out = assert_cmd::Command::cargo_bin("netdx")
        .unwrap()
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .arg("-o")
        .arg(&d)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&d).unwrap()).unwrap();
    for k in [
        "service_changed",
        "cert_changed",
        "device_changed",
        "names_changed",
    ] {
        assert_eq!(v[k], serde_json::json!([]), "{k}: {v:#}");
    }

    // The XML export: services as nmap -sV writes them, well formed, read by ndiff.
    let x = dir.path().join("a.xml");
    xml_of(&a, &x);
    let xml = std::fs::read_to_string(&x).unwrap();
    no_controls("XML", &xml);
    let web = lab.host("web").ip.to_string();
    assert!(xml.contains(&format!("<address addr=\"{web}\"")));
    assert!(
        xml.contains("<service name=\"http\" product=\"nginx\" version=\"1.22.1\" tunnel=\"ssl\" method=\"probed\" conf=\"10\"/>"),
        "{xml}"
    );
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])",
        ])
        .arg(&x)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    if !common::require(
        "report_lab: ndiff part",
        Path::new("/usr/bin/ndiff").exists(),
        "ndiff is not installed",
    ) {
        return;
    }
    let nd = Command::new("/usr/bin/ndiff")
        .arg(&x)
        .arg(&x)
        .output()
        .unwrap();
    assert_eq!(
        nd.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&nd.stderr)
    );
    assert!(
        nd.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&nd.stderr)
    );
}
