//! ARP discovery over pnet's datalink channel.
//!
//! ARP finds every live host of the local segment, firewalled or not: a host that drops all IP
//! traffic still has to answer ARP to take part in the network. It only works for targets on a
//! directly connected network, so [`directly_connected`] decides which targets qualify and the
//! engine uses ICMP/TCP for the rest. Only the addresses we are given are asked about; nothing
//! is swept on our own initiative.
//!
//! One datalink channel per interface, whatever the number of targets, owned by the probe
//! session's [`ArpChannels`]: opened on the interface's first sweep, kept for every later one.
//! Each sweep's requests go out from a blocking thread (`spawn_blocking`); the interface's one
//! receiver thread serves every sweep running on it, with a short read timeout so it notices
//! cancellation and the end of each wait within [`POLL`], and sleeps on its request queue when
//! no sweep runs:
//!
//! ```text
//!  t=0        round 1: who-has to every target, `interval` apart
//!  t=RETRY_GAP round 2: who-has again, only to targets still silent     (`retries` rounds)
//!  last request ─── `wait` ───► stop (or earlier, once every target has answered)
//!  receiver: every valid reply ─► unbounded queue ─► async forwarder ─► caller's `tx`
//! ```
//!
//! Retries go out early rather than each after a full `wait`, so a /24 takes the time to send
//! plus one `wait` (about 0.3 s with the defaults), not `retries + 1` waits.
//!
//! Only a genuine answer to our question counts: an opcode-2 (reply) packet whose target
//! protocol address is the source IP we used for that target, whose target hardware address is
//! our MAC, and whose sender IP is one we asked about and already sent a request to. After a
//! sweep, hosts send unicast ARP *requests* to us to refresh their caches (arp-scan prints them
//! as DUP lines); those are requests and are ignored. Each IP is reported once, with the MAC of
//! its first reply; [`ArpChannels::discover_all`] (the duplicate-IP check) reports every MAC
//! that answers for an address instead.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use pnet::datalink::{self, Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};
use pnet::ipnetwork::IpNetwork;
use pnet::packet::Packet;
use pnet::packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet::packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet::util::MacAddr as PnetMac;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::event::ArpOutcome;
use crate::core::model::MacAddr;
use crate::net::sys::iface_watch::IfaceWatch;
use crate::net::sys::packet_filter;

#[derive(Debug, thiserror::Error)]
pub enum ArpError {
    /// No `CAP_NET_RAW`: the datalink socket could not be opened on this interface.
    #[error(
        "ARP on {0} needs raw packet access (CAP_NET_RAW): run as root or {hint}",
        hint = crate::net::sys::privilege::GRANT_HINT
    )]
    Permission(String),
    /// The interface cannot carry ARP (not Ethernet, vanished, ...).
    #[error("ARP not possible on interface {0}")]
    Interface(String),
    /// An I/O error on the datalink channel of the named interface.
    #[error("ARP I/O error on {0}: {1}")]
    Io(String, #[source] io::Error),
}

pub type Result<T> = std::result::Result<T, ArpError>;

/// Timing of an ARP discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpConfig {
    /// How long to wait for replies after the last request. Default 250 ms: a LAN answers in
    /// well under 10 ms, a Wi-Fi client in power save can take a good part of that.
    pub wait: Duration,
    /// Extra rounds of requests for targets that have not answered yet. Default 1. Each round
    /// starts [`RETRY_GAP`] after the previous one started (or as soon as it is sent, if sending
    /// took longer), not after a whole `wait`.
    pub retries: u32,
    /// Gap between two requests. Default 100 µs, so a /24 round goes out in about 25-40 ms
    /// without flooding a switch or a host's receive queue with 254 back-to-back broadcasts.
    pub interval: Duration,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            wait: Duration::from_millis(250),
            retries: 1,
            interval: Duration::from_micros(100),
        }
    }
}

/// What one discovery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArpStats {
    /// Targets that were sent at least one request (directly connected ones only).
    pub requested: usize,
    /// Targets whose reply was delivered on `tx` (each at most once).
    pub replied: usize,
}

/// Time between the starts of two request rounds: long enough for a LAN's replies to the
/// first round to arrive (so they are not asked twice), short enough that retries stay well
/// inside the `wait` that follows the last round.
pub const RETRY_GAP: Duration = Duration::from_millis(75);

/// Read timeout of the receiver: how quickly it notices cancellation and the end of the wait.
const POLL: Duration = Duration::from_millis(10);

/// An Ethernet frame carrying an ARP packet, padded to the Ethernet minimum of 60 bytes
/// (without FCS) so that no driver or switch has to pad or drop a runt.
const FRAME_LEN: usize = 60;
const ETH_HEADER_LEN: usize = 14;
const ARP_LEN: usize = 28;

/// Which of `targets` are on a directly connected IPv4 network of an up, non-loopback interface
/// with an IPv4 address, grouped per interface, with the source IP to use for them. Pure apart
/// from reading the interface list (`pnet::datalink::interfaces()`).
///
/// Interfaces that cannot do ARP (point-to-point links such as VPN tunnels, `NOARP`, no MAC) are
/// not considered, and neither are our own addresses, nor a subnet's network and broadcast
/// addresses (for prefixes up to /30): none of these can answer an ARP request from us.
/// When networks overlap, the most specific one (longest prefix) wins. Duplicates are removed;
/// the order of first appearance is kept.
pub fn directly_connected(
    targets: impl IntoIterator<Item = Ipv4Addr>,
) -> Vec<(String, Ipv4Addr, Vec<Ipv4Addr>)> {
    let ifaces = datalink::interfaces();
    plan(&ifaces, targets)
        .into_iter()
        .map(|g| (ifaces[g.iface].name.clone(), g.src, g.targets))
        .collect()
}

/// Targets of one (interface, source address) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    /// Index into the interface list the plan was made from.
    iface: usize,
    src: Ipv4Addr,
    targets: Vec<Ipv4Addr>,
}

fn arp_capable(iface: &NetworkInterface) -> bool {
    let noarp = iface.flags & (libc::IFF_NOARP as u32) != 0;
    iface.is_up()
        && !iface.is_loopback()
        && !iface.is_point_to_point()
        && !noarp
        && iface.mac.is_some_and(|m| m != PnetMac::zero())
}

