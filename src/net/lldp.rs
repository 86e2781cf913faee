//! The switch port this machine is plugged into, as the switch announces it in LLDP (IEEE
//! 802.1AB) or CDP (Cisco) frames: switch name, port, port description, VLAN, management
//! address.
//!
//! ```text
//!  wire ──► listen.rs: one AF_PACKET channel for the listening window (Session-checked)
//!              │ every frame
//!              ▼
//!  parse_frame ─┬─ ethertype 0x88cc to 01:80:c2:00:00:{0e,03,00} ─► parse_lldp (this file)
//!               └─ 802.3 + SNAP 00:00:0c/0x2000 to 01:00:0c:cc:cc:cc ─► cdp::parse_cdp
//! ```
//!
//! The parsers are pure and total: any byte string gives `Some` or `None`, never a panic
//! (they read through bounds-checked slices only), so they can be fuzzed on their own. Every
//! string a switch sends is cleaned ([`crate::core::sanitize::clean`]) before it enters the
//! model: a hostile neighbour must not be able to drive the terminal through its system name.

mod cdp;
mod listen;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use cdp::parse_cdp;
pub use listen::{DEFAULT_WINDOW, MAX_WINDOW, listen};

use crate::core::lan::{SwitchPort, SwitchProtocol};
use crate::core::model::MacAddr;
use crate::core::sanitize::clean;

/// The LLDP ethertype.
pub const ETHERTYPE_LLDP: u16 = 0x88cc;
/// Destinations an LLDP agent sends to: nearest bridge (what switches use), nearest non-TPMR
/// bridge, nearest customer bridge.
pub const LLDP_DESTINATIONS: [[u8; 6]; 3] = [
    [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e],
    [0x01, 0x80, 0xc2, 0x00, 0x00, 0x03],
    [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00],
];
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETH_HEADER: usize = 14;

/// LLDP TLV types (802.1AB-2016 table 8-1) this parser reads.
mod tlv {
    pub const END: u8 = 0;
    pub const CHASSIS_ID: u8 = 1;
    pub const PORT_ID: u8 = 2;
    pub const PORT_DESCRIPTION: u8 = 4;
    pub const SYSTEM_NAME: u8 = 5;
    pub const SYSTEM_DESCRIPTION: u8 = 6;
    pub const MANAGEMENT_ADDRESS: u8 = 8;
    pub const ORG_SPECIFIC: u8 = 127;
}

/// The IEEE 802.1 OUI of organisationally specific TLVs, and its Port VLAN ID subtype.
const OUI_8021: [u8; 3] = [0x00, 0x80, 0xc2];
const SUBTYPE_PORT_VLAN_ID: u8 = 1;

/// IANA address family numbers used in network-address IDs and management addresses.
const FAMILY_IPV4: u8 = 1;
const FAMILY_IPV6: u8 = 2;

/// LLDP or CDP, whichever `frame` (a whole Ethernet frame, FCS excluded) carries.
pub fn parse_frame(frame: &[u8]) -> Option<SwitchPort> {
    parse_lldp(frame).or_else(|| parse_cdp(frame))
}

/// The source MAC and the payload after the (optional) 802.1Q tag, when the frame has
/// ethertype `wanted`.
fn ethernet_payload(frame: &[u8], wanted: u16) -> Option<(MacAddr, &[u8])> {
    let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let mut ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    let mut at = ETH_HEADER;
    if ethertype == ETHERTYPE_VLAN {
        ethertype = u16::from_be_bytes(frame.get(16..18)?.try_into().ok()?);
        at += 4;
    }
    (ethertype == wanted).then(|| (MacAddr(src), frame.get(at..).unwrap_or_default()))
}

