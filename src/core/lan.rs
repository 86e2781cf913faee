//! What the LAN safety checks found (`netdx lan`, the dashboard's LAN panel, `--auto`): every
//! DHCP server that offers, addresses answered by two MACs, claims on the gateway's address,
//! IPv6 routers that advertise, and the switch port this machine is plugged into. Each section
//! says whether it ran, so "no rogue DHCP server" is never printed for a check that could not
//! run.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::model::MacAddr;

/// Whether a check ran, and if not, why (one sentence that says how to make it run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckStatus {
    /// The check ran for its whole window.
    Done,
    /// The check did not run: no privilege, no IPv4/IPv6 on the interface, switched off.
    Skipped { reason: String },
    /// The check started and failed (socket error, interface went away).
    Failed { error: String },
}

impl CheckStatus {
    pub fn ran(&self) -> bool {
        matches!(self, CheckStatus::Done)
    }
}

/// One DHCPOFFER, heard in answer to a DISCOVER that netdx sent without ever requesting a
/// lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DhcpOffer {
    /// The server identifier (option 54), else the packet's source address.
    pub server: Ipv4Addr,
    /// The MAC the offer came from (the relay's when relayed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_mac: Option<MacAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The address offered to us (yiaddr).
    pub offered: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_mask: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routers: Vec<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_s: Option<u32>,
    /// Milliseconds from the DISCOVER to this offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// Judged a rogue: not in the expected list, or not the server that names the gateway
    /// while another one does.
    #[serde(default)]
    pub rogue: bool,
}

/// Rogue DHCP: every server that answered one DISCOVER.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DhcpCheck {
    #[serde(flatten)]
    pub status: CheckStatus,
    /// Every server that offered, one entry per server.
    #[serde(default)]
    pub offers: Vec<DhcpOffer>,
}

/// An address answered by more than one MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicateIp {
    pub ip: Ipv4Addr,
    pub macs: Vec<MacAddr>,
    /// Vendors of `macs`, same order, where the OUI names one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendors: Vec<Option<String>>,
}

/// Duplicate addresses: the subnet asked by ARP, and the addresses two or more MACs answered for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicateCheck {
    #[serde(flatten)]
    pub status: CheckStatus,
    /// How many addresses were asked.
    pub probed: usize,
    /// What was left out and why (a subnet wider than /22 is checked around our address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub duplicates: Vec<DuplicateIp>,
}

/// A MAC that claimed the gateway's address other than the one the gateway answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GatewayClaim {
    pub gateway: Ipv4Addr,
    /// The MAC the gateway answers ARP with (or the one recorded before, when it changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_mac: Option<MacAddr>,
    pub claimed_by: MacAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The claim was an unsolicited (gratuitous) ARP rather than a reply to our request.
    pub gratuitous: bool,
}

/// ARP spoofing: claims on the gateway's address by another MAC, heard while listening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ArpWatch {
    #[serde(flatten)]
    pub status: CheckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_mac: Option<MacAddr>,
    #[serde(default)]
    pub claims: Vec<GatewayClaim>,
}

/// One prefix in a router advertisement (Prefix Information option).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RaPrefix {
    /// `2001:db8:1::/64`.
    pub prefix: String,
    pub valid_s: u32,
    pub preferred_s: u32,
    /// Hosts may build addresses from it (SLAAC, the A flag).
    pub autonomous: bool,
    pub on_link: bool,
}

/// An IPv6 router that advertised on the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouterAdvert {
    pub router: Ipv6Addr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// 0 means "not a default router".
    pub lifetime_s: u16,
    /// M and O flags: addresses / other configuration from DHCPv6.
    pub managed: bool,
    pub other: bool,
    #[serde(default)]
    pub prefixes: Vec<RaPrefix>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<Ipv6Addr>,
    /// False when the router is not the expected one (configured, or the IPv4 gateway's MAC).
    pub expected: bool,
}

/// IPv6 routers: every router that answered one router solicitation, or advertised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RaCheck {
    #[serde(flatten)]
    pub status: CheckStatus,
    #[serde(default)]
    pub routers: Vec<RouterAdvert>,
}

/// Link-layer discovery protocol a switch announced itself with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SwitchProtocol {
    Lldp,
    Cdp,
}

/// The switch and port this machine is plugged into, as the switch announced them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SwitchPort {
    pub protocol: SwitchProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_address: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_description: Option<String>,
    /// The source MAC of the frame (the switch port's own MAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_mac: Option<MacAddr>,
}

