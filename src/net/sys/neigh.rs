//! The kernel's IPv4 neighbour (ARP) table, read from `/proc/net/arp`.
//!
//! Why the ICMP probe cares: a packet to an on-link address that does not answer ARP never
//! leaves the machine. It waits in the neighbour queue for about three seconds, still charged
//! to our socket's send buffer, so a few hundred such packets block every later send, including
//! the retries meant for live hosts. Once the kernel has been trying to resolve an address
//! for a while without success, further echo requests to it are pointless and are skipped.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses whose neighbour entry is incomplete or failed (flags 0x0 in `/proc/net/arp`).
pub fn parse_unresolved(text: &str) -> HashSet<Ipv4Addr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let ip: Ipv4Addr = cols.next()?.parse().ok()?;
            let _hw_type = cols.next()?;
            let flags = cols.next()?.trim_start_matches("0x");
            let flags = u32::from_str_radix(flags, 16).ok()?;
            // ATF_COM (0x2) marks a completed entry; without it the kernel is still asking.
            (flags & 0x2 == 0).then_some(ip)
        })
        .collect()
}

/// A snapshot of the unresolved set, re-read at most every `max_age`.
pub struct Neighbours {
    max_age: Duration,
    snapshot: Mutex<Option<(Instant, HashSet<Ipv4Addr>)>>,
}

impl Default for Neighbours {
    fn default() -> Self {
        Neighbours {
            max_age: Duration::from_millis(20),
            snapshot: Mutex::new(None),
        }
    }
}

impl Neighbours {
    /// True when the kernel is failing to resolve `ip` right now. False when it resolved it,
    /// never tried, or the table cannot be read (then nothing is skipped).
    pub fn unresolved(&self, ip: Ipv4Addr) -> bool {
        let Ok(mut guard) = self.snapshot.lock() else {
            return false;
        };
        let stale = guard
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() > self.max_age);
        if stale {
            let set = std::fs::read_to_string("/proc/net/arp")
                .map(|t| parse_unresolved(&t))
                .unwrap_or_default();
            *guard = Some((Instant::now(), set));
        }
        guard.as_ref().is_some_and(|(_, set)| set.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_entries_are_unresolved() {
        let text = "\
IP address       HW type     Flags       HW address            Mask     Device
10.77.0.124      0x1         0x0         00:00:00:00:00:00     *        eth0
10.77.0.20       0x1         0x2         00:50:56:77:00:20     *        eth0
10.77.0.21       0x1         0x6         00:50:56:77:00:21     *        eth0
garbage line
";
        let set = parse_unresolved(text);
        assert_eq!(set.len(), 1);
        assert!(set.contains(&"10.77.0.124".parse().unwrap()));
    }
}