/// Parse an LLDP frame (a whole Ethernet frame sent to one of [`LLDP_DESTINATIONS`] with
/// ethertype 0x88cc). `None` when it is not one, or when the mandatory Chassis ID and Port
/// ID TLVs are missing; a TLV that runs past the frame ends the parse with what came
/// before it (a switch that pads badly still names its port). Reading stops at the End TLV.
pub fn parse_lldp(frame: &[u8]) -> Option<SwitchPort> {
    let dst: [u8; 6] = frame.get(..6)?.try_into().ok()?;
    if !LLDP_DESTINATIONS.contains(&dst) {
        return None;
    }
    let (src, mut rest) = ethernet_payload(frame, ETHERTYPE_LLDP)?;
    let mut port = SwitchPort {
        protocol: SwitchProtocol::Lldp,
        switch_name: None,
        chassis_id: None,
        port: None,
        port_description: None,
        vlan: None,
        management_address: None,
        system_description: None,
        source_mac: Some(src),
    };
    while rest.len() >= 2 {
        let header = u16::from_be_bytes([rest[0], rest[1]]);
        let kind = (header >> 9) as u8;
        let len = usize::from(header & 0x01ff);
        let Some(value) = rest.get(2..2 + len) else {
            break;
        };
        rest = &rest[2 + len..];
        match kind {
            tlv::END => break,
            tlv::CHASSIS_ID => port.chassis_id = chassis_id(value),
            tlv::PORT_ID => port.port = port_id(value),
            tlv::PORT_DESCRIPTION => port.port_description = text(value),
            tlv::SYSTEM_NAME => port.switch_name = text(value),
            tlv::SYSTEM_DESCRIPTION => port.system_description = text(value),
            // The first one is the switch's preferred address; keep it.
            tlv::MANAGEMENT_ADDRESS if port.management_address.is_none() => {
                port.management_address = management_address(value);
            }
            tlv::ORG_SPECIFIC => {
                if let Some(vlan) = port_vlan_id(value) {
                    port.vlan = Some(vlan);
                }
            }
            _ => {}
        }
    }
    (port.chassis_id.is_some() && port.port.is_some()).then_some(port)
}

/// Text as a switch sent it: UTF-8 (invalid bytes replaced), trailing NULs and whitespace
/// dropped (some agents count a C terminator), control characters cleaned. Empty is `None`.
pub(crate) fn text(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes);
    let s = s
        .trim_end_matches(['\0', ' ', '\r', '\n', '\t'])
        .trim_start();
    (!s.is_empty()).then(|| clean(s))
}

/// Bytes that are not meant as text (a binary chassis component), as `0a:1b:...`.
fn hex(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    })
}

