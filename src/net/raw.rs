//! Raw-socket TCP and ICMP probing: the transport of a half-open SYN scan and of nmap-style
//! host discovery (ICMP echo + SYN to 443 + ACK to 80 + ICMP timestamp). Needs CAP_NET_RAW.
//!
//! ```text
//!   send_syn / send_ack ──► IPPROTO_RAW (v4) / raw TCP v6 ──► wire   (no state kept per probe)
//!   send_batch          ──► one IPPROTO_RAW socket per core (send.rs)
//!   send_timestamp      ──► raw ICMPv4     ──► wire
//!
//!   wire ──► raw TCP v4   ─┐ one receive thread (receive.rs): recvmmsg until EAGAIN,
//!            raw TCP v6   ─┤ parse with pnet views, verify the stamp (packet.rs),
//!            raw ICMPv4   ─┤ look the probed ip up in the subscriber map (one short lock)
//!            raw ICMPv6   ─┘ ──► every Subscription of that ip (unbounded channels)
//!
//!   send_echo (TTL set per send) ──► raw ICMPv4 / ICMPv6 ──► wire   (traceroute)
//!   raw ICMPv4 / ICMPv6 readers, while an IcmpWatch exists ──► quote.rs parse
//!        ──► the one IcmpWatch holding that echo identifier or TCP source port
//! ```
//!
//! One [`RawProber`] per process, shared by clone. It sends from one fixed source port that a
//! bound, non-listening TCP socket reserves: the kernel never gives that port to a connect(),
//! and answers each SYN-ACK with a RST itself, so the scan stays half-open. Replies are
//! matched without any table of probes in flight: the sequence number carries a keyed hash of
//! (probe kind, peer, peer port, our port) plus the caller's tag (see `packet.rs`), and only a
//! reply echoing it is delivered. Retransmission and timeouts belong to the caller.

pub(crate) mod packet;
pub mod quote;
mod receive;
mod send;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::sync::mpsc;
use tokio::time::Instant;

use packet::{Key, TCP_PROBE_MAX, TIMESTAMP_LEN};
pub use packet::{Probe, ReplyKind};
use quote::{Quoted, QuotedProbe};

/// Receive buffer asked for with SO_RCVBUF (capped by net.core.rmem_max) and, with
/// CAP_NET_ADMIN (root), SO_RCVBUFFORCE: a 65,535-port burst of RSTs is ~60 MB of skbs if the
/// reader falls behind.
const RECV_BUFFER: usize = 32 << 20;
/// Send buffer: raw sends wait in it while the device queue is busy.
const SEND_BUFFER: usize = 4 << 20;
/// Source addresses remembered; the map is emptied when full (a re-lookup is one syscall trio).
const SOURCE_CACHE_MAX: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error(
        "raw sockets need CAP_NET_RAW (run as root or grant it: setcap cap_net_raw+ep <netdx>)"
    )]
    Permission,
    #[error("could not start the raw receive thread: {0}")]
    Thread(#[source] io::Error),
    #[error("could not reserve a TCP source port: {0}")]
    SourcePort(#[source] io::Error),
    #[error("could not open the {what} socket: {source}")]
    Socket {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

pub type Result<T> = std::result::Result<T, RawError>;

/// A reply proven to answer one of our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawReply {
    /// The probed address (for an ICMP error, the address it quotes; the sender is in
    /// [`ReplyKind::Unreachable`]).
    pub ip: IpAddr,
    /// The probed (remote) port; 0 for ICMP timestamp probes.
    pub port: u16,
    pub kind: ReplyKind,
    /// Which probe it answers: a RST to [`Probe::Ack`] proves the host is up, not the port
    /// closed.
    pub probe: Probe,
    /// The tag given when sending.
    pub tag: u8,
    /// When the kernel received it (its receive timestamp).
    pub at: Instant,
}

/// Counters of the receive thread, for benchmarks and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawStats {
    /// Packets read from all raw sockets (every ICMP packet the host receives, and TCP
    /// segments to the probes' source port).
    pub read: u64,
    /// Packets that proved to answer our probes.
    pub matched: u64,
    /// Matched replies handed to at least one subscriber.
    pub delivered: u64,
}

/// Shares raw sockets between every scan of the process; cheap to clone.
#[derive(Clone)]
pub struct RawProber {
    inner: Arc<Inner>,
}

struct Inner {
    tcp4: Socket,
    tcp6: Option<Socket>,
    icmp4: Socket,
    /// Sends traceroute echo requests (its reader is a clone of the same descriptor).
    icmp6: Option<Socket>,
    /// Held around every send on `icmp4`/`icmp6`: a traceroute send sets the TTL (hop limit),
    /// sends and puts the default back, so no other send ever leaves with a probe's TTL.
    send_ttl: Mutex<()>,
    /// The ICMPv4 socket's TTL before any traceroute send changed it.
    default_ttl4: u32,
    shared: Arc<Shared>,
    sources: Mutex<HashMap<IpAddr, IpAddr>>,
    /// IPv4 TCP probes go out here (helper threads started by [`RawProber::start`]).
    lanes: send::Lanes,
    /// The receive thread, started by [`RawProber::start`].
    receiving: Mutex<Receiving>,
    /// Bound, never listening: keeps the source port ours (v4, and v6 when available).
    _port_guards: Vec<Socket>,
}

/// The receive side of a prober: its sockets until [`RawProber::start`], then the thread.
enum Receiving {
    Pending(Vec<(Socket, Feed)>),
    /// Stops and joins the thread when dropped.
    Running {
        _thread: receive::Receiver,
    },
}

/// Subscribers by probed address, each with the id its [`Subscription`] removes on drop.
type Subscribers = HashMap<IpAddr, Vec<(u64, mpsc::UnboundedSender<RawReply>)>>;

/// What an [`IcmpWatch`] asks for: ICMP about one echo identifier or one local TCP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Echo replies with this identifier, and ICMP errors quoting an echo request with it.
    Echo { v6: bool, ident: u16 },
    /// ICMP errors quoting a TCP segment sent from this local port.
    TcpFrom { v6: bool, port: u16 },
}

