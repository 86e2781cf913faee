//! Judging a traceroute: which hops only rate-limit their ICMP replies, where real loss
//! starts, how much of it reaches the destination. Pure, over [`Hop`]s.
//!
//! A hop losing probes while the hops after it do not is a router limiting its ICMP replies
//! (common and harmless: routers answer expiring probes on their slow path), never an outage.
//! Loss counts when it reaches the destination; it starts at the first hop from which it
//! carries on to the end.

use crate::core::units;
use crate::net::traceroute::{Hop, TraceProtocol};

use super::model::{HopReport, TraceReport, round2};

/// Loss at the destination that makes a path degraded: at least this share...
pub const PATH_LOSS_MIN: f64 = 0.05;
/// ...and at least this many probes (one lost probe in thirty is noise).
pub const PATH_LOSS_MIN_PROBES: u32 = 2;
/// A hop losing at least this share of probes while later hops do not is rate limiting.
pub const RATE_LIMIT_MIN: f64 = 0.2;

fn pooled_loss(hops: &[&Hop]) -> Option<f64> {
    let sent: u32 = hops.iter().map(|h| h.sent).sum();
    let received: u32 = hops.iter().map(|h| h.received).sum();
    (sent > 0).then(|| 1.0 - f64::from(received) / f64::from(sent))
}

/// Judge a trace's hops: which hops only rate-limit, where loss starts, how much of it
/// reaches the destination.
pub fn trace_report(hops: &[Hop], protocol: TraceProtocol) -> TraceReport {
    let reached = hops.last().is_some_and(|h| h.destination);
    let n = hops.len();
    let mut rate_limited = vec![false; n];
    for i in 0..n {
        let h = &hops[i];
        if h.destination || h.addr.is_none() || h.loss() < RATE_LIMIT_MIN {
            continue;
        }
        let later: Vec<&Hop> = hops[i + 1..].iter().filter(|h| h.received > 0).collect();
        // Loss that carries on shows at the later hops at about the same rate.
        if let Some(after) = pooled_loss(&later)
            && after < h.loss() / 2.0
        {
            rate_limited[i] = true;
        }
    }
    let dest = hops.last().filter(|h| h.destination);
    let dest_loss = dest.map(Hop::loss);
    let lossy_dest = dest.is_some_and(|d| {
        d.loss() >= PATH_LOSS_MIN && d.sent.saturating_sub(d.received) >= PATH_LOSS_MIN_PROBES
    });
    let loss_onset = if lossy_dest {
        let dl = dest_loss.unwrap_or(0.0);
        (0..n)
            .find(|&j| {
                let h = &hops[j];
                if rate_limited[j] || h.loss() == 0.0 || h.addr.is_none() && !h.destination {
                    return false;
                }
                let suffix: Vec<&Hop> = (j..n)
                    .filter(|&k| !rate_limited[k] && hops[k].received > 0)
                    .map(|k| &hops[k])
                    .collect();
                pooled_loss(&suffix).is_some_and(|l| l >= dl / 2.0)
            })
            .map(|j| hops[j].ttl)
            .or(dest.map(|d| d.ttl))
    } else {
        None
    };
    let last_responding = hops
        .iter()
        .filter(|h| h.received > 0 && !h.destination)
        .map(|h| h.ttl)
        .max();
    TraceReport {
        protocol: protocol.label(),
        reached,
        hops: hops
            .iter()
            .zip(&rate_limited)
            .map(|(h, &rl)| {
                let ms: Vec<f64> = h.rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
                HopReport {
                    ttl: h.ttl,
                    addr: h.addr,
                    others: h.others.clone(),
                    sent: h.sent,
                    received: h.received,
                    loss_pct: units::ratio_pct(h.loss()),
                    rtt_min_ms: ms.iter().copied().reduce(f64::min).map(round2),
                    rtt_avg_ms: (!ms.is_empty())
                        .then(|| round2(ms.iter().sum::<f64>() / ms.len() as f64)),
                    rtt_max_ms: ms.iter().copied().reduce(f64::max).map(round2),
                    destination: h.destination,
                    unreachable: h.unreachable.map(|u| u.label()),
                    rate_limited: rl,
                    baseline_rtt_ms: None,
                }
            })
            .collect(),
        last_responding,
        dest_loss_pct: dest_loss.map(units::ratio_pct),
        loss_onset,
        note: None,
    }
}
