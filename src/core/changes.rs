//! What changed on a device between two sightings, as [`Alert`]s: the dashboard compares
//! round with round, the agent (issue 12) check with check. Pure: no clock, no I/O; the caller
//! passes the time.
//!
//! Absence is read as "not known", never as a change, as `netdx diff` does: a name that one
//! round did not hear is not a renamed device, and a port only opens or closes when both
//! sightings checked it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::core::alert::{Alert, AlertKind};
use crate::core::model::{Host, MacAddr, ScanReport};
use crate::core::portset::PortSet;

/// What one sighting of a host said about it, kept small: a watched /16 holds 65,536.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSnapshot {
    pub mac: Option<MacAddr>,
    pub vendor: Option<String>,
    /// The PTR name, else the best LAN name (NetBIOS, mDNS, SNMP, UPnP).
    pub name: Option<String>,
    pub device: Option<String>,
    /// Open ports and what runs there (`ssh`, `OpenSSH 9.2p1`).
    pub open: BTreeMap<u16, Option<String>>,
    pub closed: PortSet,
    pub filtered: PortSet,
    /// Per port, the certificate as `CN|issuer|not after`: another string is another
    /// certificate.
    pub certs: BTreeMap<u16, String>,
}

impl HostSnapshot {
    pub fn of(h: &Host) -> Self {
        let mut open = BTreeMap::new();
        let mut certs = BTreeMap::new();
        for p in h.open_ports() {
            let what = p
                .identity
                .as_ref()
                .map(|id| id.summary())
                .filter(|s| !s.is_empty())
                .or_else(|| p.service.clone());
            open.insert(p.port, what);
            if let Some(tls) = p.identity.as_ref().and_then(|id| id.tls.as_ref()) {
                certs.insert(
                    p.port,
                    format!(
                        "{}|{}|{}",
                        tls.subject_cn.as_deref().unwrap_or(""),
                        tls.issuer.as_deref().unwrap_or(""),
                        tls.not_after.as_deref().unwrap_or("")
                    ),
                );
            }
        }
        HostSnapshot {
            mac: h.mac,
            vendor: h.vendor.clone(),
            name: h
                .hostname
                .clone()
                .or_else(|| h.names.best_name().map(str::to_string)),
            device: h.device.as_ref().map(|d| d.kind.clone()),
            open,
            closed: h.closed_ports.clone(),
            filtered: h.filtered_ports.clone(),
            certs,
        }
    }

    fn checked(&self, port: u16) -> bool {
        self.open.contains_key(&port) || self.closed.contains(port) || self.filtered.contains(port)
    }

    fn state_word(&self, port: u16) -> &'static str {
        if self.open.contains_key(&port) {
            "open"
        } else if self.closed.contains(port) {
            "closed"
        } else if self.filtered.contains(port) {
            "filtered"
        } else {
            "not checked"
        }
    }
}

/// `02:00:00:00:00:66 locally administered`, `b8:27:eb:00:00:01 Raspberry Pi Foundation`.
fn mac_words(mac: MacAddr, vendor: Option<&str>) -> String {
    match vendor.map(|v| v.trim_start_matches('(').trim_end_matches(')')) {
        Some(v) if !v.is_empty() => format!("{mac} {v}"),
        _ => format!("{mac}"),
    }
}

