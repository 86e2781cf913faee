//! `netdx lan` in the LAN-safety lab (tests/lab/lan_lab.py): every check asserted exactly
//! against the lab's ground truth, with its trouble switched off and on. The checks whose
//! accuracy matters most (rogue DHCP, duplicate IP) run several times on one lab: a check that
//! is right 7 times in 10 is a bug.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::lan_lab::{LanFlags, LanLab, lan_lab_or_skip};
use netdx::core::alert::AlertKind;
use netdx::core::lan::{CheckStatus, LanReport};
use netdx::core::model::MacAddr;

fn mac(s: &str) -> MacAddr {
    s.parse().expect("lab MAC")
}

/// Runs `netdx lan --json` with `extra` args; returns the report, the exit code, the wall time.
fn lan(lab: &LanLab, extra: &[&str]) -> (LanReport, i32, Duration) {
    let mut args = vec!["lan", "--json"];
    args.extend_from_slice(extra);
    let t = Instant::now();
    let out = lab.netdx(&args);
    let took = t.elapsed();
    let code = out.status.code().unwrap_or(-1);
    let report: LanReport = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "netdx lan printed no report ({e}), exit {code}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, code, took)
}

/// Every check ran its window.
fn all_ran(r: &LanReport) {
    assert_eq!(r.dhcp.status, CheckStatus::Done, "dhcp");
    assert_eq!(r.duplicates.status, CheckStatus::Done, "duplicates");
    assert_eq!(r.arp_watch.status, CheckStatus::Done, "arp watch");
    assert_eq!(r.routers.status, CheckStatus::Done, "routers");
    assert_eq!(r.switch.status, CheckStatus::Done, "switch");
}

/// The switch port exactly as the lab's switch announces it, by LLDP (and CDP when heard).
fn assert_switch(lab: &LanLab, r: &LanReport) {
    let truth = lab.info().switch.as_ref().expect("the lab runs --switch");
    assert!(
        !r.switch.ports.is_empty(),
        "no switch port heard: {:?}",
        r.switch
    );
    for p in &r.switch.ports {
        assert_eq!(p.switch_name.as_deref(), Some(truth.name.as_str()), "{p:?}");
        assert_eq!(p.port.as_deref(), Some(truth.port.as_str()), "{p:?}");
        assert_eq!(p.vlan, Some(truth.vlan), "{p:?}");
        assert_eq!(
            p.management_address,
            Some(std::net::IpAddr::V4(truth.mgmt)),
            "{p:?}"
        );
    }
    let lldp = r
        .switch
        .ports
        .iter()
        .find(|p| p.protocol == netdx::core::lan::SwitchProtocol::Lldp)
        .expect("LLDP heard");
    assert_eq!(
        lldp.port_description.as_deref(),
        Some(truth.port_desc.as_str())
    );
}

/// No lease was taken: every dnsmasq's lease file is still empty.
fn no_lease(lab: &LanLab) {
    let mut files = vec![lab.info().gateway.dhcp.leases.clone()];
    files.extend(lab.info().rogue_dhcp.iter().map(|d| d.leases.clone()));
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.trim().is_empty(), "a lease was taken ({f}): {text}");
    }
}

/// The gateway's offer, exactly as its dnsmasq is configured.
fn assert_gateway_offer(lab: &LanLab, o: &netdx::core::lan::DhcpOffer) {
    let gw = &lab.info().gateway.dhcp;
    assert_eq!(o.server, gw.ip);
    assert_eq!(o.server_mac, Some(mac(&gw.mac)));
    assert!(
        (gw.dhcp_range[0]..=gw.dhcp_range[1]).contains(&o.offered),
        "offered {} outside {:?}",
        o.offered,
        gw.dhcp_range
    );
    assert_eq!(o.routers, vec![gw.router]);
    assert_eq!(o.dns, gw.dns);
    assert_eq!(o.domain.as_deref(), Some(gw.domain.as_str()));
    assert_eq!(o.lease_s, Some(gw.lease_s));
    assert_eq!(o.subnet_mask, Some("255.255.255.0".parse().unwrap()));
    assert!(!o.rogue);
}

