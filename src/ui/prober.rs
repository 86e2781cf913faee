//! Where the dashboard's probes come from. The event loop asks for a [`JobSpec`]; a
//! [`Prober`] runs it and streams [`ScanEvent`]s ending with `Finished`. The real one drives
//! [`crate::engine::scan`] (and the DNS probe for single lookups); tests and the idle benchmark use a
//! scripted one, so the loop is exercised without a network. Widgets never start probes.
//!
//! The Diagnose view's rounds come from here too ([`Prober::diagnose`]): whole
//! [`Diagnosis`] values, one per round, rather than engine events.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::event::ScanEvent;
use crate::core::model::{NoteLevel, RecordType};
use crate::core::ports::{self, PortList};
use crate::core::target::TargetSet;
use crate::diagnose::{DiagnoseConfig, Diagnosis};
use crate::engine::scan as engine;
use crate::net::session::Session;

use super::diagnose_view::DiagnoseTarget;
use super::health::{HeaderCheck, WanTarget};
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
    /// A host of the table to check as well (`t` in the view).
    pub target: Option<DiagnoseTarget>,
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

    /// Check the header's layers once (gateway, resolvers, WAN target) in the background;
    /// the result goes to `tx`. Refused when this prober cannot (the default: a scripted
    /// prober never touches the network, and the header then shows only what rounds saw).
    fn header(
        &self,
        tx: mpsc::Sender<HeaderCheck>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let _ = (tx, cancel);
        Err("header checks are not available here".to_string())
    }

    /// Run the LAN safety checks once (DHCP servers, duplicate IPs, gateway claims, IPv6
    /// routers, switch port) on the default route's interface; the report goes to `tx`.
    /// Refused with a one-line reason when this prober cannot (the default).
    fn lan(
        &self,
        tx: mpsc::Sender<crate::core::lan::LanReport>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let _ = (tx, cancel);
        Err("LAN checks are not available here".to_string())
    }
}

/// The scan options every dashboard job inherits, typed once at the edge (command line over
/// config file over defaults): ports, timeouts, resolver, which probes. A job adds its
/// targets and turns off what it does not need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanTemplate {
    /// Exclusions applied to the targets the user types (checked at the edge).
    pub exclude: Vec<String>,
    pub allow_large: bool,
    /// Ports to check on every live host found by a scan; `None` for discovery only.
    pub ports: Option<PortList>,
    /// The `--dns` lookups, made by the first scan only.
    pub dns_queries: Vec<(String, RecordType)>,
    pub ping: bool,
    pub arp: bool,
    pub reverse_dns: bool,
    pub timeout: Duration,
    pub tries: u32,
    /// TCP connect window; `None` derives it from the file-descriptor limit.
    pub concurrency: Option<usize>,
    pub resolver: Option<SocketAddr>,
    pub dns_timeout: Duration,
    /// LAN name queries of the sweep's live hosts (`--no-names`: `None`); rounds skip them.
    pub names: Option<crate::net::names::NameQuery>,
}

impl Default for ScanTemplate {
    /// The built-in defaults, as `netdx scan` has them.
    fn default() -> Self {
        let c = engine::ScanConfig::new(TargetSet::default());
        ScanTemplate {
            exclude: Vec::new(),
            allow_large: false,
            ports: c.ports,
            dns_queries: c.dns_queries,
            ping: c.ping,
            arp: c.arp,
            reverse_dns: c.reverse_dns,
            timeout: c.timeout,
            tries: c.tries,
            concurrency: c.concurrency,
            resolver: c.resolver,
            dns_timeout: c.dns_timeout,
            names: c.names,
        }
    }
}

impl ScanTemplate {
    /// A full scan of `targets` as the user would run it, without the `--dns` lookups.
    fn scan(&self, targets: TargetSet) -> engine::ScanConfig {
        let mut cfg = engine::ScanConfig::new(targets);
        cfg.ports = self.ports.clone();
        cfg.ping = self.ping;
        cfg.arp = self.arp;
        cfg.reverse_dns = self.reverse_dns;
        cfg.timeout = self.timeout;
        cfg.tries = self.tries;
        cfg.concurrency = self.concurrency;
        cfg.resolver = self.resolver;
        cfg.dns_timeout = self.dns_timeout;
        cfg.names = self.names.clone();
        cfg
    }

