//! The checks that run one of netdx's engines rather than one probe: a traceroute (path), the
//! LAN safety check of `netdx lan`, an ARP sweep counting devices, the layered diagnosis of
//! `netdx diagnose`. Each runs on the long-lived session (its raw prober, ARP channels, DNS
//! clients and connect budget) and opens no socket of its own beyond what the engine does.
//! The findings are folded into an [`Outcome`] here, in pure functions that are unit-tested.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::core::alert::AlertKind;
use crate::core::lan::{CheckStatus, LanReport};
use crate::diagnose::{DiagnoseConfig, Diagnosis, Status, TargetInput};
use crate::engine::lan::LanConfig;
use crate::net::arp::ArpConfig;
use crate::net::session::Session;
use crate::net::traceroute::{self, Hop, TracePlan, TraceProtocol};

use super::config::{DevicesSpec, DiagnoseSpec, LanSpec, PathPlan};
use super::state::{Detail, DevicesFound, DiagnosisFound, LanFound, LanPart, Outcome, PathFound};

/// The trace a path check runs: `probes` rounds 50 ms apart, a second for late replies.
pub fn path_plan(p: PathPlan) -> TracePlan {
    TracePlan {
        max_ttl: p.max_ttl,
        rounds: p.probes,
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(1),
    }
}

/// Trace the path to `target` with ICMP echo on the session's raw prober.
pub async fn path(session: &Session, target: IpAddr, plan: PathPlan) -> Outcome {
    let raw = match session.raw() {
        Ok(r) => r,
        Err(e) => return failed(format!("no traceroute: {e}")),
    };
    let cancel = CancellationToken::new();
    match traceroute::trace(raw, target, TraceProtocol::Icmp, path_plan(plan), &cancel).await {
        Ok(o) => path_outcome(&traceroute::hops(&o), plan.max_ttl),
        Err(e) => failed(format!("trace failed: {e}")),
    }
}

/// A trace's hops as an outcome: success is the destination reached. TTLs beyond `max_ttl`
/// (none by construction) are left out so the `hop` label stays bounded.
pub fn path_outcome(hops: &[Hop], max_ttl: u8) -> Outcome {
    let reached = hops.last().is_some_and(|h| h.destination);
    let answered = hops.iter().rev().find(|h| h.received > 0);
    let found = PathFound {
        reached,
        hops: answered.map_or(0, |h| h.ttl),
        last_hop: answered.and_then(|h| h.addr),
        hop_loss: hops
            .iter()
            .filter(|h| h.ttl <= max_ttl)
            .map(|h| (h.ttl, h.loss()))
            .collect(),
        end_loss: hops.last().map(Hop::loss),
    };
    let note = (!reached).then(|| match (found.last_hop, found.hops) {
        (Some(ip), n) => format!("not reached; the last hop that answered is {ip} (hop {n})"),
        _ => "not reached; no hop answered".to_string(),
    });
    Outcome {
        success: reached,
        note,
        detail: Some(Detail::Path(found)),
        ..Outcome::default()
    }
}

/// The LAN safety check on `spec.interface` (or the default route's).
pub async fn lan(session: &Session, spec: &LanSpec) -> Outcome {
    let cfg = LanConfig {
        interface: spec.interface.clone(),
        window: spec.window,
        expect_dhcp: spec.expect_dhcp.clone(),
        switch_wait: spec.window,
        ..LanConfig::default()
    };
    let iface = match crate::engine::lan::resolve_iface(session, &cfg) {
        Ok(i) => i,
        Err(e) => return failed(e.to_string()),
    };
    let cancel = CancellationToken::new();
    let report = crate::engine::lan::run(session, &iface, &cfg, &cancel).await;
    lan_outcome(&report)
}

