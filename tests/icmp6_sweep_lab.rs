//! An IPv6 range sweep must not invent loss on live hosts.
//!
//! Echoes to unused on-link addresses wait ~3 s in the kernel's neighbour queue, charged to
//! the sending socket; if retries went to them as well, they would fill the retry socket and
//! hold back the live hosts' retries past the window (20-40 % false loss on fd-ranges before
//! the IPv6 neighbour table was read). Ground truth: tests/lab/topology.json.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

use common::Icmp;
use serde_json::Value;

const RUNS: usize = 10;

#[test]
fn ipv6_range_sweep_has_no_false_loss() {
    let Some(lab) = common::lab_or_skip("ipv6_range_sweep_has_no_false_loss") else {
        return;
    };
    let first: Ipv6Addr = "fd77::1".parse().unwrap();
    let last: Ipv6Addr = "fd77::1ff".parse().unwrap();
    let in_range = |ip: Ipv6Addr| (first..=last).contains(&ip);
    let answering: Vec<_> = lab
        .hosts()
        .iter()
        .filter(|h| h.icmp == Icmp::Answers && in_range(h.ipv6))
        .collect();
    assert!(
        answering.len() >= 10,
        "the lab has echo-answering IPv6 hosts in range"
    );
    // Every address in range that belongs to something in the lab (answering or not).
    let mut used: BTreeSet<Ipv6Addr> = lab.hosts().iter().map(|h| h.ipv6).collect();
    used.insert(lab.scanner().ipv6);
    let range = format!("{first}-{last}");
    let dir = common::report_dir();
    let mut lost = Vec::new();
    for run in 0..RUNS {
        let out_path = dir.path().join(format!("v6-{run}.json"));
        let out = lab.netdx(&[
            "scan",
            &range,
            "--no-rdns",
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "netdx failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&out_path).expect("report written");
        let report: Value = serde_json::from_str(&text).expect("report is JSON");
        let hosts = report["hosts"].as_array().expect("hosts array");
        assert_eq!(
            hosts.len(),
            511,
            "run {run}: every address of the range reported"
        );
        for h in &answering {
            let r = hosts
                .iter()
                .find(|r| r["ip"] == h.ipv6.to_string())
                .unwrap_or_else(|| panic!("{} missing", h.ipv6));
            let loss = r["loss_pct"].as_f64().unwrap_or(100.0);
            if r["status"] != "up" || loss != 0.0 {
                lost.push(format!("run {run}: {} {} {loss} %", h.key, r["status"]));
            }
        }
        for r in hosts {
            let ip: IpAddr = r["ip"].as_str().unwrap().parse().expect("ip");
            let IpAddr::V6(ip) = ip else {
                panic!("IPv4 address {ip} in an IPv6 sweep")
            };
            if !used.contains(&ip) {
                assert_eq!(r["status"], "no_answer", "run {run}: {ip} is not in use");
            }
        }
    }
    eprintln!("false loss over {RUNS} runs: {lost:#?}");
    assert!(lost.is_empty(), "live hosts showed loss: {lost:#?}");
}
