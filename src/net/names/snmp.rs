//! SNMP v2c: one GetRequest for the system group's sysDescr, sysObjectID, sysName and
//! sysLocation to `ip:161`, with the community the user gave (`public` by default; other
//! communities are never guessed: trying passwords is not a name lookup).
//!
//! The request is a fixed BER structure written here (a few dozen bytes); the answer is
//! read with asn1-rs (already in the tree through x509-parser), which handles BER's length
//! forms, so a hostile agent cannot make us misread lengths.

use std::net::{IpAddr, SocketAddr};

use asn1_rs::{Any, Class, FromBer, Oid, Tag};

use super::{Asker, Reply, Waits};
use crate::core::names::{SnmpInfo, text};
use crate::net::session::Session;

pub const PORT: u16 = 161;

/// The system group objects asked for (RFC 3418), instance `.0`.
const SYS_DESCR: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 1, 0];
const SYS_OBJECT_ID: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 2, 0];
const SYS_NAME: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 5, 0];
const SYS_LOCATION: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 6, 0];

/// BER tag and length, then the contents.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(n.min(0xffff) as u16).to_be_bytes());
    }
    out.extend_from_slice(content);
    out
}

fn integer(v: i32) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    // Minimal two's complement: drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 3
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

/// A v2c GetRequest for the four system objects.
pub fn get_request(community: &str, request_id: i32) -> Vec<u8> {
    let varbinds: Vec<u8> = [SYS_DESCR, SYS_OBJECT_ID, SYS_NAME, SYS_LOCATION]
        .iter()
        .flat_map(|oid| tlv(0x30, &[tlv(0x06, oid), vec![0x05, 0x00]].concat()))
        .collect();
    let pdu = [
        integer(request_id),
        integer(0),
        integer(0),
        tlv(0x30, &varbinds),
    ]
    .concat();
    let community = &community.as_bytes()[..community.len().min(255)];
    let msg = [integer(1), tlv(0x04, community), tlv(0xa0, &pdu)].concat();
    tlv(0x30, &msg)
}

/// The TLVs inside a constructed value.
fn children(data: &[u8]) -> Option<Vec<Any<'_>>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && out.len() < 64 {
        let (r, any) = Any::from_ber(rest).ok()?;
        out.push(any);
        rest = r;
    }
    Some(out)
}

fn int_of(any: &Any) -> Option<i64> {
    (any.class() == Class::Universal && any.tag() == Tag::Integer && any.data.len() <= 8).then(
        || {
            any.data.iter().fold(
                if any.data.first().is_some_and(|b| b & 0x80 != 0) {
                    -1i64
                } else {
                    0
                },
                |acc, b| (acc << 8) | i64::from(*b),
            )
        },
    )
}

/// The answer to request `request_id`, or None when it is not one (or reports an error).
pub fn parse(bytes: &[u8], request_id: i32) -> Option<SnmpInfo> {
    let (_, msg) = Any::from_ber(bytes).ok()?;
    let parts = children(msg.data)?;
    let [version, _community, pdu] = parts.as_slice() else {
        return None;
    };
    // v2c, GetResponse-PDU ([2] constructed, context-specific).
    if int_of(version)? != 1 || pdu.class() != Class::ContextSpecific || pdu.tag() != Tag(2) {
        return None;
    }
    let fields = children(pdu.data)?;
    let [id, status, _index, varbinds] = fields.as_slice() else {
        return None;
    };
    if int_of(id)? != i64::from(request_id) || int_of(status)? != 0 {
        return None;
    }
    let mut info = SnmpInfo::default();
    for vb in children(varbinds.data)? {
        let pair = children(vb.data)?;
        let [name, value] = pair.as_slice() else {
            continue;
        };
        if value.class() != Class::Universal {
            continue; // noSuchObject, noSuchInstance, endOfMibView
        }
        let string = || {
            (value.tag() == Tag::OctetString)
                .then(|| text(&String::from_utf8_lossy(value.data)))
                .filter(|s| !s.is_empty())
        };
        match name.data {
            SYS_DESCR => info.sys_descr = string(),
            SYS_NAME => info.sys_name = string(),
            SYS_LOCATION => info.sys_location = string(),
            SYS_OBJECT_ID if value.tag() == Tag::Oid => {
                info.sys_object_id = Some(text(
                    &Oid::new(std::borrow::Cow::Borrowed(value.data)).to_id_string(),
                ));
            }
            _ => {}
        }
    }
    (info != SnmpInfo::default()).then_some(info)
}