/// Everything that changed on `ip` from `before` to `after`, at time `now`.
pub fn compare(ip: IpAddr, before: &HostSnapshot, after: &HostSnapshot, now: &str) -> Vec<Alert> {
    let mut out = Vec::new();
    let alert = |kind, text: String| Alert::new(kind, text).with_ip(ip).at(now);
    if let (Some(old), Some(new)) = (before.mac, after.mac)
        && old != new
    {
        out.push(
            alert(
                AlertKind::MacChanged,
                format!(
                    "{ip} now answers from {} (was {})",
                    mac_words(new, after.vendor.as_deref()),
                    mac_words(old, before.vendor.as_deref())
                ),
            )
            .with_mac(new),
        );
    }
    if let (Some(old), Some(new)) = (&before.name, &after.name)
        && !old.eq_ignore_ascii_case(new)
    {
        out.push(alert(
            AlertKind::NameChanged,
            format!("{ip} is now named {new} (was {old})"),
        ));
    }
    if let (Some(old), Some(new)) = (&before.device, &after.device)
        && old != new
    {
        out.push(alert(
            AlertKind::TypeChanged,
            format!("{ip} now looks like a {new} (was {old})"),
        ));
    }
    for (&port, what) in &after.open {
        if !before.open.contains_key(&port) && before.checked(port) {
            let what = what
                .as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            out.push(alert(
                AlertKind::PortOpened,
                format!(
                    "{ip}: port {port}/tcp open{what} (was {})",
                    before.state_word(port)
                ),
            ));
        }
    }
    for &port in before.open.keys() {
        if !after.open.contains_key(&port) && after.checked(port) {
            out.push(alert(
                AlertKind::PortClosed,
                format!(
                    "{ip}: port {port}/tcp {} (was open)",
                    after.state_word(port)
                ),
            ));
        }
    }
    for (&port, cert) in &after.certs {
        if let Some(old) = before.certs.get(&port)
            && old != cert
        {
            let cn = |c: &str| c.split('|').next().unwrap_or("").to_string();
            out.push(alert(
                AlertKind::CertChanged,
                format!(
                    "{ip}: port {port}/tcp presents another certificate (CN {}, was CN {})",
                    or_dash(&cn(cert)),
                    or_dash(&cn(old))
                ),
            ));
        }
    }
    out
}

