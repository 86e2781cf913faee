#!/usr/bin/env python3
"""A slow LAN host for the lab: `icmp_delay.py --delay-ms 200`.

This kernel has no netem, so `lab.py break --scenario lan-slow` makes one LAN host slow this
way: the host's kernel stops answering echo requests (net.ipv4.icmp_echo_ignore_all=1, set by
lab.py in that namespace only), and this process, in the same namespace, reads every IPv4 echo
request on a raw ICMP socket and answers it after the delay (same identifier, sequence and
payload), so the host's round trip is the delay. ARP and TCP stay with the kernel (fast).
Standard library only.
"""

import argparse
import heapq
import select
import signal
import socket
import struct
import sys
import time

ECHO_REQUEST, ECHO_REPLY = 8, 0


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def reply_for(packet):
    """The echo reply (ICMP message) for a raw IPv4 packet, or None if it is no echo request."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != ECHO_REQUEST or icmp[1] != 0:
        return None
    body = bytes([ECHO_REPLY, 0, 0, 0]) + icmp[4:]
    csum = checksum(body)
    return body[:2] + struct.pack("!H", csum) + body[4:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, required=True)
    args = parser.parse_args()
    delay = args.delay_ms / 1000.0
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pending = []  # (due, seq, destination, message)
    seq = 0
    while True:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, dst, msg = heapq.heappop(pending)
            try:
                sock.sendto(msg, (dst, 0))
            except OSError:
                pass  # a lost reply is loss, nothing more
        wait = max(0.0, pending[0][0] - now) if pending else None
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            continue
        packet, (src, _) = sock.recvfrom(65535)
        msg = reply_for(packet)
        if msg is not None:
            seq += 1
            heapq.heappush(pending, (time.monotonic() + delay, seq, src, msg))


if __name__ == "__main__":
    main()
