//! The port scan of one host, with retransmission: a port is `filtered` only after every try
//! it was given went unanswered, and it is given as many tries as the loss measured on that
//! very host requires (see [`crate::net::timing`]).
//!
//! ```text
//!  fresh ports ─┐                 ┌─ answer (open / closed / ICMP unreachable) ─► result
//!  retries ─────┴─► send (window, ├─ late answer to an earlier try (raw scan) ─► result
//!                   budget permit)└─ timeout ─► another try, or `filtered` when tries ran out
//! ```
//!
//! The loop is the same whatever carries the probes ([`Transport`]): connect() without
//! privilege, raw SYN packets with CAP_NET_RAW.
//!
//! A silent try is evidence only while the host is shown to be answering: a try counts
//! toward `filtered` when the host answered something while it was out. When the host falls
//! quiet (a link flap, a switch reconverging, a stalled machine), a port it already answered
//! on is asked again ([`Liveness`]); the silence meanwhile is not counted, sending pauses once
//! the host is clearly gone quiet, and a host quiet for [`HOST_GONE`] ends its scan with its
//! unsettled ports left out of the report (and named in a note) rather than called `filtered`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::core::event::PortOutcome;
use crate::core::model::PortState;
use crate::net::raw::{Probe, RawProber, ReplyKind, Subscription};
use crate::net::session::Session;
use crate::net::tcp::{self, Answer};
use crate::net::timing::{self, HostTiming};

/// One answer to one try of one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub port: u16,
    /// Which try this answers (0 = the first).
    pub tag: u8,
    pub state: PortState,
    pub at: Instant,
}

/// A try sent this long (or one round trip, if longer) before an answered one and still
/// unanswered is presumed lost.
const PRESUME_LOST_MARGIN: Duration = Duration::from_millis(1);

/// Most answers handled in one turn of the loop before it sends again.
const REPLY_BURST: usize = 1024;

/// Floor of a SYN try's timeout.
const SYN_MIN_TIMEOUT: Duration = Duration::from_millis(20);

/// A host that answered earlier and then nothing at all for this long has gone away (unplugged,
/// rebooting, a link that stays down): its scan ends. Long enough for a Wi-Fi roam, a rapid
/// spanning-tree reconvergence or a machine that stalled for seconds.
pub const HOST_GONE: Duration = Duration::from_secs(15);

/// The tag of a liveness probe: above every try's tag ([`LAST_TAG`]).
const WITNESS_TAG: u8 = u8::MAX;

/// The last tag a try may carry; a port still unsettled there counts its tries as they come.
const LAST_TAG: u8 = WITNESS_TAG - 1;

/// Most tries of one port that may go uncounted: past them its silences count whatever the
/// host did meanwhile. A real blackout pauses the scan well before a port gets there; a host
/// whose answers are sparse by nature (ICMP rejects at Linux's rate of about one a second,
/// read by connect() as refusals) would otherwise keep its ports in play for ever.
const UNCOUNTED_MAX: u8 = 16;

/// The chance below which a run of unanswered liveness probes is not bad luck on a lossy
/// link but a host that fell quiet.
const PAUSE_EVIDENCE: f64 = 1e-3;

/// Longest wait for one liveness probe's answer, however often it went unanswered.
const WITNESS_MAX_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether, and since when, the host is answering: the evidence a silent try is judged by.
///
/// Silence proves a firewall only if the host was answering while the try was out; a try that
/// went out while nothing came back at all (the whole path was down) proves nothing of its port.
/// A host that answers only now and then (a firewall that drops most ports) is asked on a port
/// it already answered on whenever it has been quiet for half the timeout, so its silent
/// tries are still judged. More such questions unanswered in a row than the host's loss
/// explains pause its scan until it answers again.
#[derive(Debug)]
struct Liveness {
    /// When the latest answer of any kind arrived.
    last_answer: Option<Instant>,
    /// A settled port that answered, to ask again: closed if there is one (a reset costs the
    /// host nothing), else open.
    port: Option<(u16, PortState)>,
    /// The liveness probe in flight: its deadline and the permit it holds.
    witness: Option<(Instant, Option<OwnedSemaphorePermit>)>,
    /// One liveness probe at a time, outside the scan's budget: a host that fell quiet keeps
    /// the budget full of tries waiting for their timeouts.
    budget: Arc<Semaphore>,
    /// Liveness probes in a row that went unanswered.
    failures: u32,
    /// The host's loss per try (its upper bound): how many unanswered liveness probes in a
    /// row are more than bad luck.
    loss: f64,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            last_answer: None,
            port: None,
            witness: None,
            budget: Arc::new(Semaphore::new(1)),
            failures: 0,
            loss: 1.0,
        }
    }
}

