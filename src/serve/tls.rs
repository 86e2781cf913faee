//! HTTPS for the agent: a listener that hands axum finished TLS streams (tokio-rustls, the
//! rustls already used by the TLS check; no extra server crate). Handshakes run in tasks of
//! their own with a deadline, so one slow or silent client cannot hold up the others, and each
//! new connection takes the certificate in force at that moment, so SIGHUP can swap it.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Longest a client may take to finish the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes finished but not yet taken by the server.
const BACKLOG: usize = 64;

/// The TLS setup in force, swapped on SIGHUP; connections already open keep theirs.
#[derive(Clone)]
pub struct SharedTls(Arc<RwLock<Arc<rustls::ServerConfig>>>);

impl SharedTls {
    pub fn new(config: Arc<rustls::ServerConfig>) -> SharedTls {
        SharedTls(Arc::new(RwLock::new(config)))
    }

    pub fn get(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn set(&self, config: Arc<rustls::ServerConfig>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = config;
    }
}

/// A TCP listener whose `accept` yields TLS streams, for [`axum::serve`].
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // The accept loop owns the socket: stop it so the port closes with the server.
        self.accepting.abort();
    }
}

impl TlsListener {
    pub fn new(tcp: TcpListener, tls: SharedTls) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(BACKLOG);
        let accepting = tokio::spawn(accept_loop(tcp, tls, tx));
        Ok(TlsListener {
            ready,
            local,
            accepting,
        })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    tls: SharedTls,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = tx.closed() => return,
            r = tcp.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: wait a little, as axum does.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = TlsAcceptor::from(tls.get());
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => {
                    let _ = tx.send((s, peer)).await;
                }
                // Plain HTTP on the TLS port, scanners, expired client patience: not the
                // agent's trouble, so only at debug level.
                Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop ended (only when the listener is dropped): no more clients.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
