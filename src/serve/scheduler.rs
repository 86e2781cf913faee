//! Runs every check at its interval: one small task per check (a sleep and a probe, cheap in
//! tokio even by the thousand), a spread-out start and ±10 % jitter so checks with one interval
//! do not fire together, and a process-wide limit on probes in flight. Results land in the
//! shared [`Board`] that `/metrics` and `/` read.
//!
//! A reload hands over a new list of checks: a check whose spec did not change keeps its task
//! and its state (streak, RTT window, change count); the others stop (an in-flight probe is
//! dropped) or start fresh.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::net::session::Session;

use super::config::CheckSpec;
use super::probe;
use super::state::CheckState;

/// Probes in flight at once across all checks.
pub const MAX_IN_FLIGHT: usize = 256;

/// One check and what is known about it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub spec: CheckSpec,
    pub state: CheckState,
}

/// Every check's state, by name; shared between the check tasks and the HTTP server.
#[derive(Debug, Default)]
pub struct Board {
    pub checks: BTreeMap<String, Entry>,
    pub flap: u32,
}

/// A handle on the [`Board`].
#[derive(Debug, Clone, Default)]
pub struct SharedBoard(Arc<Mutex<Board>>);

impl SharedBoard {
    /// Lock it; a panic elsewhere leaves plain data, still usable.
    pub fn lock(&self) -> MutexGuard<'_, Board> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a reload did: checks started (new or changed), stopped (gone or changed), kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    pub started: usize,
    pub stopped: usize,
    pub kept: usize,
}

struct Running {
    spec: CheckSpec,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Owns the check tasks.
pub struct Scheduler {
    session: Session,
    board: SharedBoard,
    limit: Arc<Semaphore>,
    running: HashMap<String, Running>,
    cancel: CancellationToken,
}

impl Scheduler {
    /// No checks yet; `cancel` stops them all.
    pub fn new(session: Session, cancel: CancellationToken) -> Scheduler {
        Scheduler {
            session,
            board: SharedBoard::default(),
            limit: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            running: HashMap::new(),
            cancel,
        }
    }

    pub fn board(&self) -> SharedBoard {
        self.board.clone()
    }

    /// Replace the checks with `checks` (names unique), keeping tasks and state of those
    /// whose spec is unchanged.
    pub fn apply(&mut self, checks: Vec<CheckSpec>, flap: u32) -> Applied {
        let mut applied = Applied::default();
        let wanted: HashMap<&str, &CheckSpec> =
            checks.iter().map(|c| (c.name.as_str(), c)).collect();
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| wanted.get(name.as_str()) != Some(&&r.spec))
            .map(|(name, _)| name.clone())
            .collect();
        {
            let mut board = self.board.lock();
            board.flap = flap.max(1);
            for name in &gone {
                if let Some(r) = self.running.remove(name) {
                    r.stop.cancel();
                    r.task.abort();
                }
                board.checks.remove(name);
                applied.stopped += 1;
            }
        }
        for spec in checks {
            if self.running.contains_key(&spec.name) {
                applied.kept += 1;
                continue;
            }
            self.board.lock().checks.insert(
                spec.name.clone(),
                Entry {
                    spec: spec.clone(),
                    state: CheckState::default(),
                },
            );
            let stop = self.cancel.child_token();
            let task = tokio::spawn(run_check(
                self.session.clone(),
                spec.clone(),
                self.board.clone(),
                Arc::clone(&self.limit),
                stop.clone(),
            ));
            self.running
                .insert(spec.name.clone(), Running { spec, stop, task });
            applied.started += 1;
        }
        applied
    }

    /// Stop every check and wait for the tasks (in-flight probes are dropped).
    pub async fn stop(self) {
        self.cancel.cancel();
        for (_, r) in self.running {
            r.stop.cancel();
            let _ = r.task.await;
        }
    }
}

/// Runs start on this grid: the checks that fall due within the same 50 ms share one
/// wake-up of the measurement thread and of the runtime, instead of one each (the kernel's
/// timer slack, applied to our own timers). A thousand checks every 10 s are 100 runs and
/// 150 echo requests a second; one wake-up each was most of the agent's CPU. Intervals are
/// jittered by ±10 % anyway, so 50 ms moves no run noticeably.
pub const START_GRID: Duration = Duration::from_millis(50);

/// `t` moved forward to the next multiple of [`START_GRID`] since a process-wide origin.
fn on_grid(t: tokio::time::Instant) -> tokio::time::Instant {
    static ORIGIN: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(tokio::time::Instant::now);
    let since = t.saturating_duration_since(origin).as_nanos();
    let grid = START_GRID.as_nanos();
    let slots = since.div_ceil(grid);
    origin + Duration::from_nanos(u64::try_from(slots * grid).unwrap_or(u64::MAX))
}