/// The switch port: what the switch announced with LLDP or CDP while listening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SwitchCheck {
    #[serde(flatten)]
    pub status: CheckStatus,
    /// Seconds listened.
    pub listened_s: f64,
    /// One per protocol heard (a switch may speak both).
    #[serde(default)]
    pub ports: Vec<SwitchPort>,
}

/// The whole LAN safety check on one interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LanReport {
    pub interface: String,
    /// When the listening window opened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    pub duration_ms: u64,
    pub dhcp: DhcpCheck,
    pub duplicates: DuplicateCheck,
    pub arp_watch: ArpWatch,
    pub routers: RaCheck,
    pub switch: SwitchCheck,
    /// What is wrong, one alert per problem (rogue DHCP, duplicate IP, gateway claim, rogue
    /// router), in the same words everywhere.
    #[serde(default)]
    pub alerts: Vec<crate::core::alert::Alert>,
}

/// How a line of the LAN summary reads: a problem, a fact, or a check that did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Problem,
    Fine,
    NotRun,
}

fn mac_vendor(mac: Option<MacAddr>, vendor: Option<&str>) -> String {
    // "(locally administered)" is how the OUI table says "no vendor": not in double brackets.
    let vendor = vendor
        .map(|v| v.trim_start_matches('(').trim_end_matches(')'))
        .filter(|v| !v.is_empty());
    match (mac, vendor) {
        (Some(m), Some(v)) => format!(" ({m}, {v})"),
        (Some(m), None) => format!(" ({m})"),
        (None, Some(v)) => format!(" ({v})"),
        (None, None) => String::new(),
    }
}

fn not_run(what: &str, status: &CheckStatus) -> Option<(LineKind, String)> {
    match status {
        CheckStatus::Done => None,
        CheckStatus::Skipped { reason } => {
            Some((LineKind::NotRun, format!("{what}: not checked: {reason}")))
        }
        CheckStatus::Failed { error } => {
            Some((LineKind::NotRun, format!("{what}: check failed: {error}")))
        }
    }
}

