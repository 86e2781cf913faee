//! The header's cells (LAN, gateway, DNS, WAN) from a check made every monitoring round on
//! the probe session, so the header says what is true now, not what the last sweep saw.
//!
//! ```text
//!  round ─► HeaderCheck { context (re-read), gateways: ARP + pings, resolvers: one query,
//!                         wan: pings (or a connect) to the WAN target }
//!        ─► Dashboard::apply_header ─► layers(): gateway_cell, dns_cell, wan_cell, lan_cell
//! ```
//! This module is the pure part: what the check found ([`HeaderCheck`]), how it reads in the
//! header, and which address the WAN check may use ([`wan_target`]). The probing itself is in
//! [`super::prober`].
//!
//! The WAN check goes only where the user pointed it (`wan_target` in the config file) or to
//! the first public resolver in resolv.conf, which the machine already sends every name to:
//! netdx never picks an address on the internet by itself.

use crate::core::units;
use std::net::{IpAddr, SocketAddr};

use crate::core::model::DnsStatus;
use crate::net::sys::netinfo::{LinkState, LocalContext};

use super::state::{Health, LayerHealth};

/// Where the WAN cell's check goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WanTarget {
    pub addr: IpAddr,
    /// Connect to this TCP port instead of pinging (`wan_target = "ADDR:PORT"`, or no ICMP).
    pub port: Option<u16>,
    /// From the config file (else the first public resolver of resolv.conf).
    pub configured: bool,
}

impl WanTarget {
    /// The TCP port used when the target is not pinged: the one configured, else DNS for a
    /// resolver and HTTPS for a configured address.
    pub fn tcp_port(&self) -> u16 {
        self.port.unwrap_or(if self.configured { 443 } else { 53 })
    }
}

/// Why the WAN cell is not probed, in the header's words (the README says the same).
pub const NO_WAN_TARGET: &str = "not probed: no public resolver in resolv.conf, no wan_target";

/// The WAN check's target: the configured one, else the first public resolver in
/// resolv.conf, else none (with the reason for the header).
pub fn wan_target(
    configured: Option<WanTarget>,
    nameservers: &[IpAddr],
) -> Result<WanTarget, &'static str> {
    if let Some(t) = configured {
        return Ok(t);
    }
    nameservers
        .iter()
        .copied()
        .find(|ip| is_public(*ip))
        .map(|addr| WanTarget {
            addr,
            port: None,
            configured: false,
        })
        .ok_or(NO_WAN_TARGET)
}

/// An address on the public internet: not private, loopback, link-local, shared (CGNAT),
/// unique-local, documentation, benchmarking, multicast or otherwise reserved. Reaching one
/// proves the path beyond the local networks.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // Global unicast is 2000::/3, less documentation (2001:db8::/32).
            (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// The gateway as the round's check saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayCheck {
    pub ip: IpAddr,
    /// An ARP reply, an echo reply or a TCP answer came back.
    pub answered: bool,
    /// Average echo RTT, when pings were answered.
    pub rtt_ms: Option<f64>,
    /// Echo requests lost, in percent (none sent: `None`).
    pub loss_pct: Option<f64>,
    /// How it answered when not by ping ("ARP", "TCP 80").
    pub by: Option<String>,
}

/// One resolver's answer to the round's query (the PTR of its own address, which every
/// resolver can answer without asking anyone else).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolverCheck {
    pub server: SocketAddr,
    pub status: DnsStatus,
    pub rtt_ms: Option<f64>,
}

/// The WAN check of one round.
#[derive(Debug, Clone, PartialEq)]
pub enum WanCheck {
    /// Nothing to probe; the reason.
    NotProbed(String),
    Probed {
        target: WanTarget,
        answered: bool,
        rtt_ms: Option<f64>,
        /// "ping" or "TCP 53".
        how: String,
    },
}

/// What one round's header check found.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderCheck {
    /// The machine's interfaces, routes and resolvers, re-read for the round.
    pub context: LocalContext,
    pub gateways: Vec<GatewayCheck>,
    pub resolvers: Vec<ResolverCheck>,
    pub wan: WanCheck,
}

