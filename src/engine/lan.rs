//! The LAN safety check (`netdx lan`): DHCP servers, duplicate addresses, claims on the
//! gateway and IPv6 routers, all on one interface, all at once, for one window:
//!
//! ```text
//!  t=0 ─┬─ DHCP: DISCOVER, collect OFFERs ────────────────────────────┐
//!       ├─ duplicates: ARP sweep of the subnet, every reply kept ──┐   │
//!       ├─ ARP watch: who-has gateway, every ARP frame ────────────┼───┤
//!       └─ RA: router solicitation, collect advertisements ────────┼───┤
//!  window ────────────────────────────────────────────────────────┴───┴─► judge ─► alerts
//! ```
//!
//! Judging waits for every check, since one check's findings decide another's: the IPv6
//! router with the IPv4 gateway's MAC is the expected one, the DHCP server that names the
//! gateway is the legitimate one.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::core::alert::{Alert, AlertKind};
use crate::core::lan::{
    ArpWatch, CheckStatus, DhcpCheck, DhcpOffer, DuplicateCheck, LanReport, RaCheck, SwitchCheck,
};
use crate::core::model::MacAddr;
use crate::net::lan::ra::{self, RouterExpect};
use crate::net::lan::{self, IfaceError, LanIface, arp_watch, dhcp, duplicates};
use crate::net::session::Session;
use crate::net::sys::netinfo::LocalContext;

/// The listening window when none is given: DHCP offers come within a second, RAs within
/// half a second of a solicitation; five seconds also catches a gratuitous-ARP sender that
/// repeats every few seconds.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5);

/// What `netdx lan` is asked to do, built at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanConfig {
    /// `None`: the interface of the default route.
    pub interface: Option<String>,
    pub window: Duration,
    /// DHCP servers that are allowed; empty: judge by the gateway.
    pub expect_dhcp: Vec<Ipv4Addr>,
    /// IPv6 routers that are allowed (address or MAC); empty: judge by the gateway's MAC.
    pub expect_routers: Vec<RouterExpect>,
    /// The gateway's MAC recorded earlier: a different answer now is an alert.
    pub gateway_mac: Option<MacAddr>,
    /// Addresses to check for duplicates; empty: the interface's subnet (at most a /22).
    pub addresses: Vec<Ipv4Addr>,
    /// How long to wait for an LLDP or CDP frame; the wait ends at the first one heard.
    /// Switches send one every 30 s by default (LLDP) or 60 s (CDP); 5 s is common on access
    /// ports set up for phones.
    pub switch_wait: Duration,
}

impl Default for LanConfig {
    fn default() -> Self {
        LanConfig {
            interface: None,
            window: DEFAULT_WINDOW,
            expect_dhcp: Vec::new(),
            expect_routers: Vec::new(),
            gateway_mac: None,
            addresses: Vec::new(),
            switch_wait: DEFAULT_WINDOW,
        }
    }
}

/// The interface `cfg` names, or the default route's, as the kernel describes it now.
pub fn resolve_iface(session: &Session, cfg: &LanConfig) -> Result<LanIface, IfaceError> {
    let ifaces = session.arp().interfaces();
    let ctx = LocalContext::read_with(&ifaces);
    lan::pick_iface(cfg.interface.as_deref(), &ifaces, &ctx.gateways)
}

/// Run every check on `iface` at once for `cfg.window` (or until `cancel`), then judge.
pub async fn run(
    session: &Session,
    iface: &LanIface,
    cfg: &LanConfig,
    cancel: &CancellationToken,
) -> LanReport {
    let started_at = crate::core::clock::now_rfc3339();
    let t0 = Instant::now();
    let w = cfg.window;
    let switch = async {
        tokio::select! {
            s = crate::net::lldp::listen(session, &iface.name, cfg.switch_wait, true) => s,
            () = cancel.cancelled() => SwitchCheck {
                status: CheckStatus::Skipped { reason: "interrupted".to_string() },
                listened_s: t0.elapsed().as_secs_f64(),
                ports: Vec::new(),
            },
        }
    };
    let (dhcp, duplicates, arp_watch, routers, switch) = tokio::join!(
        dhcp::check(session, iface, w, cancel),
        duplicates::check(session, iface, &cfg.addresses, w, cancel),
        arp_watch::check(session, iface, cfg.gateway_mac, w, cancel),
        ra::check(session, iface, w, cancel),
        switch,
    );
    let mut report = LanReport {
        interface: iface.name.clone(),
        started_at: Some(started_at.clone()),
        duration_ms: t0.elapsed().as_millis() as u64,
        dhcp,
        duplicates,
        arp_watch,
        routers,
        switch,
        alerts: Vec::new(),
    };
    judge(&mut report, iface.gateway, cfg);
    for a in &mut report.alerts {
        a.at = Some(started_at.clone());
    }
    report
}

