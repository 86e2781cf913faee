//! The agent's life: bind, start the checks and the HTTP server, then wait for signals.
//! SIGTERM and SIGINT stop it cleanly (checks cancelled, listener closed, exit 0); SIGHUP
//! re-reads the config: a valid one replaces the checks (unchanged ones keep their state), a
//! bad one is logged and the old checks keep running.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::net::session::Session;

use super::config::{ConfigError, ServeConfig};
use super::http;
use super::scheduler::Scheduler;

/// Longest wait for open HTTP connections at shutdown.
const DRAIN: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot watch signals: {0}")]
    Signals(std::io::Error),
}

/// Run until SIGTERM or SIGINT. `reload` builds the configuration anew (on SIGHUP).
pub async fn run<R>(cfg: ServeConfig, session: Session, mut reload: R) -> Result<(), ServeError>
where
    R: FnMut() -> Result<ServeConfig, ConfigError>,
{
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServeError::Signals)?;
    let local = listener.local_addr().unwrap_or(cfg.listen);
    let cancel = CancellationToken::new();
    let mut scheduler = Scheduler::new(session, cancel.child_token());
    scheduler.apply(cfg.checks.clone(), cfg.flap);
    let server = tokio::spawn(http::serve(
        listener,
        scheduler.board(),
        cfg.token.clone(),
        cancel.child_token(),
    ));
    tracing::info!(
        listen = %local,
        checks = cfg.checks.len(),
        flap = cfg.flap,
        token = cfg.token.is_some(),
        "serving"
    );
    let mut current = cfg;
    let why = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = hup.recv() => match reload() {
                Ok(new) => {
                    if new.listen != current.listen {
                        tracing::warn!(
                            listen = %new.listen,
                            "the listen address changes only on restart; keeping {}", current.listen
                        );
                    }
                    if new.token != current.token {
                        tracing::warn!("the bearer token changes only on restart; keeping the old one");
                    }
                    let a = scheduler.apply(new.checks.clone(), new.flap);
                    tracing::info!(
                        checks = new.checks.len(),
                        started = a.started,
                        stopped = a.stopped,
                        kept = a.kept,
                        "config reloaded"
                    );
                    current = ServeConfig {
                        listen: current.listen,
                        token: current.token.clone(),
                        ..new
                    };
                }
                Err(e) => tracing::error!(error = %e, "config not reloaded; the old checks keep running"),
            },
        }
    };
    tracing::info!(signal = why, "stopping");
    cancel.cancel();
    scheduler.stop().await;
    if tokio::time::timeout(DRAIN, server).await.is_err() {
        tracing::warn!("HTTP connections still open at shutdown; closing them");
    }
    tracing::info!("stopped");
    Ok(())
}
