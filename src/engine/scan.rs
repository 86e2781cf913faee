//! The scan engine: runs ARP, ICMP, TCP and DNS probes concurrently over a target set and
//! reports what it finds as typed [`ScanEvent`]s on a bounded channel. It knows nothing of
//! terminals; the headless runner and the dashboard consume the same events.
//!
//! ```text
//!  names ──resolve──┐
//!                   ▼
//!  TargetSet ──┬─► ARP (directly connected IPv4) ─┐ host up
//!              ├─► ICMP sweep (one shared socket) ┼───────────► port scan (global connect
//!              │                                  │              window, adaptive timeout)
//!              │                                  ├───────────► PTR lookup
//!              │                                  └───────────► LAN names (mDNS, NetBIOS,
//!              │                                                 SSDP, SNMP; unicast)
//!              └─► --dns queries
//! ```
//! Hosts flow into the port scanner as soon as any method sees them, so ports of the first
//! host are being checked while the sweep is still running.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::core::event::IcmpOutcome;
use crate::core::event::{Phase, PortOutcome, ScanEvent};
use crate::core::model::{DnsResult, DnsStatus, NoteLevel, PortState, RecordType};
use crate::core::ports::PortList;
use crate::core::target::TargetSet;
use crate::engine::discover;
use crate::engine::ports::{self, Transport};
use crate::net::arp::ArpConfig;
use crate::net::dns::DnsProbe;
use crate::net::dns_check;
use crate::net::icmp::{EchoPlan, IcmpProbe, SocketKind};
use crate::net::identify;
use crate::net::names::{self, NameQuery};
use crate::net::ndp::{self, NdpConfig};
use crate::net::session::Session;
use crate::net::sys::privilege;

/// Ports used to tell whether a host is alive when ICMP is not possible (nmap's fallback).
pub const LIVENESS_PORTS: [u16; 2] = [80, 443];

/// Everything a scan needs, decided before it starts. Built by the CLI or the dashboard.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub targets: TargetSet,
    /// Ports to check on every live host; `None` for a discovery-only scan.
    pub ports: Option<PortList>,
    pub dns_queries: Vec<(String, RecordType)>,
    /// ICMP echo for discovery. Off (`--no-ping`) treats every target as worth port-scanning.
    pub ping: bool,
    pub arp: bool,
    /// Reverse (PTR) lookups of every host found up.
    pub reverse_dns: bool,
    pub timeout: Duration,
    pub tries: u32,
    /// TCP connect window; `None` derives it from the file-descriptor limit.
    pub concurrency: Option<usize>,
    pub resolver: Option<SocketAddr>,
    pub dns_timeout: Duration,
    pub arp_wait: Duration,
    /// Ask every open port what it runs (banners, HTTP, TLS): [`crate::net::identify`].
    pub identify: bool,
    /// Ask every live host its names in mDNS, NetBIOS, SSDP/UPnP and SNMP
    /// ([`crate::net::names`]); `None` (`--no-names`) sends nothing to those ports.
    pub names: Option<NameQuery>,
    /// Close the session's ARP channels once discovery is over ([`ArpChannels::close`]): for a
    /// one-shot scan whose process has no other use for them. Never for a session that
    /// sweeps again (the dashboard's rounds, LAN checks): without privileges it cannot
    /// reopen them.
    ///
    /// [`ArpChannels::close`]: crate::net::arp::ArpChannels::close
    pub release_arp: bool,
}

impl ScanConfig {
    pub fn new(targets: TargetSet) -> Self {
        ScanConfig {
            targets,
            ports: None,
            dns_queries: Vec::new(),
            ping: true,
            arp: true,
            reverse_dns: true,
            timeout: Duration::from_millis(1000),
            tries: 5,
            concurrency: None,
            resolver: None,
            dns_timeout: Duration::from_secs(2),
            arp_wait: Duration::from_millis(250),
            identify: true,
            names: Some(NameQuery::default()),
            release_arp: false,
        }
    }
}