/// The pure core of [`directly_connected`], over a given interface list (unit-tested).
fn plan(ifaces: &[NetworkInterface], targets: impl IntoIterator<Item = Ipv4Addr>) -> Vec<Group> {
    // (interface index, network) of every ARP-capable IPv4 network.
    let nets: Vec<(usize, pnet::ipnetwork::Ipv4Network)> = ifaces
        .iter()
        .enumerate()
        .filter(|(_, i)| arp_capable(i))
        .flat_map(|(n, i)| {
            i.ips.iter().filter_map(move |ip| match ip {
                IpNetwork::V4(v4) => Some((n, *v4)),
                IpNetwork::V6(_) => None,
            })
        })
        .collect();
    // Our own addresses, on any interface (the loopback ones included).
    let own: Vec<Ipv4Addr> = ifaces
        .iter()
        .flat_map(|i| &i.ips)
        .filter_map(|ip| match ip {
            IpNetwork::V4(v4) => Some(v4.ip()),
            IpNetwork::V6(_) => None,
        })
        .collect();

    let mut groups: Vec<Group> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for target in targets {
        if !seen.insert(target) || own.contains(&target) {
            continue;
        }
        let best = nets
            .iter()
            .filter(|(_, net)| net.prefix() < 32 && net.contains(target))
            .max_by_key(|(_, net)| net.prefix());
        let Some(&(iface, net)) = best else {
            continue;
        };
        if net.prefix() <= 30 && (target == net.network() || target == net.broadcast()) {
            continue;
        }
        let src = net.ip();
        match groups.iter_mut().find(|g| g.iface == iface && g.src == src) {
            Some(g) => g.targets.push(target),
            None => groups.push(Group {
                iface,
                src,
                targets: vec![target],
            }),
        }
    }
    groups
}

/// The who-has request for `target`, from `our_mac`/`src`, as a broadcast Ethernet frame.
fn build_request(our_mac: PnetMac, src: Ipv4Addr, target: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    let (eth_buf, rest) = frame.split_at_mut(ETH_HEADER_LEN);
    // The buffers have exactly the sizes pnet needs, so `new` cannot fail; the `if let`s only
    // avoid an unwrap.
    if let Some(mut eth) = MutableEthernetPacket::new(eth_buf) {
        eth.set_destination(PnetMac::broadcast());
        eth.set_source(our_mac);
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut rest[..ARP_LEN]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(our_mac);
        arp.set_sender_proto_addr(src);
        arp.set_target_hw_addr(PnetMac::zero());
        arp.set_target_proto_addr(target);
    }
    frame
}

/// A well-formed ARP reply addressed to `our_mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reply {
    sender_ip: Ipv4Addr,
    sender_mac: MacAddr,
    /// The IP the reply is addressed to; the caller checks it is the source IP it used.
    target_ip: Ipv4Addr,
}

/// Parse one received frame: `Some` only for an Ethernet/IPv4 ARP *reply* (opcode 2) whose
/// target hardware address is `our_mac` and whose sender MAC is a plausible unicast address.
/// Requests, including the unicast cache-refresh requests hosts send after a sweep, are `None`.
pub(crate) fn parse_reply(frame: &[u8], our_mac: PnetMac) -> Option<Reply> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Arp {
        return None;
    }
    let arp = ArpPacket::new(eth.payload())?;
    if arp.get_hardware_type() != ArpHardwareTypes::Ethernet
        || arp.get_protocol_type() != EtherTypes::Ipv4
        || arp.get_hw_addr_len() != 6
        || arp.get_proto_addr_len() != 4
        || arp.get_operation() != ArpOperations::Reply
        || arp.get_target_hw_addr() != our_mac
    {
        return None;
    }
    let sender = arp.get_sender_hw_addr();
    if sender == PnetMac::zero() || sender.is_multicast() {
        return None;
    }
    Some(Reply {
        sender_ip: arp.get_sender_proto_addr(),
        sender_mac: MacAddr(sender.octets()),
        target_ip: arp.get_target_proto_addr(),
    })
}

/// One ARP target on an interface, with the source address its request carries.
struct Target {
    ip: Ipv4Addr,
    src: Ipv4Addr,
}

/// One discovery on one interface: what its sender and the interface's receiver share.
struct Sweep {
    iface: String,
    mac: PnetMac,
    cfg: ArpConfig,
    targets: Vec<Target>,
    index: HashMap<Ipv4Addr, usize>,
    /// When the first request to each target went out (set just before sending it).
    first_sent: Vec<OnceLock<Instant>>,
    replied: Vec<AtomicBool>,
    /// Targets still silent; when it reaches zero the sweep finishes early.
    silent: AtomicUsize,
    /// When the sender finished (its last request, or it gave up); the wait counts from here.
    sending_done: OnceLock<Instant>,
    /// Cancelled by the caller's token, by a hung-up consumer, or by an error of either side.
    stop: CancellationToken,
    /// Where the receiver puts valid replies; taken (closed) when the sweep is over for it.
    out: Mutex<Option<mpsc::UnboundedSender<ArpOutcome>>>,
    /// The receiver's error, if the channel failed during this sweep.
    error: Mutex<Option<ArpError>>,
    /// Set by the receiver once it has taken the sweep in: the sender starts then.
    armed: OnceLock<()>,
    /// Every distinct (address, MAC) reply is delivered, not only each address's first: the
    /// duplicate-IP check needs every MAC that answers. Such a sweep asks every target in
    /// every round and always waits its full `wait`.
    keep_all: bool,
    /// The (address, MAC) pairs delivered so far, when `keep_all`.
    seen: Mutex<std::collections::HashSet<(Ipv4Addr, MacAddr)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data behind these locks: still usable after a panic elsewhere.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sweep {
    fn new(
        iface: &str,
        mac: PnetMac,
        cfg: ArpConfig,
        targets: Vec<Target>,
        stop: CancellationToken,
        out: &mpsc::UnboundedSender<ArpOutcome>,
        keep_all: bool,
    ) -> Sweep {
        let index = targets.iter().enumerate().map(|(n, t)| (t.ip, n)).collect();
        let n = targets.len();
        Sweep {
            iface: iface.to_string(),
            mac,
            cfg,
            index,
            first_sent: (0..n).map(|_| OnceLock::new()).collect(),
            replied: (0..n).map(|_| AtomicBool::new(false)).collect(),
            silent: AtomicUsize::new(n),
            sending_done: OnceLock::new(),
            stop,
            out: Mutex::new(Some(out.clone())),
            error: Mutex::new(None),
            armed: OnceLock::new(),
            keep_all,
            seen: Mutex::new(std::collections::HashSet::new()),
            targets,
        }
    }

    fn all_answered(&self) -> bool {
        !self.keep_all && self.silent.load(Ordering::Acquire) == 0
    }

    fn io_error(&self, e: io::Error) -> ArpError {
        io_error(&self.iface, e)
    }

    /// Whether the receiver is done with this sweep.
    fn over(&self) -> bool {
        self.stop.is_cancelled()
            || self
                .sending_done
                .get()
                .is_some_and(|done| self.all_answered() || done.elapsed() >= self.cfg.wait)
    }

    /// Whether the sweep ends because its wait ran out (not stopped, not fully answered).
    fn timed_out(&self) -> bool {
        !self.stop.is_cancelled() && !self.all_answered() && self.over()
    }

    /// End the sweep for the receiver: its replies stop, the forwarder sees the end.
    fn close(&self, error: Option<ArpError>) {
        if let Some(e) = error {
            self.stop.cancel();
            lock(&self.error).get_or_insert(e);
        }
        lock(&self.out).take();
    }

    /// Offer one received frame; `false` when its consumer is gone.
    fn offer(&self, reply: &Reply, now: Instant) -> bool {
        let Some(&i) = self.index.get(&reply.sender_ip) else {
            return true;
        };
        // Addressed to the source IP we asked from, and after we asked: otherwise it answers
        // someone else's question (or a previous sweep's).
        let Some(&sent) = self.first_sent[i].get() else {
            return true;
        };
        if reply.target_ip != self.targets[i].src {
            return true;
        }
        if self.keep_all {
            if !lock(&self.seen).insert((reply.sender_ip, reply.sender_mac)) {
                return true;
            }
            if !self.replied[i].swap(true, Ordering::AcqRel) {
                self.silent.fetch_sub(1, Ordering::AcqRel);
            }
        } else if self.replied[i].swap(true, Ordering::AcqRel) {
            return true;
        } else {
            self.silent.fetch_sub(1, Ordering::AcqRel);
        }
        let outcome = ArpOutcome {
            ip: reply.sender_ip,
            mac: reply.sender_mac,
            rtt: now.saturating_duration_since(sent),
        };
        lock(&self.out)
            .as_ref()
            .is_some_and(|out| out.send(outcome).is_ok())
    }
}

fn io_error(iface: &str, e: io::Error) -> ArpError {
    if e.kind() == io::ErrorKind::PermissionDenied {
        ArpError::Permission(iface.to_string())
    } else {
        ArpError::Io(iface.to_string(), e)
    }
}

/// Marks the sending as finished when the sender returns, even by an early `?` or a panic, so
/// that the receiver's wait always has an end.
struct DoneOnDrop<'a>(&'a Sweep);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.sending_done.get_or_init(Instant::now);
    }
}