fn cell(health: Health, detail: impl Into<String>) -> LayerHealth {
    LayerHealth {
        health,
        detail: detail.into(),
    }
}

/// Loss at which an answering gateway is degraded.
const GATEWAY_LOSS: f64 = 20.0;

/// The gateway cell: down when no default gateway answers, degraded with loss.
pub fn gateway_cell(ctx: &LocalContext, gateways: &[GatewayCheck]) -> LayerHealth {
    if gateways.is_empty() {
        return if ctx.gateways.is_empty() {
            cell(Health::Down, "no default route")
        } else {
            cell(Health::Unknown, "not checked")
        };
    }
    let mut worst: Option<LayerHealth> = None;
    for g in gateways {
        let c = if !g.answered {
            cell(Health::Down, format!("{} not answering", g.ip))
        } else if let Some(l) = g.loss_pct.filter(|l| *l >= GATEWAY_LOSS) {
            cell(Health::Degraded, format!("{} {l:.0}% loss", g.ip))
        } else {
            match (g.rtt_ms, &g.by) {
                (Some(r), _) => cell(Health::Ok, format!("{} {}", g.ip, units::ms_short(r))),
                (None, Some(by)) => cell(Health::Ok, format!("{} answers {by}", g.ip)),
                (None, None) => cell(Health::Ok, g.ip.to_string()),
            }
        };
        if worst.as_ref().is_none_or(|w| c.health > w.health) {
            worst = Some(c);
        }
    }
    worst.unwrap_or_else(|| cell(Health::Unknown, "not checked"))
}

/// The server answered (even "no such name"): it resolves.
fn works(s: DnsStatus) -> bool {
    matches!(s, DnsStatus::NoError | DnsStatus::NxDomain)
}

/// The DNS cell: every resolver answers (OK), some do (DEGRADED), none does (DOWN).
pub fn dns_cell(resolvers: &[ResolverCheck]) -> LayerHealth {
    if resolvers.is_empty() {
        return cell(Health::Down, "no DNS server configured");
    }
    let ok: Vec<&ResolverCheck> = resolvers.iter().filter(|r| works(r.status)).collect();
    let failing = resolvers.iter().find(|r| !works(r.status));
    let why = |r: &ResolverCheck| match r.status {
        DnsStatus::Timeout | DnsStatus::Error => "no answer".to_string(),
        s => format!("answers {}", s.label()),
    };
    match (ok.len(), failing) {
        (_, None) => {
            let fastest = ok
                .iter()
                .filter_map(|r| r.rtt_ms)
                .reduce(f64::min)
                .map(units::ms_short)
                .unwrap_or_default();
            if resolvers.len() == 1 {
                cell(
                    Health::Ok,
                    format!("{} {fastest}", resolvers[0].server.ip())
                        .trim_end()
                        .to_string(),
                )
            } else {
                cell(
                    Health::Ok,
                    format!("{} servers answer {fastest}", resolvers.len())
                        .trim_end()
                        .to_string(),
                )
            }
        }
        (0, Some(f)) if resolvers.len() == 1 => {
            cell(Health::Down, format!("{} {}", f.server.ip(), why(f)))
        }
        (0, Some(_)) => cell(Health::Down, "no server answers"),
        (n, Some(f)) => cell(
            Health::Degraded,
            format!(
                "{n} of {} answer; {} {}",
                resolvers.len(),
                f.server.ip(),
                why(f)
            ),
        ),
    }
}

/// The WAN cell: the WAN target answers (OK) or not (DOWN), or why it was not probed.
pub fn wan_cell(wan: &WanCheck) -> LayerHealth {
    match wan {
        WanCheck::NotProbed(why) => cell(Health::Unknown, why.clone()),
        WanCheck::Probed {
            target,
            answered: true,
            rtt_ms,
            how,
        } => {
            let rtt = rtt_ms
                .map(|r| format!(" {}", units::ms_short(r)))
                .unwrap_or_default();
            cell(Health::Ok, format!("{} {how}{rtt}", target.addr))
        }
        WanCheck::Probed {
            target,
            answered: false,
            how,
            ..
        } => cell(Health::Down, format!("{} no answer to {how}", target.addr)),
    }
}

