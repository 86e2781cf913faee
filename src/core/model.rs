//! The scan report: one model, built from engine events by a pure reducer
//! ([`ScanReport::apply`]) and read by every view (summary table, dashboard, report writers).
//!
//! Strings that arrive from the network are cleaned with [`crate::core::sanitize::clean`] here, once,
//! so no consumer has to remember to do it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::core::portset::PortSet;
use crate::core::sanitize::clean;

/// Version of the JSON report layout; bumped on any incompatible change so that older
/// readers can refuse a newer report instead of misreading it.
///
/// 2: closed and filtered ports are range sets (`closed_ports`, `filtered_ports`) and
/// `ports` lists open ports only; a host that never answered is `no_answer` (or
/// `not_probed` in an interrupted scan) instead of `down`, which now means "was up and
/// stopped answering"; `loss_pct` is null when the host drops pings (`ping_blocked`).
/// [`ScanReport::upgrade`] reads version 1.
pub const SCHEMA_VERSION: u32 = 2;

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

/// The JSON form, as [`fmt::Display`] writes it: six lowercase hex pairs joined by colons
/// (the reader also takes upper case and dashes, the schema describes what is written).
impl JsonSchema for MacAddr {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MacAddr".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": MAC_PATTERN,
        })
    }
}

/// A MAC address as reports write it, for schemas (also for MACs kept as strings).
pub const MAC_PATTERN: &str = "^[0-9a-f]{2}(:[0-9a-f]{2}){5}$";

/// How a host was seen alive.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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

/// What a scan can honestly say about an address.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Something answered.
    Up,
    /// Was up and stopped answering: only monitoring (the dashboard, repeated rounds) can
    /// see a host go down.
    Down,
    /// Probed, and nothing answered: most often an unused address, or a host that drops
    /// everything. Not "down": nothing says it was ever there.
    NoAnswer,
    /// Not probed: the scan was interrupted before it got to this address, or before the
    /// probes it had started there ran their course (an echo series in flight says nothing
    /// yet). Nothing is claimed about it.
    NotProbed,
}

impl HostStatus {
    /// The words every view uses.
    pub fn label(self) -> &'static str {
        match self {
            HostStatus::Up => "up",
            HostStatus::Down => "down",
            HostStatus::NoAnswer => "no answer",
            HostStatus::NotProbed => "not probed",
        }
    }
}

/// nmap's vocabulary, which technicians already know: `open` accepted the connection,
/// `closed` answered with a reset, `filtered` gave no answer (or an ICMP unreachable).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
    /// Which certificate authorities may issue for the name.
    CAA,
    /// Whatever the server holds for the name (many servers answer it minimally, RFC 8482).
    ANY,
    HTTPS,
    SVCB,
    NAPTR,
    SSHFP,
    TLSA,
    DS,
    DNSKEY,
}

impl RecordType {
    pub const ALL: [RecordType; 18] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::MX,
        RecordType::TXT,
        RecordType::CNAME,
        RecordType::NS,
        RecordType::SOA,
        RecordType::PTR,
        RecordType::SRV,
        RecordType::CAA,
        RecordType::ANY,
        RecordType::HTTPS,
        RecordType::SVCB,
        RecordType::NAPTR,
        RecordType::SSHFP,
        RecordType::TLSA,
        RecordType::DS,
        RecordType::DNSKEY,
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
            RecordType::CAA => "CAA",
            RecordType::ANY => "ANY",
            RecordType::HTTPS => "HTTPS",
            RecordType::SVCB => "SVCB",
            RecordType::NAPTR => "NAPTR",
            RecordType::SSHFP => "SSHFP",
            RecordType::TLSA => "TLSA",
            RecordType::DS => "DS",
            RecordType::DNSKEY => "DNSKEY",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown DNS record type '{0}' (use A, AAAA, MX, TXT, CNAME, NS, SOA, PTR, SRV, CAA, ANY, \
     HTTPS, SVCB, NAPTR, SSHFP, TLSA, DS or DNSKEY)"
)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DnsAnswer {
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
    pub ttl: u32,
}

/// One DNS question and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DnsResult {
    /// The name asked for, as typed (or the reverse name for a PTR).
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub status: DnsStatus,
    pub answers: Vec<DnsAnswer>,
    /// The server that answered (`ip:port`), when known.
    pub server: Option<String>,
    /// Milliseconds from the query to the answer; null when nothing answered.
    #[schemars(range(min = 0))]
    pub rtt_ms: Option<f64>,
    /// Why the query failed, when `status` is TIMEOUT or ERROR (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Sanity checks of the answer (dangling CNAME, stale address, resolvers that disagree,
    /// PTR mismatch); empty when nothing is wrong or nothing was checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<DnsFinding>,
}

