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

use common::{Icmp, Lab, LinkKind, LossScope, PortState, Role};
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
    // A host losing IP packets may miss any single probe: lossy_all_host_* checks it.
    for h in lab.hosts().iter().filter(|h| h.exact_tcp()) {
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

/// Runs nmap in the scanner namespace and returns its stdout (nmap must succeed).
fn nmap(lab: &Lab, args: &[&str]) -> String {
    let mut argv = vec!["nmap"];
    argv.extend_from_slice(args);
    let out = lab.in_scanner(&argv);
    assert!(
        out.status.success(),
        "nmap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

/// Port -> state from nmap's output, either format: `-oG -` ("Ports: 22/open/tcp//ssh///, ...")
/// or the normal table ("22/tcp open ssh"). Ports in an ignored state are not listed.
fn grepable_ports(text: &str) -> BTreeMap<u16, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(ports) = line.split("Ports: ").nth(1) {
            for entry in ports.split('\t').next().unwrap_or("").split(", ") {
                let mut f = entry.split('/');
                if let (Some(Ok(port)), Some(state)) =
                    (f.next().map(|p| p.trim().parse()), f.next())
                {
                    out.insert(port, state.to_string());
                }
            }
        } else if let Some((port, rest)) = line.split_once("/tcp ")
            && let (Ok(port), Some(state)) = (port.parse(), rest.split_whitespace().next())
        {
            out.insert(port, state.to_string());
        }
    }
    out
}

/// How many ports nmap's normal output puts in `state`: the listed ones plus those counted in
/// its "Not shown: 19216 closed tcp ports (reset), 782 filtered tcp ports (no-response)" line.
fn count_state(text: &str, state: &str) -> usize {
    let listed = grepable_ports(text)
        .values()
        .filter(|s| *s == state)
        .count();
    let hidden: usize = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Not shown: "))
        .flat_map(|l| l.split(", "))
        .filter_map(|part| {
            let mut w = part.split_whitespace();
            let n = w.next()?.parse::<usize>().ok()?;
            (w.next()? == state).then_some(n)
        })
        .sum();
    listed + hidden
}

/// Hosts nmap reports up, from `-oG -`.
fn grepable_up(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("Status: Up"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

#[test]
fn lossy_all_host_loses_every_kind_of_packet() {
    let Some(lab) = common::shared_lab_or_skip("lossy_all_host_loses_every_kind_of_packet") else {
        return;
    };
    let h = lab
        .hosts_with_role(Role::LossyAll)
        .next()
        .expect("a lossy-all host");
    assert_eq!((h.icmp, h.loss_scope), (Icmp::Lossy, LossScope::Ip));
    let n = 200;
    let (v4, v6) = (h.ip.to_string(), h.ipv6.to_string());
    let got = ping(lab, n, "0.002", &[v4.clone(), v6.clone()]);
    for addr in [&v4, &v6] {
        let loss = 100.0 * f64::from(n - got[addr] as u32) / f64::from(n);
        // Binomial sd at n=200, p=0.3 is 3.2 points: 15-45 % is over 4.5 sd either way.
        assert!(
            (15.0..=45.0).contains(&loss),
            "{addr}: {loss:.1} % of {n} pings lost, expected about {} %",
            h.loss_percent
        );
    }
    // TCP loses too: 200 single-SYN probes (no retries) to an open port miss about 30 %.
    let ip = v4.as_str();
    let out = nmap(
        lab,
        &["-sS", "-n", "-Pn", "--max-retries", "0", "-p", "1-200", ip],
    );
    let filtered = count_state(&out, "filtered");
    assert!(
        (20..=100).contains(&filtered),
        "{ip}: {filtered} of 200 SYNs unanswered, expected about 60:\n{out}"
    );
    // ...but every answer that does come is the truth, so rounds of retries over the ports
    // still unanswered converge on the ground truth (30 % ^ 8 rounds: 1 in 15,000 per port).
    let mut pending: Vec<u16> = h.open.iter().chain(&h.closed).copied().collect();
    let mut log = String::new();
    for _ in 0..8 {
        if pending.is_empty() {
            break;
        }
        let list: Vec<String> = pending.iter().map(u16::to_string).collect();
        let out = nmap(
            lab,
            &[
                "-sS",
                "-n",
                "-Pn",
                "--max-retries",
                "2",
                "-p",
                &list.join(","),
                "-oG",
                "-",
                ip,
            ],
        );
        let states = grepable_ports(&out);
        pending.retain(|p| match states.get(p).map(String::as_str) {
            Some("open") => {
                assert_eq!(h.port_state(*p), PortState::Open, "{ip}:{p}\n{out}");
                false
            }
            Some("closed") => {
                assert_eq!(h.port_state(*p), PortState::Closed, "{ip}:{p}\n{out}");
                false
            }
            _ => true,
        });
        log += &out;
    }
    assert!(
        pending.is_empty(),
        "{ip}: {pending:?} never answered:\n{log}"
    );
    // ARP is never lost: the neighbour entry is there after the probes.
    let neigh = lab.in_scanner(&["ip", "neigh", "show", ip]);
    assert!(
        stdout(&neigh).contains(&h.mac.to_string()),
        "{}",
        stdout(&neigh)
    );
}

#[test]
fn slow_target_is_forty_ms_away_over_the_relay() {
    let Some(lab) = common::shared_lab_or_skip("slow_target_is_forty_ms_away_over_the_relay")
    else {
        return;
    };
    let slow = lab.wan_target("slow");
    assert_eq!(slow.link.kind, LinkKind::Relay);
    assert_eq!(slow.rtt_ms, 2 * slow.link.delay_ms.unwrap());
    assert!(
        lab.info().wan.networks.contains(&slow.subnet),
        "routed: {:?}",
        lab.info().wan.networks
    );
    // fping -C: per-ping RTTs in ms on stderr, "-" for a lost one. -t: fping's timeout would
    // otherwise shrink to the period (-p), below the RTT.
    let out = lab.in_scanner(&[
        "fping", "-C", "10", "-p", "60", "-t", "500", "-q", &slow.name,
    ]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let rtts: Vec<f64> = text
        .split(':')
        .nth(1)
        .unwrap_or_else(|| panic!("fping: {text}"))
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    assert_eq!(rtts.len(), 10, "every ping answered: {text}");
    let nominal = f64::from(slow.rtt_ms);
    for rtt in &rtts {
        assert!(
            (nominal - 5.0..=80.0).contains(rtt),
            "RTT {rtt} ms, nominal {nominal} ms: {text}"
        );
    }
    // Ports are exact through the relay, and the relay counts what it passed.
    let out = nmap(
        lab,
        &[
            "-sS",
            "-n",
            "-Pn",
            "-p",
            "1-1000,8080",
            &slow.ip.to_string(),
        ],
    );
    let states = grepable_ports(&out);
    for p in slow.open.iter().chain(&slow.closed) {
        let want = match slow.port_state(*p) {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
        };
        let got = states.get(p).map(String::as_str).unwrap_or("closed"); // majority state
        assert_eq!(got, want, "{}:{p}\n{out}", slow.ip);
    }
    assert_eq!(count_state(&out, "closed"), 999, "{out}");
    let path = slow.link.stats.clone().expect("relay stats file");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let stats: Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if stats["a_to_b"]["relayed"].as_u64().unwrap_or(0) >= 1000 {
            assert_eq!(stats["a_to_b"]["dropped"], 0, "{stats}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "relay stats {}: {stats}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Packets the last router's policers dropped so far (the counters of its lab table).
fn policer_drops(lab: &Lab) -> u64 {
    let router = lab.wan().routers.last().expect("routers");
    let out = lab.exec(
        &router.ns,
        &["nft", "-j", "list", "table", "inet", "netdx_lab"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ruleset: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut total = 0;
    for item in ruleset["nftables"].as_array().unwrap() {
        for expr in item["rule"]["expr"].as_array().into_iter().flatten() {
            total += expr["counter"]["packets"].as_u64().unwrap_or(0);
        }
    }
    total
}

#[test]
fn policed_target_drops_a_fast_scan_but_not_a_slow_one() {
    let Some(lab) =
        common::shared_lab_or_skip("policed_target_drops_a_fast_scan_but_not_a_slow_one")
    else {
        return;
    };
    let t = lab.wan_target("policed");
    let police = t.police.expect("a policer");
    let ip = t.ip.to_string();
    // 20,000 SYNs at 50,000/s without retries: the policer passes about 10,000/s.
    let fast = nmap(
        lab,
        &[
            "-sS",
            "-n",
            "-Pn",
            "-p",
            "1-20000",
            "--min-rate",
            "50000",
            "--max-retries",
            "0",
            &ip,
        ],
    );
    // Both the scanner's view (SYNs or RSTs lost: false filtered) and the router's drop
    // counters show the policer bit; hundreds at least, even when a busy machine slows nmap.
    let filtered = count_state(&fast, "filtered");
    let dropped = policer_drops(lab);
    assert!(
        filtered >= 100 && dropped >= 100,
        "{} pps policer did not bite: {dropped} drops at the router, {filtered} filtered:\n{fast}",
        police.pps
    );
    // At a quarter of the policed rate every port is exact.
    let slow = nmap(
        lab,
        &[
            "-sS",
            "-n",
            "-Pn",
            "-p",
            "1-2000,8443",
            "--max-rate",
            "2500",
            &ip,
        ],
    );
    let states = grepable_ports(&slow);
    // 2,001 ports scanned: all but the open ones answer RST.
    assert_eq!(count_state(&slow, "closed"), 2001 - t.open.len(), "{slow}");
    for p in t.open.iter().chain(&t.closed) {
        let got = states.get(p).map(String::as_str).unwrap_or("closed");
        let want = if t.port_state(*p) == PortState::Open {
            "open"
        } else {
            "closed"
        };
        assert_eq!(got, want, "{ip}:{p}\n{slow}");
    }
}

#[test]
fn icmp_silent_routed_hosts_are_found_by_tcp_only() {
    let Some(lab) = common::shared_lab_or_skip("icmp_silent_routed_hosts_are_found_by_tcp_only")
    else {
        return;
    };
    let (win, winfw) = (lab.wan_target("win"), lab.wan_target("winfw"));
    let ips = [win.ip.to_string(), winfw.ip.to_string()];
    for t in [win, winfw] {
        assert!(!t.icmp && !t.icmp_timestamp && t.ack_rst, "{t:?}");
    }
    let mut args = vec!["-sn", "-n", "-PE", "-PP", "--max-retries", "1", "-oG", "-"];
    args.extend(ips.iter().map(String::as_str));
    let icmp = nmap(lab, &args);
    assert!(
        grepable_up(&icmp).is_empty(),
        "echo/timestamp must go unanswered: {icmp}"
    );
    let mut args = vec!["-sn", "-n", "-PS443", "-PA80", "-oG", "-"];
    args.extend(ips.iter().map(String::as_str));
    let tcp = nmap(lab, &args);
    assert_eq!(grepable_up(&tcp), ips, "{tcp}");
    // Ports: win resets, winfw drops SYNs to everything but 443 ...
    for t in [win, winfw] {
        let ports: Vec<String> = t
            .open
            .iter()
            .chain(&t.closed)
            .chain(&t.filtered)
            .map(u16::to_string)
            .collect();
        let out = nmap(
            lab,
            &[
                "-sS",
                "-n",
                "-Pn",
                "--max-retries",
                "1",
                "-p",
                &ports.join(","),
                "-oG",
                "-",
                &t.ip.to_string(),
            ],
        );
        let states = grepable_ports(&out);
        for p in t.open.iter().chain(&t.closed).chain(&t.filtered) {
            let want = match t.port_state(*p) {
                PortState::Open => "open",
                PortState::Closed => "closed",
                PortState::Filtered => "filtered",
            };
            assert_eq!(
                states.get(p).map(String::as_str),
                Some(want),
                "{}:{p}\n{out}",
                t.key
            );
        }
    }
    // ... yet answers a stray ACK with a RST (nmap -sA: "unfiltered").
    let out = nmap(
        lab,
        &[
            "-sA",
            "-n",
            "-Pn",
            "-p",
            "80",
            "-oG",
            "-",
            &winfw.ip.to_string(),
        ],
    );
    assert_eq!(
        grepable_ports(&out).get(&80).map(String::as_str),
        Some("unfiltered"),
        "{out}"
    );
}

#[test]
fn new_hosts_have_dns_names() {
    let Some(lab) = common::shared_lab_or_skip("new_hosts_have_dns_names") else {
        return;
    };
    let mut names = vec![lab.host("lossall").name.clone()];
    names.extend(["win", "winfw", "slow", "policed"].map(|k| lab.wan_target(k).name.clone()));
    let args: Vec<&str> = std::iter::once("resolve")
        .chain(names.iter().map(String::as_str))
        .collect();
    let result = lab.probe(&args);
    let h = lab.host("lossall");
    assert_eq!(
        result[&h.name],
        serde_json::json!([h.ip.to_string(), h.ipv6.to_string()])
    );
    for k in ["win", "winfw", "slow", "policed"] {
        let t = lab.wan_target(k);
        assert_eq!(
            result[&t.name],
            serde_json::json!([t.ip.to_string()]),
            "{result}"
        );
        assert!(
            lab.dns()
                .expected
                .iter()
                .any(|e| e.rtype == "PTR" && e.answers == [t.name.clone()]),
            "{k}: no PTR expectation"
        );
    }
}