/// Hosts pinged at once. One socket carries them all, so this bounds memory and burst size
/// rather than descriptors: a /24 goes out in one burst, a /16 in 16 windows.
const ICMP_WINDOW: usize = 4096;
/// Largest sweep in which, without CAP_NET_RAW, silent addresses are tried with connects to
/// 443 and 80.
const CONNECT_DISCOVERY_MAX: u64 = 4096;
/// Hosts port-scanned at once; their connects share the global connect window.
const HOST_WINDOW: usize = 256;
/// Sweeps up to this size ask names of hosts only assumed alive (`--no-ping`, or no ICMP):
/// there a name answer is what proves a host up, and four datagrams per address stay cheap.
const NAMES_ASSUMED_MAX: u64 = 4096;
/// Reverse lookups in flight.
const PTR_WINDOW: usize = 64;
/// Port results per event.
const PORT_BATCH: usize = 1024;
/// Addresses per `Targets` event.
const TARGET_BATCH: usize = 4096;
/// Longest a port result waits in a batch before it is sent.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Cheap handle for sending events; a closed receiver means nobody listens any more, so the
/// scan stops.
#[derive(Clone)]
struct Emitter {
    tx: mpsc::Sender<ScanEvent>,
    cancel: CancellationToken,
}

impl Emitter {
    async fn send(&self, ev: ScanEvent) {
        if self.tx.send(ev).await.is_err() {
            self.cancel.cancel();
        }
    }

    async fn note(&self, level: NoteLevel, text: impl Into<String>) {
        self.send(ScanEvent::Note {
            level,
            text: text.into(),
        })
        .await;
    }

    async fn progress(&self, phase: Phase, done: u64, total: u64) {
        self.send(ScanEvent::Progress { phase, done, total }).await;
    }
}

/// A host worth following up: seen alive by some method (with the best RTT estimate we have),
/// or assumed alive because discovery was switched off or impossible.
#[derive(Debug, Clone, Copy)]
struct LiveHost {
    ip: IpAddr,
    rtt: Option<Duration>,
    /// False for hosts only assumed alive: they get a PTR lookup only if a port answers.
    seen: bool,
}

/// Run a whole scan on `session`. Returns when it is complete or cancelled; the last event is
/// always `Finished`.
pub async fn run(
    session: Session,
    cfg: ScanConfig,
    tx: mpsc::Sender<ScanEvent>,
    cancel: CancellationToken,
) {
    let emit = Emitter {
        tx,
        cancel: cancel.clone(),
    };
    let interrupted = tokio::select! {
        _ = cancel.cancelled() => true,
        _ = scan(&session, cfg, emit.clone()) => cancel.is_cancelled(),
    };
    // Sent even when the receiver lags: this is the event that says whether to trust it all.
    let _ = emit.tx.send(ScanEvent::Finished { interrupted }).await;
}

/// RFC 6761: `localhost` names are loopback without asking any server. Answering them here
/// means `netdx scan localhost` sends no DNS packet anywhere.
fn localhost_addrs(name: &str) -> Option<Vec<IpAddr>> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    (n == "localhost" || n.ends_with(".localhost")).then(|| {
        vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
    })
}

/// Addresses no DNS server can tell us anything about; asking would only leak a query.
fn skip_reverse(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_unicast_link_local(),
    }
}