/// What a DNS sanity check found wrong with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DnsFindingKind {
    /// A CNAME whose target does not exist.
    Dangling,
    /// An address record pointing at an address where nothing answers.
    Stale,
    /// The configured resolvers give different answers.
    Disagree,
    /// The PTR record of an address does not name the forward name.
    PtrMismatch,
}

impl DnsFindingKind {
    /// The word a table or a pane shows.
    pub fn label(self) -> &'static str {
        match self {
            DnsFindingKind::Dangling => "dangling",
            DnsFindingKind::Stale => "stale",
            DnsFindingKind::Disagree => "resolvers disagree",
            DnsFindingKind::PtrMismatch => "PTR mismatch",
        }
    }
}

/// One DNS sanity finding: its kind and one plain sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DnsFinding {
    pub kind: DnsFindingKind,
    pub text: String,
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
            findings: Vec::new(),
        }
    }

    /// Clean every string that came off the wire.
    pub(crate) fn sanitized(mut self) -> Self {
        self.name = clean(&self.name);
        for a in &mut self.answers {
            a.rtype = clean(&a.rtype);
            a.value = clean(&a.value);
        }
        self.error = self.error.map(|e| clean(&e));
        for f in &mut self.findings {
            f.text = clean(&f.text);
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoteLevel {
    Info,
    Warn,
    Error,
}

/// Something the user must know about the scan as a whole: a method that could not run and
/// how to enable it, a target that did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    pub level: NoteLevel,
    pub text: String,
}

/// One open port, with what is known of it. Closed and filtered ports are kept in a
/// host's [`PortSet`]s instead: a count and ranges say all there is to say about them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Port {
    /// The TCP port number.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Only TCP ports are checked.
    #[schemars(extend("const" = "tcp"))]
    pub protocol: String,
    /// Always `open` in a written report: closed and filtered ports are in the host's range
    /// sets. (Schema 1 listed every state here; the reader still takes that.)
    #[schemars(extend("const" = "open"))]
    pub state: PortState,
    /// The well-known service for the port number (`ssh` for 22), not what answered: see
    /// `identity` for that. Null when the port has no well-known service.
    pub service: Option<String>,
    /// Milliseconds to the connection's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub rtt_ms: Option<f64>,
    /// What the service on an open port said about itself (absent when not identified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::core::identity::ServiceId>,
}

/// One target address and everything learnt about it. Strings that came from the network
/// (names, banners, vendors' words) are cleaned of control and invisible characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(from = "wire::HostWire")]
// The schema describes what netdx writes; the reader's wider input (schema 1) is HostWire's.
#[schemars(!from)]
pub struct Host {
    /// The address, IPv4 or IPv6.
    pub ip: IpAddr,
    pub status: HostStatus,
    /// Every method that saw the host alive, in a fixed order (icmp, arp, tcp, udp); empty
    /// when nothing answered.
    #[schemars(extend("uniqueItems" = true))]
    pub methods: Vec<Method>,
    /// The host's MAC, from ARP or the neighbour table (on the local segment only).
    pub mac: Option<MacAddr>,
    /// Vendor from the IEEE OUI table, or "(locally administered)" for randomised MACs.
    pub vendor: Option<String>,
    /// The reverse-DNS (PTR) name.
    pub hostname: Option<String>,
    /// The name the user typed, when the target was given as a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Average ICMP round trip, in milliseconds.
    #[schemars(range(min = 0))]
    pub rtt_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub rtt_min_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub rtt_max_ms: Option<f64>,
    /// Median ICMP round trip: one inflated echo (a busy host, a queue on the way) moves the
    /// average but not this, so comparisons between scans use it. Absent in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub rtt_median_ms: Option<f64>,
    /// How many echo replies `rtt_ms` and `rtt_median_ms` are computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_samples: Option<u32>,
    /// Percentage of ICMP echoes that got no reply, when ICMP was used. Null without echoes,
    /// and when the host is up but drops pings (`ping_blocked`): its loss is not 100 %, it
    /// is unknown.
    #[schemars(range(min = 0, max = 100))]
    pub loss_pct: Option<f64>,
    /// Up (by ARP or TCP) but no echo was ever answered: a firewall drops pings. Written
    /// (only when true) so a reader of the JSON knows why `loss_pct` is null.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("const" = true))]
    pub ping_blocked: bool,
    /// Echo requests sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_sent: Option<u32>,
    /// Echo replies received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_received: Option<u32>,
    /// What proved the host up when neither an echo reply nor ARP did ("TCP ACK to port 80
    /// answered with a reset").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Time of the ARP reply in milliseconds, when found by ARP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub arp_rtt_ms: Option<f64>,
    /// Open ports, ascending. (Reports of schema 1 listed every state here; the reader
    /// moves closed and filtered ones to the sets below.)
    pub ports: Vec<Port>,
    /// Ports that gave no answer (or an ICMP unreachable); absent when none.
    #[serde(default, skip_serializing_if = "PortSet::is_empty")]
    pub filtered_ports: PortSet,
    /// Ports that answered with a reset; absent when none.
    #[serde(default, skip_serializing_if = "PortSet::is_empty")]
    pub closed_ports: PortSet,
    /// What kind of device this is, with the evidence (absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<crate::core::devtype::DeviceType>,
    /// What the host said about itself in mDNS, NetBIOS, SSDP/UPnP and SNMP.
    #[serde(
        default,
        skip_serializing_if = "crate::core::names::HostNames::is_empty"
    )]
    pub names: crate::core::names::HostNames,
    /// The other addresses of this report with the same MAC: one device's IPv4 and IPv6
    /// addresses, ascending; absent when none (set when the scan finishes, by
    /// `link_same_device`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("uniqueItems" = true))]
    pub same_device: Vec<IpAddr>,
}

