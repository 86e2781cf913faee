//! DHCP messages as bytes (RFC 2131/2132): the DISCOVER netdx sends and the OFFER it reads.
//! Pure functions over byte slices, separate from the socket code so they can be fuzzed:
//! [`parse_offer`] returns `None` for anything that is not a well-formed OFFER to our
//! transaction, and never panics, whatever the input.

use std::net::Ipv4Addr;

/// The fixed BOOTP header up to and including the magic cookie.
const HEADER_LEN: usize = 240;
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Some old servers drop BOOTP messages shorter than this (RFC 1542 §3.1.1 minimum).
const MIN_LEN: usize = 300;
const OP_REQUEST: u8 = 1;
const OP_REPLY: u8 = 2;
const HTYPE_ETHERNET: u8 = 1;
/// Ask the server to broadcast its answer: we have no address it could unicast to, and our
/// socket must see the offer without the kernel knowing the offered address.
const FLAG_BROADCAST: u16 = 0x8000;

const OPT_PAD: u8 = 0;
const OPT_SUBNET_MASK: u8 = 1;
const OPT_ROUTER: u8 = 3;
const OPT_DNS: u8 = 6;
const OPT_DOMAIN: u8 = 15;
const OPT_LEASE: u8 = 51;
const OPT_MSG_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_PARAMS: u8 = 55;
const OPT_END: u8 = 255;
const DHCPDISCOVER: u8 = 1;
const DHCPOFFER: u8 = 2;

/// A DHCPDISCOVER from `mac` with transaction id `xid`, the broadcast flag set, asking for the
/// options an offer is judged by (mask, router, DNS, domain, lease, server id). No requested
/// address, no client name: nothing that would make a server reserve more than an offer.
pub fn build_discover(xid: u32, mac: [u8; 6]) -> Vec<u8> {
    let mut p = vec![0u8; HEADER_LEN];
    p[0] = OP_REQUEST;
    p[1] = HTYPE_ETHERNET;
    p[2] = 6; // hlen
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[10..12].copy_from_slice(&FLAG_BROADCAST.to_be_bytes());
    p[28..34].copy_from_slice(&mac);
    p[236..240].copy_from_slice(&MAGIC);
    p.extend_from_slice(&[OPT_MSG_TYPE, 1, DHCPDISCOVER]);
    p.extend_from_slice(&[
        OPT_PARAMS,
        6,
        OPT_SUBNET_MASK,
        OPT_ROUTER,
        OPT_DNS,
        OPT_DOMAIN,
        OPT_LEASE,
        OPT_SERVER_ID,
    ]);
    p.push(OPT_END);
    if p.len() < MIN_LEN {
        p.resize(MIN_LEN, OPT_PAD);
    }
    p
}

/// The fields of one OFFER netdx reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFields {
    /// Option 54; `None` when the server left it out (then the packet source names it).
    pub server_id: Option<Ipv4Addr>,
    /// yiaddr: the address offered.
    pub offered: Ipv4Addr,
    /// The client hardware address the offer is for (ours, if it answers our DISCOVER).
    pub chaddr: [u8; 6],
    pub subnet_mask: Option<Ipv4Addr>,
    pub routers: Vec<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    /// Option 15 as sent (lossy UTF-8; the caller cleans it before showing it).
    pub domain: Option<String>,
    pub lease_s: Option<u32>,
}

fn v4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

/// A list of addresses (options 3 and 6): a whole number of 4-byte addresses, else nothing.
fn v4_list(b: &[u8]) -> Vec<Ipv4Addr> {
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return Vec::new();
    }
    b.chunks_exact(4).filter_map(v4).collect()
}