/// Sleep until `deadline` in short slices; `false` when the sweep was stopped meanwhile or
/// every target has answered (nothing left to send).
fn sleep_until(s: &Sweep, deadline: Instant) -> bool {
    loop {
        if s.stop.is_cancelled() || s.all_answered() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(POLL));
    }
}

/// Send one frame, retrying briefly while the interface queue is full (ENOBUFS), which a burst
/// of requests on a slow link can cause.
fn send_frame(tx: &Mutex<Box<dyn DataLinkSender>>, frame: &[u8]) -> io::Result<()> {
    let mut attempts = 0;
    loop {
        // Locked per frame: sweeps running at once on one interface interleave their frames.
        let sent = lock(tx).send_to(frame, None);
        match sent {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) && attempts < 20 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Some(Err(e)) => return Err(e),
            None => return Err(io::Error::other("datalink sender refused the frame")),
        }
    }
}

/// The sender of one sweep (a blocking thread): `retries + 1` rounds to the targets still
/// silent.
fn run_sender(s: &Sweep, tx: &Mutex<Box<dyn DataLinkSender>>) -> Result<()> {
    let _done = DoneOnDrop(s);
    let mut round_start = Instant::now();
    for round in 0..=s.cfg.retries {
        if round > 0 && !sleep_until(s, round_start + RETRY_GAP) {
            break;
        }
        round_start = Instant::now();
        for (i, t) in s.targets.iter().enumerate() {
            if s.stop.is_cancelled() {
                return Ok(());
            }
            if !s.keep_all && s.replied[i].load(Ordering::Acquire) {
                continue;
            }
            let frame = build_request(s.mac, t.src, t.ip);
            // Recorded before sending, so that the fastest reply finds it.
            s.first_sent[i].get_or_init(Instant::now);
            if let Err(e) = send_frame(tx, &frame) {
                s.stop.cancel();
                return Err(s.io_error(e));
            }
            if !s.cfg.interval.is_zero() {
                std::thread::sleep(s.cfg.interval);
            }
        }
    }
    Ok(())
}

/// How long the receiver reads at most to empty the channel of what queued while it was idle
/// (the socket's buffer: a few thousand frames, read in well under this; on a busy interface
/// new frames keep coming, so the drain ends on time rather than on silence).
const DRAIN: Duration = Duration::from_millis(25);

/// The receiver of one interface, a thread that lives as long as its [`ArpChannels`]: idle, it
/// blocks on `sweeps` (no wake-up); with sweeps running, it reads the channel every [`POLL`] at
/// most and hands every valid reply to each sweep that asked for it. Ends when the channels
/// are dropped, or on a read error (its sweeps get the error; the next sweep reopens).
fn run_receiver(
    iface: String,
    mut rx: Box<dyn DataLinkReceiver>,
    sweeps: std_mpsc::Receiver<Arc<Sweep>>,
    broken: Arc<AtomicBool>,
    mac: PnetMac,
) {
    let mut active: Vec<Arc<Sweep>> = Vec::new();
    loop {
        if active.is_empty() {
            let Ok(first) = sweeps.recv() else { return };
            // What queued while idle belongs to no sweep of ours: skip it before the first
            // request goes out (the sender waits for `armed`).
            let until = Instant::now() + DRAIN;
            while Instant::now() < until && rx.next().is_ok() {}
            active.push(first);
        }
        loop {
            match sweeps.try_recv() {
                Ok(s) => active.push(s),
                Err(std_mpsc::TryRecvError::Empty) => break,
                Err(std_mpsc::TryRecvError::Disconnected) => {
                    // The channels are gone, but these sweeps still run to their end.
                    break;
                }
            }
        }
        for s in &active {
            s.armed.get_or_init(|| ());
        }
        // A sweep whose wait has run out still gets the replies already queued in the socket:
        // they arrived in time, and only this thread was late to read them (not scheduled for
        // a while, on a loaded machine). Without this, such hosts were "no answer".
        if active.iter().any(|s| s.timed_out()) {
            let until = Instant::now() + DRAIN;
            while Instant::now() < until {
                let Ok(frame) = rx.next() else { break };
                if let Some(reply) = parse_reply(frame, mac) {
                    let now = Instant::now();
                    for s in &active {
                        if !s.offer(&reply, now) {
                            s.stop.cancel();
                        }
                    }
                }
            }
        }
        active.retain(|s| {
            let over = s.over();
            if over {
                s.close(None);
            }
            !over
        });
        if active.is_empty() {
            continue;
        }
        let frame = match rx.next() {
            Ok(frame) => frame,
            Err(e) if crate::net::idle_read(&e) => {
                continue;
            }
            Err(e) => {
                broken.store(true, Ordering::Release);
                for s in active.drain(..) {
                    s.close(Some(io_error(
                        &iface,
                        io::Error::new(e.kind(), e.to_string()),
                    )));
                }
                // Sweeps registered meanwhile fail the same way.
                while let Ok(s) = sweeps.try_recv() {
                    s.close(Some(io_error(
                        &iface,
                        io::Error::new(e.kind(), e.to_string()),
                    )));
                }
                return;
            }
        };
        let now = Instant::now();
        let Some(reply) = parse_reply(frame, mac) else {
            continue;
        };
        for s in &active {
            if !s.offer(&reply, now) {
                // Its consumer is gone: the sweep is over.
                s.stop.cancel();
            }
        }
    }
}

