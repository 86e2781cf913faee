//! Reading netdx's JSON report in lab tests: one schema-checked parse and small lookups, shared
//! so that every test reads a report the same way (and a schema break fails all of them).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use super::PortState;

/// Reads and parses the JSON report at `path`, and checks it against assets/report.schema.json.
pub fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("report {} not written: {e}", path.display()));
    let report: Value = serde_json::from_str(&text).expect("report is JSON");
    validate_schema(&report);
    report
}

/// Panics with every schema violation of `report`.
pub fn validate_schema(report: &Value) {
    let errors = schema_errors(report);
    assert!(errors.is_empty(), "report violates schema: {errors:#?}");
}

/// Every schema violation of `report` (formats such as date-time checked too).
pub fn schema_errors(report: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(include_str!("../../assets/report.schema.json"))
        .expect("schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The report's entry for `ip`, if it has one.
pub fn find_host<'a>(report: &'a Value, ip: &str) -> Option<&'a Value> {
    report["hosts"]
        .as_array()
        .expect("hosts array")
        .iter()
        .find(|h| h["ip"] == ip)
}

/// The report's entry for `ip`. Panics if it is missing.
pub fn host<'a>(report: &'a Value, ip: &str) -> &'a Value {
    find_host(report, ip).unwrap_or_else(|| panic!("host {ip} missing from report"))
}

/// How the host was found ("icmp", "arp", "tcp", ...).
pub fn methods(h: &Value) -> BTreeSet<String> {
    h["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|m| m.as_str().expect("method is a string").to_string())
        .collect()
}

/// The reported state of `port` on host entry `h`. Panics if the port is not in the report.
pub fn port_state(h: &Value, port: u16) -> String {
    port_states(h)
        .into_iter()
        .find(|(p, _)| *p == port)
        .unwrap_or_else(|| panic!("port {port} of {} not in report", h["ip"]))
        .1
}

/// The ports of a range set (`{"count": n, "ranges": "1-21,23"}`), checking that the count
/// matches the ranges. Empty when the set is absent.
pub fn port_set(set: &Value) -> Vec<u16> {
    let Some(ranges) = set["ranges"].as_str() else {
        assert!(set.is_null(), "a port set without ranges: {set}");
        return Vec::new();
    };
    let mut ports = Vec::new();
    for part in ranges.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u16, u16) = (
            a.parse().expect("range start"),
            b.parse().expect("range end"),
        );
        assert!(a <= b, "reversed range {part}");
        ports.extend(a..=b);
    }
    assert_eq!(set["count"].as_u64(), Some(ports.len() as u64), "{set}");
    ports
}

/// Every (port, state) of host entry `h`, ascending: the open ports listed in `ports`, the
/// closed and filtered ones from their range sets (schema 2).
pub fn port_states(h: &Value) -> Vec<(u16, String)> {
    let mut all: Vec<(u16, String)> = h["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            let port = p["port"].as_u64().expect("port number");
            let port = u16::try_from(port).expect("port fits u16");
            let state = p["state"].as_str().expect("state is a string").to_string();
            (port, state)
        })
        .collect();
    for (key, state) in [("closed_ports", "closed"), ("filtered_ports", "filtered")] {
        all.extend(
            port_set(&h[key])
                .into_iter()
                .map(|p| (p, state.to_string())),
        );
    }
    all.sort();
    all
}

/// Panics with netdx's output unless it exited 0.
pub fn expect_success(out: &Output) {
    assert!(
        out.status.success(),
        "netdx failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The report's spelling of a port state.
pub fn state_label(s: PortState) -> &'static str {
    match s {
        PortState::Open => "open",
        PortState::Closed => "closed",
        PortState::Filtered => "filtered",
    }
}