impl Liveness {
    /// Something came back from the host.
    fn heard(&mut self, at: Instant) {
        self.last_answer = Some(self.last_answer.map_or(at, |t| t.max(at)));
        self.failures = 0;
    }

    /// `port` settled as `state`: a candidate to ask when the host falls quiet.
    fn learn(&mut self, port: u16, state: PortState) {
        match (state, self.port) {
            (PortState::Closed, _) | (PortState::Open, None) => self.port = Some((port, state)),
            _ => {}
        }
    }

    /// Whether the silence of a try sent at `sent` is evidence. Without a port to ask, every
    /// silent try counts, as it always did: a host that never answered has nothing to compare
    /// against (see `timing::tries_for_host`), and one that only sends ICMP unreachables
    /// sends them about once a second (Linux's rate limit), too seldom to vouch for each try.
    fn witnessed(&self, sent: Instant) -> bool {
        self.port.is_none() || self.last_answer.is_none_or(|at| at >= sent)
    }

    /// Liveness probes went unanswered, more of them in a row than the host's loss explains
    /// (one in [`PAUSE_EVIDENCE`]): tries wait until it answers again. Pausing only saves
    /// probes: a try sent while the host is quiet does not count either way.
    fn paused(&self) -> bool {
        self.failures > 0 && self.loss.powi(self.failures.min(64) as i32) <= PAUSE_EVIDENCE
    }

    /// When a liveness probe should go out (None: not needed, or one is out).
    fn due(&self, rto: Duration, outstanding: usize) -> Option<Instant> {
        let last = self.last_answer?;
        self.port?;
        if self.witness.is_some() || (outstanding == 0 && !self.paused()) {
            return None;
        }
        Some(last + rto / 2)
    }

    fn timeout(&self, rto: Duration) -> Duration {
        (rto * 2)
            .saturating_mul(1 << self.failures.min(6))
            .min(WITNESS_MAX_TIMEOUT.max(rto))
    }

    /// The host answered nothing for [`HOST_GONE`], liveness probes included.
    fn gone(&self, now: Instant) -> bool {
        self.paused()
            && self
                .last_answer
                .is_some_and(|at| now.saturating_duration_since(at) >= HOST_GONE)
    }
}

type ConnectFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Reply>> + Send>>;

/// What carries the probes of one host scan.
pub enum Transport {
    /// connect(2): no privilege needed; a try's socket is closed at its timeout, so an answer
    /// after it is lost (and the port tried again).
    Connect {
        ip: IpAddr,
        /// Answers the kernel gave while the connect was being started.
        ready: VecDeque<Reply>,
        inflight: FuturesUnordered<ConnectFuture>,
    },
    /// Half-open SYN scan over the session's raw prober (CAP_NET_RAW): replies are matched
    /// by address, port and sequence number, and a late reply to an earlier try still counts.
    Syn {
        ip: IpAddr,
        prober: RawProber,
        replies: Subscription,
        /// Tries of this turn of the loop, sent together by [`Transport::flush`].
        batch: Vec<(u16, Probe, u8)>,
    },
}

impl Transport {
    pub fn connect(ip: IpAddr) -> Self {
        Transport::Connect {
            ip,
            ready: VecDeque::new(),
            inflight: FuturesUnordered::new(),
        }
    }

