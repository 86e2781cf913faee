//! Traceroute with TTL-limited probes: ICMP echo requests, or TCP SYNs to a service port when
//! a destination filters ICMP.
//!
//! # How
//! Every TTL from 1 to `max_ttl` is probed at once, in `rounds` rounds `interval` apart (as
//! mtr and trippy do, rather than one hop after the other as classic traceroute does), so a
//! whole trace costs about `rounds x interval` plus one round trip, and a dead path one
//! `timeout` more. Once the destination has answered at some TTL, later rounds stop there.
//!
//! Replies are read from one raw ICMP socket per trace: routers answer an expiring probe with
//! ICMP time-exceeded quoting the probe's headers, which say which probe it was (the echo
//! identifier and sequence number, or the TCP source port). The destination answers an echo
//! request with an echo reply, a SYN with SYN-ACK or RST (seen by the probe's own socket).
//!
//! # Privilege
//! Time-exceeded messages are only delivered to raw sockets (an unprivileged ICMP socket never
//! sees them), so a trace needs `CAP_NET_RAW`; without it [`trace`] fails with
//! [`TraceError::NeedsRaw`] and the caller says so.
//!
//! # Reading the result
//! Per-probe records ([`TraceOutcome::probes`]) are folded into hops by the pure function
//! [`hops`], which is what reports show: the address that answered at each TTL, the share of
//! probes it answered and their round trips. Probes sent with a TTL beyond the destination's
//! distance are answered by the destination and count for its hop.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "a traceroute needs raw ICMP sockets (CAP_NET_RAW): {hint}",
        hint = crate::net::sys::privilege::GRANT_HINT
    )]
    NeedsRaw,
    #[error("traceroute socket error: {0}")]
    Io(#[from] io::Error),
}

pub type Result<T> = std::result::Result<T, TraceError>;

/// What a probe is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceProtocol {
    /// ICMP echo requests: what most routers and hosts answer.
    Icmp,
    /// TCP SYNs to this port: for destinations (and firewalls) that drop ICMP but serve TCP.
    Tcp(u16),
}

impl TraceProtocol {
    pub fn label(self) -> String {
        match self {
            TraceProtocol::Icmp => "icmp".to_string(),
            TraceProtocol::Tcp(port) => format!("tcp/{port}"),
        }
    }
}

/// Timing of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracePlan {
    /// Highest TTL probed (1-255).
    pub max_ttl: u8,
    /// Probes per TTL: each round sends one to every TTL still of interest. Ten give a loss
    /// figure in steps of 10 % per hop, and many more for the destination.
    pub rounds: u32,
    /// Time between two rounds.
    pub interval: Duration,
    /// How long a probe's reply is waited for.
    pub timeout: Duration,
}

impl Default for TracePlan {
    fn default() -> Self {
        TracePlan {
            max_ttl: 30,
            rounds: 10,
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(1000),
        }
    }
}

/// What answered one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// A router on the way: ICMP time-exceeded.
    TimeExceeded,
    /// The destination itself: echo reply, SYN-ACK or RST, or an ICMP error it sent.
    Destination,
    /// A router (or the destination's network) said the destination cannot be reached.
    Unreachable(Unreachable),
}

/// Why a router refused to forward a probe (the ICMP destination-unreachable code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    Network,
    Host,
    Protocol,
    Port,
    Prohibited,
    Other(u8),
}

impl Unreachable {
    fn from_v4(code: u8) -> Self {
        match code {
            0 | 6 | 11 => Unreachable::Network,
            1 | 7 | 12 => Unreachable::Host,
            2 => Unreachable::Protocol,
            3 => Unreachable::Port,
            9 | 10 | 13 => Unreachable::Prohibited,
            c => Unreachable::Other(c),
        }
    }

    fn from_v6(code: u8) -> Self {
        match code {
            0 => Unreachable::Network,
            1 | 5 | 6 => Unreachable::Prohibited,
            3 => Unreachable::Host,
            4 => Unreachable::Port,
            c => Unreachable::Other(c),
        }
    }