impl Interest {
    /// The interest a parsed message answers to.
    fn of(v6: bool, message: &Quoted) -> Interest {
        match *message {
            Quoted::EchoReply { ident, .. }
            | Quoted::Error {
                probe: QuotedProbe::Echo { ident, .. },
                ..
            } => Interest::Echo { v6, ident },
            Quoted::Error {
                probe: QuotedProbe::Tcp { src_port, .. },
                ..
            } => Interest::TcpFrom { v6, port: src_port },
        }
    }
}

/// An ICMP message for an [`IcmpWatch`]: who sent it, what it says, when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpReply {
    pub from: IpAddr,
    pub message: Quoted,
    pub at: Instant,
}

/// Watches by interest, each with the id of the [`IcmpWatch`] that holds it.
type Watchers = HashMap<Interest, (u64, mpsc::UnboundedSender<IcmpReply>)>;

/// What the receive thread and the subscriptions share.
struct Shared {
    key: Key,
    subscribers: Mutex<Subscribers>,
    watchers: Mutex<Watchers>,
    /// Interests registered: while 0 the ICMP readers skip the traceroute parse.
    watching: AtomicUsize,
    next_id: AtomicU64,
    read: AtomicU64,
    matched: AtomicU64,
    delivered: AtomicU64,
}

impl Shared {
    fn subscribers(&self) -> MutexGuard<'_, Subscribers> {
        // A panic while holding this lock cannot leave the map half-updated: take it anyway.
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new(sport: u16) -> Shared {
        Shared {
            key: Key::new(sport),
            subscribers: Mutex::new(HashMap::new()),
            watchers: Mutex::new(HashMap::new()),
            watching: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            read: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        }
    }

    fn subscribe(shared: &Arc<Shared>, ip: IpAddr) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        shared.subscribers().entry(ip).or_default().push((id, tx));
        Subscription {
            shared: Arc::clone(shared),
            ip,
            id,
            rx,
        }
    }

    fn watchers(&self) -> MutexGuard<'_, Watchers> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands an ICMP message to the watch holding its identifier or port, if any.
    fn deliver_icmp(&self, v6: bool, from: IpAddr, message: Quoted, at: Instant) {
        let watchers = self.watchers();
        if let Some((_, tx)) = watchers.get(&Interest::of(v6, &message)) {
            let _ = tx.send(IcmpReply { from, message, at });
        }
    }

    fn deliver(&self, reply: RawReply) {
        self.matched.fetch_add(1, Ordering::Relaxed);
        let subs = self.subscribers();
        if let Some(list) = subs.get(&reply.ip) {
            for (_, tx) in list {
                let _ = tx.send(reply);
            }
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Replies from one address, until dropped.
pub struct Subscription {
    shared: Arc<Shared>,
    ip: IpAddr,
    id: u64,
    rx: mpsc::UnboundedReceiver<RawReply>,
}

impl Subscription {
    /// The next reply from [`Subscription::ip`]; `None` once the prober is gone.
    pub async fn recv(&mut self) -> Option<RawReply> {
        self.rx.recv().await
    }

    /// A reply already received, without waiting.
    pub fn try_recv(&mut self) -> Option<RawReply> {
        self.rx.try_recv().ok()
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut subs = self.shared.subscribers();
        if let Some(list) = subs.get_mut(&self.ip) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                subs.remove(&self.ip);
            }
        }
    }
}