async fn scan(session: &Session, mut cfg: ScanConfig, emit: Emitter) {
    // The local default gateway, if the user asked about it: read from the route table (no
    // packet), so that the report can call it a router.
    if let Some(gw) = local_gateways()
        .into_iter()
        .find(|g| cfg.targets.contains(*g))
    {
        emit.send(ScanEvent::Gateway(gw)).await;
    }

    // --- Capabilities: say once what is not possible and how to make it possible.
    let raw = session.raw_capable();
    let icmp = if cfg.ping {
        match session.icmp() {
            Ok(p) => {
                if p.socket_kind_v4() == Some(SocketKind::Unprivileged) {
                    emit.note(NoteLevel::Info, "ICMP uses unprivileged ping sockets")
                        .await;
                }
                Some(p.clone())
            }
            Err(e) => {
                emit.note(
                    NoteLevel::Warn,
                    format!(
                        "{e}; using TCP connects to ports 80,443 to find hosts instead; {}",
                        privilege::GRANT_HINT
                    ),
                )
                .await;
                None
            }
        }
    } else {
        None
    };
    let arp_on = cfg.arp && raw;
    if cfg.arp && !raw {
        emit.note(
            NoteLevel::Warn,
            format!("ARP skipped: needs CAP_NET_RAW; {}", privilege::GRANT_HINT),
        )
        .await;
    }
    let dns = match session.dns(cfg.resolver, cfg.dns_timeout).await {
        Ok(d) => Some(d),
        Err(e) => {
            emit.note(NoteLevel::Warn, format!("DNS unavailable: {e}"))
                .await;
            None
        }
    };

    // --- Names first: they become addresses like any other target. Resolved concurrently,
    // so ten names behind a dead DNS server cost one DNS timeout, not ten.
    let names: Vec<String> = cfg.targets.names().to_vec();
    let total = names.len() as u64;
    let use_hosts_file = cfg.resolver.is_none();
    let mut resolved = stream::iter(names)
        .map(|name| {
            let dns = dns.clone();
            async move {
                if let Some(a) = localhost_addrs(&name) {
                    return (name, a, Vec::new(), false);
                }
                let from_file = if use_hosts_file {
                    crate::net::sys::hosts_file::lookup_system(&name)
                } else {
                    Vec::new()
                };
                if !from_file.is_empty() {
                    return (name, from_file, Vec::new(), true);
                }
                match dns {
                    Some(dns) => {
                        let n = name.clone();
                        let (addrs, results) = session
                            .measured(async move { dns.resolve_host(&n).await })
                            .await
                            .unwrap_or_default();
                        (name, addrs, results, false)
                    }
                    None => (name, Vec::new(), Vec::new(), false),
                }
            }
        })
        .buffer_unordered(PTR_WINDOW);
    let mut done = 0;
    while let Some((name, addrs, results, from_file)) = resolved.next().await {
        for r in results {
            emit.send(ScanEvent::Dns(r)).await;
        }
        if from_file {
            emit.note(
                NoteLevel::Info,
                format!("'{name}' resolved from /etc/hosts"),
            )
            .await;
        }
        if addrs.is_empty() {
            emit.note(
                NoteLevel::Warn,
                format!("target '{name}' did not resolve to any address; skipped"),
            )
            .await;
        }
        for ip in addrs {
            cfg.targets.add_resolved(ip);
            if cfg.targets.contains(ip) {
                emit.send(ScanEvent::Target {
                    ip,
                    name: Some(name.clone()),
                })
                .await;
            }
        }
        done += 1;
        emit.progress(Phase::Resolve, done, total).await;
    }
    drop(resolved);

    // --- IPv6 prefixes too large to sweep: their hosts are found on the link, then probed
    // like any other target.
    for prefix in cfg.targets.links_v6().to_vec() {
        discover_link(session, prefix, &mut cfg.targets, &emit).await;
    }

    let targets = Arc::new(cfg.targets);
    let ports_per_host = cfg.ports.as_ref().map_or(0, |p| p.len());
    emit.send(ScanEvent::Planned {
        hosts: targets.len(),
        ports_per_host,
    })
    .await;
    let mut addresses = targets.iter();
    loop {
        let batch: Vec<IpAddr> = addresses.by_ref().take(TARGET_BATCH).collect();
        if batch.is_empty() {
            break;
        }
        emit.send(ScanEvent::Targets(batch)).await;
    }

    // --no-ping: every target is worth its ports (nmap's -Pn). ICMP wanted but impossible:
    // TCP tells liveness, on the user's ports or on the liveness ports.
    let icmp_missing = cfg.ping && icmp.is_none();
    let scan_everything = !cfg.ping || icmp_missing;
    let ports: Option<Arc<Vec<u16>>> = match (&cfg.ports, icmp_missing) {
        (Some(p), _) => Some(Arc::new(p.as_slice().to_vec())),
        (None, true) => Some(Arc::new(LIVENESS_PORTS.to_vec())),
        (None, false) => None,
    };

    let (live_tx, live_rx) = mpsc::unbounded_channel::<LiveHost>();

    let found = discover::Found::default();
    let discovery = {
        let found = found.clone();
        let emit = emit.clone();
        let live_tx = live_tx.clone();
        let targets = targets.clone();
        let cfg_timeout = cfg.timeout;
        let tries = cfg.tries;
        let arp_wait = cfg.arp_wait;
        let release_arp = cfg.release_arp;
        async move {
            let arp_task = async {
                if arp_on {
                    run_arp(session, &targets, arp_wait, &emit, &live_tx).await;
                }
            };
            let icmp_task = async {
                match &icmp {
                    Some(icmp) => {
                        // One answered echo proves the host up; more would only delay the end
                        // of a scan. The loss figure counts the echoes actually sent.
                        let plan = EchoPlan {
                            timeout: cfg_timeout,
                            tries,
                            until_first_reply: true,
                        };
                        run_icmp(session, icmp, &targets, plan, &emit, &live_tx).await;
                    }
                    None if scan_everything => {
                        for ip in targets.iter() {
                            let _ = live_tx.send(LiveHost {
                                ip,
                                rtt: None,
                                seen: false,
                            });
                        }
                    }
                    None => {}
                }
            };
            let tcp_task = async {
                if icmp.is_some() {
                    let plan = EchoPlan {
                        timeout: cfg_timeout,
                        tries,
                        until_first_reply: true,
                    };
                    run_tcp_discovery(session, &targets, arp_on, plan, &found, &emit, &live_tx)
                        .await;
                }
            };
            tokio::join!(arp_task, icmp_task, tcp_task);
            if release_arp {
                session.arp().close();
            }
        }
    };
    drop(live_tx);

    if let Some(req) = session.lowered_concurrency() {
        let window = session.connect_window();
        emit.note(
            NoteLevel::Warn,
            format!("--concurrency {req} lowered to {window} to stay within the open-file limit (ulimit -n)"),
        )
        .await;
    }
    if ports.is_some() {
        let method = port_scan_label(session, &targets);
        emit.send(ScanEvent::PortScan(method.to_string())).await;
        if let Err(e) = session.raw() {
            emit.note(
                NoteLevel::Info,
                format!(
                    "connect scan (full TCP handshake): {e}; {}",
                    privilege::GRANT_HINT
                ),
            )
            .await;
        }
    }
    let follow_up = follow_up(
        session.clone(),
        found,
        live_rx,
        ports,
        PortJob {
            timeout: cfg.timeout,
            identify: cfg.identify,
        },
        NamesJob {
            reverse: if cfg.reverse_dns { dns.clone() } else { None },
            query: cfg.names.clone().map(Arc::new),
            assumed: targets.len() <= NAMES_ASSUMED_MAX,
        },
        emit.clone(),
    );

    let (timeout, dns_timeout) = (cfg.timeout, cfg.dns_timeout);
    let queries = async {
        let Some(dns) = &dns else { return };
        let total = cfg.dns_queries.len() as u64;
        if total == 0 {
            return;
        }
        let mut done = 0;
        // The sanity checks ask every other configured resolver the same question.
        let mut singles: Vec<(String, DnsProbe)> = Vec::new();
        let servers = dns.servers();
        if servers.len() >= 2 {
            for s in servers {
                if let Ok(p) = session.dns(Some(s), dns_timeout).await {
                    singles.push((s.to_string(), p));
                }
            }
        }
        let singles = &singles;
        let mut results = stream::iter(std::mem::take(&mut cfg.dns_queries))
            .map(|(name, rtype)| {
                let dns = dns.clone();
                async move {
                    let n = name.clone();
                    let d = dns.clone();
                    let mut r = session
                        .measured(async move { d.query(&n, rtype).await })
                        .await
                        .unwrap_or_else(|| {
                            DnsResult::not_sent(&name, rtype, "the probe session stopped")
                        });
                    let others: Vec<DnsProbe> = singles
                        .iter()
                        .filter(|(s, _)| r.server.as_deref() != Some(s.as_str()))
                        .map(|(_, p)| p.clone())
                        .collect();
                    r.findings = dns_check::check(session, &dns, &others, &r, timeout).await;
                    r
                }
            })
            .buffer_unordered(PTR_WINDOW);
        while let Some(r) = results.next().await {
            emit.send(ScanEvent::Dns(r)).await;
            done += 1;
            emit.progress(Phase::Dns, done, total).await;
        }
    };

    tokio::join!(discovery, follow_up, queries);
}

