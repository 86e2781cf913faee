//! How long to wait, how much to send, and how many times to ask: the estimates that turn
//! "no answer" into a fact instead of a guess. Pure state, no I/O, no clock of its own (every
//! method takes the time it needs), so each rule is unit-tested.
//!
//! - [`RttEstimator`]: RFC 6298 smoothed round trip and variance per host, giving the
//!   retransmission timeout. A probe that comes back late is never a lie here (the raw scan
//!   matches late replies), only a retransmission spent.
//! - [`Window`]: a congestion window (TCP's and nmap's approach): grows while probes are
//!   answered, halves when a probe was demonstrably dropped (a retransmission was answered), at
//!   most once per round trip, and takes the cut back when half the window brought half the
//!   answers at the same share of tries answered (the loss was random, not a bottleneck). A
//!   lossy or policed link costs time, not truth.
//! - [`LossEstimate`] and [`tries_for`]: how many tries a port gets before it may be called
//!   `filtered`. The answer depends on the loss measured on that very host: on a clean LAN two
//!   tries, on a 30 % loss link about a dozen, so that the chance of a responsive port losing
//!   every try stays below one in a million.

use std::time::Duration;

use tokio::time::Instant;

/// RFC 6298's clock granularity term (G): the variance term never falls below it.
const GRANULARITY: Duration = Duration::from_millis(1);

/// Smoothed round trip (SRTT) and variance (RTTVAR) of one host, RFC 6298 section 2.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    min: Option<Duration>,
    samples: u32,
}

impl RttEstimator {
    /// Fold in one round-trip sample. Only unambiguous samples belong here (Karn's algorithm:
    /// the reply must be known to answer the try whose send time we measured from).
    pub fn observe(&mut self, sample: Duration) {
        let sample = sample.max(Duration::from_micros(1));
        match self.srtt {
            None => {
                self.srtt = Some(sample);
                self.rttvar = sample / 2;
            }
            Some(srtt) => {
                let err = srtt.abs_diff(sample);
                // RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT = 7/8 SRTT + 1/8 R'
                self.rttvar = self.rttvar * 3 / 4 + err / 4;
                self.srtt = Some(srtt * 7 / 8 + sample / 8);
            }
        }
        self.min = Some(self.min.map_or(sample, |m| m.min(sample)));
        self.samples = self.samples.saturating_add(1);
    }

    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// Smallest round trip seen: the figure least distorted by queueing, ours included.
    pub fn min(&self) -> Option<Duration> {
        self.min
    }

    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// The retransmission timeout: `SRTT + max(G, 4 × RTTVAR)`, within `[floor, ceiling]`;
    /// `ceiling` (the user's timeout) while nothing has been measured.
    pub fn rto(&self, floor: Duration, ceiling: Duration) -> Duration {
        match self.srtt {
            None => ceiling,
            Some(srtt) => (srtt + (self.rttvar * 4).max(GRANULARITY))
                .max(floor)
                .min(ceiling.max(floor)),
        }
    }
}

/// A cut whose effect is not known yet: how things stood just before it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cut {
    cwnd: f64,
    ssthresh: f64,
    /// The epoch the cut ended.
    before: Epoch,
}

/// What one epoch (from one loss event to the next) delivered.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Epoch {
    /// Answers a second.
    goodput: f64,
    /// Answers per try sent.
    delivery: f64,
}

/// A congestion window in probes: how many may be unanswered at once.
///
/// Each cut is put to the test in the epoch after it (until the next loss event): where the
/// losses come from a bottleneck (a policer, a full queue), either answers keep coming at the
/// bottleneck's rate with half the window, or, once below that rate, a larger share of the
/// tries is answered; where losses come whatever the rate (a bad cable, a lossy radio link),
/// half the window brings half the answers at the same share, and the cut is undone. (A
/// first version undid on the answer rate alone: under a policer it held the window above
/// the policer's rate, and every try of some ports was lost in the same stretch.)
/// Without this, TCP's rule reads random loss as congestion and shrinks the window of a 30 %
/// loss host to a handful of probes, where it stays (one such host made the lab's /24
/// `-p all` take 110 s instead of 20 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    cwnd: f64,
    ssthresh: f64,
    min: f64,
    max: f64,
    /// Probes sent before this instant do not shrink the window again: one decrease per loss
    /// event, not one per probe lost in the same burst (TCP's rule).
    recovery_until: Option<Instant>,
    /// The current epoch: when its first try or answer came, the answers and tries since.
    epoch_start: Option<Instant>,
    epoch_answers: u64,
    epoch_sends: u64,
    /// The last cut, until the epoch after it has judged it.
    last_cut: Option<Cut>,
}

