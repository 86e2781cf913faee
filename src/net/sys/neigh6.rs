//! The kernel's IPv6 neighbour (NDP) table, read over rtnetlink.
//!
//! `/proc` has no IPv6 counterpart of `/proc/net/arp`, so the table is asked for with one
//! `RTM_GETNEIGH` dump request (family `AF_INET6`), the same request `ip -6 neigh show` sends.
//! The messages are built and parsed by `netlink-packet-route` and travel over a plain,
//! blocking `netlink-sys` socket: the kernel builds each part of a dump while we wait in
//! `recv`, so the call returns within microseconds and needs no async runtime.

use std::collections::HashSet;
use std::io;
use std::net::Ipv6Addr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::core::model::MacAddr;

/// True for the states in which the kernel is failing to resolve an address: still
/// soliciting (`NUD_INCOMPLETE`) or given up (`NUD_FAILED`). Every other state (reachable,
/// stale, delay, probe, permanent, noarp) has, or had, a link-layer address.
pub fn is_unresolved(state: NeighbourState) -> bool {
    matches!(state, NeighbourState::Incomplete | NeighbourState::Failed)
}

/// The unresolved IPv6 destination of one neighbour message, if it is one.
fn unresolved_dst(msg: &NeighbourMessage) -> Option<Ipv6Addr> {
    if msg.header.family != AddressFamily::Inet6 || !is_unresolved(msg.header.state) {
        return None;
    }
    msg.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => Some(*ip),
        _ => None,
    })
}

/// A resolved IPv6 neighbour: an address with the MAC the kernel learnt for it by NDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour6 {
    pub ip: Ipv6Addr,
    pub mac: MacAddr,
    /// The interface the neighbour is on.
    pub ifindex: u32,
    /// `Reachable` is confirmed within the last ~30 s; `Stale` and the rest are older.
    pub state: NeighbourState,
}

/// The resolved IPv6 entry of one neighbour message, if it is one: a link-layer address of
/// six bytes (Ethernet), not all zero, in a state that has one.
fn resolved_entry(msg: &NeighbourMessage) -> Option<Neighbour6> {
    if msg.header.family != AddressFamily::Inet6 || is_unresolved(msg.header.state) {
        return None;
    }
    let ip = msg.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => Some(*ip),
        _ => None,
    })?;
    let mac = msg.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    })?;
    (mac != [0; 6]).then_some(Neighbour6 {
        ip,
        mac: MacAddr(mac),
        ifindex: msg.header.ifindex,
        state: msg.header.state,
    })
}

/// What one datagram of a dump reply held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DumpPart {
    /// Unresolved IPv6 neighbours found in this datagram.
    pub unresolved: HashSet<Ipv6Addr>,
    /// Resolved IPv6 neighbours (with their MAC) found in this datagram.
    pub resolved: Vec<Neighbour6>,
    /// The kernel sent `NLMSG_DONE`: the dump is complete.
    pub done: bool,
}

/// Parse one datagram of an `RTM_GETNEIGH` dump reply (several netlink messages back to
/// back). An error message or bytes that do not parse fail the whole read: a partial table
/// would make us skip too little, but a wrong one could make us skip a live host.
pub fn parse_dump_part(mut bytes: &[u8]) -> io::Result<DumpPart> {
    let mut part = DumpPart::default();
    while !bytes.is_empty() {
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let len = msg.header.length as usize;
        match msg.payload {
            NetlinkPayload::Done(_) => {
                part.done = true;
                return Ok(part);
            }
            NetlinkPayload::Error(e) => {
                return Err(io::Error::other(format!("rtnetlink error: {e:?}")));
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(n)) => {
                part.unresolved.extend(unresolved_dst(&n));
                part.resolved.extend(resolved_entry(&n));
            }
            _ => {}
        }
        // Messages are 4-byte aligned; a zero or oversized length would loop or overrun.
        let step = len.next_multiple_of(4);
        if len == 0 || step > bytes.len() {
            break;
        }
        bytes = &bytes[step..];
    }
    Ok(part)
}