/// ICMP messages about the probes of one traceroute: echo replies and errors naming one of
/// its [`Interest`]s, until dropped. An interest belongs to one watch at a time.
pub struct IcmpWatch {
    shared: Arc<Shared>,
    id: u64,
    interests: Vec<Interest>,
    tx: mpsc::UnboundedSender<IcmpReply>,
    rx: mpsc::UnboundedReceiver<IcmpReply>,
}

impl IcmpWatch {
    /// Registers `interest`; false when another watch holds it (pick another identifier).
    pub fn add(&mut self, interest: Interest) -> bool {
        let mut watchers = self.shared.watchers();
        match watchers.get(&interest) {
            Some((id, _)) => *id == self.id,
            None => {
                watchers.insert(interest, (self.id, self.tx.clone()));
                self.shared.watching.fetch_add(1, Ordering::Relaxed);
                self.interests.push(interest);
                true
            }
        }
    }

    /// The next message. The watch keeps a sender of its own (to register more interests),
    /// so this waits for ever once the prober is gone: callers bound it with their timeout.
    pub async fn recv(&mut self) -> Option<IcmpReply> {
        self.rx.recv().await
    }
}

impl Drop for IcmpWatch {
    fn drop(&mut self) {
        let mut watchers = self.shared.watchers();
        for interest in &self.interests {
            if watchers.get(interest).is_some_and(|(id, _)| *id == self.id) {
                watchers.remove(interest);
                self.shared.watching.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping the senders ends every subscription's recv() with None (a watch keeps a
        // sender of its own, so its recv() simply waits; traces end on their timeout).
        self.shared.subscribers().clear();
        self.shared.watchers().clear();
    }
}

/// How the receive thread reads what a socket delivers.
#[derive(Clone, Copy)]
enum Feed {
    /// Raw IPv4 sockets deliver the IP header too.
    Ipv4,
    /// The raw ICMPv4 socket: IP header too, and traceroute messages.
    Icmp4,
    /// Raw IPv6 sockets deliver the TCP segment only; the peer is the recvfrom address.
    Tcp6,
    Icmp6,
}

impl RawProber {
    /// Reserves a source port, opens the raw sockets (TCP v4, ICMPv4; TCP v6 and ICMPv6 when
    /// the host has IPv6); nothing is read before [`RawProber::start`]. Fails with
    /// [`RawError::Permission`] without CAP_NET_RAW.
    pub fn open() -> Result<RawProber> {
        let tcp4 = raw_socket(Domain::IPV4, Protocol::TCP, "raw TCP/IPv4")?;
        let icmp4 = raw_socket(Domain::IPV4, Protocol::ICMPV4, "raw ICMPv4")?;
        // IPv6 is optional: a host without it still scans IPv4.
        let tcp6 = raw_socket(Domain::IPV6, Protocol::TCP, "raw TCP/IPv6").ok();
        let icmp6 = raw_socket(Domain::IPV6, Protocol::ICMPV6, "raw ICMPv6").ok();
        let (sport, guards) = reserve_port().map_err(RawError::SourcePort)?;
        // Only answers to our probes (all sent from `sport`) reach the raw TCP sockets.
        for (sock, v6, what) in [
            (Some(&tcp4), false, "raw TCP/IPv4"),
            (tcp6.as_ref(), true, "raw TCP/IPv6"),
        ] {
            if let Some(sock) = sock {
                sock.attach_filter(&crate::net::sys::packet_filter::tcp_to_port(v6, sport))
                    .map_err(|source| RawError::Socket { what, source })?;
            }
        }
        let lanes = send::Lanes::open(SEND_BUFFER).map_err(|source| RawError::Socket {
            what: "IPPROTO_RAW",
            source,
        })?;

        let shared = Arc::new(Shared::new(sport));
        let feeds = [
            (Some(&tcp4), Feed::Ipv4, "raw TCP/IPv4"),
            (Some(&icmp4), Feed::Icmp4, "raw ICMPv4"),
            (tcp6.as_ref(), Feed::Tcp6, "raw TCP/IPv6"),
            (icmp6.as_ref(), Feed::Icmp6, "raw ICMPv6"),
        ];
        let mut readers = Vec::new();
        for (sock, feed, what) in feeds {
            let Some(sock) = sock else { continue };
            let reader = sock
                .try_clone()
                .and_then(|s| receive::timestamp(&s).map(|()| s))
                .map_err(|source| RawError::Socket { what, source })?;
            readers.push((reader, feed));
        }
        let default_ttl4 = icmp4.ttl_v4().map_err(|source| RawError::Socket {
            what: "raw ICMPv4",
            source,
        })?;
        Ok(RawProber {
            inner: Arc::new(Inner {
                tcp4,
                tcp6,
                icmp4,
                icmp6,
                send_ttl: Mutex::new(()),
                default_ttl4,
                shared,
                sources: Mutex::new(HashMap::new()),
                receiving: Mutex::new(Receiving::Pending(readers)),
                lanes,
                _port_guards: guards,
            }),
        })
    }

    /// Starts reading replies (a thread of its own). Call once privileges are dropped: the
    /// reader parses what the network sends. Until then nothing is read and no thread runs
    /// (privileges are dropped per thread). Calling it again does nothing.
    pub fn start(&self) -> Result<()> {
        let mut receiving = self
            .inner
            .receiving
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Receiving::Pending(readers) = &mut *receiving {
            let readers = std::mem::take(readers);
            let receiver = receive::Receiver::spawn(readers, Arc::clone(&self.inner.shared))
                .map_err(RawError::Thread)?;
            *receiving = Receiving::Running { _thread: receiver };
        }
        self.inner.lanes.start().map_err(RawError::Thread)
    }

    /// The source port of every TCP probe.
    pub fn source_port(&self) -> u16 {
        self.inner.shared.key.sport()
    }

    /// Whether IPv6 probes can be sent.
    pub fn has_ipv6(&self) -> bool {
        self.inner.tcp6.is_some()
    }

    /// Replies from `ip` (the probed address) are delivered on the returned subscription until
    /// it is dropped. Several subscriptions to one address each get every reply.
    pub fn subscribe(&self, ip: IpAddr) -> Subscription {
        Shared::subscribe(&self.inner.shared, ip)
    }

    /// Sends one SYN to `dst`; `tag` comes back in the reply. Never waits: a full socket
    /// buffer gives `WouldBlock` (or ENOBUFS) and the caller tries again later. IPv4-mapped
    /// IPv6 addresses are not translated: pass the IPv4 form. An unroutable `dst` fails here
    /// (the source-address lookup), before anything is sent.
    pub fn send_syn(&self, dst: SocketAddr, tag: u8) -> io::Result<()> {
        self.send_tcp(dst, Probe::Syn, tag)
    }

    /// Sends one bare ACK to `dst`: any RST back proves the host is up.
    pub fn send_ack(&self, dst: SocketAddr, tag: u8) -> io::Result<()> {
        self.send_tcp(dst, Probe::Ack, tag)
    }

    /// Sends an ICMP timestamp request (type 13); the reply (type 14) comes back as
    /// [`ReplyKind::TimestampReply`] with port 0.
    pub fn send_timestamp(&self, dst: Ipv4Addr, tag: u8) -> io::Result<()> {
        let mut buf = [0u8; TIMESTAMP_LEN];
        packet::build_timestamp(&mut buf, &self.inner.shared.key, dst, tag);
        let to = SockAddr::from(SocketAddr::new(IpAddr::V4(dst), 0));
        let _ttl = self.send_ttl();
        self.inner.icmp4.send_to(&buf, &to).map(drop)
    }

    /// Whether echo requests can be sent to IPv6 addresses.
    pub fn has_icmp6(&self) -> bool {
        self.inner.icmp6.is_some()
    }

    /// ICMP about probes named by interests registered on the returned watch (traceroute).
    pub fn watch_icmp(&self) -> IcmpWatch {
        let (tx, rx) = mpsc::unbounded_channel();
        IcmpWatch {
            shared: Arc::clone(&self.inner.shared),
            id: self.inner.shared.next_id.fetch_add(1, Ordering::Relaxed),
            interests: Vec::new(),
            tx,
            rx,
        }
    }

    /// Sends one echo request to `dst` with this TTL (hop limit). The TTL is a socket option
    /// of the shared socket: it is set, the packet sent and the default put back under one
    /// lock, which costs two setsockopt calls per probe but no socket per TTL or per trace.
    pub fn send_echo(&self, dst: IpAddr, ttl: u8, ident: u16, seq: u16) -> io::Result<()> {
        let packet = quote::echo_request(dst.is_ipv6(), ident, seq);
        let to = SockAddr::from(SocketAddr::new(dst, 0));
        let _ttl = self.send_ttl();
        match dst {
            IpAddr::V4(_) => {
                let sock = &self.inner.icmp4;
                sock.set_ttl_v4(u32::from(ttl))?;
                let sent = sock.send_to(&packet, &to);
                let restored = sock.set_ttl_v4(self.inner.default_ttl4);
                sent?;
                restored
            }
            IpAddr::V6(_) => {
                // Only traceroute sends on this socket: no default to put back.
                let sock = self.inner.icmp6.as_ref().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "no raw ICMPv6 socket")
                })?;
                sock.set_unicast_hops_v6(u32::from(ttl))?;
                sock.send_to(&packet, &to).map(drop)
            }
        }
    }

    fn send_ttl(&self) -> MutexGuard<'_, ()> {
        self.inner
            .send_ttl
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Counters since [`RawProber::open`].
    pub fn stats(&self) -> RawStats {
        let s = &self.inner.shared;
        RawStats {
            read: s.read.load(Ordering::Relaxed),
            matched: s.matched.load(Ordering::Relaxed),
            delivered: s.delivered.load(Ordering::Relaxed),
        }
    }

    /// Sends one probe (SYN or ACK, `tag` each) to every `(port, probe, tag)` of `ip`, in
    /// parallel on every lane for IPv4. Refused sends are silence, as with
    /// [`RawProber::send_syn`]. Returns once the caller's share is sent; the helpers' shares
    /// leave at most one batch later (see `send.rs`).
    pub fn send_batch(&self, ip: IpAddr, probes: &[(u16, Probe, u8)]) -> io::Result<()> {
        let src = self.source_for(ip)?;
        let (IpAddr::V4(src), IpAddr::V4(_)) = (src, ip) else {
            for &(port, probe, tag) in probes {
                let _ = self.send_tcp(SocketAddr::new(ip, port), probe, tag);
            }
            return Ok(());
        };
        let to = SockAddr::from(SocketAddr::new(ip, 0));
        let frames = probes
            .iter()
            .map(|&(port, probe, tag)| self.frame(src, SocketAddr::new(ip, port), probe, tag, &to))
            .collect();
        self.inner.lanes.send(frames);
        Ok(())
    }

    fn frame(
        &self,
        src: Ipv4Addr,
        dst: SocketAddr,
        probe: Probe,
        tag: u8,
        to: &SockAddr,
    ) -> send::Frame {
        let mut buf = [0u8; packet::IPV4_TCP_PROBE_MAX];
        let len = packet::build_ipv4_tcp(&mut buf, &self.inner.shared.key, src, dst, probe, tag);
        send::Frame {
            buf,
            len,
            to: to.clone(),
        }
    }

    fn send_tcp(&self, dst: SocketAddr, probe: Probe, tag: u8) -> io::Result<()> {
        if let (IpAddr::V4(ip), SocketAddr::V4(_)) = (self.source_for(dst.ip())?, dst) {
            let to = SockAddr::from(SocketAddr::new(dst.ip(), 0));
            return self
                .inner
                .lanes
                .send_one(&self.frame(ip, dst, probe, tag, &to));
        }
        let sock =
            match dst {
                SocketAddr::V4(_) => &self.inner.tcp4,
                SocketAddr::V6(_) => self.inner.tcp6.as_ref().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "no raw IPv6 socket")
                })?,
            };
        let src = self.source_for(dst.ip())?;
        let mut buf = [0u8; TCP_PROBE_MAX];
        let len = packet::build_tcp(&mut buf, &self.inner.shared.key, src, dst, probe, tag);
        // Port 0: a raw IPv6 socket rejects any port but 0 or its protocol.
        let to = SockAddr::from(SocketAddr::new(dst.ip(), 0));
        sock.send_to(&buf[..len], &to).map(drop)
    }

    /// The address the kernel sends to `dst` from (it is in the TCP checksum). A connected UDP
    /// socket asks the routing table; connect() on UDP sends nothing.
    fn source_for(&self, dst: IpAddr) -> io::Result<IpAddr> {
        let cached = self.sources().get(&dst).copied();
        if let Some(src) = cached {
            return Ok(src);
        }
        let any: IpAddr = match dst {
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let udp = std::net::UdpSocket::bind((any, 0))?;
        udp.connect((dst, 9))?;
        let src = udp.local_addr()?.ip();
        let mut sources = self.sources();
        if sources.len() >= SOURCE_CACHE_MAX {
            sources.clear();
        }
        sources.insert(dst, src);
        Ok(src)
    }

    fn sources(&self) -> MutexGuard<'_, HashMap<IpAddr, IpAddr>> {
        self.inner.sources.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A non-blocking raw socket with large buffers.
fn raw_socket(domain: Domain, proto: Protocol, what: &'static str) -> Result<Socket> {
    let sock = Socket::new(domain, Type::RAW, Some(proto)).map_err(|source| {
        if source.kind() == io::ErrorKind::PermissionDenied {
            RawError::Permission
        } else {
            RawError::Socket { what, source }
        }
    })?;
    sock.set_nonblocking(true)
        .map_err(|source| RawError::Socket { what, source })?;
    // Best effort: smaller buffers only cost replies under load, which the caller retries.
    let _ = sock.set_recv_buffer_size(RECV_BUFFER);
    let _ =
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &RECV_BUFFER);
    let _ = sock.set_send_buffer_size(SEND_BUFFER);
    Ok(sock)
}

