//! The dashboard's state: the scan model plus what only a live console needs (liveness per
//! host with its up/down history, RTT ring buffers for sparklines, the event log, running
//! jobs). One owner (the UI loop) feeds it engine events with [`Dashboard::apply`]; widgets only
//! read it. Pure: no I/O and no clock, every time comes in as an argument, so tests replay
//! events at fixed timestamps.
//!
//! Liveness is decided per *job*: a sweep or a monitoring round names the hosts it probes;
//! a host that answers anything (ICMP, ARP, a TCP port) is up at once, a host that did not
//! answer by the end of the round is down. Port scans and name lookups can bring a host up but
//! never declare it down (silence on a port list says nothing about the host).

use crate::core::units;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use time::OffsetDateTime;

use crate::core::alert::{Alert, AlertLevel};
use crate::core::changes::ChangeWatch;
use crate::core::event::{Phase, ScanEvent};
use crate::core::model::{
    DnsResult, DnsStatus, HostStatus, Method, NoteLevel, PortState, RecordType, ScanParameters,
    ScanReport,
};
use crate::net::sys::netinfo::LocalContext;

use super::health::{self, HeaderCheck};

/// Wall-clock time as the dashboard shows it; always passed in, never read here.
pub type Timestamp = OffsetDateTime;

/// Rounds kept per host for the sparkline, the RTT chart and the recent loss figure.
pub const SAMPLES: usize = 60;
/// Transitions kept per host.
pub const HISTORY: usize = 200;
/// Event log entries kept.
pub const LOG_LEN: usize = 2000;
/// Rounds over which the table's loss figure is computed.
pub const LOSS_WINDOW: usize = 30;
/// Sweeps of at most this many addresses keep every target under watch, down or not: a
/// technician who names the gateway wants to see the moment it comes back.
pub const WATCH_ALL_LIMIT: u64 = 32;
/// TCP ports re-checked per round for hosts that only answer on TCP.
const TCP_WATCH_PORTS: usize = 3;

pub type JobId = u64;

/// What a job is for; decides whether its silence means "down".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// A full scan of targets the user gave (discovery, ports, DNS queries).
    Sweep { targets: Vec<String> },
    /// A monitoring round over the hosts under watch.
    Round { number: u64 },
    /// A port scan of one host, asked for with `p`.
    Ports { ip: IpAddr, spec: String },
    /// A lookup asked for with `d`.
    Resolve { query: String },
}

impl JobKind {
    fn decides_liveness(&self) -> bool {
        matches!(self, JobKind::Sweep { .. } | JobKind::Round { .. })
    }
}

/// A sample of one host in one round: RTT of the reply (ICMP, else ARP), or a gap. Kept
/// small (12 bytes): a watched /16 holds 65,536 rings of these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub rtt_ms: Option<f32>,
    /// ICMP echoes sent and answered in that round (0/0 when ICMP was not used).
    pub sent: u16,
    pub received: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Not probed to the end yet.
    Unknown,
    Up {
        since: Timestamp,
    },
    Down {
        since: Timestamp,
    },
}

/// One change of a host's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: Timestamp,
    pub up: bool,
    /// The first time the host was ever seen (not a recovery).
    pub first: bool,
    /// For a recovery: how long the host was down.
    pub outage: Option<Duration>,
}

/// What the dashboard keeps per host beyond the model.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTrack {
    pub live: Liveness,
    pub last_seen: Option<Timestamp>,
    /// Probed every round (seen up once, or named in a small sweep).
    pub watched: bool,
    /// Seen up at least once.
    pub ever_up: bool,
    /// Answered ICMP in at least one round: its losses mean something.
    pub answers_icmp: bool,
    /// ICMP echoes sent and lost over the last [`LOSS_WINDOW`] samples, kept up to date as
    /// samples come and go so the header never walks the rings of 65,536 hosts.
    recent_sent: u32,
    recent_lost: u32,
    pub samples: VecDeque<Sample>,
    pub history: VecDeque<Transition>,
}

impl HostTrack {
    fn new() -> Self {
        HostTrack {
            live: Liveness::Unknown,
            last_seen: None,
            watched: false,
            ever_up: false,
            answers_icmp: false,
            recent_sent: 0,
            recent_lost: 0,
            samples: VecDeque::new(),
            history: VecDeque::new(),
        }
    }

    pub fn is_up(&self) -> bool {
        matches!(self.live, Liveness::Up { .. })
    }

    pub fn is_down(&self) -> bool {
        matches!(self.live, Liveness::Down { .. })
    }

    /// Lost ICMP echoes over the last [`LOSS_WINDOW`] rounds, in percent; `None` without ICMP.
    pub fn recent_loss(&self) -> Option<f64> {
        (self.recent_sent > 0)
            .then(|| f64::from(self.recent_lost) * 100.0 / f64::from(self.recent_sent))
    }

    fn push_sample(&mut self, s: Sample) {
        let lost = |x: &Sample| u32::from(x.sent - x.received.min(x.sent));
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        // The sample leaving the loss window.
        if self.samples.len() >= LOSS_WINDOW
            && let Some(old) = self.samples.get(self.samples.len() - LOSS_WINDOW)
        {
            self.recent_sent -= u32::from(old.sent);
            self.recent_lost -= lost(old);
        }
        self.recent_sent += u32::from(s.sent);
        self.recent_lost += lost(&s);
        self.answers_icmp |= s.received > 0;
        self.samples.push_back(s);
    }

    fn push_history(&mut self, t: Transition) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(t);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Up,
    Down,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub at: Timestamp,
    pub kind: LogKind,
    pub text: String,
}

/// What a round heard from one host so far.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    icmp_rtt_ms: Option<f64>,
    arp_rtt_ms: Option<f64>,
    sent: u32,
    received: u32,
    seen: bool,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    pub started: Timestamp,
    /// Addresses whose silence will mean "down" at the end (sweeps and rounds).
    targets: HashSet<IpAddr>,
    heard: HashMap<IpAddr, Pending>,
    pub planned_hosts: Option<u64>,
    pub progress: BTreeMap<Phase, (u64, u64)>,
}

/// Health of one layer of the network, as the header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Ok,
    Degraded,
    Down,
    Unknown,
}

impl Health {
    pub fn word(self) -> &'static str {
        match self {
            Health::Ok => "OK",
            Health::Degraded => "DEGRADED",
            Health::Down => "DOWN",
            Health::Unknown => "UNKNOWN",
        }
    }

    /// A symbol that tells the states apart without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Health::Ok => "✔",
            Health::Degraded => "▲",
            Health::Down => "✖",
            Health::Unknown => "?",
        }
    }
}

