//! The identity half of `netdx diff`: what a host and its services say they are.
//!
//! Compared on hosts up in both scans, and on ports open in both:
//! - a service that says something else about itself: another protocol, product or version
//!   ("22/tcp OpenSSH 9.2p1 -> 9.3p1");
//! - a certificate with another subject CN, issuer or end date, or one that has come within
//!   [`EXPIRY_WARN_DAYS`] of its end (or passed it) since the old scan;
//! - another device type ("printer -> unknown");
//! - another name in mDNS, NetBIOS, SNMP (sysName) or UPnP (friendlyName).
//!
//! Older reports carry none of this, and a UDP answer or a banner can be missed once, so
//! absence is read conservatively, as "unknown", never as a change, with three exceptions:
//! - a service identified before whose port is still open and now stays silent, sends text
//!   netdx does not recognise, or completes only the TLS handshake: the service itself
//!   changed its behaviour, and netdx asked (the port has an identity);
//! - a service identified before whose port is still open and now has no identity at all,
//!   when the new scan identified other ports of the same host and was not interrupted (so
//!   identification ran and had its chance);
//! - a device type present on one side and absent on the other, when the report without it
//!   typed at least one host (so the inference ran there and found nothing: "unknown").
//!
//! A field known on only one side (a product without a version, a certificate without an
//! issuer, a name from a protocol that answered only once) is never a change.

use std::fmt::Write;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::core::devtype::DeviceType;
use crate::core::identity::{EXPIRY_WARN_DAYS, ServiceId, TlsInfo};
use crate::core::model::{Host, ScanReport};
use crate::output::escape::{markdown as md, text};

/// Protocol, product and version of a service: what "changed version" compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceVersion {
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl ServiceVersion {
    fn of(id: &ServiceId) -> Self {
        ServiceVersion {
            protocol: id.protocol.clone(),
            product: id.product.clone(),
            version: id.version.clone(),
        }
    }

    /// `OpenSSH 9.2p1`, or the protocol when the service named no product.
    fn words(&self) -> String {
        let pv: Vec<&str> = [&self.product, &self.version]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if self.product.is_none() {
            let mut w = vec![self.protocol.as_str()];
            w.extend(pv);
            return w.join(" ");
        }
        pv.join(" ")
    }
}

/// A port whose service says something else about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    pub port: u16,
    pub protocol: String,
    pub old: ServiceVersion,
    /// None when the service no longer says what it is (see `now`).
    pub new: Option<ServiceVersion>,
    /// Why `new` is None: `silent`, `unrecognised`, `TLS only` or `not identified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
}

impl ServiceChange {
    /// `OpenSSH 9.2p1 -> 9.3p1`, `nginx 1.22.1 -> Apache httpd 2.4.57`, `OpenSSH 9.2p1 ->
    /// silent` (cleaned for a terminal).
    pub fn words(&self) -> String {
        let Some(new) = &self.new else {
            return format!(
                "{} -> {}",
                self.old.words(),
                self.now.as_deref().unwrap_or("not identified")
            );
        };
        let (o, n) = (&self.old, new);
        if o.protocol == n.protocol
            && o.product.is_some()
            && o.product == n.product
            && o.version.is_some()
            && n.version.is_some()
        {
            return format!(
                "{} {} -> {}",
                o.product.as_deref().unwrap_or_default(),
                o.version.as_deref().unwrap_or_default(),
                n.version.as_deref().unwrap_or_default()
            );
        }
        if o.protocol != n.protocol {
            let with = |v: &ServiceVersion| {
                if v.product.is_none() {
                    v.words()
                } else {
                    format!("{} {}", v.protocol, v.words())
                }
            };
            return format!("{} -> {}", with(o), with(n));
        }
        format!("{} -> {}", o.words(), n.words())
    }
}

/// A certificate that changed, or came close to (or past) its end, between the scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    pub port: u16,
    /// What changed: `subject CN`, `issuer`, `not after`, `now expiring`, `now expired`.
    pub changed: Vec<String>,
    pub old: TlsInfo,
    pub new: TlsInfo,
}