    pub fn syn(ip: IpAddr, prober: &RawProber) -> Self {
        Transport::Syn {
            ip,
            prober: prober.clone(),
            replies: prober.subscribe(ip),
            batch: Vec::new(),
        }
    }

    /// How the ports were checked, in the words of the report.
    pub fn label(&self) -> &'static str {
        match self {
            Transport::Connect { .. } => "connect scan",
            Transport::Syn { .. } => "SYN scan",
        }
    }

    /// Floor of the retransmission timeout. For connect() below this, scheduling jitter on a
    /// loaded machine would spend tries for nothing.
    fn rto_floor(&self) -> Duration {
        match self {
            Transport::Connect { .. } => tcp::MIN_TIMEOUT,
            // Late replies are matched to their try, so a short timeout costs a packet, never
            // a lie.
            Transport::Syn { .. } => SYN_MIN_TIMEOUT,
        }
    }

    /// The budget a try draws from.
    fn budget<'a>(&self, session: &'a Session) -> &'a Arc<Semaphore> {
        match self {
            Transport::Connect { .. } => session.connects(),
            Transport::Syn { .. } => session.packets(),
        }
    }

    /// Send one try now. Returns the permit when the try does not hold it itself (then the
    /// scheduler holds it until the try is answered or times out).
    fn send(
        &mut self,
        port: u16,
        tag: u8,
        timeout: Duration,
        permit: OwnedSemaphorePermit,
    ) -> Option<OwnedSemaphorePermit> {
        match self {
            Transport::Connect {
                ip,
                ready,
                inflight,
            } => {
                let reply = |answer: Answer| {
                    answer_state(answer).map(|state| Reply {
                        port,
                        tag,
                        state,
                        at: Instant::now(),
                    })
                };
                match tcp::start(SocketAddr::new(*ip, port)) {
                    Ok(tcp::Started::Answered(a)) => ready.extend(reply(a)),
                    Ok(tcp::Started::Waiting(pending)) => inflight.push(Box::pin(async move {
                        let _permit = permit;
                        match pending.finish(timeout).await {
                            Ok(a) => answer_state(a).map(|state| Reply {
                                port,
                                tag,
                                state,
                                at: Instant::now(),
                            }),
                            Err(_) => None,
                        }
                    })),
                    // Out of local resources: silence; the scheduler tries again at the
                    // timeout, so no state is recorded from our own shortage.
                    Err(_) => {}
                }
                None
            }
            Transport::Syn { batch, .. } => {
                batch.push((port, Probe::Syn, tag));
                Some(permit)
            }
        }
    }

    /// Sends the tries queued by [`Transport::send`] (raw scan: one batch, spread over the
    /// prober's sending threads).
    fn flush(&mut self) {
        if let Transport::Syn {
            ip, prober, batch, ..
        } = self
            && !batch.is_empty()
        {
            // A send the kernel refused (buffer full, no route) is silence: tried again at
            // the timeout like a lost packet.
            let _ = prober.send_batch(*ip, batch);
            batch.clear();
        }
    }

    /// The next answer; pending forever while nothing is in flight.
    async fn recv(&mut self) -> Reply {
        match self {
            Transport::Syn { replies, .. } => loop {
                let Some(r) = replies.recv().await else {
                    // The prober is gone (the session is shutting down): nothing more comes.
                    std::future::pending::<()>().await;
                    continue;
                };
                let state = match (r.probe, r.kind) {
                    (Probe::Syn, ReplyKind::SynAck) => PortState::Open,
                    (Probe::Syn, ReplyKind::Rst) => PortState::Closed,
                    // An ICMP unreachable quoting our SYN: something refuses, proven.
                    (Probe::Syn, ReplyKind::Unreachable { .. }) => PortState::Filtered,
                    // Discovery's probes to the same host, read by their own subscriber.
                    _ => continue,
                };
                return Reply {
                    port: r.port,
                    tag: r.tag,
                    state,
                    at: r.at,
                };
            },
            Transport::Connect {
                ready, inflight, ..
            } => loop {
                // Poll the handshakes first, without waiting: a new one registers with the
                // reactor only when polled, and a stream of immediate answers must not keep
                // it from being polled (it would look silent and be tried again).
                if !inflight.is_empty() {
                    match inflight.next().now_or_never() {
                        Some(Some(Some(r))) => return r,
                        Some(Some(None)) => continue,
                        Some(None) | None => {}
                    }
                }
                if let Some(r) = ready.pop_front() {
                    return r;
                }
                if inflight.is_empty() {
                    std::future::pending::<()>().await;
                }
                if let Some(Some(r)) = inflight.next().await {
                    return r;
                }
            },
        }
    }
}

