//! ICMP echo over surge-ping: one shared client (one socket) per address family, as
//! surge-ping intends, whatever the number of targets.
//!
//! Tries are staggered inside one timeout window instead of each waiting a whole timeout: a
//! host with 30 % loss is found after the second or third try without the sweep costing more
//! than one timeout in total.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::core::event::IcmpOutcome;
use crate::net::sys::neigh::Neighbours;

#[derive(Debug, thiserror::Error)]
pub enum IcmpError {
    #[error(
        "ICMP is not available: no raw socket (needs CAP_NET_RAW) and unprivileged ICMP sockets are off (net.ipv4.ping_group_range)"
    )]
    Unavailable,
}

pub type Result<T> = std::result::Result<T, IcmpError>;

/// Which kind of socket the kernel gave us, worth telling the user: an unprivileged socket
/// cannot see TTL-exceeded replies, a raw one needs CAP_NET_RAW.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    Raw,
    Unprivileged,
}

/// Timing of one echo series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoPlan {
    /// Window for the whole series, from the first request.
    pub timeout: Duration,
    /// Echo requests to send (at least one).
    pub tries: u32,
    /// Discovery: send no further tries once one is answered (tries already sent are still
    /// waited for, so the loss figure counts only what was sent). A scan of a responsive host
    /// is then done in one round trip instead of a whole series.
    pub until_first_reply: bool,
}

impl EchoPlan {
    /// Gap between tries: spread over the first half of the window so the last try still has
    /// half a timeout to come back, and never more than 200 ms apart.
    pub fn spacing(&self) -> Duration {
        let tries = self.tries.max(1);
        if tries == 1 {
            return Duration::ZERO;
        }
        (self.timeout / 2 / (tries - 1)).min(Duration::from_millis(200))
    }
}

/// The sockets of one address family. First contact and retries use separate sockets on
/// purpose: first echoes to empty on-link addresses wait ~3 s in the kernel's neighbour queue,
/// charged to the sending socket's buffer; on a sweep they can fill it. Retries only go to
/// addresses that resolve (see `neigh`), so on their own socket they are never stuck behind
/// those, and a lossy live host gets its retries out on time.
#[derive(Clone)]
struct Family {
    first: Client,
    retry: Client,
    kind: SocketKind,
}

#[derive(Clone)]
pub struct IcmpProbe {
    v4: Option<Family>,
    v6: Option<Family>,
    neighbours: Arc<Neighbours>,
}

fn client(kind: ICMP) -> Option<(Client, SocketKind)> {
    let config = Config::builder().kind(kind).build();
    let client = Client::new(&config).ok()?;
    let sock = if client.get_socket().get_type() == socket2::Type::RAW {
        SocketKind::Raw
    } else {
        SocketKind::Unprivileged
    };
    Some((client, sock))
}

fn family(kind: ICMP) -> Option<Family> {
    let (first, kind_first) = client(kind)?;
    let (retry, _) = client(kind)?;
    Some(Family {
        first,
        retry,
        kind: kind_first,
    })
}

impl IcmpProbe {
    /// Open the sockets of each family (unprivileged first, raw as surge-ping's fallback).
    /// Must be called inside a tokio runtime: each client runs one receive task.
    pub fn new() -> Result<Self> {
        let v4 = family(ICMP::V4);
        let v6 = family(ICMP::V6);
        if v4.is_none() && v6.is_none() {
            return Err(IcmpError::Unavailable);
        }
        Ok(IcmpProbe {
            v4,
            v6,
            neighbours: Arc::new(Neighbours::default()),
        })
    }

    pub fn socket_kind_v4(&self) -> Option<SocketKind> {
        self.v4.as_ref().map(|f| f.kind)
    }