/// Decide what is wrong and say it: marks rogue DHCP servers and unexpected routers, and
/// fills `alerts`, one per problem, in check order. Pure (unit-tested).
pub fn judge(report: &mut LanReport, gateway: Option<Ipv4Addr>, cfg: &LanConfig) {
    let mut alerts = Vec::new();
    judge_dhcp(&mut report.dhcp, gateway, &cfg.expect_dhcp);
    alerts.extend(dhcp_alerts(&report.dhcp, &cfg.expect_dhcp));
    alerts.extend(duplicate_alerts(&report.duplicates));
    alerts.extend(gateway_alerts(&report.arp_watch));
    ra::judge(
        &mut report.routers.routers,
        report.arp_watch.gateway_mac,
        &cfg.expect_routers,
    );
    alerts.extend(router_alerts(&report.routers));
    report.alerts = alerts;
}

/// Mark the rogue offers. With an expected list, every other server is rogue. Without one,
/// one server is fine; of two or more, those that name the gateway (as server or router) are
/// legitimate and the rest rogue. When that tells none apart (no gateway known, or every
/// server names it), none is marked, and the alerts say once that several servers answer.
pub fn judge_dhcp(check: &mut DhcpCheck, gateway: Option<Ipv4Addr>, expect: &[Ipv4Addr]) {
    if !expect.is_empty() {
        for o in &mut check.offers {
            o.rogue = !expect.contains(&o.server);
        }
        return;
    }
    if check.offers.len() < 2 {
        for o in &mut check.offers {
            o.rogue = false;
        }
        return;
    }
    let names_gateway =
        |o: &DhcpOffer| gateway.is_some_and(|g| o.server == g || o.routers.contains(&g));
    let legit = check.offers.iter().filter(|o| names_gateway(o)).count();
    let distinguishes = legit > 0 && legit < check.offers.len();
    for o in &mut check.offers {
        o.rogue = distinguishes && !names_gateway(o);
    }
}

/// One offer in a sentence: `10.0.0.60 offers 10.0.0.200 with router 10.0.0.60`.
fn offer_phrase(o: &DhcpOffer) -> String {
    let mut text = format!(
        "{} offers {}",
        with_vendor(o.server, o.server_mac),
        o.offered
    );
    if !o.routers.is_empty() {
        text.push_str(&format!(" with router {}", list(&o.routers)));
    }
    text
}

/// `10.0.0.60 (Raspberry Pi Trading Ltd)`, or the bare address without a registered vendor.
fn with_vendor(what: impl std::fmt::Display, mac: Option<MacAddr>) -> String {
    match mac.and_then(crate::core::oui::vendor) {
        Some(v) => format!("{what} ({v})"),
        None => format!("{what}"),
    }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn dhcp_alerts(check: &DhcpCheck, expect: &[Ipv4Addr]) -> Vec<Alert> {
    let mut out = Vec::new();
    if expect.is_empty() && check.offers.len() > 1 && !check.offers.iter().any(|o| o.rogue) {
        // Several servers and nothing to tell the legitimate one by: one problem, said once.
        let offers: Vec<String> = check.offers.iter().map(offer_phrase).collect();
        out.push(Alert::new(
            AlertKind::RogueDhcp,
            format!(
                "{} DHCP servers answer and none is known to be the right one (name it with \
                 --expect-dhcp): {}",
                check.offers.len(),
                offers.join("; ")
            ),
        ));
        return out;
    }
    for o in check.offers.iter().filter(|o| o.rogue) {
        let mut text = format!("rogue DHCP server {}", offer_phrase(o));
        let others: Vec<Ipv4Addr> = check
            .offers
            .iter()
            .filter(|x| x.server != o.server)
            .map(|x| x.server)
            .collect();
        match others.len() {
            0 => text.push_str("; it is not an expected server"),
            1 => text.push_str(&format!("; the other server is {}", others[0])),
            _ => text.push_str(&format!("; the other servers are {}", list(&others))),
        }
        let mut a = Alert::new(AlertKind::RogueDhcp, text).with_ip(IpAddr::V4(o.server));
        if let Some(m) = o.server_mac {
            a = a.with_mac(m);
        }
        out.push(a);
    }
    out
}

fn duplicate_alerts(check: &DuplicateCheck) -> Vec<Alert> {
    check
        .duplicates
        .iter()
        .map(|d| {
            let macs: Vec<String> = d.macs.iter().map(|m| with_vendor(m, Some(*m))).collect();
            let said = match macs.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} and {last}", rest.join(", "))
                }
                _ => macs.join(""),
            };
            let mut a = Alert::new(
                AlertKind::DuplicateIp,
                format!("duplicate IP {}: answered by {said}", d.ip),
            )
            .with_ip(IpAddr::V4(d.ip));
            if let Some(m) = d.macs.first() {
                a = a.with_mac(*m);
            }
            a
        })
        .collect()
}

