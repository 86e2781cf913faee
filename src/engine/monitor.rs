//! The round scheduler: every repeated job of netdx (`diagnose --watch`, the dashboard's
//! Diagnose view, the dashboard's monitoring rounds) keeps one cadence, defined here once.
//!
//! ```text
//!  start ─ round 1 ──┐ wait ┌ start ─ round 2 (slow) ──────────┐ start ─ round 3 ─ ...
//!  |<───── interval ─────>| |<───── interval ─────>|           | (no wait: late already)
//! ```
//!
//! The interval runs from the start of one round to the start of the next, so rounds stay on
//! a steady clock whatever they cost; a round that took longer than the interval is followed
//! at once by the next (never by a burst of catch-up rounds). Cancellation ends the schedule
//! within the round or the wait, whichever is running.
//!
//! [`Cadence`] is the pure part (when is the next round due), for a loop that must decide
//! itself when to start a round, as the dashboard's event loop does; [`run`] is the whole
//! loop, for a job that is nothing but rounds.

use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// When rounds are due: start to start, `interval` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    interval: Duration,
    last_start: Option<Instant>,
}

impl Cadence {
    pub fn new(interval: Duration) -> Cadence {
        Cadence {
            interval,
            last_start: None,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When the next round is due: at once before the first round, else one interval after
    /// the last start (possibly already past: then at once).
    pub fn due(&self, now: Instant) -> Instant {
        self.last_start.map_or(now, |t| t + self.interval)
    }

    /// Whether a round is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.due(now)
    }

    /// A round started at `now` (or something that counts as one, like the first sweep).
    pub fn started(&mut self, now: Instant) {
        self.last_start = Some(now);
    }
}

/// Run `round` every `interval` (start to start) until it returns `Break` or `cancel` fires.
/// `round` gets the round number (1, 2, ...). Returns how many rounds ran to their end.
/// A round cancelled midway is dropped at once and not counted.
pub async fn run<F, Fut>(interval: Duration, cancel: &CancellationToken, mut round: F) -> u32
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = ControlFlow<()>>,
{
    let mut cadence = Cadence::new(interval);
    let mut done = 0u32;
    loop {
        let due = cadence.due(Instant::now());
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return done,
            _ = tokio::time::sleep_until(due) => {}
        }
        cadence.started(Instant::now());
        let flow = tokio::select! {
            biased;
            _ = cancel.cancelled() => return done,
            flow = round(done + 1) => flow,
        };
        done += 1;
        if flow.is_break() {
            return done;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Start times of the rounds, relative to `t0`, in ms.
    fn starts(log: &Mutex<Vec<u128>>) -> Vec<u128> {
        log.lock().map(|v| v.clone()).unwrap_or_default()
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_start_interval_apart_and_a_slow_round_is_followed_at_once() {
        let t0 = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let cancel = CancellationToken::new();
        let l = log.clone();
        // Round 2 takes 2.5 intervals; the others 100 ms.
        let n = run(Duration::from_secs(1), &cancel, move |n| {
            let l = l.clone();
            async move {
                if let Ok(mut v) = l.lock() {
                    v.push(t0.elapsed().as_millis());
                }
                let cost = if n == 2 { 2500 } else { 100 };
                tokio::time::sleep(Duration::from_millis(cost)).await;
                if n == 5 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
        })
        .await;
        assert_eq!(n, 5);
        assert_eq!(starts(&log), vec![0, 1000, 3500, 4500, 5500]);
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_ends_a_round_and_a_wait() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let t0 = Instant::now();
        // Cancelled during the wait after round 1.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            c.cancel();
        });
        let n = run(Duration::from_secs(10), &cancel, |_| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ControlFlow::Continue(())
        })
        .await;
        assert_eq!(n, 1);
        assert_eq!(t0.elapsed(), Duration::from_millis(1500));

        // Cancelled during a round that never ends.
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let t0 = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            c.cancel();
        });
        let n = run(Duration::from_secs(1), &cancel, |_| {
            std::future::pending::<ControlFlow<()>>()
        })
        .await;
        assert_eq!(n, 0, "a cancelled round does not count");
        assert_eq!(t0.elapsed(), Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn cadence_is_due_at_once_then_an_interval_after_each_start() {
        let t0 = Instant::now();
        let mut c = Cadence::new(Duration::from_millis(500));
        assert!(c.is_due(t0));
        c.started(t0);
        assert!(!c.is_due(t0 + Duration::from_millis(499)));
        assert_eq!(c.due(t0), t0 + Duration::from_millis(500));
        assert!(c.is_due(t0 + Duration::from_millis(500)));
        // A late check: due at once, and the next interval counts from the real start.
        let late = t0 + Duration::from_millis(1700);
        assert!(c.is_due(late));
        c.started(late);
        assert_eq!(c.due(late), late + Duration::from_millis(500));
    }
}
