#!/usr/bin/env python3
"""A slow link for the lab: relay Ethernet frames between two TAP devices after a fixed delay.

    relay.py --delay-ms D --queue N --ready FILE --stats FILE TAP_A TAP_B

lab.py starts one per relayed link inside the upstream router's namespace (`ip netns exec`),
like dnsmasq. This kernel has no sch_netem, so delay comes from here: the relay creates both
TAP devices itself (so they vanish with it, nothing to clean up), writes FILE once they exist,
and lab.py then moves TAP_B into the host's namespace. Every frame read from one TAP is written
to the other DELAY ms later.

The delay is constant, so each direction is a FIFO of (release time, frame): arrival order is
release order and frames are never reordered. Each FIFO holds at most N frames; a frame that
arrives to a full FIFO is dropped and counted, like a slow link's buffer overflowing. Both TAPs
are non-blocking and drained in batches on every wake-up (one epoll for both), so one core
passes several tens of thousands of frames a second per direction.

Counters (frames relayed and dropped per direction, queue high-water marks) are written to the
stats FILE as JSON about once a second while they change, and on SIGTERM. Standard library only.
"""

import argparse
import collections
import fcntl
import json
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
READ_BATCH = 512  # frames read from one TAP per wake-up, so one side cannot starve the other
FRAME_MAX = 65536


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Direction:
    """One way through the link: frames read from `src`, written to `dst` when due."""

    def __init__(self, name, src, dst, limit):
        self.name, self.src, self.dst, self.limit = name, src, dst, limit
        self.fifo = collections.deque()
        self.relayed = self.dropped = self.write_errors = self.high_water = 0

    def read(self, due):
        fifo, limit = self.fifo, self.limit
        for _ in range(READ_BATCH):
            try:
                frame = os.read(self.src, FRAME_MAX)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. the device is going away at teardown
            if len(fifo) >= limit:
                self.dropped += 1
            else:
                fifo.append((due, frame))
        if len(fifo) > self.high_water:
            self.high_water = len(fifo)

    def flush(self, now):
        """Write every frame that is due; return when the next one is, or None."""
        fifo = self.fifo
        while fifo:
            due, frame = fifo[0]
            if due > now:
                return due
            fifo.popleft()
            try:
                os.write(self.dst, frame)
                self.relayed += 1
            except OSError:
                # A TAP write only fails if the device is down or the frame is bad: count it.
                self.write_errors += 1
        if len(fifo) > self.high_water:
            self.high_water = len(fifo)
        return None

    def stats(self):
        return {
            "relayed": self.relayed,
            "dropped": self.dropped,
            "write_errors": self.write_errors,
            "queue_high_water": self.high_water,
        }


def write_stats(path, delay_ms, limit, dirs):
    doc = {"delay_ms": delay_ms, "queue_frames": limit, **{d.name: d.stats() for d in dirs}}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


class Stop(Exception):
    pass


def stop_signal(*_):
    raise Stop


def main():
    parser = argparse.ArgumentParser(description="delay relay between two TAP devices")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--queue", type=int, default=4096, help="frames per direction")
    parser.add_argument("--ready", required=True, help="file written once both TAPs exist")
    parser.add_argument("--stats", required=True, help="JSON counters, rewritten while they move")
    parser.add_argument("tap_a")
    parser.add_argument("tap_b")
    args = parser.parse_args()
    if args.delay_ms < 0 or args.queue < 1:
        sys.exit("relay.py: --delay-ms must be >= 0 and --queue >= 1")
    # Raise out of epoll at once (PEP 475 would retry it), then write the final stats.
    signal.signal(signal.SIGTERM, stop_signal)
    signal.signal(signal.SIGINT, stop_signal)

    fd_a, fd_b = open_tap(args.tap_a), open_tap(args.tap_b)
    a2b = Direction("a_to_b", fd_a, fd_b, args.queue)
    b2a = Direction("b_to_a", fd_b, fd_a, args.queue)
    by_fd = {fd_a: a2b, fd_b: b2a}
    dirs = (a2b, b2a)
    with open(args.ready, "w") as f:
        f.write(f"{os.getpid()}\n")

    delay = args.delay_ms / 1000.0
    ep = select.epoll()
    ep.register(fd_a, select.EPOLLIN)
    ep.register(fd_b, select.EPOLLIN)
    try:
        relay(ep, by_fd, dirs, delay, args)
    except Stop:
        pass
    write_stats(args.stats, args.delay_ms, args.queue, dirs)


def relay(ep, by_fd, dirs, delay, args):
    clock = time.monotonic
    last_stats, last_counts = 0.0, None
    next_due = None
    while True:
        timeout = -1 if next_due is None else max(0.0, next_due - clock())
        # Wake at least once a second to refresh the stats file.
        timeout = 1.0 if timeout < 0 else min(timeout, 1.0)
        events = ep.poll(timeout)
        now = clock()
        for fd, _ in events:
            by_fd[fd].read(now + delay)
        next_due = None
        for d in dirs:
            due = d.flush(now)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
        if now - last_stats >= 1.0:
            counts = tuple(tuple(d.stats().values()) for d in dirs)
            if counts != last_counts:
                write_stats(args.stats, args.delay_ms, args.queue, dirs)
                last_counts = counts
            last_stats = now

if __name__ == "__main__":
    main()
