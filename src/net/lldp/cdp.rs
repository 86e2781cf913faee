//! Cisco Discovery Protocol: what Cisco switches announce where LLDP is off (the default on
//! many of them). An 802.3 frame (length instead of ethertype) to 01:00:0c:cc:cc:cc with an
//! LLC/SNAP header (AA AA 03, OUI 00:00:0c, protocol 0x2000), then version, TTL, checksum and
//! type-length-value fields whose length counts their own 4-byte header.
//!
//! The checksum is not verified: Cisco's odd-length variant differs from RFC 1071 and a
//! frame that parses is worth showing; every length is checked instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::core::lan::{SwitchPort, SwitchProtocol};
use crate::core::model::MacAddr;

use super::text;

/// Where CDP (and VTP, DTP) frames go.
pub const CDP_DESTINATION: [u8; 6] = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];
const SNAP_CDP: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];

mod tlv {
    pub const DEVICE_ID: u16 = 0x0001;
    pub const ADDRESSES: u16 = 0x0002;
    pub const PORT_ID: u16 = 0x0003;
    pub const SOFTWARE_VERSION: u16 = 0x0005;
    pub const PLATFORM: u16 = 0x0006;
    pub const NATIVE_VLAN: u16 = 0x000a;
    pub const MANAGEMENT_ADDRESSES: u16 = 0x0016;
}

/// Parse a CDP frame (a whole Ethernet frame, FCS excluded). `None` when it is not CDP or
/// names neither a device nor a port. Software version (its first line) and platform make
/// the system description, as `show cdp neighbors detail` shows them.
pub fn parse_cdp(frame: &[u8]) -> Option<SwitchPort> {
    if frame.get(..6)? != CDP_DESTINATION {
        return None;
    }
    let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let len = usize::from(u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?));
    // 802.3 length field (not an ethertype), then SNAP with Cisco's OUI and the CDP type.
    if len >= 0x0600 || frame.get(14..22)? != SNAP_CDP {
        return None;
    }
    // Version 1 or 2, TTL, checksum; the 802.3 length bounds the payload (padding follows).
    let end = (14 + len).min(frame.len());
    let cdp = frame.get(22..end)?;
    let version = *cdp.first()?;
    if !(1..=2).contains(&version) {
        return None;
    }
    let mut rest = cdp.get(4..)?;
    let mut port = SwitchPort {
        protocol: SwitchProtocol::Cdp,
        switch_name: None,
        chassis_id: None,
        port: None,
        port_description: None,
        vlan: None,
        management_address: None,
        system_description: None,
        source_mac: Some(MacAddr(src)),
    };
    let (mut software, mut platform, mut addresses, mut management) = (None, None, None, None);
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        if len < 4 {
            break;
        }
        let Some(value) = rest.get(4..len) else {
            break;
        };
        rest = &rest[len..];
        match kind {
            tlv::DEVICE_ID => port.switch_name = text(value),
            tlv::PORT_ID => port.port = text(value),
            tlv::SOFTWARE_VERSION => {
                let first = value.split(|b| *b == b'\n').next().unwrap_or_default();
                software = text(first);
            }
            tlv::PLATFORM => platform = text(value),
            tlv::ADDRESSES => addresses = first_address(value),
            tlv::MANAGEMENT_ADDRESSES => management = first_address(value),
            tlv::NATIVE_VLAN => {
                port.vlan = value
                    .get(..2)
                    .map(|v| u16::from_be_bytes([v[0], v[1]]))
                    .filter(|v| *v != 0);
            }
            _ => {}
        }
    }
    // The management address TLV says which address to manage it by; else the first address.
    port.management_address = management.or(addresses);
    // CDP has no chassis ID of its own: the device ID names the chassis.
    port.chassis_id = port.switch_name.clone();
    port.system_description = match (platform, software) {
        (Some(p), Some(s)) => Some(format!("{p}, {s}")),
        (p, s) => p.or(s),
    };
    (port.switch_name.is_some() || port.port.is_some()).then_some(port)
}

