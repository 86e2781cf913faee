//! Outage triage: `netdx diagnose [TARGET...]` finds which layer is broken (the local
//! connection, the gateway, DNS, the WAN path or the target's service) and says it in plain
//! language, with the evidence behind it.
//!
//! ```text
//!  LocalContext::read ─► local ─┬─ (no working interface: stop here) ──────────────┐
//!                               ├─ gateways:  ARP + ping             ─┐            │
//!                               ├─ resolvers: PTR of itself + ping    ├─ at once ─► verdict::assess ─► Diagnosis
//!                               └─ targets:   name via every resolver ─┘            │        (pure)
//!                                             then trace + ports (+ TCP trace)      │
//!                                             on-link: + ARP, discovery probes, pings
//!                                             name: + PTR check (dangling, stale)
//!                                             echoes lost, not proven: 40 more echoes
//! ```
//! [`checks`] measure, [`path`] and [`verdict`] judge (pure, unit-tested), [`render`] writes,
//! [`watch`] keeps the outage timeline across rounds.
//!
//! # API for other front ends (the dashboard)
//! `let d = Diagnoser::new(config, session.clone()); let diagnosis = d.run(&cancel).await;`
//! once per round: every probe runs on the process's [`Session`] (its ICMP clients, DNS
//! clients, ARP channels and connect budget), so a round opens no socket of its own except
//! the traceroute's. Rounds are scheduled by [`crate::engine::monitor`] (the edge does that);
//! a [`watch::Timeline`] fed with each [`Diagnosis`] keeps the outages, and [`Watch`] prints
//! the `--watch` lines.
//!
//! # What is probed
//! Only the machine's own gateways and resolvers (or `--resolver`) and the targets the user
//! named. Nothing else, and nothing at all beyond the local context when no interface works.

pub mod checks;
pub mod model;
pub mod path;
pub mod render;
pub mod verdict;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::core::target;
use crate::net::dns::{self, DnsProbe};
use crate::net::session::Session;
use crate::net::sys::netinfo::LocalContext;
use crate::net::traceroute::TracePlan;

pub use checks::TargetInput;
pub use model::{Cause, Diagnosis, Layer, Status};
use render::DiagFormat;

/// More would not be triage any more: `netdx scan` is for that.
pub const MAX_TARGETS: usize = 16;
pub const MAX_PORTS: usize = 16;

/// Everything a diagnosis needs to know, parsed and checked.
#[derive(Debug, Clone)]
pub struct DiagnoseConfig {
    pub targets: Vec<TargetInput>,
    /// Service ports checked on every target (default 443, 80).
    pub ports: Vec<u16>,
    /// Ask only this server instead of the system's resolvers.
    pub resolver: Option<SocketAddr>,
    /// ICMP window, TCP connect base and traceroute reply wait.
    pub timeout: Duration,
    /// One exchange with one DNS server.
    pub dns_timeout: Duration,
    pub trace: TracePlan,
}

impl Default for DiagnoseConfig {
    fn default() -> Self {
        DiagnoseConfig {
            targets: Vec::new(),
            ports: vec![443, 80],
            resolver: None,
            timeout: Duration::from_millis(1000),
            dns_timeout: Duration::from_millis(2000),
            trace: TracePlan::default(),
        }
    }
}

/// Bad input, reported in one line with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Target(#[from] target::TargetError),
    #[error(
        "'{0}' is a range of addresses: diagnose takes single hosts (an address or a name); use netdx scan for ranges"
    )]
    NotAHost(String),
    #[error(transparent)]
    Ports(#[from] crate::core::ports::PortError),
    #[error(transparent)]
    Resolver(#[from] dns::DnsError),
    #[error("too many {what}: {n} given, at most {max}")]
    TooMany {
        what: &'static str,
        n: usize,
        max: usize,
    },
    #[error("--interval must be between 0.5 and 86400 seconds")]
    Interval,
    #[error(
        "cannot tell the report format of '{0}' from its extension; use .json .md .html or --format"
    )]
    UnknownFormat(String),
}

/// Runs diagnoses on a probe session (shared with whatever else the process runs).
pub struct Diagnoser {
    config: DiagnoseConfig,
    probes: checks::Probes,
    notes: Vec<String>,
}

impl Diagnoser {
    /// What this run cannot check for lack of privilege, known before anything is sent (the
    /// caller says it first, on stderr; every diagnosis also carries it in its notes).
    pub fn privilege_notes(&self) -> &[String] {
        &self.notes
    }

