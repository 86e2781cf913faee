//! What the agent knows about each check: pure data updated by results, read by `/metrics`
//! and the status page. No I/O, so flap suppression and the RTT window are unit-tested.

use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::core::model::MacAddr;
use crate::diagnose::{Layer, Status};

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
    /// What the path, LAN, device and diagnosis checks found.
    pub detail: Option<Detail>,
}

/// The findings of the checks that measure more than up or down.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Path(PathFound),
    Lan(LanFound),
    Devices(DevicesFound),
    Diagnosis(DiagnosisFound),
}

/// One traceroute.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PathFound {
    pub reached: bool,
    /// The destination's TTL when reached, else the TTL of the last hop that answered (0:
    /// nothing answered).
    pub hops: u8,
    /// The last hop that answered (for the page and the log, never a label).
    pub last_hop: Option<IpAddr>,
    /// Loss per TTL from 1 up to where the trace ended (a silent hop has 1.0).
    pub hop_loss: Vec<(u8, f64)>,
    /// Loss at the hop the trace ended on: the destination's when reached.
    pub end_loss: Option<f64>,
}

/// The parts of the LAN check, the `part` label of `netdx_lan_check_ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LanPart {
    Dhcp,
    Duplicates,
    Arp,
    Ra,
}

impl LanPart {
    pub const ALL: [LanPart; 4] = [
        LanPart::Dhcp,
        LanPart::Duplicates,
        LanPart::Arp,
        LanPart::Ra,
    ];

    pub fn label(self) -> &'static str {
        match self {
            LanPart::Dhcp => "dhcp",
            LanPart::Duplicates => "duplicates",
            LanPart::Arp => "arp",
            LanPart::Ra => "ra",
        }
    }
}

/// One LAN safety check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LanFound {
    /// Each part that ran: no problem found (true) or one found. A part that could not run
    /// (no privilege, no IPv6) is left out: absent, not "fine".
    pub parts: Vec<(LanPart, bool)>,
    pub dhcp_servers: usize,
    pub rogue_dhcp: usize,
    pub duplicate_ips: usize,
    pub gateway_claims: usize,
    pub rogue_routers: usize,
    /// The alerts in words, for the page and the log.
    pub alerts: Vec<String>,
    /// The switch port heard by LLDP or CDP, in words (`switch sw1 port Gi0/7 VLAN 20`).
    pub switch: Option<String>,
}

/// One ARP sweep.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DevicesFound {
    /// Addresses asked.
    pub probed: usize,
    /// Addresses that answered.
    pub devices: usize,
    /// Every MAC that answered (bounded by the sweep: at most a /22).
    pub macs: Vec<MacAddr>,
}

/// One diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosisFound {
    pub status: Status,
    /// The failing layer; `None` when healthy.
    pub layer: Option<Layer>,
    /// The plain-words verdict (page and log only).
    pub verdict: String,
}

