//! `netdx scan` against the namespace lab: every assertion compares netdx's report with the
//! lab's own ground truth (tests/lab/topology.json as built by lab.py).
//!
//! Scans in this binary take a mutex: a 65,535-port scan running beside a sweep on two cores
//! would measure the machine, not netdx.

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use common::Icmp;
use common::report::{
    expect_success, host, methods, port_state, port_states, read_report, state_label,
};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The full picture of the lab from one scan: who is up and how, MACs, vendors, names, and
/// the state of every port the ground truth names.
#[test]
fn sweep_matches_ground_truth() {
    let Some(lab) = common::shared_lab_or_skip("sweep_matches_ground_truth") else {
        return;
    };
    let _g = serial();
    let mut ports = BTreeSet::new();
    for h in lab.hosts() {
        ports.extend(h.open.iter().chain(&h.closed).chain(&h.filtered).copied());
    }
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    let dir = common::report_dir();
    let out_path = dir.path().join("lab.json");
    let out = lab.netdx(&[
        "scan",
        &lab.info().lan.ipv4,
        "-p",
        &ports.join(","),
        // Enough tries that the 30 % loss host is missed by ICMP once in 10^5 runs.
        "--tries",
        "10",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    expect_success(&out);
    let report = read_report(&out_path);
    assert_eq!(report["complete"], true);
    assert_eq!(report["interrupted"], false);

    for h in lab.hosts() {
        let r = host(&report, &h.ip.to_string());
        assert_eq!(r["status"], "up", "{} should be up", h.key);
        let m = methods(r);
        assert!(
            m.contains("arp"),
            "{}: ARP must find every LAN host: {m:?}",
            h.key
        );
        assert_eq!(
            m.contains("icmp"),
            h.icmp != Icmp::Drops,
            "{}: icmp method vs ground truth {:?}: {m:?}",
            h.key,
            h.icmp
        );
        assert_eq!(r["mac"], h.mac.to_string(), "{}: MAC", h.key);
        if h.mac.is_local() {
            assert_eq!(r["vendor"], "(locally administered)", "{}", h.key);
        } else {
            let vendor = r["vendor"].as_str().unwrap_or_else(|| {
                panic!("{}: no vendor for {}", h.key, h.mac);
            });
            let truth = h.vendor.as_deref().expect("ground truth vendor");
            let first_word = truth.split([' ', ',']).next().unwrap().to_lowercase();
            assert!(
                vendor.to_lowercase().contains(&first_word),
                "{}: vendor {vendor:?} vs {truth:?}",
                h.key
            );
        }
        assert_eq!(r["hostname"], h.name, "{}: PTR name", h.key);
        for &p in h.open.iter().chain(&h.closed).chain(&h.filtered) {
            let got = port_state(r, p);
            // A host losing IP packets may eat every try of one port: filtered is no lie there.
            if !h.exact_tcp() && got == "filtered" {
                continue;
            }
            assert_eq!(got, state_label(h.port_state(p)), "{} port {p}", h.key);
        }
        if h.answers_ping() {
            assert_eq!(r["loss_pct"], 0.0, "{}: no loss expected", h.key);
            assert!(r["rtt_ms"].as_f64().unwrap() > 0.0);
        }
        if h.icmp == Icmp::Drops {
            // Up by ARP or TCP, every echo dropped: "ping blocked", not 100 % loss.
            assert!(r["loss_pct"].is_null(), "{}: {r}", h.key);
            assert_eq!(r["ping_blocked"], true, "{}: {r}", h.key);
            assert!(m.contains("tcp"), "{}: open ports prove it up", h.key);
        }
    }
    for ip in lab.down_addresses() {
        if ip.is_ipv4() {
            let r = host(&report, &ip.to_string());
            assert_eq!(r["status"], "no_answer", "{ip} is not in use");
            assert!(methods(r).is_empty());
            assert!(
                port_states(r).is_empty(),
                "silent addresses get no port scan"
            );
        }
    }
    // Every lab host plus the scanner itself; nothing invented.
    let up: Vec<&Value> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "up")
        .collect();
    assert_eq!(up.len(), lab.hosts().len() + 1, "up hosts: {up:#?}");
    assert_eq!(report["summary"]["hosts_total"], 254);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("web.lab.test"), "summary table:\n{stdout}");
}

