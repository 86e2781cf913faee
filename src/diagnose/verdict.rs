//! From measurements to a verdict: pure functions over the check reports, no I/O.
//!
//! Each layer gets findings (a status, a cause and one plain sentence). The failing layer is
//! the lowest layer in the worst state: a dead gateway also makes the WAN path and the targets
//! fail, and the gateway is what the technician must fix. The verdict is that layer's first
//! finding, in words a manager understands; the evidence table holds the measurements.
//!
//! How a traceroute's loss is judged (rate limiting versus real loss) is in [`super::path`].

use crate::core::units;
use std::net::IpAddr;

use crate::core::model::{DnsFindingKind, DnsResult, DnsStatus, PortState};

use super::model::{
    Cause, Evidence, Finding, GatewayReport, LOSS_MIN, Layer, LayerSummary, LocalReport,
    ResolverReport, ResolverState, Status, TargetReport, TraceReport, responded,
};

/// Gateway ping loss that makes the gateway degraded.
pub const GATEWAY_LOSS_MIN: f64 = 20.0;
/// A resolver slower than this (ms) makes DNS degraded.
pub const DNS_SLOW_MS: f64 = 500.0;
/// An on-link target slower than this (ms) is degraded: a LAN answers in a few.
pub const LAN_SLOW_MS: f64 = 150.0;
/// A target this many times slower than its baseline (the session's best round trip from
/// earlier rounds) is degraded...
pub const SLOW_FACTOR: f64 = 4.0;
/// ...when that is also at least this much slower (ms): 0.2 ms against 0.05 ms is noise.
pub const SLOW_MIN_EXTRA_MS: f64 = 20.0;
/// Round trips needed before a typical round trip (median) counts.
const RTT_MIN_SAMPLES: u32 = 3;

/// How a resolver behaved over all its queries.
pub fn resolver_state(queries: &[DnsResult]) -> ResolverState {
    if queries
        .iter()
        .any(|q| matches!(q.status, DnsStatus::NoError | DnsStatus::NxDomain))
    {
        ResolverState::Answers
    } else if queries.iter().any(responded) {
        ResolverState::Errors
    } else {
        ResolverState::Silent
    }
}

// --- words --------------------------------------------------------------------------------

/// "a", "a and b", "a, b and c".
fn list<T: ToString>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "app.lab.test (10.9.0.10)" or "10.9.0.10".
fn target_label(t: &TargetReport) -> String {
    match (&t.name, t.address) {
        (Some(n), Some(ip)) => format!("{n} ({ip})"),
        (Some(n), None) => n.clone(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => t.target.clone(),
    }
}

fn ports_text(ports: &[u16]) -> String {
    let words: Vec<String> = ports.iter().map(u16::to_string).collect();
    if ports.len() == 1 {
        format!("port {}", words[0])
    } else {
        format!("ports {}", list(&words))
    }
}

fn dns_text(q: &DnsResult) -> String {
    let answers: Vec<&str> = q
        .answers
        .iter()
        .filter(|a| a.rtype == q.rtype.to_string())
        .map(|a| a.value.as_str())
        .collect();
    let mut s = q.status.label().to_string();
    if !answers.is_empty() {
        s = format!("{} ({s})", answers.join(", "));
    }
    if let Some(rtt) = q.rtt_ms {
        s.push_str(&format!(" in {rtt:.2} ms"));
    }
    s
}

// --- assessment ----------------------------------------------------------------------------

/// What the verdict is computed from.
pub struct Inputs<'a> {
    pub local: &'a LocalReport,
    pub gateways: &'a [GatewayReport],
    pub resolvers: &'a [ResolverReport],
    pub targets: &'a [TargetReport],
    /// Targets were given (even if none could be checked).
    pub targets_given: bool,
    pub ports: &'a [u16],
    /// A later layer was not checked because this machine has no working connection.
    pub skipped_rest: bool,
}

/// The verdict and everything behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub status: Status,
    pub layer: Option<Layer>,
    pub cause: Cause,
    pub verdict: String,
    pub findings: Vec<Finding>,
    pub layers: Vec<LayerSummary>,
    pub evidence: Vec<Evidence>,
}

struct Builder {
    findings: Vec<Finding>,
    evidence: Vec<Evidence>,
    checked: Vec<Layer>,
    ok_summary: Vec<(Layer, String)>,
}

impl Builder {
    fn find(&mut self, layer: Layer, status: Status, cause: Cause, text: String) {
        self.findings.push(Finding {
            layer,
            status,
            cause,
            text,
        });
    }

    fn row(&mut self, layer: Layer, check: String, result: String, status: Status) {
        self.evidence.push(Evidence {
            layer,
            check,
            result,
            status,
        });
    }

    fn checked(&mut self, layer: Layer, ok: String) {
        if !self.checked.contains(&layer) {
            self.checked.push(layer);
        }
        if !self.ok_summary.iter().any(|(l, _)| *l == layer) {
            self.ok_summary.push((layer, ok));
        }
    }
}

fn is_link_local(addr: &str) -> bool {
    let ip = addr.split('/').next().unwrap_or("");
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_link_local(),
        Ok(IpAddr::V6(v6)) => v6.is_unicast_link_local(),
        Err(_) => false,
    }
}

/// Interfaces with link and a routable address: the machine can talk to its network.
pub fn usable_interfaces(local: &LocalReport) -> Vec<&str> {
    local
        .interfaces
        .iter()
        .filter(|i| i.link != "down" && i.addrs.iter().any(|a| !is_link_local(a)))
        .map(|i| i.name.as_str())
        .collect()
}

fn assess_local(b: &mut Builder, local: &LocalReport) {
    let ifaces = &local.interfaces;
    for i in ifaces {
        let status = if i.link == "down" {
            Status::Down
        } else if i.addrs.iter().all(|a| is_link_local(a)) {
            Status::Degraded
        } else {
            Status::Ok
        };
        let addrs = if i.addrs.is_empty() {
            "no address".to_string()
        } else {
            i.addrs.join(", ")
        };
        b.row(
            Layer::Local,
            format!("interface {}", i.name),
            format!("link {} · {addrs}", i.link),
            status,
        );
    }
    match local.default_routes.first() {
        Some(r) => b.row(
            Layer::Local,
            "default route".to_string(),
            format!("via {} on {}", r.gateway, r.iface),
            Status::Ok,
        ),
        None => b.row(
            Layer::Local,
            "default route".to_string(),
            "none".to_string(),
            Status::Down,
        ),
    }
    let usable = usable_interfaces(local);
    let up: Vec<&str> = ifaces
        .iter()
        .filter(|i| i.link != "down")
        .map(|i| i.name.as_str())
        .collect();
    if ifaces.is_empty() {
        b.find(
            Layer::Local,
            Status::Down,
            Cause::NoInterface,
            "This computer has no network interface: it is not connected to any network."
                .to_string(),
        );
    } else if up.is_empty() {
        let names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
        let verb = if names.len() == 1 { "has" } else { "have" };
        b.find(
            Layer::Local,
            Status::Down,
            Cause::LinkDown,
            format!(
                "This computer's network connection is down: {} {verb} no link (cable unplugged, \
                 switch port off or Wi-Fi disconnected).",
                list(&names)
            ),
        );
    } else if usable.is_empty() {
        let self_assigned = ifaces
            .iter()
            .flat_map(|i| &i.addrs)
            .any(|a| a.starts_with("169.254."));
        let text = if self_assigned {
            format!(
                "This computer is connected ({}) but got no address from the network (DHCP): it \
                 only has a self-assigned 169.254 address.",
                list(&up)
            )
        } else {
            format!(
                "This computer is connected ({}) but has no IP address.",
                list(&up)
            )
        };
        b.find(Layer::Local, Status::Down, Cause::NoAddress, text);
    } else if local.default_routes.is_empty() {
        b.find(
            Layer::Local,
            Status::Down,
            Cause::NoDefaultRoute,
            "This computer has no default route: it can reach its local network, but nothing \
             beyond it."
                .to_string(),
        );
    }
    let summary = match local.default_routes.first() {
        Some(r) => format!("{} up, default route via {}", list(&usable), r.gateway),
        None => format!("{} up", list(&usable)),
    };
    b.checked(Layer::Local, summary);
}

