//! mDNS / DNS-SD by unicast (RFC 6762 section 5.5 and 6.7, RFC 6763): DNS questions sent to
//! the host's own port 5353 from an ordinary port are "legacy unicast" queries, which
//! responders (Bonjour, Avahi) answer directly to the sender. No multicast is sent.
//!
//! Up to three rounds, each one datagram with several questions:
//! 1. `_services._dns-sd._udp.local PTR` (the service types) and the reverse name of the
//!    address (the host name);
//! 2. `PTR` of each service type (the instances; responders add SRV, TXT and A records);
//! 3. `SRV` and `TXT` of instances the second round left without them.
//!
//! Messages are built and parsed with hickory-proto, the DNS library netdx already uses.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Asker, Reply, Waits, random_id};
use crate::core::names::{MdnsInfo, MdnsService, text};
use crate::net::session::Session;

pub const PORT: u16 = 5353;

/// Service types and instances asked about per host: a real device announces a handful; a
/// hostile one must not make us send hundreds of questions.
const MAX_SERVICES: usize = 16;

/// The DNS-SD meta-query name (RFC 6763 section 9).
const SERVICES: &str = "_services._dns-sd._udp.local.";

/// A query message with one question per `(name, type)`.
pub fn query(id: u16, questions: &[(Name, RecordType)]) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    for (name, rtype) in questions {
        m.add_query(Query::query(name.clone(), *rtype));
    }
    m.to_vec().unwrap_or_default()
}

/// The records of an answer to query `id` (answers and additional records alike: a
/// responder puts what it thinks we want next in the additional section).
pub fn parse(bytes: &[u8], id: u16) -> Option<Vec<Record>> {
    let m = Message::from_vec(bytes).ok()?;
    if m.metadata.id != id || m.metadata.message_type != MessageType::Response {
        return None;
    }
    let mut records = m.answers;
    records.extend(m.additionals);
    Some(records)
}

/// The first round's questions for `ip`.
pub fn first_questions(ip: IpAddr) -> Vec<(Name, RecordType)> {
    let mut q = Vec::new();
    if let Ok(services) = Name::from_ascii(SERVICES) {
        q.push((services, RecordType::PTR));
    }
    q.push((Name::from(ip), RecordType::PTR));
    q
}

fn same(a: &Name, b: &Name) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// A name as text without the root dot: `printer.local`.
fn show(name: &Name) -> String {
    text(name.to_utf8().trim_end_matches('.'))
}

/// Service types announced (`_ipp._tcp.local.`), in order, without duplicates.
pub fn service_types(records: &[Record]) -> Vec<Name> {
    let Ok(services) = Name::from_ascii(SERVICES) else {
        return Vec::new();
    };
    let mut out: Vec<Name> = Vec::new();
    for r in records {
        if let RData::PTR(p) = &r.data
            && same(&r.name, &services)
            && !out.iter().any(|n| same(n, &p.0))
        {
            out.push(p.0.clone());
        }
    }
    out.truncate(MAX_SERVICES);
    out
}

/// Instances of `types` (`HP Color LaserJet._ipp._tcp.local.`), with their type.
pub fn instances(records: &[Record], types: &[Name]) -> Vec<(Name, Name)> {
    let mut out: Vec<(Name, Name)> = Vec::new();
    for r in records {
        if let RData::PTR(p) = &r.data
            && let Some(t) = types.iter().find(|t| same(t, &r.name))
            && !out.iter().any(|(i, _)| same(i, &p.0))
        {
            out.push((p.0.clone(), t.clone()));
        }
    }
    out.truncate(MAX_SERVICES);
    out
}

fn has(records: &[Record], name: &Name, rtype: RecordType) -> bool {
    records
        .iter()
        .any(|r| r.record_type() == rtype && same(&r.name, name))
}

