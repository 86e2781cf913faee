//! The scan report: one model, built from engine events by a pure reducer
//! ([`ScanReport::apply`]) and read by every view (summary table, dashboard, report writers).
//!
//! Strings that arrive from the network are cleaned with [`crate::core::sanitize::clean`] here, once,
//! so no consumer has to remember to do it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::event::{Phase, ScanEvent};
use crate::core::sanitize::clean;

/// Version of the JSON report layout; bumped on any incompatible change so that older
/// readers can refuse a newer report instead of misreading it.
pub const SCHEMA_VERSION: u32 = 1;

/// A 48-bit MAC address. Kept as bytes, printed and serialised as `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Locally administered addresses (bit 1 of the first octet) are set by software, not by
    /// the manufacturer: phones with MAC randomisation, VMs, containers. Their OUI names no
    /// vendor, so a technician should see "randomised" rather than a wrong vendor.
    pub fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid MAC address '{0}'")]
pub struct MacParseError(String);

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(MacParseError(s.to_string()));
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(MacParseError(s.to_string()));
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| MacParseError(s.to_string()))?;
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How a host was seen alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Icmp,
    Arp,
    Tcp,
    /// A LAN name protocol answered (mDNS, NetBIOS, SSDP or SNMP).
    Udp,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Icmp => "icmp",
            Method::Arp => "arp",
            Method::Tcp => "tcp",
            Method::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Up,
    Down,
}

/// nmap's vocabulary, which technicians already know: `open` accepted the connection,
/// `closed` answered with a reset, `filtered` gave no answer (or an ICMP unreachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortState {
    Open,
    Closed,
    Filtered,
}

impl PortState {
    pub fn label(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
        }
    }
}

/// DNS record types netdx can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordType {
    A,
    AAAA,
    MX,
    TXT,
    CNAME,
    NS,
    SOA,
    PTR,
    SRV,
}

impl RecordType {
    pub const ALL: [RecordType; 9] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::MX,
        RecordType::TXT,
        RecordType::CNAME,
        RecordType::NS,
        RecordType::SOA,
        RecordType::PTR,
        RecordType::SRV,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
            RecordType::CNAME => "CNAME",
            RecordType::NS => "NS",
            RecordType::SOA => "SOA",
            RecordType::PTR => "PTR",
            RecordType::SRV => "SRV",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown DNS record type '{0}' (use A, AAAA, MX, TXT, CNAME, NS, SOA, PTR or SRV)")]
pub struct RecordTypeError(pub String);

impl FromStr for RecordType {
    type Err = RecordTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.label().eq_ignore_ascii_case(s))
            .ok_or_else(|| RecordTypeError(s.to_string()))
    }
}

/// The outcome of a DNS query as a technician reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DnsStatus {
    /// The name exists; `answers` may still be empty (no record of that type).
    #[serde(rename = "NOERROR")]
    NoError,
    #[serde(rename = "NXDOMAIN")]
    NxDomain,
    #[serde(rename = "SERVFAIL")]
    ServFail,
    #[serde(rename = "REFUSED")]
    Refused,
    /// No server answered in time.
    #[serde(rename = "TIMEOUT")]
    Timeout,
    /// Anything else (network error, malformed answer); see `error`.
    #[serde(rename = "ERROR")]
    Error,
}

impl DnsStatus {
    pub fn label(self) -> &'static str {
        match self {
            DnsStatus::NoError => "NOERROR",
            DnsStatus::NxDomain => "NXDOMAIN",
            DnsStatus::ServFail => "SERVFAIL",
            DnsStatus::Refused => "REFUSED",
            DnsStatus::Timeout => "TIMEOUT",
            DnsStatus::Error => "ERROR",
        }
    }
}