/// Link the hosts that share a MAC: each gets the others' addresses in `same_device`
/// (ascending), so a device's IPv4 and IPv6 addresses are one device in every view. Only
/// MACs of this report count (the kernel's tables are not consulted here), and a MAC seen on
/// one address only links nothing. A proxy-ARP router answering for many addresses would
/// link them all: the field says "same MAC", which is what it is.
pub fn link_same_device(hosts: &mut BTreeMap<IpAddr, Host>) {
    let mut by_mac: HashMap<MacAddr, Vec<IpAddr>> = HashMap::new();
    for h in hosts.values() {
        if let Some(mac) = h.mac {
            by_mac.entry(mac).or_default().push(h.ip);
        }
    }
    for h in hosts.values_mut() {
        h.same_device = match h.mac.and_then(|m| by_mac.get(&m)) {
            Some(ips) => ips.iter().copied().filter(|ip| *ip != h.ip).collect(),
            None => Vec::new(),
        };
    }
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
            status: HostStatus::NotProbed,
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
            ping_blocked: false,
            icmp_sent: None,
            icmp_received: None,
            proof: None,
            arp_rtt_ms: None,
            ports: Vec::new(),
            filtered_ports: PortSet::new(),
            closed_ports: PortSet::new(),
            device: None,
            names: Default::default(),
            same_device: Vec::new(),
        }
    }

    /// Some probe went out to this host (and, for a silent host, ran its course).
    pub(crate) fn probed(&mut self) {
        if self.status == HostStatus::NotProbed {
            self.status = HostStatus::NoAnswer;
        }
    }

    /// Record the state of one port, replacing what was known of it.
    pub fn set_port(&mut self, port: u16, state: PortState, rtt_ms: Option<f64>) {
        self.filtered_ports.remove(port);
        self.closed_ports.remove(port);
        let listed = self.ports.binary_search_by_key(&port, |p| p.port);
        match (state, listed) {
            (PortState::Open, Ok(i)) => self.ports[i].rtt_ms = rtt_ms,
            (PortState::Open, Err(i)) => self.ports.insert(
                i,
                Port {
                    port,
                    protocol: "tcp".to_string(),
                    state,
                    service: crate::core::ports::service_name(port).map(str::to_string),
                    rtt_ms,
                    identity: None,
                },
            ),
            (_, Ok(i)) => {
                self.ports.remove(i);
            }
            (_, Err(_)) => {}
        }
        match state {
            PortState::Open => {}
            PortState::Closed => {
                self.closed_ports.insert(port);
            }
            PortState::Filtered => {
                self.filtered_ports.insert(port);
            }
        }
    }

    /// The state of `port`, if it was checked.
    pub fn port_state(&self, port: u16) -> Option<PortState> {
        if self.ports.binary_search_by_key(&port, |p| p.port).is_ok() {
            Some(PortState::Open)
        } else if self.closed_ports.contains(port) {
            Some(PortState::Closed)
        } else if self.filtered_ports.contains(port) {
            Some(PortState::Filtered)
        } else {
            None
        }
    }

    /// How many ports are in `state`.
    pub fn port_count(&self, state: PortState) -> usize {
        match state {
            PortState::Open => self.ports.len(),
            PortState::Closed => self.closed_ports.len(),
            PortState::Filtered => self.filtered_ports.len(),
        }
    }

    /// Whether any port of this host was checked.
    pub fn ports_checked(&self) -> bool {
        !self.ports.is_empty() || !self.closed_ports.is_empty() || !self.filtered_ports.is_empty()
    }

    /// Every checked port with its state, ascending. Walks closed ranges port by port: for
    /// views that show each port (CSV, diff), not for counting.
    pub fn port_states(&self) -> impl Iterator<Item = (u16, PortState)> + '_ {
        let mut all: Vec<(u16, PortState)> = self
            .ports
            .iter()
            .map(|p| (p.port, PortState::Open))
            .chain(self.filtered_ports.iter().map(|p| (p, PortState::Filtered)))
            .collect();
        all.sort_unstable();
        let closed = self.closed_ports.iter().map(|p| (p, PortState::Closed));
        MergeByPort {
            a: all.into_iter().peekable(),
            b: closed.peekable(),
        }
    }

    /// Up, yet no echo answered although echoes were sent: a firewall drops pings. Such a
    /// host has no loss figure (100 % would say the network loses its packets).
    pub fn ping_blocked(&self) -> bool {
        self.status == HostStatus::Up
            && !self.methods.contains(&Method::Icmp)
            && self.icmp_sent.unwrap_or(0) > 0
            && self.icmp_received.unwrap_or(0) == 0
    }

    /// Bring derived fields in line with the facts: `ping_blocked` and a null loss for it.
    /// Also moves any closed or filtered entry of `ports` (as schema 1 listed them, or as a
    /// hand-built host may) into its set.
    pub fn settle(&mut self) {
        if self.ports.iter().any(|p| p.state != PortState::Open) {
            let listed = std::mem::take(&mut self.ports);
            for p in listed {
                match p.state {
                    PortState::Open => self.ports.push(p),
                    PortState::Closed => {
                        self.closed_ports.insert(p.port);
                    }
                    PortState::Filtered => {
                        self.filtered_ports.insert(p.port);
                    }
                }
            }
        }
        self.ping_blocked = self.ping_blocked();
        if self.ping_blocked {
            self.loss_pct = None;
        } else if self.loss_pct.is_none()
            && let (Some(s), Some(r)) = (self.icmp_sent, self.icmp_received)
            && s > 0
        {
            self.loss_pct = Some(loss_pct(s, r));
        }
    }

    /// The round trip a view shows and sorts by: the ICMP average, else the ARP reply time.
    pub fn shown_rtt_ms(&self) -> Option<f64> {
        self.rtt_ms.or(self.arp_rtt_ms)
    }

    pub(crate) fn seen_by(&mut self, m: Method) {
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

/// Reading a host as any schema wrote it: schema 1 listed every port in `ports` (a `-p all`
/// scan of a /24, 1.3 million entries); they are folded into the sets while the list is read,
/// so no port struct is ever built for a closed port.
mod wire {
    use super::*;

    /// `ports` as read: the open ports, and the others already as sets.
    #[derive(Default)]
    pub struct PortsWire {
        open: Vec<Port>,
        closed: PortSet,
        filtered: PortSet,
    }

    impl<'de> Deserialize<'de> for PortsWire {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = PortsWire;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of ports")
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<PortsWire, A::Error> {
                    let mut w = PortsWire::default();
                    while let Some(p) = seq.next_element::<Port>()? {
                        match p.state {
                            PortState::Open => w.open.push(p),
                            PortState::Closed => {
                                w.closed.insert(p.port);
                            }
                            PortState::Filtered => {
                                w.filtered.insert(p.port);
                            }
                        }
                    }
                    w.open.sort_by_key(|p| p.port);
                    w.open.dedup_by_key(|p| p.port);
                    Ok(w)
                }
            }
            d.deserialize_seq(Visit)
        }
    }

    /// [`Host`]'s fields as read; see [`Host`] for what each means.
    #[derive(Deserialize)]
    pub struct HostWire {
        ip: IpAddr,
        status: HostStatus,
        methods: Vec<Method>,
        mac: Option<MacAddr>,
        vendor: Option<String>,
        hostname: Option<String>,
        #[serde(default)]
        target_name: Option<String>,
        rtt_ms: Option<f64>,
        #[serde(default)]
        rtt_min_ms: Option<f64>,
        #[serde(default)]
        rtt_max_ms: Option<f64>,
        #[serde(default)]
        rtt_median_ms: Option<f64>,
        #[serde(default)]
        rtt_samples: Option<u32>,
        loss_pct: Option<f64>,
        #[serde(default)]
        ping_blocked: bool,
        #[serde(default)]
        icmp_sent: Option<u32>,
        #[serde(default)]
        icmp_received: Option<u32>,
        #[serde(default)]
        proof: Option<String>,
        #[serde(default)]
        arp_rtt_ms: Option<f64>,
        ports: PortsWire,
        #[serde(default)]
        filtered_ports: PortSet,
        #[serde(default)]
        closed_ports: PortSet,
        #[serde(default)]
        device: Option<crate::core::devtype::DeviceType>,
        #[serde(default)]
        names: crate::core::names::HostNames,
        #[serde(default)]
        same_device: Vec<IpAddr>,
    }

    impl From<HostWire> for Host {
        fn from(w: HostWire) -> Host {
            let mut closed = w.closed_ports;
            let mut filtered = w.filtered_ports;
            for &(a, b) in w.ports.closed.ranges() {
                closed.insert_range(a, b);
            }
            for &(a, b) in w.ports.filtered.ranges() {
                filtered.insert_range(a, b);
            }
            Host {
                ip: w.ip,
                status: w.status,
                methods: w.methods,
                mac: w.mac,
                vendor: w.vendor,
                hostname: w.hostname,
                target_name: w.target_name,
                rtt_ms: w.rtt_ms,
                rtt_min_ms: w.rtt_min_ms,
                rtt_max_ms: w.rtt_max_ms,
                rtt_median_ms: w.rtt_median_ms,
                rtt_samples: w.rtt_samples,
                loss_pct: w.loss_pct,
                ping_blocked: w.ping_blocked,
                icmp_sent: w.icmp_sent,
                icmp_received: w.icmp_received,
                proof: w.proof,
                arp_rtt_ms: w.arp_rtt_ms,
                ports: w.ports.open,
                filtered_ports: filtered,
                closed_ports: closed,
                device: w.device,
                names: w.names,
                same_device: w.same_device,
            }
        }
    }
}

