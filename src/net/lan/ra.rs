//! The IPv6 router check: one Router Solicitation to ff02::2, then every Router Advertisement
//! heard for the window (answers and unsolicited ones), one entry per router address. Which
//! routers are expected is decided afterwards by [`judge`], once the IPv4 gateway's MAC is
//! known from the ARP watch running beside it.
//!
//! The ICMPv6 raw socket is the check's own (see the module notes in `net::lan`): it is bound
//! to the interface with a hop limit of 255, which RFC 4861 requires of an RS.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;

use crate::core::lan::{CheckStatus, RaCheck, RouterAdvert};
use crate::core::model::MacAddr;
use crate::net::lan::ra_wire;
use crate::net::lan::{LanIface, needs_raw, vendor_of};
use crate::net::session::Session;

const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// An RS is sent again after this, once (a lost solicitation would hide every router that
/// only answers solicitations until its next periodic advertisement, minutes away).
const RESEND_AFTER: Duration = Duration::from_secs(1);

/// A router the user expects: by its link-local address or by its MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterExpect {
    Ip(Ipv6Addr),
    Mac(MacAddr),
}

impl std::str::FromStr for RouterExpect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<Ipv6Addr>() {
            return Ok(RouterExpect::Ip(ip));
        }
        s.parse::<MacAddr>()
            .map(RouterExpect::Mac)
            .map_err(|_| format!("'{s}' is neither an IPv6 address nor a MAC address"))
    }
}

/// Mark each router expected or not. A router is expected when its MAC is the IPv4 gateway's
/// or its address or MAC is in `expect`. When neither names any router (no list, and no
/// router with the gateway's MAC), nothing can be told apart: a lone router is expected, and
/// of two or more none is.
pub fn judge(routers: &mut [RouterAdvert], gateway_mac: Option<MacAddr>, expect: &[RouterExpect]) {
    let matches = |r: &RouterAdvert| {
        (gateway_mac.is_some() && r.mac == gateway_mac)
            || expect.iter().any(|e| match e {
                RouterExpect::Ip(ip) => *ip == r.router,
                RouterExpect::Mac(m) => Some(*m) == r.mac,
            })
    };
    let formed = !expect.is_empty() || routers.iter().any(&matches);
    let lone = routers.len() == 1;
    for r in routers.iter_mut() {
        r.expected = if formed { matches(r) } else { lone };
    }
}

fn open(iface: &LanIface) -> io::Result<tokio::net::UdpSocket> {
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    s.bind_device(Some(iface.name.as_bytes()))?;
    s.set_multicast_hops_v6(255)?;
    s.set_unicast_hops_v6(255)?;
    s.set_multicast_if_v6(iface.index)?;
    s.set_nonblocking(true)?;
    // A raw socket used through the safe datagram API: send_to and recv_from are all it needs.
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(s))
}

fn advert(router: Ipv6Addr, f: ra_wire::RaFields) -> RouterAdvert {
    RouterAdvert {
        router,
        mac: f.mac,
        vendor: f.mac.and_then(vendor_of),
        lifetime_s: f.lifetime_s,
        managed: f.managed,
        other: f.other,
        prefixes: f.prefixes,
        dns: f.dns,
        expected: true,
    }
}

/// Run the check on `iface` for `window`. Every router comes back `expected`; call [`judge`].
pub async fn check(
    session: &Session,
    iface: &LanIface,
    window: Duration,
    cancel: &CancellationToken,
) -> RaCheck {
    let done = |status| RaCheck {
        status,
        routers: Vec::new(),
    };
    if !session.raw_capable() {
        return done(needs_raw());
    }
    if iface.v6_link_local.is_none() {
        return done(CheckStatus::Skipped {
            reason: format!("{} has no IPv6 link-local address", iface.name),
        });
    }
    let sock = match open(iface) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return done(needs_raw()),
        Err(e) => {
            return done(CheckStatus::Failed {
                error: format!("cannot open an ICMPv6 socket on {}: {e}", iface.name),
            });
        }
    };
    let rs = ra_wire::build_rs(iface.mac.map(|m| m.0));
    let to = SocketAddr::V6(SocketAddrV6::new(ALL_ROUTERS, 0, 0, iface.index));
    if let Err(e) = sock.send_to(&rs, to).await {
        return done(CheckStatus::Failed {
            error: format!("cannot send a router solicitation on {}: {e}", iface.name),
        });
    }
    let start = tokio::time::Instant::now();
    let deadline = start + window;
    let mut resend = (window > RESEND_AFTER).then_some(start + RESEND_AFTER);
    let mut routers: BTreeMap<Ipv6Addr, RouterAdvert> = BTreeMap::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let timer = resend.unwrap_or(deadline);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(timer) => {
                if resend.take().is_none() {
                    break;
                }
                let _ = sock.send_to(&rs, to).await;
            }
            got = sock.recv_from(&mut buf) => {
                let Ok((n, SocketAddr::V6(from))) = got else { continue };
                if let Some(f) = buf.get(..n).and_then(ra_wire::parse_ra) {
                    // The latest advertisement of a router is what it says now.
                    routers.insert(*from.ip(), advert(*from.ip(), f));
                }
            }
        }
    }
    RaCheck {
        status: if cancel.is_cancelled() {
            CheckStatus::Failed {
                error: "interrupted".to_string(),
            }
        } else {
            CheckStatus::Done
        },
        routers: routers.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GW: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const EVIL: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x99]);

    fn r(ip: &str, mac: MacAddr) -> RouterAdvert {
        RouterAdvert {
            router: ip.parse().unwrap(),
            mac: Some(mac),
            vendor: None,
            lifetime_s: 1800,
            managed: false,
            other: false,
            prefixes: Vec::new(),
            dns: Vec::new(),
            expected: true,
        }
    }

    fn expected(rs: &[RouterAdvert]) -> Vec<bool> {
        rs.iter().map(|r| r.expected).collect()
    }

    #[test]
    fn the_gateways_mac_is_expected_and_another_router_is_not() {
        let mut rs = vec![r("fe80::1", GW), r("fe80::99", EVIL)];
        judge(&mut rs, Some(GW), &[]);
        assert_eq!(expected(&rs), [true, false]);
    }

    #[test]
    fn a_list_names_the_expected_routers() {
        let mut rs = vec![r("fe80::1", GW), r("fe80::99", EVIL)];
        judge(&mut rs, None, &["fe80::99".parse().unwrap()]);
        assert_eq!(expected(&rs), [false, true]);
        judge(&mut rs, None, &["02:00:00:00:00:01".parse().unwrap()]);
        assert_eq!(expected(&rs), [true, false]);
        assert!("nonsense".parse::<RouterExpect>().is_err());
    }

    #[test]
    fn without_any_expectation_one_router_is_fine_and_two_are_not() {
        let mut one = vec![r("fe80::99", EVIL)];
        judge(&mut one, Some(GW), &[]);
        assert_eq!(expected(&one), [true]);
        let mut two = vec![
            r("fe80::2", MacAddr([2, 0, 0, 0, 0, 2])),
            r("fe80::99", EVIL),
        ];
        judge(&mut two, Some(GW), &[]);
        assert_eq!(expected(&two), [false, false]);
    }
}
