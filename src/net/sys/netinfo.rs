//! Local network context: this machine's interfaces (addresses, link state), default gateways
//! and system resolvers, read from the kernel and `/etc/resolv.conf`.
//!
//! Reading the context sends nothing on the network. It is what the dashboard shows before the
//! user starts a run, what `--auto` turns into targets, and how the dashboard tells LAN hosts
//! from the gateway and from the WAN.
//!
//! The parsers are pure functions over the files' text so they are tested with fixture text;
//! [`LocalContext::read`] is the only part that touches the system. Inside a network namespace
//! `/proc/net/*` and the interface list are the namespace's own, and `ip netns exec` bind-mounts
//! `/etc/netns/<ns>/resolv.conf`, so the context is the namespace's too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::{IpNet, Ipv4Net};

use crate::core::model::MacAddr;

/// Operational state of a link, as `/sys/class/net/<if>/operstate` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Up,
    Down,
    Unknown,
}

impl LinkState {
    pub fn label(self) -> &'static str {
        match self {
            LinkState::Up => "up",
            LinkState::Down => "down",
            LinkState::Unknown => "unknown",
        }
    }
}

/// One network interface and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mac: Option<MacAddr>,
    pub addrs: Vec<IpNet>,
    pub link: LinkState,
    pub loopback: bool,
}

/// A default route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub ip: IpAddr,
    pub iface: String,
    pub metric: u32,
}

/// What `/etc/resolv.conf` says (read by the one reader in [`super::resolvers`]).
pub use super::resolvers::ResolvConf;

/// A target the dashboard proposes to scan, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub spec: String,
    pub why: String,
}

/// Everything the dashboard knows about the local network before it sends a packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalContext {
    pub interfaces: Vec<Interface>,
    pub gateways: Vec<Gateway>,
    pub resolv: ResolvConf,
    /// Things that could not be read, or that deserve a word (a DHCP failure shows as a
    /// link-local address).
    pub notes: Vec<String>,
}

/// Largest local IPv4 subnet proposed as a whole; a wider one is narrowed to the block of
/// this size around the machine's own address (a /16 office LAN would be 65,536 probes).
pub const MAX_SUGGESTED_PREFIX: u8 = 22;

const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;

/// One row of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteV4 {
    pub iface: String,
    pub dest: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub flags: u32,
    pub metric: u32,
    pub mask: Ipv4Addr,
}

/// `/proc/net/route` prints each address as the hex of the in-memory `__be32`, read as a host
/// integer: on the little-endian machines netdx runs on, `0102000A` is 10.0.2.1.
fn hex_v4(s: &str) -> Option<Ipv4Addr> {
    let v = u32::from_str_radix(s, 16).ok()?;
    Some(Ipv4Addr::from(v.to_le_bytes()))
}

/// Parse `/proc/net/route` (the header line is skipped; malformed lines are ignored).
pub fn parse_route_v4(text: &str) -> Vec<RouteV4> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(RouteV4 {
                iface: f[0].to_string(),
                dest: hex_v4(f[1])?,
                gateway: hex_v4(f[2])?,
                flags: u32::from_str_radix(f[3], 16).ok()?,
                metric: f[6].parse().ok()?,
                mask: hex_v4(f[7])?,
            })
        })
        .collect()
}

/// One row of `/proc/net/ipv6_route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteV6 {
    pub iface: String,
    pub dest: Ipv6Addr,
    pub prefix_len: u8,
    pub next_hop: Ipv6Addr,
    pub metric: u32,
    pub flags: u32,
}

fn hex_v6(s: &str) -> Option<Ipv6Addr> {
    if s.len() != 32 {
        return None;
    }
    u128::from_str_radix(s, 16).ok().map(Ipv6Addr::from)
}

/// Parse `/proc/net/ipv6_route` (no header; addresses in network order).
pub fn parse_route_v6(text: &str) -> Vec<RouteV6> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            Some(RouteV6 {
                dest: hex_v6(f[0])?,
                prefix_len: u8::from_str_radix(f[1], 16).ok()?,
                next_hop: hex_v6(f[4])?,
                metric: u32::from_str_radix(f[5], 16).ok()?,
                flags: u32::from_str_radix(f[8], 16).ok()?,
                iface: f[9].to_string(),
            })
        })
        .collect()
}

