//! The `Diagnosis` model: what one run of `netdx diagnose` measured and concluded. Serialised
//! as the JSON report; the Markdown, HTML and terminal writers only read it.
//!
//! Every string that came off the network (DNS answers, names) is cleaned of control characters
//! when it enters this model; the writers still escape everything for their format.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::core::model::{DnsResult, DnsStatus, PortState};

/// Health of one layer, one check, or the whole network. Ordered by severity: `max()` of
/// statuses is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not checked: a lower layer failed, or nothing to check (no target given).
    Skipped,
    Ok,
    Degraded,
    Down,
}

impl Status {
    /// Upper-case word for terminals and tables: reads without colour.
    pub fn word(self) -> &'static str {
        match self {
            Status::Skipped => "SKIPPED",
            Status::Ok => "OK",
            Status::Degraded => "DEGRADED",
            Status::Down => "DOWN",
        }
    }

    /// A symbol to go with the word.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Skipped => "·",
            Status::Ok => "✓",
            Status::Degraded => "!",
            Status::Down => "✗",
        }
    }

    /// CSS class / machine name.
    pub fn class(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Ok => "ok",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }

    /// Exit code of `netdx diagnose`: 0 healthy, 1 degraded, 3 down (2 is bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok | Status::Skipped => 0,
            Status::Degraded => 1,
            Status::Down => 3,
        }
    }
}

/// The layers, bottom up. A failure in a lower layer explains failures above it, so the
/// verdict names the lowest layer in the worst state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// This machine: interfaces, link, addresses, default route.
    Local,
    /// The default gateway: ARP and ICMP.
    Gateway,
    /// The configured resolvers.
    Dns,
    /// The path beyond the gateway to each target.
    Wan,
    /// Each target itself: its name and its service ports.
    Target,
}

impl Layer {
    pub const ALL: [Layer; 5] = [
        Layer::Local,
        Layer::Gateway,
        Layer::Dns,
        Layer::Wan,
        Layer::Target,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Layer::Local => "local",
            Layer::Gateway => "gateway",
            Layer::Dns => "dns",
            Layer::Wan => "wan",
            Layer::Target => "target",
        }
    }

    /// Title for people: "Local connection", "Gateway", "DNS", "WAN path", "Target".
    pub fn title(self) -> &'static str {
        match self {
            Layer::Local => "Local connection",
            Layer::Gateway => "Gateway",
            Layer::Dns => "DNS",
            Layer::Wan => "WAN path",
            Layer::Target => "Target",
        }
    }
}

/// What was found wrong (or worth a word), in machine-readable form. Tests and scripts match
/// on these, people read [`Finding::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Nothing wrong.
    Healthy,
    NoInterface,
    LinkDown,
    NoAddress,
    NoDefaultRoute,
    GatewayUnreachable,
    GatewayLoss,
    GatewayNoPing,
    NoResolver,
    DnsTimeout,
    DnsError,
    DnsPartial,
    DnsDisagree,
    DnsSlow,
    PathDead,
    PathUnreachable,
    PathLoss,
    RateLimited,
    HostDown,
    NameNotFound,
    NameNoAddress,
    PortClosed,
    PortFiltered,
    /// The target answers but loses a proven share of its packets.
    TargetLoss,
    /// The target answers, but slowly: over the LAN limit or several times its baseline.
    TargetSlow,
    /// An on-link target found by ARP or TCP that does not answer echo (a note).
    TargetNoPing,
    /// Only name resolution fails: the target's service answers at its address.
    ServiceAnswers,
    /// A DNS record that is wrong: dangling CNAME, stale address, PTR mismatch.
    DnsRecord,
    NotChecked,
}

/// One conclusion about one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub layer: Layer,
    pub status: Status,
    pub cause: Cause,
    /// One plain sentence.
    pub text: String,
}

/// One row of the evidence table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub layer: Layer,
    pub check: String,
    pub result: String,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    pub layer: Layer,
    pub status: Status,
    /// Short reason, e.g. "10.77.0.53 does not answer".
    pub summary: String,
}

/// ICMP echo statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    pub sent: u32,
    pub received: u32,
    pub loss_pct: f64,
    pub rtt_min_ms: Option<f64>,
    pub rtt_avg_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
}