/// Two ascending `(port, state)` streams merged (they never share a port).
struct MergeByPort<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> Iterator for MergeByPort<A, B>
where
    A: Iterator<Item = (u16, PortState)>,
    B: Iterator<Item = (u16, PortState)>,
{
    type Item = (u16, PortState);
    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if x.0 <= y.0 => self.a.next(),
            (Some(_), Some(_)) => self.b.next(),
            (Some(_), None) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

/// Percentage of `sent` echoes without a reply, to one decimal.
pub(crate) fn loss_pct(sent: u32, received: u32) -> f64 {
    ((sent - received.min(sent)) as f64 * 1000.0 / sent as f64).round() / 10.0
}

/// What the user asked for, recorded so a report says what was checked and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanParameters {
    /// The targets as given: addresses, blocks, ranges, names.
    pub targets: Vec<String>,
    /// What was left out (--exclude).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The port list as given (`22,80`, `top100`, `all`); null when no port was checked.
    pub ports: Option<String>,
    /// The DNS questions asked, as given (`example.test:MX`).
    #[serde(default)]
    pub dns_queries: Vec<String>,
    pub timeout_ms: u64,
    pub tries: u32,
    /// Probes in flight at once; 0 = derived from the open-file limit.
    pub concurrency: usize,
    /// Whether hosts were pinged (ICMP echo).
    pub ping: bool,
    /// Whether ARP was used on the local segment.
    pub arp: bool,
    /// The DNS server asked (`ip:port`); null for the system's resolvers.
    pub resolver: Option<String>,
}