/// MACs a device check remembers; beyond it, new MACs are still counted but not remembered
/// (a flood of spoofed MACs must not grow the agent without bound).
pub const MAX_KNOWN_MACS: usize = 4096;
/// Newest new MACs the page lists.
pub const RECENT_NEW: usize = 10;

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
    /// Wall-clock time the flap-suppressed state took its current value, and of the last
    /// result: stamped by the scheduler, so [`CheckState::apply`] stays clock-free.
    pub since: Option<SystemTime>,
    pub last_at: Option<SystemTime>,
    rtts: VecDeque<Duration>,
    /// Echo requests sent and lost over the window of runs.
    sent: VecDeque<(u32, u32)>,
    /// The last result that agrees with the flap-suppressed state: the states a check
    /// exports beyond up/down (a path reached, the failing layer, LAN parts) come from here,
    /// so they flap no more than `netdx_probe_success`.
    pub settled: Option<Outcome>,
    /// Device checks: MACs seen since the agent started (the first sweep is the baseline),
    /// devices first seen after it, and the newest of those.
    known: BTreeSet<MacAddr>,
    baseline: bool,
    pub new_devices: u64,
    pub recent_new: VecDeque<MacAddr>,
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
        if let Some(Detail::Devices(d)) = &outcome.detail {
            self.learn(&d.macs);
        }
        let success = outcome.success;
        if self.streak >= flap.max(1) {
            self.settled = Some(outcome.clone());
        }
        self.last = Some(outcome);
        if self.streak >= flap.max(1) && self.state != Some(success) {
            let changed = self.state.is_some();
            if changed && success {
                // Back up after an outage: the loss window restarts empty. Otherwise the
                // outage's lost echoes kept the ratio high for up to a window of runs after the
                // target was fine again, and a loss alert fired about a target that no longer
                // lost anything; the runs that brought it back go too, because the first
                // echoes after a repair are often lost while the path settles (neighbour
                // resolution), and two runs are too few to call that loss.
                self.sent.clear();
            }
            self.state = Some(success);
            if changed {
                self.changes += 1;
            }
            return changed;
        }
        false
    }

    /// Fold one sweep's MACs into what is known. The first sweep that heard anything is the
    /// baseline; after it, every MAC not seen before counts once as a new device.
    fn learn(&mut self, macs: &[MacAddr]) {
        if macs.is_empty() {
            return;
        }
        for m in macs {
            if self.known.contains(m) {
                continue;
            }
            if self.baseline {
                self.new_devices += 1;
                if self.recent_new.len() == RECENT_NEW {
                    self.recent_new.pop_front();
                }
                self.recent_new.push_back(*m);
            }
            if self.known.len() < MAX_KNOWN_MACS {
                self.known.insert(*m);
            }
        }
        self.baseline = true;
    }

    /// What the last run of a path, LAN, device or diagnosis check found, in words (the
    /// status page and the log; empty for the other kinds).
    pub fn found(&self) -> String {
        let Some(detail) = self.last.as_ref().and_then(|o| o.detail.as_ref()) else {
            return String::new();
        };
        let pct = |x: f64| format!("{:.0} %", x * 100.0);
        match detail {
            Detail::Path(p) => {
                let mut t = match (p.reached, p.last_hop) {
                    (true, Some(ip)) => format!("reached {ip} in {} hops", p.hops),
                    (true, None) => format!("reached in {} hops", p.hops),
                    (false, Some(ip)) => {
                        format!("not reached; last hop that answered: {ip} (hop {})", p.hops)
                    }
                    (false, None) => "not reached; no hop answered".to_string(),
                };
                if let Some(x) = p.end_loss.filter(|x| *x > 0.0) {
                    t.push_str(&format!(", {} lost at the end", pct(x)));
                }
                let lossy: Vec<String> = p
                    .hop_loss
                    .iter()
                    .filter(|(_, x)| *x > 0.0)
                    .map(|(ttl, x)| format!("hop {ttl} {}", pct(*x)))
                    .collect();
                if !lossy.is_empty() {
                    t.push_str(&format!("; loss: {}", lossy.join(", ")));
                }
                t
            }
            Detail::Lan(l) => {
                let mut t = format!(
                    "{} DHCP server(s), {} rogue; {} duplicate address(es); {} claim(s) on the \
                     gateway; {} unexpected IPv6 router(s)",
                    l.dhcp_servers,
                    l.rogue_dhcp,
                    l.duplicate_ips,
                    l.gateway_claims,
                    l.rogue_routers
                );
                for a in l.alerts.iter().chain(&l.switch) {
                    t.push_str("; ");
                    t.push_str(a);
                }
                t
            }
            Detail::Devices(d) => {
                let mut t = format!(
                    "{} device(s) answered of {} address(es) asked; {} new since the agent started",
                    d.devices, d.probed, self.new_devices
                );
                if !self.recent_new.is_empty() {
                    let macs: Vec<String> = self.recent_new.iter().map(|m| m.to_string()).collect();
                    t.push_str(&format!(" (newest: {})", macs.join(", ")));
                }
                t
            }
            Detail::Diagnosis(d) => match d.layer {
                Some(l) => format!("{} at {}: {}", d.status.word(), l.label(), d.verdict),
                None => format!("{}: {}", d.status.word(), d.verdict),
            },
        }
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

    /// Stamp the result just applied: `now` is its time; `before` the state before it.
    pub fn stamp(&mut self, before: Option<bool>, now: SystemTime) {
        self.last_at = Some(now);
        if self.state.is_some() && self.state != before {
            self.since = Some(now);
        }
    }

    /// Share of echo requests lost over the window of runs.
    pub fn loss(&self) -> Option<f64> {
        // Runs that disagree with the state (a change that flap suppression has not confirmed
        // yet) wait until it is decided: the first silent run of a host going down would
        // otherwise raise the loss of a target that is still "up", and the loss alert went
        // pending for every outage. A blip that does not change the state counts one run later.
        let undecided = match (&self.last, self.state) {
            (Some(last), Some(state)) if last.success != state => {
                (self.streak as usize).min(self.sent.len())
            }
            _ => 0,
        };
        let (sent, got) = self
            .sent
            .iter()
            .take(self.sent.len() - undecided)
            .fold((0u64, 0u64), |(s, g), (a, b)| {
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

    fn sweep(macs: &[u8]) -> Outcome {
        Outcome {
            success: true,
            detail: Some(Detail::Devices(DevicesFound {
                probed: 10,
                devices: macs.len(),
                macs: macs.iter().map(|b| MacAddr([2, 0, 0, 0, 0, *b])).collect(),
            })),
            ..Outcome::default()
        }
    }

    #[test]
    fn new_devices_count_after_the_first_sweep_once_each() {
        let mut s = CheckState::default();
        s.apply(sweep(&[]), 1);
        assert_eq!(s.new_devices, 0, "an empty sweep is no baseline");
        s.apply(sweep(&[1, 2, 3]), 1);
        assert_eq!(s.new_devices, 0, "the first sweep is the baseline");
        s.apply(sweep(&[1, 3]), 1);
        assert_eq!(
            s.new_devices, 0,
            "a device missing once is not new when back"
        );
        s.apply(sweep(&[1, 2, 3, 4, 5]), 1);
        assert_eq!(s.new_devices, 2);
        s.apply(sweep(&[1, 2, 3, 4, 5]), 1);
        assert_eq!(s.new_devices, 2, "each new device counts once");
        assert_eq!(
            s.recent_new.iter().map(|m| m.0[5]).collect::<Vec<_>>(),
            [4, 5]
        );
        assert!(
            s.found().contains("2 new since the agent started"),
            "{}",
            s.found()
        );
        assert!(s.found().contains("02:00:00:00:00:05"), "{}", s.found());
    }

    #[test]
    fn settled_follows_the_flap_suppressed_state() {
        let path = |reached: bool| Outcome {
            success: reached,
            detail: Some(Detail::Path(PathFound {
                reached,
                ..PathFound::default()
            })),
            ..Outcome::default()
        };
        let mut s = CheckState::default();
        s.apply(path(true), 2);
        assert_eq!(s.settled, None);
        s.apply(path(true), 2);
        assert!(s.settled.as_ref().is_some_and(|o| o.success));
        // One unreached run: the state and the settled result stay.
        s.apply(path(false), 2);
        assert!(s.settled.as_ref().is_some_and(|o| o.success));
        assert_eq!(s.found(), "not reached; no hop answered");
        s.apply(path(false), 2);
        assert!(s.settled.as_ref().is_some_and(|o| !o.success));
        assert_eq!(s.state, Some(false));
    }

    #[test]
    fn found_says_lan_and_diagnosis_findings_in_words() {
        let mut s = CheckState::default();
        s.apply(
            Outcome {
                detail: Some(Detail::Lan(LanFound {
                    parts: vec![(LanPart::Dhcp, false)],
                    dhcp_servers: 2,
                    rogue_dhcp: 1,
                    alerts: vec!["rogue DHCP server 10.0.0.60 offers 10.0.0.200".into()],
                    ..LanFound::default()
                })),
                ..Outcome::default()
            },
            1,
        );
        assert_eq!(
            s.found(),
            "2 DHCP server(s), 1 rogue; 0 duplicate address(es); 0 claim(s) on the gateway; \
             0 unexpected IPv6 router(s); rogue DHCP server 10.0.0.60 offers 10.0.0.200"
        );
        s.apply(
            Outcome {
                detail: Some(Detail::Diagnosis(DiagnosisFound {
                    status: Status::Down,
                    layer: Some(Layer::Dns),
                    verdict: "The DNS server 10.0.0.53 does not answer.".into(),
                })),
                ..Outcome::default()
            },
            1,
        );
        assert_eq!(
            s.found(),
            "DOWN at dns: The DNS server 10.0.0.53 does not answer."
        );
        s.apply(Outcome::default(), 1);
        assert_eq!(
            s.found(),
            "",
            "ping, TCP, DNS and TLS find nothing beyond the note"
        );
    }

    /// A ping run of three echoes, `received` of them answered.
    fn echo(received: u32) -> Outcome {
        Outcome {
            success: received > 0,
            sent: 3,
            received,
            ..Outcome::default()
        }
    }

    #[test]
    fn a_run_that_may_start_an_outage_waits_before_it_counts_as_loss() {
        let mut s = CheckState::default();
        for _ in 0..3 {
            s.apply(echo(3), 2);
        }
        s.apply(echo(0), 2);
        assert_eq!(s.state, Some(true));
        assert_eq!(
            s.loss(),
            Some(0.0),
            "undecided: not loss of an up target yet"
        );
        s.apply(echo(3), 2);
        assert_eq!(s.loss(), Some(3.0 / 15.0), "a blip: counted once decided");
        s.apply(echo(0), 2);
        s.apply(echo(0), 2);
        assert_eq!(s.state, Some(false));
        assert_eq!(s.loss(), Some(9.0 / 21.0), "down: the outage counts");
    }

    #[test]
    fn loss_window_restarts_when_the_target_comes_back() {
        let mut s = CheckState::default();
        for _ in 0..3 {
            s.apply(echo(3), 2);
        }
        for _ in 0..20 {
            s.apply(echo(0), 2);
        }
        assert_eq!(s.state, Some(false));
        assert_eq!(s.loss(), Some(60.0 / 69.0), "down: the outage counts");
        // One reply between failures is no recovery: the window keeps the outage.
        s.apply(echo(1), 2);
        s.apply(echo(0), 2);
        assert!(s.loss().is_some_and(|l| l > 0.8));
        s.apply(echo(2), 2);
        assert!(s.apply(echo(3), 2), "up again");
        assert_eq!(s.loss(), None, "the window restarts empty");
        s.apply(echo(3), 2);
        assert_eq!(s.loss(), Some(0.0), "only runs after it came back");
    }
}