/// The sending half of an interface's channel, used by every sweep on it in turn.
type SharedSender = Arc<Mutex<Box<dyn DataLinkSender>>>;

/// The open datalink channel of one interface.
struct IfaceChannel {
    tx: SharedSender,
    sweeps: std_mpsc::Sender<Arc<Sweep>>,
    /// Set by the receiver when the channel failed: the next sweep opens a new one.
    broken: Arc<AtomicBool>,
}

/// A datalink channel opened (which needs CAP_NET_RAW) but not read yet.
pub struct OpenedChannel {
    iface: String,
    mac: PnetMac,
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
}

impl std::fmt::Debug for OpenedChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedChannel")
            .field("iface", &self.iface)
            .finish_non_exhaustive()
    }
}

impl OpenedChannel {
    /// The interface it is open on.
    pub fn iface(&self) -> &str {
        &self.iface
    }
}

/// Open `iface`'s channel; nothing reads it until [`install`].
fn open_channel(iface: &NetworkInterface, mac: PnetMac) -> Result<OpenedChannel> {
    let socket = match packet_filter::socket(packet_filter::Frames::Arp) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(ArpError::Permission(iface.name.clone()));
        }
        Err(e) => return Err(ArpError::Io(iface.name.clone(), e)),
    };
    let config = datalink::Config {
        read_timeout: Some(POLL),
        // ARP replies are unicast to us; no need to see other hosts' traffic.
        promiscuous: false,
        // Only ARP frames: a port scan beside the sweep must not crowd the replies out.
        socket_fd: Some(socket),
        // Bound to EtherType ARP rather than to every protocol (pnet's Layer2 default): the
        // kernel then hands the socket ARP frames only, instead of a copy of every frame sent
        // and received for the filter to drop (4 % of a full-port SYN scan's CPU). The
        // socket is ours and stays SOCK_RAW, so frames keep their Ethernet header.
        channel_type: datalink::ChannelType::Layer3(EtherTypes::Arp.0),
        ..Default::default()
    };
    match datalink::channel(iface, config) {
        Ok(Channel::Ethernet(tx, rx)) => Ok(OpenedChannel {
            iface: iface.name.clone(),
            mac,
            tx,
            rx,
        }),
        Ok(_) => Err(ArpError::Interface(iface.name.clone())),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            Err(ArpError::Permission(iface.name.clone()))
        }
        Err(e) => Err(ArpError::Io(iface.name.clone(), e)),
    }
}

/// Start the receiver thread of an opened channel (the first code to parse its frames) and
/// record the channel in `open`.
fn install(
    open: &mut HashMap<String, IfaceChannel>,
    o: OpenedChannel,
) -> Result<(SharedSender, std_mpsc::Sender<Arc<Sweep>>)> {
    let (sweeps_tx, sweeps_rx) = std_mpsc::channel();
    let broken = Arc::new(AtomicBool::new(false));
    let (name, flag, rx, mac) = (o.iface.clone(), Arc::clone(&broken), o.rx, o.mac);
    std::thread::Builder::new()
        .name(format!("netdx-arp-{}", o.iface))
        .spawn(move || run_receiver(name, rx, sweeps_rx, flag, mac))
        .map_err(|e| ArpError::Io(o.iface.clone(), e))?;
    let c = IfaceChannel {
        tx: Arc::new(Mutex::new(o.tx)),
        sweeps: sweeps_tx,
        broken,
    };
    let handles = (Arc::clone(&c.tx), c.sweeps.clone());
    open.insert(o.iface, c);
    Ok(handles)
}

/// The datalink channels of a probe session: one per interface, opened on the first sweep
/// that needs it and kept for every later one (a monitoring round opens no socket). Cheap to
/// clone; dropping the last clone closes the channels and ends their receiver threads.
///
/// Sweeps on one interface may run at once (a monitoring round, a sweep the user started, the
/// gateway check of a diagnosis): their requests interleave on the one sender, and the one
/// receiver hands each reply to every sweep that asked that address.
#[derive(Clone, Default)]
pub struct ArpChannels {
    open: Arc<Mutex<HashMap<String, IfaceChannel>>>,
    /// The interface list, re-read only when the kernel says an interface or address changed
    /// (reading it opens three sockets, which a monitoring round should not).
    ifaces: Arc<Mutex<IfaceCache>>,
}

/// The interface list, when it was read, and the subscription that says when to read it again.
#[derive(Default)]
struct IfaceCache {
    list: Option<(Instant, Arc<Vec<NetworkInterface>>)>,
    /// `None` until first use; `Some(None)` where netlink is unavailable.
    watch: Option<Option<IfaceWatch>>,
}

/// Where no change notifications can be had, how long the interface list is trusted. A link
/// that goes down or gets another address is noticed within this, and within one round by the
/// ARP sweep that then fails to answer.
const IFACE_MAX_AGE: Duration = Duration::from_secs(30);

impl std::fmt::Debug for ArpChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = lock(&self.open).keys().cloned().collect();
        f.debug_struct("ArpChannels").field("open", &names).finish()
    }
}

impl ArpChannels {
    /// The interface list, cached until an interface or address changes (or, without netlink,
    /// for [`IFACE_MAX_AGE`]).
    pub fn interfaces(&self) -> Arc<Vec<NetworkInterface>> {
        let mut guard = lock(&self.ifaces);
        let cache = &mut *guard;
        // Subscribe before the first read, so no change between the two is missed.
        let watch = cache.watch.get_or_insert_with(|| IfaceWatch::open().ok());
        let fresh = watch.as_ref().is_none_or(|w| !w.changed());
        let watched = watch.is_some();
        match &cache.list {
            Some((at, list)) if fresh && (watched || at.elapsed() < IFACE_MAX_AGE) => {
                Arc::clone(list)
            }
            _ => {
                let list = Arc::new(datalink::interfaces());
                cache.list = Some((Instant::now(), Arc::clone(&list)));
                list
            }
        }
    }

    /// [`directly_connected`] over the cached interface list.
    pub fn directly_connected(
        &self,
        targets: impl IntoIterator<Item = Ipv4Addr>,
    ) -> Vec<(String, Ipv4Addr, Vec<Ipv4Addr>)> {
        let ifaces = self.interfaces();
        plan(&ifaces, targets)
            .into_iter()
            .map(|g| (ifaces[g.iface].name.clone(), g.src, g.targets))
            .collect()
    }