/// Fewest answers in an epoch for its goodput to judge a cut.
const EPOCH_MIN_ANSWERS: u64 = 16;
/// A cut that left less than this share of the goodput was not relieving a bottleneck...
const SPURIOUS_CUT_GOODPUT: f64 = 0.75;
/// ...unless it raised the share of tries answered by more than this factor.
const EASED_DELIVERY: f64 = 1.1;

impl Window {
    pub fn new(initial: usize, min: usize, max: usize) -> Self {
        let max = max.max(1) as f64;
        let min = (min.max(1) as f64).min(max);
        Window {
            cwnd: (initial as f64).clamp(min, max),
            ssthresh: max,
            min,
            max,
            recovery_until: None,
            epoch_start: None,
            epoch_answers: 0,
            epoch_sends: 0,
            last_cut: None,
        }
    }

    /// A new job starts with this window: answers of an earlier one, and the idle time since,
    /// judge no cut of this one.
    pub fn begin_job(&mut self) {
        self.new_epoch();
        self.last_cut = None;
    }

    fn new_epoch(&mut self) {
        self.epoch_start = None;
        self.epoch_answers = 0;
        self.epoch_sends = 0;
    }

    /// A try was sent at `at` (first or later).
    pub fn on_send(&mut self, at: Instant) {
        self.epoch_start.get_or_insert(at);
        self.epoch_sends += 1;
    }

    /// A probe was answered at `at` (on any try).
    pub fn on_answer(&mut self, at: Instant) {
        self.epoch_start.get_or_insert(at);
        self.epoch_answers += 1;
    }

    /// What the epoch ending at `now` delivered, when it saw enough answers to say.
    fn epoch(&self, now: Instant) -> Option<Epoch> {
        let start = self.epoch_start?;
        let secs = now.saturating_duration_since(start).as_secs_f64();
        (self.epoch_answers >= EPOCH_MIN_ANSWERS && self.epoch_sends > 0 && secs > 0.0).then(|| {
            Epoch {
                goodput: self.epoch_answers as f64 / secs,
                delivery: self.epoch_answers as f64 / self.epoch_sends as f64,
            }
        })
    }

    /// Probes allowed in flight now.
    pub fn allowed(&self) -> usize {
        self.cwnd as usize
    }

    /// A probe got its answer, or ran out of tries without any sign of loss: slow start below
    /// the threshold, then one more probe per window's worth of answers.
    pub fn on_success(&mut self) {
        if self.cwnd < self.ssthresh {
            self.cwnd += 1.0;
        } else {
            self.cwnd += 1.0 / self.cwnd;
        }
        self.cwnd = self.cwnd.min(self.max);
    }

    /// A probe sent at `sent` was dropped (a later try of it was answered). Halves the window
    /// once per loss event; `now + rto` ends the event.
    ///
    /// When the epoch since the previous cut brought less than [`SPURIOUS_CUT_GOODPUT`] of the
    /// answers a second of the epoch before it, and no larger share of its tries was answered
    /// (within [`EASED_DELIVERY`]), that cut is undone instead (see [`Window`]).
    pub fn on_drop(&mut self, sent: Instant, now: Instant, rto: Duration) {
        if self.recovery_until.is_some_and(|until| sent < until) {
            return;
        }
        let epoch = self.epoch(now);
        self.new_epoch();
        self.recovery_until = Some(now + rto);
        if let Some(cut) = self.last_cut.take()
            && epoch.is_some_and(|e| {
                e.goodput < cut.before.goodput * SPURIOUS_CUT_GOODPUT
                    && e.delivery <= cut.before.delivery * EASED_DELIVERY
            })
        {
            self.cwnd = self.cwnd.max(cut.cwnd);
            self.ssthresh = self.ssthresh.max(cut.ssthresh);
            return;
        }
        self.last_cut = epoch.map(|before| Cut {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            before,
        });
        self.ssthresh = (self.cwnd / 2.0).max(self.min);
        self.cwnd = self.ssthresh;
    }
}