/// The report's counts, so a reader need not count (netdx itself recounts from the hosts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub hosts_total: usize,
    pub hosts_up: usize,
    /// Hosts that were up and stopped answering (monitoring exports only). In schema 1 this
    /// counted every address without an answer; the reader moves that figure to
    /// `hosts_no_answer`.
    pub hosts_down: usize,
    /// Addresses probed without any answer.
    #[serde(default)]
    pub hosts_no_answer: usize,
    /// Addresses an interrupted scan never probed.
    #[serde(default)]
    pub hosts_not_probed: usize,
    pub open_ports: usize,
    pub closed_ports: usize,
    pub filtered_ports: usize,
    pub dns_queries: usize,
    /// DNS queries whose status is not NOERROR.
    pub dns_failures: usize,
}

/// Progress of one phase, for progress bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseProgress {
    pub done: u64,
    pub total: u64,
}

/// What netdx found: hosts (status, discovery methods, MAC and vendor, names, latency, TCP
/// ports, service identity, device type) and DNS answers, with the parameters that say what
/// was checked and how. `netdx scan -o FILE.json` and `--json` write it, the dashboard exports
/// it, and `netdx report`, `diff` and `history` read it back.
///
/// `schema_version` is bumped on any incompatible change, so a reader can refuse a newer
/// report instead of misreading it; fields added without a bump are optional to readers.
/// Version 2: `ports` lists open ports only, closed and filtered ports are range sets
/// (`closed_ports`, `filtered_ports`); `status` is `no_answer` or `not_probed` for silent
/// addresses, `down` only for a host that was up and stopped answering; `loss_pct` is null
/// and `ping_blocked` true for a host up by ARP or TCP that answers no echo. netdx reads
/// version 1 reports too and converts them; this schema describes version 2, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "netdx scan report")]
pub struct ScanReport {
    /// The layout version (see above); a reader refuses a newer one.
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub schema_version: u32,
    /// `netdx` and its version.
    pub tool: String,
    /// When the scan started (RFC 3339); null in a report built without a clock.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    /// When the scan ended (RFC 3339); null while it runs.
    #[schemars(extend("format" = "date-time"))]
    pub finished_at: Option<String>,
    /// False when the scan was interrupted (Ctrl-C) or has not finished yet.
    pub complete: bool,
    /// Stopped by Ctrl-C or SIGTERM: what was found is still written, and unprobed
    /// addresses are `not_probed`.
    pub interrupted: bool,
    pub parameters: ScanParameters,
    /// How ports were checked: "SYN scan" or "connect scan" (absent when no port was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_scan: Option<String>,
    /// The scanning machine's default gateway, when it was among the targets (a fact used to
    /// call that host a router).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    pub summary: Summary,
    /// Every target address, ascending, whether it answered or not.
    #[serde(with = "hosts_as_list")]
    #[schemars(with = "Vec<Host>")]
    pub hosts: BTreeMap<IpAddr, Host>,
    /// The answers to the DNS questions asked (--dns), in the order asked.
    pub dns: Vec<DnsResult>,
    /// What the user must know about the scan as a whole.
    pub notes: Vec<Note>,
    /// What changed since netdx last saw these devices (from the inventory, or earlier
    /// dashboard rounds), and what the LAN safety checks found wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::core::alert::Alert>,
    /// The LAN safety checks (DHCP servers, duplicate IPs, gateway claims, IPv6 routers, switch
    /// port), when they ran with the scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lan: Option<crate::core::lan::LanReport>,
    /// Live progress; not part of a finished report's meaning, skipped when empty.
    #[serde(skip)]
    pub progress: BTreeMap<Phase, PhaseProgress>,
    /// Hosts whose facts (MAC, open ports, services, names) changed since their device type
    /// was last decided: a monitoring round that changes nothing re-types nothing.
    #[serde(skip)]
    untyped: std::collections::BTreeSet<IpAddr>,
}

