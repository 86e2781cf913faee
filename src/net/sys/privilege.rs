//! What this process may do on the network, found by asking the kernel rather than by
//! checking the uid: a binary with `cap_net_raw` is as capable as root for our purposes, and
//! root inside a user namespace may not be.

use socket2::{Domain, Protocol, Socket, Type};

mod lower;

pub use lower::{
    Dropped, Invoker, PrivilegeError, Retain, StatusCaps, drop_privileges, invoker, invoker_from,
    invoker_home, parse_status,
};

/// The advice a technician needs when something was not possible.
pub const GRANT_HINT: &str = "grant it with: sudo setcap cap_net_raw+ep $(command -v netdx)";

/// Can we open raw sockets (needed for ARP and raw ICMP)?
pub fn has_cap_net_raw() -> bool {
    Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).is_ok()
}

/// Does the kernel let this user open unprivileged ICMP echo sockets
/// (`net.ipv4.ping_group_range` covers our group)?
pub fn unprivileged_icmp_allowed() -> bool {
    Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)).is_ok()
}

/// How many sockets may this process hold at once? Raises the soft `RLIMIT_NOFILE` towards the
/// hard limit first (never above it, never above `want`), since the default soft limit of 1024
/// would make a full port scan needlessly slow. Returns the soft limit now in force.
pub fn raise_fd_limit(want: u64) -> u64 {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) => {
            let target = want.min(hard);
            if target > soft && rlimit::setrlimit(rlimit::Resource::NOFILE, target, hard).is_ok() {
                target
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}

/// Sockets kept back from the probe window for everything else the process holds (stdio, the
/// ICMP and DNS sockets, the runtime's own descriptors, a report file).
pub const FD_RESERVE: u64 = 64;

/// The TCP connect window that fits in `fd_limit` descriptors: what RustScan derives from
/// `ulimit -n`. A user's `requested` window is honoured but never past what the limit allows,
/// so a scan cannot fail with EMFILE.
pub fn connect_window(fd_limit: u64, requested: Option<usize>) -> usize {
    const DEFAULT_MAX: u64 = 4096;
    let usable = fd_limit.saturating_sub(FD_RESERVE).max(1);
    let window = match requested {
        Some(r) => (r as u64).min(usable),
        None => DEFAULT_MAX.min(usable * 9 / 10).max(1),
    };
    window as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fits_in_small_limits() {
        assert_eq!(connect_window(256, None), 172);
        assert_eq!(connect_window(256, Some(10_000)), 192);
        assert_eq!(connect_window(64, None), 1);
        assert_eq!(connect_window(0, None), 1);
    }

    #[test]
    fn window_is_capped_by_default_and_honours_requests() {
        assert_eq!(connect_window(1_048_576, None), 4096);
        assert_eq!(connect_window(1_048_576, Some(20_000)), 20_000);
        assert_eq!(connect_window(1024, None), 864);
        assert_eq!(connect_window(1024, Some(100)), 100);
    }
}
