//! The checks: each measures one thing and returns a report. No judgement happens here (that
//! is [`super::verdict`]); a check never fails, it records what it could not do.

use crate::core::units;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures::future::join_all;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::event::PortOutcome;
use crate::core::model::{DnsResult, DnsStatus, PortState, RecordType};
use crate::core::sanitize::clean;
use crate::net::arp::ArpConfig;
use crate::net::dns::DnsProbe;
use crate::net::icmp::{EchoPlan, IcmpProbe};
use crate::net::session::Session;
use crate::net::sys::netinfo::{Gateway, LocalContext};
use crate::net::tcp;
use crate::net::traceroute::{self, TracePlan, TraceProtocol};

use super::model::{
    ArpReport, DiscoveryReport, GatewayReport, InterfaceReport, LOSS_MIN, LocalReport, Ping,
    PortReport, ResolverReport, ResolverState, RouteReport, TargetReport, responded,
};
use super::{path, verdict};
use crate::core::event::Proof;
use crate::net::discover;
use crate::net::dns_check;

/// Echo requests to the gateway: enough for a loss figure, spread over half the timeout.
const GATEWAY_PINGS: u32 = 5;
/// Echo requests to a resolver: reachability only.
const RESOLVER_PINGS: u32 = 3;
/// Echo requests to a target when no trace can run.
const TARGET_PINGS: u32 = 5;
/// Echo requests to an on-link target (beside its one-hop trace): with the trace's probes
/// of the destination, enough to prove loss of a few per cent.
const ON_LINK_PINGS: u32 = 20;
/// A longer series when some echo was lost but the loss is not proven yet.
const CONFIRM_PINGS: u32 = 40;
/// TCP connects per port, this far apart: a SYN lost on a lossy path does not make an open
/// port look filtered, and a refused or accepted connect ends the check at once.
const TCP_ATTEMPTS: u32 = 3;
const TCP_STAGGER: Duration = Duration::from_millis(150);

/// What every check of a run uses (and of every round in watch mode): the process's probe
/// session, with its ICMP clients (one per family, as surge-ping intends), DNS clients, ARP
/// channels and budget of connects in flight.
pub struct Probes {
    pub session: Session,
    /// The session's ICMP probe, when it has one.
    pub icmp: Option<IcmpProbe>,
    /// CAP_NET_RAW: ARP and traceroute are possible.
    pub raw: bool,
}

impl Probes {
    pub fn new(session: Session) -> Probes {
        Probes {
            icmp: session.icmp().ok().cloned(),
            raw: session.raw_capable(),
            session,
        }
    }
}

/// One TCP connect within the session's budget of connects in flight, so a diagnosis running
/// beside a port scan never pushes the process past its open-file limit.
async fn connect(session: &Session, addr: SocketAddr, timeout: Duration) -> PortOutcome {
    let _permit = session.connects().clone().acquire_owned().await.ok();
    tcp::probe(addr, timeout).await
}

/// A traceroute on the session's raw prober: its ICMP sockets send the echo requests and read
/// every reply, so a trace opens no raw socket.
async fn trace_on_session(
    session: &Session,
    addr: IpAddr,
    protocol: TraceProtocol,
    plan: TracePlan,
    cancel: &CancellationToken,
) -> traceroute::Result<traceroute::TraceOutcome> {
    let raw = session.raw().map_err(traceroute::TraceError::from)?;
    traceroute::trace(raw, addr, protocol, plan, cancel).await
}

/// Budget for a TCP trace: one connect per probe it may have open at once (every TTL of every
/// round, at most the whole budget).
async fn tcp_trace_permits(
    session: &Session,
    trace: TracePlan,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let probes = u32::from(trace.max_ttl).saturating_mul(trace.rounds.max(1));
    let window = u32::try_from(session.connect_window()).unwrap_or(u32::MAX);
    session
        .connects()
        .clone()
        .acquire_many_owned(probes.clamp(1, window.max(1)))
        .await
        .ok()
}

/// One DNS query on the session's measurement thread (its timing is not queued behind other
/// work of the caller's runtime).
async fn query(session: &Session, probe: &DnsProbe, name: &str, rtype: RecordType) -> DnsResult {
    let (p, n) = (probe.clone(), name.to_string());
    match session
        .measured(async move { p.query(&n, rtype).await })
        .await
    {
        Some(r) => r,
        None => probe.query(name, rtype).await,
    }
}

