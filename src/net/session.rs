//! The probe session: one per process, shared by every job (headless scan, each dashboard
//! round, on-demand port scans and lookups, diagnose). It owns what must not be reopened or
//! forgotten between jobs:
//!
//! ```text
//!  Session ─┬─ measurement thread (own runtime): ICMP clients, DNS clients per server
//!           │     latency probes run here, never queued behind a port burst on the caller's
//!           │     runtime, so an idle host's RTT stays an RTT while 65,535 ports are checked
//!           ├─ raw prober (receive thread of its own): SYN scan, TCP/timestamp discovery,
//!           │     and the ICMP send/receive path of every traceroute (IcmpWatch per trace)
//!           ├─ ARP: one datalink channel per interface, opened on first use, kept
//!           ├─ budget: one semaphore of connects in flight, sized from the open-file limit
//!           ├─ overall congestion window (probes in flight across hosts)
//!           └─ per-host estimates: RTT (RFC 6298), loss per try, congestion window;
//!              kept round after round, so monitoring starts where it left off
//! ```
//!
//! Started in two halves around the privilege drop ([`Session::start_least_privileged`]):
//!
//! ```text
//!  Session::open ──► privilege::drop_privileges ──► OpenedSession::start
//!   sockets opened,     capabilities given up,        measurement thread, raw and
//!   nothing read        sudo user become              ARP receivers start parsing
//! ```
//!
//! Cheap to clone (an `Arc`); dropping the last clone stops the measurement thread.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use crate::net::arp::{ArpChannels, OpenedChannel};
use crate::net::dns::{self, DnsProbe};
use crate::net::dns_health::HealthSockets;
use crate::net::icmp::{IcmpError, IcmpProbe};
use crate::net::raw::{RawError, RawProber};
use crate::net::sys::privilege;
use crate::net::timing::{HostTiming, Window};

/// What a session may use, decided at the edge.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Connects in flight across the whole process; `None` derives it from `ulimit -n`.
    pub concurrency: Option<usize>,
}

/// Probes one host may have unanswered at first, before its window has learnt anything.
pub const HOST_INITIAL_WINDOW: usize = 128;
/// A host's window never shrinks below this: a lossy host still gets probed in parallel.
pub const HOST_MIN_WINDOW: usize = 4;
/// Nor grows past this: more in flight to one host buys nothing on any real link.
pub const HOST_MAX_WINDOW: usize = 16_384;
/// The overall window (probes in flight across all hosts).
const GLOBAL_INITIAL_WINDOW: usize = 1024;
const GLOBAL_MIN_WINDOW: usize = 256;
const GLOBAL_MAX_WINDOW: usize = 16_384;
/// Drops from two hosts this close together suggest a bottleneck they share.
const SHARED_DROP_SPAN: Duration = Duration::from_millis(100);
/// Raw probes (SYN scan) in flight across the whole process.
const PACKET_WINDOW: usize = 16_384;
/// Hosts whose estimates are remembered; past this the oldest half is forgotten.
const MAX_ESTIMATES: usize = 1 << 17;

/// What the session has learnt about one host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostEstimate {
    pub timing: HostTiming,
    /// Last time this host was touched (for forgetting the least recent).
    touched: u64,
}