/// Everything the collected records say about the host at `ip`; None when they say nothing.
pub fn describe(records: &[Record], ip: IpAddr) -> Option<MdnsInfo> {
    let reverse = Name::from(ip);
    let by_ptr = records.iter().find_map(|r| match &r.data {
        RData::PTR(p) if same(&r.name, &reverse) => Some(show(&p.0)),
        _ => None,
    });
    let by_addr = records.iter().find_map(|r| match &r.data {
        RData::A(a) if IpAddr::V4(a.0) == ip => Some(show(&r.name)),
        RData::AAAA(a) if IpAddr::V6(a.0) == ip => Some(show(&r.name)),
        _ => None,
    });
    let types = service_types(records);
    let found = instances(records, &types);
    let mut services: Vec<MdnsService> = Vec::new();
    for t in &types {
        let type_text = type_text(t);
        let mine: Vec<&(Name, Name)> = found.iter().filter(|(_, ty)| same(ty, t)).collect();
        if mine.is_empty() {
            services.push(MdnsService {
                service_type: type_text,
                ..Default::default()
            });
            continue;
        }
        for (inst, _) in mine {
            let mut s = MdnsService {
                service_type: type_text.clone(),
                instance: inst
                    .iter()
                    .next()
                    .map(|l| text(&String::from_utf8_lossy(l))),
                ..Default::default()
            };
            for r in records.iter().filter(|r| same(&r.name, inst)) {
                match &r.data {
                    RData::SRV(srv) => s.port = Some(srv.port),
                    RData::TXT(txt) => s.txt = txt_pairs(txt.txt_data.iter().map(|b| &b[..])),
                    _ => {}
                }
            }
            services.push(s);
        }
    }
    services.sort_by(|a, b| (&a.service_type, &a.instance).cmp(&(&b.service_type, &b.instance)));
    let hostname = by_ptr.or(by_addr);
    if hostname.is_none() && services.is_empty() {
        return None;
    }
    Some(MdnsInfo { hostname, services })
}

/// `_ipp._tcp.local.` -> `_ipp._tcp`
fn type_text(name: &Name) -> String {
    let full = show(name);
    match full.len().checked_sub(".local".len()) {
        Some(i) if full.is_char_boundary(i) && full[i..].eq_ignore_ascii_case(".local") => {
            full[..i].to_string()
        }
        _ => full,
    }
}

/// TXT strings as key=value pairs (RFC 6763 section 6.3: the first `=` splits; keys are
/// case-insensitive, so kept lower-case; the first occurrence of a key wins).
pub fn txt_pairs<'a>(strings: impl Iterator<Item = &'a [u8]>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in strings.take(64) {
        let s = String::from_utf8_lossy(s);
        let (k, v) = s.split_once('=').unwrap_or((&s, ""));
        let k = text(k).to_ascii_lowercase();
        if k.is_empty() {
            continue;
        }
        out.entry(k).or_insert_with(|| text(v));
    }
    out
}

/// Ask `ip:5353` who it is and what it offers.
pub async fn probe(session: &Session, ip: IpAddr, waits: Waits) -> Option<MdnsInfo> {
    let asker = Asker::open(session, SocketAddr::new(ip, PORT), true).await?;
    let mut records = round(&asker, &first_questions(ip), waits).await?;
    let types = service_types(&records);
    if !types.is_empty() {
        let q: Vec<(Name, RecordType)> =
            types.iter().map(|t| (t.clone(), RecordType::PTR)).collect();
        if let Some(more) = round(&asker, &q, waits).await {
            records.extend(more);
        }
        let missing: Vec<(Name, RecordType)> = instances(&records, &types)
            .into_iter()
            .flat_map(|(i, _)| [(i.clone(), RecordType::SRV), (i, RecordType::TXT)])
            .filter(|(i, t)| !has(&records, i, *t))
            .collect();
        if !missing.is_empty()
            && let Some(more) = round(&asker, &missing, waits).await
        {
            records.extend(more);
        }
    }
    describe(&records, ip)
}