    pub fn new(config: DiagnoseConfig, session: Session) -> Diagnoser {
        let probes = checks::Probes::new(session);
        let raw = probes.raw;
        let mut notes = Vec::new();
        if probes.icmp.is_none() {
            notes.push(format!(
                "ICMP is not available (no raw socket, unprivileged ICMP sockets are off): no \
                 pings; {}",
                crate::net::sys::privilege::GRANT_HINT
            ));
        }
        if !raw {
            notes.push(format!(
                "no CAP_NET_RAW: no ARP check of the gateway and no traceroute; {}",
                crate::net::sys::privilege::GRANT_HINT
            ));
        }
        Diagnoser {
            config,
            probes,
            notes,
        }
    }

    pub fn config(&self) -> &DiagnoseConfig {
        &self.config
    }

    /// One diagnosis of this machine's network as it is now. Cancelled, it returns at once
    /// with what it had (marked `incomplete`: no verdict beyond the local checks).
    pub async fn run(&self, cancel: &CancellationToken) -> Diagnosis {
        let started = time::OffsetDateTime::now_utc();
        let t0 = Instant::now();
        let ctx = LocalContext::read();
        let local = checks::local(&ctx);
        let skipped_rest = verdict::usable_interfaces(&local).is_empty();
        let cfg = &self.config;
        let mut notes = self.notes.clone();

        let servers: Vec<SocketAddr> = match cfg.resolver {
            Some(r) => vec![r],
            None => ctx.resolv.servers(),
        };
        // One client per server, from the session: made once, kept for every later round.
        let mut dns_probes: Vec<(SocketAddr, DnsProbe)> = Vec::with_capacity(servers.len());
        for s in &servers {
            match self.probes.session.dns(Some(*s), cfg.dns_timeout).await {
                Ok(p) => dns_probes.push((*s, p)),
                Err(e) => notes.push(format!("DNS server {s}: {e}")),
            }
        }
        // The search list applies to the system configuration only (as with `netdx scan`).
        let search: Vec<String> = if cfg.resolver.is_some() {
            Vec::new()
        } else {
            ctx.resolv.search.clone()
        };
        let plan = checks::TargetPlan {
            ports: &cfg.ports,
            timeout: cfg.timeout,
            trace: cfg.trace,
            search: &search,
            ndots: ctx.resolv.ndots,
        };

        let work = async {
            if skipped_rest {
                return (Vec::new(), Vec::new(), Vec::new());
            }
            let gateways = join_all(
                ctx.gateways
                    .iter()
                    .map(|g| checks::gateway(g, &self.probes, cfg.timeout, cancel)),
            );
            let resolvers = join_all(dns_probes.iter().map(|(s, p)| {
                checks::resolver(*s, p, &self.probes, cfg.timeout, ctx.is_local(s.ip()))
            }));
            let only_probes: Vec<DnsProbe> = dns_probes.iter().map(|(_, p)| p.clone()).collect();
            let targets = join_all(
                cfg.targets
                    .iter()
                    .map(|t| checks::target(t, &only_probes, &self.probes, &plan, &ctx, cancel)),
            );
            tokio::join!(gateways, resolvers, targets)
        };
        let (gateways, mut resolvers, targets, incomplete) = tokio::select! {
            (g, r, t) = work => (g, r, t, false),
            _ = cancel.cancelled() => (Vec::new(), Vec::new(), Vec::new(), true),
        };
        // Every lookup made for a target also tells how its server behaves.
        for r in &mut resolvers {
            for t in &targets {
                r.queries.extend(
                    t.lookups
                        .iter()
                        .filter(|q| q.server.as_deref() == Some(r.server.as_str()))
                        .cloned(),
                );
            }
            checks::settle_resolver(r);
        }
        if cfg.targets.is_empty() && !skipped_rest {
            notes.push(
                "no target given: the local side, the gateway and the DNS servers were checked; \
                 name a target (e.g. netdx diagnose example.com) to check the path and a service"
                    .to_string(),
            );
        }
        let a = verdict::assess(&verdict::Inputs {
            local: &local,
            gateways: &gateways,
            resolvers: &resolvers,
            targets: &targets,
            targets_given: !cfg.targets.is_empty(),
            ports: &cfg.ports,
            skipped_rest: skipped_rest || incomplete,
        });
        Diagnosis {
            tool: format!("netdx {}", env!("CARGO_PKG_VERSION")),
            started,
            finished: time::OffsetDateTime::now_utc(),
            duration_ms: model::round2(t0.elapsed().as_secs_f64() * 1000.0),
            status: a.status,
            layer: a.layer,
            cause: a.cause,
            verdict: a.verdict,
            findings: a.findings,
            layers: a.layers,
            evidence: a.evidence,
            targets_given: cfg.targets.iter().map(ToString::to_string).collect(),
            ports: cfg.ports.clone(),
            local,
            gateways,
            resolvers,
            targets,
            notes,
            rounds: 1,
            timeline: Vec::new(),
            incomplete,
        }
    }
}