fn assess_gateways(b: &mut Builder, gateways: &[GatewayReport]) {
    let checked: Vec<&GatewayReport> = gateways.iter().filter(|g| g.note.is_none()).collect();
    for g in gateways {
        if let Some(note) = &g.note {
            b.row(
                Layer::Gateway,
                format!("gateway {}", g.ip),
                note.clone(),
                Status::Skipped,
            );
            continue;
        }
        let arp = match (&g.arp, g.arp_checked) {
            (Some(a), _) => match a.rtt_ms {
                Some(rtt) => format!("{} in {rtt:.2} ms", a.mac),
                None => format!("{} (neighbour table)", a.mac),
            },
            (None, true) => "no reply".to_string(),
            (None, false) => "not checked".to_string(),
        };
        if g.ip.is_ipv4() {
            let st = match (&g.arp, g.arp_checked) {
                (Some(_), _) => Status::Ok,
                (None, true) => Status::Down,
                (None, false) => Status::Skipped,
            };
            b.row(Layer::Gateway, format!("gateway {} ARP", g.ip), arp, st);
        }
        if let Some(t) = &g.tcp {
            let result = match t.state {
                PortState::Open => {
                    format!("port {} accepts connections (no ICMP to ping with)", t.port)
                }
                PortState::Closed => format!(
                    "port {} refuses connections: it is there (no ICMP to ping with)",
                    t.port
                ),
                PortState::Filtered => {
                    "no answer on ports 53, 80, 443 (no ICMP to ping with)".to_string()
                }
            };
            let st = if g.answers() {
                Status::Ok
            } else {
                Status::Down
            };
            b.row(Layer::Gateway, format!("gateway {} TCP", g.ip), result, st);
        }
        if let Some(p) = &g.ping {
            let st = if p.received == 0 && !g.answers() {
                Status::Down
            } else if p.loss_pct >= GATEWAY_LOSS_MIN && p.lost() >= 2 && p.received > 0 {
                Status::Degraded
            } else {
                Status::Ok
            };
            b.row(
                Layer::Gateway,
                format!("gateway {} ping", g.ip),
                format!(
                    "{}/{} replies, {} loss, avg {}",
                    p.received,
                    p.sent,
                    units::pct_words(p.loss_pct),
                    units::ms_text(p.rtt_avg_ms)
                ),
                st,
            );
        }
    }
    if checked.is_empty() {
        return;
    }
    let silent: Vec<IpAddr> = checked
        .iter()
        .filter(|g| !g.answers())
        .map(|g| g.ip)
        .collect();
    let answering: Vec<IpAddr> = checked
        .iter()
        .filter(|g| g.answers())
        .map(|g| g.ip)
        .collect();
    if answering.is_empty() {
        let (noun, verb) = if silent.len() == 1 {
            ("gateway", "does")
        } else {
            ("gateways", "do")
        };
        b.find(
            Layer::Gateway,
            Status::Down,
            Cause::GatewayUnreachable,
            format!(
                "This computer is connected, but the {noun} {} {verb} not answer: nothing beyond \
                 the local network can be reached.",
                list(&silent)
            ),
        );
    } else if !silent.is_empty() {
        b.find(
            Layer::Gateway,
            Status::Degraded,
            Cause::GatewayUnreachable,
            format!(
                "The gateway {} does not answer, but {} does: part of the traffic (often IPv6) \
                 cannot leave the local network.",
                list(&silent),
                list(&answering)
            ),
        );
    }
    for g in &checked {
        let Some(p) = &g.ping else { continue };
        if p.received > 0 && p.loss_pct >= GATEWAY_LOSS_MIN && p.lost() >= 2 {
            b.find(
                Layer::Gateway,
                Status::Degraded,
                Cause::GatewayLoss,
                format!(
                    "The gateway {} answers but loses {} of pings: the local network is \
                     unreliable (Wi-Fi signal, cabling or an overloaded gateway).",
                    g.ip,
                    units::pct_words(p.loss_pct)
                ),
            );
        } else if p.received == 0 && g.arp.is_some() {
            b.find(
                Layer::Gateway,
                Status::Ok,
                Cause::GatewayNoPing,
                format!(
                    "The gateway {} answers ARP but not ping: it filters ICMP, which is harmless.",
                    g.ip
                ),
            );
        }
    }
    let summary = match answering.first() {
        Some(ip) => {
            let rtt = checked
                .iter()
                .find(|g| g.ip == *ip)
                .and_then(|g| g.ping.as_ref())
                .and_then(|p| p.rtt_avg_ms);
            match rtt {
                Some(r) => format!("{} answers in {r:.2} ms", list(&answering)),
                None => format!("{} answers", list(&answering)),
            }
        }
        None => String::new(),
    };
    b.checked(Layer::Gateway, summary);
}

/// Where a silent or failing resolver's sentence begins: with the gateway when it is fine.
fn gateway_prefix(gateways: &[GatewayReport]) -> Option<IpAddr> {
    gateways.iter().find(|g| g.answers()).map(|g| g.ip)
}

fn assess_dns(
    b: &mut Builder,
    resolvers: &[ResolverReport],
    gateways: &[GatewayReport],
    targets: &[TargetReport],
) {
    if resolvers.is_empty() {
        b.find(
            Layer::Dns,
            Status::Down,
            Cause::NoResolver,
            "No DNS server is configured on this computer: names cannot be resolved.".to_string(),
        );
        b.checked(Layer::Dns, String::new());
        return;
    }
    for r in resolvers {
        let status = match r.state {
            ResolverState::Answers if r.rtt_ms.is_some_and(|v| v > DNS_SLOW_MS) => Status::Degraded,
            ResolverState::Answers => Status::Ok,
            _ => Status::Down,
        };
        let check = r.queries.first();
        let mut result = match (r.state, check) {
            (_, Some(q)) => format!("PTR {}: {}", r.ip, dns_text(q)),
            (_, None) => "no query".to_string(),
        };
        if let Some(p) = &r.ping {
            result.push_str(&format!("; ping {}/{}", p.received, p.sent));
        }
        b.row(
            Layer::Dns,
            format!("DNS server {}", r.server),
            result,
            status,
        );
    }
    // Name lookups of the targets, per server.
    for t in targets {
        for q in t.lookups.iter().filter(|q| q.rtype.to_string() == "A") {
            let status = match q.status {
                DnsStatus::NoError => Status::Ok,
                DnsStatus::NxDomain => Status::Down,
                _ => Status::Down,
            };
            let layer = if matches!(q.status, DnsStatus::NoError | DnsStatus::NxDomain) {
                Layer::Target
            } else {
                Layer::Dns
            };
            b.row(
                layer,
                format!(
                    "{} A via {}",
                    q.name,
                    q.server.as_deref().unwrap_or("(no server)")
                ),
                dns_text(q),
                status,
            );
        }
    }
    let answering: Vec<&ResolverReport> = resolvers
        .iter()
        .filter(|r| r.state == ResolverState::Answers)
        .collect();
    let failing: Vec<&ResolverReport> = resolvers
        .iter()
        .filter(|r| r.state != ResolverState::Answers)
        .collect();
    let what = |rs: &[&ResolverReport]| -> (String, Cause) {
        let ips: Vec<IpAddr> = rs.iter().map(|r| r.ip).collect();
        let plural = ips.len() > 1;
        let noun = if plural { "DNS servers" } else { "DNS server" };
        if rs.iter().all(|r| r.state == ResolverState::Silent) {
            let verb = if plural {
                "do not answer"
            } else {
                "does not answer"
            };
            (
                format!("the {noun} {} {verb}", list(&ips)),
                Cause::DnsTimeout,
            )
        } else {
            let mut codes: Vec<&str> = rs
                .iter()
                .flat_map(|r| &r.queries)
                .filter(|q| responded(q))
                .map(|q| q.status.label())
                .collect();
            codes.sort_unstable();
            codes.dedup();
            let verb = if plural { "answer" } else { "answers" };
            (
                format!(
                    "the {noun} {} {verb} only with errors ({})",
                    list(&ips),
                    codes.join(", ")
                ),
                Cause::DnsError,
            )
        }
    };
    if answering.is_empty() {
        let (subject, cause) = what(&failing);
        let gw = gateway_prefix(gateways);
        let addresses_ok = gw.is_some()
            || targets
                .iter()
                .any(|t| t.name.is_none() && t.host_answered());
        let tail = if addresses_ok {
            ", while addresses are reachable"
        } else {
            ""
        };
        let text = match gw {
            Some(gw) => {
                format!("The gateway {gw} answers, but {subject}: names cannot be resolved{tail}.")
            }
            None => {
                let mut s = subject.clone();
                s[..1].make_ascii_uppercase();
                format!("{s}: names cannot be resolved{tail}.")
            }
        };
        b.find(Layer::Dns, Status::Down, cause, text);
    } else if !failing.is_empty() {
        let (subject, _) = what(&failing);
        let good: Vec<IpAddr> = answering.iter().map(|r| r.ip).collect();
        let mut s = subject;
        s[..1].make_ascii_uppercase();
        b.find(
            Layer::Dns,
            Status::Degraded,
            Cause::DnsPartial,
            format!(
                "{s}, but {} does: names still resolve, though lookups can be slow while the \
                 failing server is tried first.",
                list(&good)
            ),
        );
    }
    for r in &answering {
        if let Some(rtt) = r.rtt_ms.filter(|v| *v > DNS_SLOW_MS) {
            b.find(
                Layer::Dns,
                Status::Degraded,
                Cause::DnsSlow,
                format!(
                    "The DNS server {} takes {rtt:.0} ms to answer: every new connection waits \
                     that long first.",
                    r.ip
                ),
            );
        }
    }
    assess_agreement(b, targets);
    let summary = answering
        .iter()
        .map(|r| match r.rtt_ms {
            Some(rtt) => format!("{} answers in {rtt:.2} ms", r.ip),
            None => format!("{} answers", r.ip),
        })
        .collect::<Vec<_>>();
    b.checked(Layer::Dns, list(&summary));
}