/// What the machine itself says, from the local context (sends nothing).
pub fn local(ctx: &LocalContext) -> LocalReport {
    LocalReport {
        interfaces: ctx
            .interfaces
            .iter()
            .filter(|i| !i.loopback)
            .map(|i| InterfaceReport {
                name: clean(&i.name),
                link: i.link.label().to_string(),
                mac: i.mac.map(|m| m.to_string()),
                addrs: i.addrs.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        default_routes: ctx
            .gateways
            .iter()
            .map(|g| RouteReport {
                gateway: g.ip,
                iface: clean(&g.iface),
                metric: g.metric,
            })
            .collect(),
        resolvers: ctx.resolv.nameservers.clone(),
        search: ctx.resolv.search.iter().map(|s| clean(s)).collect(),
        notes: ctx.notes.iter().map(|s| clean(s)).collect(),
    }
}

/// An echo series on the session's measurement thread; its replies also feed the session's
/// estimate of the host.
async fn ping(probes: &Probes, ip: IpAddr, timeout: Duration, tries: u32) -> Option<Ping> {
    let (sent, rtts) = echo_series(probes, ip, timeout, tries).await?;
    Some(Ping::from_rtts(sent, &rtts))
}

/// [`ping`]'s series: requests sent and the round trips of the replies.
async fn echo_series(
    probes: &Probes,
    ip: IpAddr,
    timeout: Duration,
    tries: u32,
) -> Option<(u32, Vec<Duration>)> {
    let icmp = probes.icmp.clone()?;
    if !icmp.supports(ip) {
        return None;
    }
    let plan = EchoPlan {
        timeout,
        tries,
        until_first_reply: false,
    };
    let out = probes
        .session
        .measured(async move { icmp.echo(ip, plan).await })
        .await?;
    for rtt in &out.rtts {
        probes.session.observe_rtt(ip, *rtt);
    }
    Some((out.sent, out.rtts))
}

/// The MAC of `ip` from the kernel's neighbour table, if the entry is complete.
fn neighbour_mac(ip: Ipv4Addr) -> Option<String> {
    let text = std::fs::read_to_string("/proc/net/arp").ok()?;
    text.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let flags = u32::from_str_radix(cols.get(2)?.trim_start_matches("0x"), 16).ok()?;
        let mac = cols.get(3)?;
        (cols.first()?.parse::<Ipv4Addr>().ok()? == ip && flags & 0x2 != 0).then(|| clean(mac))
    })
}

/// Ports a gateway often serves (DNS forwarder, its web interface): without ICMP, a connect
/// that is accepted or refused proves the gateway is there.
const GATEWAY_KNOCK: [u16; 3] = [53, 80, 443];

/// Connects to the gateway's common ports at once; the first that answers, else the last.
async fn knock(session: &Session, ip: IpAddr, timeout: Duration) -> PortReport {
    let mut tries: FuturesUnordered<_> = GATEWAY_KNOCK
        .iter()
        .map(|&p| connect(session, SocketAddr::new(ip, p), timeout))
        .collect();
    let mut last = None;
    while let Some(o) = tries.next().await {
        let answered = o.state != PortState::Filtered;
        last = Some(o);
        if answered {
            break;
        }
    }
    let o = last.unwrap_or(crate::core::event::PortOutcome {
        port: GATEWAY_KNOCK[0],
        state: PortState::Filtered,
        rtt: None,
    });
    PortReport {
        port: o.port,
        state: o.state,
        rtt_ms: o.rtt.map(units::ms),
        service: crate::core::ports::service_name(o.port).map(str::to_string),
    }
}