/// Which part of a scan a progress figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Resolve,
    Arp,
    Ping,
    Ports,
    Dns,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Arp => "arp",
            Phase::Ping => "ping",
            Phase::Ports => "ports",
            Phase::Dns => "dns",
        }
    }
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
pub(crate) fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[mid],
        _ => (sorted[mid - 1] + sorted[mid]) / 2,
    }
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
            gateway: None,
            summary: Summary::default(),
            hosts: BTreeMap::new(),
            dns: Vec::new(),
            notes: Vec::new(),
            alerts: Vec::new(),
            lan: None,
            progress: BTreeMap::new(),
            untyped: Default::default(),
        }
    }

    /// Mark a host whose facts changed, for [`ScanReport::classify_devices`] to re-type.
    pub(crate) fn untype(&mut self, ip: IpAddr) {
        self.untyped.insert(ip);
    }

    pub(crate) fn host(&mut self, ip: IpAddr) -> &mut Host {
        self.hosts.entry(ip).or_insert_with(|| Host::new(ip))
    }

    /// Decide each live host's device type from everything seen of it (run when the facts
    /// are in: at the end of a scan, interrupted or not).
    pub fn classify_devices(&mut self) {
        let gateway = self.gateway;
        for ip in std::mem::take(&mut self.untyped) {
            if let Some(h) = self.hosts.get_mut(&ip)
                && h.status == HostStatus::Up
            {
                h.device = crate::core::devtype::classify(&crate::core::devtype::facts(h, gateway));
            }
        }
    }

    /// Recount the summary field. O(hosts + ports), so it runs when the scan finishes (and
    /// before a report is written), not on every event: a /16 sweep folds 65,536 events.
    pub fn refresh_summary(&mut self) {
        for h in self.hosts.values_mut() {
            h.settle();
        }
        self.summary = self.compute_summary();
    }

    /// Bring a report read from disk to the current schema. Version 1 listed closed and
    /// filtered ports one by one (moved into the sets when the hosts were read) and called
    /// every silent address `down`: in a scan report that meant "no answer" (a dashboard
    /// export's went-down host cannot be told apart any more; it reads as no answer too).
    pub fn upgrade(&mut self) {
        if self.schema_version < 2 {
            for h in self.hosts.values_mut() {
                if h.status == HostStatus::Down {
                    h.status = HostStatus::NoAnswer;
                }
            }
            self.summary.hosts_no_answer += self.summary.hosts_down;
            self.summary.hosts_down = 0;
        }
        for h in self.hosts.values_mut() {
            h.settle();
        }
        self.schema_version = SCHEMA_VERSION;
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
                HostStatus::NoAnswer => s.hosts_no_answer += 1,
                HostStatus::NotProbed => s.hosts_not_probed += 1,
            }
            s.open_ports += h.port_count(PortState::Open);
            s.closed_ports += h.port_count(PortState::Closed);
            s.filtered_ports += h.port_count(PortState::Filtered);
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
    use crate::core::event::ScanEvent;

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

    fn ipn(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    fn echo(ip: IpAddr, sent: u32, rtts_us: &[u64]) -> ScanEvent {
        ScanEvent::Icmp(crate::core::event::IcmpOutcome {
            ip,
            sent,
            received: rtts_us.len() as u32,
            rtts: rtts_us.iter().map(|&u| Duration::from_micros(u)).collect(),
        })
    }

    #[test]
    fn an_interrupted_scan_leaves_unprobed_addresses_not_probed() {
        let mut r = ScanReport::default();
        r.apply(ScanEvent::Targets((1..=4).map(ipn).collect()));
        r.apply(echo(ipn(1), 1, &[300]));
        r.apply(echo(ipn(2), 5, &[]));
        r.apply(ScanEvent::Finished { interrupted: true });
        let st = |n| r.hosts[&ipn(n)].status;
        assert_eq!(
            [st(1), st(2), st(3), st(4)],
            [
                HostStatus::Up,
                HostStatus::NoAnswer,
                HostStatus::NotProbed,
                HostStatus::NotProbed
            ]
        );
        assert_eq!(
            (
                r.summary.hosts_up,
                r.summary.hosts_no_answer,
                r.summary.hosts_not_probed,
                r.summary.hosts_down
            ),
            (1, 1, 2, 0)
        );
        // A scan that ran to its end probed every address.
        let mut r = ScanReport::default();
        r.apply(ScanEvent::Targets(vec![ipn(3)]));
        r.apply(ScanEvent::Finished { interrupted: false });
        assert_eq!(r.hosts[&ipn(3)].status, HostStatus::NoAnswer);
    }

    #[test]
    fn a_host_up_by_arp_that_drops_pings_has_no_loss_figure() {
        let mut r = ScanReport::default();
        let ip = ipn(9);
        r.apply(echo(ip, 5, &[]));
        r.apply(ScanEvent::Arp(crate::core::event::ArpOutcome {
            ip: std::net::Ipv4Addr::new(10, 0, 0, 9),
            mac: MacAddr([2, 0, 0, 0, 0, 9]),
            rtt: Duration::from_micros(200),
        }));
        r.apply(ScanEvent::Finished { interrupted: false });
        let h = &r.hosts[&ip];
        assert!(h.ping_blocked && h.loss_pct.is_none(), "{h:?}");
        let j = serde_json::to_value(h).unwrap();
        assert_eq!(j["ping_blocked"], true);
        assert!(j["loss_pct"].is_null());
        // A silent address keeps its measured loss: nothing was found to block anything.
        let mut r = ScanReport::default();
        r.apply(echo(ip, 5, &[]));
        r.apply(ScanEvent::Finished { interrupted: false });
        assert_eq!(r.hosts[&ip].loss_pct, Some(100.0));
        assert!(!r.hosts[&ip].ping_blocked);
    }

    #[test]
    fn port_results_move_between_the_open_list_and_the_sets() {
        let mut h = Host::new(ipn(1));
        for p in 1..=100 {
            h.set_port(p, PortState::Closed, None);
        }
        h.set_port(22, PortState::Open, Some(0.2));
        h.set_port(80, PortState::Filtered, None);
        assert_eq!(h.closed_ports.to_string(), "1-21,23-79,81-100");
        assert_eq!(h.filtered_ports.to_string(), "80");
        assert_eq!(h.ports.len(), 1);
        assert_eq!(h.ports[0].service.as_deref(), Some("ssh"));
        assert_eq!(h.port_state(22), Some(PortState::Open));
        assert_eq!(h.port_state(80), Some(PortState::Filtered));
        assert_eq!(h.port_state(101), None);
        h.set_port(22, PortState::Closed, None);
        assert!(h.ports.is_empty());
        assert_eq!(h.closed_ports.to_string(), "1-79,81-100");
        let states: Vec<(u16, PortState)> = h.port_states().collect();
        assert_eq!(states.len(), 100);
        assert_eq!(states[79], (80, PortState::Filtered));
        assert!(states.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn a_schema_1_host_is_read_into_the_sets_and_its_down_is_no_answer() {
        let v1 = r#"{"schema_version":1,"tool":"netdx 0.1.0","started_at":null,"finished_at":null,
            "complete":true,"interrupted":false,"parameters":{"targets":[],"timeout_ms":1,"tries":1,
            "concurrency":0,"ping":true,"arp":true,"ports":null,"resolver":null},
            "summary":{"hosts_total":2,"hosts_up":1,"hosts_down":1,"open_ports":1,"closed_ports":2,
            "filtered_ports":1,"dns_queries":0,"dns_failures":0},
            "hosts":[{"ip":"10.0.0.1","status":"up","methods":["icmp"],"mac":null,"vendor":null,
              "hostname":null,"rtt_ms":0.3,"loss_pct":0.0,"ports":[
                {"port":21,"protocol":"tcp","state":"closed","service":"ftp"},
                {"port":22,"protocol":"tcp","state":"open","service":"ssh","rtt_ms":0.2},
                {"port":23,"protocol":"tcp","state":"closed","service":"telnet"},
                {"port":3306,"protocol":"tcp","state":"filtered","service":"mysql"}]},
              {"ip":"10.0.0.2","status":"down","methods":[],"mac":null,"vendor":null,
              "hostname":null,"rtt_ms":null,"loss_pct":100.0,"ports":[]}],
            "dns":[],"notes":[]}"#;
        let mut r: ScanReport = serde_json::from_str(v1).unwrap();
        r.upgrade();
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        let h = &r.hosts[&ipn(1)];
        assert_eq!(h.ports.len(), 1);
        assert_eq!(h.closed_ports.to_string(), "21,23");
        assert_eq!(h.filtered_ports.to_string(), "3306");
        assert_eq!(r.hosts[&ipn(2)].status, HostStatus::NoAnswer);
        assert_eq!((r.summary.hosts_down, r.summary.hosts_no_answer), (0, 1));
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

    /// A device type is decided again only when the host's facts changed: a monitoring
    /// round (echo, the same ARP reply) re-types nothing; new open ports do.
    #[test]
    fn device_types_follow_changed_facts_only() {
        use crate::core::event::{ArpOutcome, PortOutcome};
        let ip = IpAddr::from([10, 0, 0, 70]);
        let arp = ArpOutcome {
            ip: std::net::Ipv4Addr::new(10, 0, 0, 70),
            mac: MacAddr([0, 0x1b, 0x21, 0, 0, 0x70]),
            rtt: Duration::from_micros(300),
        };
        let open = |port| PortOutcome {
            port,
            state: PortState::Open,
            rtt: None,
        };
        let mut r = ScanReport::new(ScanParameters::default());
        r.apply(ScanEvent::Targets(vec![ip]));
        r.apply(ScanEvent::Arp(arp.clone()));
        r.apply(ScanEvent::Ports {
            ip,
            results: vec![open(631), open(9100)],
        });
        r.apply(ScanEvent::Finished { interrupted: false });
        assert_eq!(
            r.hosts[&ip].device.as_ref().map(|d| d.kind.as_str()),
            Some("printer")
        );
        // Forget the type; a round with nothing new must not decide it again.
        if let Some(h) = r.hosts.get_mut(&ip) {
            h.device = None;
        }
        r.apply(ScanEvent::Arp(arp));
        r.apply(ScanEvent::Finished { interrupted: false });
        assert_eq!(r.hosts[&ip].device, None, "re-typed without a new fact");
        r.apply(ScanEvent::Ports {
            ip,
            results: vec![open(515)],
        });
        r.apply(ScanEvent::Finished { interrupted: false });
        assert_eq!(
            r.hosts[&ip].device.as_ref().map(|d| d.kind.as_str()),
            Some("printer")
        );
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
        assert_eq!(
            r.hosts[&ip].status,
            HostStatus::NoAnswer,
            "nothing answered"
        );
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

    #[test]
    fn hosts_sharing_a_mac_are_one_device() {
        let v4: IpAddr = "10.77.0.20".parse().unwrap();
        let v6: IpAddr = "fd77::20".parse().unwrap();
        let v6b: IpAddr = "fd77::20:1".parse().unwrap();
        let other: IpAddr = "fd77::30".parse().unwrap();
        let lone: IpAddr = "10.77.0.99".parse().unwrap();
        let mac = MacAddr([0x00, 0x50, 0x56, 0x77, 0x00, 0x20]);
        let mut r = ScanReport::default();
        r.apply(ScanEvent::Targets(vec![lone]));
        r.apply(ScanEvent::Arp(crate::core::event::ArpOutcome {
            ip: "10.77.0.20".parse().unwrap(),
            mac,
            rtt: Duration::from_millis(1),
        }));
        r.apply(ScanEvent::Neighbour { ip: v6, mac });
        r.apply(ScanEvent::Neighbour { ip: v6b, mac });
        r.apply(ScanEvent::Neighbour {
            ip: other,
            mac: MacAddr([0x00, 0x16, 0x3e, 0x77, 0x00, 0x30]),
        });
        assert_eq!(r.hosts[&v6].vendor.as_deref(), Some("VMware"));
        assert!(
            r.hosts[&v6].methods.is_empty(),
            "a MAC is not a proof of life"
        );
        r.apply(ScanEvent::Finished { interrupted: false });
        assert_eq!(r.hosts[&v4].same_device, vec![v6, v6b]);
        assert_eq!(r.hosts[&v6].same_device, vec![v4, v6b]);
        assert!(r.hosts[&other].same_device.is_empty());
        assert!(r.hosts[&lone].same_device.is_empty());
        let json = serde_json::to_value(&r.hosts[&v4]).unwrap();
        assert_eq!(
            json["same_device"],
            serde_json::json!(["fd77::20", "fd77::20:1"])
        );
        assert!(
            serde_json::to_value(&r.hosts[&lone])
                .unwrap()
                .get("same_device")
                .is_none()
        );
        // Read back from JSON.
        let back: Host = serde_json::from_value(json).unwrap();
        assert_eq!(back.same_device, vec![v6, v6b]);
    }
}