/// An address in IANA family encoding (family byte, then the address).
fn family_address(bytes: &[u8]) -> Option<IpAddr> {
    let (&family, addr) = bytes.split_first()?;
    match family {
        FAMILY_IPV4 => {
            let a: [u8; 4] = addr.get(..4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(a)))
        }
        FAMILY_IPV6 => {
            let a: [u8; 16] = addr.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// A MAC-address, network-address or textual ID.
fn id_value(subtype_mac: bool, subtype_net: bool, value: &[u8]) -> Option<String> {
    if subtype_mac {
        let m: [u8; 6] = value.get(..6)?.try_into().ok()?;
        return Some(MacAddr(m).to_string());
    }
    if subtype_net {
        return family_address(value).map(|ip| ip.to_string());
    }
    match std::str::from_utf8(value) {
        Ok(_) => text(value),
        Err(_) => hex(value),
    }
}

/// Chassis ID (subtypes: 1 chassis component, 2 interface alias, 3 port component, 4 MAC
/// address, 5 network address, 6 interface name, 7 locally assigned).
fn chassis_id(value: &[u8]) -> Option<String> {
    let (&subtype, id) = value.split_first()?;
    id_value(subtype == 4, subtype == 5, id)
}

/// Port ID (subtypes: 1 interface alias, 2 port component, 3 MAC address, 4 network address,
/// 5 interface name, 6 agent circuit ID, 7 locally assigned).
fn port_id(value: &[u8]) -> Option<String> {
    let (&subtype, id) = value.split_first()?;
    id_value(subtype == 3, subtype == 4, id)
}

/// Management Address TLV: a length byte that counts the subtype and the address, the IANA
/// subtype, the address (then interface numbering and an OID, not needed here).
fn management_address(value: &[u8]) -> Option<IpAddr> {
    let (&len, rest) = value.split_first()?;
    let addr = rest.get(..usize::from(len))?;
    family_address(addr)
}

/// The 802.1 Port VLAN ID TLV (OUI 00-80-C2, subtype 1): the untagged VLAN of the port. Zero
/// means the port has none.
fn port_vlan_id(value: &[u8]) -> Option<u16> {
    if value.get(..3)? != OUI_8021 || *value.get(3)? != SUBTYPE_PORT_VLAN_ID {
        return None;
    }
    let vlan = u16::from_be_bytes(value.get(4..6)?.try_into().ok()?);
    (vlan != 0).then_some(vlan)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An LLDP TLV: 7-bit type, 9-bit length, value.
    pub(crate) fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
        let header = (u16::from(kind) << 9) | value.len() as u16;
        let mut v = header.to_be_bytes().to_vec();
        v.extend_from_slice(value);
        v
    }

    pub(crate) const SWITCH_MAC: [u8; 6] = [0x00, 0x1b, 0x54, 0x11, 0x22, 0x33];

    /// A frame as an access switch sends it: MAC chassis ID, interface-name port ID, TTL
    /// 120, port description, system name and description, capabilities, IPv4 management
    /// address, Port VLAN ID 20, End.
    pub(crate) fn switch_frame() -> Vec<u8> {
        let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
        f.extend_from_slice(&SWITCH_MAC);
        f.extend_from_slice(&[0x88, 0xcc]);
        let mut chassis = vec![4];
        chassis.extend_from_slice(&SWITCH_MAC);
        f.extend(tlv(1, &chassis));
        f.extend(tlv(2, b"\x05Gi1/0/7"));
        f.extend(tlv(3, &[0, 120]));
        f.extend(tlv(4, b"Reception desk"));
        f.extend(tlv(5, b"sw-floor2"));
        f.extend(tlv(6, b"Cisco IOS Software, C2960X"));
        f.extend(tlv(7, &[0, 0x14, 0, 0x04]));
        // Length 5 (subtype + 4 bytes), IPv4, 192.0.2.2, ifIndex numbering, 7, no OID.
        f.extend(tlv(8, &[5, 1, 192, 0, 2, 2, 2, 0, 0, 0, 7, 0]));
        f.extend(tlv(127, &[0x00, 0x80, 0xc2, 1, 0, 20]));
        f.extend(tlv(0, &[]));
        f
    }

    #[test]
    fn an_access_switch_frame_gives_every_field() {
        let p = parse_lldp(&switch_frame()).expect("valid LLDP");
        assert_eq!(p.protocol, SwitchProtocol::Lldp);
        assert_eq!(p.chassis_id.as_deref(), Some("00:1b:54:11:22:33"));
        assert_eq!(p.port.as_deref(), Some("Gi1/0/7"));
        assert_eq!(p.port_description.as_deref(), Some("Reception desk"));
        assert_eq!(p.switch_name.as_deref(), Some("sw-floor2"));
        assert_eq!(
            p.system_description.as_deref(),
            Some("Cisco IOS Software, C2960X")
        );
        assert_eq!(p.management_address, Some("192.0.2.2".parse().unwrap()));
        assert_eq!(p.vlan, Some(20));
        assert_eq!(p.source_mac, Some(MacAddr(SWITCH_MAC)));
        assert_eq!(parse_frame(&switch_frame()), Some(p));
    }

    fn with_tlvs(tlvs: &[Vec<u8>]) -> Vec<u8> {
        let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
        f.extend_from_slice(&SWITCH_MAC);
        f.extend_from_slice(&[0x88, 0xcc]);
        for t in tlvs {
            f.extend_from_slice(t);
        }
        f
    }

    /// Bytes of a hex fixture file (one frame captured from lldpd in the lab).
    pub(crate) fn fixture(hex_text: &str) -> Vec<u8> {
        let t = hex_text.trim();
        (0..t.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&t[i..i + 2], 16).expect("hex fixture"))
            .collect()
    }

    #[test]
    fn a_frame_captured_from_lldpd_reads() {
        let f = fixture(include_str!("lldp/fixtures/lldpd-lldp.hex"));
        let p = parse_lldp(&f).expect("lldpd's frame");
        assert_eq!(p.switch_name.as_deref(), Some("lab-lldpd"));
        assert_eq!(p.chassis_id.as_deref(), Some("8e:c1:a0:9e:17:37"));
        assert_eq!(p.port.as_deref(), Some("8e:c1:a0:9e:17:37"));
        assert_eq!(p.port_description.as_deref(), Some("scanner uplink port"));
        assert_eq!(p.system_description.as_deref(), Some("netdx lab lldpd"));
        assert_eq!(p.management_address, Some("192.0.2.77".parse().unwrap()));
        assert_eq!(p.vlan, None);
        let f = fixture(include_str!("lldp/fixtures/lldpd-cdpv1.hex"));
        let p = parse_frame(&f).expect("lldpd's CDPv1 frame");
        assert_eq!(p.protocol, SwitchProtocol::Cdp);
        assert_eq!(p.switch_name.as_deref(), Some("lab-lldpd"));
        assert_eq!(p.port.as_deref(), Some("scanner uplink port"));
        assert_eq!(p.management_address, Some("192.0.2.77".parse().unwrap()));
        assert_eq!(
            p.system_description.as_deref(),
            Some("Linux, netdx lab lldpd")
        );
    }

    #[test]
    fn every_chassis_id_subtype_reads() {
        let port = tlv(2, b"\x07port 3");
        let cases: [(&[u8], &str); 7] = [
            (b"\x01chassis-1", "chassis-1"),
            (b"\x02uplink", "uplink"),
            (b"\x03\xff\x01", "ff:01"),
            (b"\x04\x00\x1b\x54\x11\x22\x33", "00:1b:54:11:22:33"),
            (b"\x05\x01\xc0\x00\x02\x02", "192.0.2.2"),
            (b"\x06eth0", "eth0"),
            (b"\x07local-7", "local-7"),
        ];
        for (value, want) in cases {
            let p = parse_lldp(&with_tlvs(&[tlv(1, value), port.clone()])).unwrap();
            assert_eq!(p.chassis_id.as_deref(), Some(want), "{value:?}");
            assert_eq!(p.port.as_deref(), Some("port 3"));
        }
        let mut v6 = vec![5, 2];
        v6.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        let p = parse_lldp(&with_tlvs(&[
            tlv(1, &v6),
            tlv(2, b"\x03\x02\x00\x00\x00\x00\x07"),
        ]))
        .unwrap();
        assert_eq!(p.chassis_id.as_deref(), Some("2001:db8::2"));
        assert_eq!(p.port.as_deref(), Some("02:00:00:00:00:07"), "MAC port ID");
    }

    #[test]
    fn ipv6_management_address_and_tagged_frames_read() {
        let mut mgmt = vec![17, 2];
        mgmt.extend_from_slice(&"fd77::2".parse::<Ipv6Addr>().unwrap().octets());
        mgmt.extend_from_slice(&[2, 0, 0, 0, 1, 0]);
        let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x03];
        f.extend_from_slice(&SWITCH_MAC);
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a, 0x88, 0xcc]);
        for t in [tlv(1, b"\x07sw"), tlv(2, b"\x051"), tlv(8, &mgmt)] {
            f.extend(t);
        }
        let p = parse_lldp(&f).unwrap();
        assert_eq!(p.management_address, Some("fd77::2".parse().unwrap()));
        assert_eq!(p.vlan, None, "an 802.1Q tag is not the port VLAN");
    }

    #[test]
    fn reading_stops_at_the_end_tlv_and_vlan_zero_is_none() {
        let f = with_tlvs(&[
            tlv(1, b"\x07sw"),
            tlv(2, b"\x051"),
            tlv(127, &[0x00, 0x80, 0xc2, 1, 0, 0]),
            tlv(0, &[]),
            tlv(5, b"after-end"),
        ]);
        let p = parse_lldp(&f).unwrap();
        assert_eq!(p.switch_name, None);
        assert_eq!(p.vlan, None);
        // Another organisation's subtype 1 is not a VLAN.
        let f = with_tlvs(&[
            tlv(1, b"\x07sw"),
            tlv(2, b"\x051"),
            tlv(127, &[0x00, 0x12, 0x0f, 1, 0, 9]),
        ]);
        assert_eq!(parse_lldp(&f).unwrap().vlan, None);
    }

    #[test]
    fn hostile_text_is_cleaned() {
        let f = with_tlvs(&[
            tlv(1, b"\x07sw"),
            tlv(2, b"\x051"),
            tlv(5, b"evil\x1b[2Jname\0\0"),
        ]);
        let p = parse_lldp(&f).unwrap();
        assert_eq!(p.switch_name.as_deref(), Some("evil\u{FFFD}[2Jname"));
    }

    #[test]
    fn truncated_wrong_and_garbage_frames_are_none() {
        let good = switch_frame();
        // Every prefix: either None or a port whose fields came before the cut; never a panic.
        for n in 0..good.len() {
            let p = parse_lldp(&good[..n]);
            if n < 14 + 2 + 7 + 2 + 8 {
                assert_eq!(p, None, "cut at {n}");
            }
        }
        // Not to an LLDP address, or not the LLDP ethertype.
        let mut other = good.clone();
        other[5] = 0x0f;
        assert_eq!(parse_lldp(&other), None);
        let mut other = good.clone();
        other[13] = 0xcd;
        assert_eq!(parse_lldp(&other), None);
        // Missing port ID.
        assert_eq!(parse_lldp(&with_tlvs(&[tlv(1, b"\x07sw")])), None);
        // A length running past the end.
        let mut long = with_tlvs(&[tlv(1, b"\x07sw")]);
        long.extend_from_slice(&[0x04, 0xff, b'x']);
        assert_eq!(parse_lldp(&long), None);
        // Pseudo-random bytes behind a valid header: never a panic.
        let mut x: u32 = 0x1234_5678;
        for len in 0..400 {
            let mut f = good[..14].to_vec();
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                f.push(x as u8);
            }
            let _ = parse_frame(&f);
        }
        assert_eq!(parse_frame(&[]), None);
    }
}
