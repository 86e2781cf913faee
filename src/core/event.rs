//! Typed events from the engine to whoever owns the state (the headless runner or the
//! dashboard). Events are aggregated per host or per batch, never per packet, so a /16 sweep
//! or a 65,535-port scan stays cheap to transport and to fold into the model.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

pub use crate::core::model::Phase;
use crate::core::model::{DnsResult, MacAddr, Method, NoteLevel, PortState};

/// The outcome of one ICMP echo series (all tries) to one host.
#[derive(Debug, Clone, PartialEq)]
pub struct IcmpOutcome {
    pub ip: IpAddr,
    pub sent: u32,
    pub received: u32,
    /// Round-trip times of the replies that came back, in arrival order.
    pub rtts: Vec<Duration>,
}

/// One ARP reply addressed to the scanner.
#[derive(Debug, Clone, PartialEq)]
pub struct ArpOutcome {
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub rtt: Duration,
}

/// What answered a discovery probe: any answer, a reset included, proves a host is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// A SYN to `port` was answered (SYN-ACK or RST).
    Syn { port: u16, open: bool },
    /// A bare ACK to `port` was answered with a reset.
    Ack { port: u16 },
    /// An ICMP timestamp request was answered.
    Timestamp,
    /// The host itself answered a probe with an ICMP unreachable.
    Unreachable,
    /// Without privilege: a connect to `port` was answered (accepted or refused).
    Connect { port: u16, open: bool },
}

impl Proof {
    /// How the host was seen, for methods lists.
    pub fn method(self) -> Method {
        match self {
            Proof::Timestamp | Proof::Unreachable => Method::Icmp,
            _ => Method::Tcp,
        }
    }

    /// The plain sentence a report gives.
    pub fn describe(self) -> String {
        match self {
            Proof::Syn { port, open: true } => format!("TCP SYN to port {port} answered (open)"),
            Proof::Syn { port, open: false } => {
                format!("TCP SYN to port {port} answered with a reset")
            }
            Proof::Ack { port } => format!("TCP ACK to port {port} answered with a reset"),
            Proof::Timestamp => "ICMP timestamp answered".to_string(),
            Proof::Unreachable => "answered a probe with ICMP unreachable".to_string(),
            Proof::Connect { port, open: true } => format!("TCP connect to port {port} accepted"),
            Proof::Connect { port, open: false } => {
                format!("TCP connect to port {port} refused (reset)")
            }
        }
    }
}

/// The state of one TCP port of one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortOutcome {
    pub port: u16,
    pub state: PortState,
    /// Time to the SYN-ACK or RST; `None` when nothing came back.
    pub rtt: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvent {
    /// The plan is known: how many addresses and ports per host will be probed.
    Planned {
        hosts: u64,
        ports_per_host: usize,
    },
    /// Addresses the scan will probe, in batches: each appears in the report even if nothing
    /// answers, so "down" is stated rather than implied.
    Targets(Vec<IpAddr>),
    /// An address resolved from a name the user typed.
    Target {
        ip: IpAddr,
        name: Option<String>,
    },
    Icmp(IcmpOutcome),
    Arp(ArpOutcome),
    /// The MAC of an IPv6 address found on its link (multicast echo, then the kernel's
    /// neighbour table): what ARP gives for IPv4. It proves nothing about liveness by itself
    /// (a table entry can be stale); the probes that follow decide that.
    Neighbour {
        ip: IpAddr,
        mac: MacAddr,
    },
    /// A batch of port results for one host (the engine batches them, at most one event per
    /// host per flush interval).
    Ports {
        ip: IpAddr,
        results: Vec<PortOutcome>,
    },
    /// A DNS query finished (forward, reverse or asked for with `--dns`).
    Dns(DnsResult),
    /// Reverse (PTR) name of a host; `None` when there is none.
    Hostname {
        ip: IpAddr,
        name: Option<String>,
    },
    /// A host proved up by a discovery probe other than an echo reply or ARP: nmap's
    /// privileged default (TCP SYN to 443, TCP ACK to 80, ICMP timestamp) or, without
    /// privilege, a connect to 80 or 443 that was answered.
    Alive {
        ip: IpAddr,
        proof: Proof,
        rtt: Duration,
    },
    /// How ports are checked: "SYN scan" (half-open, raw packets) or "connect scan".
    PortScan(String),
    /// The scanning machine's default gateway is among the targets.
    Gateway(IpAddr),
    /// What an open port said about itself (service identification).
    Service {
        ip: IpAddr,
        port: u16,
        /// Boxed: a service description is large and rare next to the other events.
        id: Box<crate::core::identity::ServiceId>,
    },
    /// What a host said about itself in the LAN's name protocols (mDNS, NetBIOS, SSDP/UPnP,
    /// SNMP); any answer proves it up.
    Names {
        ip: IpAddr,
        /// Boxed: rare and large next to the other events.
        names: Box<crate::core::names::HostNames>,
    },
    Progress {
        phase: Phase,
        done: u64,
        total: u64,
    },
    Note {
        level: NoteLevel,
        text: String,
    },
    /// The scan ended; `interrupted` when it was cancelled before completing.
    Finished {
        interrupted: bool,
    },
}