/// Health of one layer with a few words of evidence ("16 of 17 up").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerHealth {
    pub health: Health,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    pub lan: LayerHealth,
    pub gateway: LayerHealth,
    pub dns: LayerHealth,
    pub wan: LayerHealth,
}

/// Counts for the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub up: usize,
    /// Watched hosts that are down (they answered once, or the user named them).
    pub down: usize,
    /// Addresses that never answered and are not watched.
    pub silent: usize,
    pub watched: usize,
}

/// Hosts in a monitoring round, by how they can be checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundPlan {
    /// Checked with ICMP (and ARP where directly connected).
    pub icmp: Vec<IpAddr>,
    /// Hosts that only ever answered on TCP, with the ports to re-check.
    pub tcp: Vec<(IpAddr, Vec<u16>)>,
}

impl RoundPlan {
    pub fn is_empty(&self) -> bool {
        self.icmp.is_empty() && self.tcp.is_empty()
    }

    pub fn len(&self) -> usize {
        self.icmp.len() + self.tcp.len()
    }

    /// Every address in the round.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.icmp
            .iter()
            .copied()
            .chain(self.tcp.iter().map(|(ip, _)| *ip))
            .collect()
    }
}

/// The dashboard's state. See the module documentation.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub report: ScanReport,
    pub tracks: HashMap<IpAddr, HostTrack>,
    pub log: VecDeque<LogEntry>,
    pub context: LocalContext,
    pub jobs: BTreeMap<JobId, Job>,
    next_job: JobId,
    /// Every target spec scanned so far (for `r`).
    pub target_specs: Vec<String>,
    /// Set once the first sweep ended: rounds may run.
    pub monitoring: bool,
    pub paused: bool,
    pub rounds: u64,
    pub last_round: Option<Timestamp>,
    /// Bumped whenever anything a host row shows may have changed.
    pub generation: u64,
    /// Watched addresses, in order (the table's default view, without a walk of every host).
    pub watched: BTreeSet<IpAddr>,
    /// DNS results that mention an address (PTR of it, A/AAAA answer with it).
    dns_by_ip: HashMap<IpAddr, Vec<usize>>,
    notes_logged: HashSet<String>,
    /// The last header check (gateway, resolvers, WAN target), made every monitoring round.
    pub header: Option<HeaderCheck>,
    /// Changes seen round after round (new device, gone, MAC, name, type, ports, certificate)
    /// and what the LAN checks found, newest last, at most [`ALERTS_KEPT`].
    pub alerts: VecDeque<Alert>,
    /// Alerts that arrived since the Alerts view was last opened (the header's count).
    pub alerts_unseen: usize,
    /// A warning or critical alert arrived since the last frame: ring the bell if asked.
    pub bell_due: bool,
    /// The last LAN safety check (`L`, and at start with `--auto`).
    pub lan: Option<crate::core::lan::LanReport>,
    changes: ChangeWatch,
}

/// Alerts kept for the Alerts view; older ones are dropped (the inventory keeps history).
pub const ALERTS_KEPT: usize = 500;

/// Silent monitoring rounds before a device that was up is reported gone, unless
/// `--gone-after` says otherwise.
pub const GONE_AFTER_ROUNDS: u32 = 3;

impl Dashboard {
    pub fn new(context: LocalContext, parameters: ScanParameters) -> Self {
        Dashboard {
            report: ScanReport::new(parameters),
            tracks: HashMap::new(),
            log: VecDeque::new(),
            context,
            jobs: BTreeMap::new(),
            next_job: 1,
            target_specs: Vec::new(),
            monitoring: false,
            paused: false,
            rounds: 0,
            last_round: None,
            generation: 0,
            watched: BTreeSet::new(),
            dns_by_ip: HashMap::new(),
            notes_logged: HashSet::new(),
            header: None,
            alerts: VecDeque::new(),
            alerts_unseen: 0,
            bell_due: false,
            lan: None,
            changes: ChangeWatch::new(GONE_AFTER_ROUNDS),
        }
    }

    /// Keep new alerts, count them as unseen, log them, and ask for the bell on anything
    /// above information.
    pub fn push_alerts(&mut self, alerts: Vec<Alert>, now: Timestamp) {
        for a in alerts {
            let kind = match a.level {
                AlertLevel::Info => LogKind::Info,
                AlertLevel::Warning | AlertLevel::Critical => {
                    self.bell_due = true;
                    LogKind::Warn
                }
            };
            self.log(now, kind, a.text.clone());
            self.alerts.push_back(a);
            self.alerts_unseen += 1;
            if self.alerts.len() > ALERTS_KEPT {
                self.alerts.pop_front();
            }
        }
        self.generation += 1;
    }

    /// Fold in what the inventory said about a sweep: its first run in one line, then only
    /// what the rounds have not said already (the same kind of change on the same address).
    pub fn apply_inventory(&mut self, update: crate::store::inventory::Update, now: Timestamp) {
        if update.started {
            self.log(
                now,
                LogKind::Info,
                format!(
                    "inventory started: {} device{} (netdx inventory lists them)",
                    update.devices,
                    if update.devices == 1 { "" } else { "s" }
                ),
            );
            return;
        }
        let said: HashSet<(crate::core::alert::AlertKind, Option<IpAddr>)> = self
            .alerts
            .iter()
            .rev()
            .take(200)
            .map(|a| (a.kind, a.ip))
            .collect();
        let fresh: Vec<Alert> = update
            .alerts
            .into_iter()
            .filter(|a| !said.contains(&(a.kind, a.ip)))
            .collect();
        self.push_alerts(fresh, now);
    }

    /// Silent rounds before a device that was up is reported gone (`--gone-after`, at least
    /// 1). Set before the first round: the count of rounds already missed is kept.
    pub fn set_gone_after(&mut self, rounds: u32) {
        self.changes = ChangeWatch::new(rounds);
    }

    /// Fold in a LAN safety check: its problems become alerts.
    pub fn apply_lan(&mut self, lan: crate::core::lan::LanReport, now: Timestamp) {
        let at = rfc3339(now);
        let alerts = lan
            .alerts
            .iter()
            .cloned()
            .map(|mut a| {
                a.at.get_or_insert_with(|| at.clone());
                a
            })
            .collect();
        self.lan = Some(lan);
        self.push_alerts(alerts, now);
    }

    /// Whether anything was ever started (otherwise the context screen shows).
    pub fn started(&self) -> bool {
        self.report.started_at.is_some()
    }