impl Ping {
    pub fn from_rtts(sent: u32, rtts: &[std::time::Duration]) -> Ping {
        let received = rtts.len() as u32;
        let ms: Vec<f64> = rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let loss_pct = if sent == 0 {
            0.0
        } else {
            100.0 * f64::from(sent.saturating_sub(received)) / f64::from(sent)
        };
        Ping {
            sent,
            received,
            loss_pct: (loss_pct * 10.0).round() / 10.0,
            rtt_min_ms: ms.iter().copied().reduce(f64::min).map(round2),
            rtt_avg_ms: (!ms.is_empty()).then(|| round2(ms.iter().sum::<f64>() / ms.len() as f64)),
            rtt_max_ms: ms.iter().copied().reduce(f64::max).map(round2),
        }
    }

    pub fn lost(&self) -> u32 {
        self.sent.saturating_sub(self.received)
    }
}

/// Median of round trips, in ms (rounded like every figure of the report).
pub fn median_ms(rtts: &[std::time::Duration]) -> Option<f64> {
    let mut ms: Vec<f64> = rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    if ms.is_empty() {
        return None;
    }
    ms.sort_by(f64::total_cmp);
    let mid = ms.len() / 2;
    let m = if ms.len().is_multiple_of(2) {
        (ms[mid - 1] + ms[mid]) / 2.0
    } else {
        ms[mid]
    };
    Some(round2(m))
}

/// Loss this share or more (proven over the echoes) makes a target degraded: the checks
/// decide how long to ping with it, the verdict judges with it.
pub const LOSS_MIN: f64 = 0.05;

/// A DNS response came back (whatever its code).
pub fn responded(q: &DnsResult) -> bool {
    match q.status {
        DnsStatus::Timeout => false,
        // Local and network errors carry no round trip; an odd response code does.
        DnsStatus::Error => q.rtt_ms.is_some(),
        _ => true,
    }
}

