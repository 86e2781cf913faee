//! ICMPv6 Router Solicitation and Router Advertisement messages (RFC 4861 §4.1-4.2, RDNSS from
//! RFC 8106) as bytes. Pure functions, separate from the socket code so they can be fuzzed:
//! [`parse_ra`] returns `None` for anything that is not a well-formed RA and never panics.

use std::net::Ipv6Addr;

use crate::core::lan::RaPrefix;
use crate::core::model::MacAddr;

const TYPE_RS: u8 = 133;
const TYPE_RA: u8 = 134;
/// Type, code, checksum, then the RA's own 12 bytes.
const RA_HEADER_LEN: usize = 16;
const OPT_SOURCE_LL: u8 = 1;
const OPT_PREFIX: u8 = 3;
const OPT_RDNSS: u8 = 25;
const FLAG_MANAGED: u8 = 0x80;
const FLAG_OTHER: u8 = 0x40;
const PREFIX_ON_LINK: u8 = 0x80;
const PREFIX_AUTONOMOUS: u8 = 0x40;

/// A Router Solicitation carrying our link-layer address, so routers may answer us directly.
/// The checksum is left zero: the kernel fills it in on ICMPv6 raw sockets (RFC 3542 §3.1).
pub fn build_rs(mac: Option<[u8; 6]>) -> Vec<u8> {
    let mut p = vec![TYPE_RS, 0, 0, 0, 0, 0, 0, 0];
    if let Some(mac) = mac {
        p.extend_from_slice(&[OPT_SOURCE_LL, 1]);
        p.extend_from_slice(&mac);
    }
    p
}

/// What one RA says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaFields {
    pub lifetime_s: u16,
    pub managed: bool,
    pub other: bool,
    /// The source link-layer address option (the router's MAC).
    pub mac: Option<MacAddr>,
    pub prefixes: Vec<RaPrefix>,
    pub dns: Vec<Ipv6Addr>,
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn prefix(opt: &[u8]) -> Option<RaPrefix> {
    // Type, length 4 (32 bytes), prefix length, flags, valid, preferred, reserved, prefix.
    if opt.len() != 32 {
        return None;
    }
    let len = opt[2];
    if len > 128 {
        return None;
    }
    let bytes: [u8; 16] = opt.get(16..32)?.try_into().ok()?;
    Some(RaPrefix {
        prefix: format!("{}/{len}", Ipv6Addr::from(bytes)),
        valid_s: be32(&opt[4..])?,
        preferred_s: be32(&opt[8..])?,
        autonomous: opt[3] & PREFIX_AUTONOMOUS != 0,
        on_link: opt[3] & PREFIX_ON_LINK != 0,
    })
}

/// Parse an ICMPv6 message (as a raw ICMPv6 socket delivers it, without the IPv6 header) as a
/// Router Advertisement. `None` for other types, a code other than 0, a short header, or an
/// option of length zero or running past the end (RFC 4861 says to drop such messages).
/// Unknown options are skipped.
pub fn parse_ra(buf: &[u8]) -> Option<RaFields> {
    if buf.len() < RA_HEADER_LEN || buf[0] != TYPE_RA || buf[1] != 0 {
        return None;
    }
    let mut out = RaFields {
        lifetime_s: u16::from_be_bytes([buf[6], buf[7]]),
        managed: buf[5] & FLAG_MANAGED != 0,
        other: buf[5] & FLAG_OTHER != 0,
        mac: None,
        prefixes: Vec::new(),
        dns: Vec::new(),
    };
    let mut rest = &buf[RA_HEADER_LEN..];
    while !rest.is_empty() {
        let kind = *rest.first()?;
        let units = usize::from(*rest.get(1)?);
        if units == 0 {
            return None;
        }
        let opt = rest.get(..units * 8)?;
        rest = &rest[units * 8..];
        match kind {
            OPT_SOURCE_LL => {
                if let Some(m) = opt.get(2..8).and_then(|m| <[u8; 6]>::try_from(m).ok()) {
                    out.mac = Some(MacAddr(m));
                }
            }
            OPT_PREFIX => {
                if let Some(p) = prefix(opt) {
                    out.prefixes.push(p);
                }
            }
            OPT_RDNSS => {
                // Type, length, reserved (2), lifetime (4), then 16-byte addresses.
                if let Some(addrs) = opt.get(8..) {
                    out.dns.extend(
                        addrs
                            .chunks_exact(16)
                            .filter_map(|a| <[u8; 16]>::try_from(a).ok())
                            .map(Ipv6Addr::from),
                    );
                }
            }
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x4c, 0, 0, 0, 1];

    /// An RA as radvd sends it: M=0 O=1, lifetime 1800, source LL, one prefix, one RDNSS.
    fn ra() -> Vec<u8> {
        let mut p = vec![134, 0, 0, 0, 64, 0x40, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        p.extend_from_slice(&[1, 1]);
        p.extend_from_slice(&MAC);
        let mut pi = vec![3, 4, 64, 0xc0];
        pi.extend_from_slice(&86_400u32.to_be_bytes());
        pi.extend_from_slice(&14_400u32.to_be_bytes());
        pi.extend_from_slice(&[0; 4]);
        pi.extend_from_slice(&"2001:db8:77::".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&pi);
        p.extend_from_slice(&[25, 3, 0, 0, 0, 0, 0x0e, 0x10]);
        p.extend_from_slice(&"2001:db8:77::53".parse::<Ipv6Addr>().unwrap().octets());
        p
    }

    #[test]
    fn solicitation_carries_our_mac() {
        assert_eq!(build_rs(None), vec![133, 0, 0, 0, 0, 0, 0, 0]);
        let p = build_rs(Some(MAC));
        assert_eq!(p.len(), 16);
        assert_eq!(&p[8..10], &[1, 1]);
        assert_eq!(parse_ra(&p), None);
    }

    #[test]
    fn advert_fields_are_read() {
        let r = parse_ra(&ra()).expect("RA");
        assert_eq!(r.lifetime_s, 1800);
        assert!(!r.managed);
        assert!(r.other);
        assert_eq!(r.mac, Some(MacAddr(MAC)));
        assert_eq!(
            r.prefixes,
            vec![RaPrefix {
                prefix: "2001:db8:77::/64".into(),
                valid_s: 86_400,
                preferred_s: 14_400,
                autonomous: true,
                on_link: true,
            }]
        );
        assert_eq!(r.dns, vec!["2001:db8:77::53".parse::<Ipv6Addr>().unwrap()]);
    }

    #[test]
    fn malformed_adverts_are_none_without_panic() {
        let f = ra();
        for n in 0..f.len() {
            let got = parse_ra(&f[..n]);
            // A cut inside the header or inside an option drops the whole message.
            if n < RA_HEADER_LEN || ![16, 24, 56].contains(&n) {
                assert_eq!(got, None, "cut at {n}");
            }
        }
        let mut zero = f.clone();
        zero[RA_HEADER_LEN + 1] = 0; // option of length 0
        assert_eq!(parse_ra(&zero), None);
        let mut code = f.clone();
        code[1] = 1;
        assert_eq!(parse_ra(&code), None);
        let mut seed = 7u32;
        for len in [0usize, 1, 15, 16, 17, 64, 200, 1280] {
            let mut junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = parse_ra(&junk);
            if len >= 2 {
                junk[0] = 134;
                junk[1] = 0;
                let _ = parse_ra(&junk);
            }
        }
    }
}
