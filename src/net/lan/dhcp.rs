//! The rogue-DHCP check: one DHCPDISCOVER, then every OFFER heard for the window. A REQUEST is
//! never sent, so no server hands out a lease and nothing on the network changes.
//!
//! ```text
//!  t=0      DISCOVER (broadcast flag, our MAC as chaddr, random xid) from :68 to 255.255.255.255:67
//!  t=1 s    the same DISCOVER again (a lost broadcast would otherwise hide a server)
//!  ...      every OFFER with our xid and chaddr: one entry per server id
//!  window   stop
//! ```
//!
//! The MAC an offer came from is read from the frame itself, on a packet socket listening
//! beside the UDP socket for the same window: it is the server's, or the relay's when the
//! offer was relayed, and it is known even when this machine has no address to ARP from.
//! Where no packet socket can be opened, a new server's MAC is asked by ARP (the session's
//! channels) instead.
//!
//! The socket is bound to UDP port 68 on the interface (SO_BINDTODEVICE), which needs
//! CAP_NET_RAW (the device binding) and CAP_NET_BIND_SERVICE (a port below 1024): without
//! them the check says so and does not run.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use pnet::datalink::{self, Channel, DataLinkReceiver};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::core::lan::{CheckStatus, DhcpCheck, DhcpOffer};
use crate::core::model::MacAddr;
use crate::net::arp::ArpConfig;
use crate::net::lan::dhcp_wire::{self, OfferFields};
use crate::net::lan::{LanIface, vendor_of};
use crate::net::session::Session;

const CLIENT_PORT: u16 = 68;
const SERVER_PORT: u16 = 67;
/// When the DISCOVER is sent again.
const RESEND_AFTER: Duration = Duration::from_secs(1);
/// The skip reason without the privileges the socket needs.
pub const NEEDS_PRIVILEGE: &str = "needs CAP_NET_RAW and CAP_NET_BIND_SERVICE (UDP port 68): \
     sudo setcap cap_net_raw,cap_net_bind_service+ep $(command -v netdx)";

fn open(iface: &str) -> io::Result<tokio::net::UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    // A DHCP client of this machine may hold port 68 with SO_REUSEADDR too; we only listen
    // for a few seconds beside it.
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind_device(Some(iface.as_bytes()))?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT)).into())?;
    s.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(s.into())
}

/// The offer as reported, from what the packet says and where it came from.
fn to_offer(f: OfferFields, from: Ipv4Addr, rtt: Duration) -> DhcpOffer {
    DhcpOffer {
        server: f.server_id.unwrap_or(from),
        server_mac: None,
        vendor: None,
        offered: f.offered,
        subnet_mask: f.subnet_mask,
        routers: f.routers,
        dns: f.dns,
        domain: f.domain.map(|d| crate::core::sanitize::clean(&d)),
        lease_s: f.lease_s,
        rtt_ms: Some(rtt.as_secs_f64() * 1000.0),
        rogue: false,
    }
}

/// The MAC `server` answers ARP with, if it is on a directly connected network.
async fn server_mac(
    session: Session,
    server: Ipv4Addr,
    cancel: CancellationToken,
) -> Option<MacAddr> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let cfg = ArpConfig {
        wait: Duration::from_millis(300),
        retries: 2,
        ..ArpConfig::default()
    };
    let arp = session.arp().clone();
    let sweep = tokio::spawn(async move { arp.discover(vec![server], cfg, tx, cancel).await });
    let mac = rx.recv().await.map(|o| o.mac);
    let _ = sweep.await;
    mac
}

/// How often the frame listener looks at the clock and the cancel token.
const POLL: Duration = Duration::from_millis(20);

/// A packet socket on `iface` (blocking: call before the DISCOVER goes out, so no offer
/// arrives before it listens). `None` where it cannot be opened.
fn frame_listener(session: &Session, iface: &str) -> Option<Box<dyn DataLinkReceiver>> {
    let dl = session
        .arp()
        .interfaces()
        .iter()
        .find(|i| i.name == iface)
        .cloned()?;
    let config = datalink::Config {
        read_timeout: Some(POLL),
        promiscuous: false,
        ..Default::default()
    };
    match datalink::channel(&dl, config) {
        Ok(Channel::Ethernet(_, rx)) => Some(rx),
        _ => None,
    }
}

