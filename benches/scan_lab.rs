//! Scan-engine benchmarks in the namespace lab (needs root): prints figures, asserts nothing
//! about time (targets live here, not in flaky timed tests).
//!
//! `cargo bench --bench scan_lab` (add `-- --quick` for fewer repetitions). Each figure is
//! the median wall time of whole `netdx scan` runs inside the lab's scanner namespace, next to
//! the target from issue 2. Where nmap, fping or arp-scan are installed, the same work is
//! timed with them in the same run and the ratio printed.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use serde_json::Value;

const NETDX: &str = env!("CARGO_BIN_EXE_netdx");
const LIMIT: Duration = Duration::from_secs(300);

fn in_ns(lab: &Lab, prog: &str, args: &[&str]) -> (Duration, Output) {
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg(LIMIT.as_secs().to_string())
        .args(["ip", "netns", "exec", lab.scanner_ns(), prog])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
    (start.elapsed(), out)
}

fn netdx_json(lab: &Lab, args: &[&str]) -> (Duration, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.json");
    let mut argv = vec!["scan", "--no-inventory"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-o", path.to_str().unwrap()]);
    let (t, out) = in_ns(lab, NETDX, &argv);
    assert!(
        out.status.success(),
        "netdx {argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_str(&std::fs::read_to_string(&path).expect("report"))
        .expect("report JSON");
    (t, report)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

fn row(name: &str, netdx: Duration, target: &str, peers: &[(&str, Option<Duration>)]) {
    let mut line = format!(
        "{name:<34} {:>9.3} s   target {target:<9}",
        netdx.as_secs_f64()
    );
    for (peer, t) in peers {
        if let Some(t) = t {
            line.push_str(&format!(
                "  {peer} {:.3} s (peer/netdx {:.2})",
                t.as_secs_f64(),
                t.as_secs_f64() / netdx.as_secs_f64()
            ));
        }
    }
    println!("{line}");
}

fn up_count(report: &Value) -> usize {
    report["summary"]["hosts_up"].as_u64().unwrap_or(0) as usize
}

fn peer(lab: &Lab, reps: usize, tool: &str, args: &[&str]) -> Option<Duration> {
    if !have(tool) {
        println!("  ({tool} not installed: no comparison)");
        return None;
    }
    let times = (0..reps).map(|_| in_ns(lab, tool, args).0).collect();
    Some(median(times))
}

fn main() {
    if !common::require_root("bench scan_lab") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 3 } else { 7 };
    let lab = Lab::up();
    let lan = lab.info().lan.ipv4.clone();
    let iface = lab.info().lan.iface.clone();
    println!(
        "netdx scan benchmarks, lab {} ({} reps, median wall time of the whole command)",
        lab.name(),
        reps
    );

    // 1. ICMP sweep of a /24 (1000 ms timeout, 5 tries): ICMP only, then the default (ARP too).
    let mut times = Vec::new();
    let mut up = 0;
    for _ in 0..reps {
        let (t, r) = netdx_json(&lab, &[&lan, "--no-arp", "--no-rdns"]);
        times.push(t);
        up = up_count(&r);
    }
    let fping = peer(&lab, reps, "fping", &["-q", "-a", "-g", &lan]);
    let nmap = peer(&lab, reps, "nmap", &["-sn", "-n", "-PE", "--send-ip", &lan]);
    row(
        &format!("icmp sweep /24 ({up} up)"),
        median(times),
        "< 1.1 s",
        &[("fping", fping), ("nmap -sn -PE", nmap)],
    );
    let times = (0..reps)
        .map(|_| netdx_json(&lab, &[&lan, "--no-rdns"]).0)
        .collect();
    row("icmp+arp sweep /24", median(times), "< 1.1 s", &[]);

    // 1b. The on-link IPv6 /64 (issue 11): multicast echo, the unknown-option probe and the
    // neighbour table, then the normal probes of every host found. ping -6 to ff02::1 lists
    // link-local responders only (no MAC); nmap's script finds echo answerers, then scans them.
    let lan6 = lab.info().lan.ipv6.clone();
    let mut times = Vec::new();
    let mut up6 = 0;
    for _ in 0..reps {
        let (t, r) = netdx_json(&lab, &[&lan6, "--no-rdns"]);
        times.push(t);
        up6 = up_count(&r);
    }
    let all_nodes = format!("ff02::1%{iface}");
    let ping6 = peer(
        &lab,
        reps,
        "ping",
        &["-6", "-c", "2", "-i", "0.2", "-w", "2", &all_nodes],
    );
    let nmap6 = peer(
        &lab,
        reps,
        "nmap",
        &[
            "-6",
            "-sn",
            "-n",
            "-e",
            &iface,
            "--script",
            "targets-ipv6-multicast-echo",
            "--script-args",
            "newtargets",
        ],
    );
    row(
        &format!("ipv6 on-link {lan6} ({up6} up)"),
        median(times),
        "a few s",
        &[
            ("ping -6 ff02::1 x2", ping6),
            ("nmap multicast-echo", nmap6),
        ],
    );

    // 2. The 30 % loss host: found in how many of 100 runs?
    let lossy = lab.host("lossy").ip.to_string();
    let runs = if quick { 20 } else { 100 };
    let found = (0..runs)
        .filter(|_| {
            let (_, r) = netdx_json(&lab, &[&lossy, "--no-arp", "--no-rdns"]);
            r["hosts"][0]["methods"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x == "icmp"))
        })
        .count();
    println!(
        "{:<34} {found:>5} / {runs}   target >= 99/100 (by ICMP alone)",
        "30 % loss host found"
    );

    // 3. ARP discovery of the /24: time, and every host with its exact MAC.
    let truth = lab.arp_truth();
    let mut times = Vec::new();
    let mut exact = 0;
    for _ in 0..reps {
        let (t, r) = netdx_json(&lab, &[&lan, "--no-ping", "--no-rdns"]);
        times.push(t);
        exact = truth
            .iter()
            .filter(|(ip, mac)| {
                r["hosts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["ip"] == ip.to_string() && h["mac"] == mac.to_string())
            })
            .count();
    }
    let arpscan = peer(&lab, reps, "arp-scan", &["-q", "-I", &iface, &lan]);
    row(
        &format!("arp discovery /24 ({exact}/{} MACs)", truth.len()),
        median(times),
        "< 0.5 s",
        &[("arp-scan", arpscan)],
    );

    // 4. All 65,535 ports of a host that answers RST, then of one that drops everything.
    let rst = lab.host("rst").ip.to_string();
    let times = (0..reps.min(5))
        .map(|_| netdx_json(&lab, &[&rst, "-p", "all", "--no-rdns", "--no-arp"]).0)
        .collect();
    let nmap = peer(
        &lab,
        reps.min(3),
        "nmap",
        &["-sT", "-p-", "-n", "-Pn", "-T4", &rst],
    );
    row(
        "tcp all ports, RST host",
        median(times),
        "< 2 s",
        &[("nmap -sT -p-", nmap)],
    );
    let drop = lab.host("drop").ip.to_string();
    let times = (0..reps.min(5))
        .map(|_| netdx_json(&lab, &[&drop, "-p", "all", "--no-rdns", "--no-arp"]).0)
        .collect();
    row("tcp all ports, dropping host", median(times), "< 5 s", &[]);

    // 5. 1,000 DNS lookups against the lab's dnsmasq (distinct names, mixed answers).
    let mut queries = Vec::new();
    for i in 0..1000 {
        let h = &lab.hosts()[i % lab.hosts().len()];
        queries.push("--dns".to_string());
        queries.push(match i % 4 {
            0 => format!("{}:A", h.name),
            1 => format!("{}:AAAA", h.name),
            2 => format!("{}:PTR", h.ip),
            _ => format!("missing-{i}.lab.test:A"),
        });
    }
    let server = lab.dns().server.to_string();
    let mut args: Vec<&str> = vec![&server, "--no-ping", "--no-arp", "--no-rdns"];
    args.extend(queries.iter().map(String::as_str));
    let mut times = Vec::new();
    for _ in 0..reps {
        let (t, r) = netdx_json(&lab, &args);
        assert_eq!(r["dns"].as_array().map(Vec::len), Some(1000));
        times.push(t);
    }
    row(
        "1,000 DNS lookups (whole command)",
        median(times),
        "< 0.2 s",
        &[],
    );

    // 6. Peak memory of a /16 sweep (off-link: every probe dies at the lab gateway).
    if have("/usr/bin/time") {
        let (t, out) = in_ns(
            &lab,
            "/usr/bin/time",
            &[
                "-f",
                "%M",
                NETDX,
                "scan",
                "--no-inventory",
                "10.78.0.0/16",
                "--no-arp",
                "--no-rdns",
                "--tries",
                "1",
                "--timeout",
                "300",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kb: u64 = stderr
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .next_back()
            .unwrap_or(0);
        println!(
            "{:<34} {:>7.1} MB   target < 100 MB   ({:.1} s, 65,534 addresses)",
            "peak RSS, /16 sweep",
            kb as f64 / 1024.0,
            t.as_secs_f64()
        );
    } else {
        println!("peak RSS, /16 sweep: /usr/bin/time not installed (apt-get install time)");
    }
    lab.down();
}
