//! Traceroute with TTL-limited probes: ICMP echo requests, or TCP SYNs to a service port when
//! a destination filters ICMP.
//!
//! # How
//! Every TTL from 1 to `max_ttl` is probed at once, in `rounds` rounds `interval` apart (as
//! mtr and trippy do, rather than one hop after the other as classic traceroute does), so a
//! whole trace costs about `rounds x interval` plus one round trip, and a dead path one
//! `timeout` more. Once the destination has answered at some TTL, later rounds stop there.
//!
//! Echo requests go out through the session's raw ICMP sockets ([`RawProber::send_echo`], the
//! TTL set per send) and replies come from its long-lived ICMP readers: a trace registers an
//! [`IcmpWatch`] for its echo identifier (and, for TCP, each probe's local port), so a trace
//! opens no raw socket of its own. Routers answer an expiring probe with ICMP time-exceeded
//! quoting the probe's headers, which say which probe it was (the echo identifier and sequence
//! number, or the TCP source port). The destination answers an echo request with an echo
//! reply, a SYN with SYN-ACK or RST (seen by the probe's own socket: TCP probes are ordinary
//! non-blocking connects with a TTL, within the session's connect budget).
//!
//! # Privilege
//! Time-exceeded messages are only delivered to raw sockets (an unprivileged ICMP socket never
//! sees them), so a trace needs `CAP_NET_RAW`: it takes the session's [`RawProber`], and
//! without one the caller turns the session's [`RawError`] into [`TraceError::NeedsRaw`]
//! (`TraceError::from`) and says so.
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
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::net::raw::quote::{ErrorKind, Quoted, QuotedProbe};
use crate::net::raw::{IcmpWatch, Interest, RawError, RawProber};

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "a traceroute needs raw ICMP sockets (CAP_NET_RAW): {hint}",
        hint = crate::net::sys::privilege::GRANT_HINT
    )]
    NeedsRaw,
    #[error("the session's raw sockets are not available: {0}")]
    Unavailable(String),
    #[error("no echo identifier free for another trace")]
    Busy,
    #[error("traceroute socket error: {0}")]
    Io(#[from] io::Error),
}

impl From<&RawError> for TraceError {
    fn from(e: &RawError) -> Self {
        match e {
            RawError::Permission => TraceError::NeedsRaw,
            other => TraceError::Unavailable(other.to_string()),
        }
    }
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

// --- the trace -------------------------------------------------------------------------------

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
    raw: &RawProber,
    dest: IpAddr,
    protocol: TraceProtocol,
    plan: TracePlan,
    cancel: &CancellationToken,
) -> Result<TraceOutcome> {
    let v6 = dest.is_ipv6();
    if v6 && protocol == TraceProtocol::Icmp && !raw.has_icmp6() {
        return Err(TraceError::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "no raw ICMPv6 socket on this host",
        )));
    }
    let mut watch = raw.watch_icmp();
    let ident = match protocol {
        TraceProtocol::Icmp => own_ident(&mut watch, v6)?,
        TraceProtocol::Tcp(_) => 0, // TCP probes are named by their local port
    };
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
                            let at = Instant::now();
                            // A send error (no route) leaves the probe unanswered, as on the wire.
                            let _ = raw.send_echo(dest, ttl, ident, seq);
                            sent.push(Sent { ttl, at, reply: None });
                        }
                        TraceProtocol::Tcp(port) => {
                            let at = Instant::now();
                            // A probe that cannot even start stays unanswered.
                            let to = SocketAddr::new(dest, port);
                            if let Ok((watched, fut)) =
                                tcp_probe(to, ttl, idx, plan.timeout, &mut watch)
                            {
                                if let Some(local_port) = watched {
                                    by_port.insert(local_port, idx);
                                }
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
            Some(reply) = watch.recv() => {
                let (from, quoted, now) = (reply.from, reply.message, reply.at);
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
                            ErrorKind::Unreachable(code) if v6 => {
                                ReplyKind::Unreachable(Unreachable::from_v6(code))
                            }
                            ErrorKind::Unreachable(code) => {
                                ReplyKind::Unreachable(Unreachable::from_v4(code))
                            }
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

/// Picks an echo identifier no other trace of the process is using, and registers it.
fn own_ident(watch: &mut IcmpWatch, v6: bool) -> Result<u16> {
    for _ in 0..64 {
        let ident: u16 = rand::random();
        if watch.add(Interest::Echo { v6, ident }) {
            return Ok(ident);
        }
    }
    Err(TraceError::Busy)
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

/// Start one TTL-limited TCP connect. Its local port (how ICMP errors name it) is bound and
/// registered on `watch` before the SYN leaves: the first router's time-exceeded can arrive
/// within microseconds, and the session's reader drops what no watch asked for. Returns that
/// port when the watch has it (another trace may still hold a reused port: then the probe's
/// ICMP is not seen here) and a future telling whether the destination answered (connected
/// or refused) within `timeout`.
fn tcp_probe(
    addr: SocketAddr,
    ttl: u8,
    idx: usize,
    timeout: Duration,
    watch: &mut IcmpWatch,
) -> io::Result<(Option<u16>, futures::future::BoxFuture<'static, TcpDone>)> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    set_ttl(SockRef::from(&socket), addr.is_ipv6(), ttl)?;
    let any = match addr {
        SocketAddr::V4(_) => SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)),
    };
    socket.bind(&any.into())?;
    let local_port = socket
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| io::Error::other("no local port"))?;
    let watched = watch
        .add(Interest::TcpFrom {
            v6: addr.is_ipv6(),
            port: local_port,
        })
        .then_some(local_port);
    let immediate = match socket.connect(&addr.into()) {
        Ok(()) => Some(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => None,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Some(true),
        Err(e) => return Err(e),
    };
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
    Ok((watched, fut))
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
}