/// Do the resolvers that answered agree about each target name?
fn assess_agreement(b: &mut Builder, targets: &[TargetReport]) {
    for t in targets {
        let Some(name) = &t.name else { continue };
        // Per server: the status and addresses of its A lookups.
        let mut per_server: Vec<(String, DnsStatus, Vec<String>)> = Vec::new();
        for q in t.lookups.iter().filter(|q| q.rtype.to_string() == "A") {
            let Some(server) = &q.server else { continue };
            if !matches!(q.status, DnsStatus::NoError | DnsStatus::NxDomain) {
                continue;
            }
            let mut addrs: Vec<String> = q
                .answers
                .iter()
                .filter(|a| a.rtype == "A")
                .map(|a| a.value.clone())
                .collect();
            addrs.sort();
            match per_server.iter_mut().find(|(s, _, _)| s == server) {
                // Search candidates: an address anywhere wins for that server.
                Some(entry) if entry.2.is_empty() && !addrs.is_empty() => {
                    *entry = (server.clone(), q.status, addrs)
                }
                Some(_) => {}
                None => per_server.push((server.clone(), q.status, addrs)),
            }
        }
        if per_server.len() < 2 {
            continue;
        }
        let finds: Vec<&str> = per_server
            .iter()
            .filter(|(_, _, a)| !a.is_empty())
            .map(|(s, _, _)| s.as_str())
            .collect();
        let not: Vec<&str> = per_server
            .iter()
            .filter(|(_, st, a)| a.is_empty() && *st == DnsStatus::NxDomain)
            .map(|(s, _, _)| s.as_str())
            .collect();
        if !finds.is_empty() && !not.is_empty() {
            let finds: Vec<String> = finds.iter().map(|s| server_name(s)).collect();
            let not: Vec<String> = not.iter().map(|s| server_name(s)).collect();
            let (find, say) = (
                if finds.len() == 1 { "finds" } else { "find" },
                if not.len() == 1 { "says" } else { "say" },
            );
            b.find(
                Layer::Dns,
                Status::Degraded,
                Cause::DnsDisagree,
                format!(
                    "The DNS servers disagree about {name}: {} {find} it, {} {say} it does not \
                     exist.",
                    list(&finds),
                    list(&not)
                ),
            );
            continue;
        }
        let sets: Vec<&Vec<String>> = per_server
            .iter()
            .map(|(_, _, a)| a)
            .filter(|a| !a.is_empty())
            .collect();
        if sets.windows(2).any(|w| w[0] != w[1]) {
            let detail: Vec<String> = per_server
                .iter()
                .map(|(s, _, a)| format!("{}: {}", server_name(s), a.join(" ")))
                .collect();
            b.find(
                Layer::Dns,
                Status::Ok,
                Cause::DnsDisagree,
                format!(
                    "The DNS servers give different addresses for {name} ({}): normal for large \
                     sites, suspicious on a private network.",
                    detail.join("; ")
                ),
            );
        }
    }
}

fn assess_path(b: &mut Builder, t: &TargetReport, gateways: &[GatewayReport]) {
    let Some(addr) = t.address else { return };
    let label = target_label(t);
    if t.on_link {
        // No WAN involved: a silent on-link host is the target's own problem.
        assess_on_link(b, t, addr);
        return;
    }
    let gw_ips: Vec<IpAddr> = gateways.iter().map(|g| g.ip).collect();
    let trace = t.trace.as_ref();
    if let Some(tr) = trace {
        let dest = tr.hops.last().filter(|h| h.destination);
        let result = if tr.reached {
            format!(
                "reached in {} hops ({}), {} loss, avg {}",
                tr.hops.len(),
                tr.protocol,
                units::pct_words(tr.dest_loss_pct.unwrap_or(0.0)),
                units::ms_text(dest.and_then(|d| d.rtt_avg_ms))
            )
        } else {
            match tr.last_responding {
                Some(ttl) => format!(
                    "stops after hop {ttl} ({}) ({})",
                    hop_addr(tr, ttl),
                    tr.protocol
                ),
                None => format!("no hop answers ({})", tr.protocol),
            }
        };
        let status = if !tr.reached && !t.host_answered() {
            Status::Down
        } else if t.echoes().loss_proven(LOSS_MIN) {
            Status::Degraded
        } else {
            Status::Ok
        };
        b.row(Layer::Wan, format!("path to {addr}"), result, status);
        for h in tr.hops.iter().filter(|h| h.rate_limited) {
            b.row(
                Layer::Wan,
                format!("hop {} ({})", h.ttl, fmt_addr(h.addr)),
                format!(
                    "{} loss that later hops do not show: ICMP rate limiting",
                    units::pct_words(h.loss_pct)
                ),
                Status::Ok,
            );
        }
    } else if let Some(p) = &t.ping {
        b.row(
            Layer::Wan,
            format!("ping {addr}"),
            format!(
                "{}/{} replies, {} loss",
                p.received,
                p.sent,
                units::pct_words(p.loss_pct)
            ),
            if p.received > 0 {
                Status::Ok
            } else {
                Status::Down
            },
        );
    }
    if t.host_answered() {
        let echoes = t.echoes();
        if let Some(p) = &t.ping
            && p.sent > 0
        {
            b.row(
                Layer::Wan,
                format!("echoes to {addr}"),
                format!(
                    "{}/{} answered over the trace and the pings, {} loss",
                    echoes.received,
                    echoes.sent,
                    units::pct_words(echoes.loss_pct())
                ),
                if echoes.loss_proven(LOSS_MIN) {
                    Status::Degraded
                } else {
                    Status::Ok
                },
            );
        }
        assess_slow(b, t, Layer::Wan);
        let proven = echoes.loss_proven(LOSS_MIN);
        if proven && trace.is_none_or(|tr| tr.loss_onset.is_none()) {
            b.find(
                Layer::Wan,
                Status::Degraded,
                Cause::PathLoss,
                format!(
                    "About {} of the packets to {label} are lost ({} of {} echoes): \
                     connections to it are slow and unreliable.",
                    units::pct_words(echoes.loss_pct().round()),
                    echoes.lost(),
                    echoes.sent
                ),
            );
        }
        if let Some(tr) = trace {
            if let (true, Some(onset)) = (proven, tr.loss_onset) {
                let loss = echoes.loss_pct();
                let onset_addr = hop_addr(tr, onset);
                let first_is_gw = tr
                    .hops
                    .first()
                    .and_then(|h| h.addr)
                    .is_some_and(|a| gw_ips.contains(&a));
                let place = if onset == 1 && first_is_gw {
                    ", between this computer and the gateway (on the local network)".to_string()
                } else if onset == 1 {
                    ", between this computer and the first router".to_string()
                } else if tr
                    .hops
                    .iter()
                    .find(|h| h.ttl == onset - 1)
                    .and_then(|h| h.addr)
                    .is_some_and(|a| gw_ips.contains(&a))
                {
                    ", on the link just behind your gateway".to_string()
                } else {
                    String::new()
                };
                b.find(
                    Layer::Wan,
                    Status::Degraded,
                    Cause::PathLoss,
                    format!(
                        "About {} of the packets to {label} are lost ({} of {} echoes), \
                         starting at hop {onset} ({onset_addr}){place}: connections to it are \
                         slow and unreliable.",
                        units::pct_words(loss.round()),
                        echoes.lost(),
                        echoes.sent
                    ),
                );
            }
            for h in tr.hops.iter().filter(|h| h.rate_limited) {
                b.find(
                    Layer::Wan,
                    Status::Ok,
                    Cause::RateLimited,
                    format!(
                        "Hop {} ({}) answered only {} of {} probes while the hops after it \
                         answered: that router limits its ICMP replies (rate limiting); this is \
                         not an outage.",
                        h.ttl,
                        fmt_addr(h.addr),
                        h.received,
                        h.sent
                    ),
                );
            }
        }
        return;
    }
    // Nothing at the address answered: say where the path ends.
    let text = match trace {
        Some(tr) => {
            if let Some(h) = tr.hops.iter().find(|h| h.unreachable.is_some()) {
                let who = fmt_addr(h.addr);
                let why = h.unreachable.clone().unwrap_or_default();
                let text = if h.addr.is_some_and(|a| gw_ips.contains(&a)) {
                    format!(
                        "Your gateway {who} reports that {label} cannot be reached ({why}): it \
                         has no route there."
                    )
                } else {
                    format!(
                        "Router {who} (hop {}) reports that {label} cannot be reached ({why}): \
                         the outage is beyond your network.",
                        h.ttl
                    )
                };
                (Cause::PathUnreachable, text)
            } else {
                match tr.last_responding {
                    None => (
                        Cause::PathDead,
                        format!(
                            "Nothing answers on the path to {label}, not even the first router."
                        ),
                    ),
                    Some(ttl) => {
                        let hop = tr.hops.iter().find(|h| h.ttl == ttl);
                        let ip = hop.and_then(|h| h.addr);
                        let first_is_gw = tr
                            .hops
                            .first()
                            .and_then(|h| h.addr)
                            .is_some_and(|a| gw_ips.contains(&a));
                        if ip.is_some_and(|a| gw_ips.contains(&a)) {
                            (
                                Cause::PathDead,
                                format!(
                                    "The path to {label} stops at your gateway ({}): its \
                                     connection to the outside (the uplink) is down.",
                                    fmt_addr(ip)
                                ),
                            )
                        } else if first_is_gw && ttl >= 2 {
                            (
                                Cause::PathDead,
                                format!(
                                    "The path to {label} stops after the {} router past your \
                                     gateway ({}, hop {ttl}): the outage is upstream of your \
                                     network.",
                                    ordinal(usize::from(ttl) - 1),
                                    fmt_addr(ip)
                                ),
                            )
                        } else {
                            (
                                Cause::PathDead,
                                format!(
                                    "The path to {label} stops after hop {ttl} ({}): the outage \
                                     is upstream of your network.",
                                    fmt_addr(ip)
                                ),
                            )
                        }
                    }
                }
            }
        }
        None => (
            Cause::PathDead,
            format!(
                "{label} does not answer (no ping reply, no TCP answer); a hop-by-hop path needs \
                 CAP_NET_RAW."
            ),
        ),
    };
    b.find(Layer::Wan, Status::Down, text.0, text.1);
}

