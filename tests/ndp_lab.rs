//! IPv6 LAN discovery (`netdx scan fd77::/64`) against the lab's ground truth
//! (tests/lab/topology.json: every LAN host has an IPv6 address in fd77::/64).
//!
//! - the on-link /64 is discovered by multicast (echo and an unknown-option probe) and the
//!   neighbour table in about a second: exactly the lab's hosts, each with its MAC and
//!   vendor, ten runs in a row (hosts that drop echo requests included: they must answer the
//!   option probe);
//! - `10.77.0.0/24 fd77::/64` links each host's two addresses as `same_device`, and an IPv4
//!   scan adds no IPv6 host (nothing the user did not ask for);
//! - an off-link /64 is refused with exit 2 and one line saying to give explicit ranges.
//!
//! The discovery time sits next to `ping -6 ff02::1%eth0` (and nmap's
//! targets-ipv6-multicast-echo when nmap is installed) in the test output.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Icmp, Lab};
use serde_json::Value;

const RUNS: usize = 10;
/// A /64 answers in ~1.1 s of discovery plus the probes that follow; a loaded 2-core machine
/// gets a generous margin, still far from a sweep of 2^64 addresses.
const LIMIT: Duration = Duration::from_secs(5);

fn scan(lab: &Lab, targets: &[&str], dir: &std::path::Path, name: &str) -> (Value, Duration) {
    let path = dir.join(name);
    let mut args = vec!["scan"];
    args.extend_from_slice(targets);
    args.extend_from_slice(&["--no-rdns", "-o", path.to_str().unwrap()]);
    let started = Instant::now();
    let out = lab.netdx(&args);
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "netdx {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("report written");
    (serde_json::from_str(&text).expect("report is JSON"), took)
}

fn hosts_by_ip(report: &Value) -> BTreeMap<IpAddr, &Value> {
    report["hosts"]
        .as_array()
        .expect("hosts array")
        .iter()
        .map(|h| (h["ip"].as_str().unwrap().parse().unwrap(), h))
        .collect()
}

#[test]
fn on_link_prefix_is_discovered_exactly() {
    let Some(lab) = common::lab_or_skip("on_link_prefix_is_discovered_exactly") else {
        return;
    };
    let dir = common::report_dir();
    let truth: BTreeMap<IpAddr, &common::Host> = lab
        .hosts()
        .iter()
        .map(|h| (IpAddr::V6(h.ipv6), h))
        .collect();
    assert!(truth.len() >= 15, "the lab has IPv6 hosts");
    let mut times = Vec::new();
    for run in 0..RUNS {
        let (report, took) = scan(&lab, &["fd77::/64"], dir.path(), &format!("v6-{run}.json"));
        times.push(took);
        let hosts = hosts_by_ip(&report);
        let found: BTreeSet<IpAddr> = hosts.keys().copied().collect();
        let want: BTreeSet<IpAddr> = truth.keys().copied().collect();
        assert_eq!(found, want, "run {run}: exactly the lab's IPv6 hosts");
        for (ip, h) in &truth {
            let r = hosts[ip];
            assert_eq!(r["status"], "up", "run {run}: {} {r}", h.key);
            assert_eq!(r["mac"], h.mac.to_string(), "run {run}: {} MAC", h.key);
            if h.mac.is_local() {
                assert_eq!(r["vendor"], "(locally administered)", "{}", h.key);
            } else {
                let vendor = r["vendor"].as_str().unwrap_or_default().to_lowercase();
                let truth = h.vendor.as_deref().expect("ground truth vendor");
                let first_word = truth.split([' ', ',']).next().unwrap().to_lowercase();
                assert!(
                    vendor.contains(&first_word),
                    "{}: {vendor} vs {truth}",
                    h.key
                );
            }
            let methods: Vec<&str> = r["methods"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            match h.icmp {
                Icmp::Answers => assert!(methods.contains(&"icmp"), "{}: {methods:?}", h.key),
                Icmp::Drops => assert!(!methods.contains(&"icmp"), "{}: {methods:?}", h.key),
                Icmp::Lossy => {}
            }
        }
        assert!(
            took < LIMIT,
            "run {run}: a /64 took {took:?}, over {LIMIT:?}"
        );
        let note = report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["text"].as_str())
            .find(|t| t.starts_with("fd77::/64 on eth0:"))
            .unwrap_or_else(|| panic!("no discovery note: {}", report["notes"]));
        if run == 0 {
            println!("{note}");
        }
    }
    times.sort();
    println!(
        "netdx scan fd77::/64 ({} hosts), {RUNS} runs: median {:?}, max {:?}",
        truth.len(),
        times[RUNS / 2],
        times[RUNS - 1]
    );
    peers(&lab);
}

