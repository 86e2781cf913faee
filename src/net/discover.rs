//! Finding hosts that do not answer echo: nmap's privileged default besides ICMP echo (TCP
//! SYN to 443, TCP ACK to 80, ICMP timestamp), and without privilege a connect to 443 and 80.
//! Any answer proves a host is there, a reset included: a Windows server with its default
//! firewall drops echo but still resets an ACK nobody asked for.
//!
//! Each target gets its probes in `tries` rounds spread like the echo series, and no more once
//! something (this, echo or ARP) has found it.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::core::event::Proof;
use crate::net::icmp::EchoPlan;
use crate::net::raw::{Probe, RawProber, ReplyKind};
use crate::net::session::Session;
use crate::net::tcp::{self, Answer};

/// Ports of the TCP probes, as nmap's defaults: SYN to HTTPS, ACK to HTTP.
pub const SYN_PORT: u16 = 443;
pub const ACK_PORT: u16 = 80;

/// Addresses already found by some method, so no further probe is spent on them.
#[derive(Debug, Clone, Default)]
pub struct Found(Arc<Mutex<HashSet<IpAddr>>>);

impl Found {
    pub fn insert(&self, ip: IpAddr) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(ip);
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.lock().map(|s| s.contains(&ip)).unwrap_or(false)
    }
}

/// What proves `ip` up in a reply, if anything does.
fn proof_of(ip: IpAddr, probe: Probe, kind: ReplyKind) -> Option<Proof> {
    match (probe, kind) {
        (Probe::Syn, ReplyKind::SynAck) => Some(Proof::Syn {
            port: SYN_PORT,
            open: true,
        }),
        (Probe::Syn, ReplyKind::Rst) => Some(Proof::Syn {
            port: SYN_PORT,
            open: false,
        }),
        (Probe::Ack, ReplyKind::Rst) => Some(Proof::Ack { port: ACK_PORT }),
        (Probe::Timestamp, ReplyKind::TimestampReply) => Some(Proof::Timestamp),
        // Only from the host itself: a router's unreachable says the path, not the host.
        (_, ReplyKind::Unreachable { from, .. }) if from == ip => Some(Proof::Unreachable),
        _ => None,
    }
}

/// Raw probes to one target (CAP_NET_RAW). Returns the first proof and the round trip of the
/// try it answered.
pub async fn raw_alive(
    raw: &RawProber,
    ip: IpAddr,
    plan: EchoPlan,
    found: &Found,
) -> Option<(Proof, Duration)> {
    let mut replies = raw.subscribe(ip);
    let start = Instant::now();
    let deadline = start + plan.timeout;
    let spacing = plan.spacing();
    let tries = plan.tries.clamp(1, 255) as u8;
    let mut sent_at: Vec<Instant> = Vec::with_capacity(tries as usize);
    loop {
        let now = Instant::now();
        let next_send = start + spacing * sent_at.len() as u32;
        if sent_at.len() < tries as usize && now >= next_send {
            if found.contains(ip) {
                return None;
            }
            let tag = sent_at.len() as u8;
            sent_at.push(now);
            // A refused send is a lost try, nothing more.
            let _ = raw.send_syn(SocketAddr::new(ip, SYN_PORT), tag);
            let _ = raw.send_ack(SocketAddr::new(ip, ACK_PORT), tag);
            if let IpAddr::V4(v4) = ip {
                let _ = raw.send_timestamp(v4, tag);
            }
            continue;
        }
        let wake = if sent_at.len() < tries as usize {
            next_send.min(deadline)
        } else {
            deadline
        };
        tokio::select! {
            r = replies.recv() => {
                let r = r?;
                if let Some(proof) = proof_of(ip, r.probe, r.kind) {
                    let sent = sent_at.get(r.tag as usize).copied().unwrap_or(start);
                    return Some((proof, r.at.saturating_duration_since(sent)));
                }
            }
            _ = sleep_until(wake) => {
                if Instant::now() >= deadline {
                    return None;
                }
            }
        }
    }
}

/// Without privilege: a connect to 443 and to 80, each within the plan's timeout; accepted
/// or refused, the host is there.
pub async fn connect_alive(
    session: &Session,
    ip: IpAddr,
    timeout: Duration,
    found: &Found,
) -> Option<(Proof, Duration)> {
    let attempt = |port: u16| async move {
        let _permit = session.connects().acquire().await.ok()?;
        if found.contains(ip) {
            return None;
        }
        let start = Instant::now();
        let open = match tcp::attempt(SocketAddr::new(ip, port), timeout).await {
            Ok(Answer::Open) => true,
            Ok(Answer::Closed) => false,
            _ => return None,
        };
        Some((Proof::Connect { port, open }, start.elapsed()))
    };
    let (a, b) = tokio::join!(attempt(SYN_PORT), attempt(ACK_PORT));
    a.or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_answer_from_the_host_proves_it() {
        let ip: IpAddr = "10.9.0.31".parse().unwrap();
        let router: IpAddr = "10.62.2.2".parse().unwrap();
        assert_eq!(
            proof_of(ip, Probe::Ack, ReplyKind::Rst),
            Some(Proof::Ack { port: 80 })
        );
        assert_eq!(
            proof_of(ip, Probe::Syn, ReplyKind::Rst),
            Some(Proof::Syn {
                port: 443,
                open: false
            })
        );
        assert_eq!(
            proof_of(ip, Probe::Timestamp, ReplyKind::TimestampReply),
            Some(Proof::Timestamp)
        );
        assert_eq!(
            proof_of(ip, Probe::Syn, ReplyKind::Unreachable { code: 3, from: ip }),
            Some(Proof::Unreachable)
        );
        assert_eq!(
            proof_of(
                ip,
                Probe::Syn,
                ReplyKind::Unreachable {
                    code: 1,
                    from: router
                }
            ),
            None,
            "a router speaks for the path, not the host"
        );
        assert_eq!(proof_of(ip, Probe::Ack, ReplyKind::SynAck), None);
    }

    #[test]
    fn found_is_shared() {
        let f = Found::default();
        let g = f.clone();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(!g.contains(ip));
        f.insert(ip);
        assert!(g.contains(ip));
    }
}
