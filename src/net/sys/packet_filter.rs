//! AF_PACKET sockets that the kernel filters by frame type before anything is copied to us.
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
