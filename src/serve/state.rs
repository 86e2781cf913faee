//! What the agent knows about each check: pure data updated by results, read by `/metrics`
//! and the status page. No I/O, so flap suppression and the RTT window are unit-tested.

use std::collections::VecDeque;
use std::time::Duration;

/// RTT samples kept per ping check for min/avg/max/jitter.
pub const RTT_WINDOW: usize = 60;

/// One run of one check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub success: bool,
    /// Wall time of the whole probe.
    pub duration: Duration,
    /// Ping: echo requests sent and replies received, and the replies' RTTs.
    pub sent: u32,
    pub received: u32,
    pub rtts: Vec<Duration>,
    /// TCP: connect time when the port answered.
    pub connect: Option<Duration>,
    /// DNS: status (`NOERROR`, `NXDOMAIN`, `TIMEOUT`, ...), latency, whether the answers
    /// matched what was expected.
    pub dns_status: Option<&'static str>,
    pub dns_latency: Option<Duration>,
    pub answer_match: Option<bool>,
    /// TLS: when the certificate ends (Unix seconds) and whole days left.
    pub cert_not_after: Option<i64>,
    pub cert_days_left: Option<i64>,
    /// Why it failed, for the log and the status page (from our own code, never raw bytes).
    pub note: Option<String>,
}

/// RTT statistics over the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttStats {
    pub min: Duration,
    pub avg: Duration,
    pub max: Duration,
    /// Mean absolute difference of consecutive samples (RFC 3550's idea, unsmoothed).
    pub jitter: Duration,
}

/// A check's state between runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckState {
    pub last: Option<Outcome>,
    /// Results in a row equal to the last one.
    pub streak: u32,
    /// The flap-suppressed state: `None` until `flap` equal results in a row were seen.
    pub state: Option<bool>,
    pub changes: u64,
    pub runs: u64,
    rtts: VecDeque<Duration>,
    /// Echo requests sent and lost over the window of runs.
    sent: VecDeque<(u32, u32)>,
}

impl CheckState {
    /// Record one result. The state changes only after `flap` equal results in a row;
    /// returns true when it changed (the first establishment counts as no change).
    pub fn apply(&mut self, outcome: Outcome, flap: u32) -> bool {
        let same = self
            .last
            .as_ref()
            .is_some_and(|l| l.success == outcome.success);
        self.streak = if same {
            self.streak.saturating_add(1)
        } else {
            1
        };
        self.runs += 1;
        for r in &outcome.rtts {
            if self.rtts.len() == RTT_WINDOW {
                self.rtts.pop_front();
            }
            self.rtts.push_back(*r);
        }
        if outcome.sent > 0 {
            if self.sent.len() == RTT_WINDOW {
                self.sent.pop_front();
            }
            self.sent.push_back((outcome.sent, outcome.received));
        }
        let success = outcome.success;
        self.last = Some(outcome);
        if self.streak >= flap.max(1) && self.state != Some(success) {
            let changed = self.state.is_some();
            self.state = Some(success);
            if changed {
                self.changes += 1;
            }
            return changed;
        }
        false
    }

    /// RTT statistics over the last [`RTT_WINDOW`] replies.
    pub fn rtt(&self) -> Option<RttStats> {
        let n = self.rtts.len() as u32;
        let min = *self.rtts.iter().min()?;
        let max = *self.rtts.iter().max()?;
        let avg = self.rtts.iter().sum::<Duration>() / n;
        let diffs: Vec<Duration> = self
            .rtts
            .iter()
            .zip(self.rtts.iter().skip(1))
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let jitter = if diffs.is_empty() {
            Duration::ZERO
        } else {
            diffs.iter().sum::<Duration>() / diffs.len() as u32
        };
        Some(RttStats {
            min,
            avg,
            max,
            jitter,
        })
    }

    /// Share of echo requests lost over the window of runs.
    pub fn loss(&self) -> Option<f64> {
        let (sent, got) = self.sent.iter().fold((0u64, 0u64), |(s, g), (a, b)| {
            (s + *a as u64, g + *b as u64)
        });
        (sent > 0).then(|| (sent - got.min(sent)) as f64 / sent as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(success: bool) -> Outcome {
        Outcome {
            success,
            ..Outcome::default()
        }
    }

    #[test]
    fn state_needs_flap_equal_results() {
        let mut s = CheckState::default();
        assert!(!s.apply(run(true), 2));
        assert_eq!(s.state, None, "one result is not a state yet");
        assert!(!s.apply(run(true), 2));
        assert_eq!(s.state, Some(true));
        // One failure between successes does not flap.
        assert!(!s.apply(run(false), 2));
        assert_eq!(s.state, Some(true));
        assert!(!s.apply(run(true), 2));
        assert!(!s.apply(run(false), 2));
        assert!(s.apply(run(false), 2), "two failures in a row change it");
        assert_eq!(s.state, Some(false));
        assert_eq!(s.changes, 1);
        assert_eq!(s.runs, 6);
    }

    #[test]
    fn flap_one_follows_every_result() {
        let mut s = CheckState::default();
        s.apply(run(false), 1);
        assert_eq!(s.state, Some(false));
        assert!(s.apply(run(true), 1));
        assert!(s.apply(run(false), 1));
        assert_eq!(s.changes, 2);
    }

    #[test]
    fn rtt_and_loss_over_the_window() {
        let mut s = CheckState::default();
        let ms = Duration::from_millis;
        s.apply(
            Outcome {
                success: true,
                sent: 3,
                received: 2,
                rtts: vec![ms(10), ms(20)],
                ..Outcome::default()
            },
            2,
        );
        s.apply(
            Outcome {
                success: true,
                sent: 3,
                received: 3,
                rtts: vec![ms(30), ms(20), ms(20)],
                ..Outcome::default()
            },
            2,
        );
        let r = s.rtt().expect("stats");
        assert_eq!((r.min, r.max, r.avg), (ms(10), ms(30), ms(20)));
        // |10-20| + |20-30| + |30-20| + 0 over 4 differences.
        assert_eq!(r.jitter, Duration::from_micros(7500));
        assert_eq!(s.loss(), Some(1.0 / 6.0));
        for _ in 0..RTT_WINDOW {
            s.apply(
                Outcome {
                    success: true,
                    sent: 1,
                    received: 1,
                    rtts: vec![ms(5)],
                    ..Outcome::default()
                },
                2,
            );
        }
        assert_eq!(s.rtt().map(|r| r.max), Some(ms(5)), "old samples leave");
        assert_eq!(s.loss(), Some(0.0));
    }
}