#[test]
fn clean_lan_is_clean_and_each_check_says_what_it_saw() {
    let Some(lab) = lan_lab_or_skip("clean_lan", LanFlags::default()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lan.json");
    let (r, code, took) = lan(&lab, &["-o", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#?}");
    all_ran(&r);
    // No switch announces here: the listener waited its window and says so.
    assert!(r.switch.ports.is_empty(), "{:?}", r.switch);
    assert!(r.switch.listened_s >= 4.5, "{:?}", r.switch);
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
    assert_eq!(r.interface, lab.info().iface);
    // DHCP: exactly the gateway's offer.
    assert_eq!(r.dhcp.offers.len(), 1, "{:?}", r.dhcp.offers);
    assert_gateway_offer(&lab, &r.dhcp.offers[0]);
    // Duplicates: the whole /24 but us, no duplicate.
    assert_eq!(r.duplicates.probed, 253);
    assert!(r.duplicates.duplicates.is_empty());
    assert_eq!(r.duplicates.note, None);
    // Gateway: found, answering from its MAC, nobody else claims it.
    let gw = &lab.info().gateway;
    assert_eq!(r.arp_watch.gateway, Some(gw.dhcp.ip));
    assert_eq!(r.arp_watch.gateway_mac, Some(mac(&gw.dhcp.mac)));
    assert!(r.arp_watch.claims.is_empty(), "{:?}", r.arp_watch.claims);
    // IPv6: the gateway's radvd, expected, with its prefix and RDNSS.
    assert_eq!(r.routers.routers.len(), 1, "{:?}", r.routers.routers);
    let ra = &r.routers.routers[0];
    assert_eq!(ra.router, gw.link_local);
    assert_eq!(ra.mac, Some(mac(&gw.dhcp.mac)));
    assert!(ra.expected);
    assert_eq!(ra.lifetime_s, 1800);
    assert_eq!(
        ra.prefixes
            .iter()
            .map(|p| p.prefix.as_str())
            .collect::<Vec<_>>(),
        [gw.prefix.as_str()]
    );
    assert!(ra.prefixes[0].autonomous && ra.prefixes[0].on_link);
    assert_eq!(ra.dns, vec![gw.ra_dns]);
    // The file says what stdout said.
    let file: LanReport =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("report")).expect("json");
    assert_eq!(file, r);
    assert!(took < Duration::from_secs(8), "took {took:?}");
    no_lease(&lab);

    // The text names every check and what it found.
    let out = lab.netdx(&["lan", "--window", "2"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "No problem found",
        "DHCP servers: sent a DHCPDISCOVER (no lease taken); 1 server offered",
        "Duplicate IPs: asked 253 addresses by ARP; none is answered by two MACs",
        "no other MAC claimed its address",
        "IPv6 routers: sent a router solicitation; 1 router advertised",
        "Switch port: listened 2 s; no LLDP or CDP frame heard (switches announce every 30 s by default: --switch-wait 30)",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checking eth0"),
        "progress on stderr"
    );
}

#[test]
fn a_rogue_dhcp_server_is_named_every_time() {
    let Some(lab) = lan_lab_or_skip(
        "rogue_dhcp",
        LanFlags {
            rogue_dhcp: true,
            ..LanFlags::default()
        },
    ) else {
        return;
    };
    let rogue = lab.info().rogue_dhcp.clone().expect("rogue in lab");
    let gw = lab.info().gateway.dhcp.clone();
    for run in 0..10 {
        let window: &[&str] = if run == 0 { &[] } else { &["--window", "2"] };
        let (r, code, _) = lan(&lab, window);
        assert_eq!(code, 1, "run {run}: {r:#?}");
        all_ran(&r);
        assert_eq!(r.dhcp.offers.len(), 2, "run {run}: {:?}", r.dhcp.offers);
        let legit = r
            .dhcp
            .offers
            .iter()
            .find(|o| o.server == gw.ip)
            .expect("gateway offer");
        assert_gateway_offer(&lab, legit);
        let bad = r
            .dhcp
            .offers
            .iter()
            .find(|o| o.server == rogue.ip)
            .expect("rogue offer");
        assert!(bad.rogue);
        assert_eq!(bad.server_mac, Some(mac(&rogue.mac)));
        assert_eq!(bad.vendor.as_deref(), Some("Raspberry Pi Foundation"));
        assert!((rogue.dhcp_range[0]..=rogue.dhcp_range[1]).contains(&bad.offered));
        assert_eq!(bad.routers, vec![rogue.router]);
        assert_eq!(bad.dns, rogue.dns);
        assert_eq!(r.alerts.len(), 1, "run {run}: {:?}", r.alerts);
        let a = &r.alerts[0];
        assert_eq!(a.kind, AlertKind::RogueDhcp);
        assert_eq!(a.ip, Some(IpAddr::V4(rogue.ip)));
        assert_eq!(
            a.text,
            format!(
                "rogue DHCP server {} (Raspberry Pi Foundation) offers {} with router {}; the \
                 other server is {}",
                rogue.ip, bad.offered, rogue.router, gw.ip
            )
        );
    }
    // Told which server is allowed, the other one is the rogue.
    let (r, code, _) = lan(
        &lab,
        &["--window", "2", "--expect-dhcp", &rogue.ip.to_string()],
    );
    assert_eq!(code, 1);
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(r.alerts[0].ip, Some(IpAddr::V4(gw.ip)));
    no_lease(&lab);
}

#[test]
fn a_duplicate_address_shows_both_macs_every_time() {
    let Some(lab) = lan_lab_or_skip(
        "duplicate",
        LanFlags {
            duplicate: true,
            ..LanFlags::default()
        },
    ) else {
        return;
    };
    let dup = lab.info().duplicate.clone().expect("duplicate in lab");
    let mut want: Vec<MacAddr> = dup.macs.iter().map(|m| mac(m)).collect();
    want.sort();
    for run in 0..10 {
        let window: &[&str] = if run == 0 { &[] } else { &["--window", "2"] };
        let (r, code, _) = lan(&lab, window);
        assert_eq!(code, 1, "run {run}");
        all_ran(&r);
        assert_eq!(
            r.duplicates.duplicates.len(),
            1,
            "run {run}: {:?}",
            r.duplicates
        );
        let d = &r.duplicates.duplicates[0];
        assert_eq!(d.ip, dup.ip);
        assert_eq!(d.macs, want);
        assert_eq!(r.alerts.len(), 1, "run {run}: {:?}", r.alerts);
        assert_eq!(r.alerts[0].kind, AlertKind::DuplicateIp);
        assert_eq!(
            r.alerts[0].text,
            format!(
                "duplicate IP {}: answered by {} and {}",
                dup.ip, want[0], want[1]
            )
        );
        // Nothing else is disturbed by it.
        assert_eq!(r.dhcp.offers.len(), 1);
        assert!(r.arp_watch.claims.is_empty());
    }
    // Only the addresses asked for: the duplicate is still found, nothing else is asked.
    let (r, code, _) = lan(&lab, &["--window", "1", "--addresses", &dup.ip.to_string()]);
    assert_eq!(code, 1);
    assert_eq!(r.duplicates.probed, 1);
    assert_eq!(r.duplicates.duplicates.len(), 1);
}

#[test]
fn gratuitous_arp_for_the_gateway_is_a_claim() {
    let Some(lab) = lan_lab_or_skip(
        "spoof_gateway",
        LanFlags {
            spoof_gateway: true,
            ..LanFlags::default()
        },
    ) else {
        return;
    };
    let spoofer = mac(&lab.info().spoofer.clone().expect("spoofer").mac);
    let gw = lab.info().gateway.dhcp.clone();
    for run in 0..10 {
        let (r, code, _) = lan(&lab, if run == 0 { &[] } else { &["--window", "2"] });
        assert_eq!(code, 1, "run {run}");
        all_ran(&r);
        assert_eq!(r.arp_watch.gateway_mac, Some(mac(&gw.mac)), "run {run}");
        assert_eq!(r.arp_watch.claims.len(), 1, "run {run}: {:?}", r.arp_watch);
        let c = &r.arp_watch.claims[0];
        assert_eq!(c.gateway, gw.ip);
        assert_eq!(c.claimed_by, spoofer);
        assert_eq!(c.expected_mac, Some(mac(&gw.mac)));
        assert!(c.gratuitous);
        assert_eq!(r.alerts.len(), 1, "{:?}", r.alerts);
        assert_eq!(r.alerts[0].kind, AlertKind::GatewayMacChanged);
        assert_eq!(
            r.alerts[0].text,
            format!(
                "gratuitous ARP claims the gateway {} from {spoofer}; the gateway answers from {}",
                gw.ip, gw.mac
            )
        );
    }
}

#[test]
fn a_recorded_gateway_mac_that_changed_is_said() {
    let Some(lab) = lan_lab_or_skip("gateway_changed", LanFlags::default()) else {
        return;
    };
    let gw = lab.info().gateway.dhcp.clone();
    let (r, code, _) = lan(
        &lab,
        &["--window", "1", "--gateway-mac", "02:4c:ab:00:00:fe"],
    );
    assert_eq!(code, 1);
    assert_eq!(r.alerts.len(), 1, "{:?}", r.alerts);
    assert_eq!(
        r.alerts[0].text,
        format!(
            "the gateway {} now answers from MAC {} (was 02:4c:ab:00:00:fe)",
            gw.ip, gw.mac
        )
    );
    // The same MAC as recorded: nothing to say.
    let (r, code, _) = lan(&lab, &["--window", "1", "--gateway-mac", &gw.mac]);
    assert_eq!(code, 0, "{:?}", r.alerts);
}

#[test]
fn a_rogue_ipv6_router_is_flagged_with_its_prefix() {
    let Some(lab) = lan_lab_or_skip(
        "rogue_ra",
        LanFlags {
            rogue_ra: true,
            ..LanFlags::default()
        },
    ) else {
        return;
    };
    let rogue = lab.info().rogue_ra.clone().expect("rogue router");
    let gw = lab.info().gateway.clone();
    for run in 0..10 {
        let (r, code, _) = lan(&lab, if run == 0 { &[] } else { &["--window", "2"] });
        assert_eq!(code, 1, "run {run}");
        all_ran(&r);
        assert_eq!(r.routers.routers.len(), 2, "run {run}: {:?}", r.routers);
        let good = r
            .routers
            .routers
            .iter()
            .find(|x| x.router == gw.link_local)
            .expect("gw");
        assert!(good.expected);
        assert_eq!(good.prefixes[0].prefix, gw.prefix);
        let bad = r
            .routers
            .routers
            .iter()
            .find(|x| x.router == rogue.link_local)
            .expect("rogue");
        assert!(!bad.expected);
        assert_eq!(bad.mac, Some(mac(&rogue.mac)));
        assert_eq!(
            bad.prefixes
                .iter()
                .map(|p| p.prefix.as_str())
                .collect::<Vec<_>>(),
            [rogue.prefix.as_str()]
        );
        assert_eq!(r.alerts.len(), 1, "{:?}", r.alerts);
        assert_eq!(r.alerts[0].kind, AlertKind::RogueRouter);
        assert_eq!(
            r.alerts[0].text,
            format!(
                "unexpected IPv6 router {} ({}) advertises {}",
                rogue.link_local, rogue.mac, rogue.prefix
            )
        );
    }
    // Allowed by the user (besides the gateway's own router, always expected): no alert.
    let (r, code, _) = lan(&lab, &["--window", "2", "--expect-router", &rogue.mac]);
    assert_eq!(code, 0, "{:?}", r.alerts);
    assert!(r.routers.routers.iter().all(|x| x.expected));
}

#[test]
fn everything_at_once_within_six_seconds() {
    let Some(lab) = lan_lab_or_skip("all_at_once", LanFlags::ALL) else {
        return;
    };
    let (r, code, took) = lan(&lab, &[]);
    assert_eq!(code, 1);
    all_ran(&r);
    let kinds: Vec<AlertKind> = r.alerts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AlertKind::RogueDhcp,
            AlertKind::DuplicateIp,
            AlertKind::GatewayMacChanged,
            AlertKind::RogueRouter
        ]
    );
    // 5 s window; the whole process, start-up included, on a shared 2-core machine.
    assert!(took < Duration::from_millis(6500), "took {took:?}");
    assert_switch(&lab, &r);
    no_lease(&lab);
}

#[test]
fn without_privilege_every_check_says_it_did_not_run() {
    let Some(lab) = lan_lab_or_skip("unprivileged", LanFlags::ALL) else {
        return;
    };
    let out = std::process::Command::new("timeout")
        .args(["30", "ip", "netns", "exec", lab.scanner_ns(), "setpriv"])
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_netdx"))
        .args(["lan", "--window", "1"])
        .env("NETDX_CONFIG", "/dev/null")
        .output()
        .expect("spawn");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for needle in [
        "No check could run",
        "DHCP servers: not checked: needs CAP_NET_RAW and CAP_NET_BIND_SERVICE",
        "Duplicate IPs: not checked: needs CAP_NET_RAW: sudo setcap cap_net_raw+ep",
        "Gateway ARP: not checked: needs CAP_NET_RAW",
        "IPv6 routers: not checked: needs CAP_NET_RAW",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    for wrong in [
        "no server offered",
        "none is answered",
        "no other MAC",
        "no router",
    ] {
        assert!(
            !text.contains(wrong),
            "{wrong:?} said of a check that did not run:\n{text}"
        );
    }
}

#[test]
fn without_an_address_the_offers_are_still_heard_and_the_rest_says_why() {
    // The case a technician meets most: no lease, so who is offering what?
    let Some(lab) = lan_lab_or_skip(
        "no_address",
        LanFlags {
            rogue_dhcp: true,
            ..LanFlags::default()
        },
    ) else {
        return;
    };
    let flushed = lab.exec(
        lab.scanner_ns(),
        &["ip", "-4", "addr", "flush", "dev", "eth0"],
    );
    assert!(flushed.status.success());
    let (r, code, _) = lan(&lab, &["-i", "eth0", "--window", "2"]);
    assert_eq!(code, 1);
    assert_eq!(r.dhcp.status, CheckStatus::Done);
    let mut servers: Vec<_> = r.dhcp.offers.iter().map(|o| o.server).collect();
    servers.sort();
    let mut want = vec![
        lab.info().gateway.dhcp.ip,
        lab.info().rogue_dhcp.as_ref().expect("rogue").ip,
    ];
    want.sort();
    assert_eq!(servers, want);
    // The MACs come from the offers' frames: no address is needed to ARP from.
    for o in &r.dhcp.offers {
        let want = if o.server == lab.info().gateway.dhcp.ip {
            &lab.info().gateway.dhcp.mac
        } else {
            &lab.info().rogue_dhcp.as_ref().expect("rogue").mac
        };
        assert_eq!(o.server_mac, Some(mac(want)), "{o:?}");
    }
    // No gateway to judge by: one alert that says so, no server marked.
    assert_eq!(r.alerts.len(), 1, "{:?}", r.alerts);
    assert!(
        r.alerts[0]
            .text
            .starts_with("2 DHCP servers answer and none is known")
    );
    assert!(r.dhcp.offers.iter().all(|o| !o.rogue));
    assert_eq!(
        r.duplicates.status,
        CheckStatus::Skipped {
            reason: "eth0 has no IPv4 address".into()
        }
    );
    assert!(matches!(r.arp_watch.status, CheckStatus::Skipped { .. }));
    assert_eq!(r.routers.status, CheckStatus::Done);
    no_lease(&lab);
}

#[test]
fn ctrl_c_ends_the_window_early_with_130() {
    let Some(lab) = lan_lab_or_skip("interrupted", LanFlags::default()) else {
        return;
    };
    let mut child = lab
        .netdx_command(&["lan", "--window", "10"], Duration::from_secs(30))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Interrupt once the checks run (netdx says so on stderr), not after a guessed sleep.
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("netdx: checking") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(15))
        .expect("netdx lan never said it was checking");
    let started = Instant::now();
    // `timeout` passes SIGINT on to netdx.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not stop early"
    );
    assert_eq!(out.status.code(), Some(130));
    let err = reader.join().expect("stderr reader");
    assert!(err.contains("interrupted"), "{err}");
}

