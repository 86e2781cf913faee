//! One run of one check, on the long-lived probe session: an echo series on the session's
//! ICMP sockets (measurement thread), a TCP connect within the session's connect budget, a
//! DNS question through the session's per-server client. No socket or client is opened here.
//! The checks that run an engine (path, LAN, devices, diagnosis) are in [`super::deep`].

use std::time::{Duration, Instant};

use crate::core::model::{DnsStatus, PortState};
use crate::net::icmp::EchoPlan;
use crate::net::session::Session;

use super::config::{Probe, norm_answer};
use super::state::Outcome;

/// Echo requests per ping run.
pub const PINGS: u32 = 3;
/// Time one probe may take; a check whose interval is shorter gets its interval instead.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Run `probe` once. `limit` bounds its time.
pub async fn run(session: &Session, probe: &Probe, limit: Duration) -> Outcome {
    let start = Instant::now();
    let mut out = match probe {
        Probe::Ping { target } => ping(session, *target, limit).await,
        Probe::Tcp { target } => {
            // Within the process-wide connect budget, as every other connect.
            let _permit = session.connects().clone().acquire_owned().await.ok();
            let o = crate::net::tcp::probe(*target, limit).await;
            Outcome {
                success: o.state == PortState::Open,
                connect: o.rtt.filter(|_| o.state == PortState::Open),
                note: (o.state != PortState::Open).then(|| format!("port {}", o.state.label())),
                ..Outcome::default()
            }
        }
        Probe::Tls { target } => tls(session, *target, limit).await,
        Probe::Dns {
            server,
            query,
            rtype,
            expect,
        } => dns(session, *server, query, *rtype, expect, limit).await,
        Probe::Path { .. } | Probe::Lan(_) | Probe::Devices(_) | Probe::Diagnose(_) => {
            // Bounded by their own plans; `limit` is only the safety net.
            let deep = async {
                match probe {
                    Probe::Path { target, plan } => {
                        super::deep::path(session, *target, *plan).await
                    }
                    Probe::Lan(spec) => super::deep::lan(session, spec).await,
                    Probe::Devices(spec) => super::deep::devices(session, spec).await,
                    Probe::Diagnose(spec) => super::deep::diagnose(session, spec).await,
                    _ => failed("not a deep check".to_string()),
                }
            };
            tokio::time::timeout(limit, deep)
                .await
                .unwrap_or_else(|_| failed(format!("no result within {} s", limit.as_secs())))
        }
    };
    out.duration = start.elapsed();
    out
}

async fn ping(session: &Session, target: std::net::IpAddr, limit: Duration) -> Outcome {
    let icmp = match session.icmp() {
        Ok(i) if i.supports(target) => i.clone(),
        Ok(_) => return failed(format!("no ICMP socket for {target}")),
        Err(e) => return failed(format!("no ICMP: {e}")),
    };
    let plan = EchoPlan {
        timeout: limit,
        tries: PINGS,
        until_first_reply: false,
    };
    let Some(o) = session
        .measured(async move { icmp.echo(target, plan).await })
        .await
    else {
        return failed("the measurement thread stopped".to_string());
    };
    for r in &o.rtts {
        session.observe_rtt(target, *r);
    }
    Outcome {
        success: o.received > 0,
        sent: o.sent,
        received: o.received,
        note: (o.received == 0).then(|| "no echo reply".to_string()),
        rtts: o.rtts,
        ..Outcome::default()
    }
}

async fn dns(
    session: &Session,
    server: Option<std::net::SocketAddr>,
    query: &str,
    rtype: crate::core::model::RecordType,
    expect: &[String],
    limit: Duration,
) -> Outcome {
    let client = match session.dns(server, limit).await {
        Ok(c) => c,
        Err(e) => return failed(format!("no DNS client: {e}")),
    };
    let r = client.query(query, rtype).await;
    let got: Vec<String> = r.answers.iter().map(|a| norm_answer(&a.value)).collect();
    // Compared only when the server answered: a timeout or SERVFAIL is a failing check
    // (netdx_probe_success), not an answer that changed, so it must not raise the
    // "answer changed" alert too.
    let answered = r.status == DnsStatus::NoError;
    let answer_match =
        (answered && !expect.is_empty()).then(|| expect.iter().all(|e| got.contains(e)));
    let ok = answered && !got.is_empty() && answer_match != Some(false);
    Outcome {
        success: ok,
        dns_status: Some(r.status.label()),
        dns_latency: r
            .rtt_ms
            .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)),
        answer_match,
        note: (!ok).then(|| match answer_match {
            Some(false) => "answer differs from expect".to_string(),
            _ if r.status == DnsStatus::NoError => "no answer".to_string(),
            _ => r.status.label().to_string(),
        }),
        ..Outcome::default()
    }
}

/// A TLS handshake (any certificate accepted: it is recorded, not trusted) and its end date.
async fn tls(session: &Session, target: std::net::SocketAddr, limit: Duration) -> Outcome {
    let _permit = session.connects().clone().acquire_owned().await.ok();
    let config = crate::net::identify::tls::client_config();
    let host = target.ip().to_string();
    let Some((_stream, info)) =
        crate::net::identify::handshake(target, &host, limit / 2, limit / 2, &config).await
    else {
        return failed("no TLS handshake".to_string());
    };
    let not_after = info.not_after.as_deref().and_then(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    });
    let expired = info.days_left.is_some_and(|d| d < 0);
    Outcome {
        success: not_after.is_some() && !expired,
        cert_not_after: not_after,
        cert_days_left: info.days_left,
        note: if not_after.is_none() {
            Some("no certificate end date".to_string())
        } else if expired {
            Some("certificate expired".to_string())
        } else {
            None
        },
        ..Outcome::default()
    }
}

fn failed(note: String) -> Outcome {
    Outcome {
        note: Some(note),
        ..Outcome::default()
    }
}
