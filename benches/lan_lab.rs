//! `netdx lan` in the LAN-safety lab with every trouble switched on (rogue DHCP, duplicate
//! IP, gratuitous-ARP spoofer, rogue IPv6 router) and the switch port announcing LLDP and CDP
//! every 5 s, needs root: the wall time of the whole
//! process with the default 5 s window against the 6 s target, each run's findings
//! checked against the lab; beside it, in the same lab, the peers that cover one check each
//! where installed: `nmap --script broadcast-dhcp-discover` (DHCP servers) and `arp-scan
//! --localnet` (duplicates: its DUP lines).
//!
//! `cargo bench --bench lan_lab` (`-- --quick` for fewer runs).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::bench::{Table, median};
use common::lan_lab::{LanFlags, LanLab};
use netdx::core::alert::AlertKind;
use netdx::core::lan::LanReport;

fn timed(lab: &LanLab, argv: &[&str]) -> (Duration, Output) {
    let start = Instant::now();
    let out = Command::new("timeout")
        .args(["60", "ip", "netns", "exec", lab.scanner_ns()])
        .args(argv)
        .stdin(Stdio::null())
        .env("NETDX_CONFIG", "/dev/null")
        .output()
        .expect("spawn");
    (start.elapsed(), out)
}

fn have(tool: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(tool).exists())
}

/// Whether a run found exactly the lab's trouble: both DHCP servers, the duplicate with both
/// MACs, the spoofer's claim, the rogue router, one alert each; and the switch port.
fn right(lab: &LanLab, r: &LanReport) -> bool {
    let i = lab.info();
    let (Some(rogue), Some(dup), Some(spoof), Some(ra), Some(sw)) = (
        &i.rogue_dhcp,
        &i.duplicate,
        &i.spoofer,
        &i.rogue_ra,
        &i.switch,
    ) else {
        return false;
    };
    let kinds: Vec<AlertKind> = r.alerts.iter().map(|a| a.kind).collect();
    kinds
        == [
            AlertKind::RogueDhcp,
            AlertKind::DuplicateIp,
            AlertKind::GatewayMacChanged,
            AlertKind::RogueRouter,
        ]
        && r.dhcp.offers.len() == 2
        && r.dhcp
            .offers
            .iter()
            .any(|o| o.rogue && o.server == rogue.ip)
        && r.duplicates.duplicates.len() == 1
        && r.duplicates.duplicates[0].ip == dup.ip
        && r.duplicates.duplicates[0].macs.len() == 2
        && r.arp_watch.claims.len() == 1
        && r.arp_watch.claims[0].claimed_by.to_string() == spoof.mac
        && r.routers.routers.len() == 2
        && r.routers
            .routers
            .iter()
            .any(|x| !x.expected && x.router == ra.link_local)
        && !r.switch.ports.is_empty()
        && r.switch.ports.iter().all(|p| {
            p.switch_name.as_deref() == Some(sw.name.as_str())
                && p.port.as_deref() == Some(sw.port.as_str())
                && p.vlan == Some(sw.vlan)
        })
}

fn secs(v: &[Duration]) -> Vec<f64> {
    v.iter().map(Duration::as_secs_f64).collect()
}

fn main() {
    if !common::require_root("lan_lab bench") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 3 } else { 10 };
    let lab = LanLab::up(LanFlags::ALL);
    let netdx = env!("CARGO_BIN_EXE_netdx");
    let mut table = Table::default();

    // One warm-up: page cache, the bridge's forwarding table.
    let _ = timed(&lab, &[netdx, "lan", "--json", "--window", "1"]);
    let mut times = Vec::new();
    let mut correct = 0;
    for _ in 0..n {
        let (t, out) = timed(&lab, &[netdx, "lan", "--json"]);
        times.push(t);
        if let Ok(r) = serde_json::from_slice::<LanReport>(&out.stdout)
            && out.status.code() == Some(1)
            && right(&lab, &r)
        {
            correct += 1;
        }
    }
    let worst = times.iter().max().copied().unwrap_or_default();
    let med = median(secs(&times));
    println!(
        "netdx lan, full lab, 5 s window: median {med:.3} s, worst {:.3} s, right {correct}/{n}",
        worst.as_secs_f64()
    );

    // nmap's DHCP discovery, with its default 10 s wait and with the same 5 s as netdx.
    let mut dhcp_peer = "not installed".to_string();
    let mut dhcp_peer5 = "not installed".to_string();
    if have("nmap") {
        for (timeout, slot) in [(None, &mut dhcp_peer), (Some("5s"), &mut dhcp_peer5)] {
            let mut argv = vec!["nmap", "-e", "eth0", "--script", "broadcast-dhcp-discover"];
            let arg;
            if let Some(t) = timeout {
                arg = format!("broadcast-dhcp-discover.timeout={t}");
                argv.extend(["--script-args", &arg]);
            }
            let (t, out) = timed(&lab, &argv);
            let text = String::from_utf8_lossy(&out.stdout);
            let servers = text.matches("Server Identifier:").count();
            *slot = format!("{:.2} s, {servers} servers", t.as_secs_f64());
        }
    }
    // arp-scan's sweep of the /24: its DUP lines are the duplicates.
    let mut dup_peer = "not installed".to_string();
    if have("arp-scan") {
        let (t, out) = timed(&lab, &["arp-scan", "-I", "eth0", "--localnet"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let dups = text.lines().filter(|l| l.contains("(DUP:")).count();
        dup_peer = format!("{:.2} s, {dups} DUP line(s)", t.as_secs_f64());
    }

    table.row(
        "full LAN check (DHCP, dup, ARP, RA, LLDP every 5 s), 5 s window",
        format!("{med:.2} s median, {:.2} s worst", worst.as_secs_f64()),
        "(no single peer)".into(),
        "<= 6 s",
        Some(worst <= Duration::from_secs(6)),
    );
    table.row(
        "findings right (4 problems and the switch port, exact)",
        format!("{correct}/{n} runs"),
        "-".into(),
        "all",
        Some(correct == n),
    );
    table.row(
        "DHCP servers (2 in the lab)",
        "2 in every right run".into(),
        format!("nmap broadcast-dhcp-discover: {dhcp_peer}"),
        "-",
        None,
    );
    table.row(
        "DHCP servers, 5 s wait",
        format!("{med:.2} s (all checks)"),
        format!("nmap ...timeout=5s: {dhcp_peer5}"),
        "-",
        None,
    );
    table.row(
        "duplicate IP (1 in the lab)",
        "1 with both MACs".into(),
        format!("arp-scan --localnet: {dup_peer}"),
        "-",
        None,
    );
    table.print();
}