impl Default for HostEstimate {
    fn default() -> Self {
        HostEstimate {
            timing: HostTiming::new(Window::new(
                HOST_INITIAL_WINDOW,
                HOST_MIN_WINDOW,
                HOST_MAX_WINDOW,
            )),
            touched: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot start the measurement thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the measurement thread stopped")]
    Stopped,
    #[error("cannot start an ARP receiver: {0}")]
    Arp(String),
    #[error(transparent)]
    Privilege(#[from] privilege::PrivilegeError),
    #[error(transparent)]
    Raw(#[from] RawError),
}

pub type Result<T> = std::result::Result<T, SessionError>;

struct Inner {
    /// The measurement runtime: latency-sensitive probes run here.
    measure: tokio::runtime::Handle,
    /// Dropped with the session: ends the measurement thread.
    _stop: oneshot::Sender<()>,
    icmp: std::result::Result<IcmpProbe, IcmpError>,
    raw: std::result::Result<RawProber, RawError>,
    /// Raw probes in flight across the process (they hold no descriptor, only memory and a
    /// share of the link).
    packets: Arc<Semaphore>,
    dns: Mutex<HashMap<(Option<SocketAddr>, Duration), DnsProbe>>,
    dns_health: HealthSockets,
    arp: ArpChannels,
    connects: Arc<Semaphore>,
    connect_window: usize,
    requested_concurrency: Option<usize>,
    raw_capable: bool,
    global: Mutex<Window>,
    /// The last host that showed a drop, and when: a drop shrinks the overall window only
    /// when another host showed one shortly before (a shared bottleneck, not one lossy host).
    last_drop: Mutex<Option<(IpAddr, tokio::time::Instant)>>,
    /// Probes unanswered right now, across hosts (what the overall window bounds).
    in_flight: AtomicUsize,
    hosts: Mutex<Estimates>,
}

#[derive(Default)]
struct Estimates {
    map: HashMap<IpAddr, HostEstimate>,
    clock: u64,
}

/// A session whose privileged sockets are open and not yet read: see [`Session::open`].
pub struct OpenedSession {
    parts: Option<Parts>,
}

struct Parts {
    rt: tokio::runtime::Runtime,
    icmp: std::result::Result<IcmpProbe, IcmpError>,
    raw: std::result::Result<RawProber, RawError>,
    arp: ArpChannels,
    arp_opened: Vec<OpenedChannel>,
    /// Asked while privileged: what the jobs may rely on having been opened.
    raw_capable: bool,
    opts: SessionOptions,
    fd_limit: u64,
}

impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSession")
            .field("arp", &self.arp_interfaces())
            .finish_non_exhaustive()
    }
}

impl Drop for OpenedSession {
    /// A session opened and never started (the privilege drop failed) may be dropped inside
    /// the caller's runtime, where a runtime may not be dropped the blocking way.
    fn drop(&mut self) {
        if let Some(p) = self.parts.take() {
            p.rt.shutdown_background();
        }
    }
}

impl OpenedSession {
    /// Open now the ARP channels the sweeps of `targets` will use, while the privilege to do
    /// so is still there. Without that privilege nothing is opened (the sweep reports it).
    pub fn open_arp_for(&mut self, targets: impl IntoIterator<Item = Ipv4Addr>) {
        let Some(p) = self.parts.as_mut().filter(|p| p.raw_capable) else {
            return;
        };
        // An interface that fails now is tried again, and its failure reported, by the sweep.
        if let Ok(mut opened) = p.arp.open_for(targets) {
            p.arp_opened.append(&mut opened);
        }
    }

    /// The interfaces whose ARP channel is open.
    pub fn arp_interfaces(&self) -> Vec<&str> {
        self.parts
            .iter()
            .flat_map(|p| p.arp_opened.iter().map(OpenedChannel::iface))
            .collect()
    }

    /// The unprivileged half: start the measurement thread and the ARP receivers, the first
    /// code to parse bytes from the network. Call after [`privilege::drop_privileges`].
    pub fn start(mut self) -> Result<Session> {
        let p = self.parts.take().ok_or(SessionError::Stopped)?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let measure = p.rt.handle().clone();
        let rt = p.rt;
        std::thread::Builder::new()
            .name("netdx-measure".into())
            .spawn(move || {
                // Runs the probes spawned onto this runtime until the session is dropped.
                let _ = rt.block_on(stop_rx);
            })?;
        if let Ok(raw) = &p.raw {
            raw.start()?;
        }
        p.arp
            .start(p.arp_opened)
            .map_err(|e| SessionError::Arp(e.to_string()))?;
        let connect_window = privilege::connect_window(p.fd_limit, p.opts.concurrency);
        Ok(Session {
            inner: Arc::new(Inner {
                measure,
                _stop: stop_tx,
                icmp: p.icmp,
                raw: p.raw,
                packets: Arc::new(Semaphore::new(PACKET_WINDOW)),
                dns: Mutex::new(HashMap::new()),
                dns_health: HealthSockets::default(),
                arp: p.arp,
                connects: Arc::new(Semaphore::new(connect_window)),
                connect_window,
                requested_concurrency: p.opts.concurrency,
                raw_capable: p.raw_capable,
                global: Mutex::new(Window::new(
                    GLOBAL_INITIAL_WINDOW,
                    GLOBAL_MIN_WINDOW,
                    GLOBAL_MAX_WINDOW,
                )),
                in_flight: AtomicUsize::new(0),
                last_drop: Mutex::new(None),
                hosts: Mutex::new(Estimates::default()),
            }),
        })
    }
}

/// The long-lived probe session. See the module documentation.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("connect_window", &self.inner.connect_window)
            .field("raw", &self.inner.raw_capable)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    /// Open the session and start it at once, keeping whatever privilege the process has:
    /// for tests and callers that do not drop privileges. Jobs started from the command line
    /// go through [`Session::open`], [`privilege::drop_privileges`], [`OpenedSession::start`].
    pub fn new(opts: SessionOptions) -> Result<Session> {
        Session::open(opts)?.start()
    }

    /// The start-up order of every command run with privileges (trippy's order, taken
    /// further): open every privileged socket (ARP channels for the interfaces `arp_targets`
    /// are on), drop every privilege but `retain` (and, under sudo, become the invoking
    /// user), and only then start the receive loops that parse what the network sends.
    /// Call from the process's only thread: before building a multi-threaded runtime.
    pub fn start_least_privileged(
        opts: SessionOptions,
        arp_targets: impl IntoIterator<Item = Ipv4Addr>,
        retain: privilege::Retain,
    ) -> Result<(Session, privilege::Dropped)> {
        // 1. Privileged: sockets opened, none read.
        let mut opened = Session::open(opts)?;
        opened.open_arp_for(arp_targets);
        // 2. Give up what is no longer needed.
        let dropped = privilege::drop_privileges(retain)?;
        // 3. Unprivileged: the receivers start; from here on network bytes are parsed.
        Ok((opened.start()?, dropped))
    }

    /// The privileged half of starting a session: open every socket that needs a privilege
    /// (ICMP, the raw prober; ARP channels through [`OpenedSession::open_arp_for`]) and
    /// size the budget from the open-file limit. Nothing reads from these sockets yet: their
    /// receive tasks sit on a runtime nobody drives, and the raw prober's receive thread is
    /// not started, until [`OpenedSession::start`], so no
    /// byte from the network is parsed while the process still holds its privileges. Opens
    /// no thread (privileges are dropped per thread). Sockets that are not possible are
    /// recorded as such; jobs say what they skipped.
    pub fn open(opts: SessionOptions) -> Result<OpenedSession> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Opened on the measurement runtime, so replies are read and timestamped on its
        // thread, whatever the caller's runtime is busy with.
        let icmp = {
            let _enter = rt.enter();
            IcmpProbe::new()
        };
        let raw = RawProber::open();
        let fd_limit = privilege::raise_fd_limit(65_536);
        Ok(OpenedSession {
            parts: Some(Parts {
                rt,
                icmp,
                raw,
                arp: ArpChannels::default(),
                arp_opened: Vec::new(),
                raw_capable: privilege::has_cap_net_raw(),
                opts,
                fd_limit,
            }),
        })
    }