/// Binds TCP sockets (not listening) on one port for IPv4 and, when the host has IPv6, IPv6.
fn reserve_port() -> io::Result<(u16, Vec<Socket>)> {
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no port free for v4 and v6");
    for _ in 0..16 {
        let v4 = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        v4.bind(&SockAddr::from(SocketAddr::from((
            Ipv4Addr::UNSPECIFIED,
            0,
        ))))?;
        let port = v4
            .local_addr()?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| io::Error::other("bound socket without an inet address"))?;
        let v6 = match Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)) {
            Ok(s) => s,
            Err(_) => return Ok((port, vec![v4])), // no IPv6 on this host
        };
        v6.set_only_v6(true)?;
        match v6.bind(&SockAddr::from(SocketAddr::from((
            Ipv6Addr::UNSPECIFIED,
            port,
        )))) {
            Ok(()) => return Ok((port, vec![v4, v6])),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(_) => return Ok((port, vec![v4])),
        }
    }
    Err(last)
}

/// Traceroute messages from the ICMP sockets, to the watch that asked for them.
fn watched(shared: &Shared, feed: Feed, data: &[u8], from: IpAddr, at: Instant) {
    let (v6, parsed) = match feed {
        Feed::Icmp4 => (false, quote::parse_v4(data)),
        Feed::Icmp6 => (true, quote::parse_v6(from, data)),
        Feed::Ipv4 | Feed::Tcp6 => return,
    };
    if let Some((from, message)) = parsed {
        shared.deliver_icmp(v6, from, message, at);
    }
}

