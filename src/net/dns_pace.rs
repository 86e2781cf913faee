//! Pacing and retries for reverse (PTR) lookups.
//!
//! A scan looks up the name of every live host at once, while its own port scan keeps the
//! CPU, the sockets and the server busy. Fired as one burst of 256 queries, answers come back
//! late and the report counts "DNS failures" on a healthy server. Two remedies, kept here as
//! pure, testable pieces:
//!
//! - [`Pacer`]: at most a few lookups in flight per server, and a minimum gap between their
//!   starts, so the server (often a router's dnsmasq) sees a trickle, not a flood.
//! - [`TryPlan`]: a lookup that has not been answered is asked again, staggered like the ICMP
//!   tries: try `k` starts at `k x timeout / 2`, and every try keeps listening until the end
//!   of the window, `(tries + 1) x timeout / 2`. Under load the answers are late rather than
//!   lost (measured in the lab during `-p all`: 150-300 ms instead of 1 ms), so a late answer
//!   to the first query must count as much as a new query; only a lookup whose every try went
//!   unanswered by the end of the window is a timeout.

use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// When the staggered tries of one lookup start, relative to the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryPlan {
    /// Queries to send at most (at least one).
    pub tries: u32,
    /// The configured timeout: sets the spacing of the tries and the length of the window.
    pub timeout: Duration,
}

impl TryPlan {
    /// Start of try `k` (0-based) after the first: half a timeout apart.
    pub fn offset(&self, k: u32) -> Duration {
        self.timeout / 2 * k
    }

    /// Longest a lookup can take: the last try's start plus a full timeout. Every try listens
    /// until then.
    pub fn window(&self) -> Duration {
        self.offset(self.tries.max(1) - 1) + self.timeout
    }
}

/// The slots of one server: a bound on lookups in flight and a minimum gap between starts.
pub struct Pacer {
    slots: Semaphore,
    spacing: Duration,
    next_start: Mutex<Option<Instant>>,
}

/// Held while a paced lookup runs; dropping it frees the slot.
pub struct PacerSlot<'a> {
    _permit: Option<SemaphorePermit<'a>>,
}

impl Pacer {
    pub fn new(in_flight: usize, spacing: Duration) -> Self {
        Pacer {
            slots: Semaphore::new(in_flight.max(1)),
            spacing,
            next_start: Mutex::new(None),
        }
    }

    /// Wait for a free slot and for this lookup's start time. Waiting is not part of the
    /// lookup: its timeout and round trip are measured after this returns.
    pub async fn enter(&self) -> PacerSlot<'_> {
        // The semaphore is never closed; should that change, running unpaced is harmless.
        let permit = self.slots.acquire().await.ok();
        let at = {
            let mut next = self.next_start.lock().await;
            let at = reserve(&mut next, Instant::now(), self.spacing);
            drop(next);
            at
        };
        tokio::time::sleep_until(at).await;
        PacerSlot { _permit: permit }
    }
}

/// The start time granted to a lookup asking at `now`, advancing `next` by `spacing`.
fn reserve(next: &mut Option<Instant>, now: Instant, spacing: Duration) -> Instant {
    let at = next.map_or(now, |n| n.max(now));
    *next = Some(at + spacing);
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_start_half_a_timeout_apart() {
        let p = TryPlan {
            tries: 3,
            timeout: Duration::from_millis(2000),
        };
        assert_eq!(p.offset(0), Duration::ZERO);
        assert_eq!(p.offset(1), Duration::from_millis(1000));
        assert_eq!(p.offset(2), Duration::from_millis(2000));
        assert_eq!(p.window(), Duration::from_millis(4000));
        let one = TryPlan {
            tries: 1,
            timeout: Duration::from_millis(500),
        };
        assert_eq!(one.window(), Duration::from_millis(500));
        let zero = TryPlan {
            tries: 0,
            timeout: Duration::from_millis(500),
        };
        assert_eq!(zero.window(), Duration::from_millis(500));
    }

    #[test]
    fn starts_are_spaced_and_never_in_the_past() {
        let t0 = Instant::now();
        let gap = Duration::from_millis(2);
        let mut next = None;
        assert_eq!(reserve(&mut next, t0, gap), t0);
        assert_eq!(reserve(&mut next, t0, gap), t0 + gap);
        assert_eq!(reserve(&mut next, t0, gap), t0 + gap * 2);
        // After a quiet spell the next lookup starts at once.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(reserve(&mut next, later, gap), later);
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_n_in_flight() {
        let pacer = std::sync::Arc::new(Pacer::new(2, Duration::ZERO));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (pacer, running, peak) = (pacer.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = pacer.enter().await;
                let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