/// Find the hosts of an on-link IPv6 prefix by multicast echo and the neighbour table
/// ([`ndp`]) and add them to `targets`, with their MACs. A prefix that is not (or no longer)
/// on a local link is skipped with a warning: the plan refuses those, so this only happens
/// when an interface went away in between.
async fn discover_link(
    session: &Session,
    prefix: ipnet::Ipv6Net,
    targets: &mut TargetSet,
    emit: &Emitter,
) {
    let Some(link) = ndp::on_link(&session.arp().interfaces(), prefix) else {
        emit.note(
            NoteLevel::Warn,
            format!(
                "{prefix} is not on a local link (no interface has an address in it): its hosts cannot be found by multicast; give explicit ranges"
            ),
        )
        .await;
        return;
    };
    let started = Instant::now();
    let iface = link.iface.clone();
    let found = session
        .measured(async move { ndp::discover(&link, NdpConfig::default()).await })
        .await;
    let found = match found {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            emit.note(
                NoteLevel::Warn,
                format!("IPv6 discovery of {prefix} failed: {e}"),
            )
            .await;
            return;
        }
        None => return,
    };
    let took = started.elapsed().as_millis();
    let count = |via| found.iter().filter(|n| n.via == via).count();
    emit.note(
        NoteLevel::Info,
        format!(
            "{prefix} on {iface}: {} addresses found in {took} ms ({} answered a multicast echo, {} only an unknown-option probe, {} from the neighbour table)",
            found.len(),
            count(ndp::Via::Echo),
            count(ndp::Via::Option),
            count(ndp::Via::Table)
        ),
    )
    .await;
    for n in found {
        let ip = IpAddr::V6(n.ip);
        targets.add_resolved(ip);
        if !targets.contains(ip) {
            continue;
        }
        emit.send(ScanEvent::Target { ip, name: None }).await;
        if let Some(mac) = n.mac {
            emit.send(ScanEvent::Neighbour { ip, mac }).await;
        }
    }
}

