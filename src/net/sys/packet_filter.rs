//! Sockets that the kernel filters before anything is copied to us: AF_PACKET sockets by
//! frame type, and the raw TCP sockets by destination port ([`tcp_to_port`]).
//!
//! pnet's datalink channel opens an `ETH_P_ALL` socket: it gets a copy of every frame of the
//! interface, outgoing ones included. During a port scan beside an ARP sweep that is hundreds
//! of thousands of TCP frames through a receive buffer of a few hundred, all read, parsed and
//! thrown away by the channel's thread, with the few ARP replies queued behind them. A classic
//! BPF program attached to the socket keeps only the frames the channel is for, in the kernel;
//! pnet takes the socket through `Config::socket_fd`.

use std::io;
use std::os::fd::{IntoRawFd, RawFd};

use socket2::{Domain, SockFilter, Socket, Type};

// Classic BPF opcodes (linux/filter.h).
const BPF_LD_H_ABS: u16 = 0x28;
/// `ldh [x + k]`.
const BPF_LD_H_IND: u16 = 0x48;
/// `ldxb 4 * ([k] & 0xf)`: the IPv4 header's length.
const BPF_LDX_B_MSH: u16 = 0xb1;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGT_K: u16 = 0x25;
const BPF_RET_K: u16 = 0x06;
/// Offset of the EtherType (or 802.3 length) field; on Linux a VLAN tag has already been
/// taken out into metadata when a packet socket sees the frame.
const TYPE_OFFSET: u32 = 12;
const ACCEPT: u32 = u32::MAX;
const DROP: u32 = 0;

/// The frames a filtered socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frames {
    /// ARP (EtherType 0x0806).
    Arp,
    /// Link-layer discovery: LLDP (EtherType 0x88cc) and 802.3 frames with an LLC header
    /// (type field ≤ 1500), where CDP lives.
    LinkDiscovery,
}

impl Frames {
    /// The filter program: accept the whole frame or drop it.
    pub fn program(self) -> Vec<SockFilter> {
        match self {
            Frames::Arp => vec![
                SockFilter::new(BPF_LD_H_ABS, 0, 0, TYPE_OFFSET),
                SockFilter::new(BPF_JMP_JEQ_K, 0, 1, 0x0806),
                SockFilter::new(BPF_RET_K, 0, 0, ACCEPT),
                SockFilter::new(BPF_RET_K, 0, 0, DROP),
            ],
            Frames::LinkDiscovery => vec![
                SockFilter::new(BPF_LD_H_ABS, 0, 0, TYPE_OFFSET),
                SockFilter::new(BPF_JMP_JEQ_K, 1, 0, 0x88cc),
                // A length, not a type: an 802.3/LLC frame (CDP).
                SockFilter::new(BPF_JMP_JGT_K, 1, 0, 1500),
                SockFilter::new(BPF_RET_K, 0, 0, ACCEPT),
                SockFilter::new(BPF_RET_K, 0, 0, DROP),
            ],
        }
    }
}

/// For a raw TCP socket: keep only segments to local port `port`. A raw TCP socket gets a
/// copy of every TCP segment the host receives (a monitoring agent's connects, a download);
/// the raw prober only wants answers to its probes, which all go to its one source port.
/// IPv4 raw sockets see the packet from its IP header, IPv6 ones from the TCP header.
pub fn tcp_to_port(v6: bool, port: u16) -> Vec<SockFilter> {
    let port = u32::from(port);
    let load_port = if v6 {
        vec![SockFilter::new(BPF_LD_H_ABS, 0, 0, 2)]
    } else {
        vec![
            SockFilter::new(BPF_LDX_B_MSH, 0, 0, 0),
            SockFilter::new(BPF_LD_H_IND, 0, 0, 2),
        ]
    };
    load_port
        .into_iter()
        .chain([
            SockFilter::new(BPF_JMP_JEQ_K, 0, 1, port),
            SockFilter::new(BPF_RET_K, 0, 0, ACCEPT),
            SockFilter::new(BPF_RET_K, 0, 0, DROP),
        ])
        .collect()
}

/// A raw AF_PACKET socket that receives only `frames`, for
/// `pnet::datalink::Config::socket_fd` (pnet binds it to the interface and owns it from then
/// on). It is opened with protocol 0, so it receives nothing at all until pnet binds it, and
/// the filter is in place before that. Fails with `PermissionDenied` without CAP_NET_RAW,
/// like pnet's own socket.
pub fn socket(frames: Frames) -> io::Result<RawFd> {
    let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
    socket.attach_filter(&frames.program())?;
    Ok(socket.into_raw_fd())
}