async fn round(
    asker: &Asker,
    questions: &[(Name, RecordType)],
    waits: Waits,
) -> Option<Vec<Record>> {
    let id = random_id();
    let request = query(id, questions);
    match asker.ask(&request, waits, |b| parse(b, id).is_some()).await {
        Reply::Answer(bytes) => parse(&bytes, id),
        Reply::Refused | Reply::Silent => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, PTR, SRV, TXT};

    fn rec(name: &str, data: RData) -> Record {
        Record::from_rdata(Name::from_ascii(name).unwrap(), 120, data)
    }

    fn printer_answer(id: u16) -> Vec<u8> {
        let mut m = Message::response(id, hickory_proto::op::OpCode::Query);
        // The instance label has spaces: built from labels, not parsed from text.
        let inst = Name::from_labels(vec![
            "HP Color LaserJet MFP M480f".as_bytes(),
            b"_ipp",
            b"_tcp",
            b"local",
        ])
        .unwrap();
        let name = |s: &str| Name::from_ascii(s).unwrap();
        m.answers = vec![
            rec(SERVICES, RData::PTR(PTR(name("_ipp._tcp.local.")))),
            rec(
                "70.0.77.10.in-addr.arpa.",
                RData::PTR(PTR(name("printer.local."))),
            ),
            rec("_ipp._tcp.local.", RData::PTR(PTR(inst.clone()))),
        ];
        m.additionals = vec![
            Record::from_rdata(
                inst.clone(),
                120,
                RData::SRV(SRV::new(0, 0, 631, name("printer.local."))),
            ),
            Record::from_rdata(
                inst,
                120,
                RData::TXT(TXT::new(vec![
                    "txtvers=1".into(),
                    "ty=HP Color LaserJet MFP M480f".into(),
                    "Color=T".into(),
                    "rp=ipp/print".into(),
                    "bad=\u{1b}[2J\u{202e}".into(),
                ])),
            ),
            rec("printer.local.", RData::A(A::new(10, 77, 0, 70))),
        ];
        m.to_vec().unwrap()
    }

    #[test]
    fn query_carries_every_question() {
        let ip: IpAddr = "10.77.0.70".parse().unwrap();
        let bytes = query(7, &first_questions(ip));
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!(m.metadata.id, 7);
        assert_eq!(m.queries.len(), 2);
        assert_eq!(m.queries[0].name().to_ascii(), SERVICES);
        assert_eq!(m.queries[1].name().to_ascii(), "70.0.77.10.in-addr.arpa.");
    }

    #[test]
    fn a_printer_answer_is_described() {
        let ip: IpAddr = "10.77.0.70".parse().unwrap();
        assert!(parse(&printer_answer(9), 8).is_none(), "wrong id");
        let records = parse(&printer_answer(9), 9).unwrap();
        let info = describe(&records, ip).unwrap();
        assert_eq!(info.hostname.as_deref(), Some("printer.local"));
        assert_eq!(info.services.len(), 1);
        let s = &info.services[0];
        assert_eq!(s.service_type, "_ipp._tcp");
        assert_eq!(s.instance.as_deref(), Some("HP Color LaserJet MFP M480f"));
        assert_eq!(s.port, Some(631));
        assert_eq!(s.txt["ty"], "HP Color LaserJet MFP M480f");
        assert_eq!(s.txt["color"], "T");
        assert_eq!(s.txt["bad"], "\u{FFFD}[2J\u{FFFD}");
    }

    #[test]
    fn hostname_from_an_address_record_and_nothing_from_nothing() {
        let ip: IpAddr = "10.77.0.70".parse().unwrap();
        let only_a = vec![rec("printer.local.", RData::A(A::new(10, 77, 0, 70)))];
        assert_eq!(
            describe(&only_a, ip).unwrap().hostname.as_deref(),
            Some("printer.local")
        );
        let other = vec![rec("other.local.", RData::A(A::new(10, 77, 0, 71)))];
        assert_eq!(describe(&other, ip), None);
        assert!(parse(b"\x00\x01garbage", 1).is_none());
    }

    #[test]
    fn txt_pairs_split_at_the_first_equals() {
        let t = txt_pairs([&b"a=b=c"[..], b"flag", b"=nokey", b"A=second"].into_iter());
        assert_eq!(t["a"], "b=c");
        assert_eq!(t["flag"], "");
        assert_eq!(t.len(), 2);
    }

    /// Real responders set the cache-flush bit in the class and add NSEC records (type 47)
    /// for what they do not have: neither may make the answer unreadable.
    #[test]
    fn cache_flush_classes_and_nsec_records_are_read() {
        let mut bytes = printer_answer(3);
        // NSEC for printer.local: name pointer to offset 12 is not safe here, so spell the
        // name; class IN | cache-flush; next domain = same name; bitmap for A and AAAA.
        let mut nsec = Vec::new();
        for label in ["printer", "local"] {
            nsec.push(label.len() as u8);
            nsec.extend_from_slice(label.as_bytes());
        }
        nsec.push(0);
        let rdata: Vec<u8> = [&nsec[..], &[0, 4, 0x40, 0, 0, 0x08]].concat();
        let mut rr = nsec.clone();
        rr.extend_from_slice(&[0, 47, 0x80, 0x01, 0, 0, 0, 120]);
        rr.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        rr.extend_from_slice(&rdata);
        bytes.extend_from_slice(&rr);
        let ar = u16::from_be_bytes([bytes[10], bytes[11]]) + 1;
        bytes[10..12].copy_from_slice(&ar.to_be_bytes());
        let records = parse(&bytes, 3).expect("readable despite NSEC");
        let info = describe(&records, "10.77.0.70".parse().unwrap()).unwrap();
        assert_eq!(info.hostname.as_deref(), Some("printer.local"));
        assert_eq!(info.services[0].port, Some(631));
    }
}