/// Loss per try on one host, learnt from probes that were answered: a probe first answered on
/// its `k`-th try lost `k - 1` tries before. Filtered ports teach nothing (they are never
/// answered), so a firewall does not inflate the estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossEstimate {
    /// Tries that were lost before a probe was answered.
    lost: u64,
    /// Tries that were answered.
    answered: u64,
}

impl LossEstimate {
    /// A probe answered on try `tag` (0 = first try).
    pub fn answered_on(&mut self, tag: u8) {
        self.lost += u64::from(tag);
        self.answered += 1;
    }

    /// Echo series: `sent` requests, `received` replies.
    pub fn echoes(&mut self, sent: u32, received: u32) {
        if received > 0 {
            self.lost += u64::from(sent.saturating_sub(received));
            self.answered += u64::from(received);
        }
    }

    /// Loss per try, with a prior of one loss in twenty tries until evidence says otherwise
    /// (Laplace-style): cautious on little evidence, exact on a lot.
    pub fn per_try(&self) -> f64 {
        const PRIOR_LOST: f64 = 1.0;
        const PRIOR_TRIES: f64 = 20.0;
        let tries = (self.lost + self.answered) as f64;
        ((self.lost as f64 + PRIOR_LOST) / (tries + PRIOR_TRIES)).min(0.95)
    }

    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// Whether any try was ever lost before an answer on this host.
    pub fn has_lost(&self) -> bool {
        self.lost > 0
    }

    /// An upper bound of the loss per try (the estimate plus two standard errors): the
    /// figure tries are counted from, so a host measured on few probes gets more of them.
    pub fn upper(&self) -> f64 {
        const PRIOR_TRIES: f64 = 20.0;
        let p = self.per_try();
        let n = (self.lost + self.answered) as f64 + PRIOR_TRIES;
        (p + 2.0 * (p * (1.0 - p) / n).sqrt()).min(0.95)
    }
}

/// Everything the scheduler keeps per host, carried from one job to the next by the session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostTiming {
    pub rtt: RttEstimator,
    pub loss: LossEstimate,
    pub window: Window,
}

impl HostTiming {
    pub fn new(window: Window) -> Self {
        HostTiming {
            rtt: RttEstimator::default(),
            loss: LossEstimate::default(),
            window,
        }
    }

    /// The retransmission timeout for this host.
    pub fn rto(&self, floor: Duration, ceiling: Duration) -> Duration {
        self.rtt.rto(floor, ceiling)
    }
}

/// Chance we accept, over the whole scan of one host, that some responsive port lost every
/// one of its tries and is called `filtered`: one scan in ten thousand.
pub const SCAN_FALSE_FILTERED: f64 = 1e-4;
/// The same per port, never looser than this whatever the port count.
pub const FALSE_FILTERED: f64 = 1e-6;
/// Fewest tries before `filtered`: one retransmission, as nmap does on a clean link.
pub const MIN_TRIES: u8 = 2;
/// Most tries: past this the link is too lossy to call anything filtered with confidence, and
/// the port keeps the state the evidence allows (the scan notes the host's loss).
pub const MAX_TRIES: u8 = 20;

/// Tries a silent port gets on a host when `ports` ports are scanned: enough that the chance
/// of any responsive port losing all its tries stays below [`SCAN_FALSE_FILTERED`], for the
/// upper bound of the loss measured there. A host that has answered nothing at all gets the
/// minimum: with no answer to compare against, more tries prove nothing (nmap's rule too),
/// and the port is `filtered` exactly as far as anyone can tell.
pub fn tries_for_host(loss: &LossEstimate, ports: usize) -> u8 {
    if loss.answered() == 0 {
        return MIN_TRIES;
    }
    let eps = (SCAN_FALSE_FILTERED / ports.max(1) as f64).min(FALSE_FILTERED);
    tries_for_eps(loss.upper(), eps)
}

/// Tries needed so that `loss^tries <= FALSE_FILTERED`.
pub fn tries_for(loss_per_try: f64) -> u8 {
    tries_for_eps(loss_per_try, FALSE_FILTERED)
}

/// Tries needed so that `loss^tries <= eps`.
fn tries_for_eps(loss_per_try: f64, eps: f64) -> u8 {
    if loss_per_try.is_nan() || loss_per_try <= 0.0 {
        return MIN_TRIES;
    }
    if loss_per_try >= 1.0 {
        return MAX_TRIES;
    }
    let n = (eps.ln() / loss_per_try.ln()).ceil();
    (n.min(255.0) as u8).clamp(MIN_TRIES, MAX_TRIES)
}