/// An on-link target: nothing at all answering it is the device's own problem; loss and a
/// slow answer are the local link's.
fn assess_on_link(b: &mut Builder, t: &TargetReport, addr: IpAddr) {
    let label = target_label(t);
    // "(stale.lab.test, 10.77.0.99)" reads better in parentheses than the usual label.
    let inside = match &t.name {
        Some(n) => format!("{n}, {addr}"),
        None => addr.to_string(),
    };
    if let Some(d) = &t.discovery {
        let arp = match &d.arp {
            Some(a) => match a.rtt_ms {
                Some(rtt) => format!("{} in {rtt:.2} ms", a.mac),
                None => format!("{} (neighbour table)", a.mac),
            },
            None => "no reply".to_string(),
        };
        if addr.is_ipv4() {
            b.row(
                Layer::Target,
                format!("{addr} ARP"),
                arp,
                if d.arp.is_some() {
                    Status::Ok
                } else {
                    Status::Down
                },
            );
        }
        b.row(
            Layer::Target,
            format!("{addr} discovery probes"),
            d.probe
                .clone()
                .unwrap_or_else(|| "no answer (TCP SYN 443, ACK 80, ICMP timestamp)".into()),
            if d.probe.is_some() {
                Status::Ok
            } else {
                Status::Down
            },
        );
    }
    if let Some(p) = &t.ping {
        b.row(
            Layer::Target,
            format!("ping {addr}"),
            format!(
                "{}/{} replies, {} loss, avg {}",
                p.received,
                p.sent,
                units::pct_words(p.loss_pct),
                units::ms_text(p.rtt_avg_ms)
            ),
            if p.received > 0 {
                Status::Ok
            } else {
                Status::Down
            },
        );
    }
    if !t.host_answered() {
        let mut tried = Vec::new();
        if t.discovery.as_ref().is_some_and(|d| d.arp.is_none()) && addr.is_ipv4() {
            tried.push("no ARP reply");
        }
        if t.ping.is_some() || t.trace.is_some() {
            tried.push("no ping");
        }
        tried.push("no TCP answer");
        b.find(
            Layer::Target,
            Status::Down,
            Cause::HostDown,
            format!(
                "Nothing answers at this address ({inside}) on the local network: {}. The \
                 device is switched off or disconnected, or the address is unused.",
                list(&tried)
            ),
        );
        return;
    }
    // Found by ARP or TCP, silent to echo, every asked port answering: ICMP filtered, no
    // more (with a silent port too, the target's verdict says "a firewall on the device").
    if t.ping.is_some()
        && !t.echo_answered()
        && t.ports.iter().all(|p| p.state != PortState::Filtered)
    {
        let found_by = t
            .discovery
            .as_ref()
            .map(|d| d.found_by.clone())
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| vec!["TCP".to_string()]);
        b.find(
            Layer::Target,
            Status::Ok,
            Cause::TargetNoPing,
            format!(
                "{label} answers {} but not ping: it filters ICMP, which is harmless.",
                list(&found_by)
            ),
        );
    }
    let echoes = t.echoes();
    if echoes.loss_proven(LOSS_MIN) {
        b.find(
            Layer::Target,
            Status::Degraded,
            Cause::TargetLoss,
            format!(
                "{label} answers, but loses {} of its packets ({} of {} echoes lost): the \
                 link to it is unreliable (Wi-Fi signal, cabling or an overloaded device).",
                units::pct_words(echoes.loss_pct().round()),
                echoes.lost(),
                echoes.sent
            ),
        );
    }
    assess_slow(b, t, Layer::Target);
}

/// Round trips received by the pings and the trace's destination hop.
fn rtt_samples(t: &TargetReport) -> u32 {
    t.echoes().received
}

/// A target that answers slowly: over [`LAN_SLOW_MS`] on the local network, or
/// [`SLOW_FACTOR`] times its baseline from earlier rounds.
fn assess_slow(b: &mut Builder, t: &TargetReport, layer: Layer) {
    let Some(rtt) = t.rtt_avg_ms() else { return };
    if rtt_samples(t) < RTT_MIN_SAMPLES {
        return;
    }
    let label = target_label(t);
    if t.on_link && rtt > LAN_SLOW_MS {
        b.find(
            layer,
            Status::Degraded,
            Cause::TargetSlow,
            format!(
                "{label} takes {rtt:.0} ms to answer on the local network (a LAN answers in a \
                 few ms; over {LAN_SLOW_MS:.0} ms the device or its link is overloaded)."
            ),
        );
        return;
    }
    if let Some(base) = t.baseline_rtt_ms
        && slower(rtt, base)
    {
        // Where the path got slow: the first hop (of the routers) slower than its own
        // baseline in the same way. A router slow on its own is only slow to answer ICMP.
        let onset = t.trace.as_ref().and_then(|tr| {
            tr.hops.iter().find(|h| {
                !h.destination
                    && h.rtt_avg_ms
                        .zip(h.baseline_rtt_ms)
                        .is_some_and(|(now, was)| slower(now, was))
            })
        });
        let place = match onset {
            Some(h) => format!(", starting at hop {} ({})", h.ttl, fmt_addr(h.addr)),
            None => String::new(),
        };
        b.find(
            layer,
            Status::Degraded,
            Cause::TargetSlow,
            format!(
                "{label} takes {rtt:.0} ms to answer, {:.0} times its usual {base:.1} ms{place}: \
                 the link is congested or the device is overloaded.",
                rtt / base
            ),
        );
    }
}

