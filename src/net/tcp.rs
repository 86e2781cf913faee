//! TCP connect probes. No privilege needed: the kernel does the handshake, we read the result.
//!
//! - `open`: the handshake completed. The socket is closed with a zero linger (RST), so a full
//!   scan leaves no TIME_WAIT sockets behind and no half-open sessions on the target.
//! - `closed`: the target answered with a reset (ECONNREFUSED).
//! - `filtered`: nothing came back in time, or an ICMP unreachable did.
//!
//! Scans do not call [`probe`]: they start connects with [`start`] and let the engine's
//! scheduler (`engine::ports`) time them out and retransmit, with timeouts from the round trip
//! measured on each host (`net::timing`). [`probe`] is one connect with a fixed timeout, for
//! diagnose's service checks.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::time::Instant;

use crate::core::event::PortOutcome;
use crate::core::model::PortState;

/// Floor of a connect try's timeout: below this, scheduling jitter on a loaded 2-core machine
/// would turn open ports into false `filtered`.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);

/// What a failed connect means. Errors the scan itself caused (out of descriptors or of
/// local ports) are reported as `None` so the caller retries instead of recording a lie.
fn classify(err: &io::Error) -> Option<PortState> {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => Some(PortState::Closed),
        io::ErrorKind::TimedOut
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::ConnectionReset => Some(PortState::Filtered),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::AddrInUse => None,
        _ => match err.raw_os_error() {
            Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) => None,
            _ => Some(PortState::Filtered),
        },
    }
}

/// Probe one port. Retries (after a short pause) only when the local machine ran out of
/// resources, which the sized window should prevent but a busy system can still cause.
pub async fn probe(addr: SocketAddr, timeout: Duration) -> PortOutcome {
    let mut backoff = Duration::from_millis(5);
    loop {
        let start = Instant::now();
        match connect(addr, timeout).await {
            Ok(state) => {
                let rtt = (state != PortState::Filtered).then(|| start.elapsed());
                return PortOutcome {
                    port: addr.port(),
                    state,
                    rtt,
                };
            }
            Err(_) if backoff < Duration::from_secs(2) => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(_) => {
                return PortOutcome {
                    port: addr.port(),
                    state: PortState::Filtered,
                    rtt: None,
                };
            }
        }
    }
}

/// One connect; silence is `filtered`. A peer on the same machine or a fast LAN often refuses
/// before `connect(2)` even returns, so the socket's error is read at once and the reactor (two
/// `epoll_ctl`s and a wake-up) is only involved when the answer is not there yet: a third fewer
/// syscalls on a full scan of a host that answers with resets.
async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<PortState> {
    Ok(connect_raw(addr, timeout)
        .await?
        .unwrap_or(PortState::Filtered))
}

/// What one connect attempt learnt, for a scheduler that retransmits: only an answer is a
/// fact; silence is a reason to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The handshake completed.
    Open,
    /// A reset.
    Closed,
    /// An ICMP unreachable came back: something on the path refuses, a proven `filtered`.
    Unreachable,
    /// Nothing within the timeout.
    Silent,
}

/// A connect that has been started: the kernel either answered at once (a peer on this
/// machine or a fast LAN often refuses before `connect(2)` returns) or the handshake is under
/// way.
pub enum Started {
    Answered(Answer),
    Waiting(PendingConnect),
}

/// A handshake under way; [`PendingConnect::finish`] waits for its outcome.
pub struct PendingConnect {
    socket: Socket,
}

fn answer_of(e: &io::Error) -> Option<Answer> {
    if e.kind() == io::ErrorKind::TimedOut {
        return Some(Answer::Silent);
    }
    classify(e).map(|state| match state {
        PortState::Open => Answer::Open,
        PortState::Closed => Answer::Closed,
        PortState::Filtered => Answer::Unreachable,
    })
}

/// Start one connect now (the SYN leaves during this call). `Err` means the local machine
/// could not try (out of descriptors or ports): no evidence either way.
pub fn start(addr: SocketAddr) -> io::Result<Started> {
    let fail = |e: io::Error| answer_of(&e).map(Started::Answered).ok_or(e);
    let socket = match Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    ) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match socket.connect(&addr.into()) {
        Ok(()) => {
            established(&socket);
            return Ok(Started::Answered(Answer::Open));
        }
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return fail(e),
    }
    if let Some(e) = socket.take_error()? {
        return fail(e);
    }
    Ok(Started::Waiting(PendingConnect { socket }))
}

impl PendingConnect {
    /// Wait up to `timeout` for the handshake's outcome; silence is [`Answer::Silent`].
    pub async fn finish(self, timeout: Duration) -> io::Result<Answer> {
        let stream = tokio::net::TcpStream::from_std(self.socket.into())?;
        let answer = match tokio::time::timeout(timeout, stream.writable()).await {
            Ok(Ok(())) => match stream.take_error()? {
                Some(e) => answer_of(&e).ok_or(e)?,
                None => {
                    // Reset instead of FIN: no TIME_WAIT on our side, nothing left on theirs.
                    let _ = stream.set_zero_linger();
                    Answer::Open
                }
            },
            Ok(Err(e)) => answer_of(&e).ok_or(e)?,
            Err(_) => Answer::Silent,
        };
        Ok(answer)
    }
}

/// One connect with no retry of its own, start to finish.
pub async fn attempt(addr: SocketAddr, timeout: Duration) -> io::Result<Answer> {
    match start(addr)? {
        Started::Answered(a) => Ok(a),
        Started::Waiting(p) => p.finish(timeout).await,
    }
}

/// [`connect`] telling silence (`None`) apart from an answer.
async fn connect_raw(addr: SocketAddr, timeout: Duration) -> io::Result<Option<PortState>> {
    Ok(match attempt(addr, timeout).await? {
        Answer::Open => Some(PortState::Open),
        Answer::Closed => Some(PortState::Closed),
        Answer::Unreachable => Some(PortState::Filtered),
        Answer::Silent => None,
    })
}

fn established(socket: &Socket) -> PortState {
    let _ = socket.set_linger(Some(Duration::ZERO));
    PortState::Open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_nmap_states() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(classify(&refused), Some(PortState::Closed));
        let unreach = io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        assert_eq!(classify(&unreach), Some(PortState::Filtered));
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(classify(&emfile), None);
        let noport = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        assert_eq!(classify(&noport), None);
    }

    #[tokio::test]
    async fn loopback_open_and_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let r = probe(open, Duration::from_secs(1)).await;
        assert_eq!(r.state, PortState::Open);
        assert!(r.rtt.is_some());
        drop(listener);
        // The port we just released is now closed.
        let r = probe(open, Duration::from_secs(1)).await;
        assert_eq!(r.state, PortState::Closed);
    }
}