    /// The words for a report: "network unreachable", "administratively prohibited".
    pub fn label(self) -> String {
        match self {
            Unreachable::Network => "network unreachable".to_string(),
            Unreachable::Host => "host unreachable".to_string(),
            Unreachable::Protocol => "protocol unreachable".to_string(),
            Unreachable::Port => "port unreachable".to_string(),
            Unreachable::Prohibited => "administratively prohibited".to_string(),
            Unreachable::Other(c) => format!("unreachable (code {c})"),
        }
    }
}

/// The reply to one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeReply {
    pub from: IpAddr,
    pub rtt: Duration,
    pub kind: ReplyKind,
}

/// One probe sent, and what came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRecord {
    pub ttl: u8,
    pub reply: Option<ProbeReply>,
}

/// Everything a trace sent and received.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceOutcome {
    pub dest: IpAddr,
    pub protocol: TraceProtocol,
    pub probes: Vec<ProbeRecord>,
}

/// One hop as reports show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    pub ttl: u8,
    /// The address that answered most probes at this TTL; `None` when nothing answered.
    pub addr: Option<IpAddr>,
    /// Other addresses that answered at this TTL (load-balanced paths).
    pub others: Vec<IpAddr>,
    pub sent: u32,
    pub received: u32,
    /// Round trips of the replies, in the order the probes were sent.
    pub rtts: Vec<Duration>,
    /// This hop is the destination (its stats include every probe sent beyond it).
    pub destination: bool,
    /// The router at this hop refused to forward (and why).
    pub unreachable: Option<Unreachable>,
}

impl Hop {
    /// Share of probes without a reply, 0.0-1.0.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            1.0 - f64::from(self.received) / f64::from(self.sent)
        }
    }
}

/// Fold probe records into hops: TTL 1 up to the destination (or up to the router that said
/// unreachable), or, when neither answered, up to one silent hop past the last one that did.
pub fn hops(outcome: &TraceOutcome) -> Vec<Hop> {
    let answered_at = |pred: &dyn Fn(&ProbeReply) -> bool| {
        outcome
            .probes
            .iter()
            .filter(|p| p.reply.as_ref().is_some_and(pred))
            .map(|p| p.ttl)
            .min()
    };
    let dest_ttl = answered_at(&|r| r.kind == ReplyKind::Destination);
    let unreach_ttl = answered_at(&|r| matches!(r.kind, ReplyKind::Unreachable(_)));
    let end = match (dest_ttl, unreach_ttl) {
        (Some(d), Some(u)) => d.min(u),
        (Some(d), None) => d,
        (None, Some(u)) => u,
        (None, None) => {
            let max_sent = outcome.probes.iter().map(|p| p.ttl).max().unwrap_or(0);
            let last = outcome
                .probes
                .iter()
                .filter(|p| p.reply.is_some())
                .map(|p| p.ttl)
                .max()
                .unwrap_or(0);
            (last + 1).min(max_sent)
        }
    };
    let terminal = dest_ttl.is_some() || unreach_ttl.is_some();
    let mut out = Vec::new();
    for ttl in 1..=end {
        // The last hop of a trace that ended takes every probe sent at or beyond it.
        let probes = outcome.probes.iter().filter(|p| {
            if terminal && ttl == end {
                p.ttl >= ttl
            } else {
                p.ttl == ttl
            }
        });
        let mut hop = Hop {
            ttl,
            addr: None,
            others: Vec::new(),
            sent: 0,
            received: 0,
            rtts: Vec::new(),
            destination: false,
            unreachable: None,
        };
        let mut counts: Vec<(IpAddr, u32)> = Vec::new();
        for p in probes {
            hop.sent += 1;
            let Some(r) = p.reply else { continue };
            hop.received += 1;
            hop.rtts.push(r.rtt);
            match r.kind {
                ReplyKind::Destination => hop.destination = true,
                ReplyKind::Unreachable(u) => hop.unreachable = Some(u),
                ReplyKind::TimeExceeded => {}
            }
            match counts.iter_mut().find(|(ip, _)| *ip == r.from) {
                Some((_, n)) => *n += 1,
                None => counts.push((r.from, 1)),
            }
        }
        // Most frequent first; ties keep the order of first appearance.
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        let mut addrs = counts.into_iter().map(|(ip, _)| ip);
        hop.addr = addrs.next();
        hop.others = addrs.collect();
        out.push(hop);
    }
    out
}