/// The first IPv4 or IPv6 address of an Addresses TLV: a 32-bit count, then per address a
/// protocol type (1 NLPID, 2 802.2), protocol length, protocol, 16-bit address length and
/// the address. IPv4 is NLPID 0xCC; IPv6 is 802.2 SNAP with ethertype 0x86DD.
fn first_address(value: &[u8]) -> Option<IpAddr> {
    let count = u32::from_be_bytes(value.get(..4)?.try_into().ok()?);
    let mut rest = value.get(4..)?;
    for _ in 0..count.min(64) {
        let ptype = *rest.first()?;
        let plen = usize::from(*rest.get(1)?);
        let proto = rest.get(2..2 + plen)?;
        let alen_at = 2 + plen;
        let alen = usize::from(u16::from_be_bytes(
            rest.get(alen_at..alen_at + 2)?.try_into().ok()?,
        ));
        let addr = rest.get(alen_at + 2..alen_at + 2 + alen)?;
        rest = &rest[alen_at + 2 + alen..];
        match (ptype, proto, alen) {
            (1, [0xcc], 4) => {
                let a: [u8; 4] = addr.try_into().ok()?;
                return Some(IpAddr::V4(Ipv4Addr::from(a)));
            }
            (2, [0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd], 16) => {
                let a: [u8; 16] = addr.try_into().ok()?;
                return Some(IpAddr::V6(Ipv6Addr::from(a)));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend_from_slice(&(value.len() as u16 + 4).to_be_bytes());
        v.extend_from_slice(value);
        v
    }

    pub(crate) const CISCO_MAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x9a, 0x00, 0x07];

    /// A CDPv2 frame as a Catalyst sends it: device ID, addresses (IPv4), port ID,
    /// capabilities, software version (two lines), platform, native VLAN 30, duplex; padded
    /// to the Ethernet minimum is not needed at this length.
    pub(crate) fn catalyst_frame() -> Vec<u8> {
        let mut body = vec![2, 180, 0x12, 0x34];
        body.extend(tlv(0x0001, b"core-sw1.example"));
        body.extend(tlv(0x0002, &[0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 192, 0, 2, 9]));
        body.extend(tlv(0x0003, b"GigabitEthernet1/0/12"));
        body.extend(tlv(0x0004, &[0, 0, 0, 0x28]));
        body.extend(tlv(
            0x0005,
            b"Cisco IOS Software, C3750E Software, Version 15.2(4)E10\nTechnical Support",
        ));
        body.extend(tlv(0x0006, b"cisco WS-C3750X-48P"));
        body.extend(tlv(0x000a, &[0, 30]));
        body.extend(tlv(0x000b, &[1]));
        let mut f = CDP_DESTINATION.to_vec();
        f.extend_from_slice(&CISCO_MAC);
        f.extend_from_slice(&((SNAP_CDP.len() + body.len()) as u16).to_be_bytes());
        f.extend_from_slice(&SNAP_CDP);
        f.extend(body);
        f
    }

    #[test]
    fn a_catalyst_frame_gives_every_field() {
        let p = parse_cdp(&catalyst_frame()).expect("valid CDP");
        assert_eq!(p.protocol, SwitchProtocol::Cdp);
        assert_eq!(p.switch_name.as_deref(), Some("core-sw1.example"));
        assert_eq!(p.chassis_id.as_deref(), Some("core-sw1.example"));
        assert_eq!(p.port.as_deref(), Some("GigabitEthernet1/0/12"));
        assert_eq!(p.vlan, Some(30));
        assert_eq!(p.management_address, Some("192.0.2.9".parse().unwrap()));
        assert_eq!(
            p.system_description.as_deref(),
            Some("cisco WS-C3750X-48P, Cisco IOS Software, C3750E Software, Version 15.2(4)E10")
        );
        assert_eq!(p.source_mac, Some(MacAddr(CISCO_MAC)));
        assert_eq!(super::super::parse_frame(&catalyst_frame()), Some(p));
    }

    #[test]
    fn ipv6_addresses_and_management_tlv_read() {
        let v6: Ipv6Addr = "fd77::2".parse().unwrap();
        let mut addrs = vec![0, 0, 0, 2];
        // An unknown protocol first (skipped), then IPv6.
        addrs.extend_from_slice(&[1, 1, 0x81, 0, 2, 1, 2]);
        addrs.extend_from_slice(&[2, 8, 0xaa, 0xaa, 3, 0, 0, 0, 0x86, 0xdd, 0, 16]);
        addrs.extend_from_slice(&v6.octets());
        let mut body = vec![2, 180, 0, 0];
        body.extend(tlv(0x0003, b"Fa0/1"));
        body.extend(tlv(0x0002, &addrs));
        body.extend(tlv(0x0016, &[0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 10, 0, 0, 1]));
        let mut f = CDP_DESTINATION.to_vec();
        f.extend_from_slice(&CISCO_MAC);
        f.extend_from_slice(&((SNAP_CDP.len() + body.len()) as u16).to_be_bytes());
        f.extend_from_slice(&SNAP_CDP);
        f.extend_from_slice(&body);
        let p = parse_cdp(&f).unwrap();
        assert_eq!(p.management_address, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(first_address(&addrs), Some(IpAddr::V6(v6)));
        assert_eq!(p.switch_name, None);
        assert_eq!(p.port.as_deref(), Some("Fa0/1"));
    }

    #[test]
    fn truncated_wrong_and_garbage_frames_are_none() {
        let good = catalyst_frame();
        for n in 0..good.len() {
            let _ = parse_cdp(&good[..n]);
        }
        assert_eq!(parse_cdp(&good[..26]), None, "header only");
        let mut other = good.clone();
        other[0] = 0x02;
        assert_eq!(parse_cdp(&other), None, "not to the CDP address");
        let mut other = good.clone();
        other[19] = 0x01;
        assert_eq!(parse_cdp(&other), None, "another SNAP protocol (VTP, DTP)");
        let mut other = good.clone();
        other[22] = 9;
        assert_eq!(parse_cdp(&other), None, "unknown version");
        // A TLV length under its own header stops the parse without looping.
        let mut zero = good[..26].to_vec();
        zero.extend_from_slice(&[0, 1, 0, 0, b'x']);
        assert_eq!(parse_cdp(&zero), None);
        // An address count far beyond the data.
        assert_eq!(first_address(&[0xff, 0xff, 0xff, 0xff, 1, 1]), None);
        let mut x: u32 = 0x9e37_79b9;
        for len in 0..400 {
            let mut f = good[..22].to_vec();
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                f.push(x as u8);
            }
            let _ = parse_cdp(&f);
        }
    }
}