/// The source MAC of every offer for `xid` heard until `window` has passed or `cancel`, by
/// server id (the IP source where the offer names none).
fn offer_sources(
    mut rx: Box<dyn DataLinkReceiver>,
    xid: u32,
    window: Duration,
    cancel: &CancellationToken,
) -> HashMap<Ipv4Addr, MacAddr> {
    let start = std::time::Instant::now();
    let mut out = HashMap::new();
    while start.elapsed() < window && !cancel.is_cancelled() {
        let frame = match rx.next() {
            Ok(f) => f,
            Err(e) if crate::net::idle_read(&e) => {
                continue;
            }
            // The socket broke: the UDP socket still collects the offers, without their MACs.
            Err(_) => break,
        };
        if let Some((mac, from, offer)) = dhcp_wire::parse_offer_frame(frame, xid) {
            out.entry(offer.server_id.unwrap_or(from))
                .or_insert(MacAddr(mac));
        }
    }
    out
}

/// Run the check on `iface` for `window` (or until `cancel`).
pub async fn check(
    session: &Session,
    iface: &LanIface,
    window: Duration,
    cancel: &CancellationToken,
) -> DhcpCheck {
    let done = |status| DhcpCheck {
        status,
        offers: Vec::new(),
    };
    let Some(mac) = iface.mac else {
        return done(CheckStatus::Skipped {
            reason: format!("{} has no MAC address", iface.name),
        });
    };
    let sock = match open(&iface.name) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return done(CheckStatus::Skipped {
                reason: NEEDS_PRIVILEGE.to_string(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            return done(CheckStatus::Failed {
                error: format!(
                    "UDP port 68 on {} is taken (a DHCP client?): {e}",
                    iface.name
                ),
            });
        }
        Err(e) => {
            return done(CheckStatus::Failed {
                error: format!("cannot open a DHCP socket on {}: {e}", iface.name),
            });
        }
    };
    let xid: u32 = rand::random();
    let sources = frame_listener(session, &iface.name).map(|rx| {
        let stop = cancel.clone();
        // A little past the window, so an offer the UDP socket takes at its very end is seen.
        tokio::task::spawn_blocking(move || offer_sources(rx, xid, window + POLL * 2, &stop))
    });
    let discover = dhcp_wire::build_discover(xid, mac.0);
    let to = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT));
    let start = Instant::now();
    if let Err(e) = sock.send_to(&discover, to).await {
        return done(CheckStatus::Failed {
            error: format!("cannot send a DHCPDISCOVER on {}: {e}", iface.name),
        });
    }
    let deadline = start + window;
    let resend = start + RESEND_AFTER;
    let mut resent = window <= RESEND_AFTER;
    let mut offers: BTreeMap<Ipv4Addr, DhcpOffer> = BTreeMap::new();
    let mut macs: JoinSet<(Ipv4Addr, Option<MacAddr>)> = JoinSet::new();
    let mut buf = vec![0u8; 1500];
    loop {
        let next_timer = if resent { deadline } else { resend };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(next_timer) => {
                if next_timer == deadline {
                    break;
                }
                resent = true;
                // A failed resend is not fatal: the first DISCOVER went out.
                let _ = sock.send_to(&discover, to).await;
            }
            got = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                let SocketAddr::V4(from) = from else { continue };
                let Some(fields) = buf.get(..n).and_then(|b| dhcp_wire::parse_offer(b, xid)) else {
                    continue;
                };
                if fields.chaddr != mac.0 {
                    continue;
                }
                let offer = to_offer(fields, *from.ip(), start.elapsed());
                let server = offer.server;
                if let std::collections::btree_map::Entry::Vacant(v) = offers.entry(server) {
                    v.insert(offer);
                    if sources.is_none() {
                        let (s, c) = (session.clone(), cancel.child_token());
                        macs.spawn(async move { (server, server_mac(s, server, c).await) });
                    }
                }
            }
        }
    }
    // The frame listener ends with the window; ARP lookups (without it) within their wait.
    let mut found: HashMap<Ipv4Addr, MacAddr> = match sources {
        Some(task) => task.await.unwrap_or_default(),
        None => HashMap::new(),
    };
    while let Some(joined) = macs.join_next().await {
        if let Ok((server, Some(m))) = joined {
            found.entry(server).or_insert(m);
        }
    }
    for (server, o) in offers.iter_mut() {
        if let Some(m) = found.get(server) {
            o.server_mac = Some(*m);
            o.vendor = vendor_of(*m);
        }
    }
    DhcpCheck {
        status: if cancel.is_cancelled() {
            CheckStatus::Failed {
                error: "interrupted".to_string(),
            }
        } else {
            CheckStatus::Done
        },
        offers: offers.into_values().collect(),
    }
}
