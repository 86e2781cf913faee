//! IPv6 neighbour discovery on a local link: how `netdx scan fd77::/64` finds hosts in a
//! prefix of 2^64 addresses that no sweep could cover.
//!
//! ```text
//!  echo request ──► ff02::1%iface, from our address in the prefix   (tries, `gap` apart)
//!     every host answers from the address it picks for our source (one in the prefix)
//!  with CAP_NET_RAW, also a packet with an unknown destination option (type 0x80) to
//!  ff02::1: every host must answer it with an ICMPv6 Parameter Problem, multicast or not
//!  (RFC 8200 4.2), and a firewall that drops echo requests lets it in (nmap's
//!  targets-ipv6-multicast-invalid-dst)
//!  replies ─► responders (first reply's round trip)
//!  kernel IPv6 neighbour table (rtnetlink) ─► MAC of each responder
//!     responder without an entry ─► one unicast echo: our kernel solicits its MAC (NS/NA)
//!  table entries in the prefix with a responder's MAC ─► the same device's other addresses
//!  table entries in the prefix confirmed REACHABLE ─► hosts we talked to moments ago
//! ```
//!
//! Hosts answer a multicast echo unless told not to (Linux: `icmp.echo_ignore_multicast`,
//! a firewall dropping echo requests); the option probe finds most of those, and a host
//! that drops both is found only when the neighbour table already knows it. What is found here is a candidate list: the scan then pings, port-scans
//! and names each address like any other target, and that decides up or down.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use ipnet::Ipv6Net;
use netlink_packet_route::neighbour::NeighbourState;
use pnet::datalink::NetworkInterface;
use pnet::ipnetwork::IpNetwork;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::time::Instant;

use crate::core::model::MacAddr;
use crate::net::sys::neigh6::{self, Neighbour6};

const ECHO_REQUEST: u8 = 128;
const ECHO_REPLY: u8 = 129;
const PARAM_PROBLEM: u8 = 4;
/// Parameter Problem code: unrecognised IPv6 option.
const UNRECOGNISED_OPTION: u8 = 2;
/// The Destination Options extension header's protocol number, and "no next header".
const DSTOPTS: u8 = 60;
const NO_NEXT_HEADER: u8 = 59;
/// An option type whose two high bits are 10: "discard the packet and send a Parameter
/// Problem to the source, even if the destination was multicast".
const OPTION_UNKNOWN_REPORT: u8 = 0x80;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Echo header (8 bytes) then a random token: only replies echoing it are ours.
const TOKEN_LEN: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum NdpError {
    #[error("cannot open an ICMPv6 socket on {iface}: {source}")]
    Socket {
        iface: String,
        #[source]
        source: io::Error,
    },
    #[error("ICMPv6 I/O error on {iface}: {source}")]
    Io {
        iface: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T> = std::result::Result<T, NdpError>;

/// A prefix on a local link: the interface that has an address in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnLink {
    pub prefix: Ipv6Net,
    pub iface: String,
    pub ifindex: u32,
    /// Our address in the prefix: the echo's source, so hosts answer from theirs in it.
    pub source: Ipv6Addr,
    /// Every address of ours on that interface (never reported as a neighbour).
    pub own: Vec<Ipv6Addr>,
}

/// The interface (up, not loopback, multicast-capable) with an IPv6 address inside
/// `prefix` (link-local addresses aside), if any: a prefix with one is on-link and can be
/// discovered by multicast. Pure over the given interface list.
pub fn on_link(ifaces: &[NetworkInterface], prefix: Ipv6Net) -> Option<OnLink> {
    ifaces
        .iter()
        .filter(|i| i.is_up() && !i.is_loopback() && i.is_multicast())
        .find_map(|i| {
            let own: Vec<Ipv6Addr> = i
                .ips
                .iter()
                .filter_map(|n| match n {
                    IpNetwork::V6(v6) => Some(v6.ip()),
                    IpNetwork::V4(_) => None,
                })
                .collect();
            // Link-local prefixes exist on every interface and their addresses need a scope
            // the rest of a scan does not carry: not discoverable this way.
            let source = own
                .iter()
                .copied()
                .find(|a| prefix.contains(a) && !a.is_unicast_link_local())?;
            Some(OnLink {
                prefix,
                iface: i.name.clone(),
                ifindex: i.index,
                source,
                own,
            })
        })
}

/// [`on_link`] over this machine's interfaces (read now; no packet is sent).
pub fn on_link_here(prefix: Ipv6Net) -> Option<OnLink> {
    on_link(&pnet::datalink::interfaces(), prefix)
}

/// How one neighbour was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// It answered the multicast echo.
    Echo,
    /// It answered the unknown-option probe (it drops echo requests, or missed them).
    Option,
    /// Only the kernel's neighbour table knows it (another address of a responder's MAC, or
    /// an entry confirmed reachable).
    Table,
}