/// One diagnosis on `session`.
pub async fn run(
    config: DiagnoseConfig,
    session: Session,
    cancel: &CancellationToken,
) -> Diagnosis {
    Diagnoser::new(config, session).run(cancel).await
}

/// Where and how `-o` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub path: PathBuf,
    pub format: DiagFormat,
}

/// One `netdx diagnose` run, built at the edge (`cmd::diagnose`).
#[derive(Debug, Clone)]
pub struct DiagnoseJob {
    pub config: DiagnoseConfig,
    /// `Some(interval)`: repeat until Ctrl-C, a round every interval (start to start).
    pub watch: Option<Duration>,
    pub output: Option<Output>,
    /// `--json`: the diagnosis goes to stdout as JSON (the `-o` JSON), nothing else does, so
    /// a script can pipe it; warnings stay on stderr.
    pub json: bool,
}

/// How a job ended; the edge maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// The (last) verdict.
    Verdict(Status),
    /// Interrupted before any verdict.
    Interrupted,
    /// The diagnosis was made but `-o` could not be written.
    WriteFailed,
}

/// `HH:MM:SS` (UTC) of a round's start, for watch mode's lines.
fn clock(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// What `--watch` has seen so far: the timeline, the last round, the last state printed.
#[derive(Debug, Default)]
pub struct Watch {
    timeline: watch::Timeline,
    last: Option<Diagnosis>,
    rounds: u32,
    previous: Option<(Status, Option<Layer>, String)>,
}

impl Watch {
    /// Fold in one finished round; returns its line (the verdict whenever the state changes).
    pub fn observe(&mut self, mut d: Diagnosis) -> String {
        self.rounds += 1;
        let change = self.timeline.observe(&d);
        let state = (d.status, d.layer, d.verdict.clone());
        let mut line = format!(
            "{}  {} {:<8}",
            clock(d.started),
            d.status.symbol(),
            d.status.word()
        );
        if let Some(l) = d.layer {
            line.push_str(&format!(" {}", l.label()));
        }
        match &change {
            Some(watch::Transition::Started(o)) => {
                line.push_str(&format!("  outage starts: {}", o.verdict));
            }
            Some(watch::Transition::Moved { ended, started }) => line.push_str(&format!(
                "  {} outage over after {}; now: {}",
                ended.layer.label(),
                ended
                    .duration_s
                    .map_or_else(|| "-".to_string(), crate::core::units::duration),
                started.verdict
            )),
            Some(watch::Transition::Ended(o)) => line.push_str(&format!(
                "  recovered: the {} outage lasted {}",
                o.layer.label(),
                o.duration_s
                    .map_or_else(|| "-".to_string(), crate::core::units::duration)
            )),
            None if self.previous.as_ref() != Some(&state) => {
                line.push_str(&format!("  {}", d.verdict));
            }
            None => {}
        }
        self.previous = Some(state);
        d.rounds = self.rounds;
        d.timeline = self.timeline.outages().to_vec();
        self.last = Some(d);
        crate::output::escape::text(line.trim_end()).into_owned()
    }

    /// The last round, with the rounds count and the timeline so far.
    pub fn last(&self) -> Option<&Diagnosis> {
        self.last.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::model::round;

    #[test]
    fn watch_lines_say_the_verdict_when_it_changes_and_count_rounds() {
        let mut w = Watch::default();
        let ok = |at| round(at, Status::Ok, None, "all good");
        let l1 = w.observe(ok("2026-01-01T10:00:00Z"));
        assert!(
            l1.starts_with("10:00:00  ") && l1.ends_with("all good"),
            "{l1}"
        );
        let l2 = w.observe(ok("2026-01-01T10:00:05Z"));
        assert!(
            !l2.contains("all good"),
            "unchanged: no verdict again: {l2}"
        );
        let l3 = w.observe(round(
            "2026-01-01T10:00:10Z",
            Status::Down,
            Some(Layer::Gateway),
            "gateway \x1b[31mgone",
        ));
        assert!(l3.contains("outage starts: gateway"), "{l3}");
        assert!(!l3.contains('\x1b'), "escaped for the terminal: {l3:?}");
        let l4 = w.observe(ok("2026-01-01T10:00:20Z"));
        assert!(
            l4.ends_with("recovered: the gateway outage lasted 10.0 s"),
            "{l4}"
        );
        let last = w.last().expect("a last round");
        assert_eq!(last.rounds, 4);
        assert_eq!(last.timeline.len(), 1);
        assert_eq!(last.timeline[0].duration_s, Some(10.0));
    }
}