    /// ICMP only, for a monitoring round's liveness checks: no ports, no names.
    fn icmp(&self, targets: TargetSet) -> engine::ScanConfig {
        let mut cfg = self.scan(targets);
        cfg.ports = None;
        cfg.reverse_dns = false;
        cfg.names = None;
        cfg
    }

    /// TCP connects only, to hosts the user or a round pointed at: no discovery first.
    fn tcp(&self, ip: IpAddr, ports: PortList) -> engine::ScanConfig {
        let mut cfg = self.scan(TargetSet::from_addrs([ip]));
        cfg.ports = Some(ports);
        cfg.ping = false;
        cfg.arp = false;
        cfg.reverse_dns = false;
        cfg.names = None;
        cfg
    }
}

/// The real prober: the scan engine, configured from the typed [`ScanTemplate`].
pub struct EngineProber {
    pub template: ScanTemplate,
    /// `wan_target` from the config file: where the header's WAN check goes (else the
    /// first public resolver of resolv.conf).
    pub wan_target: Option<WanTarget>,
    /// The process's probe session: every job runs on it, so sockets, DNS clients and what
    /// was learnt of each host carry over from round to round.
    pub session: Session,
}

/// What the dashboard's Diagnose view checks: this machine, its gateways and its resolvers
/// (as `netdx diagnose` with no argument), and the host the user targeted with `t`, with the
/// dashboard's `--resolver`, `--timeout` and `--dns-timeout`. A targeted host's service ports
/// are the open ports the scans found on it, not diagnose's 443 and 80: most hosts of a LAN
/// serve neither, and the target check would call that an outage.
pub fn diagnose_config(template: &ScanTemplate, target: Option<&DiagnoseTarget>) -> DiagnoseConfig {
    let defaults = DiagnoseConfig::default();
    DiagnoseConfig {
        targets: target
            .map(|t| crate::diagnose::TargetInput::Addr(t.ip))
            .into_iter()
            .collect(),
        ports: target.map_or(defaults.ports.clone(), |t| t.ports.clone()),
        resolver: template.resolver,
        timeout: template.timeout,
        dns_timeout: template.dns_timeout,
        trace: crate::net::traceroute::TracePlan {
            timeout: template.timeout,
            ..defaults.trace
        },
    }
}