pub(crate) fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfaceReport {
    pub name: String,
    /// "up", "down" or "unknown".
    pub link: String,
    pub mac: Option<String>,
    /// Addresses with prefix length: "10.77.0.10/24".
    pub addrs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteReport {
    pub gateway: IpAddr,
    pub iface: String,
    pub metric: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LocalReport {
    /// Interfaces other than loopback.
    pub interfaces: Vec<InterfaceReport>,
    pub default_routes: Vec<RouteReport>,
    pub resolvers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArpReport {
    pub mac: String,
    /// Round trip of the ARP exchange; `None` when the MAC came from the kernel's table.
    pub rtt_ms: Option<f64>,
    /// "arp" (a reply to our request) or "neighbour-table".
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayReport {
    pub ip: IpAddr,
    pub iface: String,
    /// Whether an ARP check was possible (IPv4 and CAP_NET_RAW, or a neighbour-table entry).
    pub arp_checked: bool,
    pub arp: Option<ArpReport>,
    pub ping: Option<Ping>,
    /// Without ICMP: TCP connects to a few common ports of the gateway, one of which
    /// answered (accepted or refused) or none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<PortReport>,
    /// Why a check could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl GatewayReport {
    /// Answered ARP, at least one ping, or a TCP connect.
    pub fn answers(&self) -> bool {
        self.arp.is_some()
            || self.ping.as_ref().is_some_and(|p| p.received > 0)
            || self
                .tcp
                .as_ref()
                .is_some_and(|t| t.state != PortState::Filtered)
    }
}

/// How a resolver behaved over every query sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolverState {
    /// At least one NOERROR or NXDOMAIN response.
    Answers,
    /// Responses, but only errors (SERVFAIL, REFUSED, ...).
    Errors,
    /// No response at all.
    Silent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolverReport {
    /// `ip:port`.
    pub server: String,
    pub ip: IpAddr,
    /// On a directly attached network (no gateway needed to reach it).
    pub on_link: bool,
    pub ping: Option<Ping>,
    /// The resolver's own check query (PTR of its address), then the target-name lookups.
    pub queries: Vec<DnsResult>,
    pub state: ResolverState,
    /// Round trip of the fastest response.
    pub rtt_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortReport {
    pub port: u16,
    pub state: PortState,
    pub rtt_ms: Option<f64>,
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HopReport {
    pub ttl: u8,
    pub addr: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<IpAddr>,
    pub sent: u32,
    pub received: u32,
    pub loss_pct: f64,
    pub rtt_min_ms: Option<f64>,
    pub rtt_avg_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
    pub destination: bool,
    /// "network unreachable", "administratively prohibited", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// Loss here that does not carry on to later hops: the router limits its ICMP replies.
    pub rate_limited: bool,
    /// The session's best round trip to this hop before this round (watch mode, dashboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_rtt_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceReport {
    /// "icmp" or "tcp/443".
    pub protocol: String,
    pub reached: bool,
    pub hops: Vec<HopReport>,
    /// TTL of the last hop that answered (the destination excepted).
    pub last_responding: Option<u8>,
    /// Loss measured at the destination over every probe that reached it or should have.
    pub dest_loss_pct: Option<f64>,
    /// The first hop from which loss carries on to the destination.
    pub loss_onset: Option<u8>,
    /// Why an ICMP trace was followed by a TCP one, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// As the user typed it.
    pub target: String,
    /// The name, when the target is not an address.
    pub name: Option<String>,
    /// Every address the name resolved to (first answer that had any).
    pub addresses: Vec<IpAddr>,
    /// The address checked (IPv4 preferred).
    pub address: Option<IpAddr>,
    /// On a directly attached network: no WAN path involved.
    pub on_link: bool,
    /// Name lookups, each naming the server that answered.
    pub lookups: Vec<DnsResult>,
    pub ports: Vec<PortReport>,
    pub ping: Option<Ping>,
    pub trace: Option<TraceReport>,
    /// On-link targets: what the scan's discovery probes found (ARP, TCP SYN/ACK, ICMP
    /// timestamp, or connects without privilege), so a host that drops pings is still seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoveryReport>,
    /// The session's lowest round trip to the address before this round (watch mode and the
    /// dashboard keep it across rounds): what "slow" is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_rtt_ms: Option<f64>,
    /// Median round trip of this round's echoes (pings and the ICMP trace's destination
    /// probes): what "slow" is judged on, unmoved by a few late replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_median_ms: Option<f64>,
    /// DNS sanity checks of the target's name: dangling CNAME, stale address, PTR mismatch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_findings: Vec<crate::core::model::DnsFinding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How an on-link host answered the discovery probes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DiscoveryReport {
    pub arp: Option<ArpReport>,
    /// The probe that answered, as a report says it ("TCP SYN to port 443 answered (open)").
    pub probe: Option<String>,
    /// Short names of every method that got an answer: "ARP", "TCP 443", "ICMP timestamp".
    pub found_by: Vec<String>,
}

/// Echo requests to one address and how many came back: loss is a verdict only when it is
/// proven over enough of them (see [`Echoes::loss_proven`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Echoes {
    pub sent: u32,
    pub received: u32,
}

impl Echoes {
    pub fn lost(self) -> u32 {
        self.sent.saturating_sub(self.received)
    }

    pub fn loss_pct(self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            (1000.0 * f64::from(self.lost()) / f64::from(self.sent)).round() / 10.0
        }
    }

    /// Lower end of the 95 % Wilson interval of the loss rate: the loss the echoes prove.
    pub fn loss_lower_bound(self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        let n = f64::from(self.sent);
        let p = f64::from(self.lost()) / n;
        let z = 1.96_f64;
        let centre = p + z * z / (2.0 * n);
        let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        ((centre - spread) / (1.0 + z * z / n)).max(0.0)
    }

    /// Loss of at least `min` (a share, 0.05 = 5 %) is proven: at least two echoes lost and
    /// the lower end of the 95 % interval at or above `min`. A lost echo or two of thirty on a
    /// healthy host proves nothing; 30 % of fifty does.
    pub fn loss_proven(self, min: f64) -> bool {
        // No reply at all is a host that drops pings, not a lossy one.
        self.received > 0 && self.lost() >= 2 && self.loss_lower_bound() >= min
    }

    /// Some echo was lost but not enough to prove loss: worth a longer series.
    pub fn loss_suspected(self, min: f64) -> bool {
        self.received > 0 && self.lost() > 0 && !self.loss_proven(min)
    }
}

impl std::ops::Add for Echoes {
    type Output = Echoes;
    fn add(self, o: Echoes) -> Echoes {
        Echoes {
            sent: self.sent + o.sent,
            received: self.received + o.received,
        }
    }
}

impl TargetReport {
    /// Something at the address answered: a port (open or refused), a ping, the trace, or
    /// (on the local network) ARP or a discovery probe.
    pub fn host_answered(&self) -> bool {
        self.ports.iter().any(|p| p.state != PortState::Filtered)
            || self.ping.as_ref().is_some_and(|p| p.received > 0)
            || self.trace.as_ref().is_some_and(|t| t.reached)
            || self
                .discovery
                .as_ref()
                .is_some_and(|d| !d.found_by.is_empty())
    }

    /// An ICMP echo was answered (by the pings or by an ICMP trace reaching the target).
    pub fn echo_answered(&self) -> bool {
        self.ping.as_ref().is_some_and(|p| p.received > 0)
            || self
                .trace
                .as_ref()
                .is_some_and(|t| t.reached && t.protocol == "icmp")
    }

    /// Every echo request sent to the target and how many came back: the pings and, for an
    /// ICMP trace that reached it, the probes of the destination hop.
    pub fn echoes(&self) -> Echoes {
        let ping = self.ping.as_ref().map_or(Echoes::default(), |p| Echoes {
            sent: p.sent,
            received: p.received,
        });
        let trace = self
            .trace
            .as_ref()
            .filter(|t| t.reached && t.protocol == "icmp")
            .and_then(|t| t.hops.last())
            .filter(|h| h.destination)
            .map_or(Echoes::default(), |h| Echoes {
                sent: h.sent,
                received: h.received,
            });
        ping + trace
    }

    /// Typical round trip to the target: the median of the echoes when measured, else the
    /// average of the trace's destination hop, else of the pings.
    pub fn rtt_avg_ms(&self) -> Option<f64> {
        if self.rtt_median_ms.is_some() {
            return self.rtt_median_ms;
        }
        self.trace
            .as_ref()
            .filter(|t| t.reached)
            .and_then(|t| t.hops.last())
            .and_then(|h| h.rtt_avg_ms)
            .or_else(|| self.ping.as_ref().and_then(|p| p.rtt_avg_ms))
    }
}

/// One period in which the network was not healthy (watch mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Start of the first round that saw it (RFC 3339 in JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Start of the first round that no longer saw it; `None` while it lasts.
    #[serde(with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    pub duration_s: Option<f64>,
    pub layer: Layer,
    /// The worst status seen during the outage.
    pub status: Status,
    pub cause: Cause,
    /// The verdict of its first round.
    pub verdict: String,
    pub rounds: u32,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// "netdx 0.1.0".
    pub tool: String,
    /// When the diagnosis started and finished (RFC 3339 in JSON). Typed, so the watch's
    /// outage durations are a subtraction, not a re-parse of strings.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished: OffsetDateTime,
    pub duration_ms: f64,
    pub status: Status,
    /// The failing layer: the lowest layer in the worst state; `None` when healthy.
    pub layer: Option<Layer>,
    pub cause: Cause,
    /// One or two sentences for a non-technical reader.
    pub verdict: String,
    /// Every conclusion, the headline's first; notes (status ok) last.
    pub findings: Vec<Finding>,
    pub layers: Vec<LayerSummary>,
    pub evidence: Vec<Evidence>,
    pub targets_given: Vec<String>,
    pub ports: Vec<u16>,
    pub local: LocalReport,
    pub gateways: Vec<GatewayReport>,
    pub resolvers: Vec<ResolverReport>,
    pub targets: Vec<TargetReport>,
    /// What could not be done, and why (privilege, unsupported address).
    pub notes: Vec<String>,
    /// Watch mode: rounds run so far and the outage timeline.
    #[serde(default)]
    pub rounds: u32,
    #[serde(default)]
    pub timeline: Vec<Outage>,
    /// The run was interrupted before it finished.
    #[serde(default)]
    pub incomplete: bool,
}

/// A diagnosis round with nothing in it but its time, status, failing layer and verdict
/// (test fixture for the watch printer and the outage timeline).
#[cfg(test)]
pub fn round(at: &str, status: Status, layer: Option<Layer>, verdict: &str) -> Diagnosis {
    Diagnosis {
        tool: String::new(),
        started: crate::core::clock::parse_rfc3339(at).expect("an RFC 3339 fixture time"),
        finished: crate::core::clock::parse_rfc3339(at).expect("an RFC 3339 fixture time"),
        duration_ms: 0.0,
        status,
        layer,
        cause: if layer.is_some() {
            Cause::GatewayUnreachable
        } else {
            Cause::Healthy
        },
        verdict: verdict.to_string(),
        findings: vec![],
        layers: vec![],
        evidence: vec![],
        targets_given: vec![],
        ports: vec![],
        local: LocalReport::default(),
        gateways: vec![],
        resolvers: vec![],
        targets: vec![],
        notes: vec![],
        rounds: 0,
        timeline: vec![],
        incomplete: false,
    }
}