    /// Run a latency-sensitive future (an echo series, a DNS lookup) on the measurement
    /// thread and wait for it. `None` only if that thread has died.
    pub async fn measured<F>(&self, fut: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.measure.spawn(fut).await.ok()
    }

    /// The ICMP echo probe, or why there is none.
    pub fn icmp(&self) -> std::result::Result<&IcmpProbe, &IcmpError> {
        self.inner.icmp.as_ref()
    }

    /// Whether raw sockets can be opened (ARP, raw ICMP, SYN scan).
    pub fn raw_capable(&self) -> bool {
        self.inner.raw_capable
    }

    /// The raw TCP/ICMP prober (SYN scan, TCP and timestamp discovery, traceroute), or why
    /// there is none.
    pub fn raw(&self) -> std::result::Result<&RawProber, &RawError> {
        self.inner.raw.as_ref()
    }

    /// The process-wide budget of raw probes in flight.
    pub fn packets(&self) -> &Arc<Semaphore> {
        &self.inner.packets
    }

    /// The DNS client for `server` (`None`: the system's resolvers), created once per server
    /// and timeout, on the measurement thread.
    pub async fn dns(
        &self,
        server: Option<SocketAddr>,
        timeout: Duration,
    ) -> dns::Result<DnsProbe> {
        if let Some(d) = lock(&self.inner.dns).get(&(server, timeout)) {
            return Ok(d.clone());
        }
        let made = self
            .measured(async move { DnsProbe::new(server, timeout) })
            .await
            .unwrap_or_else(|| DnsProbe::new(server, timeout))?;
        lock(&self.inner.dns).insert((server, timeout), made.clone());
        Ok(made)
    }