async fn run_arp(
    session: &Session,
    targets: &TargetSet,
    wait: Duration,
    emit: &Emitter,
    live: &mpsc::UnboundedSender<LiveHost>,
) {
    let v4: Vec<Ipv4Addr> = targets
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .collect();
    let local: Vec<Ipv4Addr> = session
        .arp()
        .directly_connected(v4)
        .into_iter()
        .flat_map(|(_, _, addrs)| addrs)
        .collect();
    if local.is_empty() {
        return;
    }
    let total = local.len() as u64;
    let (tx, mut rx) = mpsc::channel(256);
    let cfg = ArpConfig {
        wait,
        ..ArpConfig::default()
    };
    let cancel = emit.cancel.child_token();
    // The session's channels: a monitoring round reuses the channel the first sweep opened.
    let channels = session.arp().clone();
    let cancel_arp = cancel.clone();
    let sweep = tokio::spawn(async move { channels.discover(local, cfg, tx, cancel_arp).await });
    let _stop_on_drop = cancel.drop_guard();
    let mut found = 0;
    while let Some(reply) = rx.recv().await {
        found += 1;
        let _ = live.send(LiveHost {
            ip: IpAddr::V4(reply.ip),
            rtt: Some(reply.rtt),
            seen: true,
        });
        emit.send(ScanEvent::Arp(reply)).await;
        emit.progress(Phase::Arp, found, total).await;
    }
    match sweep.await {
        Ok(Ok(_)) => emit.progress(Phase::Arp, total, total).await,
        Ok(Err(e)) => {
            emit.note(NoteLevel::Warn, format!("ARP discovery failed: {e}"))
                .await
        }
        Err(e) => {
            emit.note(NoteLevel::Error, format!("ARP task failed: {e}"))
                .await
        }
    }
}

