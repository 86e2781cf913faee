//! Every ARP frame on the link, parsed for the gateway watch: requests, replies and
//! gratuitous announcements alike (the sweep parser in `net::arp` keeps only replies to our
//! own questions). Pure, never panics.

use std::net::Ipv4Addr;

use crate::core::model::MacAddr;

const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ETH_HEADER_LEN: usize = 14;
const ARP_LEN: usize = 28;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

/// One Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFrame {
    pub eth_dst: MacAddr,
    pub op: u16,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpFrame {
    /// Whether this frame is an answer to a question `our_mac` asked: a reply addressed to
    /// us. Everything else that carries a sender address (a broadcast reply, a request, an
    /// announcement with sender = target) is unsolicited: gratuitous.
    pub fn answers(&self, our_mac: Option<MacAddr>) -> bool {
        self.op == OP_REPLY && Some(self.target_mac) == our_mac && self.sender_ip != self.target_ip
    }
}

fn mac(b: &[u8]) -> Option<MacAddr> {
    Some(MacAddr(b.get(..6)?.try_into().ok()?))
}

fn ip(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

/// Parse an Ethernet frame as an Ethernet/IPv4 ARP request or reply; `None` for anything else
/// (other ethertypes, VLAN tags, other hardware types, short frames, other opcodes).
pub fn parse_arp_frame(frame: &[u8]) -> Option<ArpFrame> {
    if frame.get(12..14)? != ETHERTYPE_ARP {
        return None;
    }
    let arp = frame.get(ETH_HEADER_LEN..ETH_HEADER_LEN + ARP_LEN)?;
    // hardware 1 (Ethernet), protocol 0x0800, lengths 6 and 4.
    if arp[..6] != [0, 1, 0x08, 0x00, 6, 4] {
        return None;
    }
    let op = u16::from_be_bytes([arp[6], arp[7]]);
    if op != OP_REQUEST && op != OP_REPLY {
        return None;
    }
    Some(ArpFrame {
        eth_dst: mac(frame)?,
        op,
        sender_mac: mac(&arp[8..])?,
        sender_ip: ip(&arp[14..])?,
        target_mac: mac(&arp[18..])?,
        target_ip: ip(&arp[24..])?,
    })
}

/// A broadcast who-has for `target` from `our_mac`/`src` (60 bytes, padded).
pub fn build_request(our_mac: MacAddr, src: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&our_mac.0);
    f.extend_from_slice(&ETHERTYPE_ARP);
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&our_mac.0);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f.resize(60, 0);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x10]);
    const GW: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    fn reply(from: MacAddr, ip: &str, to: MacAddr, to_ip: &str) -> Vec<u8> {
        let mut f = build_request(from, ip.parse().unwrap(), to_ip.parse().unwrap());
        f[..6].copy_from_slice(&to.0);
        f[21] = 2;
        f[32..38].copy_from_slice(&to.0);
        f
    }

    #[test]
    fn requests_replies_and_announcements() {
        let req = parse_arp_frame(&build_request(
            US,
            "10.0.0.10".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
        ))
        .unwrap();
        assert_eq!(req.op, OP_REQUEST);
        assert_eq!(req.sender_mac, US);
        assert_eq!(req.target_ip, Ipv4Addr::new(10, 0, 0, 1));
        assert!(!req.answers(Some(US)));

        let r = parse_arp_frame(&reply(GW, "10.0.0.1", US, "10.0.0.10")).unwrap();
        assert!(r.answers(Some(US)));
        assert!(!r.answers(None));

        // Gratuitous: broadcast reply with sender = target.
        let g = parse_arp_frame(&reply(GW, "10.0.0.1", MacAddr([0xff; 6]), "10.0.0.1")).unwrap();
        assert!(!g.answers(Some(US)));
        assert_eq!(g.eth_dst, MacAddr([0xff; 6]));
    }

    #[test]
    fn other_frames_and_garbage_are_none() {
        let f = build_request(
            US,
            "10.0.0.10".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
        );
        for n in 0..42 {
            assert_eq!(parse_arp_frame(&f[..n]), None, "cut at {n}");
        }
        let mut ip = f.clone();
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(parse_arp_frame(&ip), None);
        let mut op = f.clone();
        op[21] = 9;
        assert_eq!(parse_arp_frame(&op), None);
        let mut hw = f;
        hw[18] = 8;
        assert_eq!(parse_arp_frame(&hw), None);
    }
}