/// Default gateways from both route tables, lowest metric first.
pub fn default_gateways(v4: &[RouteV4], v6: &[RouteV6]) -> Vec<Gateway> {
    let mut out: Vec<Gateway> = v4
        .iter()
        .filter(|r| {
            r.dest.is_unspecified()
                && r.mask.is_unspecified()
                && r.flags & (RTF_UP | RTF_GATEWAY) == RTF_UP | RTF_GATEWAY
                && !r.gateway.is_unspecified()
        })
        .map(|r| Gateway {
            ip: IpAddr::V4(r.gateway),
            iface: r.iface.clone(),
            metric: r.metric,
        })
        .collect();
    let mut v6_out: Vec<Gateway> = v6
        .iter()
        .filter(|r| {
            r.dest.is_unspecified()
                && r.prefix_len == 0
                && r.flags & RTF_UP != 0
                && r.flags & RTF_REJECT == 0
                && !r.next_hop.is_unspecified()
                && r.iface != "lo"
        })
        .map(|r| Gateway {
            ip: IpAddr::V6(r.next_hop),
            iface: r.iface.clone(),
            metric: r.metric,
        })
        .collect();
    out.sort_by_key(|g| g.metric);
    v6_out.sort_by_key(|g| g.metric);
    out.extend(v6_out);
    out.dedup_by(|a, b| a.ip == b.ip);
    out
}

/// Link state from `operstate`, with the interface flags for the kernel's `unknown` (loopback
/// and many virtual devices say `unknown` while carrying traffic).
pub fn parse_operstate(text: &str, admin_up: bool, running: bool) -> LinkState {
    match text.trim() {
        "up" => LinkState::Up,
        "down" | "lowerlayerdown" | "notpresent" | "dormant" => LinkState::Down,
        _ if !admin_up => LinkState::Down,
        _ if running => LinkState::Up,
        _ => LinkState::Unknown,
    }
}

/// The systemd-resolved stub listener: the real servers are in its own resolv.conf.
fn is_stub_resolver(ip: IpAddr) -> bool {
    ip == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53)) || ip == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 54))
}

impl LocalContext {
    /// Read the context from this machine (or network namespace). Never fails: what cannot be
    /// read is left out and said in `notes`.
    pub fn read() -> LocalContext {
        Self::read_with(&pnet::datalink::interfaces())
    }

    /// [`LocalContext::read`] with an interface list the caller already has (the session's,
    /// kept current by netlink notifications): reading the list opens sockets, which a
    /// monitoring round must not; routes and resolv.conf are plain files.
    pub fn read_with(ifaces: &[pnet::datalink::NetworkInterface]) -> LocalContext {
        let mut notes = Vec::new();
        let mut read = |path: &str| match std::fs::read_to_string(path) {
            Ok(t) => Some(t),
            Err(e) => {
                notes.push(format!("cannot read {path}: {e}"));
                None
            }
        };
        let v4 = read("/proc/net/route")
            .map(|t| parse_route_v4(&t))
            .unwrap_or_default();
        let v6 = std::fs::read_to_string("/proc/net/ipv6_route")
            .map(|t| parse_route_v6(&t))
            .unwrap_or_default();
        let mut resolv = match ResolvConf::read() {
            Ok(rc) => rc,
            Err(e) => {
                notes.push(e.to_string());
                ResolvConf::default()
            }
        };
        for p in &resolv.problems {
            notes.push(format!("{}: {p} (skipped)", super::resolvers::RESOLV_CONF));
        }
        if resolv.nameservers.iter().copied().any(is_stub_resolver)
            && let Ok(upstream) = ResolvConf::read_from("/run/systemd/resolve/resolv.conf")
            && !upstream.nameservers.is_empty()
        {
            notes.push(format!(
                "resolv.conf points at the systemd-resolved stub; upstream servers: {}",
                join(&upstream.nameservers)
            ));
        }
        resolv.nameservers.dedup();
        let interfaces = read_interfaces(ifaces);
        let mut ctx = LocalContext {
            interfaces,
            gateways: default_gateways(&v4, &v6),
            resolv,
            notes,
        };
        ctx.notes.extend(ctx.diagnose());
        ctx
    }