/// Parse `buf` as a BOOTREPLY carrying a DHCPOFFER for transaction `xid`. `None` for a
/// request, another transaction, another message type (ACK, NAK), a missing magic cookie, or
/// options that run past the end of the packet.
pub fn parse_offer(buf: &[u8], xid: u32) -> Option<OfferFields> {
    if buf.len() < HEADER_LEN || buf[0] != OP_REPLY || buf[1] != HTYPE_ETHERNET || buf[2] != 6 {
        return None;
    }
    if buf.get(4..8)? != xid.to_be_bytes() || buf.get(236..240)? != MAGIC {
        return None;
    }
    let offered = v4(buf.get(16..20)?)?;
    let chaddr: [u8; 6] = buf.get(28..34)?.try_into().ok()?;
    let mut out = OfferFields {
        server_id: None,
        offered,
        chaddr,
        subnet_mask: None,
        routers: Vec::new(),
        dns: Vec::new(),
        domain: None,
        lease_s: None,
    };
    let mut msg_type = None;
    let mut rest = &buf[HEADER_LEN..];
    while let Some((&code, after)) = rest.split_first() {
        match code {
            OPT_PAD => {
                rest = after;
                continue;
            }
            OPT_END => break,
            _ => {}
        }
        let (&len, after) = after.split_first()?;
        let len = usize::from(len);
        let value = after.get(..len)?;
        rest = &after[len..];
        match code {
            OPT_MSG_TYPE => msg_type = value.first().copied(),
            OPT_SERVER_ID if len == 4 => out.server_id = v4(value),
            OPT_SUBNET_MASK if len == 4 => out.subnet_mask = v4(value),
            OPT_ROUTER => out.routers = v4_list(value),
            OPT_DNS => out.dns = v4_list(value),
            OPT_DOMAIN if len > 0 => {
                let text = String::from_utf8_lossy(value);
                let text = text.trim_end_matches('\0');
                out.domain = (!text.is_empty()).then(|| text.to_string());
            }
            OPT_LEASE if len == 4 => {
                out.lease_s = value.try_into().ok().map(u32::from_be_bytes);
            }
            _ => {}
        }
    }
    (msg_type == Some(DHCPOFFER)).then_some(out)
}