/// The `RTM_GETNEIGH` dump request for the IPv6 table.
fn dump_request() -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_DUMP | NLM_F_REQUEST;
    let mut body = NeighbourMessage::default();
    body.header.family = AddressFamily::Inet6;
    let mut req = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::GetNeighbour(body)),
    );
    req.finalize();
    let mut buf = vec![0; req.buffer_len()];
    req.serialize(&mut buf);
    buf
}

/// A netlink socket for neighbour dumps, opened once: retries to IPv6 hosts consult the table
/// many times a second, and a monitoring round must not open a socket each time.
#[derive(Default)]
pub struct DumpSocket(std::sync::Mutex<Option<Socket>>);

impl DumpSocket {
    /// Addresses whose IPv6 neighbour entry is incomplete or failed, in this namespace. A
    /// failed dump closes the socket (a half-read dump must not be mistaken for the next).
    pub fn read_unresolved(&self) -> io::Result<HashSet<Ipv6Addr>> {
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            let mut socket = Socket::new(NETLINK_ROUTE)?;
            socket.bind_auto()?;
            socket.connect(&SocketAddr::new(0, 0))?;
            *guard = Some(socket);
        }
        let result = guard
            .as_ref()
            .map_or_else(|| Err(io::Error::other("no socket")), dump_unresolved);
        if result.is_err() {
            *guard = None;
        }
        result
    }
}

/// Addresses whose IPv6 neighbour entry is incomplete or failed, on a socket of its own.
pub fn read_unresolved() -> io::Result<HashSet<Ipv6Addr>> {
    DumpSocket::default().read_unresolved()
}

fn dump_unresolved(socket: &Socket) -> io::Result<HashSet<Ipv6Addr>> {
    dump(socket).map(|d| d.unresolved)
}

/// Every resolved IPv6 neighbour of this namespace with its MAC (what `ip -6 neigh` lists
/// with an `lladdr`), on a socket of its own: read once or twice per discovery.
pub fn read_resolved() -> io::Result<Vec<Neighbour6>> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    dump(&socket).map(|d| d.resolved)
}

