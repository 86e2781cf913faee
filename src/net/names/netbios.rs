//! NetBIOS node status (RFC 1002 section 4.2.17-18, what `nmblookup -A` and `nbtstat -A`
//! ask): one question for the wildcard name `*` to `ip:137`; the answer lists the names the
//! node has registered, from which the computer name (unique `<00>`), the workgroup or
//! domain (group `<00>`) and the domain-controller role (group `<1C>`) follow.

use std::net::{IpAddr, SocketAddr};

use super::{Asker, Reply, Waits, random_id};
use crate::core::names::{NetbiosInfo, text};
use crate::net::session::Session;

pub const PORT: u16 = 137;

/// Question type NBSTAT.
const NBSTAT: u16 = 0x0021;
/// Name flag: a group name (shared), not a unique one.
const GROUP: u16 = 0x8000;

/// The node status request for the wildcard name.
pub fn request(id: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(50);
    p.extend_from_slice(&id.to_be_bytes());
    // Flags 0 (a query), one question, no records.
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    // `*` padded with NULs to 16 bytes, first-level encoded: each nibble + 'A'.
    let mut raw = [0u8; 16];
    raw[0] = b'*';
    p.push(32);
    for b in raw {
        p.push(b'A' + (b >> 4));
        p.push(b'A' + (b & 0x0f));
    }
    p.push(0);
    p.extend_from_slice(&NBSTAT.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes()); // class IN
    p
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// Index after the encoded name starting at `i` (labels, or a compression pointer).
fn skip_name(b: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..64 {
        let len = *b.get(i)?;
        if len & 0xc0 == 0xc0 {
            return Some(i + 2);
        }
        if len == 0 {
            return Some(i + 1);
        }
        i += 1 + usize::from(len);
    }
    None
}

/// A name from a node status entry: 15 bytes, space padded.
fn entry_name(raw: &[u8]) -> String {
    text(String::from_utf8_lossy(raw).trim_end_matches([' ', '\0']))
}

/// The answer to request `id`, or None when it is not one.
pub fn parse(b: &[u8], id: u16) -> Option<NetbiosInfo> {
    if u16_at(b, 0)? != id || b.get(2)? & 0x80 == 0 {
        return None;
    }
    let questions = u16_at(b, 4)?;
    let answers = u16_at(b, 6)?;
    if answers == 0 {
        return None;
    }
    let mut i = 12;
    for _ in 0..questions {
        i = skip_name(b, i)? + 4;
    }
    i = skip_name(b, i)?;
    if u16_at(b, i)? != NBSTAT {
        return None;
    }
    // type, class, TTL, RDLENGTH
    let rdlen = usize::from(u16_at(b, i + 8)?);
    let rdata = b.get(i + 10..i + 10 + rdlen)?;
    let count = usize::from(*rdata.first()?);
    let mut info = NetbiosInfo::default();
    let mut end = 1;
    for n in 0..count {
        let e = rdata.get(1 + n * 18..1 + (n + 1) * 18)?;
        end = 1 + (n + 1) * 18;
        let name = entry_name(&e[..15]);
        let suffix = e[15];
        let flags = u16::from_be_bytes([e[16], e[17]]);
        let group = flags & GROUP != 0;
        match (suffix, group) {
            (0x00, false) if info.name.is_none() => info.name = Some(name),
            (0x00, true) if info.workgroup.is_none() => info.workgroup = Some(name),
            (0x1c, true) => info.domain_controller = true,
            _ => {}
        }
    }
    if let Some(mac) = rdata.get(end..end + 6)
        && mac.iter().any(|&x| x != 0)
    {
        info.mac = Some(
            mac.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        );
    }
    (info.name.is_some() || info.workgroup.is_some()).then_some(info)
}

/// Ask `ip:137` for its node status.
pub async fn probe(session: &Session, ip: IpAddr, waits: Waits) -> Option<NetbiosInfo> {
    let asker = Asker::open(session, SocketAddr::new(ip, PORT), true).await?;
    let id = random_id();
    match asker
        .ask(&request(id), waits, |b| parse(b, id).is_some())
        .await
    {
        Reply::Answer(bytes) => parse(&bytes, id),
        Reply::Refused | Reply::Silent => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node status answer as Samba and Windows send it (no question section, the name
    /// repeated in full).
    fn answer(id: u16, names: &[(&str, u8, bool)], mac: [u8; 6]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]);
        p.extend_from_slice(&request(0)[12..12 + 34]);
        p.extend_from_slice(&NBSTAT.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
        let rdlen = 1 + names.len() * 18 + 6;
        p.extend_from_slice(&(rdlen as u16).to_be_bytes());
        p.push(names.len() as u8);
        for (name, suffix, group) in names {
            let mut n = [b' '; 15];
            n[..name.len()].copy_from_slice(name.as_bytes());
            p.extend_from_slice(&n);
            p.push(*suffix);
            p.extend_from_slice(&(if *group { 0x8400u16 } else { 0x0400 }).to_be_bytes());
        }
        p.extend_from_slice(&mac);
        p
    }

    #[test]
    fn request_is_the_wildcard_nbstat_question() {
        let r = request(0x1234);
        assert_eq!(r.len(), 50);
        assert_eq!(&r[..2], &[0x12, 0x34]);
        assert_eq!(&r[13..15], b"CK");
        assert_eq!(&r[15..45], &[b'A'; 30][..]);
        assert_eq!(&r[46..], &[0, 0x21, 0, 1]);
    }

    #[test]
    fn a_domain_controller_answer() {
        let a = answer(
            5,
            &[
                ("DC01", 0x00, false),
                ("LAB", 0x00, true),
                ("LAB", 0x1c, true),
                ("DC01", 0x20, false),
                ("LAB", 0x1b, false),
            ],
            [0x00, 0x15, 0x5d, 0x01, 0x02, 0x03],
        );
        assert_eq!(parse(&a, 6), None, "wrong id");
        let info = parse(&a, 5).unwrap();
        assert_eq!(info.name.as_deref(), Some("DC01"));
        assert_eq!(info.workgroup.as_deref(), Some("LAB"));
        assert!(info.domain_controller);
        assert_eq!(info.mac.as_deref(), Some("00:15:5d:01:02:03"));
    }

    #[test]
    fn samba_workstation_without_mac_and_truncated_answers() {
        let a = answer(1, &[("NAS01", 0x00, false), ("LAB", 0x00, true)], [0; 6]);
        let info = parse(&a, 1).unwrap();
        assert_eq!(info.name.as_deref(), Some("NAS01"));
        assert!(!info.domain_controller);
        assert_eq!(info.mac, None);
        for cut in 0..a.len() - 6 {
            assert_eq!(parse(&a[..cut], 1), None, "cut at {cut}");
        }
    }

    #[test]
    fn hostile_names_are_neutralised() {
        let a = answer(1, &[("EVIL\u{1b}[2J", 0x00, false)], [0; 6]);
        assert_eq!(
            parse(&a, 1).unwrap().name.as_deref(),
            Some("EVIL\u{FFFD}[2J")
        );
    }
}
