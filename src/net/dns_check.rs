//! DNS sanity checks of one answer: a CNAME whose target does not exist ("dangling"), an
//! address record where nothing answers ("stale"), configured resolvers that give different
//! answers, and a PTR record that does not name the forward name.
//!
//! ```text
//!   DnsResult ─┬─ CNAME chain ends without data ─► A of its target ─► NXDOMAIN: dangling
//!              ├─ A/AAAA ─┬─► echo, TCP SYN 443/ACK 80 (or connects) ─► silent: stale
//!              │          └─► PTR ─► names another host? ─► its A/AAAA ─► mismatch
//!              └─ same question to every other resolver ─► other answer: disagree
//! ```
//! The judging is pure ([`dangling_target`], [`answer_key`], [`disagreement`],
//! [`ptr_mismatch`]) and unit-tested; [`check`] sends the few queries and probes it needs on
//! the process's [`Session`]. Only the addresses in the answer are probed: the user asked for
//! that name.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::future::join_all;

use crate::core::model::{DnsFinding, DnsFindingKind, DnsResult, DnsStatus, RecordType};
use crate::net::discover::{self, Found};
use crate::net::dns::DnsProbe;
use crate::net::icmp::EchoPlan;
use crate::net::session::Session;

/// Addresses of one answer probed for liveness and reverse-checked, at most.
pub const MAX_ADDRESSES: usize = 4;