    /// One question for `netdx dns`: `name`/`rtype` to `server` (`None`: the system's
    /// resolvers, in order) over `wire`, on the measurement thread with the server's
    /// client from [`Session::dns`]. Fails only when no client can be made for `server`.
    pub async fn dns_ask(
        &self,
        server: Option<SocketAddr>,
        timeout: Duration,
        name: String,
        rtype: crate::core::model::RecordType,
        wire: dns::Wire,
    ) -> dns::Result<dns::Asked> {
        let probe = self.dns(server, timeout).await?;
        let why = "the measurement thread stopped";
        let unsent = dns::Asked {
            result: crate::core::model::DnsResult::not_sent(&name, rtype, why),
            rcode: None,
        };
        Ok(self
            .measured(async move { probe.ask(&name, rtype, &wire).await })
            .await
            .unwrap_or(unsent))
    }

    /// Whether `server` answers a question for `name` (PTR), on a socket kept per server:
    /// for checks repeated every round, which must not open a socket each time (see
    /// [`crate::net::dns_health`]). Runs on the measurement thread.
    pub async fn dns_alive(
        &self,
        server: SocketAddr,
        name: String,
        timeout: Duration,
    ) -> (crate::core::model::DnsStatus, Option<Duration>) {
        let health = self.inner.dns_health.clone();
        self.measured(async move {
            health
                .ask(
                    server,
                    &name,
                    hickory_resolver::proto::rr::RecordType::PTR,
                    timeout,
                )
                .await
        })
        .await
        .unwrap_or((crate::core::model::DnsStatus::Error, None))
    }

    /// The ARP channels, one per interface, kept between sweeps.
    pub fn arp(&self) -> &ArpChannels {
        &self.inner.arp
    }

    /// The process-wide budget of TCP connects in flight.
    pub fn connects(&self) -> &Arc<Semaphore> {
        &self.inner.connects
    }

    /// Size of [`Session::connects`].
    pub fn connect_window(&self) -> usize {
        self.inner.connect_window
    }

    /// The `--concurrency` asked for, when it was lowered to fit the open-file limit.
    pub fn lowered_concurrency(&self) -> Option<usize> {
        self.inner
            .requested_concurrency
            .filter(|r| *r > self.inner.connect_window)
    }

    /// Probes allowed in flight across all hosts now.
    pub fn global_allowed(&self) -> usize {
        lock(&self.inner.global).allowed()
    }

    /// Probes the overall window allows beyond those in flight now.
    pub fn global_room(&self) -> usize {
        self.global_allowed()
            .saturating_sub(self.inner.in_flight.load(Ordering::Relaxed))
    }