fn dump(socket: &Socket) -> io::Result<DumpPart> {
    socket.send(&dump_request(), 0)?;
    let mut all = DumpPart::default();
    // A dump ends with NLMSG_DONE; the bound only guards against a kernel that never says so.
    for _ in 0..10_000 {
        let (bytes, _) = socket.recv_from_full()?;
        if bytes.is_empty() {
            break;
        }
        let part = parse_dump_part(&bytes)?;
        all.unresolved.extend(part.unresolved);
        all.resolved.extend(part.resolved);
        if part.done {
            all.done = true;
            return Ok(all);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "rtnetlink neighbour dump ended without NLMSG_DONE",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::DoneMessage;

    fn neighbour(family: AddressFamily, state: NeighbourState, dst: NeighbourAddress) -> Vec<u8> {
        let mut body = NeighbourMessage::default();
        body.header.family = family;
        body.header.state = state;
        body.attributes.push(NeighbourAttribute::Destination(dst));
        let mut header = NetlinkHeader::default();
        header.flags = netlink_packet_core::NLM_F_MULTIPART;
        let mut msg = NetlinkMessage::new(
            header,
            NetlinkPayload::from(RouteNetlinkMessage::NewNeighbour(body)),
        );
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        buf
    }

    fn done() -> Vec<u8> {
        let mut msg: NetlinkMessage<RouteNetlinkMessage> = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::Done(DoneMessage::default()),
        );
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        buf
    }

    fn v6(s: &str) -> NeighbourAddress {
        NeighbourAddress::Inet6(s.parse().unwrap())
    }

    #[test]
    fn only_incomplete_and_failed_are_unresolved() {
        use NeighbourState::*;
        for s in [Incomplete, Failed] {
            assert!(is_unresolved(s), "{s:?}");
        }
        for s in [Reachable, Stale, Delay, Probe, Noarp, Permanent, None] {
            assert!(!is_unresolved(s), "{s:?}");
        }
    }

    #[test]
    fn a_dump_yields_the_unresolved_v6_destinations() {
        let mut bytes = Vec::new();
        bytes.extend(neighbour(
            AddressFamily::Inet6,
            NeighbourState::Incomplete,
            v6("fd77::124"),
        ));
        bytes.extend(neighbour(
            AddressFamily::Inet6,
            NeighbourState::Failed,
            v6("fd77::125"),
        ));
        bytes.extend(neighbour(
            AddressFamily::Inet6,
            NeighbourState::Reachable,
            v6("fd77::20"),
        ));
        bytes.extend(neighbour(
            AddressFamily::Inet6,
            NeighbourState::Stale,
            v6("fd77::21"),
        ));
        // An IPv4 entry in the same dump (a kernel ignoring the family filter) is not ours.
        bytes.extend(neighbour(
            AddressFamily::Inet,
            NeighbourState::Incomplete,
            NeighbourAddress::Inet("10.77.0.9".parse().unwrap()),
        ));
        let part = parse_dump_part(&bytes).unwrap();
        assert!(!part.done);
        let want: HashSet<Ipv6Addr> = ["fd77::124", "fd77::125"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(part.unresolved, want);

        let end = parse_dump_part(&done()).unwrap();
        assert!(end.done);
        assert!(end.unresolved.is_empty());
    }

    #[test]
    fn resolved_entries_carry_their_mac_and_interface() {
        let entry = |state, mac: Option<Vec<u8>>| {
            let mut body = NeighbourMessage::default();
            body.header.family = AddressFamily::Inet6;
            body.header.state = state;
            body.header.ifindex = 2;
            body.attributes
                .push(NeighbourAttribute::Destination(v6("fd77::20")));
            if let Some(m) = mac {
                body.attributes
                    .push(NeighbourAttribute::LinkLayerAddress(m));
            }
            body
        };
        let mac = vec![0x00, 0x50, 0x56, 0x77, 0x00, 0x20];
        let got = resolved_entry(&entry(NeighbourState::Stale, Some(mac.clone()))).unwrap();
        assert_eq!(got.ip, "fd77::20".parse::<Ipv6Addr>().unwrap());
        assert_eq!(got.mac.to_string(), "00:50:56:77:00:20");
        assert_eq!(got.ifindex, 2);
        assert_eq!(
            resolved_entry(&entry(NeighbourState::Failed, Some(mac))),
            None
        );
        assert_eq!(
            resolved_entry(&entry(NeighbourState::Reachable, None)),
            None
        );
        assert_eq!(
            resolved_entry(&entry(NeighbourState::Reachable, Some(vec![0; 6]))),
            None
        );
        assert_eq!(
            resolved_entry(&entry(NeighbourState::Reachable, Some(vec![1, 2, 3]))),
            None
        );
    }

    #[test]
    fn garbage_fails_the_read() {
        assert!(parse_dump_part(&[1, 2, 3, 4, 5]).is_err());
    }

    #[test]
    fn the_request_asks_for_an_ipv6_dump() {
        let req = dump_request();
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&req).unwrap();
        assert_eq!(msg.header.flags, NLM_F_DUMP | NLM_F_REQUEST);
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetNeighbour(n)) => {
                assert_eq!(n.header.family, AddressFamily::Inet6);
            }
            other => panic!("unexpected request {other:?}"),
        }
    }

    /// Reads this namespace's real table: it must not fail, whatever it holds.
    #[test]
    fn the_kernel_table_can_be_read() {
        read_unresolved().unwrap();
        read_resolved().unwrap();
    }
}