fn answer_state(a: Answer) -> Option<PortState> {
    match a {
        Answer::Open => Some(PortState::Open),
        Answer::Closed => Some(PortState::Closed),
        Answer::Unreachable => Some(PortState::Filtered),
        Answer::Silent => None,
    }
}

/// A port not yet settled.
struct Track {
    /// The try most recently sent.
    tag: u8,
    /// Tries that went unanswered while the host was answering: the evidence of `filtered`.
    counted: u8,
    /// When try 0 went out: a drop is dated from it.
    first_sent: Instant,
    last_sent: Instant,
    /// Waiting for an answer (false while queued for its next try).
    outstanding: bool,
    /// Outstanding, but probes sent after it have been answered: most likely lost, so it no
    /// longer takes a place in the window (TCP's "pipe"); its timer still decides.
    presumed_lost: bool,
    permit: Option<OwnedSemaphorePermit>,
}

impl Track {
    fn new(now: Instant) -> Self {
        Track {
            tag: 0,
            counted: 0,
            first_sent: now,
            last_sent: now,
            outstanding: false,
            presumed_lost: false,
            permit: None,
        }
    }
}

/// The hash of the port table: consecutive ports go to consecutive buckets.
///
/// Ports are mostly sent, and answered, in order, so the ports in flight are a run of a few
/// thousand consecutive numbers; placed by a scrambling hash (SipHash, Fx), each send and each
/// answer was a cache miss in a table of megabytes (two thirds of the scan loop's time, 3 % of
/// a 65,535-port scan's CPU). The low bits are the port itself (where the table puts the
/// entry), the top 7 bits a multiplicative mix of it (the tag the table compares first), so a
/// run of ports shorter than the table never collides and neighbours share cache lines.
#[derive(Debug, Clone, Copy, Default)]
struct PortHash;

impl BuildHasher for PortHash {
    type Hasher = PortHasher;

    fn build_hasher(&self) -> PortHasher {
        PortHasher(0)
    }
}

struct PortHasher(u64);

impl Hasher for PortHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u16(&mut self, port: u16) {
        let p = u64::from(port);
        self.0 = p | (p.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (0x7F << 57));
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u16 keys are hashed here; anything else still gets a usable (if plain) hash.
        let folded = bytes
            .iter()
            .fold(self.0 as u16, |a, b| a.rotate_left(8) ^ u16::from(*b));
        self.write_u16(folded);
    }
}

/// Figures of one host scan, for the caller's notes and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Probes sent, retransmissions included.
    pub sent: u64,
    pub retransmitted: u64,
    /// Ports that answered (open, closed or ICMP unreachable).
    pub answered: u64,
    /// Ports that stayed silent through all their tries.
    pub silent: u64,
    /// Most tries a silent port was given.
    pub max_tries: u8,
    /// Ports left unsettled because the host stopped answering (see [`HOST_GONE`]).
    pub abandoned: u64,
}

/// Where settled ports go (the engine batches them into events).
pub trait PortSink: Send {
    fn push(&mut self, r: PortOutcome) -> impl std::future::Future<Output = ()> + Send;
}

