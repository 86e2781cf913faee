//! The agent's life: bind, start the checks and the HTTP server, then wait for signals.
//! SIGTERM and SIGINT stop it cleanly (checks cancelled, listener closed, exit 0); SIGHUP
//! re-reads the config: a valid one replaces the checks (unchanged ones keep their state), a
//! bad one is logged and the old checks keep running. The token, users and certificate are
//! swapped the same way; whether the listener speaks TLS at all is fixed at start.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::net::session::Session;

use super::auth::{Access, SharedAccess};
use super::config::{ConfigError, ServeConfig};
use super::http;
use super::scheduler::Scheduler;
use super::tls::SharedTls;

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
    let access = SharedAccess::new(access_of(&cfg));
    let tls = cfg
        .web
        .as_ref()
        .and_then(|w| w.tls.clone())
        .map(SharedTls::new);
    let server = tokio::spawn(http::serve(
        listener,
        tls.clone(),
        scheduler.board(),
        access.clone(),
        cancel.child_token(),
    ));
    tracing::info!(
        listen = %local,
        checks = cfg.checks.len(),
        flap = cfg.flap,
        token = cfg.token.is_some(),
        tls = tls.is_some(),
        basic_auth_users = cfg.web.as_ref().and_then(|w| w.users.as_ref()).map_or(0, |u| u.len()),
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
                    access.set(access_of(&new));
                    let new_tls = new.web.as_ref().and_then(|w| w.tls.clone());
                    match (&tls, new_tls) {
                        (Some(shared), Some(t)) => shared.set(t),
                        (None, None) => {}
                        (Some(_), None) => tracing::warn!(
                            "TLS can be turned off only by a restart; keeping the old certificate"
                        ),
                        (None, Some(_)) => tracing::warn!(
                            "TLS can be turned on only by a restart; still plain HTTP"
                        ),
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
                        ..new
                    };
                }
                Err(e) => tracing::error!(
                    error = %e,
                    "config not reloaded; the old checks, credentials and certificate stay in force"
                ),
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

/// Who may read the guarded routes under `cfg`.
fn access_of(cfg: &ServeConfig) -> Access {
    Access {
        token: cfg.token.clone(),
        users: cfg.web.as_ref().and_then(|w| w.users.clone()),
    }
}