/// `now` is several times `was` and noticeably more: a slow-down, not jitter.
fn slower(now: f64, was: f64) -> bool {
    now > was * SLOW_FACTOR && now - was >= SLOW_MIN_EXTRA_MS
}

/// DNS data of a target that is wrong but does not stop it working by itself (a stale
/// address, a PTR naming another host): notes on the DNS layer. A dangling CNAME is the
/// target's verdict (see [`assess_target`]).
fn assess_dns_records(b: &mut Builder, t: &TargetReport) {
    for f in t
        .dns_findings
        .iter()
        .filter(|f| f.kind != DnsFindingKind::Dangling)
    {
        b.row(
            Layer::Dns,
            format!("{} {}", target_label(t), f.kind.label()),
            f.text.clone(),
            Status::Ok,
        );
        b.find(Layer::Dns, Status::Ok, Cause::DnsRecord, f.text.clone());
    }
}

/// A server as people write it: the address alone when the port is 53.
fn server_name(s: &str) -> String {
    match s.parse::<std::net::SocketAddr>() {
        Ok(sa) if sa.port() == 53 => sa.ip().to_string(),
        _ => s.to_string(),
    }
}

fn fmt_addr(a: Option<IpAddr>) -> String {
    a.map_or_else(|| "no answer".to_string(), |a| a.to_string())
}

fn hop_addr(tr: &TraceReport, ttl: u8) -> String {
    fmt_addr(tr.hops.iter().find(|h| h.ttl == ttl).and_then(|h| h.addr))
}