/// An OFFER as seen on the wire: the Ethernet frame's source MAC (the server's, or the
/// relay's when relayed), the IP source, and the offer. `None` for anything but an untagged
/// Ethernet/IPv4/UDP frame from port 67 to port 68 carrying an OFFER for `xid`; never panics.
pub fn parse_offer_frame(frame: &[u8], xid: u32) -> Option<([u8; 6], Ipv4Addr, OfferFields)> {
    const ETH: usize = 14;
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let src_mac: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let ip = frame.get(ETH..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || *ip.get(9)? != 17 {
        return None;
    }
    // A fragment other than the first has no UDP header.
    let frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]);
    if frag & 0x1fff != 0 {
        return None;
    }
    let src_ip = v4(ip.get(12..16)?)?;
    let udp = ip.get(ihl..)?;
    if udp.get(0..4)? != [0, 67, 0, 68] {
        return None;
    }
    let offer = parse_offer(udp.get(8..)?, xid)?;
    Some((src_mac, src_ip, offer))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];

    /// An offer as dnsmasq sends it: header, cookie, options.
    fn offer(xid: u32, opts: &[u8]) -> Vec<u8> {
        let mut p = build_discover(xid, MAC);
        p.truncate(HEADER_LEN);
        p[0] = OP_REPLY;
        p[16..20].copy_from_slice(&[10, 79, 0, 120]);
        p.extend_from_slice(opts);
        p
    }

    fn full() -> Vec<u8> {
        offer(
            0xdead_beef,
            &[
                53, 1, 2, // OFFER
                54, 4, 10, 79, 0, 1, // server id
                51, 4, 0, 0, 0x0e, 0x10, // 3600 s
                1, 4, 255, 255, 255, 0, // mask
                3, 4, 10, 79, 0, 1, // router
                6, 8, 10, 79, 0, 53, 10, 79, 0, 54, // two DNS servers
                0, 0, // padding
                15, 8, b'l', b'a', b'b', b'.', b't', b'e', b's', b't', // domain
                255,
            ],
        )
    }

    #[test]
    fn discover_is_a_broadcast_request_with_our_mac() {
        let p = build_discover(0x0102_0304, MAC);
        assert!(p.len() >= MIN_LEN);
        assert_eq!(&p[..3], &[1, 1, 6]);
        assert_eq!(&p[4..8], &[1, 2, 3, 4]);
        assert_eq!(&p[10..12], &[0x80, 0]);
        assert_eq!(&p[28..34], &MAC);
        assert_eq!(&p[236..243], &[99, 130, 83, 99, 53, 1, 1]);
        // Our own DISCOVER is no offer.
        assert_eq!(parse_offer(&p, 0x0102_0304), None);
    }

    #[test]
    fn offer_fields_are_read() {
        let o = parse_offer(&full(), 0xdead_beef).expect("offer");
        assert_eq!(o.server_id, Some(Ipv4Addr::new(10, 79, 0, 1)));
        assert_eq!(o.offered, Ipv4Addr::new(10, 79, 0, 120));
        assert_eq!(o.chaddr, MAC);
        assert_eq!(o.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(o.routers, vec![Ipv4Addr::new(10, 79, 0, 1)]);
        assert_eq!(
            o.dns,
            vec![Ipv4Addr::new(10, 79, 0, 53), Ipv4Addr::new(10, 79, 0, 54)]
        );
        assert_eq!(o.domain.as_deref(), Some("lab.test"));
        assert_eq!(o.lease_s, Some(3600));
    }

    #[test]
    fn other_transactions_and_types_are_not_offers() {
        assert_eq!(parse_offer(&full(), 0xdead_beee), None);
        let mut ack = full();
        ack[HEADER_LEN + 2] = 5; // DHCPACK
        assert_eq!(parse_offer(&ack, 0xdead_beef), None);
        let mut cookie = full();
        cookie[236] = 0;
        assert_eq!(parse_offer(&cookie, 0xdead_beef), None);
        // No message type at all.
        assert_eq!(parse_offer(&offer(1, &[255]), 1), None);
    }

    /// `payload` in an Ethernet/IPv4/UDP 67->68 frame from `mac`/10.79.0.1.
    fn framed(mac: [u8; 6], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 8 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 10, 79, 0, 1, 255, 255, 255, 255]);
        f.extend_from_slice(&[0, 67, 0, 68]);
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn offer_frames_give_the_source_mac() {
        let server = [0xb8, 0x27, 0xeb, 0, 0, 0x60];
        let f = framed(server, &full());
        let (mac, ip, offer) = parse_offer_frame(&f, 0xdead_beef).expect("offer frame");
        assert_eq!(mac, server);
        assert_eq!(ip, Ipv4Addr::new(10, 79, 0, 1));
        assert_eq!(offer.offered, Ipv4Addr::new(10, 79, 0, 120));
        // Our own DISCOVER going out (68 -> 67) is not an offer.
        let mut out = framed(MAC, &build_discover(0xdead_beef, MAC));
        out[34..38].copy_from_slice(&[0, 68, 0, 67]);
        assert_eq!(parse_offer_frame(&out, 0xdead_beef), None);
        for n in 0..f.len() {
            let _ = parse_offer_frame(&f[..n], 0xdead_beef);
        }
        let mut frag = f.clone();
        frag[21] = 1; // fragment offset 8
        assert_eq!(parse_offer_frame(&frag, 0xdead_beef), None);
        let mut tcp = f;
        tcp[23] = 6;
        assert_eq!(parse_offer_frame(&tcp, 0xdead_beef), None);
    }

    #[test]
    fn truncated_and_garbage_input_is_none_without_panic() {
        let f = full();
        for n in 0..f.len() {
            // Cut anywhere: either still a valid offer (the cut fell after the type and in a
            // later option's padding) or None, never a panic.
            let _ = parse_offer(&f[..n], 0xdead_beef);
        }
        // An option whose length runs past the end.
        assert_eq!(parse_offer(&offer(7, &[53, 1, 2, 3, 200, 1]), 7), None);
        // Odd-length address lists are ignored, not misread.
        let o = parse_offer(&offer(7, &[53, 1, 2, 3, 5, 1, 2, 3, 4, 5, 255]), 7).expect("offer");
        assert!(o.routers.is_empty());
        let mut seed = 0x1234_5678u32;
        for len in [0usize, 1, 239, 240, 241, 300, 576, 1500] {
            let mut junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = parse_offer(&junk, 0);
            if len >= HEADER_LEN {
                junk[..3].copy_from_slice(&[2, 1, 6]);
                junk[4..8].copy_from_slice(&[0; 4]);
                junk[236..240].copy_from_slice(&MAGIC);
                let _ = parse_offer(&junk, 0);
            }
        }
    }
}