impl CertChange {
    /// `CN web.lab.test -> www.lab.test; not after 2026-12-01 -> 2027-12-01; certificate
    /// expires in 12 days`.
    pub fn words(&self) -> String {
        let arrow = |a: &Option<String>, b: &Option<String>| {
            format!(
                "{} -> {}",
                a.as_deref().unwrap_or("-"),
                b.as_deref().unwrap_or("-")
            )
        };
        let mut parts = Vec::new();
        for c in &self.changed {
            match c.as_str() {
                "subject CN" => parts.push(format!(
                    "CN {}",
                    arrow(&self.old.subject_cn, &self.new.subject_cn)
                )),
                "issuer" => parts.push(format!(
                    "issuer {}",
                    arrow(&self.old.issuer, &self.new.issuer)
                )),
                "not after" => parts.push(format!(
                    "not after {}",
                    arrow(&self.old.not_after, &self.new.not_after)
                )),
                _ => {}
            }
        }
        if let Some(p) = self.new.problem()
            && self
                .changed
                .iter()
                .any(|c| c == "now expiring" || c == "now expired")
        {
            parts.push(p);
        }
        parts.join("; ")
    }
}

/// Another device type: `printer -> unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    /// None: unknown (the inference ran and found nothing).
    pub old: Option<DeviceType>,
    pub new: Option<DeviceType>,
}

impl DeviceChange {
    pub fn words(&self) -> String {
        fn kind(d: &Option<DeviceType>) -> &str {
            d.as_ref().map_or("unknown", |d| d.kind.as_str())
        }
        format!("{} -> {}", kind(&self.old), kind(&self.new))
    }
}

/// Another name in one of the LAN's protocols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanNameChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    /// `mDNS`, `NetBIOS`, `SNMP sysName`, `UPnP friendlyName`.
    pub protocol: String,
    pub old: String,
    pub new: String,
}

/// Everything this module found, added to the diff by its caller.
#[derive(Debug, Default)]
pub struct Changes {
    pub services: Vec<ServiceChange>,
    pub certs: Vec<CertChange>,
    pub devices: Vec<DeviceChange>,
    pub names: Vec<LanNameChange>,
}

/// What each report can say at all, so that absence is read as "unknown" where it must be.
#[derive(Debug, Clone, Copy)]
pub struct Coverage {
    /// The report typed at least one host: device inference ran when it was made.
    pub old_typed: bool,
    pub new_typed: bool,
    /// The new scan ran to its end.
    pub new_complete: bool,
}

impl Coverage {
    pub fn of(old: &ScanReport, new: &ScanReport) -> Self {
        let typed = |r: &ScanReport| r.hosts.values().any(|h| h.device.is_some());
        Coverage {
            old_typed: typed(old),
            new_typed: typed(new),
            new_complete: new.complete && !new.interrupted,
        }
    }
}

/// Whether any open port of the report was identified.
pub fn identified(r: &ScanReport) -> bool {
    r.hosts
        .values()
        .any(|h| h.open_ports().any(|p| p.identity.is_some()))
}

/// The service named what it is (not silent, not unrecognised text, not a bare handshake).
fn recognised(id: &ServiceId) -> bool {
    !id.silent && id.protocol != "unknown" && id.protocol != "tls"
}

/// Known on both sides and different.
fn differs(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x != y)
}

/// 0 fine, 1 expiring within [`EXPIRY_WARN_DAYS`], 2 expired.
fn expiry_level(t: &TlsInfo) -> u8 {
    match t.days_left {
        Some(d) if d < 0 => 2,
        Some(d) if d < EXPIRY_WARN_DAYS => 1,
        _ => 0,
    }
}

fn service_change(
    ip: IpAddr,
    name: &Option<String>,
    port: u16,
    o: &ServiceId,
    n: Option<&ServiceId>,
    host_identified: bool,
    cov: Coverage,
) -> Option<ServiceChange> {
    if !recognised(o) {
        return None;
    }
    let now = match n {
        Some(n) if recognised(n) => {
            let changed = o.protocol != n.protocol
                || differs(&o.product, &n.product)
                || differs(&o.version, &n.version);
            if !changed {
                return None;
            }
            return Some(ServiceChange {
                ip,
                hostname: name.clone(),
                port,
                protocol: "tcp".into(),
                old: ServiceVersion::of(o),
                new: Some(ServiceVersion::of(n)),
                now: None,
            });
        }
        Some(n) if n.silent => "silent",
        Some(n) if n.protocol == "tls" => "TLS only",
        Some(_) => "unrecognised",
        None if host_identified && cov.new_complete => "not identified",
        None => return None,
    };
    Some(ServiceChange {
        ip,
        hostname: name.clone(),
        port,
        protocol: "tcp".into(),
        old: ServiceVersion::of(o),
        new: None,
        now: Some(now.into()),
    })
}