    pub fn log(&mut self, at: Timestamp, kind: LogKind, text: impl Into<String>) {
        if self.log.len() == LOG_LEN {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry {
            at,
            kind,
            text: text.into(),
        });
    }

    /// Log something observed before it was reported (a diagnosis round is stamped with its
    /// start but arrives when it ends): placed after every entry not later than `at`, so the
    /// log stays in time order.
    pub fn log_earlier(&mut self, at: Timestamp, kind: LogKind, text: impl Into<String>) {
        if self.log.len() == LOG_LEN {
            self.log.pop_front();
        }
        let i = self
            .log
            .iter()
            .rposition(|e| e.at <= at)
            .map_or(0, |i| i + 1);
        self.log.insert(
            i,
            LogEntry {
                at,
                kind,
                text: text.into(),
            },
        );
    }

    /// Register a job before its events arrive. `watch` lists the addresses a round probes.
    pub fn begin(&mut self, kind: JobKind, watch: &[IpAddr], now: Timestamp) -> JobId {
        let id = self.next_job;
        self.next_job += 1;
        if self.report.started_at.is_none() {
            self.report.started_at = Some(rfc3339(now));
        }
        match &kind {
            JobKind::Sweep { targets } => {
                for t in targets {
                    if !self.target_specs.contains(t) {
                        self.target_specs.push(t.clone());
                    }
                }
                self.report.parameters.targets = self.target_specs.clone();
                self.log(
                    now,
                    LogKind::Info,
                    format!("scan started: {}", targets.join(" ")),
                );
            }
            JobKind::Round { number } => {
                self.rounds = *number;
                self.last_round = Some(now);
            }
            JobKind::Ports { ip, spec } => {
                self.log(
                    now,
                    LogKind::Info,
                    format!("port scan of {ip} ({spec}) started"),
                );
            }
            JobKind::Resolve { query } => {
                self.log(now, LogKind::Info, format!("resolving {query}"));
            }
        }
        self.jobs.insert(
            id,
            Job {
                kind,
                started: now,
                targets: watch.iter().copied().collect(),
                heard: HashMap::new(),
                planned_hosts: None,
                progress: BTreeMap::new(),
            },
        );
        id
    }

    /// A job could not start (bad configuration): forget it and say why.
    pub fn abort(&mut self, id: JobId, why: &str, now: Timestamp) {
        self.jobs.remove(&id);
        self.log(now, LogKind::Error, why.to_string());
    }

    pub fn sweep_running(&self) -> bool {
        self.jobs
            .values()
            .any(|j| matches!(j.kind, JobKind::Sweep { .. }))
    }

    pub fn round_running(&self) -> bool {
        self.jobs
            .values()
            .any(|j| matches!(j.kind, JobKind::Round { .. }))
    }

    /// Put `ip` under watch: probed every round and listed in the table.
    fn watch(&mut self, ip: IpAddr) {
        let t = self.tracks.entry(ip).or_insert_with(HostTrack::new);
        if !t.watched {
            t.watched = true;
            self.watched.insert(ip);
        }
    }

    fn track(&mut self, ip: IpAddr) -> &mut HostTrack {
        self.tracks.entry(ip).or_insert_with(HostTrack::new)
    }

