//! Service identification against the lab's services (tests/lab/topology.json, `services`):
//! every field the lab says a port must report is reported, exactly, for SSH of several
//! vendors, FTP, SMTP, POP3, IMAP, telnet, a MariaDB greeting, Redis, RTSP, HTTP with titles,
//! redirects and Server headers, TLS with a self-signed and an expiring certificate, a silent
//! service, and a hostile host whose banner and title carry escape sequences and markup.

mod common;

use serde_json::Value;

/// `netdx scan ARGS -o r.json` in the lab: stdout and the schema-checked report.
fn scan_json(lab: &common::Lab, args: &[&str]) -> (String, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let mut argv = vec!["scan"];
    argv.extend_from_slice(args);
    argv.extend(["-o", json.to_str().expect("utf-8 path")]);
    let out = lab.netdx(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "netdx failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, common::report::read_report(&json))
}

/// Every key of `want` is in `got` with an equal value (objects compared the same way, so
/// an expectation names only what the lab defines).
fn matches(want: &Value, got: &Value, path: &str, errors: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                matches(
                    v,
                    g.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    errors,
                );
            }
        }
        _ if want == got => {}
        // Days left are counted in whole days from the scan to a certificate made seconds
        // earlier with `-days N`: N-1 normally, N when both fall in the same second.
        (Value::Number(w), Value::Number(g))
            if path.ends_with(".days_left") && g.as_i64() == w.as_i64().map(|w| w + 1) => {}
        _ => errors.push(format!("{path}: want {want}, got {got}")),
    }
}

#[test]
fn every_lab_service_is_identified_exactly() {
    let Some(lab) = common::lab_or_skip("every_lab_service_is_identified_exactly") else {
        return;
    };
    let services = lab.json()["services"]
        .as_object()
        .expect("lab.json services")
        .clone();
    assert!(
        services.len() >= 6,
        "the lab defines services: {services:?}"
    );
    let mut targets = Vec::new();
    let mut ports = std::collections::BTreeSet::new();
    for (key, by_port) in &services {
        targets.push(lab.host(key).ip.to_string());
        for p in by_port.as_object().expect("ports").keys() {
            ports.insert(p.clone());
        }
    }
    let port_list = ports.into_iter().collect::<Vec<_>>().join(",");
    let mut args = vec!["-p", &port_list, "--no-rdns"];
    args.extend(targets.iter().map(String::as_str));
    let (stdout, report) = scan_json(&lab, &args);
    let mut errors = Vec::new();
    let mut checked = 0;
    for (key, by_port) in &services {
        let ip = lab.host(key).ip.to_string();
        let host = common::report::host(&report, &ip);
        for (port, spec) in by_port.as_object().expect("ports") {
            let n: u64 = port.parse().expect("port number");
            let got = host["ports"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["port"] == n))
                .map(|p| p["identity"].clone())
                .unwrap_or(Value::Null);
            matches(&spec["expect"], &got, &format!("{key}:{port}"), &mut errors);
            checked += 1;
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {checked} services wrong:\n{}",
        errors.len(),
        errors.join("\n")
    );

    // The text output: one line per identified port, the expiring certificate called out,
    // and no escape byte from the hostile host reaching the terminal.
    assert!(
        stdout.contains("OpenSSH 9.2p1 (Debian; protocol 2.0)"),
        "{stdout}"
    );
    let mail = lab.host("mail").ip.to_string();
    // 9 days, or 10 when the scan fell in the second the certificate was made (above).
    assert!(
        [9, 10].iter().any(|d| stdout.contains(&format!(
            "warning: {mail}:993: certificate expires in {d} days"
        ))),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\x1b'),
        "an escape byte reached the terminal: {stdout:?}"
    );
    assert!(
        !stdout.contains('\u{202e}'),
        "a bidi override reached the terminal"
    );
}

#[test]
fn no_identify_leaves_ports_unasked() {
    let Some(lab) = common::lab_or_skip("no_identify_leaves_ports_unasked") else {
        return;
    };
    let web = lab.host("web").ip.to_string();
    let (_, report) = scan_json(&lab, &[&web, "-p", "22,80,443", "--no-identify"]);
    let ports = report["hosts"][0]["ports"].as_array().expect("ports");
    assert_eq!(ports.iter().filter(|p| p["state"] == "open").count(), 3);
    assert!(
        ports.iter().all(|p| p.get("identity").is_none()),
        "{ports:?}"
    );
}

/// Every LAN host, all its open ports scanned: the device type the lab says it is.
#[test]
fn every_lab_host_gets_its_device_type() {
    let Some(lab) = common::lab_or_skip("every_lab_host_gets_its_device_type") else {
        return;
    };
    let truth = lab.json()["device_types"]
        .as_object()
        .expect("lab.json device_types")
        .clone();
    let mut ports = std::collections::BTreeSet::new();
    for h in lab.hosts() {
        ports.extend(h.open.iter().copied());
    }
    let port_list = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let lan = lab.json()["lan"]["ipv4"].as_str().expect("lan").to_string();
    let (_, report) = scan_json(&lab, &[&lan, "-p", &port_list, "--no-rdns"]);
    let mut wrong = Vec::new();
    for (key, want) in &truth {
        let ip = lab.host(key).ip.to_string();
        let host = common::report::host(&report, &ip);
        let got = host["device"]["kind"].as_str().unwrap_or("unknown");
        if got != want {
            wrong.push(format!(
                "{key} ({ip}): want {want}, got {got} ({})",
                host["device"]["evidence"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "device types wrong:\n{}",
        wrong.join("\n")
    );
}