/// One IPv6 neighbour in the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub ip: Ipv6Addr,
    pub mac: Option<MacAddr>,
    pub via: Via,
    /// Round trip of its first echo reply.
    pub rtt: Option<Duration>,
}

/// Timing of a discovery. Defaults: 3 echoes 150 ms apart, then 500 ms for late replies,
/// then at most 300 ms for the unicast echoes that fill in missing MACs: about 1.1 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpConfig {
    pub tries: u32,
    pub gap: Duration,
    pub wait: Duration,
    pub resolve_wait: Duration,
}

impl Default for NdpConfig {
    fn default() -> Self {
        NdpConfig {
            tries: 3,
            gap: Duration::from_millis(150),
            wait: Duration::from_millis(500),
            resolve_wait: Duration::from_millis(300),
        }
    }
}

/// An echo request carrying `token`; the kernel fills in the checksum (RAW and DGRAM
/// ICMPv6 sockets both do) and, on a DGRAM ping socket, the identifier.
fn echo_request(ident: u16, seq: u16, token: [u8; TOKEN_LEN]) -> [u8; 8 + TOKEN_LEN] {
    let mut p = [0u8; 8 + TOKEN_LEN];
    p[0] = ECHO_REQUEST;
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..].copy_from_slice(&token);
    p
}

/// A Destination Options header holding one unknown option whose data is `token`, and no
/// payload after it: 8 bytes the kernel puts behind an IPv6 header with next header 60.
fn option_probe(token: [u8; 4]) -> [u8; 8] {
    [
        NO_NEXT_HEADER,
        0, // length in 8-byte units beyond the first 8
        OPTION_UNKNOWN_REPORT,
        4,
        token[0],
        token[1],
        token[2],
        token[3],
    ]
}

/// Whether `packet` (an ICMPv6 message) is a Parameter Problem about our option probe: it
/// quotes an IPv6 header to ff02::1 with next header 60, then our option and token.
pub(crate) fn is_our_param_problem(packet: &[u8], token: &[u8; 4]) -> bool {
    let Some(quoted) = packet.get(8..) else {
        return false;
    };
    packet.first() == Some(&PARAM_PROBLEM)
        && packet.get(1) == Some(&UNRECOGNISED_OPTION)
        && quoted.get(6) == Some(&DSTOPTS)
        && quoted.get(24..40) == Some(ALL_NODES.octets().as_slice())
        && quoted.get(42) == Some(&OPTION_UNKNOWN_REPORT)
        && quoted.get(44..48) == Some(token.as_slice())
}

/// Whether `packet` (an ICMPv6 message, no IP header) is an echo reply carrying `token`.
pub(crate) fn is_our_reply(packet: &[u8], token: &[u8; TOKEN_LEN]) -> bool {
    packet.first() == Some(&ECHO_REPLY) && packet.get(8..8 + TOKEN_LEN) == Some(token.as_slice())
}