    /// Fold one event of job `id` into the state.
    pub fn apply(&mut self, id: JobId, event: ScanEvent, now: Timestamp) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let decides = job.kind.decides_liveness();
        let is_sweep = matches!(job.kind, JobKind::Sweep { .. });
        let is_resolve = matches!(job.kind, JobKind::Resolve { .. });
        let mut came_up: Option<IpAddr> = None;
        match &event {
            ScanEvent::Planned { hosts, .. } => job.planned_hosts = Some(*hosts),
            ScanEvent::Targets(ips) => {
                if decides {
                    job.targets.extend(ips.iter().copied());
                }
            }
            ScanEvent::Target { ip, .. } => {
                if decides {
                    job.targets.insert(*ip);
                }
            }
            ScanEvent::Icmp(o) => {
                let p = job.heard.entry(o.ip).or_default();
                p.sent += o.sent;
                p.received += o.received;
                if !o.rtts.is_empty() {
                    let avg = o.rtts.iter().sum::<Duration>() / o.rtts.len() as u32;
                    p.icmp_rtt_ms = Some(units::ms(avg));
                    p.seen = true;
                    came_up = Some(o.ip);
                }
            }
            ScanEvent::Arp(a) => {
                let ip = IpAddr::V4(a.ip);
                let p = job.heard.entry(ip).or_default();
                p.arp_rtt_ms = Some(units::ms(a.rtt));
                p.seen = true;
                came_up = Some(ip);
            }
            ScanEvent::Ports { ip, results } => {
                if results.iter().any(|r| r.state != PortState::Filtered) {
                    job.heard.entry(*ip).or_default().seen = true;
                    came_up = Some(*ip);
                }
            }
            ScanEvent::Progress { phase, done, total } => {
                job.progress.insert(*phase, (*done, *total));
                if !is_sweep {
                    // A round's figures would overwrite the sweep's; the job keeps its own.
                    return;
                }
            }
            ScanEvent::Alive { ip, .. } => {
                job.heard.entry(*ip).or_default().seen = true;
                came_up = Some(*ip);
            }
            ScanEvent::Names { ip, names } => {
                if !names.is_empty() {
                    job.heard.entry(*ip).or_default().seen = true;
                    came_up = Some(*ip);
                }
            }
            ScanEvent::Hostname { .. }
            | ScanEvent::Dns(_)
            | ScanEvent::Note { .. }
            | ScanEvent::PortScan(_)
            | ScanEvent::Service { .. }
            | ScanEvent::Neighbour { .. }
            | ScanEvent::Gateway(_) => {}
            ScanEvent::Finished { interrupted } => {
                let interrupted = *interrupted;
                if let Some(job) = self.jobs.remove(&id) {
                    self.finish(job, interrupted, now);
                }
                self.generation += 1;
                if is_sweep {
                    self.report.apply(event);
                }
                return;
            }
        }
        if let Some(ip) = came_up {
            self.seen_up(ip, now);
        }
        match &event {
            ScanEvent::Dns(r) => {
                // Failures and sanity findings are worth an event; plain answers are not.
                if is_resolve || !answered(r.status) || !r.findings.is_empty() {
                    let kind = if answered(r.status) && r.findings.is_empty() {
                        LogKind::Info
                    } else {
                        LogKind::Warn
                    };
                    self.log(now, kind, describe_dns(r));
                }
            }
            ScanEvent::Note { level, text } => {
                let clean = crate::core::sanitize::clean(text);
                if self.notes_logged.insert(clean.clone()) {
                    let kind = match level {
                        NoteLevel::Info => LogKind::Info,
                        NoteLevel::Warn => LogKind::Warn,
                        NoteLevel::Error => LogKind::Error,
                    };
                    self.log(now, kind, clean);
                }
            }
            ScanEvent::Progress { .. } => {}
            _ => self.generation += 1,
        }
        let dns_index = self.report.dns.len();
        self.report.apply(event);
        if self.report.dns.len() > dns_index {
            let r = self.report.dns[dns_index].clone();
            self.index_dns(&r, dns_index);
        }
    }

    fn index_dns(&mut self, r: &DnsResult, index: usize) {
        let mut ips: Vec<IpAddr> = Vec::new();
        if r.rtype == RecordType::PTR
            && let Some(ip) = ip_from_reverse_name(&r.name)
        {
            ips.push(ip);
        }
        for a in &r.answers {
            if let Ok(ip) = a.value.parse::<IpAddr>() {
                ips.push(ip);
            }
        }
        ips.dedup();
        for ip in ips {
            self.dns_by_ip.entry(ip).or_default().push(index);
        }
    }

    /// DNS results about `ip`, oldest first.
    pub fn dns_for(&self, ip: IpAddr) -> impl Iterator<Item = &DnsResult> {
        self.dns_by_ip
            .get(&ip)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.report.dns.get(i))
    }

    /// A reply from `ip`: up now, whatever the job.
    fn seen_up(&mut self, ip: IpAddr, now: Timestamp) {
        self.watch(ip);
        let t = self.track(ip);
        t.last_seen = Some(now);
        t.ever_up = true;
        match t.live {
            Liveness::Up { .. } => {}
            Liveness::Unknown => {
                t.live = Liveness::Up { since: now };
                let first = t.history.is_empty();
                t.push_history(Transition {
                    at: now,
                    up: true,
                    first,
                    outage: None,
                });
            }
            Liveness::Down { since } => {
                let outage = (now - since).try_into().unwrap_or_default();
                t.live = Liveness::Up { since: now };
                let first = !t.history.iter().any(|h| h.up);
                t.push_history(Transition {
                    at: now,
                    up: true,
                    first,
                    outage: (!first).then_some(outage),
                });
                let text = if first {
                    format!("{} is up (first reply)", self.label(ip))
                } else {
                    format!(
                        "{} is back up after {} down",
                        self.label(ip),
                        units::human_duration(outage)
                    )
                };
                self.log(now, LogKind::Up, text);
            }
        }
    }

    fn finish(&mut self, job: Job, interrupted: bool, now: Timestamp) {
        let seen = |ip: &IpAddr| job.heard.get(ip).is_some_and(|p| p.seen);
        if job.kind.decides_liveness() && !interrupted {
            let small = job.planned_hosts.is_some_and(|n| n <= WATCH_ALL_LIMIT);
            let mut silent: Vec<IpAddr> =
                job.targets.iter().filter(|ip| !seen(ip)).copied().collect();
            silent.sort();
            for ip in silent {
                self.declare_down(ip, now);
                if small {
                    self.watch(ip);
                }
            }
        }
        // Every address the job asked or heard from, in order.
        let probed: Vec<IpAddr> = {
            let mut v: Vec<IpAddr> = job
                .targets
                .iter()
                .chain(job.heard.keys())
                .copied()
                .collect();
            v.sort();
            v.dedup();
            v
        };
        // One sample per watched host per sweep or round: the RTT of its reply, or a gap.
        if job.kind.decides_liveness() {
            for &ip in &probed {
                let p = job.heard.get(&ip).copied().unwrap_or_default();
                // A host that answers ICMP is charted by ICMP alone: a round where only ARP
                // saw it is a gap in its latency, not an ARP time.
                let icmp_host = self
                    .report
                    .hosts
                    .get(&ip)
                    .is_some_and(|h| h.methods.contains(&Method::Icmp));
                let Some(t) = self.tracks.get_mut(&ip) else {
                    continue;
                };
                if !t.watched {
                    continue;
                }
                let rtt = match (p.seen, icmp_host) {
                    (false, _) => None,
                    (true, true) => p.icmp_rtt_ms,
                    (true, false) => p.icmp_rtt_ms.or(p.arp_rtt_ms),
                };
                t.push_sample(Sample {
                    rtt_ms: rtt.map(|r| r as f32),
                    sent: u16::try_from(p.sent).unwrap_or(u16::MAX),
                    received: u16::try_from(p.received).unwrap_or(u16::MAX),
                });
            }
        }
        if !interrupted {
            let at = rfc3339(now);
            let alerts = match &job.kind {
                JobKind::Sweep { .. } | JobKind::Round { .. } => {
                    self.changes
                        .observe(&self.report, &probed, &|ip| seen(&ip), &at)
                }
                JobKind::Ports { ip, .. } => match self.report.hosts.get(ip) {
                    Some(h) => self.changes.sighting(h, &at),
                    None => Vec::new(),
                },
                JobKind::Resolve { .. } => Vec::new(),
            };
            if !alerts.is_empty() {
                self.push_alerts(alerts, now);
            }
        }
        match job.kind {
            JobKind::Sweep { targets } => {
                self.monitoring = true;
                let up = job.heard.values().filter(|p| p.seen).count();
                let verb = if interrupted { "interrupted" } else { "done" };
                self.log(
                    now,
                    LogKind::Info,
                    format!(
                        "scan of {} {verb}: {up} of {} hosts up",
                        targets.join(" "),
                        job.targets.len()
                    ),
                );
            }
            JobKind::Round { .. } | JobKind::Resolve { .. } => {}
            JobKind::Ports { ip, spec } => {
                let (open, closed, filtered) = self.report.hosts.get(&ip).map_or((0, 0, 0), |h| {
                    (
                        h.port_count(PortState::Open),
                        h.port_count(PortState::Closed),
                        h.port_count(PortState::Filtered),
                    )
                });
                let verb = if interrupted { "interrupted" } else { "done" };
                self.log(
                    now,
                    LogKind::Info,
                    format!(
                        "port scan of {ip} ({spec}) {verb}: {open} open, {closed} closed, {filtered} filtered"
                    ),
                );
            }
        }
    }

    fn declare_down(&mut self, ip: IpAddr, now: Timestamp) {
        let label = self.label(ip);
        let t = self.track(ip);
        match t.live {
            Liveness::Down { .. } => {}
            Liveness::Unknown => t.live = Liveness::Down { since: now },
            Liveness::Up { .. } => {
                t.live = Liveness::Down { since: now };
                t.push_history(Transition {
                    at: now,
                    up: false,
                    first: false,
                    outage: None,
                });
                self.log(now, LogKind::Down, format!("{label} went down"));
            }
        }
    }

    /// `10.0.0.5 (web.lab.test)` when a name is known.
    pub fn label(&self, ip: IpAddr) -> String {
        match self.report.hosts.get(&ip).and_then(|h| {
            h.hostname
                .as_deref()
                .or(h.target_name.as_deref())
                .map(str::to_string)
        }) {
            Some(n) => format!("{ip} ({n})"),
            None => ip.to_string(),
        }
    }

    /// The hosts to probe in the next round, and how: ICMP (with ARP where directly
    /// connected) for hosts that ever answered ICMP or ARP or never answered at all; a few of
    /// their answering TCP ports for hosts that only ever answered on TCP (or all hosts when
    /// the user switched ping off).
    pub fn round_plan(&self, ping: bool) -> RoundPlan {
        let mut plan = RoundPlan::default();
        for &ip in &self.watched {
            let host = self.report.hosts.get(&ip);
            let methods = host.map(|h| h.methods.as_slice()).unwrap_or(&[]);
            if ping && methods != [Method::Tcp] {
                plan.icmp.push(ip);
                continue;
            }
            // Open ports first: they answer with the least doubt; then closed ones (a reset
            // proves the host is there too).
            let mut ports: Vec<u16> = host
                .map(|h| {
                    h.ports
                        .iter()
                        .map(|p| p.port)
                        .chain(h.closed_ports.iter())
                        .take(TCP_WATCH_PORTS)
                        .collect()
                })
                .unwrap_or_default();
            if ports.is_empty() {
                ports = crate::engine::scan::LIVENESS_PORTS.to_vec();
            }
            plan.tcp.push((ip, ports));
        }
        plan
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            total: self.report.hosts.len(),
            ..Counts::default()
        };
        for t in self.tracks.values() {
            match t.live {
                Liveness::Up { .. } => c.up += 1,
                Liveness::Down { .. } if t.watched => c.down += 1,
                Liveness::Down { .. } => c.silent += 1,
                Liveness::Unknown => {}
            }
            if t.watched {
                c.watched += 1;
            }
        }
        c
    }

    /// Fold in a round's header check: the context it re-read replaces the old one, and a
    /// cell that changes health is logged ("DNS ✖ DOWN: 10.0.0.53 no answer").
    pub fn apply_header(&mut self, check: HeaderCheck, now: Timestamp) {
        let before = self.header.is_some().then(|| self.layers());
        self.context = check.context.clone();
        self.header = Some(check);
        self.generation += 1;
        let after = self.layers();
        let cells = |l: &Layers| {
            [
                ("LAN", l.lan.clone()),
                ("gateway", l.gateway.clone()),
                ("DNS", l.dns.clone()),
                ("WAN", l.wan.clone()),
            ]
        };
        let old = before.as_ref().map(cells);
        for (i, (name, c)) in cells(&after).into_iter().enumerate() {
            let was = old.as_ref().map(|o| o[i].1.health);
            if was == Some(c.health) || (was.is_none() && c.health == Health::Ok) {
                continue;
            }
            let kind = match c.health {
                Health::Ok => LogKind::Up,
                Health::Degraded | Health::Unknown => LogKind::Warn,
                Health::Down => LogKind::Down,
            };
            let text = format!(
                "{name} {} {}: {}",
                c.health.symbol(),
                c.health.word(),
                c.detail
            );
            self.log(now, kind, text);
        }
    }

    /// Health per layer. With a header check (every monitoring round), the gateway, DNS and
    /// WAN cells are its results and the LAN cell also weighs the gateway ([`health`]).
    /// Before the first check, from what was observed (nothing is probed to compute it):
    /// - LAN: hosts on the attached networks that were ever up: all still up and little ICMP
    ///   loss is OK, some down or loss ≥ 5 % is DEGRADED, all down (or every link down) DOWN;
    /// - gateway: the default gateway's own liveness and loss;
    /// - DNS: the last answers (NOERROR and NXDOMAIN mean the server works);
    /// - WAN: hosts beyond the attached networks that the user asked about; UNKNOWN when none
    ///   (netdx does not probe the internet on its own).
    pub fn layers(&self) -> Layers {
        let gateways: Vec<IpAddr> = self.context.gateways.iter().map(|g| g.ip).collect();
        let nets: Vec<ipnet::IpNet> = self.context.local_nets().collect();
        let mut lan = Tally::default();
        let mut wan = Tally::default();
        for (&ip, t) in &self.tracks {
            // Addresses that never answered and are not watched count nowhere (most of a
            // big sweep): skip them before anything costs.
            if (!t.ever_up && !t.watched) || gateways.contains(&ip) || ip.is_loopback() {
                continue;
            }
            let ever_up = t.ever_up;
            if nets.iter().any(|n| n.contains(&ip)) {
                if ever_up {
                    lan.add(t);
                }
            } else if t.live != Liveness::Unknown && (ever_up || t.watched) {
                wan.add(t);
            }
        }
        let nics: Vec<_> = self
            .context
            .interfaces
            .iter()
            .filter(|i| !i.loopback)
            .collect();
        let lan = if !nics.is_empty()
            && nics
                .iter()
                .all(|i| i.link == crate::net::sys::netinfo::LinkState::Down)
        {
            LayerHealth {
                health: Health::Down,
                detail: "no link".into(),
            }
        } else {
            lan.health(5.0)
        };

        let gateway = {
            let mut worst: Option<LayerHealth> = None;
            for g in &gateways {
                let Some(t) = self.tracks.get(g) else {
                    continue;
                };
                let lh = match t.live {
                    Liveness::Unknown => continue,
                    Liveness::Down { .. } => LayerHealth {
                        health: Health::Down,
                        detail: format!("{g} not answering"),
                    },
                    Liveness::Up { .. } => match t.recent_loss() {
                        Some(l) if l >= 20.0 => LayerHealth {
                            health: Health::Degraded,
                            detail: format!("{g} {l:.0}% loss"),
                        },
                        _ => LayerHealth {
                            health: Health::Ok,
                            detail: match t.samples.back().and_then(|s| s.rtt_ms) {
                                Some(r) => format!("{g} {}", units::ms_short(f64::from(r))),
                                None => g.to_string(),
                            },
                        },
                    },
                };
                if worst.as_ref().is_none_or(|w| lh.health > w.health) {
                    worst = Some(lh);
                }
            }
            worst.unwrap_or_else(|| LayerHealth {
                health: Health::Unknown,
                detail: if gateways.is_empty() {
                    "no default route".into()
                } else {
                    "not probed".into()
                },
            })
        };

        let dns = {
            let recent: Vec<&DnsResult> = self.report.dns.iter().rev().take(20).collect();
            let ok = recent.iter().filter(|r| answered(r.status)).count();
            let n = recent.len();
            let health = if n == 0 {
                Health::Unknown
            } else if ok == n {
                Health::Ok
            } else if ok == 0 {
                Health::Down
            } else {
                Health::Degraded
            };
            LayerHealth {
                health,
                detail: if n == 0 {
                    "no queries".into()
                } else {
                    format!("{ok}/{n} answered")
                },
            }
        };

        if let Some(h) = &self.header {
            let gateway = health::gateway_cell(&self.context, &h.gateways);
            let wan = match (&h.wan, wan.total) {
                // No WAN target of its own, but the user's own hosts beyond the LAN say
                // something about the path.
                (health::WanCheck::NotProbed(_), n) if n > 0 => wan.health(20.0),
                (w, _) => health::wan_cell(w),
            };
            return Layers {
                lan: health::lan_cell(&self.context, lan, &gateway),
                gateway,
                dns: health::dns_cell(&h.resolvers),
                wan,
            };
        }
        Layers {
            lan: health::lan_cell(&self.context, lan, &gateway),
            gateway,
            dns,
            wan: if wan.total == 0 {
                LayerHealth {
                    health: Health::Unknown,
                    detail: "not probed".into(),
                }
            } else {
                wan.health(20.0)
            },
        }
    }

    /// The report as it stands, for export: the model plus the current liveness (a host that
    /// went down while watched is exported as down), timestamps and a fresh summary.
    pub fn export_report(&self, now: Timestamp) -> ScanReport {
        let mut r = self.report.clone();
        for (ip, h) in r.hosts.iter_mut() {
            // "down" only for a host seen up that stopped answering; an address that never
            // answered is "no answer"; one no round reached keeps what the sweep said.
            if let Some(t) = self.tracks.get(ip) {
                h.status = match t.live {
                    Liveness::Up { .. } => HostStatus::Up,
                    Liveness::Down { .. } if t.ever_up => HostStatus::Down,
                    Liveness::Down { .. } => HostStatus::NoAnswer,
                    Liveness::Unknown => h.status,
                };
            }
        }
        // What changed while the dashboard watched, and the last LAN check, go with it.
        r.alerts = self.alerts.iter().cloned().collect();
        r.lan = self.lan.clone();
        let sweeping = self.sweep_running();
        r.complete = self.monitoring && !sweeping && !r.interrupted;
        r.finished_at = Some(rfc3339(now));
        r.refresh_summary();
        r
    }
}

