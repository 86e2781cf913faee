//! `netdx diagnose` timing in the namespace lab (needs root): prints figures next to the
//! targets of issue 5, asserts nothing about time.
//!
//! `cargo bench --bench diagnose_lab` (`-- --quick` for fewer runs). Each figure is the wall
//! time of a whole `netdx diagnose app.lab.test` process in the lab's scanner namespace
//! (start-up included), median and worst of the runs, with the verdict it returned:
//! - a healthy lab: under 2 s;
//! - the DNS server down: under one DNS timeout + 0.5 s (default timeout 2 s, and 1 s).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, Scenario};
use serde_json::Value;

const NETDX: &str = env!("CARGO_BIN_EXE_netdx");

fn run(lab: &Lab, args: &[&str]) -> (Duration, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.json");
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg("60")
        .args(["ip", "netns", "exec", lab.scanner_ns(), NETDX, "diagnose"])
        .args(args)
        .args(["-o", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .expect("spawn netdx");
    let t = start.elapsed();
    assert!(
        [0, 1, 3].contains(&out.status.code().unwrap_or(-1)),
        "netdx diagnose {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_str(&std::fs::read_to_string(&path).expect("diagnosis"))
        .expect("diagnosis JSON");
    (t, json)
}

fn figure(lab: &Lab, name: &str, args: &[&str], n: usize, target: Duration) {
    // One warm-up run: page cache, neighbour entries, dnsmasq's first reply.
    let _ = run(lab, args);
    let mut times = Vec::new();
    let mut verdict = String::new();
    for _ in 0..n {
        let (t, json) = run(lab, args);
        times.push(t);
        verdict = format!(
            "{} / {}",
            json["status"].as_str().unwrap_or("?"),
            json["layer"].as_str().unwrap_or("-")
        );
    }
    times.sort();
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!(
        "{name:<40} median {:>6.3} s  worst {:>6.3} s  target < {:.1} s  {}  ({n} runs, verdict {verdict})",
        median.as_secs_f64(),
        worst.as_secs_f64(),
        target.as_secs_f64(),
        if worst < target { "met" } else { "MISSED" },
    );
}

fn main() {
    if !common::require_root("diagnose_lab bench") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 3 } else { 10 };
    let lab = Lab::up();
    let app = lab.wan_target("app").name.clone();
    println!("netdx diagnose in the lab ({n} runs each; wall time of the whole process)");
    figure(
        &lab,
        "healthy lab, app.lab.test",
        &[&app],
        n,
        Duration::from_secs(2),
    );
    figure(
        &lab,
        "healthy lab, no target",
        &[],
        n,
        Duration::from_secs(2),
    );
    lab.break_lab(Scenario::DnsDown);
    figure(
        &lab,
        "DNS server down (DNS timeout 2 s)",
        &[&app],
        n,
        Duration::from_millis(2500),
    );
    figure(
        &lab,
        "DNS server down (--dns-timeout 1000)",
        &[&app, "--dns-timeout", "1000"],
        n,
        Duration::from_millis(1500),
    );
    lab.heal();
}