fn gateway_alerts(check: &ArpWatch) -> Vec<Alert> {
    check
        .claims
        .iter()
        .map(|c| {
            let by = with_vendor(c.claimed_by, Some(c.claimed_by));
            let text = if Some(c.claimed_by) == check.gateway_mac {
                // The gateway itself answers from a MAC other than the one recorded.
                match c.expected_mac {
                    Some(was) => format!(
                        "the gateway {} now answers from MAC {by} (was {was})",
                        c.gateway
                    ),
                    None => format!("the gateway {} now answers from MAC {by}", c.gateway),
                }
            } else {
                let how = if c.gratuitous {
                    "gratuitous ARP claims"
                } else {
                    "another MAC answers ARP for"
                };
                let answers = match check.gateway_mac {
                    Some(m) => format!("the gateway answers from {m}"),
                    None => "the gateway itself did not answer".to_string(),
                };
                format!("{how} the gateway {} from {by}; {answers}", c.gateway)
            };
            Alert::new(AlertKind::GatewayMacChanged, text)
                .with_ip(IpAddr::V4(c.gateway))
                .with_mac(c.claimed_by)
        })
        .collect()
}

fn router_alerts(check: &RaCheck) -> Vec<Alert> {
    check
        .routers
        .iter()
        .filter(|r| !r.expected)
        .map(|r| {
            let who = match r.mac {
                Some(m) => format!("{} ({})", r.router, with_vendor(m, Some(m))),
                None => r.router.to_string(),
            };
            let what = if r.prefixes.is_empty() {
                format!(
                    "advertises itself as a router (lifetime {} s)",
                    r.lifetime_s
                )
            } else {
                let p: Vec<&str> = r.prefixes.iter().map(|p| p.prefix.as_str()).collect();
                format!("advertises {}", p.join(", "))
            };
            let mut a = Alert::new(
                AlertKind::RogueRouter,
                format!("unexpected IPv6 router {who} {what}"),
            )
            .with_ip(IpAddr::V6(r.router));
            if let Some(m) = r.mac {
                a = a.with_mac(m);
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lan::{DuplicateIp, GatewayClaim, RaPrefix, RouterAdvert};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn offer(server: &str, offered: &str, router: &str) -> DhcpOffer {
        DhcpOffer {
            server: ip(server),
            server_mac: None,
            vendor: None,
            offered: ip(offered),
            subnet_mask: None,
            routers: vec![ip(router)],
            dns: Vec::new(),
            domain: None,
            lease_s: None,
            rtt_ms: None,
            rogue: false,
        }
    }

    fn report() -> LanReport {
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
                status: CheckStatus::Done,
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

    #[test]
    fn one_dhcp_server_is_fine_two_name_the_rogue() {
        let gw = Some(ip("10.79.0.1"));
        let mut r = report();
        r.dhcp.offers = vec![offer("10.79.0.1", "10.79.0.120", "10.79.0.1")];
        judge(&mut r, gw, &LanConfig::default());
        assert!(r.alerts.is_empty());

        r.dhcp.offers.push(DhcpOffer {
            server_mac: Some("b8:27:eb:00:00:60".parse().unwrap()),
            ..offer("10.79.0.60", "10.79.0.210", "10.79.0.60")
        });
        judge(&mut r, gw, &LanConfig::default());
        assert_eq!(r.alerts.len(), 1);
        assert_eq!(r.alerts[0].kind, AlertKind::RogueDhcp);
        assert_eq!(
            r.alerts[0].text,
            "rogue DHCP server 10.79.0.60 (Raspberry Pi Foundation) offers 10.79.0.210 with \
             router 10.79.0.60; the other server is 10.79.0.1"
        );
        assert_eq!(
            r.dhcp.offers.iter().map(|o| o.rogue).collect::<Vec<_>>(),
            [false, true]
        );

        // An expected list overrides the gateway rule.
        let cfg = LanConfig {
            expect_dhcp: vec![ip("10.79.0.60")],
            ..LanConfig::default()
        };
        judge(&mut r, gw, &cfg);
        assert_eq!(r.alerts.len(), 1);
        assert!(r.alerts[0].text.starts_with("rogue DHCP server 10.79.0.1 "));

        // Neither names the gateway (or no gateway is known): one alert, no server marked.
        for gw in [Some(ip("10.79.0.254")), None] {
            judge(&mut r, gw, &LanConfig::default());
            assert_eq!(r.alerts.len(), 1);
            assert_eq!(r.alerts[0].ip, None);
            assert!(r.dhcp.offers.iter().all(|o| !o.rogue));
            assert_eq!(
                r.alerts[0].text,
                "2 DHCP servers answer and none is known to be the right one (name it with \
                 --expect-dhcp): 10.79.0.1 offers 10.79.0.120 with router 10.79.0.1; 10.79.0.60 \
                 (Raspberry Pi Foundation) offers 10.79.0.210 with router 10.79.0.60"
            );
        }
    }

    #[test]
    fn duplicates_claims_and_routers_are_said() {
        let mut r = report();
        r.duplicates.duplicates = vec![DuplicateIp {
            ip: ip("10.79.0.50"),
            macs: vec![
                MacAddr([2, 0, 0, 0, 0, 0x51]),
                MacAddr([2, 0, 0, 0, 0, 0x52]),
            ],
            vendors: vec![None, None],
        }];
        r.arp_watch.claims = vec![GatewayClaim {
            gateway: ip("10.79.0.1"),
            expected_mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            claimed_by: MacAddr([2, 0, 0, 0, 0, 0x66]),
            vendor: None,
            gratuitous: true,
        }];
        let router = |addr: &str, mac: u8, prefix: &str| RouterAdvert {
            router: addr.parse().unwrap(),
            mac: Some(MacAddr([2, 0, 0, 0, 0, mac])),
            vendor: None,
            lifetime_s: 1800,
            managed: false,
            other: false,
            prefixes: vec![RaPrefix {
                prefix: prefix.into(),
                valid_s: 86400,
                preferred_s: 14400,
                autonomous: true,
                on_link: true,
            }],
            dns: Vec::new(),
            expected: true,
        };
        r.routers.routers = vec![
            router("fe80::1", 1, "2001:db8:77::/64"),
            router("fe80::99", 0x99, "2001:db8:bad::/64"),
        ];
        judge(&mut r, Some(ip("10.79.0.1")), &LanConfig::default());
        let texts: Vec<&str> = r.alerts.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "duplicate IP 10.79.0.50: answered by 02:00:00:00:00:51 and 02:00:00:00:00:52",
                "gratuitous ARP claims the gateway 10.79.0.1 from 02:00:00:00:00:66; the gateway \
                 answers from 02:00:00:00:00:01",
                "unexpected IPv6 router fe80::99 (02:00:00:00:00:99) advertises 2001:db8:bad::/64",
            ]
        );
        assert_eq!(
            r.routers
                .routers
                .iter()
                .map(|r| r.expected)
                .collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn a_changed_gateway_mac_is_said_as_a_change() {
        let mut r = report();
        let now = MacAddr([2, 0, 0, 0, 0, 0x77]);
        r.arp_watch.gateway_mac = Some(now);
        r.arp_watch.claims = vec![GatewayClaim {
            gateway: ip("10.79.0.1"),
            expected_mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            claimed_by: now,
            vendor: None,
            gratuitous: false,
        }];
        judge(&mut r, Some(ip("10.79.0.1")), &LanConfig::default());
        assert_eq!(
            r.alerts[0].text,
            "the gateway 10.79.0.1 now answers from MAC 02:00:00:00:00:77 (was 02:00:00:00:00:01)"
        );
    }
}