#[test]
fn bad_input_exits_2() {
    let Some(lab) = lan_lab_or_skip("bad_input", LanFlags::default()) else {
        return;
    };
    for args in [
        &["lan", "--window", "0"][..],
        &["lan", "--interface", "nosuch0"],
        &["lan", "--expect-dhcp", "nonsense"],
    ] {
        let out = lab.netdx(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    }
}

/// The dashboard's LAN panel, end to end in tmux: `A` opens the Alerts view, `L` runs the
/// checks on the probe session, and every problem of the lab and its switch port show there,
/// with the header counting the alerts when the view is left.
#[test]
fn dashboard_alerts_view_runs_the_lan_checks() {
    const TEST: &str = "dashboard_alerts_view_runs_the_lan_checks";
    if !common::require(TEST, common::tmux::available(), "needs tmux") {
        return;
    }
    let Some(lab) = lan_lab_or_skip(TEST, LanFlags::ALL) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "ip netns exec {ns} env NETDX_CONFIG=/dev/null NETDX_DATA_DIR={data} {bin} {subnet} --interval 2; \
         echo NETDX-EXIT=$?; exec sleep 60",
        ns = lab.scanner_ns(),
        data = dir.path().join("data").display(),
        bin = env!("CARGO_BIN_EXE_netdx"),
        subnet = lab.info().subnet,
    );
    let t = common::tmux::Tmux::start(
        format!("netdx-lanview-{}", std::process::id()),
        dir.path(),
        &cmd,
        120,
        44,
    );
    t.wait_for("the first sweep", Duration::from_secs(30), |s| {
        s.contains("● monitoring")
    });
    t.type_text("A");
    t.wait_for("the Alerts view", Duration::from_secs(5), |s| {
        s.contains("Not run yet: L runs them")
    });
    t.type_text("L");
    let i = lab.info();
    let rogue = i.rogue_dhcp.as_ref().unwrap().ip.to_string();
    let dup = i.duplicate.as_ref().unwrap().ip.to_string();
    let sw = i.switch.as_ref().unwrap();
    let screen = t.wait_for("the LAN checks", Duration::from_secs(15), |s| {
        s.contains("LAN checks · eth0") && s.contains("Switch port:")
    });
    for want in [
        "✖ DHCP: 2 servers answer".to_string(),
        format!("✖ Duplicate IP {dup}"),
        "✖ Gateway ARP:".to_string(),
        "✖ Unexpected IPv6 router".to_string(),
        format!("✔ Switch port: switch {} port {}", sw.name, sw.port),
        format!("rogue DHCP server {rogue}"),
    ] {
        assert!(screen.contains(&want), "no {want:?} on:\n{screen}");
    }
    t.keys(&["Escape"]);
    let screen = t.wait_for("the host table", Duration::from_secs(5), |s| {
        s.contains("┌ Hosts")
    });
    assert!(
        screen.lines().nth(1).unwrap_or("").contains("alerts (A)"),
        "the header counts the alerts:\n{screen}"
    );
    t.type_text("q");
    t.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=0")
    });
}

