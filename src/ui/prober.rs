//! Where the dashboard's probes come from. The event loop asks for a [`JobSpec`]; a
//! [`Prober`] runs it and streams [`ScanEvent`]s ending with `Finished`. The real one drives
//! [`crate::engine::scan`] (and the DNS probe for single lookups); tests and the idle benchmark use a
//! scripted one, so the loop is exercised without a network. Widgets never start probes.
//!
//! The Diagnose view's rounds come from here too ([`Prober::diagnose`]): whole
//! [`Diagnosis`] values, one per round, rather than engine events.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::ScanArgs;
use crate::cmd::plan;
use crate::core::event::ScanEvent;
use crate::core::model::{NoteLevel, RecordType};
use crate::diagnose::{DiagnoseConfig, Diagnosis};
use crate::engine::scan as engine;
use crate::net::dns::DnsProbe;
use crate::net::session::Session;

use super::state::RoundPlan;

/// One unit of probing the loop can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSpec {
    /// Discovery on these target specs, then the user's ports; with `dns_queries`, also the
    /// `--dns` lookups given on the command line.
    Scan {
        targets: Vec<String>,
        dns_queries: bool,
    },
    /// A monitoring round.
    Round(RoundPlan),
    /// A port scan of one host (no discovery first: the user pointed at it).
    Ports { ip: IpAddr, spec: String },
    /// One DNS lookup.
    Resolve { name: String, rtype: RecordType },
}

/// Diagnosis rounds for the Diagnose view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnoseSpec {
    /// From the start of one round to the start of the next (a slow round is followed at
    /// once by the next).
    pub interval: Duration,
}

/// The shortest time between two diagnosis rounds (the event loop raises a shorter
/// `--interval` to it and says so), as for `netdx diagnose --watch`: a round pings the gateway
/// and every resolver, which a 0.1 s dashboard interval would turn into a flood.
pub const DIAGNOSE_MIN_INTERVAL: Duration = Duration::from_millis(500);

pub trait Prober: Send + Sync + 'static {
    /// Start `job`. Its events go to `tx`, the last one `Finished`; `cancel` stops it. A job
    /// that cannot be configured is refused at once with a one-line reason.
    fn start(
        &self,
        job: JobSpec,
        tx: mpsc::Sender<ScanEvent>,
        cancel: CancellationToken,
    ) -> Result<(), String>;

    /// Start diagnosis rounds in the background: each finished round's [`Diagnosis`] goes to
    /// `tx`, until `cancel` or until `tx` is closed. Refused with a one-line reason when this
    /// prober cannot diagnose (the default, so a scripted prober never touches the network).
    fn diagnose(
        &self,
        spec: DiagnoseSpec,
        tx: mpsc::Sender<Diagnosis>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let _ = (spec, tx, cancel);
        Err("diagnosis is not available here".to_string())
    }
}

/// The real prober: the scan engine, configured from the command line's scan options.
pub struct EngineProber {
    /// The options every job inherits (ports, timeouts, resolver...), without targets.
    pub base: ScanArgs,
    /// The process's probe session: every job runs on it.
    pub session: Session,
}

impl EngineProber {
    fn args(&self, targets: Vec<String>) -> ScanArgs {
        let mut a = self.base.clone();
        a.targets = targets;
        a.targets_file = None;
        a.output = None;
        a.log = false;
        a
    }

    fn config(&self, args: &ScanArgs) -> Result<engine::ScanConfig, String> {
        plan::scan_config(args)
            .map(|(cfg, _)| cfg)
            .map_err(|e| e.to_string())
    }
}

/// What the dashboard's Diagnose view checks: no target (this machine, its gateways and its
/// resolvers, as `netdx diagnose` with no argument), with the dashboard's `--resolver`,
/// `--timeout` and `--dns-timeout`. The selected host is deliberately not a target: most hosts
/// of a LAN serve neither 443 nor 80, and the target check would call that an outage.
pub fn diagnose_config(base: &ScanArgs) -> Result<DiagnoseConfig, String> {
    let resolver = base
        .resolver
        .as_deref()
        .map(crate::net::dns::parse_resolver)
        .transpose()
        .map_err(|e| e.to_string())?;
    let timeout = Duration::from_millis(base.timeout);
    let defaults = DiagnoseConfig::default();
    Ok(DiagnoseConfig {
        targets: Vec::new(),
        resolver,
        timeout,
        dns_timeout: Duration::from_millis(base.dns_timeout),
        trace: crate::net::traceroute::TracePlan {
            timeout,
            ..defaults.trace
        },
        ..defaults
    })
}