impl DhcpOffer {
    /// "10.0.0.1 (00:..., Cisco) offers 10.0.0.120/255.255.255.0, router 10.0.0.1, DNS 10.0.0.53".
    pub fn words(&self) -> String {
        let mut s = format!(
            "{}{} offers {}",
            self.server,
            mac_vendor(self.server_mac, self.vendor.as_deref()),
            self.offered
        );
        if let Some(m) = self.subnet_mask {
            s.push_str(&format!("/{m}"));
        }
        let list = |v: &[Ipv4Addr]| {
            v.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !self.routers.is_empty() {
            s.push_str(&format!(", router {}", list(&self.routers)));
        }
        if !self.dns.is_empty() {
            s.push_str(&format!(", DNS {}", list(&self.dns)));
        }
        s
    }
}

impl RouterAdvert {
    /// "fe80::1 (00:..., Cisco) advertises 2001:db8:1::/64, default router for 1800 s".
    pub fn words(&self) -> String {
        let prefixes: Vec<&str> = self.prefixes.iter().map(|p| p.prefix.as_str()).collect();
        let mut s = format!(
            "{}{} advertises {}",
            self.router,
            mac_vendor(self.mac, self.vendor.as_deref()),
            if prefixes.is_empty() {
                "no prefix".to_string()
            } else {
                prefixes.join(" ")
            }
        );
        if self.lifetime_s > 0 {
            s.push_str(&format!(", default router for {} s", self.lifetime_s));
        } else {
            s.push_str(", not a default router");
        }
        if self.managed || self.other {
            s.push_str(", DHCPv6");
        }
        s
    }
}

impl SwitchPort {
    /// "switch core-sw1 port Gi1/0/12 (Reception desk), VLAN 20, management 10.0.0.2 (LLDP)".
    pub fn words(&self) -> String {
        let mut s = format!(
            "switch {} port {}",
            self.switch_name
                .as_deref()
                .or(self.chassis_id.as_deref())
                .unwrap_or("(unnamed)"),
            self.port.as_deref().unwrap_or("(unnamed)")
        );
        if let Some(d) = &self.port_description {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(v) = self.vlan {
            s.push_str(&format!(", VLAN {v}"));
        }
        if let Some(a) = self.management_address {
            s.push_str(&format!(", management {a}"));
        }
        s.push_str(match self.protocol {
            SwitchProtocol::Lldp => " (LLDP)",
            SwitchProtocol::Cdp => " (CDP)",
        });
        s
    }
}

impl LanReport {
    /// The whole check in plain lines, problems first within each section, every section
    /// saying what it checked or why it did not run. Shared by the dashboard, `netdx lan`
    /// and every report, so all of them say the same.
    pub fn lines(&self) -> Vec<(LineKind, String)> {
        let mut out = Vec::new();
        let d = &self.dhcp;
        match not_run("DHCP servers", &d.status) {
            Some(l) => out.push(l),
            None => match d.offers.len() {
                0 => out.push((
                    LineKind::Problem,
                    "DHCP: no server answered a DISCOVER".into(),
                )),
                1 => out.push((
                    LineKind::Fine,
                    format!("DHCP: one server: {}", d.offers[0].words()),
                )),
                n => {
                    out.push((
                        LineKind::Problem,
                        format!("DHCP: {n} servers answer (a rogue DHCP server is likely):"),
                    ));
                    // The judged rogue ones are the problem; when none could be told apart,
                    // every one is.
                    let judged = d.offers.iter().any(|o| o.rogue);
                    for o in &d.offers {
                        let kind = if o.rogue || !judged {
                            LineKind::Problem
                        } else {
                            LineKind::Fine
                        };
                        let tag = if o.rogue { "rogue: " } else { "" };
                        out.push((kind, format!("  {tag}{}", o.words())));
                    }
                }
            },
        }
        let dup = &self.duplicates;
        match not_run("Duplicate IPs", &dup.status) {
            Some(l) => out.push(l),
            None if dup.duplicates.is_empty() => out.push((
                LineKind::Fine,
                format!("Duplicate IPs: none among {} addresses asked", dup.probed),
            )),
            None => {
                for x in &dup.duplicates {
                    let macs: Vec<String> = x
                        .macs
                        .iter()
                        .enumerate()
                        .map(|(i, m)| match x.vendors.get(i).cloned().flatten() {
                            Some(v) => format!("{m} ({v})"),
                            None => m.to_string(),
                        })
                        .collect();
                    out.push((
                        LineKind::Problem,
                        format!("Duplicate IP {}: answered by {}", x.ip, macs.join(" and ")),
                    ));
                }
            }
        }
        let w = &self.arp_watch;
        match not_run("Gateway ARP", &w.status) {
            Some(l) => out.push(l),
            None if w.claims.is_empty() => out.push((
                LineKind::Fine,
                match (w.gateway, w.gateway_mac) {
                    (Some(g), Some(m)) => format!("Gateway ARP: {g} answers from {m} only"),
                    (Some(g), None) => format!("Gateway ARP: {g} did not answer ARP"),
                    _ => "Gateway ARP: no IPv4 gateway on this interface".into(),
                },
            )),
            None => {
                for c in &w.claims {
                    out.push((
                        LineKind::Problem,
                        format!(
                            "Gateway ARP: {} claims the gateway {}{}{}",
                            c.claimed_by,
                            c.gateway,
                            if c.gratuitous {
                                " (gratuitous ARP)"
                            } else {
                                ""
                            },
                            c.expected_mac
                                .map(|m| format!("; the gateway answers from {m}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        let r = &self.routers;
        match not_run("IPv6 routers", &r.status) {
            Some(l) => out.push(l),
            None if r.routers.is_empty() => out.push((
                LineKind::Fine,
                "IPv6 routers: none advertises on this link".into(),
            )),
            None => {
                for ra in &r.routers {
                    if ra.expected {
                        out.push((LineKind::Fine, format!("IPv6 router: {}", ra.words())));
                    } else {
                        out.push((
                            LineKind::Problem,
                            format!("Unexpected IPv6 router: {}", ra.words()),
                        ));
                    }
                }
            }
        }
        let sw = &self.switch;
        match not_run("Switch port", &sw.status) {
            Some(l) => out.push(l),
            None if sw.ports.is_empty() => out.push((
                LineKind::Fine,
                format!(
                    "Switch port: no LLDP or CDP frame in {:.0} s (switches announce every 30 s by default; some never do)",
                    sw.listened_s
                ),
            )),
            None => {
                for p in &sw.ports {
                    out.push((LineKind::Fine, format!("Switch port: {}", p.words())));
                }
            }
        }
        out
    }
}