    /// Close every channel, for a process that will sweep no more (a one-shot scan once its
    /// discovery is over). Sweeps still running go on to their end. The sockets are closed by
    /// the receiver threads: closing a packet socket waits for an RCU grace period (10-20
    /// ms), which at exit would delay the end of the process, and here delays nobody.
    pub fn close(&self) {
        let channels = std::mem::take(&mut *lock(&self.open));
        // Each channel's sender is dropped before its list of sweeps: when the receiver sees
        // that list end and returns, the socket's last reference is its own.
        drop(channels);
    }

    /// Interfaces with an open channel.
    pub fn open_interfaces(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.open)
            .iter()
            .filter(|(_, c)| !c.broken.load(Ordering::Acquire))
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// The channel of `iface`: the open one, or a new one (blocking: call off the runtime).
    fn channel(
        &self,
        iface: &NetworkInterface,
        mac: PnetMac,
    ) -> Result<(SharedSender, std_mpsc::Sender<Arc<Sweep>>)> {
        let mut open = lock(&self.open);
        if let Some(c) = open.get(&iface.name)
            && !c.broken.load(Ordering::Acquire)
        {
            return Ok((Arc::clone(&c.tx), c.sweeps.clone()));
        }
        let opened = open_channel(iface, mac)?;
        install(&mut open, opened)
    }

    /// Open the channels of the interfaces that `targets` are directly connected to, without
    /// starting their receivers: the privileged half of a session's start (see
    /// [`crate::net::session`]). Interfaces whose channel is open already are skipped.
    pub fn open_for(
        &self,
        targets: impl IntoIterator<Item = Ipv4Addr>,
    ) -> Result<Vec<OpenedChannel>> {
        let ifaces = self.interfaces();
        let mut used = vec![false; ifaces.len()];
        let candidates: Vec<(usize, Vec<ipnet::Ipv4Net>)> = ifaces
            .iter()
            .enumerate()
            .filter(|(_, i)| i.mac.is_some() && !i.is_loopback())
            .map(|(n, i)| {
                let nets = i
                    .ips
                    .iter()
                    .filter_map(|ip| match ip {
                        IpNetwork::V4(v4) => ipnet::Ipv4Net::new(v4.ip(), v4.prefix()).ok(),
                        IpNetwork::V6(_) => None,
                    })
                    .collect();
                (n, nets)
            })
            .collect();
        let mut left = candidates.len();
        for ip in targets {
            if left == 0 {
                break;
            }
            for (n, nets) in &candidates {
                if !used[*n] && nets.iter().any(|net| net.contains(&ip)) {
                    used[*n] = true;
                    left -= 1;
                }
            }
        }
        let open = lock(&self.open);
        let mut opened = Vec::new();
        for (n, iface) in ifaces.iter().enumerate() {
            let Some(mac) = iface.mac.filter(|_| used[n]) else {
                continue;
            };
            if open
                .get(&iface.name)
                .is_some_and(|c| !c.broken.load(Ordering::Acquire))
            {
                continue;
            }
            opened.push(open_channel(iface, mac)?);
        }
        Ok(opened)
    }

    /// Start the receivers of channels from [`ArpChannels::open_for`] and keep the channels
    /// for every later sweep.
    pub fn start(&self, opened: Vec<OpenedChannel>) -> Result<()> {
        let mut open = lock(&self.open);
        for o in opened {
            install(&mut open, o)?;
        }
        Ok(())
    }

    /// Plan the sweeps of `targets` (one per interface) and get their channels, before any
    /// packet is sent, so that a missing privilege is reported before anything happens on the
    /// wire.
    fn prepare(
        &self,
        targets: Vec<Ipv4Addr>,
        cfg: ArpConfig,
        stop: &CancellationToken,
        out: &mpsc::UnboundedSender<ArpOutcome>,
        keep_all: bool,
    ) -> Result<Vec<Prepared>> {
        let ifaces = self.interfaces();
        let groups = plan(&ifaces, targets);
        // Merge the groups of one interface (several source addresses) into one sweep.
        let mut per_iface: Vec<(usize, Vec<Target>)> = Vec::new();
        for g in groups {
            let ts = g.targets.into_iter().map(|ip| Target { ip, src: g.src });
            match per_iface.iter_mut().find(|(i, _)| *i == g.iface) {
                Some((_, v)) => v.extend(ts),
                None => per_iface.push((g.iface, ts.collect())),
            }
        }
        let mut prepared = Vec::with_capacity(per_iface.len());
        for (i, targets) in per_iface {
            let iface = &ifaces[i];
            let Some(mac) = iface.mac else {
                return Err(ArpError::Interface(iface.name.clone()));
            };
            let (tx, sweeps) = self.channel(iface, mac)?;
            let sweep = Sweep::new(
                &iface.name,
                mac,
                cfg,
                targets,
                stop.child_token(),
                out,
                keep_all,
            );
            prepared.push(Prepared {
                sweep: Arc::new(sweep),
                tx,
                sweeps,
            });
        }
        Ok(prepared)
    }

    /// Send ARP who-has for each directly connected target on its interface's channel (opened
    /// now if this is the interface's first sweep, kept afterwards), and send an
    /// [`ArpOutcome`] on `tx` for every valid reply as it arrives. Requests go out from a
    /// blocking thread, replies are read by the interface's receiver thread with a read
    /// timeout, so the runtime is never blocked and cancellation is noticed within [`POLL`].
    /// Stops [`ArpConfig::wait`] after the last request, as soon as every target has
    /// answered, when `cancel` is triggered or when `tx` is closed. Targets that are not
    /// directly connected are skipped (see [`directly_connected`]); with none left, no socket
    /// is opened and no privilege is needed.
    pub async fn discover(
        &self,
        targets: Vec<Ipv4Addr>,
        cfg: ArpConfig,
        tx: mpsc::Sender<ArpOutcome>,
        cancel: CancellationToken,
    ) -> Result<ArpStats> {
        self.sweep(targets, cfg, tx, cancel, false).await
    }

    /// [`ArpChannels::discover`] that delivers every distinct (address, MAC) reply rather than
    /// each address's first, asks every target in every round (a second host's reply lost
    /// once is asked for again) and waits the whole [`ArpConfig::wait`] after the last round:
    /// for the duplicate-IP check, where the second MAC is the finding.
    pub async fn discover_all(
        &self,
        targets: Vec<Ipv4Addr>,
        cfg: ArpConfig,
        tx: mpsc::Sender<ArpOutcome>,
        cancel: CancellationToken,
    ) -> Result<ArpStats> {
        self.sweep(targets, cfg, tx, cancel, true).await
    }

