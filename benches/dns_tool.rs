//! `netdx dns -f` next to `dig -f` in the namespace lab (needs root and dig, from the Debian
//! package bind9-dnsutils; without dig only netdx's figures are printed).
//!
//! `cargo bench --bench dns_tool` (`-- --quick` for fewer runs). A query file of 200 lookups,
//! 100 that exist (the lab's A, AAAA, PTR, MX, TXT, SRV, CNAME records) and 100 NXDOMAIN,
//! interleaved, asked of the lab's dnsmasq from the scanner namespace. Each figure is the wall
//! time of the whole command (`ip netns exec` start-up included for both), median of the
//! runs; every netdx run's JSON is checked: 100 answered, 100 NXDOMAIN, in file order.
//! Target (issue 13 item 6): netdx no slower than dig.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use common::bench::{Table, median};
use serde_json::Value;

const NETDX: &str = env!("CARGO_BIN_EXE_netdx");
const LOOKUPS: usize = 200;

/// The query file: existing records and missing names, alternately.
fn query_file(lab: &Lab) -> (String, Vec<(String, &'static str)>) {
    let dns = lab.dns();
    let mut existing: Vec<String> = Vec::new();
    for h in lab.hosts() {
        existing.push(format!("{} A", h.name));
        existing.push(format!("{} AAAA", h.name));
        existing.push(format!("-x {}", h.ip));
    }
    for e in dns.expected.iter().filter(|e| e.rcode == "NOERROR") {
        existing.push(format!("{} {}", e.name, e.rtype));
    }
    let mut lines = Vec::new();
    let mut truth = Vec::new();
    for i in 0..LOOKUPS / 2 {
        lines.push(existing[i % existing.len()].clone());
        truth.push((lines[lines.len() - 1].clone(), "NOERROR"));
        lines.push(format!("missing-{i}.{} A", dns.zone));
        truth.push((lines[lines.len() - 1].clone(), "NXDOMAIN"));
    }
    (lines.join("\n") + "\n", truth)
}

fn run(lab: &Lab, prog: &str, args: &[&str]) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg("60")
        .args(["ip", "netns", "exec", lab.scanner_ns(), prog])
        .args(args)
        .env("NETDX_CONFIG", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("spawn");
    let t = start.elapsed();
    // Both exit non-zero when a lookup failed (netdx 1; dig only on errors, not NXDOMAIN).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (t, out.stdout)
}

/// netdx's JSON must match the file line by line.
fn check(json: &[u8], truth: &[(String, &str)]) {
    let v: Value = serde_json::from_slice(json).expect("netdx JSON");
    let lookups = v["lookups"].as_array().expect("lookups");
    assert_eq!(lookups.len(), truth.len());
    for (l, (line, status)) in lookups.iter().zip(truth) {
        assert_eq!(l["status"], *status, "{line}: {l}");
        if *status == "NOERROR" {
            assert!(!l["answers"].as_array().unwrap().is_empty(), "{line}: {l}");
        }
    }
}

fn has_dig() -> bool {
    Command::new("dig")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn figure(lab: &Lab, prog: &str, args: &[&str], n: usize) -> (f64, Vec<u8>) {
    let _ = run(lab, prog, args); // warm-up: page cache, neighbour entries
    let mut times = Vec::new();
    let mut last = Vec::new();
    for _ in 0..n {
        let (t, out) = run(lab, prog, args);
        times.push(t.as_secs_f64() * 1000.0);
        last = out;
    }
    (median(times), last)
}

fn main() {
    if !common::require_root("dns_tool bench") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 5 } else { 15 };
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("queries.txt");
    let (text, truth) = query_file(&lab);
    std::fs::write(&file, text).expect("query file");
    let file = file.to_str().expect("utf-8 path");
    let server = format!("@{}", lab.dns().server);
    let dig = has_dig();
    if !dig {
        println!("dig not found (apt-get install bind9-dnsutils): netdx figures only");
    }
    println!(
        "{LOOKUPS} lookups ({} NXDOMAIN) from a file, whole command, median of {n} runs",
        LOOKUPS / 2
    );
    let mut table = Table::default();
    let mut pair = |what: &str, netdx_args: &[&str], dig_args: &[&str]| {
        let (json_ms, json) = figure(&lab, NETDX, &[netdx_args, &["--json"]].concat(), n);
        check(&json, &truth);
        let (ms, _) = figure(&lab, NETDX, netdx_args, n);
        let peer = dig.then(|| figure(&lab, "dig", dig_args, n).0);
        let (shown, met) = match peer {
            Some(d) => (format!("dig {d:.1} ms (x{:.1})", d / ms), Some(ms <= d)),
            None => ("-".to_string(), None),
        };
        table.row(
            what,
            format!("{ms:.1} ms (JSON {json_ms:.1} ms)"),
            shown,
            "<= dig",
            met,
        );
    };
    pair(
        "200 lookups, UDP",
        &["dns", "-f", file, &server],
        &["-f", file, &server],
    );
    pair(
        "200 lookups, TCP",
        &["dns", "-f", file, &server, "--tcp"],
        &["-f", file, &server, "+tcp"],
    );
    // Start-up cost of one lookup, for context.
    let one = ["dns", "web.lab.test", &server];
    let (ms, _) = figure(&lab, NETDX, &one, n);
    let peer = dig.then(|| figure(&lab, "dig", &["web.lab.test", &server], n).0);
    table.row(
        "1 lookup (start-up)",
        format!("{ms:.1} ms"),
        peer.map_or("-".to_string(), |d| format!("dig {d:.1} ms")),
        "-",
        None,
    );
    table.print();
}