/// One ARP request to an on-link IPv4 address on the session's channels: the reply, if any
/// (`None` without CAP_NET_RAW or when the request could not be sent).
async fn arp_request(
    probes: &Probes,
    ip: IpAddr,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Option<(bool, Option<crate::core::event::ArpOutcome>)> {
    let IpAddr::V4(v4) = ip else { return None };
    if !probes.raw {
        return None;
    }
    let (tx, mut rx) = mpsc::channel(4);
    let cfg = ArpConfig {
        wait: timeout.min(Duration::from_millis(500)),
        ..ArpConfig::default()
    };
    let found = async {
        let reply = rx.recv().await;
        // Drain so the discovery never waits on a full channel.
        while rx.recv().await.is_some() {}
        reply
    };
    let (res, reply) = tokio::join!(
        probes
            .session
            .arp()
            .discover(vec![v4], cfg, tx, cancel.clone()),
        found
    );
    Some((res.is_ok(), reply))
}

/// A proof's short name for a methods list: "TCP 443", "ICMP timestamp".
fn proof_label(p: Proof) -> String {
    match p {
        Proof::Syn { port, .. } | Proof::Ack { port } | Proof::Connect { port, .. } => {
            format!("TCP {port}")
        }
        Proof::Timestamp => "ICMP timestamp".to_string(),
        Proof::Unreachable => "ICMP unreachable".to_string(),
    }
}

/// An on-link target as the scan's discovery sees it: ARP (IPv4, CAP_NET_RAW) and the
/// engine's probes that need no echo reply (TCP SYN to 443, ACK to 80, ICMP timestamp; a
/// connect to 443 and 80 without privilege), at the same time.
async fn discover_on_link(
    probes: &Probes,
    ip: IpAddr,
    timeout: Duration,
    cancel: &CancellationToken,
) -> DiscoveryReport {
    let plan = EchoPlan {
        timeout,
        tries: 3,
        until_first_reply: true,
    };
    let found = discover::Found::default();
    let probe = async {
        match probes.session.raw() {
            Ok(raw) => discover::raw_alive(raw, ip, plan, &found).await,
            Err(_) => discover::connect_alive(&probes.session, ip, timeout, &found).await,
        }
    };
    let (arp, proof) = tokio::join!(arp_request(probes, ip, timeout, cancel), probe);
    let arp = match arp {
        Some((true, Some(r))) => Some(ArpReport {
            mac: r.mac.to_string(),
            rtt_ms: Some(units::ms(r.rtt)),
            source: "arp".to_string(),
        }),
        // Without a raw socket, the kernel resolved the address for our probes, if it could.
        _ => match ip {
            IpAddr::V4(v4) if !probes.raw => neighbour_mac(v4).map(|mac| ArpReport {
                mac,
                rtt_ms: None,
                source: "neighbour-table".to_string(),
            }),
            _ => None,
        },
    };
    let mut found_by = Vec::new();
    if arp.is_some() {
        found_by.push("ARP".to_string());
    }
    if let Some((p, _)) = proof {
        found_by.push(proof_label(p));
    }
    DiscoveryReport {
        arp,
        probe: proof.map(|(p, _)| p.describe()),
        found_by,
    }
}

/// The gateway: an ARP request (IPv4, with CAP_NET_RAW) and a few pings, at the same time;
/// without any ICMP socket, TCP connects to its common ports instead of the pings.
pub async fn gateway(
    gw: &Gateway,
    probes: &Probes,
    timeout: Duration,
    cancel: &CancellationToken,
) -> GatewayReport {
    let mut report = GatewayReport {
        ip: gw.ip,
        iface: clean(&gw.iface),
        arp_checked: false,
        arp: None,
        ping: None,
        tcp: None,
        note: None,
    };
    if let IpAddr::V6(v6) = gw.ip
        && v6.is_unicast_link_local()
    {
        report.note = Some("link-local IPv6 gateway: not checked".to_string());
        return report;
    }
    let arp_fut = arp_request(probes, gw.ip, timeout, cancel);
    let no_icmp = !probes.icmp.as_ref().is_some_and(|i| i.supports(gw.ip));
    let knock_fut = async {
        if no_icmp {
            Some(knock(&probes.session, gw.ip, timeout).await)
        } else {
            None
        }
    };
    let (arp, ping, tcp) = tokio::join!(
        arp_fut,
        ping(probes, gw.ip, timeout, GATEWAY_PINGS),
        knock_fut
    );
    report.ping = ping;
    report.tcp = tcp;
    match arp {
        Some((true, reply)) => {
            report.arp_checked = true;
            report.arp = reply.map(|r| ArpReport {
                mac: r.mac.to_string(),
                rtt_ms: Some(units::ms(r.rtt)),
                source: "arp".to_string(),
            });
        }
        _ => {
            // No raw socket: the kernel resolved the gateway for our pings, if it could.
            if let IpAddr::V4(v4) = gw.ip {
                report.arp_checked = true;
                report.arp = neighbour_mac(v4).map(|mac| ArpReport {
                    mac,
                    rtt_ms: None,
                    source: "neighbour-table".to_string(),
                });
            }
        }
    }
    report
}

/// A resolver: a ping and its check query (the PTR record of its own address: every resolver
/// can answer that, with a name or with NXDOMAIN, and it asks nothing of the outside world
/// that the machine's configuration did not already point at).
pub async fn resolver(
    server: SocketAddr,
    probe: &DnsProbe,
    probes: &Probes,
    timeout: Duration,
    on_link: bool,
) -> ResolverReport {
    let own = server.ip().to_string();
    let (query, ping) = tokio::join!(
        query(&probes.session, probe, &own, RecordType::PTR),
        ping(probes, server.ip(), timeout, RESOLVER_PINGS)
    );
    let mut report = ResolverReport {
        server: server.to_string(),
        ip: server.ip(),
        on_link,
        ping,
        queries: vec![clean_result(query)],
        state: ResolverState::Silent,
        rtt_ms: None,
    };
    settle_resolver(&mut report);
    report
}

/// Recompute a resolver's state and fastest answer from every query it was sent.
pub fn settle_resolver(r: &mut ResolverReport) {
    r.state = verdict::resolver_state(&r.queries);
    r.rtt_ms = r
        .queries
        .iter()
        .filter(|q| responded(q))
        .filter_map(|q| q.rtt_ms)
        .reduce(f64::min);
}

fn clean_result(mut r: DnsResult) -> DnsResult {
    r.name = clean(&r.name);
    r.server = r.server.map(|s| clean(&s));
    r.error = r.error.map(|s| clean(&s));
    for a in &mut r.answers {
        a.rtype = clean(&a.rtype);
        a.value = clean(&a.value);
    }
    r
}

/// Names to try for `name`, like the C library: as given first when it has at least `ndots`
/// dots, the search domains first otherwise; only as given when it ends with a dot.
pub fn candidates(name: &str, search: &[String], ndots: usize) -> Vec<String> {
    if let Some(abs) = name.strip_suffix('.') {
        return vec![abs.to_string()];
    }
    let searched = search
        .iter()
        .map(|d| format!("{name}.{}", d.trim_end_matches('.')));
    if name.matches('.').count() >= ndots {
        std::iter::once(name.to_string()).chain(searched).collect()
    } else {
        searched.chain(std::iter::once(name.to_string())).collect()
    }
}

/// A and AAAA for `name` through one resolver, candidate after candidate, stopping at the
/// first with an address, or as soon as the server does not give a usable answer (a server
/// that timed out once will not answer the next candidate either: no timeout is paid twice).
async fn resolve_via(
    session: &Session,
    probe: &DnsProbe,
    cands: &[String],
) -> (Vec<IpAddr>, Vec<DnsResult>) {
    let mut results = Vec::new();
    for c in cands {
        let (a, aaaa) = tokio::join!(
            query(session, probe, c, RecordType::A),
            query(session, probe, c, RecordType::AAAA)
        );
        let addrs = crate::net::dns::addresses(&[&a, &aaaa]);
        let usable = [&a, &aaaa]
            .iter()
            .any(|r| matches!(r.status, DnsStatus::NoError | DnsStatus::NxDomain));
        results.push(clean_result(a));
        results.push(clean_result(aaaa));
        if !addrs.is_empty() || !usable {
            return (addrs, results);
        }
    }
    (Vec::new(), results)
}

/// One service port: a few staggered connects; the first that is accepted or refused decides,
/// `filtered` only when none got an answer.
async fn port_check(session: &Session, addr: SocketAddr, timeout: Duration) -> PortReport {
    let mut attempts = FuturesUnordered::new();
    for i in 0..TCP_ATTEMPTS {
        attempts.push(async move {
            tokio::time::sleep(TCP_STAGGER * i).await;
            connect(session, addr, timeout).await
        });
    }
    let mut state = PortState::Filtered;
    let mut rtt = None;
    while let Some(o) = attempts.next().await {
        if o.state != PortState::Filtered {
            state = o.state;
            rtt = o.rtt;
            break;
        }
    }
    PortReport {
        port: addr.port(),
        state,
        rtt_ms: rtt.map(units::ms),
        service: crate::core::ports::service_name(addr.port()).map(str::to_string),
    }
}

/// How a target was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetInput {
    Addr(IpAddr),
    Name(String),
}

