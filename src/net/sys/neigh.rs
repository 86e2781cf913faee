//! The kernel's neighbour tables: IPv4 (ARP) from `/proc/net/arp`, IPv6 (NDP) over
//! rtnetlink (see `neigh6`).
//!
//! Why the ICMP probe cares: a packet to an on-link address that does not answer ARP never
//! leaves the machine. It waits in the neighbour queue for about three seconds, still charged
//! to our socket's send buffer, so a few hundred such packets block every later send, including
//! the retries meant for live hosts. Once the kernel has been trying to resolve an address
//! for a while without success, further echo requests to it are pointless and are skipped.

use std::collections::HashSet;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

/// One table's unresolved set, with the time it was read.
struct Snapshot<T>(Mutex<Option<(Instant, HashSet<T>)>>);

impl<T: Eq + Hash> Snapshot<T> {
    fn new() -> Self {
        Snapshot(Mutex::new(None))
    }

    /// Whether `ip` is in the set, re-reading it with `read` when older than `max_age`.
    /// A failed read counts as an empty set: then nothing is skipped.
    fn contains<E>(
        &self,
        ip: &T,
        max_age: Duration,
        read: impl FnOnce() -> Result<HashSet<T>, E>,
    ) -> bool {
        let Ok(mut guard) = self.0.lock() else {
            return false;
        };
        let stale = guard.as_ref().is_none_or(|(at, _)| at.elapsed() > max_age);
        if stale {
            *guard = Some((Instant::now(), read().unwrap_or_default()));
        }
        guard.as_ref().is_some_and(|(_, set)| set.contains(ip))
    }
}

/// Snapshots of the unresolved sets of both families, each re-read at most every `max_age`.
pub struct Neighbours {
    max_age: Duration,
    v4: Snapshot<Ipv4Addr>,
    v6: Snapshot<Ipv6Addr>,
    v6_socket: super::neigh6::DumpSocket,
}

impl Default for Neighbours {
    fn default() -> Self {
        Neighbours {
            max_age: Duration::from_millis(20),
            v4: Snapshot::new(),
            v6: Snapshot::new(),
            v6_socket: Default::default(),
        }
    }
}

impl Neighbours {
    /// True when the kernel is failing to resolve `ip` right now. False when it resolved it,
    /// never tried, or the table cannot be read (then nothing is skipped).
    pub fn unresolved(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(ip) => self.v4.contains(&ip, self.max_age, || {
                std::fs::read_to_string("/proc/net/arp").map(|t| parse_unresolved(&t))
            }),
            IpAddr::V6(ip) => self
                .v6
                .contains(&ip, self.max_age, || self.v6_socket.read_unresolved()),
        }
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

    #[test]
    fn a_snapshot_is_reused_until_it_is_old_and_a_failed_read_skips_nothing() {
        let snap: Snapshot<Ipv4Addr> = Snapshot::new();
        let ip: Ipv4Addr = "10.77.0.124".parse().unwrap();
        let hour = Duration::from_secs(3600);
        let set = || Ok::<_, ()>(HashSet::from([ip]));
        assert!(snap.contains(&ip, hour, set));
        // Fresh: the reader is not called again.
        assert!(
            snap.contains(&ip, hour, || -> Result<HashSet<Ipv4Addr>, ()> {
                panic!("re-read a fresh snapshot")
            })
        );
        // Stale and the read fails: nothing is unresolved.
        assert!(!snap.contains(&ip, Duration::ZERO, || Err(())));
    }
}
