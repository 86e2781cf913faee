//! The raw prober's receive thread: one thread reads every raw socket, so a reply is parsed
//! and matched the moment it is read, whatever the scans are busy with.
//!
//! ```text
//!   idle ── poll(2) on every socket + the stop pipe ──► a packet ──► read
//!   read ── every readable socket until EAGAIN (recvmmsg) ──► many packets? busy
//!   busy ── nap BUSY_NAP ── poll(2) without waiting: more? read again : idle
//! ```
//!
//! Why not wait for readiness all the time: a thread waiting on a socket is woken by every
//! packet queued to it, and during a 65,535-port SYN scan that wake-up (an inter-processor
//! interrupt when the thread sleeps on the other core, a VM exit under a hypervisor) was the
//! largest single cost of the scan, more than building and sending the SYN. While busy
//! nothing waits on the sockets, so arriving packets wake nobody: they queue (the receive
//! buffers are large) and are read in one go after a nap. A packet is read at most
//! about `BUSY_NAP` after it arrived; its time is taken from the kernel's receive timestamp
//! (SO_TIMESTAMPNS), so RTTs measured from it are exact whatever the nap.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, MultiHeaders, RecvMsg, SockaddrStorage, recvmmsg, setsockopt,
    sockopt,
};
use nix::sys::time::TimeSpec;
use socket2::Socket;
use tokio::time::Instant;

use super::{Feed, RawReply, Shared, parse, watched};

/// How long the thread sleeps between two rounds of reads while a scan's answers pour in.
const BUSY_NAP: Duration = Duration::from_micros(100);

/// How long the thread waits after a failed read before polling again.
const ERROR_NAP: Duration = Duration::from_millis(10);