impl Prober for EngineProber {
    fn start(
        &self,
        job: JobSpec,
        tx: mpsc::Sender<ScanEvent>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let t = &self.template;
        match job {
            JobSpec::Scan {
                targets,
                dns_queries,
            } => {
                // The targets are what the user just typed: parsed here, with the exclusions.
                let set = TargetSet::parse(&targets, &t.exclude, t.allow_large)
                    .map_err(|e| e.to_string())?;
                let mut cfg = t.scan(set);
                if dns_queries {
                    cfg.dns_queries = t.dns_queries.clone();
                }
                tokio::spawn(engine::run(self.session.clone(), cfg, tx, cancel));
            }
            JobSpec::Round(plan) => {
                let mut configs = Vec::new();
                if !plan.icmp.is_empty() {
                    configs.push(t.icmp(TargetSet::from_addrs(plan.icmp.iter().copied())));
                }
                for (ip, round_ports) in &plan.tcp {
                    let list = PortList::from_ports(round_ports.iter().copied())
                        .ok_or_else(|| format!("no valid port to check on {ip}"))?;
                    configs.push(t.tcp(*ip, list));
                }
                tokio::spawn(run_merged(self.session.clone(), configs, tx, cancel));
            }
            JobSpec::Ports { ip, spec } => {
                // A port spec the user just typed: parsed now.
                let list = ports::parse_ports(&spec).map_err(|e| e.to_string())?;
                tokio::spawn(engine::run(
                    self.session.clone(),
                    t.tcp(ip, list),
                    tx,
                    cancel,
                ));
            }
            JobSpec::Resolve { name, rtype } => {
                let (resolver, timeout) = (t.resolver, t.dns_timeout);
                let session = self.session.clone();
                tokio::spawn(async move {
                    let interrupted = match session.dns(resolver, timeout).await {
                        Ok(dns) => tokio::select! {
                            Some(r) = session.measured(async move { dns.query(&name, rtype).await }) => {
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
        let config = diagnose_config(&self.template, spec.target.as_ref());
        super::diagnose_view::spawn_rounds(config, self.session.clone(), spec.interval, tx, cancel);
        Ok(())
    }

    fn header(
        &self,
        tx: mpsc::Sender<HeaderCheck>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let fut = super::health_probe::run(
            self.session.clone(),
            self.template.clone(),
            self.wan_target,
            cancel.clone(),
        );
        tokio::spawn(async move {
            tokio::select! {
                check = fut => {
                    let _ = tx.send(check).await;
                }
                _ = cancel.cancelled() => {}
            }
        });
        Ok(())
    }

    fn lan(
        &self,
        tx: mpsc::Sender<crate::core::lan::LanReport>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        use crate::engine::lan;
        let cfg = lan::LanConfig::default();
        let iface = lan::resolve_iface(&self.session, &cfg).map_err(|e| e.to_string())?;
        let session = self.session.clone();
        tokio::spawn(async move {
            let report = lan::run(&session, &iface, &cfg, &cancel).await;
            if !cancel.is_cancelled() {
                let _ = tx.send(report).await;
            }
        });
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

    #[test]
    fn diagnosis_checks_no_target_with_the_dashboards_dns_and_timeouts() {
        let template = ScanTemplate {
            ports: Some(ports::parse_ports("top100").unwrap()),
            resolver: Some("10.0.0.53:53".parse().unwrap()),
            timeout: Duration::from_millis(300),
            dns_timeout: Duration::from_millis(700),
            ..ScanTemplate::default()
        };
        let cfg = diagnose_config(&template, None);
        assert!(
            cfg.targets.is_empty(),
            "the scan's targets are not diagnosed"
        );
        assert_eq!(cfg.resolver, Some("10.0.0.53:53".parse().unwrap()));
        assert_eq!(cfg.timeout, Duration::from_millis(300));
        assert_eq!(cfg.trace.timeout, Duration::from_millis(300));
        assert_eq!(cfg.dns_timeout, Duration::from_millis(700));
        assert_eq!(cfg.ports, DiagnoseConfig::default().ports);

        let cfg = diagnose_config(&ScanTemplate::default(), None);
        assert_eq!(cfg.resolver, None, "the system's resolvers");
        assert_eq!(cfg.timeout, Duration::from_millis(1000));

        // The selected host, with the open ports the scans found on it.
        let target = DiagnoseTarget {
            ip: "10.0.0.20".parse().unwrap(),
            ports: vec![22, 8080],
        };
        let cfg = diagnose_config(&template, Some(&target));
        assert_eq!(cfg.targets, [crate::diagnose::TargetInput::Addr(target.ip)]);
        assert_eq!(cfg.ports, [22, 8080]);
    }

    #[test]
    fn round_jobs_derive_from_the_template_without_reparsing() {
        let template = ScanTemplate {
            exclude: vec!["10.0.0.9".into()],
            ports: Some(ports::parse_ports("22,80").unwrap()),
            dns_queries: vec![("corp".into(), RecordType::MX)],
            timeout: Duration::from_millis(250),
            tries: 3,
            concurrency: Some(64),
            ..ScanTemplate::default()
        };
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let icmp = template.icmp(TargetSet::from_addrs([a, b]));
        assert_eq!(icmp.targets.iter().collect::<Vec<_>>(), [a, b]);
        assert_eq!(icmp.ports, None);
        assert!(icmp.ping && icmp.arp && !icmp.reverse_dns);
        assert!(icmp.dns_queries.is_empty());
        assert_eq!((icmp.timeout, icmp.tries), (Duration::from_millis(250), 3));

        let tcp = template.tcp(a, PortList::from_ports([443]).unwrap());
        assert_eq!(tcp.targets.iter().collect::<Vec<_>>(), [a]);
        assert_eq!(tcp.ports.as_ref().map(PortList::as_slice), Some(&[443][..]));
        assert!(!tcp.ping && !tcp.arp && !tcp.reverse_dns);
        assert_eq!(tcp.concurrency, Some(64));

        let scan = template
            .scan(TargetSet::parse(&["10.0.0.8/29".into()], &template.exclude, false).unwrap());
        assert!(!scan.targets.contains("10.0.0.9".parse().unwrap()));
        assert_eq!(scan.ports, template.ports);
        assert!(scan.reverse_dns);
    }
}