/// `10.0.0.20 (web.lab.test, 00:50:56:77:00:20 VMware)`: the address and what identifies
/// the device behind it.
fn device_words(ip: IpAddr, snap: &HostSnapshot) -> String {
    let mut what = Vec::new();
    if let Some(n) = &snap.name {
        what.push(n.clone());
    }
    if let Some(m) = snap.mac {
        what.push(mac_words(m, snap.vendor.as_deref()));
    }
    if what.is_empty() {
        ip.to_string()
    } else {
        format!("{ip} ({})", what.join(", "))
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Devices seen so far and how many rounds in a row each has been silent. The first round
/// that asks an address is its baseline: a device is "new" only where an earlier round asked
/// and heard nothing, so adding a subnet to the dashboard does not make every host on it new.
#[derive(Debug, Clone, Default)]
pub struct ChangeWatch {
    known: HashMap<IpAddr, HostSnapshot>,
    missed: HashMap<IpAddr, u32>,
    asked: HashSet<IpAddr>,
    gone_after: u32,
}

impl ChangeWatch {
    /// `gone_after`: silent rounds before a known device is reported gone (at least 1).
    pub fn new(gone_after: u32) -> Self {
        ChangeWatch {
            gone_after: gone_after.max(1),
            ..Default::default()
        }
    }

    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// One round or sweep: `probed` is every address it asked, `seen` tells which answered.
    /// Hosts it answered for are compared with their last sighting; silent known ones count a
    /// missed round, and are reported gone once, when the count reaches `gone_after`.
    pub fn observe(
        &mut self,
        report: &ScanReport,
        probed: &[IpAddr],
        seen: &dyn Fn(IpAddr) -> bool,
        now: &str,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        for &ip in probed {
            if seen(ip) {
                self.missed.remove(&ip);
                if let Some(h) = report.hosts.get(&ip) {
                    out.extend(self.sighting(h, now));
                }
                self.asked.insert(ip);
            } else if let Some(snap) = self.known.get(&ip) {
                let n = self.missed.entry(ip).or_insert(0);
                *n += 1;
                if *n == self.gone_after {
                    let mut a = Alert::new(
                        AlertKind::DeviceGone,
                        format!(
                            "device gone: {} has not answered for {} round{}",
                            device_words(ip, snap),
                            self.gone_after,
                            if self.gone_after == 1 { "" } else { "s" }
                        ),
                    )
                    .with_ip(ip)
                    .at(now);
                    a.mac = snap.mac;
                    out.push(a);
                }
            } else {
                self.asked.insert(ip);
            }
        }
        out
    }

    /// A host was heard outside a round (a port scan, a name lookup): compare it alone.
    pub fn sighting(&mut self, h: &Host, now: &str) -> Vec<Alert> {
        let snap = HostSnapshot::of(h);
        let out = match self.known.get(&h.ip) {
            Some(before) => compare(h.ip, before, &snap, now),
            None if self.asked.contains(&h.ip) => {
                let mut what = Vec::new();
                if let Some(m) = snap.mac {
                    what.push(mac_words(m, snap.vendor.as_deref()));
                }
                if let Some(n) = &snap.name {
                    what.push(format!("named {n}"));
                }
                if let Some(d) = &snap.device {
                    what.push(format!("looks like a {d}"));
                }
                let what = if what.is_empty() {
                    String::new()
                } else {
                    format!(": {}", what.join(", "))
                };
                let mut a = Alert::new(AlertKind::NewDevice, format!("new device {}{what}", h.ip))
                    .with_ip(h.ip)
                    .at(now);
                a.mac = snap.mac;
                vec![a]
            }
            None => Vec::new(),
        };
        self.known.insert(h.ip, snap);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{HostStatus, PortState};

    fn host(ip: &str, mac: u8) -> Host {
        let mut h = Host::new(ip.parse().unwrap());
        h.status = HostStatus::Up;
        h.mac = Some(MacAddr([0, 0x50, 0x56, 0, 0, mac]));
        h
    }

    fn report(hosts: &[Host]) -> ScanReport {
        let mut r = ScanReport::default();
        for h in hosts {
            r.hosts.insert(h.ip, h.clone());
        }
        r
    }

    fn kinds(a: &[Alert]) -> Vec<AlertKind> {
        a.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn baseline_is_quiet_then_new_gone_and_mac_change_are_said_once() {
        let a = host("10.0.0.1", 1);
        let b = host("10.0.0.2", 2);
        let ips: Vec<IpAddr> = vec![a.ip, b.ip, "10.0.0.3".parse().unwrap()];
        let mut w = ChangeWatch::new(2);
        let r = report(&[a.clone(), b.clone()]);
        let up = |r: &ScanReport| {
            let set: Vec<IpAddr> = r.hosts.keys().copied().collect();
            move |ip: IpAddr| set.contains(&ip)
        };
        assert!(w.observe(&r, &ips, &up(&r), "t0").is_empty());
        // .3 appears, .2 falls silent (1 of 2 rounds), .1 answers from another MAC.
        let a2 = host("10.0.0.1", 9);
        let c = host("10.0.0.3", 3);
        let r = report(&[a2.clone(), c.clone()]);
        let got = w.observe(&r, &ips, &up(&r), "t1");
        assert_eq!(
            kinds(&got),
            vec![AlertKind::MacChanged, AlertKind::NewDevice]
        );
        assert!(got[0].text.contains("00:50:56:00:00:09"), "{}", got[0].text);
        // Second silent round: gone, once.
        let got = w.observe(&r, &ips, &up(&r), "t2");
        assert_eq!(kinds(&got), vec![AlertKind::DeviceGone]);
        assert_eq!(got[0].ip, Some(b.ip));
        assert!(w.observe(&r, &ips, &up(&r), "t3").is_empty());
    }

    #[test]
    fn ports_change_only_where_both_sides_checked() {
        let mut before = host("10.0.0.5", 5);
        before.set_port(22, PortState::Open, None);
        before.set_port(80, PortState::Closed, None);
        let mut after = host("10.0.0.5", 5);
        after.set_port(80, PortState::Open, None);
        after.set_port(22, PortState::Filtered, None);
        after.set_port(443, PortState::Open, None); // never checked before: not a change
        let got = compare(
            before.ip,
            &HostSnapshot::of(&before),
            &HostSnapshot::of(&after),
            "t",
        );
        assert_eq!(
            kinds(&got),
            vec![AlertKind::PortOpened, AlertKind::PortClosed]
        );
        assert!(got[0].text.contains("80/tcp open"), "{}", got[0].text);
        assert!(
            got[1].text.contains("22/tcp filtered (was open)"),
            "{}",
            got[1].text
        );
        // A sighting that did not check ports says nothing about them.
        let bare = host("10.0.0.5", 5);
        assert!(
            compare(
                before.ip,
                &HostSnapshot::of(&before),
                &HostSnapshot::of(&bare),
                "t"
            )
            .is_empty()
        );
    }

    #[test]
    fn a_name_heard_once_is_not_a_rename() {
        let mut before = host("10.0.0.6", 6);
        before.hostname = Some("printer.lab".into());
        let after = host("10.0.0.6", 6);
        let (b, a) = (HostSnapshot::of(&before), HostSnapshot::of(&after));
        assert!(compare(before.ip, &b, &a, "t").is_empty());
        let mut renamed = after.clone();
        renamed.hostname = Some("evil.lab".into());
        let got = compare(before.ip, &b, &HostSnapshot::of(&renamed), "t");
        assert_eq!(kinds(&got), vec![AlertKind::NameChanged]);
    }
}