/// Ask `ip:161` for its system group with `community`.
pub async fn probe(
    session: &Session,
    ip: IpAddr,
    community: &str,
    waits: Waits,
) -> Option<SnmpInfo> {
    let asker = Asker::open(session, SocketAddr::new(ip, PORT), true).await?;
    // Positive and below 2^31, as some agents mishandle negative request IDs.
    let id = i32::from(super::random_id()) << 8 | 1;
    match asker
        .ask(&get_request(community, id), waits, |b| {
            parse(b, id).is_some()
        })
        .await
    {
        Reply::Answer(bytes) => parse(&bytes, id),
        Reply::Refused | Reply::Silent => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(request_id: i32, vbs: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
        let varbinds: Vec<u8> = vbs
            .iter()
            .flat_map(|(oid, v)| tlv(0x30, &[tlv(0x06, oid), v.clone()].concat()))
            .collect();
        let pdu = [
            integer(request_id),
            integer(0),
            integer(0),
            tlv(0x30, &varbinds),
        ]
        .concat();
        let msg = [integer(1), tlv(0x04, b"public"), tlv(0xa2, &pdu)].concat();
        tlv(0x30, &msg)
    }

    #[test]
    fn the_request_is_what_net_snmp_sends() {
        // snmpget -v2c -c public HOST sysDescr.0 sysObjectID.0 sysName.0 sysLocation.0,
        // request-id 0x1234, as captured.
        let r = get_request("public", 0x1234);
        assert_eq!(&r[..2], &[0x30, r.len() as u8 - 2]);
        assert_eq!(
            &r[2..13],
            &[0x02, 1, 1, 0x04, 6, b'p', b'u', b'b', b'l', b'i', b'c']
        );
        assert_eq!(&r[13..15], &[0xa0, r.len() as u8 - 15]);
        assert_eq!(&r[15..19], &[0x02, 2, 0x12, 0x34]);
        assert_eq!(integer(128), vec![0x02, 2, 0, 0x80]);
        assert_eq!(integer(-1), vec![0x02, 1, 0xff]);
    }

    #[test]
    fn a_printer_answer_is_read() {
        let long = "HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153 ".repeat(2);
        let a = response(
            77,
            &[
                (SYS_DESCR, tlv(0x04, long.as_bytes())),
                (
                    SYS_OBJECT_ID,
                    tlv(0x06, &[0x2b, 6, 1, 4, 1, 11, 2, 3, 9, 1]),
                ),
                (SYS_NAME, tlv(0x04, b"NPI4A2B3C")),
                (SYS_LOCATION, vec![0x81, 0x00]),
            ],
        );
        assert!(a.len() > 128, "long form lengths are exercised");
        assert_eq!(parse(&a, 78), None, "wrong request id");
        let info = parse(&a, 77).unwrap();
        assert_eq!(info.sys_descr.as_deref(), Some(long.trim_end()));
        assert_eq!(
            info.sys_object_id.as_deref(),
            Some("1.3.6.1.4.1.11.2.3.9.1")
        );
        assert_eq!(info.sys_name.as_deref(), Some("NPI4A2B3C"));
        assert_eq!(info.sys_location, None, "noSuchObject is no location");
    }

    #[test]
    fn garbage_and_truncation_are_refused() {
        let a = response(5, &[(SYS_NAME, tlv(0x04, b"sw1\x1b[31m"))]);
        assert_eq!(
            parse(&a, 5).unwrap().sys_name.as_deref(),
            Some("sw1\u{FFFD}[31m")
        );
        for cut in 0..a.len() {
            assert_eq!(parse(&a[..cut], 5), None, "cut at {cut}");
        }
        assert_eq!(parse(b"\x30\x84\xff\xff\xff\xff", 5), None);
    }
}