#[derive(Debug, Default)]
struct Tally {
    total: usize,
    up: usize,
    sent: u64,
    lost: u64,
}

impl Tally {
    fn add(&mut self, t: &HostTrack) {
        self.total += 1;
        if t.is_up() {
            self.up += 1;
        }
        // Hosts that drop ICMP on purpose (0 of N every round) say nothing about loss.
        if t.answers_icmp {
            self.sent += u64::from(t.recent_sent);
            self.lost += u64::from(t.recent_lost);
        }
    }

    fn health(&self, loss_threshold: f64) -> LayerHealth {
        if self.total == 0 {
            return LayerHealth {
                health: Health::Unknown,
                detail: "no hosts".into(),
            };
        }
        let loss = if self.sent > 0 {
            self.lost as f64 * 100.0 / self.sent as f64
        } else {
            0.0
        };
        let down = self.total - self.up;
        let health = if self.up == 0 {
            Health::Down
        } else if down > 0 || loss >= loss_threshold {
            Health::Degraded
        } else {
            Health::Ok
        };
        let mut detail = format!("{} of {} up", self.up, self.total);
        if loss >= 1.0 {
            detail.push_str(&format!(", {loss:.0}% loss"));
        }
        LayerHealth { health, detail }
    }
}

/// The server answered (even "no such name"): DNS itself works.
pub fn answered(s: DnsStatus) -> bool {
    matches!(s, DnsStatus::NoError | DnsStatus::NxDomain)
}

