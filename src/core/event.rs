//! Typed events from the engine to whoever owns the state (the headless runner or the
//! dashboard). Events are aggregated per host or per batch, never per packet, so a /16 sweep
//! or a 65,535-port scan stays cheap to transport and to fold into the model.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::core::model::{DnsResult, MacAddr, NoteLevel, PortState};

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