/// Scan `ports` of `ip` over `transport`. `sink` gets each port's final state as it is
/// settled. Returns early (with the ports settled so far) when `cancel` fires.
pub async fn scan(
    session: &Session,
    ip: IpAddr,
    ports: impl IntoIterator<Item = u16>,
    mut transport: Transport,
    ceiling: Duration,
    cancel: &CancellationToken,
    sink: &mut impl PortSink,
) -> ScanStats {
    let mut fresh = ports.into_iter();
    let mut timing: HostTiming = session.estimate(ip).timing;
    timing.window.begin_job();
    let floor = transport.rto_floor();
    let budget = transport.budget(session).clone();
    let mut tracks: HashMap<u16, Track, PortHash> = HashMap::default();
    let mut retries: VecDeque<u16> = VecDeque::new();
    let mut silent: Vec<u16> = Vec::new();
    // Ports asked about so far: the more there are, the more tries each silent one gets.
    let mut fresh_taken = 0usize;
    let mut timers: BinaryHeap<Reverse<(Instant, u16, u8)>> = BinaryHeap::new();
    let mut outstanding = 0usize;
    // Outstanding tries presumed lost, and every try in the order sent (for finding them).
    let mut presumed = 0usize;
    let mut sent_order: VecDeque<(Instant, u16, u8)> = VecDeque::new();
    let mut spare: Option<OwnedSemaphorePermit> = None;
    let mut blocked = false;
    let mut exhausted = false;
    let mut stats = ScanStats::default();
    let mut since_yield = 0u32;
    let mut live = Liveness::default();

    loop {
        // Synchronous answers can keep this task busy for a long time; the runtime polls its
        // I/O driver when a task yields, and the handshakes in flight need it.
        since_yield += 1;
        if since_yield >= 256 {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
        // Send while the windows and the budget allow.
        let allowed = timing.window.allowed();
        live.loss = timing.loss.upper();
        // The overall window bounds the sum over hosts; one probe per host always goes out,
        // so no host waits on the others without a timer of its own.
        // Tries presumed lost leave the window's count, but never more than a window's worth:
        // under a policer most tries are lost, and sending on for each of them would only
        // feed the policer.
        while outstanding - presumed < allowed
            && outstanding < allowed * 2
            && (outstanding == 0 || session.global_room() > 0)
            && !live.paused()
        {
            // Retries first: they are the oldest questions.
            let port = match retries.pop_front() {
                Some(port) if tracks.contains_key(&port) => port,
                Some(_) => continue, // answered late while it waited for its next try
                None if exhausted => break,
                None => match fresh.next() {
                    Some(port) if !tracks.contains_key(&port) => {
                        fresh_taken += 1;
                        port
                    }
                    Some(_) => continue, // listed twice
                    None => {
                        exhausted = true;
                        break;
                    }
                },
            };
            let permit = match spare.take() {
                Some(p) => p,
                None => match budget.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(tokio::sync::TryAcquireError::NoPermits) => {
                        blocked = true;
                        retries.push_front(port);
                        tracks
                            .entry(port)
                            .or_insert_with(|| Track::new(Instant::now()));
                        break;
                    }
                    Err(tokio::sync::TryAcquireError::Closed) => return stats,
                },
            };
            let now = Instant::now();
            let track = tracks.entry(port).or_insert_with(|| Track::new(now));
            if track.tag > 0 {
                stats.retransmitted += 1;
            } else {
                track.first_sent = now;
            }
            track.last_sent = now;
            track.outstanding = true;
            let timeout = timing::try_timeout(timing.rto(floor, ceiling), track.tag, ceiling);
            timing.window.on_send(now);
            track.permit = transport.send(port, track.tag, timeout, permit);
            timers.push(Reverse((now + timeout, port, track.tag)));
            sent_order.push_back((now, port, track.tag));
            // Forget tries already settled (or timed out) at the front: the queue stays as
            // long as what is in flight, even on a host that answers nothing.
            while let Some(&(_, p, t)) = sent_order.front() {
                if tracks
                    .get(&p)
                    .is_some_and(|tr| tr.outstanding && tr.tag == t)
                {
                    break;
                }
                sent_order.pop_front();
            }
            outstanding += 1;
            session.in_flight(1);
            stats.sent += 1;
        }
        // The host has been quiet while tries are out: ask a port it answered on.
        let rto = timing.rto(floor, ceiling);
        let now = Instant::now();
        if let Some((port, _)) = live.port
            && live.due(rto, outstanding).is_some_and(|at| at <= now)
            && let Ok(permit) = live.budget.clone().try_acquire_owned()
        {
            let timeout = live.timeout(rto);
            let held = transport.send(port, WITNESS_TAG, timeout, permit);
            live.witness = Some((now + timeout, held));
            stats.sent += 1;
        }
        transport.flush();
        if exhausted
            && retries.is_empty()
            && outstanding == 0
            && (!live.paused() || tracks.is_empty())
        {
            // Only provisionally silent ports are left (or none): give each the tries the
            // host's measured loss calls for, or call it filtered.
            let need = timing::tries_for_host(&timing.loss, fresh_taken);
            let mut again = false;
            for port in std::mem::take(&mut silent) {
                let Some(track) = tracks.get(&port) else {
                    continue;
                };
                if track.counted < need && track.tag < LAST_TAG {
                    retries.push_back(port);
                    again = true;
                } else {
                    stats.silent += 1;
                    stats.max_tries = stats.max_tries.max(track.counted);
                    tracks.remove(&port);
                    sink.push(PortOutcome {
                        port,
                        state: PortState::Filtered,
                        rtt: None,
                    })
                    .await;
                }
            }
            if !again {
                break;
            }
            continue;
        }
        let next_deadline = [
            timers.peek().map(|Reverse((at, _, _))| *at),
            live.due(rto, outstanding),
            live.witness.as_ref().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            reply = transport.recv() => {
                // Every answer already there is taken before sending again: the tries they
                // free go out as one batch.
                let mut next = Some(reply);
                let mut taken = 0;
                while let Some(reply) = next.take() {
                    'one: {
                        live.heard(reply.at);
                        if reply.tag == WITNESS_TAG {
                            live.witness = None;
                            break 'one;
                        }
                        let Some(track) = tracks.get(&reply.port) else { break 'one };
                        if reply.tag > track.tag {
                            break 'one; // cannot happen: not a reply to anything we sent
                        }
                        let track = tracks.remove(&reply.port).map(|t| (t.tag, t.counted, t.first_sent, t.last_sent, t.outstanding, t.presumed_lost));
                        let Some((tag, counted, first_sent, last_sent, was_outstanding, was_presumed)) = track else { break 'one };
                        live.learn(reply.port, reply.state);
                        if was_outstanding {
                            outstanding -= 1;
                            session.landed(1);
                        }
                        if was_presumed {
                            presumed -= 1;
                        }
                        if reply.tag == tag {
                            // Tries sent well before this one and still unanswered are most likely
                            // lost: they stop holding places in the window.
                            let margin = timing.rtt.srtt().unwrap_or_default().max(PRESUME_LOST_MARGIN);
                            while let Some(&(sent, port, t)) = sent_order.front() {
                                if sent + margin >= last_sent {
                                    break;
                                }
                                sent_order.pop_front();
                                if let Some(tr) = tracks.get_mut(&port)
                                    && tr.outstanding
                                    && tr.tag == t
                                    && !tr.presumed_lost
                                {
                                    tr.presumed_lost = true;
                                    presumed += 1;
                                }
                            }
                        }
                        // Only tries lost while the host was answering are loss; a blackout's are not.
                        timing.loss.answered_on(reply.tag.min(counted));
                        timing.window.on_answer(reply.at);
                        // Every reply names the try it answers (Karn's ambiguity does not arise), so a
                        // late answer to the first try is a sample too: when the path stalls, the
                        // timeout grows with it instead of calling the stalled ports silent.
                        let sent = if reply.tag == tag {
                            Some(last_sent)
                        } else if reply.tag == 0 {
                            Some(first_sent)
                        } else {
                            None
                        };
                        if let Some(sent) = sent {
                            timing.rtt.observe(reply.at.saturating_duration_since(sent));
                        }
                        if reply.tag > 0 {
                            let rto = timing.rto(floor, ceiling);
                            timing.window.on_drop(first_sent, reply.at, rto);
                            session.shared_drop(ip, first_sent, reply.at, rto);
                        } else {
                            timing.window.on_success();
                            session.with_global(|w| w.on_success());
                        }
                        stats.answered += 1;
                        sink.push(PortOutcome {
                            port: reply.port,
                            state: reply.state,
                            rtt: (reply.tag == tag).then(|| reply.at.saturating_duration_since(last_sent)),
                        }).await;
                    }
                    taken += 1;
                    if taken < REPLY_BURST {
                        next = transport.recv().now_or_never();
                    }
                }
            }
            _ = async { match next_deadline { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {
                let now = Instant::now();
                while let Some(Reverse((at, port, tag))) = timers.peek().copied() {
                    if at > now {
                        break;
                    }
                    timers.pop();
                    let Some(track) = tracks.get_mut(&port) else { continue };
                    if track.tag != tag || !track.outstanding {
                        continue;
                    }
                    track.outstanding = false;
                    if track.presumed_lost {
                        track.presumed_lost = false;
                        presumed -= 1;
                    }
                    track.permit = None;
                    outstanding -= 1;
                    session.landed(1);
                    // Silence while nothing at all came back (the path was down) proves nothing
                    // of this port: the try is repeated, not counted.
                    let witnessed = live.witnessed(track.last_sent)
                        || tag - track.counted >= UNCOUNTED_MAX
                        || tag >= LAST_TAG;
                    if witnessed {
                        track.counted += 1;
                        // On a host that has never lost an answered probe, a silent try is a
                        // firewall, not congestion: the windows keep growing while ports stay
                        // silent. Once losses were seen, only answers grow them.
                        if !timing.loss.has_lost() {
                            timing.window.on_success();
                            session.with_global(|w| w.on_success());
                        }
                    }
                    let allowed_tries = timing::tries_for_host(&timing.loss, fresh_taken);
                    if track.counted < allowed_tries && tag < LAST_TAG {
                        track.tag = tag + 1;
                        retries.push_back(port);
                    } else {
                        // Provisionally silent: judged again at the end with everything the
                        // scan learnt of the host's loss (early on, losses of ports still being
                        // retried are not counted yet). A late answer still settles it.
                        track.tag = (tag + 1).min(LAST_TAG);
                        silent.push(port);
                    }
                }
                if live.witness.as_ref().is_some_and(|(at, _)| *at <= now) {
                    live.witness = None;
                    live.failures += 1;
                    if live.gone(now) {
                        break;
                    }
                }
            }
            permit = budget.clone().acquire_owned(), if blocked => {
                blocked = false;
                match permit {
                    Ok(p) => spare = Some(p),
                    Err(_) => break,
                }
            }
        }
    }
    if live.gone(Instant::now()) {
        // Ports proven silent while the host still answered stay `filtered`; the rest were
        // never settled and are left out of the report.
        let need = timing::tries_for_host(&timing.loss, fresh_taken);
        for port in silent {
            if tracks.get(&port).is_some_and(|t| t.counted >= need) {
                tracks.remove(&port);
                stats.silent += 1;
                sink.push(PortOutcome {
                    port,
                    state: PortState::Filtered,
                    rtt: None,
                })
                .await;
            }
        }
        stats.abandoned = (tracks.len() + fresh.filter(|p| !tracks.contains_key(p)).count()) as u64;
    }
    // Cancelled mid-way: what was still out no longer counts against the overall window.
    session.landed(outstanding);
    session.with_host(ip, |e| e.timing = timing);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(port: u16) -> u64 {
        PortHash.hash_one(port)
    }

    #[test]
    fn port_hash_keeps_neighbours_together_and_tags_them_apart() {
        // The low bits (the bucket) are the port: a run of ports fills a run of buckets.
        for port in [0u16, 1, 22, 443, 8080, 65535] {
            assert_eq!(hash(port) & 0xffff, u64::from(port));
        }
        // The top 7 bits (the tag compared first) differ between most neighbours.
        let tags: std::collections::HashSet<u64> = (1000u16..1128).map(|p| hash(p) >> 57).collect();
        assert!(tags.len() > 64, "{} distinct tags in 128 ports", tags.len());
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn silence_counts_only_while_the_host_answers() {
        let t0 = Instant::now();
        let mut live = Liveness::default();
        // Nothing heard yet: judged as before (a host that answers nothing is `filtered`).
        assert!(live.witnessed(t0));
        live.heard(t0 + 10 * MS);
        // Only ICMP unreachables so far: no port to ask, so judged as before too.
        assert!(live.witnessed(t0 + 11 * MS));
        live.learn(443, PortState::Filtered);
        assert!(
            live.witnessed(t0 + 11 * MS),
            "an unreachable is no port to ask"
        );
        live.learn(23, PortState::Closed);
        assert!(live.witnessed(t0), "an answer came while the try was out");
        assert!(live.witnessed(t0 + 10 * MS));
        assert!(
            !live.witnessed(t0 + 11 * MS),
            "sent after the last answer: the path may have been down"
        );
        // Answers never move the evidence back in time.
        live.heard(t0);
        assert!(live.witnessed(t0 + 10 * MS));
    }

    #[test]
    fn a_quiet_host_is_asked_on_a_port_it_answered() {
        let t0 = Instant::now();
        let rto = 100 * MS;
        let mut live = Liveness::default();
        live.heard(t0);
        assert_eq!(live.due(rto, 5), None, "no port to ask yet");
        live.learn(22, PortState::Open);
        live.learn(23, PortState::Closed);
        live.learn(24, PortState::Open);
        assert_eq!(
            live.port,
            Some((23, PortState::Closed)),
            "a reset costs the host least"
        );
        assert_eq!(live.due(rto, 5), Some(t0 + 50 * MS));
        assert_eq!(live.due(rto, 0), None, "nothing out: nothing to judge");
        live.witness = Some((t0 + rto, None));
        assert_eq!(live.due(rto, 5), None, "one question at a time");
    }

    #[test]
    fn unanswered_questions_pause_then_end_the_host() {
        let t0 = Instant::now();
        let rto = 100 * MS;
        let mut live = Liveness::default();
        live.heard(t0);
        live.learn(23, PortState::Closed);
        live.loss = 0.05;
        assert!(!live.paused());
        assert_eq!(live.timeout(rto), 200 * MS);
        live.failures = 2;
        assert!(
            !live.paused(),
            "two losses in a row at 5 % loss: bad luck, 1 in 400"
        );
        assert_eq!(live.timeout(rto), 800 * MS, "backs off");
        live.failures = 3;
        assert!(live.paused(), "three: 1 in 8,000");
        live.loss = 0.3;
        assert!(!live.paused(), "at 30 % loss three in a row is 1 in 37");
        live.failures = 6;
        assert!(live.paused(), "six: 1 in 1,372");
        assert_eq!(
            live.due(rto, 0),
            Some(t0 + 50 * MS),
            "asks again while paused"
        );
        live.failures = 9;
        assert_eq!(live.timeout(rto), WITNESS_MAX_TIMEOUT, "bounded");
        assert!(!live.gone(t0 + HOST_GONE - MS));
        assert!(live.gone(t0 + HOST_GONE));
        live.heard(t0 + HOST_GONE);
        assert!(
            !live.paused() && !live.gone(t0 + HOST_GONE),
            "it answered: back"
        );
    }

    #[test]
    fn port_table_holds_every_port() {
        let mut t: HashMap<u16, u16, PortHash> = HashMap::default();
        for p in 0..=u16::MAX {
            t.insert(p, p.wrapping_mul(7));
        }
        assert_eq!(t.len(), 65_536);
        assert!((0..=u16::MAX).all(|p| t.get(&p) == Some(&p.wrapping_mul(7))));
        for p in (0..=u16::MAX).step_by(2) {
            t.remove(&p);
        }
        assert!((0..=u16::MAX).all(|p| t.contains_key(&p) == (p % 2 == 1)));
    }
}