/// DNS answers, statuses and the server that answered, against the records the lab serves.
#[test]
fn dns_queries_match_lab_records() {
    let Some(lab) = common::shared_lab_or_skip("dns_queries_match_lab_records") else {
        return;
    };
    let _g = serial();
    let dns = lab.dns();
    let mut args = vec![
        "scan".to_string(),
        dns.server.to_string(),
        "--no-arp".into(),
    ];
    for e in &dns.expected {
        args.push("--dns".into());
        args.push(format!("{}:{}", e.name, e.rtype));
    }
    let dir = common::report_dir();
    let out_path = dir.path().join("dns.json");
    args.push("-o".into());
    args.push(out_path.to_str().unwrap().into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab.netdx(&argv);
    expect_success(&out);
    let report = read_report(&out_path);
    let results = report["dns"].as_array().unwrap();
    let server = format!("{}:53", dns.server);
    let mut checked = 0;
    for e in &dns.expected {
        let r = results
            .iter()
            .find(|r| {
                r["name"].as_str().unwrap().trim_end_matches('.') == e.name && r["type"] == e.rtype
            })
            .unwrap_or_else(|| panic!("no result for {} {}", e.name, e.rtype));
        assert_eq!(r["status"], e.rcode, "{} {}", e.name, e.rtype);
        let mut got: Vec<String> = r["answers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == e.rtype)
            .map(|a| {
                let v = a["value"].as_str().unwrap().trim_end_matches('.');
                v.replace(". ", " ")
            })
            .collect();
        got.sort();
        let mut want: Vec<String> = e
            .answers
            .iter()
            .map(|a| a.trim_end_matches('.').to_string())
            .collect();
        want.sort();
        assert_eq!(got, want, "{} {}", e.name, e.rtype);
        if e.rcode != "REFUSED" {
            assert_eq!(r["server"], server.as_str(), "{} {}", e.name, e.rtype);
        }
        assert!(r["rtt_ms"].as_f64().is_some());
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} DNS expectations in the lab");
}

/// A host that drops ICMP, scanned without ARP and without ping, is found by its ports alone.
#[test]
fn no_ping_finds_hosts_by_tcp() {
    let Some(lab) = common::shared_lab_or_skip("no_ping_finds_hosts_by_tcp") else {
        return;
    };
    let _g = serial();
    let laptop = lab.host("laptop");
    let dir = common::report_dir();
    let out_path = dir.path().join("np.json");
    let down = lab.down_addresses()[0].to_string();
    let out = lab.netdx(&[
        "scan",
        &laptop.ip.to_string(),
        &down,
        "--no-ping",
        "--no-arp",
        "-p",
        "22,80",
        "--timeout",
        "300",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    expect_success(&out);
    let report = read_report(&out_path);
    let r = host(&report, &laptop.ip.to_string());
    assert_eq!(r["status"], "up");
    assert_eq!(methods(r), BTreeSet::from(["tcp".to_string()]));
    assert_eq!(port_state(r, 22), "open");
    assert_eq!(port_state(r, 80), "closed");
    let d = host(&report, &down);
    assert_eq!(d["status"], "no_answer", "nothing answers at {down}");
    assert_eq!(port_state(d, 22), "filtered");
}

/// A name target resolves through the system resolver of the namespace (the lab's dnsmasq);
/// IPv6 addresses are pinged and port-checked like IPv4 ones; exclusions hold.
#[test]
fn names_ipv6_and_exclusions() {
    let Some(lab) = common::shared_lab_or_skip("names_ipv6_and_exclusions") else {
        return;
    };
    let _g = serial();
    let web = lab.host("web");
    let dir = common::report_dir();
    let out_path = dir.path().join("names.json");
    let out = lab.netdx(&[
        "scan",
        &web.name,
        "10.77.0.20-25",
        "--exclude",
        "10.77.0.21-24",
        "-p",
        "80,8080",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    expect_success(&out);
    let report = read_report(&out_path);
    let ips: BTreeSet<String> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ip"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = [
        web.ip.to_string(),
        web.ipv6.to_string(),
        "10.77.0.25".into(),
    ]
    .into_iter()
    .collect();
    assert_eq!(ips, want);
    let v6 = host(&report, &web.ipv6.to_string());
    assert_eq!(v6["status"], "up");
    assert!(methods(v6).contains("icmp"));
    assert_eq!(v6["target_name"], web.name);
    assert_eq!(port_state(v6, 80), "open");
    assert_eq!(port_state(v6, 8080), "closed");
    let forward: Vec<&Value> = report["dns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["name"].as_str().unwrap().trim_end_matches('.') == web.name)
        .collect();
    assert_eq!(forward.len(), 2, "A and AAAA lookups: {forward:#?}");
}

/// A name pinned in /etc/hosts is found without DNS when netdx uses the system resolver
/// (`ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts).
#[test]
fn hosts_file_names_resolve_before_dns() {
    let Some(lab) = common::shared_lab_or_skip("hosts_file_names_resolve_before_dns") else {
        return;
    };
    let _g = serial();
    let web = lab.host("web");
    let hosts = lab
        .dns()
        .resolv_conf
        .parent()
        .expect("etc/netns dir")
        .join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1 localhost\n{} pinned-web\n", web.ip),
    )
    .unwrap();
    let dir = common::report_dir();
    let out_path = dir.path().join("hosts.json");
    let out = lab.netdx(&[
        "scan",
        "pinned-web",
        "-p",
        "80",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    std::fs::remove_file(&hosts).unwrap();
    expect_success(&out);
    let report = read_report(&out_path);
    let r = host(&report, &web.ip.to_string());
    assert_eq!(r["target_name"], "pinned-web");
    assert_eq!(port_state(r, 80), "open");
    assert!(
        report["dns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["name"] != "pinned-web"),
        "no DNS query for a name the hosts file answers"
    );
    let notes = report["notes"].to_string();
    assert!(notes.contains("/etc/hosts"), "{notes}");
}

/// With a descriptor limit of 256 a 5,000-port scan must neither fail with EMFILE nor report
/// a port wrongly: the window is sized from the limit.
#[test]
fn low_fd_limit_no_emfile() {
    let Some(lab) = common::shared_lab_or_skip("low_fd_limit_no_emfile") else {
        return;
    };
    let _g = serial();
    let web = lab.host("web");
    let dir = common::report_dir();
    let out_path = dir.path().join("fd.json");
    let script = format!(
        "ulimit -Sn 256 -Hn 256 && exec {} scan {} -p 1-5000 --no-rdns -o {}",
        env!("CARGO_BIN_EXE_netdx"),
        web.ip,
        out_path.display()
    );
    let out = lab.in_scanner(&["bash", "-c", &script]);
    expect_success(&out);
    let report = read_report(&out_path);
    let r = host(&report, &web.ip.to_string());
    let ports = port_states(r);
    assert_eq!(ports.len(), 5000);
    for (n, state) in ports {
        assert_eq!(
            state,
            state_label(web.port_state(n)),
            "port {n} under ulimit -n 256"
        );
    }
}

/// `netdx <args>` started in the scanner's namespace (under `timeout`), output piped.
fn spawn_netdx(lab: &common::Lab, args: &[&str]) -> std::process::Child {
    lab.netdx_command(args, Duration::from_secs(60))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn netdx")
}

/// The pid of netdx itself: `ip netns exec` execs it, as the child of `timeout` (which
/// may take a moment to start it).
fn netdx_pid(child: &std::process::Child) -> String {
    let pid = child.id();
    let start = std::time::Instant::now();
    loop {
        let found = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string));
        match found {
            Some(p) => return p,
            None if start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            None => panic!("no netdx process under timeout"),
        }
    }
}

/// Ctrl-C in the middle of a long scan: exit 130, the summary still printed, the report
/// written and marked incomplete.
#[test]
fn interrupted_scan_keeps_results() {
    let Some(lab) = common::shared_lab_or_skip("interrupted_scan_keeps_results") else {
        return;
    };
    let _g = serial();
    let drop = lab.host("drop");
    let dir = common::report_dir();
    let out_path = dir.path().join("int.json");
    let web: std::net::Ipv4Addr = "10.77.0.20".parse().unwrap();
    let syn_acks = common::InputCounter::new(
        lab,
        &format!("ip saddr {web} tcp sport 22 tcp flags & (syn | ack) == syn | ack"),
    );
    // Every port of the blackhole host times out, at the full 5 s timeout with no RTT known
    // (--no-ping, --no-arp): minutes of work, interrupted once web has answered.
    let child = spawn_netdx(
        lab,
        &[
            "scan",
            &drop.ip.to_string(),
            "10.77.0.20",
            "--no-ping",
            "--no-arp",
            "-p",
            "all",
            "--timeout",
            "5000",
            "-o",
            out_path.to_str().unwrap(),
        ],
    );
    // Interrupt once web's port 22 has answered (its SYN-ACK counted on arrival at the
    // scanner), not after a guessed delay: what was found before the interrupt must be kept.
    let answered = syn_acks.wait(1, Duration::from_secs(30));
    assert!(answered, "web:22 never answered the scan");
    let target = netdx_pid(&child);
    let status = std::process::Command::new("kill")
        .args(["-INT", &target])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait netdx");
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_report(&out_path);
    assert_eq!(report["complete"], false);
    assert_eq!(report["interrupted"], true);
    // What was found before the interrupt is kept: web's low ports answer at once.
    let web = host(&report, "10.77.0.20");
    assert_eq!(port_state(web, 22), "open");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
}

/// Packet sockets open in the network namespace of process `pid` (netdx is the only process
/// in the scanner's), or `None` once the process is gone.
fn packet_sockets(pid: &str) -> Option<usize> {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/packet")).ok()?;
    Some(table.lines().skip(1).count())
}

/// A one-shot scan closes its ARP channel once discovery is over (closing a packet socket
/// waits for the kernel, which at exit would delay the end of every scan), and discovery
/// still had it: the blackhole host is found by ARP while the port scan runs on without it.
#[test]
fn one_shot_scan_closes_its_arp_channel_after_discovery() {
    let Some(lab) =
        common::shared_lab_or_skip("one_shot_scan_closes_its_arp_channel_after_discovery")
    else {
        return;
    };
    let _g = serial();
    let drop = lab.host("drop").ip.to_string();
    // All ports of the policed host take at least 6.5 s whatever the machine (its router
    // passes 10,000 packets a second): the scan is still running long after discovery.
    let policed = lab.wan_target("policed").ip.to_string();
    let dir = common::report_dir();
    let out_path = dir.path().join("arp.json");
    let child = spawn_netdx(
        lab,
        &[
            "scan",
            &drop,
            &policed,
            "-p",
            "all",
            "--no-rdns",
            "--no-names",
            "-o",
            out_path.to_str().unwrap(),
        ],
    );
    let target = netdx_pid(&child);
    let start = std::time::Instant::now();
    let mut counts = Vec::new();
    let mut closed = false;
    while start.elapsed() < Duration::from_secs(5) {
        let Some(n) = packet_sockets(&target) else {
            break; // netdx ended: fails below
        };
        counts.push(n);
        // Discovery of the two hosts takes milliseconds (the ARP wait is 250 ms at most).
        if n == 0 && start.elapsed() >= Duration::from_secs(1) {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let still_running = packet_sockets(&target).is_some();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &target])
        .status();
    let out = child.wait_with_output().expect("wait netdx");
    assert!(
        closed && still_running,
        "the ARP channel stayed open (packet sockets every 20 ms: {counts:?}), or the scan \
         ended first; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_report(&out_path);
    assert!(
        methods(host(&report, &drop)).contains("arp"),
        "blackhole host not found by ARP"
    );
}

/// Without CAP_NET_RAW: ARP is skipped and said so; ICMP works through unprivileged sockets
/// when ping_group_range allows them, else TCP connects find the hosts.
#[test]
fn unprivileged_fallbacks() {
    // Building its own lab is CPU work too: not beside another test's measurements.
    let _g = serial();
    let Some(lab) = common::lab_or_skip("unprivileged_fallbacks") else {
        return;
    };
    let web = lab.host("web");
    let rst = lab.host("rst");
    let laptop = lab.host("laptop");
    let dir = common::report_dir();
    let run = |name: &str| -> (Value, String, String) {
        let out_path = dir.path().join(name);
        let script = format!(
            "exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all {} scan {} {} {} -o {}",
            env!("CARGO_BIN_EXE_netdx"),
            web.ip,
            rst.ip,
            laptop.ip,
            out_path.display()
        );
        let out = lab.in_scanner(&["bash", "-c", &script]);
        expect_success(&out);
        (
            read_report(&out_path),
            String::from_utf8_lossy(&out.stdout).to_string(),
            // Warnings are said first, on stderr.
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };

    // Kernel default in a new namespace: no unprivileged ICMP.
    let (report, _, stderr) = run("no-icmp.json");
    assert!(stderr.contains("warning: ARP skipped"), "{stderr}");
    assert!(stderr.contains("cap_net_raw"), "{stderr}");
    assert!(stderr.contains("ICMP is not available"), "{stderr}");
    assert_eq!(
        methods(host(&report, &web.ip.to_string())),
        BTreeSet::from(["tcp".into()])
    );
    // Port 80 answers RST on the all-closed host: that proves it up too.
    assert_eq!(host(&report, &rst.ip.to_string())["status"], "up");
    // The laptop drops ICMP and has nothing on 80/443 but answers RST there: up by tcp.
    assert_eq!(host(&report, &laptop.ip.to_string())["status"], "up");

    // Allow unprivileged ICMP for every group: ping sockets work, ARP is still skipped.
    let sysctl = lab.in_scanner(&["sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647"]);
    expect_success(&sysctl);
    let (report, stdout, stderr) = run("dgram.json");
    assert!(stderr.contains("ARP skipped"), "{stderr}");
    assert!(stdout.contains("unprivileged ping sockets"), "{stdout}");
    let w = host(&report, &web.ip.to_string());
    assert!(methods(w).contains("icmp"), "{w}");
    assert_eq!(w["loss_pct"], 0.0);
    // The laptop drops echo; without CAP_NET_RAW the connects to 443 and 80 still find it
    // (refused: a reset proves a host), and the report says how.
    let l = host(&report, &laptop.ip.to_string());
    assert_eq!(l["status"], "up", "{l}");
    assert_eq!(methods(l), BTreeSet::from(["tcp".into()]));
    let proof = l["proof"].as_str().unwrap_or_default();
    assert!(proof.starts_with("TCP connect to port"), "{proof}");
    assert!(report["port_scan"].is_null(), "no ports were asked for");
    lab.down();
}

/// Bad input: one line naming the bad token, exit code 2, nothing sent. Runs without root.
#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["scan", "10.0.0.0/33"], "10.0.0.0/33"),
        (&["scan", "300.1.1.1"], "300.1.1.1"),
        (&["scan", "127.0.0.1", "-p", "1-70000"], "1-70000"),
        (&["scan", "127.0.0.1", "-p", "0"], "'0'"),
        (&["scan", "10.0.0.0/8"], "--allow-large"),
        (&["scan"], "no targets"),
        (
            &["scan", "-f", "/nonexistent/targets.txt"],
            "/nonexistent/targets.txt",
        ),
        (&["scan", "127.0.0.1", "--dns", "x.test:BOGUS"], "BOGUS"),
        (&["scan", "127.0.0.1", "--resolver", "1.2.3"], "1.2.3"),
        (&["scan", "127.0.0.1", "--timeout", "abc"], "abc"),
        (
            &["scan", "127.0.0.1", "-o", "/nonexistent/dir/r.json"],
            "/nonexistent/dir",
        ),
        (&["scan", "127.0.0.1", "-o", "report.docx"], "report.docx"),
    ];
    let empty = tempfile::NamedTempFile::new().unwrap();
    let empty_path = empty.path().to_str().unwrap().to_string();
    let mut all: Vec<(Vec<&str>, &str)> = cases.iter().map(|(a, t)| (a.to_vec(), *t)).collect();
    all.push((vec!["scan", "-f", &empty_path], "no targets"));
    for (args, token) in all {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run netdx");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(token), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if !args.contains(&"--timeout") {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        }
    }
}
