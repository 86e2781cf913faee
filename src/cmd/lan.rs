//! `netdx lan`: [`LanArgs`] -> [`LanConfig`], the checks on one session, text or JSON out;
//! exit 0 nothing wrong, 1 a problem found, 2 bad input, 130 interrupted.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::Duration;

use ipnet::Ipv4Net;
use tokio_util::sync::CancellationToken;

use crate::cli::LanArgs;
use crate::core::lan::{CheckStatus, LanReport};
use crate::core::model::MacAddr;
use crate::engine::lan::{self, LanConfig};
use crate::net::lan::ra::RouterExpect;
use crate::net::session::SessionOptions;

use super::EXIT_INTERRUPTED;

/// Exit code when a check found a problem.
pub const EXIT_PROBLEM: u8 = 1;
/// Most addresses `--addresses` may name.
pub const MAX_ADDRESSES: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LanInputError {
    #[error("--switch-wait must be between 0.5 and 60 seconds, not {0}")]
    SwitchWait(f64),
    #[error("--window must be between 0.5 and 60 seconds, not {0}")]
    Window(f64),
    #[error("--expect-dhcp: '{0}' is not an IPv4 address")]
    ExpectDhcp(String),
    #[error("--expect-router: {0}")]
    ExpectRouter(String),
    #[error("--gateway-mac: '{0}' is not a MAC address")]
    GatewayMac(String),
    #[error("--addresses: '{0}' is not an IPv4 address or block")]
    Address(String),
    #[error("--addresses names {0} addresses; at most {MAX_ADDRESSES}")]
    TooManyAddresses(usize),
    #[error("--json writes JSON to stdout; -o takes a .json file name, not '{0}'")]
    OutputNotJson(String),
}

/// The typed configuration of one `netdx lan` run (pure, unit-tested).
pub fn lan_config(args: &LanArgs) -> Result<LanConfig, LanInputError> {
    if !(0.5..=60.0).contains(&args.window) {
        return Err(LanInputError::Window(args.window));
    }
    let switch_wait = args.switch_wait.unwrap_or(args.window);
    if !(0.5..=60.0).contains(&switch_wait) {
        return Err(LanInputError::SwitchWait(switch_wait));
    }
    let expect_dhcp = args
        .expect_dhcp
        .iter()
        .map(|s| {
            s.trim()
                .parse::<Ipv4Addr>()
                .map_err(|_| LanInputError::ExpectDhcp(s.clone()))
        })
        .collect::<Result<_, _>>()?;
    let expect_routers = args
        .expect_router
        .iter()
        .map(|s| {
            s.parse::<RouterExpect>()
                .map_err(LanInputError::ExpectRouter)
        })
        .collect::<Result<_, _>>()?;
    let gateway_mac = args
        .gateway_mac
        .as_deref()
        .map(|s| {
            s.trim()
                .parse::<MacAddr>()
                .map_err(|_| LanInputError::GatewayMac(s.to_string()))
        })
        .transpose()?;
    let mut addresses: Vec<Ipv4Addr> = Vec::new();
    for spec in &args.addresses {
        let spec = spec.trim();
        if let Ok(ip) = spec.parse::<Ipv4Addr>() {
            addresses.push(ip);
        } else if let Ok(net) = spec.parse::<Ipv4Net>() {
            let size = 1usize << (32 - u32::from(net.prefix_len())).min(20);
            if addresses.len() + size > MAX_ADDRESSES * 4 {
                return Err(LanInputError::TooManyAddresses(addresses.len() + size));
            }
            addresses.extend(net.hosts());
        } else {
            return Err(LanInputError::Address(spec.to_string()));
        }
        if addresses.len() > MAX_ADDRESSES {
            return Err(LanInputError::TooManyAddresses(addresses.len()));
        }
    }
    addresses.sort();
    addresses.dedup();
    if let Some(o) = &args.output
        && o.extension().and_then(|e| e.to_str()) != Some("json")
    {
        return Err(LanInputError::OutputNotJson(o.display().to_string()));
    }
    Ok(LanConfig {
        interface: args.interface.clone(),
        window: Duration::from_secs_f64(args.window),
        switch_wait: Duration::from_secs_f64(switch_wait),
        expect_dhcp,
        expect_routers,
        gateway_mac,
        addresses,
    })
}