/// What the table adds to the responders: (pure, unit-tested).
/// - each responder's MAC (entries on the link's interface);
/// - other in-prefix addresses of a responder's MAC (the same device), and entries in the
///   prefix confirmed `Reachable`, as [`Via::Table`].
fn merge(
    link: &OnLink,
    responders: &BTreeMap<Ipv6Addr, (Duration, Via)>,
    table: &[Neighbour6],
) -> Vec<Neighbour> {
    let on_iface: Vec<&Neighbour6> = table
        .iter()
        .filter(|n| n.ifindex == link.ifindex && !link.own.contains(&n.ip))
        .collect();
    let mac_of: HashMap<Ipv6Addr, MacAddr> = on_iface.iter().map(|n| (n.ip, n.mac)).collect();
    let mut out: Vec<Neighbour> = responders
        .iter()
        .map(|(ip, (rtt, via))| Neighbour {
            ip: *ip,
            mac: mac_of.get(ip).copied(),
            via: *via,
            rtt: Some(*rtt),
        })
        .collect();
    let responder_macs: HashSet<MacAddr> = out.iter().filter_map(|n| n.mac).collect();
    for n in on_iface {
        if !link.prefix.contains(&n.ip) || responders.contains_key(&n.ip) {
            continue;
        }
        if responder_macs.contains(&n.mac) || n.state == NeighbourState::Reachable {
            out.push(Neighbour {
                ip: n.ip,
                mac: Some(n.mac),
                via: Via::Table,
                rtt: None,
            });
        }
    }
    out.sort_by_key(|n| n.ip);
    out.dedup_by_key(|n| n.ip);
    out
}

/// An ICMPv6 socket bound to `link.source` that sends multicast on `link.iface`: RAW with
/// CAP_NET_RAW, else an unprivileged ping socket (where `net.ipv4.ping_group_range` allows).
/// `true` with the socket when it is RAW (it also receives ICMPv6 errors).
fn open_socket(link: &OnLink) -> Result<(tokio::net::UdpSocket, bool)> {
    let err = |source| NdpError::Socket {
        iface: link.iface.clone(),
        source,
    };
    let (socket, raw) = match Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)) {
        Ok(s) => (s, true),
        Err(_) => (
            Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::ICMPV6)).map_err(err)?,
            false,
        ),
    };
    prepare(&socket, link).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    let socket = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(err)?;
    Ok((socket, raw))
}

/// Bound to our address in the prefix, multicast out of the link's interface, not looped
/// back (our own host would answer too).
fn prepare(socket: &Socket, link: &OnLink) -> io::Result<()> {
    socket.bind(&SocketAddr::V6(SocketAddrV6::new(link.source, 0, 0, 0)).into())?;
    socket.set_multicast_if_v6(link.ifindex)?;
    socket.set_multicast_loop_v6(false)
}

/// A raw socket sending Destination Options headers (protocol 60): the kernel writes the
/// IPv6 header. `None` without CAP_NET_RAW (the probe is then left out).
fn open_option_socket(link: &OnLink) -> Option<Socket> {
    let socket = Socket::new(
        Domain::IPV6,
        Type::RAW,
        Some(Protocol::from(i32::from(DSTOPTS))),
    )
    .ok()?;
    prepare(&socket, link).ok()?;
    Some(socket)
}

