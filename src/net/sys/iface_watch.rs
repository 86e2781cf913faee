//! Notice when interfaces or their addresses change, without re-reading them.
//!
//! Reading the interface list (`getifaddrs`) opens three sockets each time. A dashboard that
//! re-read it every monitoring round would open sockets every round; one that cached it for a
//! fixed time would miss a cable pulled or a DHCP renewal until the cache expired. A netlink
//! socket subscribed to the kernel's link and address groups is told of every such change, so
//! the list is re-read exactly when it changed, on one socket kept for the process's life.

use std::io;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// `RTMGRP_LINK`: a link appeared, vanished, or went up or down.
const GROUP_LINK: u32 = 0x1;
/// `RTMGRP_IPV4_IFADDR`: an IPv4 address was added or removed.
const GROUP_IPV4_IFADDR: u32 = 0x10;
/// `RTMGRP_IPV6_IFADDR`.
const GROUP_IPV6_IFADDR: u32 = 0x100;

/// A subscription to link and address changes in this network namespace.
#[derive(Debug)]
pub struct IfaceWatch {
    socket: Socket,
}

impl IfaceWatch {
    /// Subscribe. Fails where netlink is unavailable (a sandbox); callers then fall back to
    /// re-reading the list on a timer.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(
            0,
            GROUP_LINK | GROUP_IPV4_IFADDR | GROUP_IPV6_IFADDR,
        ))?;
        socket.set_non_blocking(true)?;
        Ok(IfaceWatch { socket })
    }

    /// Whether anything changed since the last call. Reads (and discards) every pending
    /// notification; an overflowed queue (`ENOBUFS`) or any other error counts as a change,
    /// because the cost of a needless re-read is small and a missed change is a wrong answer.
    pub fn changed(&self) -> bool {
        let mut changed = false;
        let mut buf = vec![0u8; 8192];
        // Bounded: a link flapping faster than we read must not keep us here.
        for _ in 0..1024 {
            buf.clear();
            match self.socket.recv(&mut buf, 0) {
                Ok(_) => changed = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return changed,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
        }
        true
    }
}