/// The LAN cell: the links, the hosts seen on the attached networks (`tally`) and the
/// gateway. A LAN whose gateway does not answer is never OK: the gateway is the one LAN host
/// every other path depends on.
pub fn lan_cell(ctx: &LocalContext, tally: LayerHealth, gateway: &LayerHealth) -> LayerHealth {
    let nics: Vec<_> = ctx.interfaces.iter().filter(|i| !i.loopback).collect();
    if !nics.is_empty() && nics.iter().all(|i| i.link == LinkState::Down) {
        return cell(Health::Down, "no link");
    }
    if gateway.health != Health::Down {
        return if tally.health == Health::Unknown && gateway.health == Health::Ok {
            cell(Health::Ok, "link up")
        } else {
            tally
        };
    }
    match tally.health {
        Health::Down => cell(Health::Down, format!("{}; gateway down", tally.detail)),
        Health::Unknown => cell(Health::Degraded, "gateway not answering"),
        _ => cell(
            Health::Degraded,
            format!("{}; gateway not answering", tally.detail),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::sys::netinfo::{Gateway, Interface};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_addresses() {
        for a in [
            // Public by their ranges; pure checks, nothing is sent to them.
            "11.22.33.44",
            "45.67.89.10",
            "62.1.2.3",
            "2a0b:cafe::1",
            "2600:abcd::1",
        ] {
            assert!(is_public(ip(a)), "{a}");
        }
        for a in [
            "10.77.0.53",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.53",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "198.18.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "255.255.255.255",
            "::1",
            "fd77::53",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip(a)), "{a}");
        }
    }

    #[test]
    fn the_wan_target_is_configured_or_the_first_public_resolver_and_nothing_else() {
        let configured = WanTarget {
            addr: ip("10.9.0.10"),
            port: Some(443),
            configured: true,
        };
        // A configured target wins, even a private one (the user chose it).
        assert_eq!(
            wan_target(Some(configured), &[ip("45.67.89.10")]),
            Ok(configured)
        );
        // Else the first public resolver, skipping private ones before it.
        let t = wan_target(
            None,
            &[ip("10.77.0.53"), ip("11.22.33.44"), ip("45.67.89.10")],
        )
        .unwrap();
        assert_eq!(
            (t.addr, t.port, t.configured),
            (ip("11.22.33.44"), None, false)
        );
        assert_eq!(t.tcp_port(), 53);
        assert_eq!(configured.tcp_port(), 443);
        // Private resolvers only (the lab, most offices): not probed, and the header says why.
        assert_eq!(
            wan_target(None, &[ip("10.77.0.53"), ip("127.0.0.53")]),
            Err(NO_WAN_TARGET)
        );
        assert_eq!(wan_target(None, &[]), Err(NO_WAN_TARGET));
    }

    fn ctx(link: LinkState) -> LocalContext {
        LocalContext {
            interfaces: vec![Interface {
                name: "eth0".into(),
                mac: None,
                addrs: vec!["10.0.0.10/24".parse().unwrap()],
                link,
                loopback: false,
            }],
            gateways: vec![Gateway {
                ip: ip("10.0.0.1"),
                iface: "eth0".into(),
                metric: 0,
            }],
            ..LocalContext::default()
        }
    }

    fn gw(answered: bool, loss: Option<f64>) -> GatewayCheck {
        GatewayCheck {
            ip: ip("10.0.0.1"),
            answered,
            rtt_ms: answered.then_some(0.3),
            loss_pct: loss,
            by: None,
        }
    }

    #[test]
    fn gateway_and_lan_cells() {
        let c = ctx(LinkState::Up);
        let up = gateway_cell(&c, &[gw(true, Some(0.0))]);
        assert_eq!(
            (up.health, up.detail.as_str()),
            (Health::Ok, "10.0.0.1 0.30 ms")
        );
        let lossy = gateway_cell(&c, &[gw(true, Some(40.0))]);
        assert_eq!(lossy.health, Health::Degraded);
        let down = gateway_cell(&c, &[gw(false, Some(100.0))]);
        assert_eq!(
            (down.health, down.detail.as_str()),
            (Health::Down, "10.0.0.1 not answering")
        );

        // Gateways that cannot be checked (a link-local IPv6 router) are left out: with no
        // other, the cell is unknown, not down.
        let unchecked = gateway_cell(&c, &[]);
        assert_eq!(
            (unchecked.health, unchecked.detail.as_str()),
            (Health::Unknown, "not checked")
        );
        let none = gateway_cell(&LocalContext::default(), &[]);
        assert_eq!(
            (none.health, none.detail.as_str()),
            (Health::Down, "no default route")
        );

        let hosts_ok = cell(Health::Ok, "5 of 5 up");
        assert_eq!(lan_cell(&c, hosts_ok.clone(), &up), hosts_ok);
        // The gateway is down: the LAN is not OK, whatever the other hosts say.
        let lan = lan_cell(&c, hosts_ok, &down);
        assert_eq!(lan.health, Health::Degraded);
        assert_eq!(lan.detail, "5 of 5 up; gateway not answering");
        let lan = lan_cell(&c, cell(Health::Unknown, "no hosts"), &down);
        assert_eq!(lan.health, Health::Degraded);
        let lan = lan_cell(&c, cell(Health::Unknown, "no hosts"), &up);
        assert_eq!(lan.health, Health::Ok);
        let lan = lan_cell(&ctx(LinkState::Down), cell(Health::Ok, "x"), &up);
        assert_eq!((lan.health, lan.detail.as_str()), (Health::Down, "no link"));
    }

    fn res(server: &str, status: DnsStatus) -> ResolverCheck {
        ResolverCheck {
            server: server.parse().unwrap(),
            status,
            rtt_ms: Some(1.5),
        }
    }

    #[test]
    fn dns_cell_follows_the_last_answers() {
        let ok = dns_cell(&[res("10.0.0.53:53", DnsStatus::NxDomain)]);
        assert_eq!(
            (ok.health, ok.detail.as_str()),
            (Health::Ok, "10.0.0.53 1.50 ms")
        );
        let down = dns_cell(&[res("10.0.0.53:53", DnsStatus::Timeout)]);
        assert_eq!(
            (down.health, down.detail.as_str()),
            (Health::Down, "10.0.0.53 no answer")
        );
        let fail = dns_cell(&[res("10.0.0.53:53", DnsStatus::ServFail)]);
        assert_eq!(fail.detail, "10.0.0.53 answers SERVFAIL");
        let half = dns_cell(&[
            res("10.0.0.53:53", DnsStatus::NoError),
            res("10.0.0.54:53", DnsStatus::Error),
        ]);
        assert_eq!(half.health, Health::Degraded);
        assert_eq!(half.detail, "1 of 2 answer; 10.0.0.54 no answer");
        assert_eq!(dns_cell(&[]).health, Health::Down);
    }

    #[test]
    fn wan_cell_says_what_was_probed() {
        let target = WanTarget {
            addr: ip("45.67.89.10"),
            port: None,
            configured: false,
        };
        let ok = wan_cell(&WanCheck::Probed {
            target,
            answered: true,
            rtt_ms: Some(12.0),
            how: "ping".into(),
        });
        assert_eq!(
            (ok.health, ok.detail.as_str()),
            (Health::Ok, "45.67.89.10 ping 12.0 ms")
        );
        let down = wan_cell(&WanCheck::Probed {
            target,
            answered: false,
            rtt_ms: None,
            how: "ping".into(),
        });
        assert_eq!(
            (down.health, down.detail.as_str()),
            (Health::Down, "45.67.89.10 no answer to ping")
        );
        let none = wan_cell(&WanCheck::NotProbed(NO_WAN_TARGET.into()));
        assert_eq!(
            (none.health, none.detail.as_str()),
            (Health::Unknown, NO_WAN_TARGET)
        );
    }
}