/// `d` scaled by a random factor in [lo, hi).
fn jittered(d: Duration, lo: f64, hi: f64) -> Duration {
    let f: f64 = lo + (hi - lo) * rand::random::<f64>();
    d.mul_f64(f)
}

async fn run_check(
    session: Session,
    spec: CheckSpec,
    board: SharedBoard,
    limit: Arc<Semaphore>,
    stop: CancellationToken,
) {
    // Spread the first runs over a tenth of the interval (at most a second).
    let first = jittered(spec.interval.min(Duration::from_secs(10)), 0.0, 0.1);
    let probe_limit = spec.probe.time_limit(spec.interval);
    let mut next = on_grid(tokio::time::Instant::now() + first);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        let started = tokio::time::Instant::now();
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            o = async {
                let _permit = limit.acquire().await.ok();
                probe::run(&session, &spec.probe, probe_limit).await
            } => o,
        };
        {
            let mut b = board.lock();
            let flap = b.flap;
            if let Some(entry) = b.checks.get_mut(&spec.name) {
                let before = entry.state.state;
                let new_before = entry.state.new_devices;
                let note = outcome.note.clone();
                entry.state.apply(outcome, flap);
                entry.state.stamp(before, std::time::SystemTime::now());
                if entry.state.new_devices > new_before {
                    let n = (entry.state.new_devices - new_before) as usize;
                    let macs: Vec<String> = entry
                        .state
                        .recent_new
                        .iter()
                        .rev()
                        .take(n)
                        .map(ToString::to_string)
                        .collect();
                    tracing::info!(
                        check = %spec.name,
                        new = n,
                        macs = %macs.join(","),
                        "new devices"
                    );
                }
                if let Some(now) = entry.state.state.filter(|s| before != Some(*s)) {
                    tracing::info!(
                        check = %spec.name,
                        kind = spec.probe.kind(),
                        state = if now { "up" } else { "down" },
                        note = note.as_deref().unwrap_or(""),
                        found = %entry.state.found(),
                        "check state"
                    );
                }
            }
        }
        next =
            on_grid((started + jittered(spec.interval, 0.9, 1.1)).max(tokio::time::Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::session::SessionOptions;
    use crate::serve::config::Probe;

    /// TCP checks to loopback only (a closed port answers at once): nothing leaves the host.
    fn tcp(name: &str, port: u16) -> CheckSpec {
        CheckSpec {
            name: name.to_string(),
            probe: Probe::Tcp {
                target: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            },
            interval: Duration::from_millis(500),
        }
    }

    #[test]
    fn run_starts_fall_on_the_grid_never_earlier() {
        let origin = on_grid(tokio::time::Instant::now());
        for ms in [0u64, 1, 49, 50, 51, 999, 10_007] {
            let t = origin + Duration::from_millis(ms);
            let g = on_grid(t);
            assert!(g >= t, "{ms} ms moved earlier");
            assert!(g - t < START_GRID, "{ms} ms moved a whole grid step");
            assert_eq!(
                (g - origin).as_nanos() % START_GRID.as_nanos(),
                0,
                "{ms} ms is off the grid"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reload_keeps_unchanged_checks_and_their_state() {
        let session = Session::new(SessionOptions::default()).expect("session");
        let mut s = Scheduler::new(session, CancellationToken::new());
        let applied = s.apply(vec![tcp("a", 1), tcp("b", 2)], 1);
        assert_eq!(
            applied,
            Applied {
                started: 2,
                stopped: 0,
                kept: 0
            }
        );
        let board = s.board();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while board.lock().checks.values().any(|e| e.state.runs < 2) {
            assert!(tokio::time::Instant::now() < deadline, "checks did not run");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let runs_a = board.lock().checks["a"].state.runs;
        // a unchanged, b changed (another port), c new.
        let applied = s.apply(vec![tcp("a", 1), tcp("b", 3), tcp("c", 4)], 1);
        assert_eq!(
            applied,
            Applied {
                started: 2,
                stopped: 1,
                kept: 1
            }
        );
        {
            let b = board.lock();
            assert!(b.checks["a"].state.runs >= runs_a, "a kept its state");
            assert_eq!(b.checks["a"].state.state, Some(false), "port 1 is closed");
            assert!(b.checks["b"].state.runs <= 1, "b starts afresh");
            assert_eq!(b.checks.len(), 3);
        }
        s.apply(vec![tcp("a", 1)], 1);
        assert_eq!(
            board.lock().checks.len(),
            1,
            "removed checks leave the board"
        );
        s.stop().await;
    }
}