fn assess_target(b: &mut Builder, t: &TargetReport, dns_answers: bool) {
    let label = target_label(t);
    let Some(addr) = t.address else {
        let Some(name) = &t.name else { return };
        if let Some(f) = t
            .dns_findings
            .iter()
            .find(|f| f.kind == DnsFindingKind::Dangling)
        {
            b.find(
                Layer::Target,
                Status::Down,
                Cause::DnsRecord,
                format!("The name {name} cannot be used: {}", f.text),
            );
            return;
        }
        let answered: Vec<&DnsResult> = t
            .lookups
            .iter()
            .filter(|q| matches!(q.status, DnsStatus::NoError | DnsStatus::NxDomain))
            .collect();
        if answered.iter().any(|q| q.status == DnsStatus::NxDomain)
            && !answered.iter().any(|q| q.status == DnsStatus::NoError)
        {
            b.find(
                Layer::Target,
                Status::Down,
                Cause::NameNotFound,
                format!(
                    "The name {name} does not exist (the DNS answers NXDOMAIN): check its spelling \
                     or its DNS record{}.",
                    if dns_answers {
                        "; DNS itself works"
                    } else {
                        ""
                    }
                ),
            );
        } else if !answered.is_empty() {
            b.find(
                Layer::Target,
                Status::Down,
                Cause::NameNoAddress,
                format!("The name {name} exists but has no address (no A or AAAA record)."),
            );
        } else {
            b.find(
                Layer::Target,
                Status::Skipped,
                Cause::NotChecked,
                format!("{name} was not checked: its name could not be resolved."),
            );
        }
        return;
    };
    for p in &t.ports {
        let (result, status) = match p.state {
            PortState::Open => (format!("open in {}", units::ms_text(p.rtt_ms)), Status::Ok),
            PortState::Closed => ("closed (connection refused)".to_string(), Status::Down),
            PortState::Filtered => ("no answer (filtered)".to_string(), Status::Down),
        };
        let status = if t.host_answered() {
            status
        } else {
            Status::Skipped
        };
        b.row(
            Layer::Target,
            format!("{} port {}", addr, p.port),
            result,
            status,
        );
    }
    if !t.host_answered() {
        return; // the path (or the host) explains it
    }
    let open: Vec<u16> = t
        .ports
        .iter()
        .filter(|p| p.state == PortState::Open)
        .map(|p| p.port)
        .collect();
    let closed: Vec<u16> = t
        .ports
        .iter()
        .filter(|p| p.state == PortState::Closed)
        .map(|p| p.port)
        .collect();
    let filtered: Vec<u16> = t
        .ports
        .iter()
        .filter(|p| p.state == PortState::Filtered)
        .map(|p| p.port)
        .collect();
    let mut problems = Vec::new();
    if !closed.is_empty() {
        problems.push((
            Cause::PortClosed,
            format!("refuses connections on {}", ports_text(&closed)),
        ));
    }
    if !filtered.is_empty() {
        problems.push((
            Cause::PortFiltered,
            format!(
                "does not answer on {} (a firewall drops it, or the service hangs)",
                ports_text(&filtered)
            ),
        ));
    }
    // DNS is down but the service answers at the address: say so, it is what the user
    // asked (the DNS headline explains the rest).
    if !dns_answers && t.name.is_none() && !open.is_empty() {
        let services: Vec<String> = open.iter().map(|p| format!("{addr}:{p}")).collect();
        let verb = if services.len() == 1 {
            "answers"
        } else {
            "answer"
        };
        let text = format!("{} {verb}; only name resolution fails.", list(&services));
        b.checked(Layer::Target, text.clone());
        b.find(Layer::Target, Status::Ok, Cause::ServiceAnswers, text);
    }
    let Some((cause, _)) = problems.first().cloned() else {
        return;
    };
    // A host on the local network that answers ARP or TCP but not echo, with a port that
    // does not answer: its own firewall drops both.
    if t.on_link && !filtered.is_empty() && !t.echo_answered() {
        let mut methods: Vec<String> = t
            .discovery
            .as_ref()
            .map(|d| d.found_by.clone())
            .unwrap_or_default();
        for p in open.iter().chain(&closed) {
            let m = format!("TCP {p}");
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        let verb = if filtered.len() == 1 { "is" } else { "are" };
        let mut text = format!(
            "{label} answers on the network ({}) but drops pings and {} {verb} filtered: a \
             firewall on the device",
            methods.join(", "),
            ports_text(&filtered)
        );
        if !closed.is_empty() {
            text.push_str(&format!(
                "; it refuses connections on {}",
                ports_text(&closed)
            ));
        }
        text.push('.');
        let status = if open.is_empty() {
            Status::Down
        } else {
            Status::Degraded
        };
        b.find(Layer::Target, status, Cause::PortFiltered, text);
        return;
    }
    let what: Vec<String> = problems.into_iter().map(|(_, s)| s).collect();
    if open.is_empty() {
        b.find(
            Layer::Target,
            Status::Down,
            cause,
            format!(
                "{label} is reachable, but {}: the service is down, not the network.",
                what.join(" and ")
            ),
        );
    } else {
        b.find(
            Layer::Target,
            Status::Degraded,
            cause,
            format!(
                "{label} answers on {}, but {}: that service is down, not the network.",
                ports_text(&open),
                what.join(" and ")
            ),
        );
    }
}

/// The verdict.
pub fn assess(i: &Inputs<'_>) -> Assessment {
    let mut b = Builder {
        findings: Vec::new(),
        evidence: Vec::new(),
        checked: Vec::new(),
        ok_summary: Vec::new(),
    };
    assess_local(&mut b, i.local);
    if !i.skipped_rest {
        if !i.gateways.is_empty() {
            assess_gateways(&mut b, i.gateways);
        }
        assess_dns(&mut b, i.resolvers, i.gateways, i.targets);
        let dns_answers = i
            .resolvers
            .iter()
            .any(|r| r.state == ResolverState::Answers);
        for t in i.targets {
            assess_path(&mut b, t, i.gateways);
            assess_target(&mut b, t, dns_answers);
            assess_dns_records(&mut b, t);
        }
        let wan_checked = i.targets.iter().any(|t| t.address.is_some() && !t.on_link);
        if wan_checked {
            let n = i
                .targets
                .iter()
                .filter(|t| t.address.is_some() && !t.on_link)
                .count();
            b.checked(
                Layer::Wan,
                format!("{n} path{} checked", if n == 1 { "" } else { "s" }),
            );
        }
        // A target counts as checked when something at its address answered (its ports
        // could then be judged); behind a dead path it was not checked, the path explains.
        let checked_targets: Vec<String> = i
            .targets
            .iter()
            .filter(|t| t.address.is_some() && (t.host_answered() || t.on_link))
            .map(target_label)
            .collect();
        if !checked_targets.is_empty() {
            b.checked(Layer::Target, list(&checked_targets));
        }
    }

    let layer_status = |layer: Layer| -> Status {
        let worst = b
            .findings
            .iter()
            .filter(|f| f.layer == layer)
            .map(|f| f.status)
            .max();
        match worst {
            Some(s) if s > Status::Ok => s,
            _ if b.checked.contains(&layer) => Status::Ok,
            Some(s) => s,
            None => Status::Skipped,
        }
    };
    let layers: Vec<LayerSummary> = Layer::ALL
        .iter()
        .map(|&layer| {
            let status = layer_status(layer);
            let summary = match status {
                Status::Ok => b
                    .ok_summary
                    .iter()
                    .find(|(l, _)| *l == layer)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default(),
                Status::Skipped => skipped_reason(layer, i),
                _ => b
                    .findings
                    .iter()
                    .filter(|f| f.layer == layer)
                    .max_by_key(|f| f.status)
                    .map(|f| f.text.clone())
                    .unwrap_or_default(),
            };
            LayerSummary {
                layer,
                status,
                summary,
            }
        })
        .collect();
    let worst = layers
        .iter()
        .map(|l| l.status)
        .max()
        .unwrap_or(Status::Skipped);
    let mut findings = b.findings;
    // Sort: worst first, then bottom layer first; notes (ok) last.
    findings.sort_by(|a, c| c.status.cmp(&a.status).then(a.layer.cmp(&c.layer)));
    let (status, layer, cause, mut verdict) = if worst > Status::Ok {
        let failing = layers
            .iter()
            .find(|l| l.status == worst)
            .map(|l| l.layer)
            .unwrap_or(Layer::Local);
        // The headline goes first in the list.
        let idx = findings
            .iter()
            .position(|f| f.layer == failing && f.status == worst)
            .unwrap_or(0);
        let head = findings.remove(idx);
        let out = (worst, Some(failing), head.cause, head.text.clone());
        findings.insert(0, head);
        out
    } else {
        (
            Status::Ok,
            None,
            Cause::Healthy,
            healthy_sentence(&layers, i),
        )
    };
    // Nothing answers where a name points: the record itself may be the fault.
    if matches!(cause, Cause::HostDown | Cause::PathUnreachable) {
        for t in i.targets {
            for f in t
                .dns_findings
                .iter()
                .filter(|f| f.kind == DnsFindingKind::Stale)
            {
                verdict.push(' ');
                verdict.push_str(&f.text);
            }
        }
    }
    // Names fail but a service asked for answers at its address: the headline says both.
    if layer == Some(Layer::Dns) {
        for f in findings.iter().filter(|f| f.cause == Cause::ServiceAnswers) {
            verdict.push(' ');
            verdict.push_str(&f.text);
        }
    }
    if !i.targets_given && status != Status::Ok && !i.skipped_rest {
        verdict.push_str(
            " No target was given, so only this computer, the gateway and the DNS servers were \
             checked.",
        );
    }
    Assessment {
        status,
        layer,
        cause,
        verdict,
        findings,
        layers,
        evidence: b.evidence,
    }
}

fn skipped_reason(layer: Layer, i: &Inputs<'_>) -> String {
    if i.skipped_rest {
        return "not checked: this computer has no working network connection".to_string();
    }
    match layer {
        Layer::Gateway => "not checked: no default route".to_string(),
        Layer::Wan | Layer::Target if !i.targets_given => "not checked: no target given".into(),
        Layer::Wan => "no target beyond the local network".to_string(),
        Layer::Target => "not checked: no target could be reached".to_string(),
        _ => "not checked".to_string(),
    }
}

fn healthy_sentence(layers: &[LayerSummary], i: &Inputs<'_>) -> String {
    let gws: Vec<IpAddr> = i
        .gateways
        .iter()
        .filter(|g| g.answers())
        .map(|g| g.ip)
        .take(1)
        .collect();
    let dns: Vec<IpAddr> = i.resolvers.iter().map(|r| r.ip).collect();
    let mut parts = vec!["this computer's connection".to_string()];
    if let Some(gw) = gws.first() {
        parts.push(format!("the gateway {gw}"));
    }
    if !dns.is_empty() {
        let noun = if dns.len() == 1 {
            "DNS server"
        } else {
            "DNS servers"
        };
        parts.push(format!("the {noun} {}", list(&dns)));
    }
    let target_ok = layers
        .iter()
        .any(|l| l.layer == Layer::Target && l.status == Status::Ok);
    if i.targets_given && target_ok {
        let ts: Vec<String> = i.targets.iter().map(target_label).collect();
        let ports = if i.ports.is_empty() {
            String::new()
        } else {
            format!(" on {}", ports_text(i.ports))
        };
        let verb = if ts.len() == 1 { "answers" } else { "answer" };
        let mut s = format!(
            "Everything checked works: {}, and {} {verb}{ports}.",
            list(&parts),
            list(&ts)
        );
        // Loss a manager may see in a hop table deserves a word: it is not an outage.
        let limited: Vec<String> = i
            .targets
            .iter()
            .filter_map(|t| t.trace.as_ref())
            .flat_map(|tr| &tr.hops)
            .filter(|h| h.rate_limited)
            .map(|h| format!("hop {} ({})", h.ttl, fmt_addr(h.addr)))
            .collect();
        if !limited.is_empty() {
            s.push_str(&format!(
                " The loss at {} is that router limiting its ICMP replies, not an outage.",
                list(&limited)
            ));
        }
        s
    } else {
        let mut s = list(&parts);
        s[..1].make_ascii_uppercase();
        format!(
            "{s} work. No target was given, so the internet path and services were not checked."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{DnsAnswer, RecordType};
    use crate::diagnose::model::{InterfaceReport, Ping, PortReport, RouteReport};
    use crate::diagnose::path::trace_report;
    use crate::net::traceroute::Unreachable;
    use crate::net::traceroute::{Hop, TraceProtocol};
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn hop(ttl: u8, addr: Option<&str>, sent: u32, received: u32, dest: bool) -> Hop {
        Hop {
            ttl,
            addr: addr.map(ip),
            others: vec![],
            sent,
            received,
            rtts: vec![Duration::from_millis(1); received as usize],
            destination: dest,
            unreachable: None,
        }
    }

    fn healthy_local() -> LocalReport {
        LocalReport {
            interfaces: vec![InterfaceReport {
                name: "eth0".into(),
                link: "up".into(),
                mac: None,
                addrs: vec!["10.77.0.10/24".into()],
            }],
            default_routes: vec![RouteReport {
                gateway: ip("10.77.0.1"),
                iface: "eth0".into(),
                metric: 0,
            }],
            ..LocalReport::default()
        }
    }

    fn gw(answers: bool) -> GatewayReport {
        GatewayReport {
            ip: ip("10.77.0.1"),
            iface: "eth0".into(),
            arp_checked: true,
            arp: answers.then(|| crate::diagnose::model::ArpReport {
                mac: "00:00:0c:77:00:01".into(),
                rtt_ms: Some(0.2),
                source: "arp".into(),
            }),
            tcp: None,
            ping: Some(Ping::from_rtts(
                5,
                &if answers {
                    vec![Duration::from_micros(100); 5]
                } else {
                    vec![]
                },
            )),
            note: None,
        }
    }

    fn dns(status: DnsStatus, rtype: RecordType, name: &str, answer: Option<&str>) -> DnsResult {
        let responded = !matches!(status, DnsStatus::Timeout);
        DnsResult {
            name: name.into(),
            rtype,
            status,
            answers: answer
                .map(|a| DnsAnswer {
                    rtype: rtype.to_string(),
                    value: a.into(),
                    ttl: 60,
                })
                .into_iter()
                .collect(),
            server: Some("10.77.0.53:53".into()),
            rtt_ms: responded.then_some(0.4),
            error: None,
            findings: Vec::new(),
        }
    }

    fn resolver(status: DnsStatus) -> ResolverReport {
        let q = dns(status, RecordType::PTR, "53.0.77.10.in-addr.arpa", None);
        ResolverReport {
            server: "10.77.0.53:53".into(),
            ip: ip("10.77.0.53"),
            on_link: true,
            ping: None,
            state: resolver_state(std::slice::from_ref(&q)),
            rtt_ms: q.rtt_ms,
            queries: vec![q],
        }
    }

    fn target_ok() -> TargetReport {
        TargetReport {
            target: "app.lab.test".into(),
            name: Some("app.lab.test".into()),
            addresses: vec![ip("10.9.0.10")],
            address: Some(ip("10.9.0.10")),
            on_link: false,
            lookups: vec![dns(
                DnsStatus::NoError,
                RecordType::A,
                "app.lab.test",
                Some("10.9.0.10"),
            )],
            ports: vec![PortReport {
                port: 443,
                state: PortState::Open,
                rtt_ms: Some(0.3),
                service: Some("https".into()),
            }],
            ping: None,
            trace: Some(trace_report(
                &[
                    hop(1, Some("10.77.0.1"), 10, 10, false),
                    hop(2, Some("10.62.0.2"), 10, 10, false),
                    hop(3, Some("10.9.0.10"), 30, 30, true),
                ],
                TraceProtocol::Icmp,
            )),
            discovery: None,
            baseline_rtt_ms: None,
            rtt_median_ms: None,
            dns_findings: vec![],
            notes: vec![],
        }
    }

    fn run(
        local: &LocalReport,
        gws: &[GatewayReport],
        rs: &[ResolverReport],
        ts: &[TargetReport],
    ) -> Assessment {
        assess(&Inputs {
            local,
            gateways: gws,
            resolvers: rs,
            targets: ts,
            targets_given: !ts.is_empty(),
            ports: &[443],
            skipped_rest: usable_interfaces(local).is_empty(),
        })
    }

    #[test]
    fn healthy_network_says_so() {
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[target_ok()],
        );
        assert_eq!(a.status, Status::Ok, "{a:#?}");
        assert_eq!(a.layer, None);
        assert!(
            a.verdict.starts_with("Everything checked works"),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn no_target_checks_only_the_local_side_and_says_so() {
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[],
        );
        assert_eq!(a.status, Status::Ok);
        assert!(a.verdict.contains("No target was given"), "{}", a.verdict);
        let wan = a.layers.iter().find(|l| l.layer == Layer::Wan).unwrap();
        assert_eq!(wan.status, Status::Skipped);
    }

    #[test]
    fn dead_gateway_is_the_failing_layer_not_the_wan() {
        let mut t = target_ok();
        t.ports[0].state = PortState::Filtered;
        t.trace = Some(trace_report(
            &[hop(1, None, 10, 0, false)],
            TraceProtocol::Icmp,
        ));
        let a = run(
            &healthy_local(),
            &[gw(false)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Down);
        assert_eq!(a.layer, Some(Layer::Gateway));
        assert_eq!(a.cause, Cause::GatewayUnreachable);
    }

    #[test]
    fn silent_resolver_reads_like_the_issue() {
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::Timeout)],
            &[],
        );
        assert_eq!(a.layer, Some(Layer::Dns));
        assert_eq!(a.cause, Cause::DnsTimeout);
        assert!(
            a.verdict.starts_with(
                "The gateway 10.77.0.1 answers, but the DNS server 10.77.0.53 does not answer: \
                 names cannot be resolved, while addresses are reachable."
            ),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn servfail_is_a_dns_error() {
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::ServFail)],
            &[],
        );
        assert_eq!(a.cause, Cause::DnsError);
        assert!(a.verdict.contains("SERVFAIL"), "{}", a.verdict);
    }

    #[test]
    fn path_stopping_after_the_second_router() {
        let mut t = target_ok();
        t.ports[0].state = PortState::Filtered;
        t.trace = Some(trace_report(
            &[
                hop(1, Some("10.77.0.1"), 10, 10, false),
                hop(2, Some("10.62.0.2"), 10, 10, false),
                hop(3, Some("10.62.1.2"), 10, 10, false),
                hop(4, None, 10, 0, false),
            ],
            TraceProtocol::Icmp,
        ));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.layer, Some(Layer::Wan));
        assert_eq!(a.cause, Cause::PathDead);
        assert!(
            a.verdict
                .contains("stops after the 2nd router past your gateway (10.62.1.2, hop 3)"),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn loss_at_one_hop_only_is_rate_limiting() {
        let tr = trace_report(
            &[
                hop(1, Some("10.77.0.1"), 10, 10, false),
                hop(2, Some("10.62.0.2"), 10, 10, false),
                hop(3, Some("10.62.1.2"), 10, 2, false),
                hop(4, Some("10.62.2.2"), 10, 10, false),
                hop(5, Some("10.9.0.10"), 35, 35, true),
            ],
            TraceProtocol::Icmp,
        );
        assert!(tr.hops[2].rate_limited);
        assert_eq!(tr.loss_onset, None);
        let mut t = target_ok();
        t.trace = Some(tr);
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Ok, "{a:#?}");
        assert!(a.findings.iter().any(|f| f.cause == Cause::RateLimited));
        assert!(
            a.verdict
                .contains("The loss at hop 3 (10.62.1.2) is that router limiting"),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn loss_that_carries_on_starts_where_it_starts() {
        let tr = trace_report(
            &[
                hop(1, Some("10.77.0.1"), 10, 10, false),
                hop(2, Some("10.62.0.2"), 10, 7, false),
                hop(3, Some("10.62.1.2"), 10, 8, false),
                hop(4, Some("10.62.2.2"), 10, 6, false),
                hop(5, Some("10.9.0.10"), 35, 25, true),
            ],
            TraceProtocol::Icmp,
        );
        assert!(tr.hops.iter().all(|h| !h.rate_limited), "{tr:#?}");
        assert_eq!(tr.loss_onset, Some(2));
        let mut t = target_ok();
        t.trace = Some(tr);
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Degraded);
        assert_eq!(a.layer, Some(Layer::Wan));
        assert_eq!(a.cause, Cause::PathLoss);
        assert!(
            a.verdict.contains("just behind your gateway"),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn closed_port_is_the_service() {
        let mut t = target_ok();
        t.ports[0].state = PortState::Closed;
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Down);
        assert_eq!(a.layer, Some(Layer::Target));
        assert_eq!(a.cause, Cause::PortClosed);
    }

    #[test]
    fn nxdomain_name_is_the_target() {
        let mut t = target_ok();
        t.addresses.clear();
        t.address = None;
        t.trace = None;
        t.ports.clear();
        t.lookups = vec![dns(
            DnsStatus::NxDomain,
            RecordType::A,
            "nope.lab.test",
            None,
        )];
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.layer, Some(Layer::Target));
        assert_eq!(a.cause, Cause::NameNotFound);
    }

    #[test]
    fn unplugged_cable_skips_everything_else() {
        let mut local = healthy_local();
        local.interfaces[0].link = "down".into();
        let a = run(&local, &[], &[], &[]);
        assert_eq!(a.layer, Some(Layer::Local));
        assert_eq!(a.cause, Cause::LinkDown);
        assert!(
            a.layers
                .iter()
                .filter(|l| l.layer != Layer::Local)
                .all(|l| l.status == Status::Skipped)
        );
    }

    #[test]
    fn router_saying_unreachable_is_named() {
        let mut h2 = hop(2, Some("10.77.0.1"), 20, 20, false);
        h2.unreachable = Some(Unreachable::Network);
        let mut t = target_ok();
        t.ports[0].state = PortState::Filtered;
        t.trace = Some(trace_report(
            &[hop(1, Some("10.77.0.1"), 10, 10, false), h2],
            TraceProtocol::Icmp,
        ));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.cause, Cause::PathUnreachable);
        assert!(
            a.verdict.starts_with("Your gateway 10.77.0.1 reports"),
            "{}",
            a.verdict
        );
    }

    fn second_resolver(status: DnsStatus) -> ResolverReport {
        let mut r = resolver(status);
        r.server = "10.77.0.54:53".into();
        r.ip = ip("10.77.0.54");
        for q in &mut r.queries {
            q.server = Some("10.77.0.54:53".into());
        }
        r
    }

    #[test]
    fn one_dead_resolver_of_two_is_degraded() {
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[
                resolver(DnsStatus::Timeout),
                second_resolver(DnsStatus::NoError),
            ],
            &[],
        );
        assert_eq!(a.status, Status::Degraded);
        assert_eq!(a.layer, Some(Layer::Dns));
        assert_eq!(a.cause, Cause::DnsPartial);
        assert!(
            a.verdict
                .starts_with("The DNS server 10.77.0.53 does not answer, but 10.77.0.54 does"),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn resolvers_disagreeing_about_a_name_is_degraded() {
        let mut t = target_ok();
        let mut other = dns(DnsStatus::NxDomain, RecordType::A, "app.lab.test", None);
        other.server = Some("10.77.0.54:53".into());
        t.lookups.push(other);
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[
                resolver(DnsStatus::NoError),
                second_resolver(DnsStatus::NoError),
            ],
            &[t],
        );
        assert_eq!(a.cause, Cause::DnsDisagree, "{a:#?}");
        assert!(
            a.verdict
                .contains("10.77.0.53 finds it, 10.77.0.54 says it does not exist"),
            "{}",
            a.verdict
        );
    }

    fn on_link(ports: &[(u16, PortState)], found_by: &[&str], ping: (u32, u32)) -> TargetReport {
        let mut t = target_ok();
        t.target = "10.77.0.40".into();
        t.name = None;
        t.lookups.clear();
        t.addresses = vec![ip("10.77.0.40")];
        t.address = Some(ip("10.77.0.40"));
        t.on_link = true;
        t.trace = None;
        t.ports = ports
            .iter()
            .map(|&(port, state)| PortReport {
                port,
                state,
                rtt_ms: None,
                service: None,
            })
            .collect();
        t.ping = Some(Ping::from_rtts(
            ping.0,
            &vec![Duration::from_millis(1); ping.1 as usize],
        ));
        t.discovery = Some(crate::diagnose::model::DiscoveryReport {
            arp: None,
            probe: None,
            found_by: found_by.iter().map(|s| s.to_string()).collect(),
        });
        t
    }

    #[test]
    fn on_link_host_dropping_pings_and_a_port_is_a_firewall() {
        let t = on_link(&[(80, PortState::Filtered)], &["ARP", "TCP 443"], (20, 0));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!((a.status, a.cause), (Status::Down, Cause::PortFiltered));
        assert_eq!(
            a.verdict,
            "10.77.0.40 answers on the network (ARP, TCP 443) but drops pings and port 80 is \
             filtered: a firewall on the device."
        );
    }

    #[test]
    fn on_link_host_dropping_only_pings_is_healthy_with_a_note() {
        let t = on_link(&[(22, PortState::Open)], &["ARP", "TCP 443"], (20, 0));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Ok, "{}", a.verdict);
        assert!(a.findings.iter().any(|f| f.cause == Cause::TargetNoPing
            && f.text
                == "10.77.0.40 answers ARP and TCP 443 but not ping: it filters ICMP, which is \
                    harmless."));
    }

    #[test]
    fn empty_on_link_address_is_nothing_answers() {
        let t = on_link(&[(80, PortState::Filtered)], &[], (20, 0));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!((a.status, a.cause), (Status::Down, Cause::HostDown));
        assert!(
            a.verdict.starts_with(
                "Nothing answers at this address (10.77.0.40) on the local network: no ARP \
                 reply, no ping and no TCP answer."
            ),
            "{}",
            a.verdict
        );
    }

    #[test]
    fn loss_is_a_verdict_only_when_proven() {
        use crate::diagnose::model::Echoes;
        let e = |sent, received| Echoes { sent, received };
        assert!(e(60, 42).loss_proven(0.05), "30 % of 60");
        assert!(!e(30, 28).loss_proven(0.05), "2 of 30 proves nothing");
        assert!(!e(50, 49).loss_proven(0.05));
        assert!(
            !e(20, 0).loss_proven(0.05),
            "no reply: drops pings, not loss"
        );
        assert!(e(30, 29).loss_suspected(0.05));
        assert!(!e(30, 30).loss_suspected(0.05));
        // 38 % of 60 echoes lost on a LAN host: degraded, exit 1, the figure in the sentence.
        let t = on_link(&[(80, PortState::Open)], &["ARP"], (60, 37));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!((a.status, a.cause), (Status::Degraded, Cause::TargetLoss));
        assert_eq!(a.status.exit_code(), 1);
        assert!(
            a.verdict.contains("loses 38 % of its packets (23 of 60"),
            "{}",
            a.verdict
        );
        // One lost echo of sixty on a healthy host: still healthy.
        let t = on_link(&[(80, PortState::Open)], &["ARP"], (60, 59));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Ok, "{}", a.verdict);
    }

    #[test]
    fn slow_lan_and_slower_than_baseline_are_degraded() {
        let mut t = on_link(&[(80, PortState::Open)], &["ARP"], (0, 0));
        t.ping = Some(Ping::from_rtts(20, &[Duration::from_millis(201); 20]));
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!((a.status, a.cause), (Status::Degraded, Cause::TargetSlow));
        assert!(
            a.verdict
                .starts_with("10.77.0.40 takes 201 ms to answer on the local network"),
            "{}",
            a.verdict
        );
        // Across the WAN: 40 ms against a 5 ms baseline from earlier rounds.
        let mut t = target_ok();
        t.trace = Some(trace_report(
            &[
                hop(1, Some("10.77.0.1"), 10, 10, false),
                Hop {
                    rtts: vec![Duration::from_millis(40); 30],
                    ..hop(2, Some("10.9.0.10"), 30, 30, true)
                },
            ],
            TraceProtocol::Icmp,
        ));
        t.baseline_rtt_ms = Some(5.0);
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t.clone()],
        );
        assert_eq!((a.status, a.layer), (Status::Degraded, Some(Layer::Wan)));
        assert!(
            a.verdict.contains("8 times its usual 5.0 ms: "),
            "{}",
            a.verdict
        );
        // The hop where it starts, when a router is slower than its own baseline too.
        let mut with_hops = t.clone();
        with_hops.trace = Some(trace_report(
            &[
                hop(1, Some("10.77.0.1"), 10, 10, false),
                Hop {
                    rtts: vec![Duration::from_millis(39); 10],
                    ..hop(2, Some("10.62.0.2"), 10, 10, false)
                },
                Hop {
                    rtts: vec![Duration::from_millis(40); 30],
                    ..hop(3, Some("10.9.0.10"), 30, 30, true)
                },
            ],
            TraceProtocol::Icmp,
        ));
        if let Some(tr) = with_hops.trace.as_mut() {
            tr.hops[0].baseline_rtt_ms = Some(0.3);
            tr.hops[1].baseline_rtt_ms = Some(4.0);
        }
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[with_hops],
        );
        assert!(
            a.verdict
                .contains("8 times its usual 5.0 ms, starting at hop 2 (10.62.0.2): "),
            "{}",
            a.verdict
        );
        t.baseline_rtt_ms = Some(30.0);
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Ok, "{}", a.verdict);
    }

    #[test]
    fn slow_is_judged_on_the_median_not_on_a_few_late_replies() {
        use crate::diagnose::model::median_ms;
        let mut rtts = vec![Duration::from_millis(1); 12];
        rtts.extend(vec![Duration::from_millis(400); 8]);
        assert_eq!(median_ms(&rtts), Some(1.0));
        let mut t = on_link(&[(80, PortState::Open)], &["ARP"], (0, 0));
        t.ping = Some(Ping::from_rtts(20, &rtts));
        assert!(t.ping.as_ref().unwrap().rtt_avg_ms.unwrap() > LAN_SLOW_MS);
        t.rtt_median_ms = median_ms(&rtts);
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::NoError)],
            &[t],
        );
        assert_eq!(a.status, Status::Ok, "{}", a.verdict);
    }

    #[test]
    fn dns_down_names_the_service_that_answers() {
        let mut t = target_ok();
        t.target = "10.9.0.10".into();
        t.name = None;
        t.lookups.clear();
        let a = run(
            &healthy_local(),
            &[gw(true)],
            &[resolver(DnsStatus::Timeout)],
            &[t],
        );
        assert_eq!((a.layer, a.cause), (Some(Layer::Dns), Cause::DnsTimeout));
        assert!(
            a.verdict.ends_with(
                "while addresses are reachable. 10.9.0.10:443 answers; only name resolution fails."
            ),
            "{}",
            a.verdict
        );
        let target = a.layers.iter().find(|l| l.layer == Layer::Target).unwrap();
        assert_eq!(
            target.summary,
            "10.9.0.10:443 answers; only name resolution fails."
        );
    }

    #[test]
    fn words() {
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(23), "23rd");
    }
}