async fn run_icmp(
    session: &Session,
    icmp: &IcmpProbe,
    targets: &TargetSet,
    plan: EchoPlan,
    emit: &Emitter,
    live: &mpsc::UnboundedSender<LiveHost>,
) {
    let total = targets.len();
    let mut done = 0u64;
    let mut last_progress = Instant::now();
    let mut outcomes = stream::iter(targets.iter().filter(|ip| icmp.supports(*ip)))
        .map(|ip| {
            let (icmp, live) = (icmp.clone(), live.clone());
            // On the measurement thread: an echo's round trip is not stretched by whatever
            // else this runtime is busy with (a port burst, folding events).
            let series = async move {
                icmp.echo_with(ip, plan, move |rtt| {
                    let _ = live.send(LiveHost {
                        ip,
                        rtt: Some(rtt),
                        seen: true,
                    });
                })
                .await
            };
            async move {
                session.measured(series).await.unwrap_or(IcmpOutcome {
                    ip,
                    sent: 0,
                    received: 0,
                    rtts: Vec::new(),
                })
            }
        })
        .buffer_unordered(ICMP_WINDOW);
    while let Some(o) = outcomes.next().await {
        if o.received > 0 {
            session.with_host(o.ip, |e| {
                e.timing.loss.echoes(o.sent, o.received);
                for rtt in &o.rtts {
                    e.timing.rtt.observe(*rtt);
                }
            });
        }
        emit.send(ScanEvent::Icmp(o)).await;
        done += 1;
        if last_progress.elapsed() > Duration::from_millis(50) {
            last_progress = Instant::now();
            emit.progress(Phase::Ping, done, total).await;
        }
    }
    emit.progress(Phase::Ping, total, total).await;
}

/// Discovery beyond echo and ARP (see [`discover`]): raw TCP and timestamp probes with
/// CAP_NET_RAW, else connects to 443 and 80. Targets ARP covers are left to ARP: on the local
/// segment an ARP silence is conclusive.
async fn run_tcp_discovery(
    session: &Session,
    targets: &TargetSet,
    arp_on: bool,
    plan: EchoPlan,
    found: &discover::Found,
    emit: &Emitter,
    live: &mpsc::UnboundedSender<LiveHost>,
) {
    let on_link: HashSet<Ipv4Addr> = if arp_on {
        let v4 = targets.iter().filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        });
        session
            .arp()
            .directly_connected(v4)
            .into_iter()
            .flat_map(|(_, _, addrs)| addrs)
            .collect()
    } else {
        HashSet::new()
    };
    let raw = session.raw().ok();
    // Without privilege each silent address costs two connects held for a whole timeout
    // within the descriptor budget: fine for a /20, minutes for a /16. Past that size the
    // sweep relies on echo alone and says so.
    if raw.is_none() && targets.len() > CONNECT_DISCOVERY_MAX {
        emit.note(
            NoteLevel::Info,
            format!(
                "hosts that drop pings are not looked for with TCP connects in a sweep of more than {CONNECT_DISCOVERY_MAX} addresses without CAP_NET_RAW; {}",
                privilege::GRANT_HINT
            ),
        )
        .await;
        return;
    }
    let candidates = targets.iter().filter(|ip| match ip {
        IpAddr::V4(v4) => !on_link.contains(v4),
        IpAddr::V6(_) => raw.is_none_or(|r| r.has_ipv6()),
    });
    let mut answers = stream::iter(candidates)
        .map(|ip| async move {
            let proof = match raw {
                Some(raw) => discover::raw_alive(raw, ip, plan, found).await,
                None => discover::connect_alive(session, ip, plan.timeout, found).await,
            };
            (ip, proof)
        })
        .buffer_unordered(ICMP_WINDOW);
    while let Some((ip, proof)) = answers.next().await {
        let Some((proof, rtt)) = proof else { continue };
        let _ = live.send(LiveHost {
            ip,
            rtt: Some(rtt),
            seen: true,
        });
        emit.send(ScanEvent::Alive { ip, proof, rtt }).await;
    }
}