    /// Observations worth a line before anything is sent.
    fn diagnose(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in self.interfaces.iter().filter(|i| !i.loopback) {
            for a in &i.addrs {
                if let IpNet::V4(n) = a
                    && n.addr().is_link_local()
                {
                    out.push(format!(
                        "{} has only a link-local address ({}): no DHCP lease?",
                        i.name, n
                    ));
                }
            }
        }
        if self.gateways.is_empty() {
            out.push("no default route".to_string());
        }
        out
    }

    /// The networks this machine is directly attached to (not loopback, not link-local).
    pub fn local_nets(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.interfaces
            .iter()
            .filter(|i| !i.loopback)
            .flat_map(|i| i.addrs.iter())
            .filter(|n| match n {
                IpNet::V4(n) => !n.addr().is_link_local() && !n.addr().is_loopback(),
                IpNet::V6(n) => !n.addr().is_unicast_link_local() && !n.addr().is_loopback(),
            })
            .map(|n| n.trunc())
    }

    /// Whether `ip` is on a directly attached network.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.local_nets().any(|n| n.contains(&ip))
    }

    /// This machine's own addresses.
    pub fn own_addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.interfaces
            .iter()
            .flat_map(|i| i.addrs.iter().map(|a| a.addr()))
    }

    /// What `--auto` and Enter-on-the-context-screen scan: each attached IPv4 network (narrowed
    /// to a /22 around this machine when wider), the default gateways and the resolvers.
    /// Loopback resolvers (a local stub) are left out: probing them says nothing about the
    /// network. IPv6 networks are not swept (a /64 cannot be), but v6 gateways are pinged.
    pub fn suggested_targets(&self) -> Vec<Suggestion> {
        let mut out: Vec<Suggestion> = Vec::new();
        let mut push = |spec: String, why: String| {
            if !out.iter().any(|s| s.spec == spec) {
                out.push(Suggestion { spec, why });
            }
        };
        for i in self
            .interfaces
            .iter()
            .filter(|i| !i.loopback && i.link != LinkState::Down)
        {
            for a in &i.addrs {
                let IpNet::V4(n) = a else { continue };
                if n.addr().is_link_local() || n.addr().is_loopback() || n.prefix_len() >= 31 {
                    continue;
                }
                if n.prefix_len() < MAX_SUGGESTED_PREFIX {
                    let narrowed = Ipv4Net::new(n.addr(), MAX_SUGGESTED_PREFIX)
                        .map(|x| x.trunc())
                        .unwrap_or(n.trunc());
                    push(
                        narrowed.to_string(),
                        format!(
                            "part of {} on {} around this host (the whole network is {} addresses)",
                            n.trunc(),
                            i.name,
                            1u64 << (32 - n.prefix_len())
                        ),
                    );
                } else {
                    push(n.trunc().to_string(), format!("LAN on {}", i.name));
                }
            }
        }
        for g in &self.gateways {
            push(g.ip.to_string(), format!("default gateway via {}", g.iface));
        }
        for r in &self.resolv.nameservers {
            if !r.is_loopback() {
                push(r.to_string(), "DNS resolver".to_string());
            }
        }
        out
    }
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_interfaces(ifaces: &[pnet::datalink::NetworkInterface]) -> Vec<Interface> {
    let mut out: Vec<Interface> = ifaces
        .iter()
        .cloned()
        .map(|i| {
            let operstate = std::fs::read_to_string(
                Path::new("/sys/class/net").join(&i.name).join("operstate"),
            )
            .unwrap_or_default();
            let mac = i
                .mac
                .map(|m| MacAddr([m.0, m.1, m.2, m.3, m.4, m.5]))
                .filter(|m| m.0 != [0; 6]);
            let addrs = i
                .ips
                .iter()
                .filter_map(|n| IpNet::new(n.ip(), n.prefix()).ok())
                .collect();
            Interface {
                link: parse_operstate(&operstate, i.is_up(), i.is_running()),
                loopback: i.is_loopback(),
                name: i.name,
                mac,
                addrs,
            }
        })
        .collect();
    // Loopback last: the interesting interfaces first.
    out.sort_by_key(|i| i.loopback);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
";

    const ROUTE6: &str = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";

    #[test]
    fn v4_routes_are_little_endian_hex() {
        let r = parse_route_v4(ROUTE);
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].gateway, Ipv4Addr::new(10, 0, 2, 1));
        assert_eq!(r[1].dest, Ipv4Addr::new(10, 0, 2, 0));
        assert_eq!(r[1].mask, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(r[3].dest, Ipv4Addr::new(172, 17, 0, 0));
        assert_eq!(r[2].metric, 600);
    }

    #[test]
    fn default_gateways_from_both_tables_by_metric() {
        let g = default_gateways(&parse_route_v4(ROUTE), &parse_route_v6(ROUTE6));
        let ips: Vec<String> = g.iter().map(|g| g.ip.to_string()).collect();
        assert_eq!(ips, ["10.0.2.1", "192.168.1.1", "fd00::1"]);
        assert_eq!(g[0].iface, "eth0");
        assert_eq!(g[1].iface, "wlan0");
    }

    #[test]
    fn reject_and_loopback_v6_routes_are_not_gateways() {
        let v6 = parse_route_v6(ROUTE6);
        assert_eq!(v6.len(), 5);
        assert_eq!(v6[2].next_hop, "fd00::1".parse::<Ipv6Addr>().unwrap());
        let g = default_gateways(&[], &v6);
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn malformed_route_lines_are_skipped() {
        let r = parse_route_v4(
            "header\neth0 zz 00 0003\n\neth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\n",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].gateway, Ipv4Addr::new(10, 0, 0, 1));
        assert!(parse_route_v6("garbage\n00 00\n").is_empty());
    }

    #[test]
    fn operstate() {
        assert_eq!(parse_operstate("up\n", true, true), LinkState::Up);
        assert_eq!(parse_operstate("down\n", true, false), LinkState::Down);
        assert_eq!(
            parse_operstate("lowerlayerdown", true, false),
            LinkState::Down
        );
        assert_eq!(parse_operstate("unknown\n", true, true), LinkState::Up);
        assert_eq!(parse_operstate("unknown\n", false, false), LinkState::Down);
        assert_eq!(parse_operstate("", true, false), LinkState::Unknown);
    }

    fn iface(name: &str, addrs: &[&str], link: LinkState, loopback: bool) -> Interface {
        Interface {
            name: name.to_string(),
            mac: None,
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            link,
            loopback,
        }
    }

    #[test]
    fn suggestions_narrow_wide_networks_and_skip_loopback_resolvers() {
        let ctx = LocalContext {
            interfaces: vec![
                iface(
                    "eth0",
                    &["10.1.200.7/16", "fd00::7/64"],
                    LinkState::Up,
                    false,
                ),
                iface("eth1", &["192.168.5.2/24"], LinkState::Up, false),
                iface("eth2", &["172.16.0.2/24"], LinkState::Down, false),
                iface("wlan0", &["169.254.3.4/16"], LinkState::Up, false),
                iface("lo", &["127.0.0.1/8", "::1/128"], LinkState::Up, true),
            ],
            gateways: vec![Gateway {
                ip: "10.1.0.1".parse().unwrap(),
                iface: "eth0".into(),
                metric: 0,
            }],
            resolv: ResolvConf {
                nameservers: vec!["127.0.0.53".parse().unwrap(), "10.1.0.53".parse().unwrap()],
                ..ResolvConf::default()
            },
            notes: vec![],
        };
        let specs: Vec<String> = ctx
            .suggested_targets()
            .into_iter()
            .map(|s| s.spec)
            .collect();
        assert_eq!(
            specs,
            ["10.1.200.0/22", "192.168.5.0/24", "10.1.0.1", "10.1.0.53"]
        );
        assert!(ctx.is_local("10.1.0.1".parse().unwrap()));
        assert!(ctx.is_local("fd00::99".parse().unwrap()));
        assert!(!ctx.is_local("172.31.9.9".parse().unwrap()));
        assert!(!ctx.is_local("127.0.0.1".parse().unwrap()));
        assert!(!ctx.is_local("169.254.9.9".parse().unwrap()));
        let d = ctx.diagnose();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("wlan0"));
    }
}
