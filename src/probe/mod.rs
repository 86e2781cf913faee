//! Network probes. Each one talks to the network through one shared socket or client and
//! reports typed results; none of them knows about the engine's channel or the UI.

pub mod arp;
pub mod dns;
pub mod icmp;
pub mod neigh;
pub mod tcp;
pub mod traceroute;
