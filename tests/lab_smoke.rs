//! The lab checked against its own ground truth, with tools that share no code with netdx
//! (tests/lab/probe.py, `ip neigh`, /etc/resolv.conf): when a netdx lab test fails, these say
//! whether the lab or netdx is wrong. Needs root; otherwise each test prints SKIPPED.
//!
//! Read-only checks share one lab per process; tests that tear down or kill use their own.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Icmp, Lab, PortState, Role};
use serde_json::Value;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip_netns_list() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(out.status.success());
    stdout(&out)
}

/// Running, i.e. neither gone nor a zombie waiting for init to reap it.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

fn listed(netns_list: &str, ns: &str) -> bool {
    netns_list
        .lines()
        .any(|l| l.split_whitespace().next() == Some(ns))
}

/// Replies per target from `probe.py ping`.
fn ping(lab: &Lab, count: u32, interval: &str, targets: &[String]) -> BTreeMap<String, u64> {
    let count = count.to_string();
    let mut args = vec!["ping", "--count", &count, "--interval", interval];
    args.extend(targets.iter().map(String::as_str));
    let result = lab.probe(&args);
    targets
        .iter()
        .map(|t| {
            let sent = result[t]["sent"].as_u64().unwrap();
            assert_eq!(sent.to_string(), count, "{t}: not all pings sent: {result}");
            (t.clone(), result[t]["received"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn ping_matches_ground_truth() {
    let Some(lab) = common::shared_lab_or_skip("ping_matches_ground_truth") else {
        return;
    };
    let mut targets = Vec::new();
    for h in lab.hosts().iter().filter(|h| h.icmp != Icmp::Lossy) {
        targets.push(h.ip.to_string());
        targets.push(h.ipv6.to_string());
    }
    targets.extend(lab.down_addresses().iter().map(IpAddr::to_string));
    let replies = ping(lab, 3, "0.05", &targets);
    for h in lab.hosts().iter().filter(|h| h.icmp != Icmp::Lossy) {
        let want = if h.answers_ping() { 3 } else { 0 };
        for addr in [h.ip.to_string(), h.ipv6.to_string()] {
            assert_eq!(
                replies[&addr], want,
                "{} ({addr}) icmp {:?}",
                h.name, h.icmp
            );
        }
    }
    for addr in lab.down_addresses() {
        assert_eq!(
            replies[&addr.to_string()],
            0,
            "down address {addr} answered"
        );
    }
    assert!(lab.hosts().iter().any(|h| h.icmp == Icmp::Drops));
}

#[test]
fn lossy_host_loses_its_share_of_pings() {
    let Some(lab) = common::shared_lab_or_skip("lossy_host_loses_its_share_of_pings") else {
        return;
    };
    let lossy = lab
        .hosts_with_role(Role::Lossy)
        .next()
        .expect("a lossy host");
    assert_eq!(lossy.icmp, Icmp::Lossy);
    let n = 300;
    let target = lossy.ip.to_string();
    let got = ping(lab, n, "0.002", std::slice::from_ref(&target))[&target];
    let loss = 100.0 * (n as f64 - got as f64) / n as f64;
    let want = f64::from(lossy.loss_percent);
    // Binomial sd at n=300, p=0.3 is 2.6 points: +-15 is over 5 sd, and 0 % or 100 % fail.
    assert!(
        (loss - want).abs() <= 15.0,
        "{}: {loss:.1} % loss over {n} pings, expected about {want} %",
        lossy.name
    );
}

#[test]
fn tcp_ports_match_ground_truth() {
    let Some(lab) = common::shared_lab_or_skip("tcp_ports_match_ground_truth") else {
        return;
    };
    let mut expect = BTreeMap::new();
    for h in lab.hosts() {
        for &port in h.open.iter().chain(&h.closed).chain(&h.filtered) {
            expect.insert(format!("{}:{port}", h.ip), (h, h.port_state(port)));
            expect.insert(format!("[{}]:{port}", h.ipv6), (h, h.port_state(port)));
        }
    }
    let mut args = vec!["tcp", "--timeout", "1.5"];
    args.extend(expect.keys().map(String::as_str));
    let result = lab.probe(&args);
    for row in result.as_array().unwrap() {
        let target = row["target"].as_str().unwrap();
        let (host, want) = expect[target];
        let want = match want {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
        };
        assert_eq!(row["state"], want, "{} {target}: {row}", host.name);
    }
    // The benchmark hosts really are all-closed / all-filtered, not just on listed ports.
    let rst = lab.hosts_with_role(Role::AllClosed).next().unwrap();
    let drop = lab.hosts_with_role(Role::AllFiltered).next().unwrap();
    let (a, b) = (format!("{}:4321", rst.ip), format!("{}:4321", drop.ip));
    let result = lab.probe(&["tcp", "--timeout", "1.5", &a, &b]);
    assert_eq!(result[0]["state"], "closed", "{result}");
    assert_eq!(result[1]["state"], "filtered", "{result}");
}

#[test]
fn neighbours_have_ground_truth_macs() {
    let Some(lab) = common::shared_lab_or_skip("neighbours_have_ground_truth_macs") else {
        return;
    };
    // A TCP connect resolves every host's MAC, ICMP-dropping hosts included.
    let targets: Vec<String> = lab.hosts().iter().map(|h| format!("{}:9", h.ip)).collect();
    let mut args = vec!["tcp", "--timeout", "1"];
    args.extend(targets.iter().map(String::as_str));
    lab.probe(&args);
    let out = Command::new("ip")
        .args(["-n", lab.scanner_ns(), "-j", "neigh", "show", "dev"])
        .arg(&lab.info().lan.iface)
        .output()
        .unwrap();
    assert!(out.status.success());
    let neigh: Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen: BTreeMap<String, String> = neigh
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| Some((n["dst"].as_str()?.into(), n["lladdr"].as_str()?.into())))
        .collect();
    for (ip, mac) in lab.arp_truth() {
        assert_eq!(
            seen.get(&ip.to_string()),
            Some(&mac.to_string()),
            "{ip}: {neigh}"
        );
    }
    let macs = lab.arp_truth();
    assert!(
        macs.values().any(|m| m.is_local()),
        "a locally administered MAC"
    );
    assert!(
        macs.values().any(|m| m.oui() == [0x00, 0x00, 0x0c]),
        "a Cisco OUI"
    );
}

#[test]
fn dns_answers_match_ground_truth() {
    let Some(lab) = common::shared_lab_or_skip("dns_answers_match_ground_truth") else {
        return;
    };
    let dns = lab.dns();
    let queries: Vec<String> = dns
        .expected
        .iter()
        .map(|e| format!("{}/{}", e.name, e.rtype))
        .collect();
    for server in [dns.server.to_string(), dns.server6.to_string()] {
        let mut args = vec!["dns", "--server", &server];
        args.extend(queries.iter().map(String::as_str));
        let result = lab.probe(&args);
        for (want, got) in dns.expected.iter().zip(result.as_array().unwrap()) {
            let mut answers = want.answers.clone();
            answers.sort();
            assert_eq!(
                got["rcode"],
                want.rcode.as_str(),
                "{server} {want:?}: {got}"
            );
            assert_eq!(
                got["answers"],
                serde_json::json!(answers),
                "{server}: {got}"
            );
            if want.rcode == "NOERROR" {
                for rec in got["records"].as_array().unwrap() {
                    assert_eq!(rec["ttl"], dns.ttl, "{got}");
                }
            }
        }
    }
    for rtype in ["A", "AAAA", "PTR", "MX", "TXT", "CNAME", "SRV"] {
        assert!(dns.expected.iter().any(|e| e.rtype == rtype), "no {rtype}");
    }
    assert!(dns.expected.iter().any(|e| e.rcode == "NXDOMAIN"));
    let log = std::fs::read_to_string(&dns.log).unwrap();
    assert!(
        log.contains("query[A] web.lab.test from 10.77.0.10"),
        "{log}"
    );
}

#[test]
fn scanner_resolves_through_the_lab_dns() {
    let Some(lab) = common::shared_lab_or_skip("scanner_resolves_through_the_lab_dns") else {
        return;
    };
    let want = format!("nameserver {}\n", lab.dns().server);
    assert_eq!(
        std::fs::read_to_string(&lab.dns().resolv_conf).unwrap(),
        want
    );
    let seen = lab.in_scanner(&["cat", "/etc/resolv.conf"]);
    assert_eq!(stdout(&seen), want, "ip netns exec must bind-mount it");
    let web = lab.host("web");
    let result = lab.probe(&["resolve", &web.name, "www.lab.test", "nope.lab.test"]);
    let both = serde_json::json!([web.ip.to_string(), web.ipv6.to_string()]);
    assert_eq!(result[&web.name], both, "{result}");
    assert_eq!(result["www.lab.test"], both, "{result}");
    assert!(
        result["nope.lab.test"]
            .as_str()
            .unwrap()
            .starts_with("error")
    );
}

#[test]
fn off_lan_traffic_dies_at_the_gateway() {
    let Some(lab) = common::shared_lab_or_skip("off_lan_traffic_dies_at_the_gateway") else {
        return;
    };
    let gw = lab.hosts_with_role(Role::Gateway).next().unwrap();
    let routes = lab.in_scanner(&["ip", "route", "show", "default"]);
    assert!(stdout(&routes).contains(&format!("default via {}", gw.ip)));
    let rejected = || -> u64 {
        let out = lab.exec(&gw.ns, &["nft", "-j", "list", "ruleset"]);
        let ruleset: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut total = 0;
        for item in ruleset["nftables"].as_array().unwrap() {
            for expr in item["rule"]["expr"].as_array().into_iter().flatten() {
                total += expr["counter"]["packets"].as_u64().unwrap_or(0);
            }
        }
        total
    };
    let before = rejected();
    // Addresses of no lab network: they only ever reach the lab gateway, which rejects them. The
    // first SYN's ICMP error can land while connect() holds the socket (a soft error), so
    // allow a retransmission before expecting the hard error.
    let result = lab.probe(&["tcp", "--timeout", "4", "10.66.0.1:80", "[fd66::1]:80"]);
    for row in result.as_array().unwrap() {
        assert_eq!(row["state"], "error", "{row}");
        assert_eq!(row["errno"], "ENETUNREACH", "{row}");
    }
    assert!(rejected() >= before + 2, "gateway counters did not move");
}

#[test]
fn scanner_keeps_default_ping_group_range() {
    let Some(lab) = common::shared_lab_or_skip("scanner_keeps_default_ping_group_range") else {
        return;
    };
    let out = lab.in_scanner(&["cat", "/proc/sys/net/ipv4/ping_group_range"]);
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["1", "0"]
    );
}

#[test]
fn lab_has_no_interface_in_the_root_namespace() {
    let Some(lab) = common::shared_lab_or_skip("lab_has_no_interface_in_the_root_namespace") else {
        return;
    };
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let root = stdout(&out);
    assert!(
        !root.contains(&lab.info().tag),
        "a root-namespace link refers to lab {}:\n{root}",
        lab.info().tag
    );
    let bridge = Command::new("ip")
        .args([
            "-n",
            &lab.info().namespaces.bridge,
            "-o",
            "link",
            "show",
            "type",
            "veth",
        ])
        .output()
        .unwrap();
    let ports = stdout(&bridge).lines().count();
    assert_eq!(
        ports,
        lab.hosts().len() + 1,
        "one bridge port per host and the scanner"
    );
}

#[test]
fn netdx_binary_runs_in_the_scanner_namespace() {
    let Some(lab) = common::shared_lab_or_skip("netdx_binary_runs_in_the_scanner_namespace") else {
        return;
    };
    let out = lab.netdx(&["--help"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("Usage"), "{}", stdout(&out));
}

#[test]
fn down_removes_everything_it_made() {
    let Some(lab) = common::lab_or_skip("down_removes_everything_it_made") else {
        return;
    };
    let info = lab.info().clone();
    let before = ip_netns_list();
    for ns in &info.all_namespaces {
        assert!(listed(&before, ns), "{ns} missing while up:\n{before}");
    }
    for dir in &info.etc_netns {
        assert!(dir.join("resolv.conf").exists());
    }
    for pid in &info.pids {
        assert!(running(*pid), "pid {pid} not running");
    }
    assert!(info.state_dir.exists());

    let started = Instant::now();
    lab.down();
    eprintln!("lab down in {} ms", started.elapsed().as_millis());

    let after = ip_netns_list();
    for ns in &info.all_namespaces {
        assert!(!listed(&after, ns), "{ns} left behind:\n{after}");
    }
    for dir in &info.etc_netns {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    for pid in &info.pids {
        assert!(!running(*pid), "pid {pid} left running");
    }
    assert!(!info.state_dir.exists());
    // Idempotent.
    let again = Command::new(common::python())
        .arg(common::lab_dir().join("lab.py"))
        .args(["down", "--name", &info.name])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // Another lab's teardown never touches the shared one.
    let shared = Lab::shared();
    let web = shared.host("web");
    let result = shared.probe(&["tcp", &format!("{}:{}", web.ip, web.open[0])]);
    assert_eq!(result[0]["state"], "open", "{result}");
}

#[test]
fn lab_of_a_dead_owner_is_torn_down() {
    if !common::require_root("lab_of_a_dead_owner_is_torn_down") {
        return;
    }
    // Stand-in for a test process that gets SIGKILLed.
    let mut owner = Command::new("sleep")
        .arg("600")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let lab = Lab::up_owned_by(owner.id());
    let namespaces = lab.info().all_namespaces.clone();
    assert!(listed(&ip_netns_list(), lab.scanner_ns()));
    owner.kill().unwrap();
    owner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = ip_netns_list();
        let left: Vec<&String> = namespaces.iter().filter(|ns| listed(&list, ns)).collect();
        let dirs_left =
            lab.info().state_dir.exists() || lab.info().etc_netns.iter().any(|d| d.exists());
        if left.is_empty() && !dirs_left {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "janitor left namespaces {left:?} (state/etc dirs left: {dirs_left})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(lab); // `down` of a reaped lab is a no-op that succeeds
}