fn describe_dns(r: &DnsResult) -> String {
    let answers: Vec<&str> = r.answers.iter().map(|a| a.value.as_str()).collect();
    let mut s = format!("{} {} → {}", r.name, r.rtype, r.status.label());
    if !answers.is_empty() {
        s.push(' ');
        s.push_str(&answers.join(", "));
    }
    if let Some(server) = &r.server {
        s.push_str(&format!(" (from {server})"));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(": {e}"));
    }
    for f in &r.findings {
        s.push_str(&format!("; {}: {}", f.kind.label(), f.text));
    }
    s
}

pub fn rfc3339(t: Timestamp) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `20.0.77.10.in-addr.arpa` → 10.77.0.20; nibble `ip6.arpa` names → the IPv6 address.
pub fn ip_from_reverse_name(name: &str) -> Option<IpAddr> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = n.strip_suffix(".in-addr.arpa") {
        let parts: Vec<u8> = rest
            .split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        if parts.len() != 4 {
            return None;
        }
        return Some(IpAddr::V4(Ipv4Addr::new(
            parts[3], parts[2], parts[1], parts[0],
        )));
    }
    let rest = n.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u32> = rest
        .split('.')
        .map(|p| {
            let mut c = p.chars();
            match (c.next(), c.next()) {
                (Some(ch), None) => ch.to_digit(16),
                _ => None,
            }
        })
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let v = nibbles
        .iter()
        .rev()
        .fold(0u128, |acc, &x| (acc << 4) | u128::from(x));
    Some(IpAddr::V6(Ipv6Addr::from(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{ArpOutcome, IcmpOutcome, PortOutcome};
    use crate::core::model::MacAddr;

    fn t(s: i64) -> Timestamp {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn icmp(a: &str, sent: u32, rtts_us: &[u64]) -> ScanEvent {
        ScanEvent::Icmp(IcmpOutcome {
            ip: ip(a),
            sent,
            received: rtts_us.len() as u32,
            rtts: rtts_us.iter().map(|&u| Duration::from_micros(u)).collect(),
        })
    }

    #[test]
    fn an_entry_observed_earlier_goes_in_time_order() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        d.log(t(0), LogKind::Info, "a");
        d.log(t(2), LogKind::Down, "c");
        d.log(t(2), LogKind::Up, "d");
        d.log_earlier(t(1), LogKind::Down, "b");
        d.log_earlier(t(2), LogKind::Info, "e");
        d.log_earlier(t(-1), LogKind::Info, "first");
        let texts: Vec<&str> = d.log.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["first", "a", "b", "c", "d", "e"]);
    }

    fn sweep(d: &mut Dashboard, targets: &[&str], now: Timestamp) -> JobId {
        let id = d.begin(
            JobKind::Sweep {
                targets: vec!["10.0.0.0/29".into()],
            },
            &[],
            now,
        );
        d.apply(
            id,
            ScanEvent::Planned {
                hosts: targets.len() as u64,
                ports_per_host: 0,
            },
            now,
        );
        d.apply(
            id,
            ScanEvent::Targets(targets.iter().map(|s| ip(s)).collect()),
            now,
        );
        id
    }

    fn round(d: &mut Dashboard, n: u64, now: Timestamp) -> JobId {
        let plan = d.round_plan(true);
        d.begin(JobKind::Round { number: n }, &plan.addresses(), now)
    }

    #[test]
    fn sweep_marks_silent_targets_down_without_logging_transitions() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = sweep(&mut d, &["10.0.0.1", "10.0.0.2", "10.0.0.3"], t(0));
        d.apply(id, icmp("10.0.0.1", 5, &[400, 600]), t(1));
        d.apply(
            id,
            ScanEvent::Arp(ArpOutcome {
                ip: "10.0.0.2".parse().unwrap(),
                mac: MacAddr([0, 0x50, 0x56, 1, 2, 3]),
                rtt: Duration::from_micros(300),
            }),
            t(1),
        );
        d.apply(id, ScanEvent::Finished { interrupted: false }, t(2));
        assert!(d.tracks[&ip("10.0.0.1")].is_up());
        assert!(d.tracks[&ip("10.0.0.2")].is_up());
        assert!(d.tracks[&ip("10.0.0.3")].is_down());
        // 3 targets ≤ WATCH_ALL_LIMIT: the silent one is watched too.
        assert!(d.tracks[&ip("10.0.0.3")].watched);
        assert!(d.monitoring);
        assert!(!d.log.iter().any(|e| e.kind == LogKind::Down));
        let s = d.tracks[&ip("10.0.0.1")].samples.back().copied().unwrap();
        assert_eq!(s.rtt_ms, Some(0.5f32));
        assert_eq!((s.sent, s.received), (5, 2));
        assert_eq!(
            d.tracks[&ip("10.0.0.2")].samples.back().unwrap().rtt_ms,
            Some(0.3f32)
        );
        assert!(d.report.complete);
    }

    #[test]
    fn outage_and_recovery_are_logged_with_duration() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = sweep(&mut d, &["10.0.0.1"], t(0));
        d.apply(id, icmp("10.0.0.1", 5, &[500]), t(1));
        d.apply(id, ScanEvent::Finished { interrupted: false }, t(1));

        let r = round(&mut d, 1, t(2));
        d.apply(r, icmp("10.0.0.1", 5, &[]), t(3));
        d.apply(r, ScanEvent::Finished { interrupted: false }, t(3));
        assert!(d.tracks[&ip("10.0.0.1")].is_down());
        let last = d.log.back().unwrap();
        assert_eq!(last.kind, LogKind::Down);
        assert_eq!(last.at, t(3));
        assert_eq!(last.text, "10.0.0.1 went down");

        let r = round(&mut d, 2, t(95));
        d.apply(r, icmp("10.0.0.1", 5, &[700, 900]), t(96));
        let last = d.log.back().unwrap();
        assert_eq!(last.kind, LogKind::Up);
        assert_eq!(last.text, "10.0.0.1 is back up after 1 min 33 s down");
        d.apply(r, ScanEvent::Finished { interrupted: false }, t(96));
        let h = &d.tracks[&ip("10.0.0.1")].history;
        assert_eq!(h.len(), 3);
        assert!(h[0].first && h[0].up);
        assert!(!h[1].up);
        assert_eq!(h[2].outage, Some(Duration::from_secs(93)));
        let loss = d.tracks[&ip("10.0.0.1")].recent_loss().unwrap();
        assert!((loss - 80.0).abs() < 1e-9, "{loss}"); // 12 of 15 echoes lost
    }

    #[test]
    fn interrupted_round_declares_nothing_down() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = sweep(&mut d, &["10.0.0.1"], t(0));
        d.apply(id, icmp("10.0.0.1", 1, &[500]), t(0));
        d.apply(id, ScanEvent::Finished { interrupted: false }, t(0));
        let r = round(&mut d, 1, t(2));
        d.apply(r, ScanEvent::Finished { interrupted: true }, t(3));
        assert!(d.tracks[&ip("10.0.0.1")].is_up());
        assert!(d.jobs.is_empty());
    }

    #[test]
    fn port_scan_silence_does_not_mean_down_but_an_answer_means_up() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = sweep(&mut d, &["10.0.0.1", "10.0.0.9"], t(0));
        d.apply(id, icmp("10.0.0.1", 1, &[500]), t(0));
        d.apply(id, ScanEvent::Finished { interrupted: false }, t(0));
        let p = d.begin(
            JobKind::Ports {
                ip: ip("10.0.0.9"),
                spec: "22".into(),
            },
            &[],
            t(5),
        );
        d.apply(
            p,
            ScanEvent::Ports {
                ip: ip("10.0.0.9"),
                results: vec![PortOutcome {
                    port: 22,
                    state: PortState::Open,
                    rtt: Some(Duration::from_millis(1)),
                }],
            },
            t(6),
        );
        d.apply(p, ScanEvent::Finished { interrupted: false }, t(6));
        assert!(d.tracks[&ip("10.0.0.9")].is_up());
        assert!(
            d.log
                .iter()
                .any(|e| e.text == "port scan of 10.0.0.9 (22) done: 1 open, 0 closed, 0 filtered")
        );
        // Now watched, and TCP-only, so the round plan re-checks its port.
        let plan = d.round_plan(true);
        assert_eq!(plan.icmp, vec![ip("10.0.0.1")]);
        assert_eq!(plan.tcp, vec![(ip("10.0.0.9"), vec![22])]);
    }

    #[test]
    fn notes_are_logged_once() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        for n in 0..3 {
            let r = d.begin(JobKind::Round { number: n }, &[], t(0));
            d.apply(
                r,
                ScanEvent::Note {
                    level: NoteLevel::Warn,
                    text: "ARP skipped: needs CAP_NET_RAW".into(),
                },
                t(0),
            );
        }
        assert_eq!(d.log.len(), 1);
        assert_eq!(d.report.notes.len(), 1);
    }

    #[test]
    fn dns_results_are_indexed_by_address() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = sweep(&mut d, &["10.77.0.20"], t(0));
        let ptr = DnsResult {
            name: "20.0.77.10.in-addr.arpa".into(),
            rtype: RecordType::PTR,
            status: DnsStatus::NoError,
            answers: vec![crate::core::model::DnsAnswer {
                rtype: "PTR".into(),
                value: "web.lab.test.".into(),
                ttl: 60,
            }],
            server: Some("10.77.0.53:53".into()),
            rtt_ms: Some(1.0),
            error: None,
            findings: Vec::new(),
        };
        d.apply(id, ScanEvent::Dns(ptr.clone()), t(1));
        let a = DnsResult {
            name: "www.lab.test".into(),
            rtype: RecordType::A,
            answers: vec![crate::core::model::DnsAnswer {
                rtype: "A".into(),
                value: "10.77.0.20".into(),
                ttl: 60,
            }],
            ..ptr
        };
        d.apply(id, ScanEvent::Dns(a), t(1));
        let names: Vec<&str> = d
            .dns_for(ip("10.77.0.20"))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["20.0.77.10.in-addr.arpa", "www.lab.test"]);
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            ip_from_reverse_name("20.0.77.10.in-addr.arpa."),
            Some(ip("10.77.0.20"))
        );
        assert_eq!(
            ip_from_reverse_name(
                "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.7.d.f.ip6.arpa"
            ),
            Some(ip("fd77::20"))
        );
        assert_eq!(ip_from_reverse_name("1.2.3.in-addr.arpa"), None);
        assert_eq!(ip_from_reverse_name("web.lab.test"), None);
    }

    #[test]
    fn layers_from_observations() {
        use crate::net::sys::netinfo::{Gateway, Interface, LinkState};
        let ctx = LocalContext {
            interfaces: vec![Interface {
                name: "eth0".into(),
                mac: None,
                addrs: vec!["10.0.0.10/24".parse().unwrap()],
                link: LinkState::Up,
                loopback: false,
            }],
            gateways: vec![Gateway {
                ip: ip("10.0.0.1"),
                iface: "eth0".into(),
                metric: 0,
            }],
            ..LocalContext::default()
        };
        let mut d = Dashboard::new(ctx, ScanParameters::default());
        let l = d.layers();
        assert_eq!(
            [l.lan.health, l.gateway.health, l.dns.health, l.wan.health],
            [Health::Unknown; 4]
        );
        let id = sweep(
            &mut d,
            &["10.0.0.1", "10.0.0.2", "10.0.0.3", "172.31.9.7"],
            t(0),
        );
        d.apply(id, icmp("10.0.0.1", 5, &[300; 5]), t(0));
        d.apply(id, icmp("10.0.0.2", 5, &[300; 5]), t(0));
        d.apply(id, icmp("10.0.0.3", 5, &[300; 5]), t(0));
        d.apply(id, ScanEvent::Finished { interrupted: false }, t(1));
        let l = d.layers();
        assert_eq!(l.lan.health, Health::Ok, "{:?}", l.lan);
        assert_eq!(l.lan.detail, "2 of 2 up");
        assert_eq!(l.gateway.health, Health::Ok);
        assert_eq!(l.wan.health, Health::Down, "{:?}", l.wan);
        let r = round(&mut d, 1, t(2));
        d.apply(r, icmp("10.0.0.2", 5, &[300; 5]), t(2));
        d.apply(r, ScanEvent::Finished { interrupted: false }, t(3));
        let l = d.layers();
        assert_eq!(l.lan.health, Health::Degraded);
        assert_eq!(l.gateway.health, Health::Down);
    }

    #[test]
    fn export_reflects_current_liveness() {
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = sweep(&mut d, &["10.0.0.1", "10.0.0.2", "10.0.0.3"], t(0));
        d.apply(id, icmp("10.0.0.1", 1, &[500]), t(0));
        d.apply(id, icmp("10.0.0.2", 1, &[500]), t(0));
        d.apply(id, icmp("10.0.0.3", 1, &[]), t(0));
        d.apply(id, ScanEvent::Finished { interrupted: false }, t(0));
        let r = round(&mut d, 1, t(2));
        d.apply(r, icmp("10.0.0.1", 1, &[500]), t(2));
        d.apply(r, icmp("10.0.0.2", 1, &[]), t(2));
        d.apply(r, ScanEvent::Finished { interrupted: false }, t(3));
        let rep = d.export_report(t(4));
        assert_eq!(rep.hosts[&ip("10.0.0.1")].status, HostStatus::Up);
        // Up in the sweep, silent since: it went down.
        assert_eq!(rep.hosts[&ip("10.0.0.2")].status, HostStatus::Down);
        // Never answered: not "down", there is nothing to say it was ever there.
        assert_eq!(rep.hosts[&ip("10.0.0.3")].status, HostStatus::NoAnswer);
        assert_eq!(rep.summary.hosts_up, 1);
        assert_eq!(
            (rep.summary.hosts_down, rep.summary.hosts_no_answer),
            (1, 1)
        );
        assert!(rep.complete);
        assert_eq!(rep.finished_at.as_deref(), Some("2023-11-14T22:13:24Z"));
    }

    #[test]
    fn recent_loss_is_kept_over_the_window_as_samples_come_and_go() {
        let mut t = HostTrack::new();
        let mut all: Vec<Sample> = Vec::new();
        for i in 0..200u16 {
            let s = Sample {
                rtt_ms: None,
                sent: 5,
                received: (i * 7 % 6).min(5),
            };
            all.push(s);
            t.push_sample(s);
            let w: Vec<&Sample> = all.iter().rev().take(LOSS_WINDOW).collect();
            let sent: u32 = w.iter().map(|s| u32::from(s.sent)).sum();
            let lost: u32 = w.iter().map(|s| u32::from(s.sent - s.received)).sum();
            let want = f64::from(lost) * 100.0 / f64::from(sent);
            assert!((t.recent_loss().unwrap() - want).abs() < 1e-9, "at {i}");
        }
        assert_eq!(t.samples.len(), SAMPLES);
    }
}
