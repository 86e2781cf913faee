//! IPv4 probes sent in parallel: a batch is split between the calling thread and helper
//! threads, each sending on an IPPROTO_RAW socket of its own.
//!
//! ```text
//!   send_batch(frames) ─┬─ caller's share ──────► caller's socket ─┐
//!                       ├─ share 1 ──► helper 1 ──► socket 1 ────────┼─► wire
//!                       └─ share n ──► helper n ──► socket n ────────┘
//! ```
//!
//! The call returns once the caller's share is sent; a helper still busy with the previous
//! batch is waited for before it gets the next, so a probe leaves at most one batch after
//! the scan loop dated it (its RTT sample can only be too long, never too short).
//!
//! Why: on Linux a send does not end at the device. On a virtual link (veth, a bridge) the
//! kernel carries the packet through the peer's stack and our reply back in the sender's
//! own time, so one thread sending a 65,535-port SYN scan keeps one core busy with the
//! whole round trip while the others idle. Senders on several cores share that work.
//! Each has its own socket: a socket serialises its senders, and an IPPROTO_RAW socket
//! (header included, see `packet::build_ipv4_tcp`) only sends, so extra ones cost no copy
//! of every received packet as extra raw TCP sockets would.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, mpsc};
use std::thread::JoinHandle;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::packet::IPV4_TCP_PROBE_MAX;

/// Batches smaller than this are sent by the caller alone: handing work to another thread
/// costs a wake-up, worth it only for a few packets each.
const SPLIT_MIN: usize = 32;
/// Most sending threads (the caller included).
const MAX_LANES: usize = 4;

/// One IPv4 packet, header included, and where it goes.
pub(crate) struct Frame {
    pub buf: [u8; IPV4_TCP_PROBE_MAX],
    pub len: usize,
    pub to: SockAddr,
}

/// Sockets of the helpers until [`Lanes::start`], then the helpers.
pub(super) struct Lanes {
    own: Socket,
    pending: Mutex<Vec<Socket>>,
    helpers: OnceLock<Vec<Helper>>,
}

struct Helper {
    jobs: Option<mpsc::Sender<Vec<Frame>>>,
    /// Jobs handed to this helper and not yet sent.
    queued: Arc<Queued>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Queued {
    count: Mutex<usize>,
    emptied: Condvar,
}

impl Queued {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the helper has sent everything it was given.
    fn wait_empty(&self) {
        let mut count = self.lock();
        while *count > 0 {
            count = self.emptied.wait(count).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Lanes {
    /// Opens one IPPROTO_RAW socket per lane: as many lanes as cores, at most [`MAX_LANES`].
    /// Needs CAP_NET_RAW; starts no thread.
    pub(super) fn open(send_buffer: usize) -> io::Result<Lanes> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let lanes = cores.clamp(1, MAX_LANES);
        let mut sockets = (0..lanes)
            .map(|_| {
                let s = Socket::new(
                    Domain::IPV4,
                    Type::RAW,
                    Some(Protocol::from(libc::IPPROTO_RAW)),
                )?;
                s.set_nonblocking(true)?;
                let _ = s.set_send_buffer_size(send_buffer);
                Ok(s)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let own = sockets.remove(0);
        Ok(Lanes {
            own,
            pending: Mutex::new(sockets),
            helpers: OnceLock::new(),
        })
    }

    /// Starts the helper threads (after the privilege drop: threads keep the privileges
    /// they were started with). Does nothing the second time.
    pub(super) fn start(&self) -> io::Result<()> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_empty() {
            return Ok(());
        }
        let mut helpers = Vec::new();
        for sock in std::mem::take(&mut *pending) {
            let (jobs, queue) = mpsc::channel::<Vec<Frame>>();
            let queued = Arc::new(Queued::default());
            let thread = {
                let queued = Arc::clone(&queued);
                std::thread::Builder::new()
                    .name("netdx-send".into())
                    .spawn(move || {
                        while let Ok(frames) = queue.recv() {
                            send_all(&sock, &frames);
                            let mut count = queued.lock();
                            *count = count.saturating_sub(1);
                            if *count == 0 {
                                queued.emptied.notify_all();
                            }
                        }
                    })?
            };
            helpers.push(Helper {
                jobs: Some(jobs),
                queued,
                thread: Some(thread),
            });
        }
        let _ = self.helpers.set(helpers);
        Ok(())
    }

    /// Sends every frame (a refused one is silence: the caller's timeout tries again).
    /// Returns when the caller's share is sent; the helpers' shares may still be going out,
    /// but never more than one batch each: a helper still busy with the previous batch is
    /// waited for first, so a try goes out at most one batch after it was dated.
    pub(super) fn send(&self, frames: Vec<Frame>) {
        let helpers = self.helpers.get().map_or(&[][..], Vec::as_slice);
        if frames.len() < SPLIT_MIN || helpers.is_empty() {
            send_all(&self.own, &frames);
            return;
        }
        // The caller also runs the scan loop: helpers take a little more than it does.
        let share = (frames.len() * 3).div_ceil(helpers.len() * 3 + 2);
        let mut rest = frames;
        for helper in helpers {
            if rest.len() <= share {
                break;
            }
            let Some(jobs) = &helper.jobs else { continue };
            helper.queued.wait_empty();
            let theirs = rest.split_off(rest.len() - share);
            *helper.queued.lock() += 1;
            if let Err(mpsc::SendError(back)) = jobs.send(theirs) {
                // A helper that is gone: its share goes out here.
                *helper.queued.lock() -= 1;
                rest.extend(back);
            }
        }
        send_all(&self.own, &rest);
    }

    /// One frame from the caller's socket.
    pub(super) fn send_one(&self, frame: &Frame) -> io::Result<()> {
        let packet = frame.buf.get(..frame.len).unwrap_or_default();
        self.own.send_to(packet, &frame.to).map(drop)
    }
}

impl Drop for Lanes {
    fn drop(&mut self) {
        for helper in self.helpers.get_mut().into_iter().flatten() {
            drop(helper.jobs.take()); // ends the helper's loop
            if let Some(t) = helper.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn send_all(sock: &Socket, frames: &[Frame]) {
    for f in frames {
        if let Some(packet) = f.buf.get(..f.len) {
            let _ = sock.send_to(packet, &f.to);
        }
    }
}