fn parse(key: &Key, feed: Feed, data: &[u8], from: IpAddr) -> Option<packet::Matched> {
    match (feed, from) {
        (Feed::Ipv4 | Feed::Icmp4, _) => packet::parse_ipv4(key, data),
        (Feed::Tcp6, IpAddr::V6(_)) => packet::parse_tcp(key, from, data),
        (Feed::Icmp6, IpAddr::V6(peer)) => packet::parse_icmpv6(key, peer, data),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(ip: IpAddr, port: u16) -> RawReply {
        RawReply {
            ip,
            port,
            kind: ReplyKind::Rst,
            probe: Probe::Syn,
            tag: 0,
            at: Instant::now(),
        }
    }

    fn watch(shared: &Arc<Shared>) -> IcmpWatch {
        let (tx, rx) = mpsc::unbounded_channel();
        IcmpWatch {
            shared: Arc::clone(shared),
            id: shared.next_id.fetch_add(1, Ordering::Relaxed),
            interests: Vec::new(),
            tx,
            rx,
        }
    }

    fn echo_error(ident: u16) -> Quoted {
        Quoted::Error {
            kind: quote::ErrorKind::TimeExceeded,
            dest: Ipv4Addr::new(10, 9, 0, 10).into(),
            probe: QuotedProbe::Echo { ident, seq: 3 },
        }
    }

    #[test]
    fn icmp_goes_to_the_one_watch_of_its_identifier_or_port_only() {
        let shared = Arc::new(Shared::new(40_000));
        let router: IpAddr = Ipv4Addr::new(10, 62, 0, 2).into();
        let mut icmp = watch(&shared);
        let mut tcp = watch(&shared);
        assert!(icmp.add(Interest::Echo {
            v6: false,
            ident: 7
        }));
        assert!(
            !tcp.add(Interest::Echo {
                v6: false,
                ident: 7
            }),
            "an identifier has one owner"
        );
        assert!(tcp.add(Interest::TcpFrom {
            v6: false,
            port: 50_000
        }));

        let now = Instant::now();
        shared.deliver_icmp(false, router, echo_error(7), now);
        shared.deliver_icmp(false, router, echo_error(8), now); // nobody's
        shared.deliver_icmp(true, router, echo_error(7), now); // the other family
        let to_tcp = Quoted::Error {
            kind: quote::ErrorKind::Unreachable(13),
            dest: Ipv4Addr::new(10, 9, 0, 10).into(),
            probe: QuotedProbe::Tcp {
                src_port: 50_000,
                dst_port: 80,
            },
        };
        shared.deliver_icmp(false, router, to_tcp, now);
        shared.deliver_icmp(false, router, Quoted::EchoReply { ident: 7, seq: 1 }, now);

        assert_eq!(icmp.rx.try_recv().map(|r| r.message), Ok(echo_error(7)));
        assert_eq!(
            icmp.rx.try_recv().map(|r| r.message),
            Ok(Quoted::EchoReply { ident: 7, seq: 1 })
        );
        assert!(
            icmp.rx.try_recv().is_err(),
            "nothing else for the echo watch"
        );
        assert_eq!(
            tcp.rx.try_recv().map(|r| (r.from, r.message)),
            Ok((router, to_tcp))
        );
        assert!(tcp.rx.try_recv().is_err(), "nothing else for the TCP watch");

        drop(icmp);
        assert_eq!(shared.watching.load(Ordering::Relaxed), 1);
        let mut next = watch(&shared);
        assert!(
            next.add(Interest::Echo {
                v6: false,
                ident: 7
            }),
            "free again once its watch is dropped"
        );
        drop(tcp);
        drop(next);
        assert!(shared.watchers().is_empty());
        assert_eq!(shared.watching.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn every_subscriber_of_an_address_gets_each_reply_until_it_drops() {
        let shared = Arc::new(Shared::new(40_000));
        let web: IpAddr = Ipv4Addr::new(10, 77, 0, 20).into();
        let db: IpAddr = Ipv4Addr::new(10, 77, 0, 30).into();
        let mut discovery = Shared::subscribe(&shared, web);
        let mut scan = Shared::subscribe(&shared, web);
        let mut other = Shared::subscribe(&shared, db);

        shared.deliver(reply(web, 22));
        assert_eq!(discovery.try_recv().map(|r| r.port), Some(22));
        assert_eq!(scan.try_recv().map(|r| r.port), Some(22));
        assert_eq!(
            other.try_recv(),
            None,
            "a reply goes to its own address only"
        );

        drop(discovery);
        shared.deliver(reply(web, 23));
        assert_eq!(scan.recv().await.map(|r| r.port), Some(23));

        drop(scan);
        assert!(
            !shared.subscribers().contains_key(&web),
            "unregistered on drop"
        );
        shared.deliver(reply(web, 24)); // nobody listens: counted, not delivered
        assert_eq!(shared.matched.load(Ordering::Relaxed), 3);
        assert_eq!(shared.delivered.load(Ordering::Relaxed), 2);

        // The prober going away ends the remaining subscriptions.
        shared.subscribers().clear();
        assert_eq!(other.recv().await, None);
    }
}
