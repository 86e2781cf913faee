//! Talking to the network. The [`session::Session`] owns what is expensive or must be shared
//! (sockets, DNS clients, the budget of probes in flight, per-host estimates); the probe
//! modules do one kind of I/O each and know nothing of terminals.

pub mod arp;
pub mod ca_file;
pub mod discover;
pub mod dns;
pub mod dns_check;
pub mod dns_health;
pub mod dns_pace;
pub mod dns_tls;
pub mod icmp;
pub mod identify;
pub mod lan;
pub mod lldp;
pub mod names;
pub mod ndp;
pub mod raw;
pub mod session;
pub mod sys;
pub mod tcp;
pub mod timing;
pub mod traceroute;

/// A datalink read that ended without a frame only because its timeout passed, it would
/// block, or a signal came: the caller reads again (its own window decides when to stop).
pub(crate) fn idle_read(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::Interrupted
    )
}