    async fn sweep(
        &self,
        targets: Vec<Ipv4Addr>,
        cfg: ArpConfig,
        tx: mpsc::Sender<ArpOutcome>,
        cancel: CancellationToken,
        keep_all: bool,
    ) -> Result<ArpStats> {
        // Our own token: cancelled by the caller's, and also when this future is dropped or
        // the consumer hangs up, so the sweep never outlives the discovery.
        let stop = cancel.child_token();
        let _stop_on_drop = stop.clone().drop_guard();

        let (out_tx, mut out_rx) = mpsc::unbounded_channel();
        let channels = self.clone();
        let setup_stop = stop.clone();
        let sweeps = tokio::task::spawn_blocking(move || {
            channels.prepare(targets, cfg, &setup_stop, &out_tx, keep_all)
        })
        .await
        .map_err(join_error)??;
        if sweeps.is_empty() {
            return Ok(ArpStats::default());
        }

        let mut senders = Vec::with_capacity(sweeps.len());
        for Prepared {
            sweep,
            tx: dl_tx,
            sweeps: to_receiver,
        } in sweeps
        {
            if to_receiver.send(Arc::clone(&sweep)).is_err() {
                // The receiver thread has just died: this sweep ends with its error.
                sweep.close(Some(ArpError::Io(
                    sweep.iface.clone(),
                    io::Error::other("the ARP receiver stopped"),
                )));
                senders.push((sweep, None));
                continue;
            }
            let s = Arc::clone(&sweep);
            let sender = tokio::task::spawn_blocking(move || {
                // Not before the receiver has taken the sweep (and skipped stale frames).
                while s.armed.get().is_none() && !s.stop.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                run_sender(&s, &dl_tx)
            });
            senders.push((sweep, Some(sender)));
        }

        // Forward replies as they arrive. The receivers never block on a slow consumer: they
        // queue here, and only this task waits for room on `tx`, while still watching `stop`.
        let mut delivered = 0;
        loop {
            let outcome = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = tx.closed() => {
                    stop.cancel();
                    break;
                }
                o = out_rx.recv() => match o {
                    Some(o) => o,
                    None => break, // every sweep is over
                },
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                sent = tx.send(outcome) => match sent {
                    Ok(()) => delivered += 1,
                    Err(_) => {
                        stop.cancel();
                        break;
                    }
                },
            }
        }

        let mut first_error = None;
        let mut requested = 0;
        for (sweep, sender) in senders {
            if let Some(sender) = sender
                && let Err(e) = sender.await.map_err(join_error).and_then(|r| r)
            {
                first_error.get_or_insert(e);
            }
            // Make sure the receiver lets go of the sweep (it would on its next pass anyway).
            sweep.stop.cancel();
            if let Some(e) = lock(&sweep.error).take() {
                first_error.get_or_insert(e);
            }
            requested += sweep
                .first_sent
                .iter()
                .filter(|t| t.get().is_some())
                .count();
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(ArpStats {
                requested,
                replied: delivered,
            }),
        }
    }
}

/// A sweep ready to start, with the handles of its interface's channel.
struct Prepared {
    sweep: Arc<Sweep>,
    tx: SharedSender,
    sweeps: std_mpsc::Sender<Arc<Sweep>>,
}

fn join_error(e: tokio::task::JoinError) -> ArpError {
    ArpError::Io("(arp task)".to_string(), io::Error::other(e))
}