/// `netdx scan --lan`: the LAN checks run alongside the scan and land in its summary, its
/// alerts and its reports (JSON and Markdown here; every format is checked by the golden
/// files).
#[test]
fn scan_with_lan_carries_the_checks_into_the_report() {
    let Some(lab) = lan_lab_or_skip("scan_lan", LanFlags::ALL) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let md = dir.path().join("r.md");
    let gw = lab.info().gateway.dhcp.ip.to_string();
    let data = dir.path().join("data");
    let out = lab
        .netdx_command(
            &["scan", &gw, "--lan", "-o", json.to_str().unwrap()],
            Duration::from_secs(30),
        )
        .env("NETDX_DATA_DIR", &data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("LAN checks on eth0 for 5 s alongside the scan"),
        "{stderr}"
    );
    assert!(stdout.contains("LAN checks on eth0"), "{stdout}");
    assert!(stdout.contains("✖ DHCP: 2 servers answer"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let r: LanReport = serde_json::from_value(v["lan"].clone()).expect("lan in the report");
    all_ran(&r);
    assert_switch(&lab, &r);
    let kinds: Vec<&str> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    for k in [
        "rogue_dhcp",
        "duplicate_ip",
        "gateway_mac_changed",
        "rogue_router",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["report"])
        .arg(&json)
        .arg("-o")
        .arg(&md)
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("## LAN checks on eth0"), "{md}");
    assert!(md.contains("| critical | rogue_dhcp |"), "{md}");
}