/// A DNS name as compared: lower case, without the root dot.
pub fn norm(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The names of the answer's CNAME chain, the queried name first.
pub fn chain(r: &DnsResult) -> Vec<String> {
    let mut out = vec![norm(&r.name)];
    for a in r.answers.iter().filter(|a| a.rtype == "CNAME") {
        let n = norm(&a.value);
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The CNAME target the answer ends at without any data of the asked type: the name a
/// dangling alias points to, if it does not exist.
pub fn dangling_target(r: &DnsResult) -> Option<String> {
    if r.status != DnsStatus::NoError {
        return None;
    }
    let wanted = r.rtype.to_string();
    if r.rtype == RecordType::CNAME {
        return r
            .answers
            .iter()
            .find(|a| a.rtype == "CNAME")
            .map(|a| norm(&a.value));
    }
    if r.answers.iter().any(|a| a.rtype == wanted) {
        return None;
    }
    r.answers
        .iter()
        .rev()
        .find(|a| a.rtype == "CNAME")
        .map(|a| norm(&a.value))
}

/// What a resolver said, to compare: the status and the sorted data of the asked type
/// (`None` for timeouts and errors: a silent server does not disagree, it fails).
pub fn answer_key(r: &DnsResult) -> Option<(DnsStatus, Vec<String>)> {
    if !matches!(r.status, DnsStatus::NoError | DnsStatus::NxDomain) {
        return None;
    }
    let wanted = r.rtype.to_string();
    let mut values: Vec<String> = r
        .answers
        .iter()
        .filter(|a| a.rtype == wanted)
        .map(|a| norm(&a.value))
        .collect();
    values.sort();
    values.dedup();
    Some((r.status, values))
}

/// A server as people write it: the address alone when the port is 53.
fn server_name(s: &str) -> String {
    match s.parse::<SocketAddr>() {
        Ok(sa) if sa.port() == 53 => sa.ip().to_string(),
        _ => s.to_string(),
    }
}

fn said(key: &(DnsStatus, Vec<String>)) -> String {
    match key {
        (DnsStatus::NxDomain, _) => "says it does not exist (NXDOMAIN)".to_string(),
        (_, v) if v.is_empty() => "has no such record".to_string(),
        (_, v) => format!("answers {}", v.join(" ")),
    }
}

/// Resolvers that answered the same question differently (each result names its server).
pub fn disagreement(results: &[DnsResult]) -> Option<DnsFinding> {
    let keyed: Vec<(String, (DnsStatus, Vec<String>))> = results
        .iter()
        .filter_map(|r| Some((server_name(r.server.as_deref()?), answer_key(r)?)))
        .collect();
    let first = &keyed.first()?.1;
    if keyed.iter().all(|(_, k)| k == first) {
        return None;
    }
    let name = results.first().map(|r| norm(&r.name)).unwrap_or_default();
    let rtype = results
        .first()
        .map(|r| r.rtype.to_string())
        .unwrap_or_default();
    let parts: Vec<String> = keyed
        .iter()
        .map(|(s, k)| format!("{s} {}", said(k)))
        .collect();
    Some(DnsFinding {
        kind: DnsFindingKind::Disagree,
        text: format!(
            "The DNS servers disagree about {name} {rtype}: {}.",
            parts.join("; ")
        ),
    })
}

/// The PTR names of `ip` do not include any name of the forward chain. `back` says, per PTR
/// name, whether that name resolves to `ip` again (then it is a second name of the same host;
/// otherwise the PTR record is wrong or out of date).
pub fn ptr_mismatch(
    forward: &[String],
    ip: IpAddr,
    ptr_names: &[String],
    back: &[bool],
) -> Option<DnsFinding> {
    let ptrs: Vec<String> = ptr_names.iter().map(|n| norm(n)).collect();
    if ptrs.is_empty() || ptrs.iter().any(|p| forward.contains(p)) {
        return None;
    }
    let name = forward.first().cloned().unwrap_or_default();
    let named = ptrs.join(", ");
    let text = if back.iter().any(|b| *b) {
        format!(
            "The PTR record of {ip} names {named}, not {name}: the address has another name \
             (it resolves back to {ip})."
        )
    } else {
        format!(
            "The PTR record of {ip} names {named}, not {name}, and {named} does not resolve \
             back to {ip}: the PTR record is wrong or out of date."
        )
    };
    Some(DnsFinding {
        kind: DnsFindingKind::PtrMismatch,
        text,
    })
}

/// The sentence for a stale address record.
pub fn stale(name: &str, ip: IpAddr) -> DnsFinding {
    DnsFinding {
        kind: DnsFindingKind::Stale,
        text: format!(
            "{} points at {ip}, where nothing answers (no ping, no TCP answer): the record may \
             be stale.",
            norm(name)
        ),
    }
}

/// The sentence for a dangling CNAME.
pub fn dangling(name: &str, target: &str) -> DnsFinding {
    DnsFinding {
        kind: DnsFindingKind::Dangling,
        text: format!(
            "{} is an alias (CNAME) of {target}, which does not exist: a dangling record.",
            norm(name)
        ),
    }
}

/// Whether anything answers at `ip`: an echo, else the discovery probes (raw SYN 443, ACK
/// 80, ICMP timestamp; connects to 443 and 80 without privilege), within `timeout`.
pub async fn answers(session: &Session, ip: IpAddr, timeout: Duration) -> bool {
    let plan = EchoPlan {
        timeout,
        tries: 3,
        until_first_reply: true,
    };
    let echo = async {
        let icmp = session.icmp().ok()?.clone();
        if !icmp.supports(ip) {
            return None;
        }
        let out = session
            .measured(async move { icmp.echo(ip, plan).await })
            .await?;
        (!out.rtts.is_empty()).then_some(())
    };
    let found = Found::default();
    let probe = async {
        match session.raw() {
            Ok(raw) => discover::raw_alive(raw, ip, plan, &found).await,
            Err(_) => discover::connect_alive(session, ip, timeout, &found).await,
        }
    };
    let (e, p) = tokio::join!(echo, probe);
    e.is_some() || p.is_some()
}

/// Whether `name` resolves (A or AAAA) to `ip` through `dns`.
async fn resolves_to(session: &Session, dns: &DnsProbe, name: &str, ip: IpAddr) -> bool {
    let rtype = if ip.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    let (p, n) = (dns.clone(), name.to_string());
    let r = match session
        .measured(async move { p.query(&n, rtype).await })
        .await
    {
        Some(r) => r,
        None => return false,
    };
    crate::net::dns::addresses(&[&r]).contains(&ip)
}

/// A query on the session's measurement thread.
async fn query(session: &Session, dns: &DnsProbe, name: &str, rtype: RecordType) -> DnsResult {
    let (p, n) = (dns.clone(), name.to_string());
    match session
        .measured(async move { p.query(&n, rtype).await })
        .await
    {
        Some(r) => r,
        None => DnsResult::not_sent(name, rtype, "the probe session stopped"),
    }
}

/// Whether `target` does not exist (NXDOMAIN for A through `dns`).
pub async fn missing(session: &Session, dns: &DnsProbe, target: &str) -> bool {
    query(session, dns, target, RecordType::A).await.status == DnsStatus::NxDomain
}

/// The PTR check of one address of `forward` (the forward chain, queried name first).
pub async fn check_ptr(
    session: &Session,
    dns: &DnsProbe,
    forward: &[String],
    ip: IpAddr,
) -> Option<DnsFinding> {
    let r = query(session, dns, &ip.to_string(), RecordType::PTR).await;
    let names: Vec<String> = r
        .answers
        .iter()
        .filter(|a| a.rtype == "PTR")
        .map(|a| norm(&a.value))
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() || names.iter().any(|n| forward.contains(n)) {
        return None;
    }
    let back = join_all(names.iter().map(|n| resolves_to(session, dns, n, ip))).await;
    ptr_mismatch(forward, ip, &names, &back)
}

/// Every sanity check of one answer. `others` are the other configured resolvers (each
/// asked the same question); `dns` is the one that gave `r`.
pub async fn check(
    session: &Session,
    dns: &DnsProbe,
    others: &[DnsProbe],
    r: &DnsResult,
    timeout: Duration,
) -> Vec<DnsFinding> {
    let mut out = Vec::new();
    let forward = chain(r);
    let addrs: Vec<IpAddr> = crate::net::dns::addresses(&[r])
        .into_iter()
        .take(MAX_ADDRESSES)
        .collect();
    let dangling_check = async {
        let target = dangling_target(r)?;
        missing(session, dns, &target)
            .await
            .then(|| dangling(&r.name, &target))
    };
    let stale_checks = join_all(addrs.iter().map(|&ip| async move {
        (!answers(session, ip, timeout).await).then(|| stale(&r.name, ip))
    }));
    let ptr_checks = join_all(
        addrs
            .iter()
            .map(|&ip| check_ptr(session, dns, &forward, ip)),
    );
    let others_asked = join_all(others.iter().map(|o| query(session, o, &r.name, r.rtype)));
    let (d, stale, ptrs, other_results) =
        tokio::join!(dangling_check, stale_checks, ptr_checks, others_asked);
    out.extend(d);
    out.extend(stale.into_iter().flatten());
    out.extend(ptrs.into_iter().flatten());
    if !other_results.is_empty() {
        let mut all = vec![r.clone()];
        all.extend(other_results);
        out.extend(disagreement(&all));
    }
    out
}

/// One probe per configured server of `dns` besides the one named `first`, from the session
/// (made once, kept): what [`check`] asks for a second opinion. Empty with one server.
pub async fn other_resolvers(
    session: &Session,
    dns: &DnsProbe,
    first: Option<&str>,
    timeout: Duration,
) -> Vec<DnsProbe> {
    let servers = dns.servers();
    if servers.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in servers {
        if first.is_some_and(|f| f == s.to_string()) {
            continue;
        }
        if let Ok(p) = session.dns(Some(s), timeout).await {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::DnsAnswer;

    fn res(
        name: &str,
        rtype: RecordType,
        status: DnsStatus,
        answers: &[(&str, &str)],
    ) -> DnsResult {
        DnsResult {
            name: name.into(),
            rtype,
            status,
            answers: answers
                .iter()
                .map(|(t, v)| DnsAnswer {
                    rtype: (*t).into(),
                    value: (*v).into(),
                    ttl: 60,
                })
                .collect(),
            server: Some("10.77.0.53:53".into()),
            rtt_ms: Some(0.3),
            error: None,
            findings: Vec::new(),
        }
    }

    #[test]
    fn a_cname_without_data_points_at_its_target() {
        let d = res(
            "dangling.lab.test",
            RecordType::A,
            DnsStatus::NoError,
            &[("CNAME", "gone.lab.test.")],
        );
        assert_eq!(dangling_target(&d).as_deref(), Some("gone.lab.test"));
        let ok = res(
            "www.lab.test",
            RecordType::A,
            DnsStatus::NoError,
            &[("CNAME", "web.lab.test."), ("A", "10.77.0.20")],
        );
        assert_eq!(dangling_target(&ok), None);
        assert_eq!(chain(&ok), vec!["www.lab.test", "web.lab.test"]);
        assert_eq!(
            dangling("dangling.lab.test.", "gone.lab.test").text,
            "dangling.lab.test is an alias (CNAME) of gone.lab.test, which does not exist: a \
             dangling record."
        );
    }

    #[test]
    fn resolvers_disagree_on_status_or_data_not_on_silence() {
        let a = res(
            "app.lab.test",
            RecordType::A,
            DnsStatus::NoError,
            &[("A", "10.9.0.10")],
        );
        let mut b = res("app.lab.test", RecordType::A, DnsStatus::NxDomain, &[]);
        b.server = Some("10.77.0.54:53".into());
        let f = disagreement(&[a.clone(), b]).expect("a disagreement");
        assert_eq!(f.kind, DnsFindingKind::Disagree);
        assert_eq!(
            f.text,
            "The DNS servers disagree about app.lab.test A: 10.77.0.53 answers 10.9.0.10; \
             10.77.0.54 says it does not exist (NXDOMAIN)."
        );
        let mut silent = res("app.lab.test", RecordType::A, DnsStatus::Timeout, &[]);
        silent.server = Some("10.77.0.54:53".into());
        assert_eq!(disagreement(&[a.clone(), silent]), None);
        let mut same = a.clone();
        same.server = Some("10.77.0.54:53".into());
        assert_eq!(disagreement(&[a, same]), None);
    }

    #[test]
    fn ptr_names_another_host() {
        let ip: IpAddr = "10.62.0.2".parse().unwrap();
        let fwd = vec!["uplink.lab.test".to_string()];
        let f = ptr_mismatch(&fwd, ip, &["router1.lab.test.".into()], &[false]).unwrap();
        assert_eq!(f.kind, DnsFindingKind::PtrMismatch);
        assert!(
            f.text
                .contains("names router1.lab.test, not uplink.lab.test"),
            "{}",
            f.text
        );
        assert!(f.text.contains("wrong or out of date"), "{}", f.text);
        let alias = ptr_mismatch(&fwd, ip, &["router1.lab.test".into()], &[true]).unwrap();
        assert!(alias.text.contains("another name"), "{}", alias.text);
        assert_eq!(
            ptr_mismatch(&fwd, ip, &["Uplink.Lab.Test.".into()], &[false]),
            None
        );
        assert_eq!(ptr_mismatch(&fwd, ip, &[], &[]), None);
    }
}
