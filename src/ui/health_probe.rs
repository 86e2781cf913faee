//! The header's check of one round, on the probe session: the local context re-read, then
//! at once the default gateways (ARP and pings, or TCP connects without ICMP, as `netdx
//! diagnose` checks them), one query to each resolver, and the WAN target (pinged, or a TCP
//! connect when a port is configured or ICMP is unavailable). What it finds is judged in
//! [`super::health`]. Nothing is sent anywhere else.

use crate::core::units;
use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::net::session::Session;

use super::health::{GatewayCheck, HeaderCheck, ResolverCheck, WanCheck, WanTarget};
use super::prober::ScanTemplate;

/// Resolvers checked per round (resolv.conf allows three).
const HEADER_RESOLVERS: usize = 3;
/// Echo requests per round to the WAN target (the first reply ends the series).
const HEADER_PINGS: u32 = 3;

/// One header check on the session: the context re-read, then at once the gateways (ARP and
/// pings, or TCP without ICMP), one query to each resolver and the WAN target.
pub async fn run(
    session: Session,
    template: ScanTemplate,
    configured: Option<WanTarget>,
    cancel: CancellationToken,
) -> HeaderCheck {
    use crate::diagnose::checks::{self, Probes};
    use crate::net::sys::netinfo::LocalContext;
    let context = LocalContext::read_with(&session.arp().interfaces());
    let timeout = template.timeout;
    let mut probes = Probes::new(session.clone());
    if !template.ping {
        // --no-ping: ARP and TCP only.
        probes.icmp = None;
    }
    let gateways = futures::future::join_all(context.gateways.iter().map(|g| {
        let probes = &probes;
        let cancel = &cancel;
        async move {
            let r = checks::gateway(g, probes, timeout, cancel).await;
            if r.note.is_some() && r.ping.is_none() && r.tcp.is_none() && !r.arp_checked {
                // Not checkable (a link-local IPv6 router): says nothing either way.
                return None;
            }
            let arp = r.arp.as_ref().filter(|a| a.source == "arp");
            let ping = r.ping.as_ref();
            let tcp = r
                .tcp
                .as_ref()
                .filter(|t| t.state != crate::core::model::PortState::Filtered);
            Some(GatewayCheck {
                ip: r.ip,
                answered: arp.is_some() || ping.is_some_and(|p| p.received > 0) || tcp.is_some(),
                rtt_ms: ping.and_then(|p| p.rtt_avg_ms),
                loss_pct: ping.map(|p| p.loss_pct),
                by: match (arp, tcp) {
                    (Some(_), _) => Some("ARP".to_string()),
                    (None, Some(t)) => Some(format!("TCP {}", t.port)),
                    _ => None,
                },
            })
        }
    }));
    let servers: Vec<SocketAddr> = match template.resolver {
        Some(r) => vec![r],
        None => context
            .resolv
            .nameservers
            .iter()
            .take(HEADER_RESOLVERS)
            .map(|ip| SocketAddr::new(*ip, 53))
            .collect(),
    };
    // One question to each resolver, on a socket kept per server (a full client would open
    // one per question, i.e. per round).
    let resolvers = futures::future::join_all(servers.into_iter().map(|server| {
        let session = session.clone();
        async move {
            let own = format!("{}.", crate::net::dns::reverse_name(server.ip()));
            let (status, rtt) = session.dns_alive(server, own, template.dns_timeout).await;
            ResolverCheck {
                server,
                status,
                rtt_ms: rtt.map(|d| d.as_secs_f64() * 1000.0),
            }
        }
    }));
    let wan = async {
        let target = match super::health::wan_target(configured, &context.resolv.nameservers) {
            Ok(t) => t,
            Err(why) => return WanCheck::NotProbed(why.to_string()),
        };
        let icmp = probes.icmp.clone().filter(|i| i.supports(target.addr));
        match (target.port, icmp) {
            (None, Some(icmp)) => {
                let plan = crate::net::icmp::EchoPlan {
                    timeout,
                    tries: HEADER_PINGS,
                    until_first_reply: true,
                };
                let addr = target.addr;
                let out = session
                    .measured(async move { icmp.echo(addr, plan).await })
                    .await;
                let rtts = out.map(|o| o.rtts).unwrap_or_default();
                let rtt_ms = (!rtts.is_empty())
                    .then(|| units::ms(rtts.iter().sum::<Duration>() / rtts.len() as u32));
                WanCheck::Probed {
                    target,
                    answered: !rtts.is_empty(),
                    rtt_ms,
                    how: "ping".to_string(),
                }
            }
            _ => {
                let port = target.tcp_port();
                let _permit = session.connects().clone().acquire_owned().await.ok();
                let o = crate::net::tcp::probe(SocketAddr::new(target.addr, port), timeout * 3 / 2)
                    .await;
                WanCheck::Probed {
                    target,
                    answered: o.state != crate::core::model::PortState::Filtered,
                    rtt_ms: o.rtt.map(units::ms),
                    how: format!("TCP {port}"),
                }
            }
        }
    };
    let (gateways, resolvers, wan) = tokio::join!(gateways, resolvers, wan);
    HeaderCheck {
        context,
        gateways: gateways.into_iter().flatten().collect(),
        resolvers,
        wan,
    }
}