fn status_line(name: &str, status: &CheckStatus) -> Option<String> {
    match status {
        CheckStatus::Done => None,
        CheckStatus::Skipped { reason } => Some(format!("{name}: not checked: {reason}\n")),
        CheckStatus::Failed { error } => Some(format!("{name}: failed: {error}\n")),
    }
}

/// A vendor label without its own parentheses ("(locally administered)"), for use inside ours.
fn bare(vendor: &str) -> &str {
    vendor.trim_start_matches('(').trim_end_matches(')')
}

fn mac_label(mac: Option<MacAddr>, vendor: Option<&str>) -> String {
    match (mac, vendor) {
        (Some(m), Some(v)) => format!(" ({m}, {})", bare(v)),
        (Some(m), None) => format!(" ({m})"),
        _ => String::new(),
    }
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn dhcp_section(r: &LanReport) -> String {
    const NAME: &str = "DHCP servers";
    if let Some(s) = status_line(NAME, &r.dhcp.status) {
        return s;
    }
    let n = r.dhcp.offers.len();
    let mut s = format!(
        "{NAME}: sent a DHCPDISCOVER (no lease taken); {}\n",
        match n {
            0 => "no server offered an address".to_string(),
            1 => "1 server offered".to_string(),
            n => format!("{n} servers offered"),
        }
    );
    for o in &r.dhcp.offers {
        let _ = write!(
            s,
            "  {}{} offers {}",
            o.server,
            mac_label(o.server_mac, o.vendor.as_deref()),
            o.offered
        );
        if let Some(m) = o.subnet_mask {
            let _ = write!(s, " (mask {m})");
        }
        if !o.routers.is_empty() {
            let _ = write!(s, ", router {}", join(&o.routers));
        }
        if !o.dns.is_empty() {
            let _ = write!(s, ", DNS {}", join(&o.dns));
        }
        if let Some(d) = &o.domain {
            let _ = write!(s, ", domain {d}");
        }
        if let Some(l) = o.lease_s {
            let _ = write!(s, ", lease {l} s");
        }
        s.push_str(if o.rogue { "  ROGUE\n" } else { "\n" });
    }
    s
}

fn duplicates_section(r: &LanReport) -> String {
    const NAME: &str = "Duplicate IPs";
    if let Some(s) = status_line(NAME, &r.duplicates.status) {
        return s;
    }
    let d = &r.duplicates;
    let mut s = format!(
        "{NAME}: asked {} addresses by ARP; {}\n",
        d.probed,
        match d.duplicates.len() {
            0 => "none is answered by two MACs".to_string(),
            1 => "1 is answered by more than one MAC".to_string(),
            n => format!("{n} are answered by more than one MAC"),
        }
    );
    if let Some(note) = &d.note {
        let _ = writeln!(s, "  note: {note}");
    }
    for dup in &d.duplicates {
        let macs: Vec<String> = dup
            .macs
            .iter()
            .enumerate()
            .map(
                |(i, m)| match dup.vendors.get(i).and_then(Option::as_deref) {
                    Some(v) => format!("{m} ({})", bare(v)),
                    None => m.to_string(),
                },
            )
            .collect();
        let _ = writeln!(s, "  {}: {}", dup.ip, macs.join(", "));
    }
    s
}

fn gateway_section(r: &LanReport) -> String {
    const NAME: &str = "Gateway ARP";
    if let Some(s) = status_line(NAME, &r.arp_watch.status) {
        return s;
    }
    let w = &r.arp_watch;
    let gw = w
        .gateway
        .map(|g| g.to_string())
        .unwrap_or_else(|| "?".to_string());
    let mut s = match w.gateway_mac {
        Some(m) => format!(
            "{NAME}: watched the ARP frames reaching this machine; the gateway {gw} answers from {m}"
        ),
        None => format!(
            "{NAME}: watched the ARP frames reaching this machine; the gateway {gw} did not answer ARP"
        ),
    };
    if w.claims.is_empty() {
        s.push_str("; no other MAC claimed its address\n");
    } else {
        s.push('\n');
        for c in &w.claims {
            let _ = writeln!(
                s,
                "  claimed by {}{}{}",
                c.claimed_by,
                c.vendor
                    .as_deref()
                    .map(|v| format!(" ({})", bare(v)))
                    .unwrap_or_default(),
                if c.gratuitous {
                    " (gratuitous ARP)"
                } else {
                    ""
                }
            );
        }
    }
    s
}

fn routers_section(r: &LanReport) -> String {
    const NAME: &str = "IPv6 routers";
    if let Some(s) = status_line(NAME, &r.routers.status) {
        return s;
    }
    let n = r.routers.routers.len();
    let mut s = format!(
        "{NAME}: sent a router solicitation; {}\n",
        match n {
            0 => "no router advertised".to_string(),
            1 => "1 router advertised".to_string(),
            n => format!("{n} routers advertised"),
        }
    );
    for ra in &r.routers.routers {
        let _ = write!(
            s,
            "  {}{} lifetime {} s{}{}",
            ra.router,
            mac_label(ra.mac, ra.vendor.as_deref()),
            ra.lifetime_s,
            if ra.managed {
                ", M (DHCPv6 addresses)"
            } else {
                ""
            },
            if ra.other { ", O (DHCPv6 options)" } else { "" },
        );
        let prefixes: Vec<&str> = ra.prefixes.iter().map(|p| p.prefix.as_str()).collect();
        if !prefixes.is_empty() {
            let _ = write!(s, ", prefixes {}", prefixes.join(", "));
        }
        if !ra.dns.is_empty() {
            let _ = write!(s, ", DNS {}", join(&ra.dns));
        }
        s.push_str(if ra.expected { "\n" } else { "  UNEXPECTED\n" });
    }
    s
}

fn switch_section(r: &LanReport) -> String {
    const NAME: &str = "Switch port";
    if let Some(s) = status_line(NAME, &r.switch.status) {
        return s;
    }
    let mut s = format!("{NAME}: listened {:.0} s", r.switch.listened_s);
    if r.switch.ports.is_empty() {
        s.push_str(
            "; no LLDP or CDP frame heard (switches announce every 30 s by default: --switch-wait 30)\n",
        );
        return s;
    }
    s.push('\n');
    for p in &r.switch.ports {
        let _ = writeln!(s, "  {}", p.words());
    }
    s
}

/// The text `netdx lan` prints: the problems, then one section per check, those with a
/// problem first (pure, unit-tested).
pub fn render_text(r: &LanReport) -> String {
    use crate::core::alert::AlertKind;
    let mut out = format!(
        "LAN check on {} ({:.1} s)\n\n",
        r.interface,
        r.duration_ms as f64 / 1000.0
    );
    let ran = [
        &r.dhcp.status,
        &r.duplicates.status,
        &r.arp_watch.status,
        &r.routers.status,
        &r.switch.status,
    ]
    .iter()
    .filter(|s| s.ran())
    .count();
    if ran == 0 {
        out.push_str("No check could run: nothing was checked (see why below).\n\n");
    } else if r.alerts.is_empty() {
        out.push_str("No problem found by the checks that ran.\n\n");
    } else {
        let _ = writeln!(out, "Problems ({}):", r.alerts.len());
        for a in &r.alerts {
            let _ = writeln!(out, "  ! {}", a.text);
        }
        out.push('\n');
    }
    let has = |k: AlertKind| r.alerts.iter().any(|a| a.kind == k);
    let mut sections = [
        (has(AlertKind::RogueDhcp), dhcp_section(r)),
        (has(AlertKind::DuplicateIp), duplicates_section(r)),
        (has(AlertKind::GatewayMacChanged), gateway_section(r)),
        (has(AlertKind::RogueRouter), routers_section(r)),
        (false, switch_section(r)),
    ];
    // Stable: problems first, otherwise the checks' own order.
    sections.sort_by_key(|(problem, _)| !problem);
    for (_, s) in sections {
        out.push_str(&s);
    }
    out
}

/// Progress on stderr: what runs, and on a terminal a countdown, until `cancel`.
async fn progress(iface: String, window: Duration, done: CancellationToken) {
    eprintln!(
        "netdx: checking {iface} for {:.1} s: DHCP servers, duplicate IPs, gateway ARP, IPv6 routers, switch port",
        window.as_secs_f64()
    );
    if !std::io::stderr().is_terminal() {
        return;
    }
    let start = tokio::time::Instant::now();
    loop {
        let left = window.saturating_sub(start.elapsed());
        eprint!("\r\x1b[Klistening: {:.0} s left", left.as_secs_f64().ceil());
        tokio::select! {
            _ = done.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    eprint!("\r\x1b[K");
}

/// `netdx lan`.
pub fn run(args: LanArgs) -> ExitCode {
    let cfg = match lan_config(&args) {
        Ok(c) => c,
        Err(e) => return super::trouble(e),
    };
    // The LAN checks open their sockets as they go (DHCP on port 68, ARP watch, RA, LLDP):
    // cap_net_raw and cap_net_bind_service stay after the drop, nothing else.
    let session = match super::start_session(
        SessionOptions::default(),
        [],
        crate::net::sys::privilege::Retain::NetRawAndBind,
        args.output.as_deref(),
    ) {
        Ok(s) => s,
        Err(e) => return super::trouble(format!("{e:#}")),
    };
    let iface = match lan::resolve_iface(&session, &cfg) {
        Ok(i) => i,
        Err(e) => return super::trouble(e),
    };
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => return super::trouble(e),
    };
    let report = rt.block_on(async {
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            super::scan::shutdown_signal().await;
            on_signal.cancel();
        });
        let shown = CancellationToken::new();
        let ticker = tokio::spawn(progress(iface.name.clone(), cfg.window, shown.clone()));
        let report = lan::run(&session, &iface, &cfg, &cancel).await;
        shown.cancel();
        let _ = ticker.await;
        (report, cancel.is_cancelled())
    });
    let (report, interrupted) = report;
    if args.json {
        match crate::output::json::pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => return super::trouble(e),
        }
    } else {
        print!("{}", render_text(&report));
    }
    let _ = std::io::stdout().flush();
    if let Some(path) = &args.output {
        let written = crate::output::json::pretty(&report)
            .map(String::into_bytes)
            .map_err(std::io::Error::other)
            .and_then(|j| write_atomic(path, &j));
        match written {
            Ok(()) => eprintln!("netdx: LAN report written to {}", path.display()),
            Err(e) => {
                eprintln!("netdx: error: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if interrupted {
        eprintln!("netdx: interrupted: the checks did not run their whole window");
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    if report.alerts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEM)
    }
}

/// Write through a temporary file in the same directory, so a reader never sees half a report.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> LanArgs {
        let mut argv = vec!["netdx", "lan"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            Some(crate::cli::Command::Lan(a)) => a,
            other => panic!("not lan: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_options_become_a_config() {
        let c = lan_config(&args(&[])).unwrap();
        assert_eq!(c, LanConfig::default());
        let c = lan_config(&args(&[
            "-i",
            "eth1",
            "--window",
            "2.5",
            "--expect-dhcp",
            "10.0.0.1",
            "--expect-router",
            "fe80::1",
            "--expect-router",
            "02:00:00:00:00:01",
            "--gateway-mac",
            "02:00:00:00:00:01",
            "--addresses",
            "10.0.0.5,10.0.0.8/30",
            "-o",
            "lan.json",
        ]))
        .unwrap();
        assert_eq!(c.interface.as_deref(), Some("eth1"));
        assert_eq!(c.window, Duration::from_millis(2500));
        assert_eq!(c.expect_dhcp, vec![Ipv4Addr::new(10, 0, 0, 1)]);
        assert_eq!(c.expect_routers.len(), 2);
        assert_eq!(c.gateway_mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!(
            c.addresses,
            ["10.0.0.5", "10.0.0.9", "10.0.0.10"].map(|s| s.parse::<Ipv4Addr>().unwrap())
        );
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let bad = |a: &[&str]| lan_config(&args(a)).unwrap_err().to_string();
        assert!(bad(&["--window", "0.1"]).contains("--window"));
        assert!(bad(&["--expect-dhcp", "fe80::1"]).contains("--expect-dhcp"));
        assert!(bad(&["--expect-router", "router1"]).contains("neither"));
        assert!(bad(&["--gateway-mac", "zz"]).contains("--gateway-mac"));
        assert!(bad(&["--addresses", "10.0.0.0/8"]).contains("at most 1024"));
        assert!(bad(&["--addresses", "host.example"]).contains("--addresses"));
        assert!(bad(&["-o", "lan.html"]).contains(".json"));
    }

    #[test]
    fn text_says_problems_first_and_why_checks_did_not_run() {
        let mut r = LanReport {
            interface: "eth0".into(),
            started_at: None,
            duration_ms: 5012,
            dhcp: crate::core::lan::DhcpCheck {
                status: CheckStatus::Skipped {
                    reason: "needs CAP_NET_RAW".into(),
                },
                offers: Vec::new(),
            },
            duplicates: crate::core::lan::DuplicateCheck {
                status: CheckStatus::Done,
                probed: 253,
                note: None,
                duplicates: vec![crate::core::lan::DuplicateIp {
                    ip: Ipv4Addr::new(10, 0, 0, 50),
                    macs: vec![MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2])],
                    vendors: Vec::new(),
                }],
            },
            arp_watch: crate::core::lan::ArpWatch {
                status: CheckStatus::Done,
                gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
                gateway_mac: Some(MacAddr([2, 0, 0, 0, 0, 9])),
                claims: Vec::new(),
            },
            routers: crate::core::lan::RaCheck {
                status: CheckStatus::Failed {
                    error: "socket error".into(),
                },
                routers: Vec::new(),
            },
            switch: crate::core::lan::SwitchCheck {
                status: CheckStatus::Skipped {
                    reason: "switch port listener not built in yet".into(),
                },
                listened_s: 0.0,
                ports: Vec::new(),
            },
            alerts: Vec::new(),
        };
        crate::engine::lan::judge(&mut r, None, &LanConfig::default());
        let t = render_text(&r);
        let expected = "\
LAN check on eth0 (5.0 s)

Problems (1):
  ! duplicate IP 10.0.0.50: answered by 02:00:00:00:00:01 and 02:00:00:00:00:02

Duplicate IPs: asked 253 addresses by ARP; 1 is answered by more than one MAC
  10.0.0.50: 02:00:00:00:00:01, 02:00:00:00:00:02
DHCP servers: not checked: needs CAP_NET_RAW
Gateway ARP: watched the ARP frames reaching this machine; the gateway 10.0.0.1 answers from 02:00:00:00:00:09; no other MAC claimed its address
IPv6 routers: failed: socket error
Switch port: not checked: switch port listener not built in yet
";
        assert_eq!(t, expected);
        assert!(!t.contains("no server offered"));
    }
}