/// Find the IPv6 neighbours of `link.prefix` (see the module documentation). Needs no
/// privilege where unprivileged ping sockets are allowed; about 1.1 s with the defaults.
pub async fn discover(link: &OnLink, cfg: NdpConfig) -> Result<Vec<Neighbour>> {
    let (sock, raw) = open_socket(link)?;
    // Parameter Problems reach only a RAW ICMPv6 socket.
    let option_sock = if raw { open_option_socket(link) } else { None };
    let io = |source| NdpError::Io {
        iface: link.iface.clone(),
        source,
    };
    let token: [u8; TOKEN_LEN] = rand::random();
    let ident: u16 = rand::random();
    let all_nodes = SocketAddr::V6(SocketAddrV6::new(ALL_NODES, 0, 0, link.ifindex));
    let started = Instant::now();
    let mut responders: BTreeMap<Ipv6Addr, (Duration, Via)> = BTreeMap::new();
    let option_token: [u8; 4] = rand::random();
    let probe = option_probe(option_token);
    let mut buf = [0u8; 1500];

    let tries = cfg.tries.max(1);
    let end = started + cfg.gap * (tries - 1) + cfg.wait;
    let mut sent = 0u32;
    let mut next_send = started;
    loop {
        let now = Instant::now();
        if sent < tries && now >= next_send {
            let req = echo_request(ident, sent as u16, token);
            sock.send_to(&req, all_nodes).await.map_err(io)?;
            if let Some(o) = &option_sock {
                // Best effort: the echo alone still finds most hosts.
                let _ = o.send_to(&probe, &all_nodes.into());
            }
            sent += 1;
            next_send = started + cfg.gap * sent;
            continue;
        }
        if now >= end {
            break;
        }
        let until = if sent < tries { next_send } else { end };
        let Ok(got) = tokio::time::timeout_at(until, sock.recv_from(&mut buf)).await else {
            continue;
        };
        let (n, from) = got.map_err(io)?;
        let SocketAddr::V6(from) = from else { continue };
        if !link.prefix.contains(from.ip()) || link.own.contains(from.ip()) {
            continue;
        }
        let packet = &buf[..n];
        let via = if is_our_reply(packet, &token) {
            Via::Echo
        } else if is_our_param_problem(packet, &option_token) {
            Via::Option
        } else {
            continue;
        };
        let at = started.elapsed();
        let e = responders.entry(*from.ip()).or_insert((at, via));
        // An echo reply is the better-known proof; keep it when both came.
        if via == Via::Echo {
            e.1 = Via::Echo;
        }
    }

    let read_table = || neigh6::read_resolved().unwrap_or_default();
    let mut table = read_table();
    let known: HashSet<Ipv6Addr> = table
        .iter()
        .filter(|n| n.ifindex == link.ifindex)
        .map(|n| n.ip)
        .collect();
    let missing: Vec<Ipv6Addr> = responders
        .keys()
        .filter(|ip| !known.contains(ip))
        .copied()
        .collect();
    if !missing.is_empty() {
        // A unicast packet makes our kernel solicit the address: the answer fills the table.
        for ip in &missing {
            let req = echo_request(ident, u16::MAX, token);
            let to = SocketAddr::V6(SocketAddrV6::new(*ip, 0, 0, 0));
            sock.send_to(&req, to).await.map_err(io)?;
        }
        let deadline = Instant::now() + cfg.resolve_wait;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            table = read_table();
            let have: HashSet<Ipv6Addr> = table
                .iter()
                .filter(|n| n.ifindex == link.ifindex)
                .map(|n| n.ip)
                .collect();
            if missing.iter().all(|ip| have.contains(ip)) {
                break;
            }
        }
    }
    Ok(merge(link, &responders, &table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet::ipnetwork::Ipv6Network;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn iface(name: &str, index: u32, flags: u32, ips: &[&str]) -> NetworkInterface {
        NetworkInterface {
            name: name.into(),
            description: String::new(),
            index,
            mac: None,
            ips: ips
                .iter()
                .map(|s| {
                    let (a, len) = s.split_once('/').unwrap();
                    IpNetwork::V6(Ipv6Network::new(ip(a), len.parse().unwrap()).unwrap())
                })
                .collect(),
            flags,
        }
    }

    const UP: u32 = (libc::IFF_UP | libc::IFF_RUNNING | libc::IFF_MULTICAST) as u32;

    fn link() -> OnLink {
        on_link(
            &[iface("eth0", 2, UP, &["fe80::10/64", "fd77::10/64"])],
            "fd77::/64".parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_prefix_is_on_link_where_an_interface_has_an_address_in_it() {
        let ifaces = [
            iface(
                "lo",
                1,
                UP | libc::IFF_LOOPBACK as u32,
                &["::1/128", "fd77::1/128"],
            ),
            iface("eth0", 2, UP, &["fe80::10/64", "fd77::10/64"]),
            iface("eth1", 3, UP & !(libc::IFF_UP as u32), &["fd88::10/64"]),
        ];
        let l = on_link(&ifaces, "fd77::/64".parse().unwrap()).unwrap();
        assert_eq!((l.iface.as_str(), l.ifindex), ("eth0", 2));
        assert_eq!(l.source, ip("fd77::10"));
        assert_eq!(l.own, vec![ip("fe80::10"), ip("fd77::10")]);
        assert_eq!(on_link(&ifaces, "2001:db8:99::/64".parse().unwrap()), None);
        assert_eq!(
            on_link(&ifaces, "fe80::/64".parse().unwrap()),
            None,
            "link-local"
        );
        assert_eq!(
            on_link(&ifaces, "fd88::/64".parse().unwrap()),
            None,
            "interface down"
        );
    }

    #[test]
    fn requests_and_replies_carry_the_token() {
        let token = [1, 2, 3, 4, 5, 6, 7, 8];
        let req = echo_request(0x1234, 2, token);
        assert_eq!(req[0], ECHO_REQUEST);
        assert_eq!(&req[4..8], &[0x12, 0x34, 0, 2]);
        let mut reply = req;
        reply[0] = ECHO_REPLY;
        assert!(is_our_reply(&reply, &token));
        assert!(!is_our_reply(&req, &token), "our own request");
        assert!(!is_our_reply(&reply, &[0; 8]), "someone else's echo");
        assert!(!is_our_reply(&reply[..10], &token), "truncated");
        assert!(!is_our_reply(&[], &token));
    }

    #[test]
    fn parameter_problems_about_our_probe_are_recognised() {
        let token = [9, 8, 7, 6];
        let probe = option_probe(token);
        assert_eq!(probe, [59, 0, 0x80, 4, 9, 8, 7, 6]);
        // What a host sends back: type 4 code 2, pointer 42, our IPv6 header, our option.
        let mut ip6 = vec![0x60, 0, 0, 0, 0, 8, DSTOPTS, 1];
        ip6.extend_from_slice(&ip("fd77::10").octets());
        ip6.extend_from_slice(&ALL_NODES.octets());
        let mut pp = vec![PARAM_PROBLEM, UNRECOGNISED_OPTION, 0, 0, 0, 0, 0, 42];
        pp.extend_from_slice(&ip6);
        pp.extend_from_slice(&probe);
        assert!(is_our_param_problem(&pp, &token));
        assert!(!is_our_param_problem(&pp, &[0; 4]), "another token");
        assert!(!is_our_param_problem(&pp[..50], &token), "truncated");
        let mut other = pp.clone();
        other[1] = 1;
        assert!(!is_our_param_problem(&other, &token), "another code");
        let mut unicast = pp.clone();
        unicast[8 + 39] = 2;
        assert!(
            !is_our_param_problem(&unicast, &token),
            "not our multicast probe"
        );
        assert!(!is_our_param_problem(&[], &token));
    }

    fn entry(s: &str, mac: u8, state: NeighbourState) -> Neighbour6 {
        Neighbour6 {
            ip: ip(s),
            mac: MacAddr([0, 0x50, 0x56, 0, 0, mac]),
            ifindex: 2,
            state,
        }
    }

    #[test]
    fn the_table_gives_macs_and_the_same_device_s_other_addresses() {
        let responders: BTreeMap<Ipv6Addr, (Duration, Via)> = [
            (ip("fd77::20"), (Duration::from_millis(1), Via::Echo)),
            (ip("fd77::30"), (Duration::from_millis(2), Via::Option)),
        ]
        .into();
        let mut other_iface = entry("fd77::99", 9, NeighbourState::Reachable);
        other_iface.ifindex = 3;
        let table = [
            entry("fd77::20", 0x20, NeighbourState::Stale),
            entry("fd77::20:1", 0x20, NeighbourState::Stale), // same MAC: same device
            entry("fe80::20", 0x20, NeighbourState::Stale),   // not in the prefix
            entry("fd77::40", 0x40, NeighbourState::Stale),   // stale and unrelated
            entry("fd77::41", 0x41, NeighbourState::Reachable), // confirmed just now
            entry("fd77::10", 0x10, NeighbourState::Reachable), // ours
            other_iface,
        ];
        let got = merge(&link(), &responders, &table);
        let summary: Vec<(String, Option<u8>, Via)> = got
            .iter()
            .map(|n| (n.ip.to_string(), n.mac.map(|m| m.0[5]), n.via))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("fd77::20".to_string(), Some(0x20), Via::Echo),
                ("fd77::30".to_string(), None, Via::Option),
                ("fd77::41".to_string(), Some(0x41), Via::Table),
                ("fd77::20:1".to_string(), Some(0x20), Via::Table),
            ]
        );
        assert_eq!(got[0].rtt, Some(Duration::from_millis(1)));
    }
}