impl Prober for EngineProber {
    fn start(
        &self,
        job: JobSpec,
        tx: mpsc::Sender<ScanEvent>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        match job {
            JobSpec::Scan {
                targets,
                dns_queries,
            } => {
                let mut args = self.args(targets);
                if !dns_queries {
                    args.dns.clear();
                }
                let cfg = self.config(&args)?;
                tokio::spawn(engine::run(self.session.clone(), cfg, tx, cancel));
            }
            JobSpec::Round(plan) => {
                let mut configs = Vec::new();
                if !plan.icmp.is_empty() {
                    let mut args = self.args(plan.icmp.iter().map(ToString::to_string).collect());
                    args.ports = None;
                    args.dns.clear();
                    args.no_rdns = true;
                    args.allow_large = true;
                    configs.push(self.config(&args)?);
                }
                for (ip, ports) in &plan.tcp {
                    let mut args = self.args(vec![ip.to_string()]);
                    args.ports = Some(
                        ports
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    args.dns.clear();
                    args.no_ping = true;
                    args.no_arp = true;
                    args.no_rdns = true;
                    configs.push(self.config(&args)?);
                }
                tokio::spawn(run_merged(self.session.clone(), configs, tx, cancel));
            }
            JobSpec::Ports { ip, spec } => {
                let mut args = self.args(vec![ip.to_string()]);
                args.ports = Some(spec);
                args.dns.clear();
                args.no_ping = true;
                args.no_arp = true;
                args.no_rdns = true;
                let cfg = self.config(&args)?;
                tokio::spawn(engine::run(self.session.clone(), cfg, tx, cancel));
            }
            JobSpec::Resolve { name, rtype } => {
                let resolver = self
                    .base
                    .resolver
                    .as_deref()
                    .map(crate::net::dns::parse_resolver)
                    .transpose()
                    .map_err(|e| e.to_string())?;
                let timeout = Duration::from_millis(self.base.dns_timeout);
                tokio::spawn(async move {
                    let interrupted = match DnsProbe::new(resolver, timeout) {
                        Ok(dns) => tokio::select! {
                            r = dns.query(&name, rtype) => {
                                let _ = tx.send(ScanEvent::Dns(r)).await;
                                false
                            }
                            _ = cancel.cancelled() => true,
                        },
                        Err(e) => {
                            let _ = tx
                                .send(ScanEvent::Note {
                                    level: NoteLevel::Warn,
                                    text: format!("DNS unavailable: {e}"),
                                })
                                .await;
                            false
                        }
                    };
                    let _ = tx.send(ScanEvent::Finished { interrupted }).await;
                });
            }
        }
        Ok(())
    }

    fn diagnose(
        &self,
        spec: DiagnoseSpec,
        tx: mpsc::Sender<Diagnosis>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let config = diagnose_config(&self.base)?;
        super::diagnose_view::spawn_rounds(config, spec.interval, tx, cancel);
        Ok(())
    }
}

/// Run several engine scans as one job: their events interleave on `tx` and one `Finished`
/// ends the whole (interrupted if any part was).
async fn run_merged(
    session: Session,
    configs: Vec<engine::ScanConfig>,
    tx: mpsc::Sender<ScanEvent>,
    cancel: CancellationToken,
) {
    let (part_tx, mut part_rx) = mpsc::channel(1024);
    let mut parts = tokio::task::JoinSet::new();
    for cfg in configs {
        parts.spawn(engine::run(
            session.clone(),
            cfg,
            part_tx.clone(),
            cancel.clone(),
        ));
    }
    drop(part_tx);
    let mut interrupted = false;
    while let Some(ev) = part_rx.recv().await {
        match ev {
            ScanEvent::Finished { interrupted: i } => interrupted |= i,
            other => {
                if tx.send(other).await.is_err() {
                    cancel.cancel();
                }
            }
        }
    }
    while parts.join_next().await.is_some() {}
    let _ = tx.send(ScanEvent::Finished { interrupted }).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        scan: ScanArgs,
    }

    fn base(args: &[&str]) -> ScanArgs {
        Cmd::parse_from(std::iter::once("netdx").chain(args.iter().copied())).scan
    }

    #[test]
    fn diagnosis_checks_no_target_with_the_dashboards_dns_and_timeouts() {
        let cfg = diagnose_config(&base(&[
            "10.0.0.0/24",
            "-p",
            "top100",
            "--resolver",
            "10.0.0.53",
            "--timeout",
            "300",
            "--dns-timeout",
            "700",
        ]))
        .unwrap();
        assert!(
            cfg.targets.is_empty(),
            "the scan's targets are not diagnosed"
        );
        assert_eq!(cfg.resolver, Some("10.0.0.53:53".parse().unwrap()));
        assert_eq!(cfg.timeout, Duration::from_millis(300));
        assert_eq!(cfg.trace.timeout, Duration::from_millis(300));
        assert_eq!(cfg.dns_timeout, Duration::from_millis(700));
        assert_eq!(cfg.ports, DiagnoseConfig::default().ports);

        let cfg = diagnose_config(&base(&[])).unwrap();
        assert_eq!(cfg.resolver, None, "the system's resolvers");
        assert_eq!(cfg.timeout, Duration::from_millis(1000));
        assert!(diagnose_config(&base(&["--resolver", "not an address"])).is_err());
    }
}
