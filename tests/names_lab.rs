//! Names from the LAN's own protocols against the lab (tests/lab/topology.json, `lan_names`):
//! an mDNS responder (printer, NAS), NetBIOS (NAS, a domain controller), SSDP with a
//! description document (NAS, a media player whose friendly name is hostile) and Debian's
//! snmpd (printer). Every field is compared exactly, three sweeps in a row (UDP is lossy; the
//! lab is not, but retries and waits must make the result stable anyway).
//!
//! One shared lab, and the tests run one at a time: the `--no-names` test reads the
//! responders' logs, which another test's sweep would fill.

mod common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn lan_names(lab: &common::Lab) -> serde_json::Map<String, Value> {
    let names = lab.json()["lan_names"]
        .as_object()
        .expect("lab.json lan_names")
        .clone();
    assert!(names.len() >= 4, "the lab defines names: {names:?}");
    names
}

/// Run netdx with a JSON report; (report, stdout, wall time).
fn scan(lab: &common::Lab, args: &[&str]) -> (Value, String, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let json_s = json.to_str().expect("utf-8 path").to_string();
    let mut all = vec!["scan", "-o", &json_s];
    all.extend_from_slice(args);
    let started = Instant::now();
    let out = lab.netdx(&all);
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "netdx {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("JSON report");
    (report, stdout, took)
}

#[test]
fn every_lan_name_is_reported_exactly_three_times_in_a_row() {
    let Some(lab) = common::shared_lab_or_skip("every_lan_name_is_reported_exactly") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let names = lan_names(lab);
    let subnet = lab.info().lan.ipv4.clone();
    for run in 1..=3 {
        // The whole /24: discovery plus names, nothing else.
        let (report, stdout, took) = scan(lab, &["--no-rdns", &subnet]);
        eprintln!("run {run}: netdx scan {subnet} (discovery + names) took {took:?}");
        let invalid = common::report::schema_errors(&report);
        assert!(
            invalid.is_empty(),
            "report does not match the schema: {invalid:?}"
        );
        let mut errors = Vec::new();
        for h in report["hosts"].as_array().expect("hosts") {
            let ip = h["ip"].as_str().expect("ip");
            let key = lab
                .hosts()
                .iter()
                .find(|x| x.ip.to_string() == ip)
                .map(|x| &x.key);
            let want = key
                .and_then(|k| names.get(k.as_str()))
                .map_or(Value::Null, |spec| spec["expect"].clone());
            let got = h.get("names").cloned().unwrap_or(Value::Null);
            if want != got {
                errors.push(format!(
                    "run {run}: {ip} ({key:?}):\n  want {want}\n  got  {got}"
                ));
            }
            if !want.is_null() {
                let methods = h["methods"].as_array().expect("methods");
                if h["status"] != "up" || !methods.iter().any(|m| m == "udp") {
                    errors.push(format!("run {run}: {ip} answered names but is {h}"));
                }
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));

        // The text output: a NAMES section, and no escape or bidi control from the hostile
        // friendly name reaching the terminal.
        let nas = lab.host("nas").ip.to_string();
        assert!(
            stdout.contains("HOST") && stdout.contains("PROTOCOL"),
            "{stdout}"
        );
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&nas) && l.contains("netbios") && l.contains("NAS01")),
            "{stdout}"
        );
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}') && !stdout.contains('\u{7}'),
            "control characters reached stdout: {stdout:?}"
        );
    }
}

#[test]
fn a_host_answering_only_a_name_protocol_is_up() {
    let Some(lab) = common::shared_lab_or_skip("a_host_answering_only_a_name_protocol_is_up")
    else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // No echo, no ARP sweep, no ports: the only probes sent are the name questions.
    let iot = lab.host("iot").ip.to_string();
    let down = lab.info().down[0].to_string();
    let (report, _, _) = scan(lab, &["--no-ping", "--no-arp", "--no-rdns", &iot, &down]);
    let h = common::report::host(&report, &iot);
    assert_eq!(h["status"], "up", "{h}");
    assert_eq!(h["methods"], serde_json::json!(["udp"]), "{h}");
    assert_eq!(h["proof"], "SSDP answered", "{h}");
    assert_eq!(h["names"]["upnp"]["manufacturer"], "Roku", "{h}");
    let d = common::report::host(&report, &down);
    assert_eq!(d["status"], "no_answer", "{d}");
    assert!(d.get("names").is_none(), "{d}");
}

/// Lines each responder (and snmpd) has logged: one per question received.
fn question_logs(lab: &common::Lab) -> Vec<(PathBuf, usize)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&lab.info().state_dir).expect("state dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if (name.starts_with("names-") || name.starts_with("snmpd-")) && name.ends_with(".log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let questions = text
                .lines()
                .filter(|l| l.contains(" from ") || l.starts_with("Connection from"))
                .count();
            out.push((path, questions));
        }
    }
    out.sort();
    out
}

#[test]
fn no_names_sends_nothing_to_the_name_ports_and_communities_are_not_guessed() {
    let Some(lab) = common::shared_lab_or_skip("no_names_sends_nothing") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let names = lan_names(lab);
    let targets: Vec<String> = names.keys().map(|k| lab.host(k).ip.to_string()).collect();
    let before = question_logs(lab);
    assert_eq!(before.len(), 5, "4 responders and one snmpd: {before:?}");
    let mut args = vec!["--no-names", "--no-rdns"];
    args.extend(targets.iter().map(String::as_str));
    let (report, _, _) = scan(lab, &args);
    for t in &targets {
        let h = common::report::host(&report, t);
        assert_eq!(h["status"], "up", "{h}");
        assert!(h.get("names").is_none(), "{h}");
    }
    assert_eq!(question_logs(lab), before, "--no-names asked something");

    // The printer with the wrong community: its mDNS answers, its SNMP does not, and no
    // other community is tried (snmpd logs exactly one question, asked twice at most).
    let printer = lab.host("printer").ip.to_string();
    let (report, _, _) = scan(
        lab,
        &[
            "--snmp-community",
            "not-the-community",
            "--no-rdns",
            &printer,
        ],
    );
    let h = common::report::host(&report, &printer);
    assert!(h["names"]["mdns"].is_object(), "{h}");
    assert!(h["names"].get("snmp").is_none(), "{h}");
    let after = question_logs(lab);
    let snmp_before = before
        .iter()
        .find(|(p, _)| p.to_string_lossy().contains("snmpd-"));
    let snmp_after = after
        .iter()
        .find(|(p, _)| p.to_string_lossy().contains("snmpd-"));
    let (Some((_, b)), Some((_, a))) = (snmp_before, snmp_after) else {
        panic!("no snmpd log: {after:?}");
    };
    assert!(
        (1..=2).contains(&(a - b)),
        "one community, sent at most twice: {} questions",
        a - b
    );
}