/// Everything that happens to a host once it is known to be alive: its ports, its PTR name
/// and its names in the LAN protocols.
async fn follow_up(
    session: Session,
    found: discover::Found,
    mut live_rx: mpsc::UnboundedReceiver<LiveHost>,
    ports: Option<Arc<Vec<u16>>>,
    job: PortJob,
    names_job: NamesJob,
    emit: Emitter,
) {
    let hosts = Arc::new(Semaphore::new(HOST_WINDOW));
    let ptrs = Arc::new(Semaphore::new(PTR_WINDOW));
    let mut seen = HashSet::new();
    let mut tasks = JoinSet::new();
    let progress = Arc::new(PortProgress::default());

    while let Some(host) = live_rx.recv().await {
        if !seen.insert(host.ip) {
            continue;
        }
        if host.seen {
            found.insert(host.ip);
        }
        // The first reply's round trip times the first port probes; the echo series and the
        // ports themselves refine it.
        if let Some(rtt) = host.rtt
            && session.estimate(host.ip).timing.rtt.samples() == 0
        {
            session.observe_rtt(host.ip, rtt);
        }
        let dns = names_job.reverse.clone().filter(|_| !skip_reverse(host.ip));
        let scan = ports.clone().inspect(|ports| {
            progress
                .total
                .fetch_add(ports.len() as u64, Ordering::Relaxed);
        });
        let query = names_job
            .query
            .clone()
            .filter(|_| host.seen || names_job.assumed);
        if dns.is_none() && scan.is_none() && query.is_none() {
            continue;
        }
        // Bounds the hosts followed up at once (and so the tasks alive) whatever the target
        // count; waiting here leaves the rest queued as plain addresses in the channel.
        let Ok(host_permit) = hosts.clone().acquire_owned().await else {
            break;
        };
        let (emit, ptrs, session, progress) = (
            emit.clone(),
            ptrs.clone(),
            session.clone(),
            progress.clone(),
        );
        tasks.spawn(async move {
            let _host_permit = host_permit;
            let reverse = async {
                if let Some(dns) = dns {
                    let Ok(_permit) = ptrs.acquire().await else {
                        return;
                    };
                    let ip = host.ip;
                    let Some((name, result)) =
                        session.measured(async move { dns.reverse(ip).await }).await
                    else {
                        return;
                    };
                    if result.status != DnsStatus::NxDomain || name.is_some() {
                        emit.send(ScanEvent::Dns(result)).await;
                    }
                    emit.send(ScanEvent::Hostname { ip: host.ip, name }).await;
                }
            };
            // Names are asked while ports are checked; an answer proves the host up.
            let lan_names = async {
                let Some(query) = query else { return false };
                let found = tokio::select! {
                    found = names::probe_host(&session, host.ip, &query) => found,
                    _ = emit.cancel.cancelled() => return false,
                };
                if found.is_empty() {
                    return false;
                }
                emit.send(ScanEvent::Names {
                    ip: host.ip,
                    names: Box::new(found),
                })
                .await;
                true
            };
            let ports = async {
                match scan {
                    Some(ports) => scan_host(&session, host, &ports, job, &emit, &progress).await,
                    None => false,
                }
            };
            if host.seen {
                // A host seen alive is named while its ports are checked.
                tokio::join!(ports, lan_names, reverse);
            } else {
                // An assumed host is named only if a port or a name protocol answered.
                let (ports_answered, named) = tokio::join!(ports, lan_names);
                if ports_answered || named {
                    reverse.await;
                }
            }
        });
        // Reap finished tasks as we go so the set does not grow with the target count.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// How each host's ports are checked.
#[derive(Debug, Clone, Copy)]
struct PortJob {
    /// The user's timeout (a ceiling for the port scheduler).
    timeout: Duration,
    identify: bool,
}

/// This machine's default gateways (IPv4 then IPv6), from the kernel's route tables.
fn local_gateways() -> Vec<IpAddr> {
    use crate::net::sys::netinfo;
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let v4 = netinfo::parse_route_v4(&read("/proc/net/route"));
    let v6 = netinfo::parse_route_v6(&read("/proc/net/ipv6_route"));
    netinfo::default_gateways(&v4, &v6)
        .into_iter()
        .map(|g| g.ip)
        .collect()
}

/// How each live host is named.
#[derive(Clone)]
struct NamesJob {
    /// Reverse (PTR) lookups; `None`: `--no-rdns`.
    reverse: Option<DnsProbe>,
    /// `None`: `--no-names`.
    query: Option<Arc<NameQuery>>,
    /// Also ask hosts only assumed alive (small sweeps, see [`NAMES_ASSUMED_MAX`]).
    assumed: bool,
}

/// Port counters shared by every host scan, for one progress bar over all of them.
#[derive(Default)]
struct PortProgress {
    done: AtomicU64,
    total: AtomicU64,
}

/// SYN scan where the session has a raw prober for the address family, else connect().
fn transport_for(session: &Session, ip: IpAddr) -> Transport {
    match session.raw() {
        Ok(raw) if ip.is_ipv4() || raw.has_ipv6() => Transport::syn(ip, raw),
        _ => Transport::connect(ip),
    }
}

/// How ports will be checked, for the report: the same rule as [`transport_for`].
fn port_scan_label(session: &Session, targets: &TargetSet) -> &'static str {
    let v6 = targets.iter().any(|ip| ip.is_ipv6());
    match session.raw() {
        Ok(raw) if !v6 || raw.has_ipv6() => "SYN scan",
        Ok(_) => "SYN scan (IPv4), connect scan (IPv6)",
        Err(_) => "connect scan",
    }
}

/// Port results of one host on their way to events: at most one event per host per
/// [`FLUSH_INTERVAL`] or [`PORT_BATCH`] results.
struct Batcher<'a> {
    ip: IpAddr,
    batch: Vec<PortOutcome>,
    last_flush: Instant,
    emit: &'a Emitter,
    progress: &'a PortProgress,
    /// Open ports seen, for identification once the scan of the host ends.
    open: Vec<u16>,
}

