//! The LAN safety checks' probes (`netdx lan`): who offers DHCP, which addresses two MACs
//! answer for, who claims the gateway's address, which IPv6 routers advertise. Each module
//! runs one check on one interface for one listening window and returns its section of
//! [`crate::core::lan::LanReport`]; the engine runs them together and judges the results.
//!
//! Byte formats live apart from the sockets ([`dhcp_wire`], [`ra_wire`], [`arp_frame`]):
//! pure functions that can be unit-tested and fuzzed.
//!
//! Sockets: the ARP sweep of the duplicate check uses the session's ARP channels. The DHCP
//! socket (UDP port 68), the ICMPv6 raw socket and the ARP watch's packet socket are opened
//! here, once per check: each is bound to one interface for one window with options no other
//! job shares (port 68, a hop limit of 255, every ARP frame reaching us), so keeping them in
//! the session would only hold a privileged port and a packet socket open for nothing.

pub mod arp_frame;
pub mod arp_watch;
pub mod dhcp;
pub mod dhcp_wire;
pub mod duplicates;
pub mod ra;
pub mod ra_wire;

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv4Net;
use pnet::ipnetwork::IpNetwork;

use crate::core::lan::CheckStatus;
use crate::core::model::MacAddr;
use crate::net::sys::netinfo;

/// Why a check that needs raw packets did not run.
pub const NEEDS_RAW: &str = "needs CAP_NET_RAW: sudo setcap cap_net_raw+ep $(command -v netdx)";

/// The skip every raw-socket check reports without the privilege.
pub fn needs_raw() -> CheckStatus {
    CheckStatus::Skipped {
        reason: NEEDS_RAW.to_string(),
    }
}

/// The interface the checks run on, as the kernel describes it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanIface {
    pub name: String,
    pub index: u32,
    pub mac: Option<MacAddr>,
    /// The first IPv4 address and its network.
    pub v4: Option<Ipv4Net>,
    /// The first IPv6 link-local address (RS needs one as source).
    pub v6_link_local: Option<Ipv6Addr>,
    /// The IPv4 default gateway through this interface.
    pub gateway: Option<Ipv4Addr>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IfaceError {
    #[error("no interface named {0}")]
    NotFound(String),
    #[error("no default route: name the interface with --interface")]
    NoDefaultRoute,
    #[error("{0} is a loopback interface: the LAN checks need an Ethernet-like link")]
    Loopback(String),
}

/// Find `name` (or, with `None`, the interface of the IPv4 default route, else the IPv6
/// one) in `ifaces`, with its gateway from `gateways`. Pure over its inputs (unit-tested).
pub fn pick_iface(
    name: Option<&str>,
    ifaces: &[pnet::datalink::NetworkInterface],
    gateways: &[netinfo::Gateway],
) -> Result<LanIface, IfaceError> {
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let mut gws: Vec<&netinfo::Gateway> = gateways.iter().collect();
            gws.sort_by_key(|g| (g.ip.is_ipv6(), g.metric));
            gws.first()
                .map(|g| g.iface.clone())
                .ok_or(IfaceError::NoDefaultRoute)?
        }
    };
    let i = ifaces
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| IfaceError::NotFound(name.clone()))?;
    if i.is_loopback() {
        return Err(IfaceError::Loopback(name));
    }
    let v4 = i.ips.iter().find_map(|n| match n {
        IpNetwork::V4(v) => Ipv4Net::new(v.ip(), v.prefix()).ok(),
        IpNetwork::V6(_) => None,
    });
    let v6_link_local = i.ips.iter().find_map(|n| match n {
        IpNetwork::V6(v) if v.ip().is_unicast_link_local() => Some(v.ip()),
        _ => None,
    });
    let gateway = gateways
        .iter()
        .filter(|g| g.iface == name)
        .filter_map(|g| match g.ip {
            std::net::IpAddr::V4(a) => Some((g.metric, a)),
            std::net::IpAddr::V6(_) => None,
        })
        .min()
        .map(|(_, a)| a);
    Ok(LanIface {
        name,
        index: i.index,
        mac: i
            .mac
            .map(|m| MacAddr(m.octets()))
            .filter(|m| *m != MacAddr([0; 6])),
        v4,
        v6_link_local,
        gateway,
    })
}

/// The vendor label of `mac` for reports: the OUI's registrant, or "(locally administered)".
pub fn vendor_of(mac: MacAddr) -> Option<String> {
    crate::core::oui::vendor_label(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet::datalink::NetworkInterface;
    use pnet::util::MacAddr as PnetMac;

    fn ifaces() -> Vec<NetworkInterface> {
        let up = libc::IFF_UP as u32 | libc::IFF_BROADCAST as u32;
        vec![
            NetworkInterface {
                name: "lo".into(),
                description: String::new(),
                index: 1,
                mac: None,
                ips: vec!["127.0.0.1/8".parse().unwrap()],
                flags: up | libc::IFF_LOOPBACK as u32,
            },
            NetworkInterface {
                name: "eth0".into(),
                description: String::new(),
                index: 2,
                mac: Some(PnetMac(2, 0, 0, 0, 0, 0x10)),
                ips: vec![
                    "fe80::10/64".parse().unwrap(),
                    "10.79.0.10/24".parse().unwrap(),
                ],
                flags: up,
            },
        ]
    }

    fn gw(ip: &str, iface: &str, metric: u32) -> netinfo::Gateway {
        netinfo::Gateway {
            ip: ip.parse().unwrap(),
            iface: iface.into(),
            metric,
        }
    }

    #[test]
    fn default_route_picks_the_interface() {
        let got = pick_iface(None, &ifaces(), &[gw("10.79.0.1", "eth0", 0)]).unwrap();
        assert_eq!(got.name, "eth0");
        assert_eq!(got.index, 2);
        assert_eq!(got.v4, Some("10.79.0.10/24".parse().unwrap()));
        assert_eq!(got.v6_link_local, Some("fe80::10".parse().unwrap()));
        assert_eq!(got.gateway, Some(Ipv4Addr::new(10, 79, 0, 1)));
        assert_eq!(got.mac, Some(MacAddr([2, 0, 0, 0, 0, 0x10])));
    }

    #[test]
    fn errors_say_what_is_missing() {
        assert_eq!(
            pick_iface(None, &ifaces(), &[]),
            Err(IfaceError::NoDefaultRoute)
        );
        assert_eq!(
            pick_iface(Some("wlan0"), &ifaces(), &[]),
            Err(IfaceError::NotFound("wlan0".into()))
        );
        assert_eq!(
            pick_iface(Some("lo"), &ifaces(), &[]),
            Err(IfaceError::Loopback("lo".into()))
        );
        // Named, without a gateway: still usable, gateway unknown.
        assert_eq!(
            pick_iface(Some("eth0"), &ifaces(), &[]).unwrap().gateway,
            None
        );
    }
}