/// [`ArpChannels::discover`] on channels of its own, closed when it returns: for one-off use
/// outside a probe session.
pub async fn discover(
    targets: Vec<Ipv4Addr>,
    cfg: ArpConfig,
    tx: mpsc::Sender<ArpOutcome>,
    cancel: CancellationToken,
) -> Result<ArpStats> {
    ArpChannels::default()
        .discover(targets, cfg, tx, cancel)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUR_MAC: PnetMac = PnetMac(0x02, 0, 0, 0, 0, 0x01);
    const HOST_MAC: PnetMac = PnetMac(0x00, 0x50, 0x56, 0xaa, 0xbb, 0xcc);

    fn iface(
        name: &str,
        index: u32,
        flags: u32,
        mac: Option<PnetMac>,
        ips: &[&str],
    ) -> NetworkInterface {
        NetworkInterface {
            name: name.to_string(),
            description: String::new(),
            index,
            mac,
            ips: ips
                .iter()
                .map(|s| s.parse().expect("test network"))
                .collect(),
            flags,
        }
    }

    const UP: u32 = libc::IFF_UP as u32 | libc::IFF_BROADCAST as u32;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("test ip")
    }

    fn lab() -> Vec<NetworkInterface> {
        vec![
            iface(
                "lo",
                1,
                UP | libc::IFF_LOOPBACK as u32,
                None,
                &["127.0.0.1/8"],
            ),
            iface(
                "eth0",
                2,
                UP,
                Some(OUR_MAC),
                &["192.168.1.10/24", "fe80::1/64"],
            ),
            iface(
                "eth1",
                3,
                UP,
                Some(OUR_MAC),
                &["10.0.0.5/16", "10.0.5.1/24"],
            ),
            iface("down0", 4, 0, Some(OUR_MAC), &["172.16.0.1/24"]),
            iface(
                "wg0",
                5,
                UP | libc::IFF_POINTOPOINT as u32 | libc::IFF_NOARP as u32,
                None,
                &["10.9.0.2/24"],
            ),
            iface("host32", 6, UP, Some(OUR_MAC), &["203.0.113.7/32"]),
        ]
    }

    #[test]
    fn plan_groups_by_interface_and_source() {
        let targets = [
            "192.168.1.20",
            "10.0.7.9",
            "10.0.5.20",
            "172.31.9.9",
            "192.168.1.20",
            "192.168.1.30",
            "127.0.0.2",
            "172.16.0.9",
            "10.9.0.1",
            "203.0.113.8",
        ]
        .map(ip);
        let got = plan(&lab(), targets);
        assert_eq!(
            got,
            vec![
                Group {
                    iface: 1,
                    src: ip("192.168.1.10"),
                    targets: vec![ip("192.168.1.20"), ip("192.168.1.30")]
                },
                Group {
                    iface: 2,
                    src: ip("10.0.0.5"),
                    targets: vec![ip("10.0.7.9")]
                },
                // The more specific /24 wins over the /16 on the same interface.
                Group {
                    iface: 2,
                    src: ip("10.0.5.1"),
                    targets: vec![ip("10.0.5.20")]
                },
            ]
        );
    }

    #[test]
    fn plan_skips_own_network_and_broadcast_addresses() {
        let targets = [
            "192.168.1.0",
            "192.168.1.10",
            "192.168.1.255",
            "192.168.1.1",
            "127.0.0.1",
        ]
        .map(ip);
        let got = plan(&lab(), targets);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].targets, vec![ip("192.168.1.1")]);
        // A /31 has no network or broadcast address: both ends are hosts.
        let p2p = [iface("e", 1, UP, Some(OUR_MAC), &["10.1.1.0/31"])];
        assert_eq!(
            plan(&p2p, [ip("10.1.1.1")])[0].targets,
            vec![ip("10.1.1.1")]
        );
        assert!(plan(&p2p, [ip("10.1.1.0")]).is_empty());
    }

    #[test]
    fn plan_needs_a_usable_mac() {
        let ifs = [iface("e", 1, UP, Some(PnetMac::zero()), &["10.1.1.1/24"])];
        assert!(plan(&ifs, [ip("10.1.1.2")]).is_empty());
        assert!(plan(&[], [ip("10.1.1.2")]).is_empty());
    }

    fn frame(op: u16, sha: PnetMac, spa: &str, tha: PnetMac, tpa: &str) -> Vec<u8> {
        let mut f = build_request(sha, ip(spa), ip(tpa)).to_vec();
        let mut eth = MutableEthernetPacket::new(&mut f).expect("frame");
        eth.set_destination(tha);
        let mut arp = MutableArpPacket::new(&mut f[ETH_HEADER_LEN..]).expect("arp");
        arp.set_operation(pnet::packet::arp::ArpOperation::new(op));
        arp.set_target_hw_addr(tha);
        f
    }

    /// A datalink receiver fed by the test, timing out like the real one.
    struct FakeRx {
        frames: std_mpsc::Receiver<Vec<u8>>,
        current: Vec<u8>,
        /// A stall to play: the next read times out after this long, as a read that timed out
        /// and a thread that was then not scheduled; the sender is told when it starts.
        stall: Option<std_mpsc::Receiver<(Duration, std_mpsc::Sender<()>)>>,
    }

    impl DataLinkReceiver for FakeRx {
        fn next(&mut self) -> io::Result<&[u8]> {
            if let Some((d, started)) = self.stall.as_ref().and_then(|s| s.try_recv().ok()) {
                let _ = started.send(());
                std::thread::sleep(d);
                return Err(io::ErrorKind::TimedOut.into());
            }
            match self.frames.recv_timeout(POLL) {
                Ok(f) => {
                    self.current = f;
                    Ok(&self.current)
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => Err(io::ErrorKind::TimedOut.into()),
                Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other("link gone")),
            }
        }
    }

    /// Register a sweep of `targets` (from 10.0.0.1) and play its sender: wait until the
    /// receiver has taken it in, then mark every target asked.
    fn start_sweep(
        to_receiver: &std_mpsc::Sender<Arc<Sweep>>,
        targets: &[&str],
    ) -> (Arc<Sweep>, mpsc::UnboundedReceiver<ArpOutcome>) {
        start_sweep_mode(to_receiver, targets, false)
    }

    fn start_sweep_mode(
        to_receiver: &std_mpsc::Sender<Arc<Sweep>>,
        targets: &[&str],
        keep_all: bool,
    ) -> (Arc<Sweep>, mpsc::UnboundedReceiver<ArpOutcome>) {
        let (out, rx) = mpsc::unbounded_channel();
        let targets = targets
            .iter()
            .map(|t| Target {
                ip: ip(t),
                src: ip("10.0.0.1"),
            })
            .collect();
        let cfg = ArpConfig {
            wait: Duration::from_millis(100),
            ..ArpConfig::default()
        };
        let sweep = Arc::new(Sweep::new(
            "eth0",
            OUR_MAC,
            cfg,
            targets,
            CancellationToken::new(),
            &out,
            keep_all,
        ));
        to_receiver
            .send(Arc::clone(&sweep))
            .expect("receiver alive");
        while sweep.armed.get().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        for t in &sweep.first_sent {
            t.get_or_init(Instant::now);
        }
        (sweep, rx)
    }

    fn got(rx: &mut mpsc::UnboundedReceiver<ArpOutcome>) -> Vec<Ipv4Addr> {
        let mut v = Vec::new();
        while let Ok(o) = rx.try_recv() {
            v.push(o.ip);
        }
        v.sort();
        v
    }

    /// A reply that was queued in time but read late (the receiver thread not scheduled until
    /// after the sweep's wait) still counts.
    #[test]
    fn a_reply_queued_in_time_counts_when_the_receiver_was_late() {
        let (frames_tx, frames) = std_mpsc::channel();
        let (stall_tx, stall) = std_mpsc::channel();
        let (to_receiver, sweeps) = std_mpsc::channel();
        let rx = Box::new(FakeRx {
            frames,
            current: Vec::new(),
            stall: Some(stall),
        });
        let receiver = std::thread::spawn(move || {
            run_receiver(
                "eth0".into(),
                rx,
                sweeps,
                Arc::new(AtomicBool::new(false)),
                OUR_MAC,
            )
        });
        let (sweep, mut out) = start_sweep(&to_receiver, &["10.0.0.7", "10.0.0.8"]);
        // The receiver stalls for three times the sweep's wait (100 ms); meanwhile the reply
        // of .7 arrives and the sender finishes.
        let (started_tx, started) = std_mpsc::channel();
        stall_tx
            .send((Duration::from_millis(300), started_tx))
            .expect("receiver alive");
        started
            .recv_timeout(Duration::from_secs(5))
            .expect("the stall began");
        frames_tx
            .send(frame(2, HOST_MAC, "10.0.0.7", OUR_MAC, "10.0.0.1"))
            .expect("fake link");
        sweep.sending_done.get_or_init(Instant::now);
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&sweep.out).is_some() {
            assert!(Instant::now() < deadline, "the sweep never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(got(&mut out), [ip("10.0.0.7")]);
        drop(to_receiver);
        receiver.join().expect("receiver thread");
    }

    #[test]
    fn one_receiver_serves_sweeps_at_once_and_skips_what_queued_while_idle() {
        let (frames_tx, frames) = std_mpsc::channel();
        let (to_receiver, sweeps) = std_mpsc::channel();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&broken);
        let rx = Box::new(FakeRx {
            frames,
            current: Vec::new(),
            stall: None,
        });
        let receiver =
            std::thread::spawn(move || run_receiver("eth0".into(), rx, sweeps, flag, OUR_MAC));
        let reply = |from: &str| frame(2, HOST_MAC, from, OUR_MAC, "10.0.0.1");

        // A reply queued while no sweep ran (an answer to an earlier question) is skipped.
        frames_tx.send(reply("10.0.0.7")).expect("fake link");
        let (a, mut a_rx) = start_sweep(&to_receiver, &["10.0.0.7", "10.0.0.8"]);
        // A second sweep at once, on the same channel.
        let (b, mut b_rx) = start_sweep(&to_receiver, &["10.0.0.8", "10.0.0.9"]);
        for host in ["10.0.0.8", "10.0.0.9"] {
            frames_tx.send(reply(host)).expect("fake link");
        }
        for s in [&a, &b] {
            s.sending_done.get_or_init(Instant::now);
        }
        // Both sweeps end (b answered in full, a after its wait): their outputs close.
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&a.out).is_some() || lock(&b.out).is_some() {
            assert!(Instant::now() < deadline, "sweeps never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            got(&mut a_rx),
            [ip("10.0.0.8")],
            "the stale reply of .7 is not counted"
        );
        assert_eq!(got(&mut b_rx), [ip("10.0.0.8"), ip("10.0.0.9")]);

        // Later sweeps reuse the same receiver.
        let (c, mut c_rx) = start_sweep(&to_receiver, &["10.0.0.7"]);
        frames_tx.send(reply("10.0.0.7")).expect("fake link");
        c.sending_done.get_or_init(Instant::now);
        while lock(&c.out).is_some() {
            assert!(Instant::now() < deadline, "sweep never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(got(&mut c_rx), [ip("10.0.0.7")]);

        // Dropping the channels' side ends the idle receiver.
        drop(to_receiver);
        receiver.join().expect("receiver thread");
        assert!(!broken.load(Ordering::Acquire));
    }

    #[test]
    fn a_keep_all_sweep_delivers_every_mac_once_and_waits_its_whole_wait() {
        let (frames_tx, frames) = std_mpsc::channel();
        let (to_receiver, sweeps) = std_mpsc::channel();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&broken);
        let rx = Box::new(FakeRx {
            frames,
            current: Vec::new(),
            stall: None,
        });
        let receiver =
            std::thread::spawn(move || run_receiver("eth0".into(), rx, sweeps, flag, OUR_MAC));
        let other = PnetMac(0x02, 0, 0, 0, 0, 0x52);
        let (all, mut all_rx) = start_sweep_mode(&to_receiver, &["10.0.0.50"], true);
        let (first, mut first_rx) = start_sweep(&to_receiver, &["10.0.0.50"]);
        for s in [&all, &first] {
            s.sending_done.get_or_init(Instant::now);
        }
        for from in [HOST_MAC, other, HOST_MAC] {
            frames_tx
                .send(frame(2, from, "10.0.0.50", OUR_MAC, "10.0.0.1"))
                .expect("fake link");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&all.out).is_some() || lock(&first.out).is_some() {
            assert!(Instant::now() < deadline, "sweeps never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        let macs = |rx: &mut mpsc::UnboundedReceiver<ArpOutcome>| {
            let mut v = Vec::new();
            while let Ok(o) = rx.try_recv() {
                v.push(o.mac);
            }
            v
        };
        // Both MACs, the repeated reply once; the ordinary sweep keeps the first only.
        assert_eq!(
            macs(&mut all_rx),
            [MacAddr(HOST_MAC.octets()), MacAddr(other.octets())]
        );
        assert_eq!(macs(&mut first_rx), [MacAddr(HOST_MAC.octets())]);
        // Answered, yet a keep-all sweep is never "all answered" (a second MAC may follow).
        assert!(!all.all_answered());
        assert!(first.all_answered());
        drop(to_receiver);
        receiver.join().expect("receiver thread");
    }

    #[test]
    fn request_frame_is_a_broadcast_who_has() {
        let f = build_request(OUR_MAC, ip("10.0.0.1"), ip("10.0.0.42"));
        let eth = EthernetPacket::new(&f).expect("eth");
        assert_eq!(eth.get_destination(), PnetMac::broadcast());
        assert_eq!(eth.get_source(), OUR_MAC);
        assert_eq!(eth.get_ethertype(), EtherTypes::Arp);
        let arp = ArpPacket::new(eth.payload()).expect("arp");
        assert_eq!(arp.get_operation(), ArpOperations::Request);
        assert_eq!(arp.get_sender_proto_addr(), ip("10.0.0.1"));
        assert_eq!(arp.get_target_proto_addr(), ip("10.0.0.42"));
        assert_eq!(arp.get_target_hw_addr(), PnetMac::zero());
        assert_eq!(f.len(), 60);
    }

    #[test]
    fn reply_to_us_is_accepted() {
        let f = frame(2, HOST_MAC, "10.0.0.42", OUR_MAC, "10.0.0.1");
        assert_eq!(
            parse_reply(&f, OUR_MAC),
            Some(Reply {
                sender_ip: ip("10.0.0.42"),
                sender_mac: MacAddr(HOST_MAC.octets()),
                target_ip: ip("10.0.0.1"),
            })
        );
        // Without padding (42 bytes), as some stacks send it.
        assert!(parse_reply(&f[..42], OUR_MAC).is_some());
    }

    #[test]
    fn requests_and_foreign_replies_are_rejected() {
        // A host refreshing its cache: unicast *request* to us.
        assert_eq!(
            parse_reply(
                &frame(1, HOST_MAC, "10.0.0.42", OUR_MAC, "10.0.0.1"),
                OUR_MAC
            ),
            None
        );
        // Our own request, seen on the way out.
        assert_eq!(
            parse_reply(
                &build_request(OUR_MAC, ip("10.0.0.1"), ip("10.0.0.42")),
                OUR_MAC
            ),
            None
        );
        // A reply to another host's MAC.
        assert_eq!(
            parse_reply(
                &frame(2, HOST_MAC, "10.0.0.42", HOST_MAC, "10.0.0.1"),
                OUR_MAC
            ),
            None
        );
        // A reply claiming a multicast or zero sender MAC.
        let mcast = PnetMac(0x01, 0, 0x5e, 0, 0, 1);
        assert_eq!(
            parse_reply(&frame(2, mcast, "10.0.0.42", OUR_MAC, "10.0.0.1"), OUR_MAC),
            None
        );
        assert_eq!(
            parse_reply(
                &frame(2, PnetMac::zero(), "10.0.0.42", OUR_MAC, "10.0.0.1"),
                OUR_MAC
            ),
            None
        );
        // Truncated and non-ARP frames.
        let f = frame(2, HOST_MAC, "10.0.0.42", OUR_MAC, "10.0.0.1");
        assert_eq!(parse_reply(&f[..30], OUR_MAC), None);
        assert_eq!(parse_reply(&f[..10], OUR_MAC), None);
        let mut ipv4 = f.clone();
        MutableEthernetPacket::new(&mut ipv4)
            .expect("eth")
            .set_ethertype(EtherTypes::Ipv4);
        assert_eq!(parse_reply(&ipv4, OUR_MAC), None);
        // Wrong hardware length.
        let mut odd = f;
        odd[ETH_HEADER_LEN + 4] = 8;
        assert_eq!(parse_reply(&odd, OUR_MAC), None);
    }
}