/// The running receive thread; stops it (and closes its sockets) when dropped.
pub(super) struct Receiver {
    stop: Arc<AtomicBool>,
    /// Closing this end wakes the thread out of poll(2).
    wake: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts the thread reading `readers` (each a descriptor of its own, non-blocking).
    pub(super) fn spawn(readers: Vec<(Socket, Feed)>, shared: Arc<Shared>) -> io::Result<Self> {
        let (wake, woken) = UnixStream::pair()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("netdx-raw".into())
                .spawn(move || run(&readers, &woken, &stop, &shared))?
        };
        Ok(Receiver {
            stop,
            wake: Some(wake),
            thread: Some(thread),
        })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.wake.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(readers: &[(Socket, Feed)], woken: &UnixStream, stop: &AtomicBool, shared: &Shared) {
    let mut slots = vec![[0u8; SLOT]; BATCH];
    // Headers per socket, reused: the kernel writes back the address and control lengths it
    // used, which stay the same for one socket (one address family, one timestamp).
    let mut headers: Vec<MultiHeaders<SockaddrStorage>> = readers
        .iter()
        .map(|_| MultiHeaders::preallocate(BATCH, Some(nix::cmsg_space!(TimeSpec))))
        .collect();
    let mut fds: Vec<PollFd<'_>> = readers
        .iter()
        .map(|(s, _)| s.as_fd())
        .chain(std::iter::once(woken.as_fd()))
        .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
        .collect();
    let mut wait = PollTimeout::NONE;
    let mut busy = false;
    while !stop.load(Ordering::Relaxed) {
        match poll(&mut fds, wait) {
            Ok(0) => {
                // Nothing came since the last read: wait for the next packet.
                wait = PollTimeout::NONE;
                busy = false;
                continue;
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        let (mut read, mut failed) = (0, false);
        for ((i, (sock, feed)), h) in readers.iter().enumerate().zip(&mut headers) {
            if fds
                .get(i)
                .and_then(PollFd::revents)
                .is_some_and(|r| !r.is_empty())
            {
                let (n, error) = drain(sock, *feed, h, &mut slots, shared);
                read += n;
                failed |= error;
            }
        }
        // Many packets at once: a scan. Let the next ones pile up without waking anyone, and
        // keep napping until a nap brings nothing: a scan's replies come at a rate that fills
        // a nap with fewer than NAP_AFTER packets, and waiting on the socket between two naps
        // would mean a wake-up (a context switch, an interrupt) for nearly every packet.
        busy = read >= NAP_AFTER || (busy && read > 0);
        if failed {
            // A read error that the read did not clear must not spin a core.
            std::thread::sleep(ERROR_NAP);
        } else if busy {
            std::thread::sleep(BUSY_NAP);
        }
        wait = PollTimeout::ZERO;
    }
}

/// Packets read per system call.
const BATCH: usize = 64;
/// Room for one packet: enough for every header the parsers read (IP, TCP, an ICMP error
/// and the packet it quotes); the rest of a longer packet is cut off.
const SLOT: usize = 2048;
/// Packets in one round of reads from which the thread naps before the next: fewer come from
/// monitoring's probes (a wake-up each is cheap), more from a scan.
const NAP_AFTER: u64 = 16;

/// Reads `sock` until it is empty: how many packets, and whether a read failed (a pending
/// socket error is cleared by the read that reports it).
fn drain(
    sock: &Socket,
    feed: Feed,
    headers: &mut MultiHeaders<SockaddrStorage>,
    slots: &mut [[u8; SLOT]],
    shared: &Shared,
) -> (u64, bool) {
    let (mut n, mut failed) = (0u64, false);
    loop {
        let clock = Clock::now();
        let mut iovs: Vec<[io::IoSliceMut<'_>; 1]> =
            slots.iter_mut().map(|s| [io::IoSliceMut::new(s)]).collect();
        let got = match recvmmsg(
            sock.as_raw_fd(),
            headers,
            iovs.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        ) {
            Ok(msgs) => {
                let mut got = 0;
                for msg in msgs {
                    got += 1;
                    let (Some(from), Some(data)) = (sender(&msg), msg.iovs().next()) else {
                        continue;
                    };
                    let at = stamp(&msg).map_or_else(Instant::now, |s| clock.instant_of(s));
                    handle(shared, feed, data, from, at);
                }
                got
            }
            Err(nix::errno::Errno::EAGAIN) => 0,
            Err(_) => {
                failed = true;
                0
            }
        };
        shared.read.fetch_add(got, Ordering::Relaxed);
        n += got;
        if got < BATCH as u64 {
            return (n, failed);
        }
    }
}

/// One packet read: matched replies to their subscribers, ICMP to the traceroute watches.
fn handle(shared: &Shared, feed: Feed, data: &[u8], from: IpAddr, at: Instant) {
    if let Some(m) = parse(&shared.key, feed, data, from) {
        shared.deliver(RawReply {
            ip: m.ip,
            port: m.port,
            kind: m.kind,
            probe: m.probe,
            tag: m.tag,
            at,
        });
    }
    if shared.watching.load(Ordering::Relaxed) > 0 {
        watched(shared, feed, data, from, at);
    }
}

fn sender(msg: &RecvMsg<'_, '_, SockaddrStorage>) -> Option<IpAddr> {
    let a = msg.address?;
    a.as_sockaddr_in()
        .map(|v4| IpAddr::V4(v4.ip()))
        .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
}

/// When the kernel received the packet (SO_TIMESTAMPNS), as a wall-clock time.
fn stamp(msg: &RecvMsg<'_, '_, SockaddrStorage>) -> Option<SystemTime> {
    msg.cmsgs().ok()?.find_map(|m| match m {
        ControlMessageOwned::ScmTimestampns(ts) => {
            let since = Duration::new(
                u64::try_from(ts.tv_sec()).ok()?,
                u32::try_from(ts.tv_nsec()).ok()?,
            );
            SystemTime::UNIX_EPOCH.checked_add(since)
        }
        _ => None,
    })
}

/// The monotonic instant and the wall-clock time of one moment: receive timestamps are
/// wall-clock times, replies are dated in monotonic instants.
struct Clock {
    instant: Instant,
    wall: SystemTime,
}

impl Clock {
    fn now() -> Self {
        Clock {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The instant of a wall-clock time near this moment (a packet's arrival).
    fn instant_of(&self, stamp: SystemTime) -> Instant {
        match self.wall.duration_since(stamp) {
            Ok(ago) => self.instant.checked_sub(ago).unwrap_or(self.instant),
            Err(e) => self.instant + e.duration(),
        }
    }
}

/// Asks the kernel to date every packet it queues to `sock` (SO_TIMESTAMPNS).
pub(super) fn timestamp(sock: &Socket) -> io::Result<()> {
    setsockopt(sock, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receive_timestamp_becomes_the_instant_it_names() {
        let clock = Clock::now();
        let ms = Duration::from_millis(3);
        assert_eq!(clock.instant_of(clock.wall - ms), clock.instant - ms);
        // A packet stamped after the clock was read (it arrived during the read).
        assert_eq!(clock.instant_of(clock.wall + ms), clock.instant + ms);
        assert_eq!(clock.instant_of(clock.wall), clock.instant);
    }
}