fn cert_change(
    ip: IpAddr,
    name: &Option<String>,
    port: u16,
    o: &TlsInfo,
    n: &TlsInfo,
) -> Option<CertChange> {
    let mut changed = Vec::new();
    if differs(&o.subject_cn, &n.subject_cn) {
        changed.push("subject CN");
    }
    if differs(&o.issuer, &n.issuer) {
        changed.push("issuer");
    }
    if differs(&o.not_after, &n.not_after) {
        changed.push("not after");
    }
    let (a, b) = (expiry_level(o), expiry_level(n));
    if b > a {
        changed.push(if b == 2 {
            "now expired"
        } else {
            "now expiring"
        });
    }
    if changed.is_empty() {
        return None;
    }
    Some(CertChange {
        ip,
        hostname: name.clone(),
        port,
        changed: changed.into_iter().map(str::to_string).collect(),
        old: o.clone(),
        new: n.clone(),
    })
}

/// The names a host gave, by protocol.
fn lan_names(h: &Host) -> [(&'static str, Option<&str>); 4] {
    let n = &h.names;
    [
        ("mDNS", n.mdns.as_ref().and_then(|v| v.hostname.as_deref())),
        (
            "NetBIOS",
            n.netbios.as_ref().and_then(|v| v.name.as_deref()),
        ),
        (
            "SNMP sysName",
            n.snmp.as_ref().and_then(|v| v.sys_name.as_deref()),
        ),
        (
            "UPnP friendlyName",
            n.upnp.as_ref().and_then(|v| v.friendly_name.as_deref()),
        ),
    ]
}

/// Names compare without case (NetBIOS names are upper case, DNS names case-blind) and
/// without a final dot.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Compare one host up in both scans; `name` is how the diff names it.
pub fn compare_host(o: &Host, n: &Host, name: &Option<String>, cov: Coverage, out: &mut Changes) {
    let ip = n.ip;
    let host_identified = n.open_ports().any(|p| p.identity.is_some());
    for np in n.open_ports() {
        let Ok(i) = o.ports.binary_search_by_key(&np.port, |p| p.port) else {
            continue;
        };
        let op = &o.ports[i];
        if op.state != crate::core::model::PortState::Open {
            continue;
        }
        let Some(oid) = &op.identity else { continue };
        let nid = np.identity.as_ref();
        if let Some(c) = service_change(ip, name, np.port, oid, nid, host_identified, cov) {
            out.services.push(c);
        }
        if let (Some(a), Some(b)) = (&oid.tls, nid.and_then(|n| n.tls.as_ref()))
            && let Some(c) = cert_change(ip, name, np.port, a, b)
        {
            out.certs.push(c);
        }
    }
    let device_changed = match (&o.device, &n.device) {
        (Some(a), Some(b)) => a.kind != b.kind,
        (Some(_), None) => cov.new_typed,
        (None, Some(_)) => cov.old_typed,
        (None, None) => false,
    };
    if device_changed {
        out.devices.push(DeviceChange {
            ip,
            hostname: name.clone(),
            old: o.device.clone(),
            new: n.device.clone(),
        });
    }
    for ((protocol, a), (_, b)) in lan_names(o).into_iter().zip(lan_names(n)) {
        if let (Some(a), Some(b)) = (a, b)
            && !same_name(a, b)
        {
            out.names.push(LanNameChange {
                ip,
                hostname: name.clone(),
                protocol: protocol.into(),
                old: a.into(),
                new: b.into(),
            });
        }
    }
}

fn who(ip: IpAddr, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{ip} ({})", text(n)),
        None => ip.to_string(),
    }
}