// --- wire formats --------------------------------------------------------------------------

const ICMP4_ECHO_REPLY: u8 = 0;
const ICMP4_UNREACH: u8 = 3;
const ICMP4_ECHO_REQUEST: u8 = 8;
const ICMP4_TIME_EXCEEDED: u8 = 11;
const ICMP6_UNREACH: u8 = 1;
const ICMP6_TIME_EXCEEDED: u8 = 3;
const ICMP6_ECHO_REQUEST: u8 = 128;
const ICMP6_ECHO_REPLY: u8 = 129;
const PROTO_ICMP4: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_ICMP6: u8 = 58;
const PAYLOAD: &[u8; 16] = b"netdx traceroute";

/// What an ICMP message says about one of our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoted {
    /// An echo reply (to an echo request of ours, if the identifier matches).
    EchoReply { ident: u16, seq: u16 },
    /// An ICMP error quoting the probe it is about.
    Error {
        kind: ErrorKind,
        /// Destination address of the quoted packet.
        dest: IpAddr,
        probe: QuotedProbe,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    TimeExceeded,
    Unreachable(Unreachable),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuotedProbe {
    Echo { ident: u16, seq: u16 },
    Tcp { src_port: u16, dst_port: u16 },
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::from(o))
}

fn ipv6_at(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::from(o))
}

/// The probe quoted after an ICMP error's 8-byte header, given the quoted transport bytes.
fn quoted_probe(proto: u8, transport: &[u8], echo_request: u8) -> Option<QuotedProbe> {
    match proto {
        p if (p == PROTO_ICMP4 && echo_request == ICMP4_ECHO_REQUEST)
            || (p == PROTO_ICMP6 && echo_request == ICMP6_ECHO_REQUEST) =>
        {
            (*transport.first()? == echo_request).then_some(QuotedProbe::Echo {
                ident: be16(transport, 4)?,
                seq: be16(transport, 6)?,
            })
        }
        PROTO_TCP => Some(QuotedProbe::Tcp {
            src_port: be16(transport, 0)?,
            dst_port: be16(transport, 2)?,
        }),
        _ => None,
    }
}

/// Parse what a raw IPv4 ICMP socket delivers: the IP header, then the ICMP message.
/// Returns the sender and what the message says.
fn parse_v4(packet: &[u8]) -> Option<(IpAddr, Quoted)> {
    let ihl = usize::from(*packet.first()? & 0x0f) * 4;
    let from = ipv4_at(packet, 12)?;
    let icmp = packet.get(ihl..)?;
    let (typ, code) = (*icmp.first()?, *icmp.get(1)?);
    let kind = match typ {
        ICMP4_ECHO_REPLY => {
            return Some((
                from,
                Quoted::EchoReply {
                    ident: be16(icmp, 4)?,
                    seq: be16(icmp, 6)?,
                },
            ));
        }
        ICMP4_TIME_EXCEEDED => ErrorKind::TimeExceeded,
        ICMP4_UNREACH => ErrorKind::Unreachable(Unreachable::from_v4(code)),
        _ => return None,
    };
    let inner = icmp.get(8..)?;
    let inner_ihl = usize::from(*inner.first()? & 0x0f) * 4;
    let proto = *inner.get(9)?;
    let dest = ipv4_at(inner, 16)?;
    let probe = quoted_probe(proto, inner.get(inner_ihl..)?, ICMP4_ECHO_REQUEST)?;
    Some((from, Quoted::Error { kind, dest, probe }))
}