/// One record of an answer, rendered in zone-file presentation (`10 mail.lab.test.` for MX).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
    pub ttl: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsResult {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub status: DnsStatus,
    pub answers: Vec<DnsAnswer>,
    /// The server that answered (`ip:port`), when known.
    pub server: Option<String>,
    pub rtt_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DnsResult {
    /// A query that could not be sent at all (the probe machinery stopped), with why.
    pub fn not_sent(name: &str, rtype: RecordType, why: &str) -> Self {
        DnsResult {
            name: name.to_string(),
            rtype,
            status: DnsStatus::Error,
            answers: Vec::new(),
            server: None,
            rtt_ms: None,
            error: Some(why.to_string()),
        }
    }

    /// Clean every string that came off the wire.
    fn sanitized(mut self) -> Self {
        self.name = clean(&self.name);
        for a in &mut self.answers {
            a.rtype = clean(&a.rtype);
            a.value = clean(&a.value);
        }
        self.error = self.error.map(|e| clean(&e));
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteLevel {
    Info,
    Warn,
    Error,
}

/// Something the user must know about the scan as a whole: a method that could not run and
/// how to enable it, a target that did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub level: NoteLevel,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Port {
    pub port: u16,
    pub protocol: String,
    pub state: PortState,
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// What the service on an open port said about itself (absent when not identified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::core::identity::ServiceId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub ip: IpAddr,
    pub status: HostStatus,
    /// Every method that saw the host alive, in a fixed order (icmp, arp, tcp).
    pub methods: Vec<Method>,
    pub mac: Option<MacAddr>,
    /// Vendor from the IEEE OUI table, or "(locally administered)" for randomised MACs.
    pub vendor: Option<String>,
    pub hostname: Option<String>,
    /// The name the user typed, when the target was given as a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Average ICMP round trip.
    pub rtt_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_min_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_max_ms: Option<f64>,
    /// Median ICMP round trip: one inflated echo (a busy host, a queue on the way) moves the
    /// average but not this, so comparisons between scans use it. Absent in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_median_ms: Option<f64>,
    /// How many echo replies `rtt_ms` and `rtt_median_ms` are computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_samples: Option<u32>,
    /// Percentage of ICMP echoes that got no reply, when ICMP was used.
    pub loss_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_sent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_received: Option<u32>,
    /// What proved the host up when neither an echo reply nor ARP did ("TCP ACK to port 80
    /// answered with a reset").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Time of the ARP reply, when found by ARP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_rtt_ms: Option<f64>,
    pub ports: Vec<Port>,
    /// What the host said about itself in mDNS, NetBIOS, SSDP/UPnP and SNMP.
    #[serde(
        default,
        skip_serializing_if = "crate::core::names::HostNames::is_empty"
    )]
    pub names: crate::core::names::HostNames,
}

impl Port {
    /// `80/http`, or `8123` when the port has no well-known service: how every view names a
    /// port (escape it for the output format).
    pub fn label(&self) -> String {
        match &self.service {
            Some(s) => format!("{}/{s}", self.port),
            None => self.port.to_string(),
        }
    }
}

impl Host {
    pub fn new(ip: IpAddr) -> Self {
        Host {
            ip,
            status: HostStatus::Down,
            methods: Vec::new(),
            mac: None,
            vendor: None,
            hostname: None,
            target_name: None,
            rtt_ms: None,
            rtt_min_ms: None,
            rtt_max_ms: None,
            rtt_median_ms: None,
            rtt_samples: None,
            loss_pct: None,
            icmp_sent: None,
            icmp_received: None,
            proof: None,
            arp_rtt_ms: None,
            ports: Vec::new(),
            names: Default::default(),
        }
    }

    fn seen_by(&mut self, m: Method) {
        if !self.methods.contains(&m) {
            self.methods.push(m);
            self.methods.sort();
        }
        self.status = HostStatus::Up;
    }

    pub fn open_ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.state == PortState::Open)
    }
}

/// What the user asked for, recorded so a report says what was checked and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanParameters {
    pub targets: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub ports: Option<String>,
    #[serde(default)]
    pub dns_queries: Vec<String>,
    pub timeout_ms: u64,
    pub tries: u32,
    pub concurrency: usize,
    pub ping: bool,
    pub arp: bool,
    pub resolver: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub hosts_total: usize,
    pub hosts_up: usize,
    pub hosts_down: usize,
    pub open_ports: usize,
    pub closed_ports: usize,
    pub filtered_ports: usize,
    pub dns_queries: usize,
    pub dns_failures: usize,
}

/// Progress of one phase, for progress bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseProgress {
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema_version: u32,
    pub tool: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// False when the scan was interrupted (Ctrl-C) or has not finished yet.
    pub complete: bool,
    pub interrupted: bool,
    pub parameters: ScanParameters,
    /// How ports were checked: "SYN scan" or "connect scan" (absent when no port was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_scan: Option<String>,
    pub summary: Summary,
    #[serde(with = "hosts_as_list")]
    pub hosts: BTreeMap<IpAddr, Host>,
    pub dns: Vec<DnsResult>,
    pub notes: Vec<Note>,
    /// Live progress; not part of a finished report's meaning, skipped when empty.
    #[serde(skip)]
    pub progress: BTreeMap<Phase, PhaseProgress>,
}

impl PartialOrd for Phase {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Phase {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

mod hosts_as_list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: serde::Serializer>(
        hosts: &BTreeMap<IpAddr, Host>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hosts.len()))?;
        for h in hosts.values() {
            seq.serialize_element(h)?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<IpAddr, Host>, D::Error> {
        let list = Vec::<Host>::deserialize(d)?;
        Ok(list.into_iter().map(|h| (h.ip, h)).collect())
    }
}

/// The median of `samples` (the mean of the middle two for an even count); zero for none.
fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[mid],
        _ => (sorted[mid - 1] + sorted[mid]) / 2,
    }
}