    pub fn supports(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(_) => self.v4.is_some(),
            IpAddr::V6(_) => self.v6.is_some(),
        }
    }

    /// Send `plan.tries` echo requests, staggered, and collect every reply that comes back
    /// within `plan.timeout` of the first. Returns early once every try has been answered.
    pub async fn echo(&self, ip: IpAddr, plan: EchoPlan) -> IcmpOutcome {
        self.echo_with(ip, plan, |_| {}).await
    }

    /// [`IcmpProbe::echo`], calling `on_first_reply` with the round trip as soon as the first
    /// reply arrives: the engine starts on a live host's ports then, not after the last try.
    pub async fn echo_with(
        &self,
        ip: IpAddr,
        plan: EchoPlan,
        on_first_reply: impl FnOnce(Duration),
    ) -> IcmpOutcome {
        let mut on_first_reply = Some(on_first_reply);
        let family = match ip {
            IpAddr::V4(_) => self.v4.as_ref(),
            IpAddr::V6(_) => self.v6.as_ref(),
        };
        let mut outcome = IcmpOutcome {
            ip,
            sent: 0,
            received: 0,
            rtts: Vec::new(),
        };
        let Some(family) = family else {
            return outcome;
        };
        let ident = PingIdentifier(rand::random::<u16>());
        let start = Instant::now();
        let deadline = start + plan.timeout;
        let spacing = plan.spacing();
        let payload = [0u8; 16];
        let mut pending = FuturesUnordered::new();
        let stop = CancellationToken::new();
        let sent = Arc::new(AtomicU32::new(0));
        for seq in 0..plan.tries.max(1) {
            let send_at = start + spacing * seq;
            let client = if seq == 0 {
                family.first.clone()
            } else {
                family.retry.clone()
            };
            let neighbours = self.neighbours.clone();
            let (stop, sent) = (stop.clone(), sent.clone());
            pending.push(async move {
                tokio::select! {
                    _ = tokio::time::sleep_until(send_at) => {}
                    _ = stop.cancelled() => return None,
                }
                // A retry to an address the kernel cannot resolve would only sit in the
                // neighbour queue and fill our send buffer (see `neigh`): not sent.
                if seq > 0 && neighbours.unresolved(ip) {
                    return None;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                let mut pinger = client.pinger(ip, ident).await;
                pinger.timeout(deadline.saturating_duration_since(Instant::now()));
                Some(pinger.ping(PingSequence(seq as u16), &payload).await)
            });
        }
        // Once a try is answered (discovery), tries still out are waited for only as long
        // as that answer took, twice over: a reply later than that is not coming, and the try
        // counts as lost.
        let mut cutoff: Option<Instant> = None;
        loop {
            let next = match cutoff {
                Some(at) => match tokio::time::timeout_at(at, pending.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
                None => pending.next().await,
            };
            let Some(r) = next else { break };
            let Some(r) = r else { continue };
            match r {
                Ok((packet, rtt)) if is_echo_reply(&packet) => {
                    outcome.received += 1;
                    outcome.rtts.push(rtt);
                    if let Some(f) = on_first_reply.take() {
                        f(rtt);
                    }
                    if plan.until_first_reply && cutoff.is_none() {
                        stop.cancel();
                        let grace = rtt * 2 + Duration::from_millis(20);
                        cutoff = Some((Instant::now() + grace).min(deadline));
                    }
                }
                // An ICMP error (unreachable) or a timeout: this try is lost.
                Ok(_) | Err(SurgeError::Timeout { .. }) => {}
                // Send failures (no route) count as a lost try too; the host is not reachable.
                Err(_) => {}
            }
        }
        outcome.sent = sent.load(Ordering::Relaxed);
        outcome
    }
}

fn is_echo_reply(p: &IcmpPacket) -> bool {
    match p {
        IcmpPacket::V4(p) => p.get_icmp_type() == pnet::packet::icmp::IcmpTypes::EchoReply,
        IcmpPacket::V6(p) => p.get_icmpv6_type() == pnet::packet::icmpv6::Icmpv6Types::EchoReply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_are_spread_over_half_the_window() {
        let p = EchoPlan {
            timeout: Duration::from_millis(1000),
            tries: 5,
            until_first_reply: false,
        };
        assert_eq!(p.spacing(), Duration::from_millis(125));
        let one = EchoPlan {
            timeout: Duration::from_millis(1000),
            tries: 1,
            until_first_reply: false,
        };
        assert_eq!(one.spacing(), Duration::ZERO);
        let long = EchoPlan {
            timeout: Duration::from_secs(10),
            tries: 3,
            until_first_reply: false,
        };
        assert_eq!(long.spacing(), Duration::from_millis(200));
    }
}