/// Parse what a raw ICMPv6 socket delivers: the ICMPv6 message alone (the sender comes from
/// `recvfrom`). Quoted packets with extension headers are not followed.
fn parse_v6(from: IpAddr, icmp: &[u8]) -> Option<(IpAddr, Quoted)> {
    let (typ, code) = (*icmp.first()?, *icmp.get(1)?);
    let kind = match typ {
        ICMP6_ECHO_REPLY => {
            return Some((
                from,
                Quoted::EchoReply {
                    ident: be16(icmp, 4)?,
                    seq: be16(icmp, 6)?,
                },
            ));
        }
        ICMP6_TIME_EXCEEDED => ErrorKind::TimeExceeded,
        ICMP6_UNREACH => ErrorKind::Unreachable(Unreachable::from_v6(code)),
        _ => return None,
    };
    let inner = icmp.get(8..)?;
    let next_header = *inner.get(6)?;
    let dest = ipv6_at(inner, 24)?;
    let probe = quoted_probe(next_header, inner.get(40..)?, ICMP6_ECHO_REQUEST)?;
    Some((from, Quoted::Error { kind, dest, probe }))
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request. The kernel fills in the ICMPv6 checksum (it covers a pseudo-header).
fn echo_request(v6: bool, ident: u16, seq: u16) -> Vec<u8> {
    let typ = if v6 {
        ICMP6_ECHO_REQUEST
    } else {
        ICMP4_ECHO_REQUEST
    };
    let mut p = vec![typ, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

// --- the trace -------------------------------------------------------------------------------

/// A raw ICMP socket of the destination's family, driven by tokio. `std::net::UdpSocket` is
/// only the safe carrier of the descriptor: `send_to`/`recv_from` are plain `sendto(2)` and
/// `recvfrom(2)`, which is all a raw socket needs.
fn raw_icmp(dest: IpAddr) -> Result<UdpSocket> {
    let (domain, proto) = match dest {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let socket = Socket::new(domain, Type::RAW, Some(proto)).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => TraceError::NeedsRaw,
        _ => TraceError::Io(e),
    })?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    let std: std::net::UdpSocket = socket.into();
    Ok(UdpSocket::from_std(std)?)
}

fn set_ttl(sock: SockRef<'_>, v6: bool, ttl: u8) -> io::Result<()> {
    if v6 {
        sock.set_unicast_hops_v6(u32::from(ttl))
    } else {
        sock.set_ttl_v4(u32::from(ttl))
    }
}

struct Sent {
    ttl: u8,
    at: Instant,
    reply: Option<ProbeReply>,
}

/// Outcome of a TCP probe's own socket: the destination answered (SYN-ACK or RST) or not.
type TcpDone = (usize, bool, Instant);

/// Trace the path to `dest`. Returns every probe and its reply; cancelled traces return what
/// they have.
pub async fn trace(
    dest: IpAddr,
    protocol: TraceProtocol,
    plan: TracePlan,
    cancel: &CancellationToken,
) -> Result<TraceOutcome> {
    let sock = raw_icmp(dest)?;
    let v6 = dest.is_ipv6();
    let ident: u16 = rand::random();
    let max_ttl = plan.max_ttl.max(1);
    let rounds = plan.rounds.max(1);
    let mut sent: Vec<Sent> = Vec::new();
    let mut by_port: HashMap<u16, usize> = HashMap::new();
    let mut tcp: FuturesUnordered<futures::future::BoxFuture<'static, TcpDone>> =
        FuturesUnordered::new();
    let mut dest_ttl: Option<u8> = None;
    let mut round = 0;
    let mut next_round = Instant::now();
    let mut last_send = next_round;
    let mut buf = vec![0u8; 2048];

    loop {
        let all_answered = sent.iter().all(|s| s.reply.is_some());
        if round >= rounds && (all_answered || Instant::now() >= last_send + plan.timeout) {
            break;
        }
        let wake = if round < rounds {
            next_round
        } else {
            last_send + plan.timeout
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(wake) => {
                if round >= rounds {
                    continue; // the wait for late replies is over: the loop ends
                }
                let limit = dest_ttl.unwrap_or(max_ttl).min(max_ttl);
                for ttl in 1..=limit {
                    let idx = sent.len();
                    let Ok(seq) = u16::try_from(idx) else { break };
                    match protocol {
                        TraceProtocol::Icmp => {
                            set_ttl(SockRef::from(&sock), v6, ttl)?;
                            let at = Instant::now();
                            // A send error (no route) leaves the probe unanswered, as on the wire.
                            let _ = sock
                                .send_to(&echo_request(v6, ident, seq), SocketAddr::new(dest, 0))
                                .await;
                            sent.push(Sent { ttl, at, reply: None });
                        }
                        TraceProtocol::Tcp(port) => {
                            let at = Instant::now();
                            // A probe that cannot even start stays unanswered.
                            if let Ok((local_port, fut)) =
                                tcp_probe(SocketAddr::new(dest, port), ttl, idx, plan.timeout)
                            {
                                by_port.insert(local_port, idx);
                                tcp.push(fut);
                            }
                            sent.push(Sent { ttl, at, reply: None });
                        }
                    }
                }
                last_send = Instant::now();
                round += 1;
                next_round += plan.interval;
            }
            r = sock.recv_from(&mut buf) => {
                let now = Instant::now();
                let Ok((n, from)) = r else { continue };
                let parsed = if v6 {
                    parse_v6(from.ip(), &buf[..n])
                } else {
                    parse_v4(&buf[..n])
                };
                let Some((from, quoted)) = parsed else { continue };
                let (idx, kind) = match (quoted, protocol) {
                    (Quoted::EchoReply { ident: id, seq }, TraceProtocol::Icmp)
                        if id == ident && from == dest => (usize::from(seq), ReplyKind::Destination),
                    (Quoted::Error { kind, dest: d, probe }, _) if d == dest => {
                        let idx = match (probe, protocol) {
                            (QuotedProbe::Echo { ident: id, seq }, TraceProtocol::Icmp)
                                if id == ident => usize::from(seq),
                            (QuotedProbe::Tcp { src_port, dst_port }, TraceProtocol::Tcp(port))
                                if dst_port == port => match by_port.get(&src_port) {
                                    Some(&i) => i,
                                    None => continue,
                                },
                            _ => continue,
                        };
                        let kind = match kind {
                            ErrorKind::TimeExceeded => ReplyKind::TimeExceeded,
                            // An error from the destination itself still proves it was reached.
                            ErrorKind::Unreachable(_) if from == dest => ReplyKind::Destination,
                            ErrorKind::Unreachable(u) => ReplyKind::Unreachable(u),
                        };
                        (idx, kind)
                    }
                    _ => continue,
                };
                record(&mut sent, &mut dest_ttl, idx, from, now, kind);
            }
            Some((idx, answered, at)) = tcp.next(), if !tcp.is_empty() => {
                if answered {
                    record(&mut sent, &mut dest_ttl, idx, dest, at, ReplyKind::Destination);
                }
            }
        }
    }
    Ok(TraceOutcome {
        dest,
        protocol,
        probes: sent
            .into_iter()
            .map(|s| ProbeRecord {
                ttl: s.ttl,
                reply: s.reply,
            })
            .collect(),
    })
}

fn record(
    sent: &mut [Sent],
    dest_ttl: &mut Option<u8>,
    idx: usize,
    from: IpAddr,
    now: Instant,
    kind: ReplyKind,
) {
    let Some(s) = sent.get_mut(idx) else { return };
    if s.reply.is_some() {
        return; // a duplicate (a retransmitted SYN expiring again)
    }
    s.reply = Some(ProbeReply {
        from,
        rtt: now.saturating_duration_since(s.at),
        kind,
    });
    if kind == ReplyKind::Destination {
        *dest_ttl = Some(dest_ttl.map_or(s.ttl, |d| d.min(s.ttl)));
    }
}

/// Start one TTL-limited TCP connect; returns its local port (how ICMP errors name it) and
/// a future telling whether the destination answered (connected or refused) within `timeout`.
fn tcp_probe(
    addr: SocketAddr,
    ttl: u8,
    idx: usize,
    timeout: Duration,
) -> io::Result<(u16, futures::future::BoxFuture<'static, TcpDone>)> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    set_ttl(SockRef::from(&socket), addr.is_ipv6(), ttl)?;
    let immediate = match socket.connect(&addr.into()) {
        Ok(()) => Some(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => None,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Some(true),
        Err(e) => return Err(e),
    };
    let local_port = socket
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| io::Error::other("no local port"))?;
    // No TIME_WAIT, nothing left open on the destination when it answered with SYN-ACK.
    let _ = socket.set_linger(Some(Duration::ZERO));
    let fut: futures::future::BoxFuture<'static, TcpDone> = match immediate {
        Some(answered) => Box::pin(async move { (idx, answered, Instant::now()) }),
        None => {
            let stream = tokio::net::TcpStream::from_std(socket.into())?;
            Box::pin(async move {
                let answered = match tokio::time::timeout(timeout, stream.writable()).await {
                    Ok(Ok(())) => match stream.take_error() {
                        Ok(None) => true,
                        Ok(Some(e)) => e.kind() == io::ErrorKind::ConnectionRefused,
                        Err(_) => false,
                    },
                    _ => false,
                };
                (idx, answered, Instant::now())
            })
        }
    };
    Ok((local_port, fut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn probe(ttl: u8, reply: Option<(&str, ReplyKind)>) -> ProbeRecord {
        ProbeRecord {
            ttl,
            reply: reply.map(|(from, kind)| ProbeReply {
                from: ip(from),
                rtt: Duration::from_millis(u64::from(ttl)),
                kind,
            }),
        }
    }

    const TE: ReplyKind = ReplyKind::TimeExceeded;
    const DEST: ReplyKind = ReplyKind::Destination;

    #[test]
    fn hops_end_at_the_destination_which_takes_every_probe_beyond_it() {
        let mut probes = Vec::new();
        for _round in 0..2 {
            probes.push(probe(1, Some(("10.77.0.1", TE))));
            probes.push(probe(2, Some(("10.62.0.2", TE))));
            probes.push(probe(3, Some(("10.9.0.10", DEST))));
        }
        probes.push(probe(4, Some(("10.9.0.10", DEST))));
        probes.push(probe(5, None));
        let outcome = TraceOutcome {
            dest: ip("10.9.0.10"),
            protocol: TraceProtocol::Icmp,
            probes,
        };
        let h = hops(&outcome);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].addr, Some(ip("10.77.0.1")));
        assert_eq!(h[1].addr, Some(ip("10.62.0.2")));
        assert!(h[2].destination);
        assert_eq!((h[2].sent, h[2].received), (4, 3));
        assert!((h[2].loss() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn a_dead_path_shows_one_silent_hop_after_the_last_answer() {
        let mut probes = Vec::new();
        for ttl in 1..=30 {
            let reply = match ttl {
                1 => Some(("10.77.0.1", TE)),
                2 => Some(("10.62.0.2", TE)),
                3 => Some(("10.62.1.2", TE)),
                _ => None,
            };
            probes.push(probe(ttl, reply));
        }
        let h = hops(&TraceOutcome {
            dest: ip("10.9.0.10"),
            protocol: TraceProtocol::Icmp,
            probes,
        });
        assert_eq!(h.len(), 4);
        assert_eq!(h[2].addr, Some(ip("10.62.1.2")));
        assert_eq!(h[3].addr, None);
        assert_eq!(h[3].received, 0);
    }

    #[test]
    fn an_unreachable_router_ends_the_trace() {
        let probes = vec![
            probe(1, Some(("10.77.0.1", TE))),
            probe(
                2,
                Some(("10.77.0.1", ReplyKind::Unreachable(Unreachable::Network))),
            ),
            probe(
                3,
                Some(("10.77.0.1", ReplyKind::Unreachable(Unreachable::Network))),
            ),
        ];
        let h = hops(&TraceOutcome {
            dest: ip("10.66.0.1"),
            protocol: TraceProtocol::Icmp,
            probes,
        });
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].unreachable, Some(Unreachable::Network));
        assert_eq!(h[1].sent, 2);
    }

    #[test]
    fn the_most_frequent_responder_names_the_hop() {
        let probes = vec![
            probe(1, Some(("10.0.0.2", TE))),
            probe(1, Some(("10.0.0.1", TE))),
            probe(1, Some(("10.0.0.1", TE))),
            probe(2, Some(("10.9.0.10", DEST))),
        ];
        let h = hops(&TraceOutcome {
            dest: ip("10.9.0.10"),
            protocol: TraceProtocol::Icmp,
            probes,
        });
        assert_eq!(h[0].addr, Some(ip("10.0.0.1")));
        assert_eq!(h[0].others, vec![ip("10.0.0.2")]);
    }

    /// A time-exceeded from 10.62.0.2 quoting our echo request to 10.9.0.10 (captured layout).
    #[test]
    fn parses_a_time_exceeded_quoting_an_echo_request() {
        let mut inner_ip = vec![0x45, 0, 0, 44, 0, 0, 0x40, 0, 1, PROTO_ICMP4, 0, 0];
        inner_ip.extend_from_slice(&[10, 77, 0, 10, 10, 9, 0, 10]);
        let echo = echo_request(false, 0xbeef, 7);
        let mut icmp = vec![ICMP4_TIME_EXCEEDED, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&inner_ip);
        icmp.extend_from_slice(&echo[..8]);
        let mut outer = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, PROTO_ICMP4, 0, 0];
        outer.extend_from_slice(&[10, 62, 0, 2, 10, 77, 0, 10]);
        outer.extend_from_slice(&icmp);
        let (from, q) = parse_v4(&outer).unwrap();
        assert_eq!(from, ip("10.62.0.2"));
        assert_eq!(
            q,
            Quoted::Error {
                kind: ErrorKind::TimeExceeded,
                dest: ip("10.9.0.10"),
                probe: QuotedProbe::Echo {
                    ident: 0xbeef,
                    seq: 7
                }
            }
        );
        assert_eq!(
            checksum(&echo),
            0,
            "a packet with its checksum sums to zero"
        );
    }

    #[test]
    fn parses_a_v6_unreachable_quoting_a_tcp_syn() {
        let mut inner = vec![0x60, 0, 0, 0, 0, 20, PROTO_TCP, 1];
        inner.extend_from_slice(&ip_bytes("fd77::10"));
        inner.extend_from_slice(&ip_bytes("2001:db8::5"));
        inner.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 1]);
        let mut icmp = vec![ICMP6_UNREACH, 1, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&inner);
        let (from, q) = parse_v6(ip("fd77::1"), &icmp).unwrap();
        assert_eq!(from, ip("fd77::1"));
        assert_eq!(
            q,
            Quoted::Error {
                kind: ErrorKind::Unreachable(Unreachable::Prohibited),
                dest: ip("2001:db8::5"),
                probe: QuotedProbe::Tcp {
                    src_port: 50000,
                    dst_port: 443
                }
            }
        );
    }

    fn ip_bytes(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn truncated_packets_are_ignored() {
        assert_eq!(parse_v4(&[]), None);
        assert_eq!(parse_v4(&[0x45, 0, 0]), None);
        assert_eq!(parse_v6(ip("::1"), &[ICMP6_TIME_EXCEEDED, 0, 0]), None);
    }
}