/// A LAN report as an outcome: success is every part that ran without an alert (and at least
/// one part ran).
pub fn lan_outcome(r: &LanReport) -> Outcome {
    let has = |k: AlertKind| r.alerts.iter().any(|a| a.kind == k);
    let mut parts = Vec::new();
    for (part, status, kind) in [
        (LanPart::Dhcp, &r.dhcp.status, AlertKind::RogueDhcp),
        (
            LanPart::Duplicates,
            &r.duplicates.status,
            AlertKind::DuplicateIp,
        ),
        (
            LanPart::Arp,
            &r.arp_watch.status,
            AlertKind::GatewayMacChanged,
        ),
        (LanPart::Ra, &r.routers.status, AlertKind::RogueRouter),
    ] {
        if status.ran() {
            parts.push((part, !has(kind)));
        }
    }
    let marked = r.dhcp.offers.iter().filter(|o| o.rogue).count();
    // Several servers that nothing tells apart: all but one are rogue, which is unknown.
    let rogue_dhcp = if marked == 0 && has(AlertKind::RogueDhcp) {
        r.dhcp.offers.len().saturating_sub(1)
    } else {
        marked
    };
    let skipped: Vec<String> = [
        ("dhcp", &r.dhcp.status),
        ("duplicates", &r.duplicates.status),
        ("arp", &r.arp_watch.status),
        ("ra", &r.routers.status),
    ]
    .into_iter()
    .filter_map(|(name, s)| match s {
        CheckStatus::Done => None,
        CheckStatus::Skipped { reason } => Some(format!("{name} skipped: {reason}")),
        CheckStatus::Failed { error } => Some(format!("{name} failed: {error}")),
    })
    .collect();
    let found = LanFound {
        dhcp_servers: r.dhcp.offers.len(),
        rogue_dhcp,
        duplicate_ips: r.duplicates.duplicates.len(),
        gateway_claims: r.arp_watch.claims.len(),
        rogue_routers: r.routers.routers.iter().filter(|x| !x.expected).count(),
        alerts: r.alerts.iter().map(|a| a.text.clone()).collect(),
        switch: r.switch.ports.first().map(|p| {
            let mut t = format!("switch {}", p.switch_name.as_deref().unwrap_or("(unnamed)"));
            if let Some(port) = &p.port {
                t.push_str(&format!(" port {port}"));
            }
            if let Some(v) = p.vlan {
                t.push_str(&format!(" VLAN {v}"));
            }
            t
        }),
        parts,
    };
    let success = !found.parts.is_empty() && found.parts.iter().all(|(_, ok)| *ok);
    let mut words: Vec<String> = found.alerts.clone();
    words.extend(skipped);
    if found.parts.is_empty() && words.is_empty() {
        words.push("no LAN check could run".to_string());
    }
    Outcome {
        success,
        note: (!words.is_empty()).then(|| words.join("; ")),
        detail: Some(Detail::Lan(found)),
        ..Outcome::default()
    }
}

/// Request rounds of a device sweep: every address asked three times.
const SWEEP_RETRIES: u32 = 2;