    /// `n` probes sent.
    pub fn in_flight(&self, n: usize) {
        self.inner.in_flight.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` probes answered or timed out.
    pub fn landed(&self, n: usize) {
        let _ = self
            .inner
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// A probe to `ip` sent at `sent` was dropped. Its host's window is the caller's; the
    /// overall window halves only when drops come from more than one host within a
    /// [`SHARED_DROP_SPAN`]: one host behind a lossy or policed link must not slow the scan
    /// of every other host (that was a /24 `-p all` taking minutes instead of seconds).
    pub fn shared_drop(
        &self,
        ip: IpAddr,
        sent: tokio::time::Instant,
        now: tokio::time::Instant,
        rto: Duration,
    ) {
        let shared = {
            let mut last = lock(&self.inner.last_drop);
            let shared = last.is_some_and(|(other, at)| {
                other != ip && now.saturating_duration_since(at) <= SHARED_DROP_SPAN
            });
            *last = Some((ip, now));
            shared
        };
        if shared {
            self.with_global(|w| w.on_drop(sent, now, rto));
        }
    }

    /// Update the overall window.
    pub fn with_global<R>(&self, f: impl FnOnce(&mut Window) -> R) -> R {
        f(&mut lock(&self.inner.global))
    }

    /// What is known of `ip` (defaults when nothing is).
    pub fn estimate(&self, ip: IpAddr) -> HostEstimate {
        lock(&self.inner.hosts)
            .map
            .get(&ip)
            .copied()
            .unwrap_or_default()
    }

    /// Read and update what is known of `ip`.
    pub fn with_host<R>(&self, ip: IpAddr, f: impl FnOnce(&mut HostEstimate) -> R) -> R {
        let mut est = lock(&self.inner.hosts);
        est.clock += 1;
        let clock = est.clock;
        if est.map.len() >= MAX_ESTIMATES && !est.map.contains_key(&ip) {
            forget_oldest_half(&mut est.map);
        }
        let e = est.map.entry(ip).or_default();
        e.touched = clock;
        f(e)
    }

    /// Record an unambiguous round-trip sample of `ip` (an echo reply, an ARP reply, a probe
    /// answered on the try it was timed from).
    pub fn observe_rtt(&self, ip: IpAddr, rtt: Duration) {
        self.with_host(ip, |e| e.timing.rtt.observe(rtt));
    }
}

fn forget_oldest_half(map: &mut HashMap<IpAddr, HostEstimate>) {
    let mut ages: Vec<u64> = map.values().map(|e| e.touched).collect();
    let mid = ages.len() / 2;
    let (_, cut, _) = ages.select_nth_unstable(mid);
    let cut = *cut;
    map.retain(|_, e| e.touched > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_persist_and_are_bounded() {
        let mut map = HashMap::new();
        for i in 0..10u32 {
            let e = HostEstimate {
                touched: u64::from(i),
                ..HostEstimate::default()
            };
            map.insert(IpAddr::from(i.to_be_bytes()), e);
        }
        forget_oldest_half(&mut map);
        assert_eq!(map.len(), 4);
        assert!(map.values().all(|e| e.touched > 5));
    }

    /// The receive tasks opened with the sockets sit still until `start` (nothing parses a
    /// reply while privileges are held), then run; an opened session dropped unstarted (the
    /// privilege drop failed) goes quietly, even inside the caller's runtime.
    #[tokio::test]
    async fn nothing_runs_on_an_opened_session_before_start() {
        let opened = Session::open(SessionOptions::default()).unwrap();
        let parts = opened.parts.as_ref().unwrap();
        let task = parts.rt.spawn(async { 7 });
        std::thread::yield_now();
        assert!(!task.is_finished(), "ran before start");
        let session = opened.start().unwrap();
        assert_eq!(task.await.unwrap(), 7, "runs once started");
        assert_eq!(session.measured(async { 1 }).await, Some(1));
        drop(Session::open(SessionOptions::default()).unwrap());
    }

    #[tokio::test]
    async fn a_session_keeps_what_it_learns() {
        let s = Session::new(SessionOptions::default()).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        s.observe_rtt(ip, Duration::from_millis(3));
        let c = s.clone();
        assert_eq!(
            c.estimate(ip).timing.rtt.srtt(),
            Some(Duration::from_millis(3)),
            "clones share one session"
        );
        // Work on the measurement thread comes back.
        assert_eq!(s.measured(async { 41 + 1 }).await, Some(42));
        assert!(s.connect_window() >= 1);
    }
}