fn ms(d: Duration) -> f64 {
    // Three decimals (microsecond resolution) is what the network can honestly give.
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl Default for ScanReport {
    fn default() -> Self {
        Self::new(ScanParameters::default())
    }
}

impl ScanReport {
    pub fn new(parameters: ScanParameters) -> Self {
        ScanReport {
            schema_version: SCHEMA_VERSION,
            tool: format!("netdx {}", env!("CARGO_PKG_VERSION")),
            started_at: None,
            finished_at: None,
            complete: false,
            interrupted: false,
            parameters,
            port_scan: None,
            summary: Summary::default(),
            hosts: BTreeMap::new(),
            dns: Vec::new(),
            notes: Vec::new(),
            progress: BTreeMap::new(),
        }
    }

    fn host(&mut self, ip: IpAddr) -> &mut Host {
        self.hosts.entry(ip).or_insert_with(|| Host::new(ip))
    }

    /// Fold one engine event into the report. Pure: no I/O, no clock.
    pub fn apply(&mut self, event: ScanEvent) {
        match event {
            ScanEvent::Planned { .. } => {}
            ScanEvent::Targets(ips) => {
                for ip in ips {
                    self.host(ip);
                }
            }
            ScanEvent::Target { ip, name } => {
                let h = self.host(ip);
                if name.is_some() {
                    h.target_name = name.map(|n| clean(&n));
                }
            }
            ScanEvent::Icmp(o) => {
                let h = self.host(o.ip);
                h.icmp_sent = Some(h.icmp_sent.unwrap_or(0) + o.sent);
                h.icmp_received = Some(h.icmp_received.unwrap_or(0) + o.received);
                if let (Some(s), Some(r)) = (h.icmp_sent, h.icmp_received)
                    && s > 0
                {
                    h.loss_pct = Some(((s - r.min(s)) as f64 * 1000.0 / s as f64).round() / 10.0);
                }
                if !o.rtts.is_empty() {
                    let min = o.rtts.iter().min().copied().unwrap_or_default();
                    let max = o.rtts.iter().max().copied().unwrap_or_default();
                    let avg = o.rtts.iter().sum::<Duration>() / o.rtts.len() as u32;
                    h.rtt_ms = Some(ms(avg));
                    h.rtt_median_ms = Some(ms(median(&o.rtts)));
                    h.rtt_samples = Some(o.rtts.len() as u32);
                    h.rtt_min_ms = Some(match h.rtt_min_ms {
                        Some(m) => m.min(ms(min)),
                        None => ms(min),
                    });
                    h.rtt_max_ms = Some(match h.rtt_max_ms {
                        Some(m) => m.max(ms(max)),
                        None => ms(max),
                    });
                    h.seen_by(Method::Icmp);
                }
            }
            ScanEvent::Arp(a) => {
                let h = self.host(IpAddr::V4(a.ip));
                h.mac = Some(a.mac);
                h.vendor = crate::core::oui::vendor_label(a.mac);
                h.arp_rtt_ms = Some(ms(a.rtt));
                h.seen_by(Method::Arp);
            }
            ScanEvent::Ports { ip, results } => {
                let h = self.host(ip);
                let mut answered = false;
                for r in results {
                    answered |= r.state != PortState::Filtered;
                    let port = Port {
                        port: r.port,
                        protocol: "tcp".to_string(),
                        state: r.state,
                        service: crate::core::ports::service_name(r.port).map(str::to_string),
                        rtt_ms: r.rtt.map(ms),
                        identity: None,
                    };
                    match h.ports.binary_search_by_key(&r.port, |p| p.port) {
                        Ok(i) => {
                            let identity = h.ports[i].identity.take();
                            h.ports[i] = Port { identity, ..port };
                        }
                        Err(i) => h.ports.insert(i, port),
                    }
                }
                if answered {
                    h.seen_by(Method::Tcp);
                }
            }
            ScanEvent::Service { ip, port, id } => {
                let h = self.host(ip);
                if let Ok(i) = h.ports.binary_search_by_key(&port, |p| p.port) {
                    h.ports[i].identity = Some(*id);
                }
            }
            ScanEvent::Names { ip, names } => {
                if names.is_empty() {
                    return;
                }
                let h = self.host(ip);
                if h.proof.is_none() && h.methods.is_empty() {
                    h.proof = Some(format!("{} answered", names.protocols().join(", ")));
                }
                h.names.merge(*names);
                h.seen_by(Method::Udp);
            }
            ScanEvent::Dns(r) => {
                self.dns.push(r.sanitized());
            }
            ScanEvent::Hostname { ip, name } => {
                if let Some(n) = name {
                    self.host(ip).hostname = Some(clean(&n));
                }
            }
            ScanEvent::Alive { ip, proof, .. } => {
                let h = self.host(ip);
                if h.proof.is_none() {
                    h.proof = Some(proof.describe());
                }
                h.seen_by(proof.method());
            }
            ScanEvent::PortScan(method) => {
                self.port_scan = Some(clean(&method));
            }
            ScanEvent::Progress { phase, done, total } => {
                self.progress.insert(phase, PhaseProgress { done, total });
            }
            ScanEvent::Note { level, text } => {
                let note = Note {
                    level,
                    text: clean(&text),
                };
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
            ScanEvent::Finished { interrupted } => {
                self.interrupted = interrupted;
                self.complete = !interrupted;
                self.refresh_summary();
            }
        }
    }

    /// Recount the summary field. O(hosts + ports), so it runs when the scan finishes (and
    /// before a report is written), not on every event: a /16 sweep folds 65,536 events.
    pub fn refresh_summary(&mut self) {
        self.summary = self.compute_summary();
    }

    /// The summary recounted from the hosts and DNS results themselves. Writers use this
    /// rather than the stored field: a report read from disk may carry a summary that does
    /// not match its contents.
    pub fn compute_summary(&self) -> Summary {
        let mut s = Summary {
            hosts_total: self.hosts.len(),
            dns_queries: self.dns.len(),
            dns_failures: self
                .dns
                .iter()
                .filter(|d| d.status != DnsStatus::NoError)
                .count(),
            ..Summary::default()
        };
        for h in self.hosts.values() {
            match h.status {
                HostStatus::Up => s.hosts_up += 1,
                HostStatus::Down => s.hosts_down += 1,
            }
            for p in &h.ports {
                match p.state {
                    PortState::Open => s.open_ports += 1,
                    PortState::Closed => s.closed_ports += 1,
                    PortState::Filtered => s.filtered_ports += 1,
                }
            }
        }
        s
    }

    pub fn hosts_up(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values().filter(|h| h.status == HostStatus::Up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_robust_to_one_inflated_echo() {
        let d = |v: &[u64]| {
            v.iter()
                .map(|&u| Duration::from_micros(u))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            median(&d(&[300, 310, 90_000, 290, 305])),
            Duration::from_micros(305)
        );
        assert_eq!(median(&d(&[400, 200])), Duration::from_micros(300));
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn icmp_outcome_records_median_and_sample_count() {
        let ip = IpAddr::from([10, 0, 0, 1]);
        let mut r = ScanReport::new(ScanParameters::default());
        r.apply(ScanEvent::Icmp(crate::core::event::IcmpOutcome {
            ip,
            sent: 5,
            received: 4,
            rtts: [1000, 1200, 40_000, 1100]
                .iter()
                .map(|&u| Duration::from_micros(u))
                .collect(),
        }));
        let h = &r.hosts[&ip];
        assert_eq!(h.rtt_samples, Some(4));
        assert_eq!(h.rtt_median_ms, Some(1.15));
        assert_eq!(h.rtt_ms, Some(10.825));
    }

    #[test]
    fn a_name_answer_proves_a_host_up_and_sections_accumulate() {
        use crate::core::names::{HostNames, NetbiosInfo, SnmpInfo};
        let ip = IpAddr::from([10, 0, 0, 2]);
        let mut r = ScanReport::new(ScanParameters::default());
        r.apply(ScanEvent::Targets(vec![ip]));
        r.apply(ScanEvent::Names {
            ip,
            names: Box::default(),
        });
        assert_eq!(r.hosts[&ip].status, HostStatus::Down, "nothing answered");
        r.apply(ScanEvent::Names {
            ip,
            names: Box::new(HostNames {
                netbios: Some(NetbiosInfo {
                    name: Some("NAS01".into()),
                    ..Default::default()
                }),
                snmp: Some(SnmpInfo {
                    sys_name: Some("nas".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        });
        let h = &r.hosts[&ip];
        assert_eq!(h.status, HostStatus::Up);
        assert_eq!(h.methods, vec![Method::Udp]);
        assert_eq!(h.proof.as_deref(), Some("NetBIOS, SNMP answered"));
        assert_eq!(h.names.best_name(), Some("NAS01"));
        let json = serde_json::to_value(h).unwrap();
        assert_eq!(json["names"]["netbios"]["name"], "NAS01");
        assert_eq!(json["methods"], serde_json::json!(["udp"]));
        // A host without names has no `names` key at all.
        let other = serde_json::to_value(Host::new(ip)).unwrap();
        assert!(other.get("names").is_none());
    }
}