/// An ARP sweep of `spec.subnet` (or the interface's own subnet, at most a /22). `probed` is
/// what was actually asked: addresses on a local link only.
pub async fn devices(session: &Session, spec: &DevicesSpec) -> Outcome {
    if !session.raw_capable() {
        return failed("no CAP_NET_RAW: no ARP sweep".to_string());
    }
    // The interface: named, or the default route's; a subnet given with a named interface
    // must be on it (the sweep goes out where the kernel's routes say, and a subnet that is
    // elsewhere would be counted on another link without a word).
    let iface = if spec.interface.is_some() || spec.subnet.is_none() {
        let cfg = LanConfig {
            interface: spec.interface.clone(),
            ..LanConfig::default()
        };
        match crate::engine::lan::resolve_iface(session, &cfg) {
            Ok(i) => Some(i),
            Err(e) => return failed(e.to_string()),
        }
    } else {
        None
    };
    let targets: Vec<Ipv4Addr> = match (spec.subnet, &iface) {
        (Some(net), Some(i)) if !i.v4.is_some_and(|own| own.trunc().contains(&net)) => {
            return failed(format!("{net} is not a subnet of {}", i.name));
        }
        (Some(net), _) => net.hosts().collect(),
        (None, Some(i)) => match i.v4 {
            Some(net) => crate::net::lan::duplicates::subnet_targets(net).0,
            None => return failed(format!("{} has no IPv4 address", i.name)),
        },
        (None, None) => return failed("no interface and no subnet".to_string()),
    };
    // Our own addresses answer no ARP request of ours: they are not devices on the wire.
    let own: Vec<IpAddr> = session
        .arp()
        .interfaces()
        .iter()
        .flat_map(|i| i.ips.iter().map(|n| n.ip()))
        .collect();
    let targets: Vec<Ipv4Addr> = targets
        .into_iter()
        .filter(|t| !own.contains(&IpAddr::V4(*t)))
        .collect();
    let cfg = ArpConfig {
        wait: Duration::from_secs(1),
        retries: SWEEP_RETRIES,
        ..ArpConfig::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let arp = session.arp().clone();
    let stop = CancellationToken::new();
    let sweep = tokio::spawn(async move { arp.discover_all(targets, cfg, tx, stop).await });
    let mut heard = Vec::new();
    while let Some(o) = rx.recv().await {
        heard.push((o.ip, o.mac));
    }
    match sweep.await {
        Ok(Ok(stats)) if stats.requested == 0 => {
            failed("no address to sweep is on a local link".to_string())
        }
        Ok(Ok(stats)) => devices_outcome(stats.requested, &heard),
        Ok(Err(e)) => failed(format!("ARP sweep failed: {e}")),
        Err(e) => failed(format!("the ARP sweep stopped: {e}")),
    }
}

/// A sweep's replies as an outcome: the distinct addresses that answered, the distinct MACs.
/// Success is the sweep having run (a count is a measurement, not a state).
pub fn devices_outcome(
    probed: usize,
    heard: &[(Ipv4Addr, crate::core::model::MacAddr)],
) -> Outcome {
    let mut ips: Vec<Ipv4Addr> = heard.iter().map(|(ip, _)| *ip).collect();
    ips.sort();
    ips.dedup();
    let mut macs: Vec<_> = heard.iter().map(|(_, m)| *m).collect();
    macs.sort();
    macs.dedup();
    Outcome {
        success: true,
        detail: Some(Detail::Devices(DevicesFound {
            probed,
            devices: ips.len(),
            macs,
        })),
        ..Outcome::default()
    }
}

/// The diagnosis `netdx diagnose TARGET -p PORTS [--resolver R]` would give.
pub async fn diagnose(session: &Session, spec: &DiagnoseSpec) -> Outcome {
    let target = match spec.target.parse::<IpAddr>() {
        Ok(ip) => TargetInput::Addr(ip),
        Err(_) => TargetInput::Name(spec.target.clone()),
    };
    let config = DiagnoseConfig {
        targets: vec![target],
        ports: spec.ports.clone(),
        resolver: spec.resolver,
        ..DiagnoseConfig::default()
    };
    let cancel = CancellationToken::new();
    let d = crate::diagnose::run(config, session.clone(), &cancel).await;
    diagnosis_outcome(&d)
}

/// A diagnosis as an outcome: success is status OK.
pub fn diagnosis_outcome(d: &Diagnosis) -> Outcome {
    let ok = d.status == Status::Ok;
    Outcome {
        success: ok,
        note: (!ok).then(|| d.verdict.clone()),
        detail: Some(Detail::Diagnosis(DiagnosisFound {
            status: d.status,
            layer: if ok { None } else { d.layer },
            verdict: d.verdict.clone(),
        })),
        ..Outcome::default()
    }
}

fn failed(note: String) -> Outcome {
    Outcome {
        note: Some(note),
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lan::{ArpWatch, DhcpCheck, DhcpOffer, DuplicateCheck, RaCheck, SwitchCheck};
    use crate::core::model::MacAddr;
    use crate::engine::lan::judge;

    fn hop(ttl: u8, addr: Option<&str>, sent: u32, received: u32, destination: bool) -> Hop {
        Hop {
            ttl,
            addr: addr.map(|a| a.parse().unwrap()),
            others: Vec::new(),
            sent,
            received,
            rtts: vec![Duration::from_millis(1); received as usize],
            destination,
            unreachable: None,
        }
    }

    #[test]
    fn a_reached_path_counts_hops_and_loss_per_hop() {
        let hops = [
            hop(1, Some("10.77.0.1"), 10, 10, false),
            hop(2, Some("10.90.1.2"), 10, 7, false),
            hop(3, None, 10, 0, false),
            hop(4, Some("10.99.0.10"), 10, 9, true),
        ];
        let o = path_outcome(&hops, 30);
        assert!(o.success);
        assert_eq!(o.note, None);
        let Some(Detail::Path(p)) = o.detail else {
            panic!("path detail")
        };
        assert!(p.reached);
        assert_eq!(p.hops, 4);
        assert_eq!(p.last_hop, Some("10.99.0.10".parse().unwrap()));
        let loss: Vec<(u8, f64)> = p
            .hop_loss
            .iter()
            .map(|(t, x)| (*t, (x * 10.0).round() / 10.0))
            .collect();
        assert_eq!(loss, [(1, 0.0), (2, 0.3), (3, 1.0), (4, 0.1)]);
        assert_eq!(p.end_loss.map(|x| (x * 10.0).round() / 10.0), Some(0.1));
    }

    #[test]
    fn an_unreached_path_names_the_last_hop_that_answered() {
        let hops = [
            hop(1, Some("10.77.0.1"), 10, 10, false),
            hop(2, Some("10.90.1.2"), 10, 10, false),
            hop(3, None, 10, 0, false),
        ];
        let o = path_outcome(&hops, 3);
        assert!(!o.success);
        assert_eq!(
            o.note.as_deref(),
            Some("not reached; the last hop that answered is 10.90.1.2 (hop 2)")
        );
        let Some(Detail::Path(p)) = o.detail else {
            panic!("path detail")
        };
        assert_eq!((p.reached, p.hops, p.end_loss), (false, 2, Some(1.0)));
        // Nothing answered at all.
        let o = path_outcome(&[hop(1, None, 10, 0, false)], 30);
        assert_eq!(o.note.as_deref(), Some("not reached; no hop answered"));
        // No TTL beyond max_ttl becomes a label.
        let o = path_outcome(&[hop(1, None, 1, 0, false), hop(2, None, 1, 0, false)], 1);
        let Some(Detail::Path(p)) = o.detail else {
            panic!("path detail")
        };
        assert_eq!(p.hop_loss.len(), 1);
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn lan_report() -> LanReport {
        LanReport {
            interface: "eth0".into(),
            started_at: None,
            duration_ms: 5000,
            dhcp: DhcpCheck {
                status: CheckStatus::Done,
                offers: Vec::new(),
            },
            duplicates: DuplicateCheck {
                status: CheckStatus::Done,
                probed: 253,
                note: None,
                duplicates: Vec::new(),
            },
            arp_watch: ArpWatch {
                status: CheckStatus::Done,
                gateway: Some(ip("10.79.0.1")),
                gateway_mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
                claims: Vec::new(),
            },
            routers: RaCheck {
                status: CheckStatus::Skipped {
                    reason: "no IPv6".into(),
                },
                routers: Vec::new(),
            },
            switch: SwitchCheck {
                status: CheckStatus::Done,
                listened_s: 5.0,
                ports: Vec::new(),
            },
            alerts: Vec::new(),
        }
    }

    fn offer(server: &str, router: &str) -> DhcpOffer {
        DhcpOffer {
            server: ip(server),
            server_mac: None,
            vendor: None,
            offered: ip("10.79.0.200"),
            subnet_mask: None,
            routers: vec![ip(router)],
            dns: Vec::new(),
            domain: None,
            lease_s: None,
            rtt_ms: None,
            rogue: false,
        }
    }

    #[test]
    fn lan_parts_that_ran_are_judged_and_rogue_dhcp_counted() {
        let mut r = lan_report();
        r.dhcp.offers = vec![offer("10.79.0.1", "10.79.0.1")];
        judge(&mut r, Some(ip("10.79.0.1")), &LanConfig::default());
        let o = lan_outcome(&r);
        assert!(o.success, "{o:?}");
        let Some(Detail::Lan(l)) = &o.detail else {
            panic!("lan detail")
        };
        // RA did not run: absent, not "fine".
        assert_eq!(
            l.parts,
            [
                (LanPart::Dhcp, true),
                (LanPart::Duplicates, true),
                (LanPart::Arp, true)
            ]
        );
        assert_eq!((l.dhcp_servers, l.rogue_dhcp), (1, 0));
        assert_eq!(l.switch, None);
        assert_eq!(o.note.as_deref(), Some("ra skipped: no IPv6"));

        r.dhcp.offers.push(offer("10.79.0.60", "10.79.0.60"));
        judge(&mut r, Some(ip("10.79.0.1")), &LanConfig::default());
        let o = lan_outcome(&r);
        assert!(!o.success);
        let Some(Detail::Lan(l)) = &o.detail else {
            panic!("lan detail")
        };
        assert_eq!(l.parts[0], (LanPart::Dhcp, false));
        assert_eq!((l.dhcp_servers, l.rogue_dhcp), (2, 1));
        assert!(
            o.note
                .as_deref()
                .unwrap_or("")
                .starts_with("rogue DHCP server 10.79.0.60")
        );

        // Two servers nothing tells apart: one of them is rogue, which one is unknown.
        judge(&mut r, None, &LanConfig::default());
        let Some(Detail::Lan(l)) = lan_outcome(&r).detail else {
            panic!("lan detail")
        };
        assert_eq!(l.rogue_dhcp, 1);

        // Nothing ran: a failure, not "all fine".
        let mut r = lan_report();
        for s in [
            &mut r.dhcp.status,
            &mut r.duplicates.status,
            &mut r.arp_watch.status,
        ] {
            *s = CheckStatus::Skipped {
                reason: "no CAP_NET_RAW".into(),
            };
        }
        assert!(!lan_outcome(&r).success);
    }

    #[test]
    fn devices_count_addresses_and_keep_macs() {
        let m = |b: u8| MacAddr([2, 0, 0, 0, 0, b]);
        let heard = [
            (ip("10.0.0.2"), m(2)),
            (ip("10.0.0.3"), m(3)),
            (ip("10.0.0.3"), m(3)),
            (ip("10.0.0.4"), m(4)),
            (ip("10.0.0.4"), m(5)),
        ];
        let o = devices_outcome(253, &heard);
        assert!(o.success);
        let Some(Detail::Devices(d)) = o.detail else {
            panic!("devices detail")
        };
        assert_eq!((d.probed, d.devices), (253, 3));
        assert_eq!(d.macs, [m(2), m(3), m(4), m(5)]);
    }

    #[test]
    fn a_diagnosis_says_its_layer_unless_healthy() {
        use crate::diagnose::Layer;
        use crate::diagnose::model::round;
        let o = diagnosis_outcome(&round(
            "2026-01-01T10:00:00Z",
            Status::Ok,
            None,
            "Everything checked works.",
        ));
        assert!(o.success && o.note.is_none());
        let d = round(
            "2026-01-01T10:00:00Z",
            Status::Down,
            Some(Layer::Dns),
            "The DNS server does not answer.",
        );
        let o = diagnosis_outcome(&d);
        assert!(!o.success);
        assert_eq!(o.note.as_deref(), Some("The DNS server does not answer."));
        let Some(Detail::Diagnosis(f)) = o.detail else {
            panic!("diagnosis detail")
        };
        assert_eq!((f.status, f.layer), (Status::Down, Some(Layer::Dns)));
    }
}