/// The text sections, one line per change, in the layout of the rest of the diff.
pub fn text_sections(
    services: &[ServiceChange],
    certs: &[CertChange],
    devices: &[DeviceChange],
    names: &[LanNameChange],
) -> Vec<(String, Vec<String>)> {
    vec![
        (
            "Service changed".into(),
            services
                .iter()
                .map(|c| {
                    format!(
                        "~ {}  {}/{} {}",
                        who(c.ip, &c.hostname),
                        c.port,
                        text(&c.protocol),
                        text(&c.words())
                    )
                })
                .collect(),
        ),
        (
            "Certificate changed".into(),
            certs
                .iter()
                .map(|c| {
                    format!(
                        "! {}  {}/tcp {}",
                        who(c.ip, &c.hostname),
                        c.port,
                        text(&c.words())
                    )
                })
                .collect(),
        ),
        (
            "Device type changed".into(),
            devices
                .iter()
                .map(|c| {
                    let mut l = format!("~ {}  {}", who(c.ip, &c.hostname), text(&c.words()));
                    if let Some(d) = &c.new {
                        let _ = write!(l, "  ({})", text(&d.evidence.join(" + ")));
                    }
                    l
                })
                .collect(),
        ),
        (
            "LAN name changed".into(),
            names
                .iter()
                .map(|c| {
                    format!(
                        "~ {}  {} {} -> {}",
                        who(c.ip, &c.hostname),
                        c.protocol,
                        text(&c.old),
                        text(&c.new)
                    )
                })
                .collect(),
        ),
    ]
}