/// The figures to compare with: `ping -6 ff02::1%eth0` (2 echoes; lists responders only,
/// no MAC) and nmap's multicast echo script when nmap is installed.
fn peers(lab: &Lab) {
    let started = Instant::now();
    let out = lab.in_scanner(&[
        "ping",
        "-6",
        "-c",
        "2",
        "-i",
        "0.2",
        "-w",
        "2",
        "ff02::1%eth0",
    ]);
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let responders: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| {
            let from = l.split_once("bytes from ")?.1.split_whitespace().next()?;
            Some(from.trim_end_matches(':'))
        })
        .collect();
    println!(
        "peer: ping -6 -c 2 ff02::1%eth0: {took:?}, {} link-local responders (no MAC, no ULA)",
        responders.len()
    );
    let has_nmap = Command::new("nmap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_nmap {
        let started = Instant::now();
        let out = lab.in_scanner(&[
            "nmap",
            "-6",
            "-sn",
            "-n",
            "-e",
            "eth0",
            "--script",
            "targets-ipv6-multicast-echo",
            "--script-args",
            "newtargets",
        ]);
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        let up = text.matches("Host is up").count();
        println!(
            "peer: nmap -6 -sn --script targets-ipv6-multicast-echo newtargets: {took:?}, {up} hosts up"
        );
    }
}

#[test]
fn same_device_links_ipv4_and_ipv6_and_ipv4_scans_stay_ipv4() {
    let Some(lab) = common::lab_or_skip("same_device_links_ipv4_and_ipv6_and_ipv4_scans_stay_ipv4")
    else {
        return;
    };
    let dir = common::report_dir();
    let (report, _) = scan(
        &lab,
        &["10.77.0.0/24", "fd77::/64"],
        dir.path(),
        "both.json",
    );
    let hosts = hosts_by_ip(&report);
    for h in lab.hosts() {
        let (v4, v6) = (IpAddr::V4(h.ip), IpAddr::V6(h.ipv6));
        let links = |ip: IpAddr| -> Vec<String> {
            hosts[&ip]["same_device"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: {ip} has no same_device", h.key))
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(links(v4), vec![v6.to_string()], "{}", h.key);
        assert_eq!(links(v6), vec![v4.to_string()], "{}", h.key);
    }
    // The scanner's own address has no MAC in the report: linked to nothing.
    let own = IpAddr::V4(lab.scanner().ip);
    if let Some(h) = hosts.get(&own) {
        assert!(h.get("same_device").is_none(), "{h}");
    }

    let (v4only, _) = scan(&lab, &["10.77.0.0/24"], dir.path(), "v4.json");
    let v6_hosts: Vec<IpAddr> = hosts_by_ip(&v4only)
        .into_keys()
        .filter(IpAddr::is_ipv6)
        .collect();
    assert!(v6_hosts.is_empty(), "an IPv4 scan added {v6_hosts:?}");
    assert!(
        hosts_by_ip(&v4only)
            .values()
            .all(|h| h.get("same_device").is_none()),
        "one address per MAC in an IPv4 scan"
    );
}

#[test]
fn off_link_prefix_is_refused() {
    let Some(lab) = common::lab_or_skip("off_link_prefix_is_refused") else {
        return;
    };
    let out = lab.netdx(&["scan", "2001:db8:99::/64"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("2001:db8:99::/64") && err.contains("explicit ranges"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing scanned");
}

/// Without CAP_NET_RAW, where `net.ipv4.ping_group_range` allows ping sockets (it covers
/// ICMPv6 too): the multicast echo still finds every host that answers echo requests, with
/// its MAC; the option probe (raw only) is left out, so hosts that drop echoes are not found.
/// With ping sockets off too, the scan says why and finds nothing.
#[test]
fn unprivileged_discovery_uses_ping_sockets() {
    let Some(lab) = common::lab_or_skip("unprivileged_discovery_uses_ping_sockets") else {
        return;
    };
    let limit = Duration::from_secs(60);
    let out = lab.netdx_as(common::Privilege::Nobody, &["scan", "fd77::/64"], limit);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "nothing found without any ICMP socket"
    );
    assert!(
        err.contains("IPv6 discovery of fd77::/64 failed") && err.contains("Permission denied"),
        "{err}"
    );

    let set = lab.in_scanner(&["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
    assert!(set.status.success(), "{set:?}");
    let dir = common::report_dir();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
        .expect("let nobody write the report");
    let path = dir.path().join("nobody.json");
    let out = lab.netdx_as(
        common::Privilege::Nobody,
        &[
            "scan",
            "fd77::/64",
            "--no-rdns",
            "-o",
            path.to_str().unwrap(),
        ],
        limit,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("report written");
    let report: Value = serde_json::from_str(&text).expect("report is JSON");
    let hosts = hosts_by_ip(&report);
    for h in lab.hosts() {
        let ip = IpAddr::V6(h.ipv6);
        match h.icmp {
            Icmp::Answers => {
                let r = hosts
                    .get(&ip)
                    .unwrap_or_else(|| panic!("{} not found", h.key));
                assert_eq!(r["mac"], h.mac.to_string(), "{}", h.key);
            }
            Icmp::Drops => assert!(!hosts.contains_key(&ip), "{} found", h.key),
            Icmp::Lossy => {}
        }
    }
}