/// The timeout for try `tag` of a probe: the RTO, doubled from the second try on (RFC 6298's
/// back-off, bounded: congestion is the window's business, and a silent port must not make a
/// lossy link hopelessly slow), never above `ceiling`.
pub fn try_timeout(rto: Duration, tag: u8, ceiling: Duration) -> Duration {
    (rto * (1u32 << tag.min(1))).min(ceiling.max(rto))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn rto_follows_rfc6298() {
        let mut e = RttEstimator::default();
        assert_eq!(e.rto(10 * MS, 1000 * MS), 1000 * MS, "unknown: the ceiling");
        e.observe(100 * MS);
        // SRTT 100, RTTVAR 50: 100 + 200
        assert_eq!(e.rto(MS, 1000 * MS), 300 * MS);
        e.observe(100 * MS);
        // RTTVAR = 37.5, SRTT 100: 100 + 150
        assert_eq!(e.rto(MS, 1000 * MS), 250 * MS);
        assert_eq!(e.min(), Some(100 * MS));
        assert_eq!(e.rto(MS, 200 * MS), 200 * MS, "capped");
        assert_eq!(e.samples(), 2);
    }

    #[test]
    fn rto_has_a_floor_and_granularity() {
        let mut e = RttEstimator::default();
        for _ in 0..50 {
            e.observe(Duration::from_micros(100));
        }
        assert_eq!(e.rto(20 * MS, 1000 * MS), 20 * MS);
        assert!(e.rto(Duration::ZERO, 1000 * MS) >= GRANULARITY);
    }

    #[test]
    fn window_grows_then_halves_once_per_loss_event() {
        let t0 = Instant::now();
        let mut w = Window::new(10, 2, 1000);
        for _ in 0..10 {
            w.on_success();
        }
        assert_eq!(w.allowed(), 20, "slow start: one more per answer");
        w.on_drop(t0, t0, 100 * MS);
        assert_eq!(w.allowed(), 10);
        // Another probe of the same burst (sent before the event began) changes nothing.
        w.on_drop(t0, t0 + MS, 100 * MS);
        assert_eq!(w.allowed(), 10);
        // Congestion avoidance after a loss: about one more per window of answers.
        for _ in 0..10 {
            w.on_success();
        }
        assert_eq!(w.allowed(), 10, "10.9..., not 20");
        w.on_success();
        assert_eq!(w.allowed(), 11);
        // A drop of a probe sent after the event ended is a new event.
        let later = t0 + 200 * MS;
        w.on_drop(later, later, 100 * MS);
        assert_eq!(w.allowed(), 5);
        for _ in 0..10 {
            w.on_drop(
                later + 1000 * MS * 10,
                later + 1000 * MS * 10,
                Duration::ZERO,
            );
        }
        assert_eq!(w.allowed(), 2, "never below the minimum");
    }

    /// `sends` tries and `answers` answers spread over `[from, from + 50 ms)`, then a loss
    /// event (RTO 20 ms) at its end; returns the window allowed after it and that end.
    fn epoch(w: &mut Window, from: Instant, sends: u32, answers: u32) -> (usize, Instant) {
        let span = 50 * MS;
        for i in 0..sends {
            w.on_send(from + span * i / sends);
        }
        for i in 0..answers {
            w.on_answer(from + span * i / answers);
        }
        let end = from + span;
        w.on_drop(end, end, 20 * MS);
        (w.allowed(), end)
    }

    #[test]
    fn a_cut_that_halves_the_answers_at_the_same_share_is_undone() {
        // Random loss: half the tries answered, at the window's pace, whatever the window.
        let mut w = Window::new(1000, 4, 16_384);
        let (allowed, t) = epoch(&mut w, Instant::now(), 20_000, 10_000);
        assert_eq!(allowed, 500, "first cut");
        // Half the window, half the answers a second, the same share: not congestion.
        let (allowed, t) = epoch(&mut w, t, 10_000, 5_000);
        assert_eq!(allowed, 1000, "the cut is undone");
        // The next loss event cuts again, and is judged again.
        assert_eq!(epoch(&mut w, t, 20_000, 10_000).0, 500);
    }

    #[test]
    fn a_new_job_judges_no_cut_of_the_last_one() {
        let mut w = Window::new(1000, 4, 16_384);
        let (allowed, t) = epoch(&mut w, Instant::now(), 20_000, 10_000);
        assert_eq!(allowed, 500);
        // The next round, two seconds later, answers slowly only because it asks little.
        w.begin_job();
        let (allowed, _) = epoch(&mut w, t + 2000 * MS, 200, 100);
        assert_eq!(allowed, 250, "cut again, not undone");
    }

    #[test]
    fn cuts_under_a_policer_stay() {
        let mut w = Window::new(1000, 4, 16_384);
        let mut t = Instant::now();
        // Above the policer's rate: the answers come at its rate whatever the window.
        // Below it: fewer answers a second, but every try answered; the cut relieved the
        // policer and stays (undoing it on the answer rate alone once cost exactness).
        // Last, too few answers to judge (an epoch of 10): the cut stays.
        let epochs = [
            (20_000, 500),
            (10_000, 500),
            (5_000, 500),
            (300, 300),
            (10, 10),
        ];
        for ((sends, answers), expected) in epochs.into_iter().zip([500, 250, 125, 62, 31]) {
            let (allowed, end) = epoch(&mut w, t, sends, answers);
            assert_eq!(allowed, expected, "after {sends} tries, {answers} answers");
            t = end;
        }
    }

    #[test]
    fn window_respects_its_bounds() {
        let mut w = Window::new(5000, 1, 100);
        assert_eq!(w.allowed(), 100);
        w.on_success();
        assert_eq!(w.allowed(), 100);
        let w = Window::new(0, 3, 100);
        assert_eq!(w.allowed(), 3);
    }

    #[test]
    fn loss_estimate_learns_from_answered_probes_only() {
        let mut l = LossEstimate::default();
        assert!((l.per_try() - 0.05).abs() < 1e-9, "the prior");
        assert_eq!(
            tries_for_host(&l, 100),
            MIN_TRIES,
            "nothing answered: nothing to prove"
        );
        l.answered_on(0);
        assert_eq!(tries_for_host(&l, 3), 8, "one answer: the cautious prior");
        assert_eq!(tries_for_host(&l, 65_535), 11, "more ports, more care");
        // 1000 probes answered first time: a clean link.
        for _ in 0..1000 {
            l.answered_on(0);
        }
        assert!(l.per_try() < 0.002);
        assert_eq!(tries_for(l.per_try()), 2);

        // 30 % loss: 700 answered on try 0, 210 on try 1, 63 on try 2, 27 later...
        let mut l = LossEstimate::default();
        for (tag, n) in [(0u8, 700), (1, 210), (2, 63), (3, 19), (4, 6), (5, 2)] {
            for _ in 0..n {
                l.answered_on(tag);
            }
        }
        let p = l.per_try();
        assert!((0.27..0.33).contains(&p), "{p}");
        let n = tries_for(p);
        assert!((11..=13).contains(&n), "{n}");
        assert!(p.powi(n as i32) <= FALSE_FILTERED);
        // All ports of such a host: the scan as a whole stays below one error in 10^4.
        let n = tries_for_host(&l, 65_535);
        assert!(n >= 15, "{n}");
        assert!(65_535.0 * p.powi(n as i32) <= SCAN_FALSE_FILTERED);
    }

    #[test]
    fn echoes_count_as_evidence() {
        let mut l = LossEstimate::default();
        l.echoes(5, 5);
        l.echoes(5, 0); // a host that did not answer teaches nothing about loss
        assert_eq!(l.answered(), 5);
        l.echoes(10, 7);
        assert_eq!(l.answered(), 12);
    }

    #[test]
    fn tries_cover_the_edges() {
        assert_eq!(tries_for(0.0), MIN_TRIES);
        assert_eq!(tries_for(f64::NAN), MIN_TRIES);
        assert_eq!(tries_for(1.0), MAX_TRIES);
        assert_eq!(tries_for(0.1), 6);
        assert_eq!(tries_for(0.5), 20);
    }

    #[test]
    fn try_timeouts_back_off_within_the_ceiling() {
        assert_eq!(try_timeout(50 * MS, 0, 1000 * MS), 50 * MS);
        assert_eq!(try_timeout(50 * MS, 1, 1000 * MS), 100 * MS);
        assert_eq!(try_timeout(50 * MS, 7, 1000 * MS), 100 * MS);
        assert_eq!(try_timeout(600 * MS, 3, 1000 * MS), 1000 * MS);
    }
}