/// A Markdown table: (title, header, rows).
pub type MdTable = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// The Markdown tables, in the layout of the rest of the diff.
pub fn markdown_tables(
    services: &[ServiceChange],
    certs: &[CertChange],
    devices: &[DeviceChange],
    names: &[LanNameChange],
) -> Vec<MdTable> {
    let name = |n: &Option<String>| n.as_deref().map_or_else(|| "-".to_string(), md);
    let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_string(), md);
    vec![
        (
            "Service changed",
            vec!["Host", "Name", "Port", "Change"],
            services
                .iter()
                .map(|c| {
                    vec![
                        c.ip.to_string(),
                        name(&c.hostname),
                        format!("{}/{}", c.port, md(&c.protocol)),
                        md(&c.words()),
                    ]
                })
                .collect(),
        ),
        (
            "Certificate changed",
            vec![
                "Host",
                "Name",
                "Port",
                "Changed",
                "Old CN",
                "New CN",
                "Old not after",
                "New not after",
            ],
            certs
                .iter()
                .map(|c| {
                    vec![
                        c.ip.to_string(),
                        name(&c.hostname),
                        format!("{}/tcp", c.port),
                        c.changed.join(", "),
                        opt(&c.old.subject_cn),
                        opt(&c.new.subject_cn),
                        opt(&c.old.not_after),
                        opt(&c.new.not_after),
                    ]
                })
                .collect(),
        ),
        (
            "Device type changed",
            vec!["Host", "Name", "Change", "Evidence now"],
            devices
                .iter()
                .map(|c| {
                    vec![
                        c.ip.to_string(),
                        name(&c.hostname),
                        md(&c.words()),
                        c.new
                            .as_ref()
                            .map_or_else(|| "-".to_string(), |d| md(&d.evidence.join(" + "))),
                    ]
                })
                .collect(),
        ),
        (
            "LAN name changed",
            vec!["Host", "Name", "Protocol", "Old", "New"],
            names
                .iter()
                .map(|c| {
                    vec![
                        c.ip.to_string(),
                        name(&c.hostname),
                        c.protocol.clone(),
                        md(&c.old),
                        md(&c.new),
                    ]
                })
                .collect(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(version: &str) -> ServiceId {
        ServiceId {
            protocol: "ssh".into(),
            product: Some("OpenSSH".into()),
            version: Some(version.into()),
            ..Default::default()
        }
    }

    const COV: Coverage = Coverage {
        old_typed: true,
        new_typed: true,
        new_complete: true,
    };

    fn svc(o: &ServiceId, n: Option<&ServiceId>, ran: bool, cov: Coverage) -> Option<String> {
        let ip = "10.0.0.1".parse().unwrap();
        service_change(ip, &None, 22, o, n, ran, cov).map(|c| c.words())
    }

    #[test]
    fn version_change_in_words() {
        assert_eq!(
            svc(&ssh("9.2p1"), Some(&ssh("9.3p1")), true, COV).as_deref(),
            Some("OpenSSH 9.2p1 -> 9.3p1")
        );
        assert_eq!(svc(&ssh("9.2p1"), Some(&ssh("9.2p1")), true, COV), None);
        let dropbear = ServiceId {
            product: Some("Dropbear sshd".into()),
            version: Some("2022.83".into()),
            ..ssh("")
        };
        assert_eq!(
            svc(&ssh("9.2p1"), Some(&dropbear), true, COV).as_deref(),
            Some("OpenSSH 9.2p1 -> Dropbear sshd 2022.83")
        );
        let http = ServiceId {
            protocol: "http".into(),
            ..Default::default()
        };
        assert_eq!(
            svc(&ssh("9.2p1"), Some(&http), true, COV).as_deref(),
            Some("ssh OpenSSH 9.2p1 -> http")
        );
    }

    #[test]
    fn a_field_known_on_one_side_only_is_not_a_change() {
        let bare = ServiceId {
            version: None,
            ..ssh("")
        };
        assert_eq!(svc(&ssh("9.2p1"), Some(&bare), true, COV), None);
        assert_eq!(svc(&bare, Some(&ssh("9.2p1")), true, COV), None);
        // Unknown before (silent, unrecognised): the new answer is news, not a change.
        let silent = ServiceId {
            protocol: "unknown".into(),
            silent: true,
            ..Default::default()
        };
        assert_eq!(svc(&silent, Some(&ssh("9.3p1")), true, COV), None);
    }

    #[test]
    fn losing_the_identity_is_reported_only_when_identification_ran() {
        let silent = ServiceId {
            protocol: "unknown".into(),
            silent: true,
            ..Default::default()
        };
        assert_eq!(
            svc(&ssh("9.2p1"), Some(&silent), true, COV).as_deref(),
            Some("OpenSSH 9.2p1 -> silent")
        );
        assert_eq!(
            svc(&ssh("9.2p1"), None, true, COV).as_deref(),
            Some("OpenSSH 9.2p1 -> not identified")
        );
        let text = ServiceId {
            protocol: "unknown".into(),
            banner: Some("hello".into()),
            ..Default::default()
        };
        assert_eq!(
            svc(&ssh("9.2p1"), Some(&text), true, COV).as_deref(),
            Some("OpenSSH 9.2p1 -> unrecognised")
        );
        let handshake = ServiceId {
            protocol: "tls".into(),
            tls: Some(TlsInfo::default()),
            ..Default::default()
        };
        assert_eq!(
            svc(&ssh("9.2p1"), Some(&handshake), true, COV).as_deref(),
            Some("OpenSSH 9.2p1 -> TLS only")
        );
        // Not identified on the host at all (--no-identify, an older netdx): unknown.
        assert_eq!(svc(&ssh("9.2p1"), None, false, COV), None);
        // An interrupted new scan may simply not have got there.
        let partial = Coverage {
            new_complete: false,
            ..COV
        };
        assert_eq!(svc(&ssh("9.2p1"), None, true, partial), None);
    }

    fn cert(cn: &str, not_after: &str, days: i64) -> TlsInfo {
        TlsInfo {
            version: "TLSv1.3".into(),
            subject_cn: Some(cn.into()),
            issuer: Some("CN=Lab CA".into()),
            not_after: Some(not_after.into()),
            days_left: Some(days),
            ..Default::default()
        }
    }

    #[test]
    fn certificate_changes_and_expiry() {
        let ip = "10.0.0.1".parse().unwrap();
        let words = |a: &TlsInfo, b: &TlsInfo| cert_change(ip, &None, 443, a, b).map(|c| c.words());
        let a = cert("web.lab.test", "2027-01-01T00:00:00Z", 400);
        assert_eq!(words(&a, &a), None);
        // The days left shrink every scan: not a change until they cross the warning line.
        assert_eq!(
            words(&a, &cert("web.lab.test", "2027-01-01T00:00:00Z", 31)),
            None
        );
        assert_eq!(
            words(&a, &cert("web.lab.test", "2027-01-01T00:00:00Z", 12)).as_deref(),
            Some("certificate expires in 12 days")
        );
        assert_eq!(
            words(
                &cert("web.lab.test", "2027-01-01T00:00:00Z", 12),
                &cert("web.lab.test", "2027-01-01T00:00:00Z", -2)
            )
            .as_deref(),
            Some("certificate expired 2 days ago")
        );
        let b = cert("www.lab.test", "2028-01-01T00:00:00Z", 700);
        let c = cert_change(ip, &None, 443, &a, &b).unwrap();
        assert_eq!(c.changed, ["subject CN", "not after"]);
        assert_eq!(
            c.words(),
            "CN web.lab.test -> www.lab.test; not after 2027-01-01T00:00:00Z -> 2028-01-01T00:00:00Z"
        );
        let other_ca = TlsInfo {
            issuer: Some("CN=Evil CA".into()),
            ..a.clone()
        };
        assert_eq!(
            words(&a, &other_ca).as_deref(),
            Some("issuer CN=Lab CA -> CN=Evil CA")
        );
        // A certificate netdx could not read on one side says nothing.
        let unread = TlsInfo {
            subject_cn: None,
            issuer: None,
            not_after: None,
            days_left: None,
            ..a.clone()
        };
        assert_eq!(words(&a, &unread), None);
    }

    fn typed(kind: &str) -> Option<DeviceType> {
        Some(DeviceType {
            kind: kind.into(),
            confidence: "high".into(),
            evidence: vec!["IPP 631".into()],
        })
    }

    fn devices(o: Option<DeviceType>, n: Option<DeviceType>, cov: Coverage) -> Vec<String> {
        let ip = "10.0.0.1".parse().unwrap();
        let mut a = Host::new(ip);
        a.device = o;
        let mut b = Host::new(ip);
        b.device = n;
        let mut out = Changes::default();
        compare_host(&a, &b, &None, cov, &mut out);
        out.devices.iter().map(DeviceChange::words).collect()
    }

    #[test]
    fn device_type_changes_and_unknown_sides() {
        assert_eq!(
            devices(typed("printer"), typed("NAS"), COV),
            ["printer -> NAS"]
        );
        assert!(devices(typed("printer"), typed("printer"), COV).is_empty());
        assert_eq!(devices(typed("printer"), None, COV), ["printer -> unknown"]);
        // An old report from before device types: absent means not computed.
        let old_untyped = Coverage {
            old_typed: false,
            ..COV
        };
        assert!(devices(None, typed("printer"), old_untyped).is_empty());
        assert_eq!(devices(None, typed("printer"), COV), ["unknown -> printer"]);
    }

    #[test]
    fn lan_names_compare_without_case_and_only_when_both_answered() {
        use crate::core::names::{HostNames, MdnsInfo, NetbiosInfo};
        let ip = "10.0.0.1".parse().unwrap();
        let with = |mdns: Option<&str>, nb: Option<&str>| {
            let mut h = Host::new(ip);
            h.names = HostNames {
                mdns: mdns.map(|m| MdnsInfo {
                    hostname: Some(m.into()),
                    ..Default::default()
                }),
                netbios: nb.map(|n| NetbiosInfo {
                    name: Some(n.into()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            h
        };
        let run = |a: &Host, b: &Host| {
            let mut out = Changes::default();
            compare_host(a, b, &None, COV, &mut out);
            out.names
                .iter()
                .map(|c| format!("{} {} -> {}", c.protocol, c.old, c.new))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            run(
                &with(Some("nas.local"), Some("NAS01")),
                &with(Some("nas2.local"), Some("NAS02"))
            ),
            ["mDNS nas.local -> nas2.local", "NetBIOS NAS01 -> NAS02"]
        );
        assert!(
            run(
                &with(Some("nas.local."), None),
                &with(Some("NAS.local"), None)
            )
            .is_empty()
        );
        assert!(run(&with(Some("nas.local"), Some("NAS01")), &with(None, None)).is_empty());
    }
}