impl ports::PortSink for Batcher<'_> {
    async fn push(&mut self, r: PortOutcome) {
        if r.state == PortState::Open {
            self.open.push(r.port);
        }
        self.batch.push(r);
        if self.batch.len() >= PORT_BATCH || self.last_flush.elapsed() > FLUSH_INTERVAL {
            flush_ports(self.ip, &mut self.batch, self.emit, self.progress).await;
            self.last_flush = Instant::now();
        }
    }
}

/// Check `ports` on one host (retransmitting as [`ports::scan`] does). Returns whether any
/// port answered (open, closed or ICMP unreachable), which proves the host up.
async fn scan_host(
    session: &Session,
    host: LiveHost,
    ports: &[u16],
    job: PortJob,
    emit: &Emitter,
    progress: &PortProgress,
) -> bool {
    let mut sink = Batcher {
        ip: host.ip,
        batch: Vec::new(),
        last_flush: Instant::now(),
        emit,
        progress,
        open: Vec::new(),
    };
    let stats = ports::scan(
        session,
        host.ip,
        ports.iter().copied(),
        transport_for(session, host.ip),
        job.timeout,
        &emit.cancel,
        &mut sink,
    )
    .await;
    flush_ports(host.ip, &mut sink.batch, emit, progress).await;
    if stats.abandoned > 0 {
        progress.done.fetch_add(stats.abandoned, Ordering::Relaxed);
        emit.note(
            NoteLevel::Warn,
            format!(
                "{} stopped answering during its port scan (nothing for {} s): {} of its {} ports \
                 were not checked and are left out of this report; scan it again when it is back",
                host.ip,
                ports::HOST_GONE.as_secs(),
                stats.abandoned,
                ports.len()
            ),
        )
        .await;
    }
    if job.identify && !sink.open.is_empty() {
        sink.open.sort_unstable();
        sink.open.dedup();
        let found = tokio::select! {
            found = identify::identify_host(session, host.ip, None, &sink.open) => found,
            _ = emit.cancel.cancelled() => Vec::new(),
        };
        for (port, id) in found {
            emit.send(ScanEvent::Service {
                ip: host.ip,
                port,
                id: Box::new(id),
            })
            .await;
        }
    }
    stats.answered > 0
}

async fn flush_ports(
    ip: IpAddr,
    batch: &mut Vec<PortOutcome>,
    emit: &Emitter,
    progress: &PortProgress,
) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    emit.send(ScanEvent::Ports {
        ip,
        results: std::mem::take(batch),
    })
    .await;
    let done = progress.done.fetch_add(n, Ordering::Relaxed) + n;
    let total = progress.total.load(Ordering::Relaxed).max(done);
    emit.progress(Phase::Ports, done, total).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_is_answered_locally() {
        assert_eq!(
            localhost_addrs("LocalHost."),
            Some(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST)
            ])
        );
        assert!(localhost_addrs("db.localhost").is_some());
        assert_eq!(localhost_addrs("localhost.lab.test"), None);
    }

    #[test]
    fn no_reverse_queries_for_loopback_or_link_local() {
        assert!(skip_reverse("127.0.0.1".parse().unwrap()));
        assert!(skip_reverse("::1".parse().unwrap()));
        assert!(skip_reverse("169.254.1.1".parse().unwrap()));
        assert!(!skip_reverse("10.77.0.20".parse().unwrap()));
    }
}