impl std::fmt::Display for TargetInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetInput::Addr(ip) => write!(f, "{ip}"),
            TargetInput::Name(n) => f.write_str(n),
        }
    }
}

/// Settings of the target checks.
pub struct TargetPlan<'a> {
    pub ports: &'a [u16],
    pub timeout: Duration,
    pub trace: TracePlan,
    pub search: &'a [String],
    pub ndots: usize,
}

/// The target: its name through every resolver at once (the first with an address lets the
/// rest go on; the others are still waited for, to compare answers), then at the same time a
/// trace (ICMP), its service ports and, without CAP_NET_RAW, pings. When the ICMP trace does
/// not reach a target whose ports answer, ICMP is filtered there: a TCP trace to an answering
/// port follows. An on-link target also gets ARP, the scan's discovery probes and pings (a
/// host that drops echo is still found); a name gets the DNS sanity checks of
/// [`dns_check`]; echoes lost but not enough to prove loss get a longer series.
pub async fn target(
    input: &TargetInput,
    resolvers: &[DnsProbe],
    probes: &Probes,
    plan: &TargetPlan<'_>,
    ctx: &LocalContext,
    cancel: &CancellationToken,
) -> TargetReport {
    let mut report = TargetReport {
        target: input.to_string(),
        name: None,
        addresses: Vec::new(),
        address: None,
        on_link: false,
        lookups: Vec::new(),
        ports: Vec::new(),
        ping: None,
        trace: None,
        discovery: None,
        baseline_rtt_ms: None,
        rtt_median_ms: None,
        dns_findings: Vec::new(),
        notes: Vec::new(),
    };
    let mut pending = FuturesUnordered::new();
    match input {
        TargetInput::Addr(ip) => report.addresses = vec![*ip],
        TargetInput::Name(name) => {
            report.name = Some(name.clone());
            let cands = candidates(name, plan.search, plan.ndots);
            for probe in resolvers {
                let cands = cands.clone();
                let session = &probes.session;
                pending.push(async move { resolve_via(session, probe, &cands).await });
            }
            while let Some((addrs, results)) = pending.next().await {
                report.lookups.extend(results);
                if !addrs.is_empty() {
                    report.addresses = addrs;
                    break;
                }
            }
        }
    }
    // IPv4 first: the usual path, and the one every lab and most networks route.
    report.address = report
        .addresses
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(report.addresses.first())
        .copied();
    let remaining = async {
        let mut rest = Vec::new();
        while let Some((_, results)) = pending.next().await {
            rest.extend(results);
        }
        rest
    };
    let Some(addr) = report.address else {
        report.lookups.extend(remaining.await);
        // A name that exists but leads nowhere: is it an alias of a name that does not?
        if let Some(first) = resolvers.first()
            && let Some((name, target)) = report
                .lookups
                .iter()
                .find_map(|q| Some((q.name.clone(), dns_check::dangling_target(q)?)))
            && dns_check::missing(&probes.session, first, &target).await
        {
            report
                .dns_findings
                .push(clean_finding(dns_check::dangling(&name, &target)));
        }
        return report;
    };
    // The forward chain of the name (the name, then its CNAMEs), for the PTR check.
    let forward: Vec<String> = report
        .lookups
        .iter()
        .find(|q| crate::net::dns::addresses(&[q]).contains(&addr))
        .map(dns_check::chain)
        .unwrap_or_default();
    report.on_link = ctx.is_local(addr);
    // What "slow" is measured against: the session's best round trip before this round.
    let before = probes.session.estimate(addr).timing.rtt;
    if before.samples() > 0 {
        report.baseline_rtt_ms = before.min().map(units::ms);
    }
    let on_link = report.on_link;
    let reach = async {
        let trace = async {
            if probes.raw {
                Some(
                    trace_on_session(
                        &probes.session,
                        addr,
                        TraceProtocol::Icmp,
                        plan.trace,
                        cancel,
                    )
                    .await,
                )
            } else {
                None
            }
        };
        let ports = join_all(plan.ports.iter().map(|&p| {
            port_check(
                &probes.session,
                SocketAddr::new(addr, p),
                plan.timeout * 3 / 2,
            )
        }));
        // On the local network a trace is one hop: pings give the loss figure its echoes.
        let pinged = async {
            if on_link {
                echo_series(probes, addr, plan.timeout, ON_LINK_PINGS).await
            } else if probes.raw {
                None
            } else {
                echo_series(probes, addr, plan.timeout, TARGET_PINGS).await
            }
        };
        let discovery = async {
            if on_link {
                Some(discover_on_link(probes, addr, plan.timeout, cancel).await)
            } else {
                None
            }
        };
        // Does the address's PTR record name the host back?
        let ptr = async {
            match resolvers.first() {
                Some(first) if !forward.is_empty() => {
                    dns_check::check_ptr(&probes.session, first, &forward, addr).await
                }
                _ => None,
            }
        };
        tokio::join!(trace, ports, pinged, discovery, ptr)
    };
    let ((trace, ports, pinged, discovery, ptr), rest) = tokio::join!(reach, remaining);
    report.dns_findings.extend(ptr.map(clean_finding));
    report.lookups.extend(rest);
    report.ports = ports;
    report.discovery = discovery;
    let (mut sent, mut rtts) = pinged.unwrap_or_default();
    let mut trace_rtts: Vec<Duration> = Vec::new();
    if sent > 0 {
        report.ping = Some(Ping::from_rtts(sent, &rtts));
    }
    match trace {
        None => report
            .notes
            .push("no hop-by-hop path: a traceroute needs CAP_NET_RAW".to_string()),
        Some(Err(e)) => report.notes.push(format!("traceroute failed: {e}")),
        Some(Ok(outcome)) => {
            let mut path = path::trace_report(&traceroute::hops(&outcome), outcome.protocol);
            let answering = report
                .ports
                .iter()
                .find(|p| p.state != PortState::Filtered)
                .map(|p| p.port);
            if !path.reached
                && let Some(port) = answering
            {
                // The host answers TCP but not ICMP echo: trace with SYNs to that port. Each
                // SYN is a connect of its own (not a raw socket): the trace holds its share of
                // the session's budget of connects while it runs.
                let _permits = tcp_trace_permits(&probes.session, plan.trace).await;
                if let Ok(tcp) = trace_on_session(
                    &probes.session,
                    addr,
                    TraceProtocol::Tcp(port),
                    plan.trace,
                    cancel,
                )
                .await
                {
                    let tcp_path = path::trace_report(&traceroute::hops(&tcp), tcp.protocol);
                    if tcp_path.reached || tcp_path.hops.len() > path.hops.len() {
                        path = tcp_path;
                        path.note = Some(format!(
                            "the target does not answer ICMP echo; traced with TCP SYNs to port {port}"
                        ));
                    }
                }
            }
            // Every hop's round trips are samples of that address like echo replies; the
            // baselines are read first (what was known before this round).
            if outcome.protocol == TraceProtocol::Icmp {
                let hops = traceroute::hops(&outcome);
                for (h, hr) in hops.iter().zip(path.hops.iter_mut()) {
                    let Some(a) = h.addr.filter(|_| !h.rtts.is_empty()) else {
                        continue;
                    };
                    let known = probes.session.estimate(a).timing.rtt;
                    if known.samples() > 0 && !h.destination {
                        hr.baseline_rtt_ms = known.min().map(units::ms);
                    }
                    // The destination was read before the round started.
                    if a != addr || h.destination {
                        for rtt in &h.rtts {
                            probes.session.observe_rtt(a, *rtt);
                        }
                    }
                    if h.destination {
                        trace_rtts.extend(h.rtts.iter().copied());
                    }
                }
            }
            report.trace = Some(path);
        }
    }
    // Some echoes lost, not enough to prove loss: a longer series decides (a healthy host
    // that dropped one reply is not called degraded, a lossy one is not let off).
    if report.echoes().loss_suspected(LOSS_MIN)
        && !cancel.is_cancelled()
        && let Some((more, more_rtts)) =
            echo_series(probes, addr, plan.timeout * 2, CONFIRM_PINGS).await
    {
        sent += more;
        rtts.extend(more_rtts);
        report.ping = Some(Ping::from_rtts(sent, &rtts));
    }
    trace_rtts.extend(rtts.iter().copied());
    report.rtt_median_ms = super::model::median_ms(&trace_rtts);
    // A name pointing where nothing answers, on a path that works up to it: stale record.
    let path_ends_at_host = report.on_link
        || report.trace.as_ref().is_some_and(|t| {
            t.hops
                .iter()
                .any(|h| h.unreachable.as_deref().is_some_and(|u| u.contains("host")))
        });
    if let Some(name) = &report.name
        && !report.host_answered()
        && path_ends_at_host
    {
        report
            .dns_findings
            .push(clean_finding(dns_check::stale(name, addr)));
    }
    report
}

/// A finding built from names off the wire, cleaned on entry to the model.
fn clean_finding(mut f: crate::core::model::DnsFinding) -> crate::core::model::DnsFinding {
    f.text = clean(&f.text);
    f
}
