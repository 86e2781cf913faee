#!/usr/bin/env python3
"""A broken DNS server for the lab: `dns_stub.py --rcode SERVFAIL ADDR [ADDR ...]`.

`lab.py break --scenario dns-servfail` stops dnsmasq and starts this in the DNS host's namespace
on the same addresses (port 53, UDP and TCP): every query gets a response with the question
echoed, no records and the given response code, which is what a resolver whose upstream or
DNSSEC validation fails sends. Standard library only.
"""

import argparse
import selectors
import signal
import socket
import struct
import sys

RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}


def answer(query, rcode):
    """The response to one query message, or None if it is not a query."""
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000:  # a response, not a query
        return None
    # Echo the question section: walk the first question's labels.
    end = 12
    if qdcount:
        while end < len(query) and query[end] != 0:
            end += 1 + query[end]
        end += 5  # the root label, QTYPE, QCLASS
        if end > len(query):
            return None
    opcode = flags & 0x7800
    rd = flags & 0x0100
    out_flags = 0x8000 | opcode | rd | 0x0080 | rcode  # QR, RA
    header = struct.pack("!HHHHHH", ident, out_flags, 1 if qdcount else 0, 0, 0, 0)
    return header + query[12:end]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rcode", default="SERVFAIL", choices=sorted(RCODES))
    parser.add_argument("addrs", nargs="+")
    args = parser.parse_args()
    rcode = RCODES[args.rcode]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    for addr in args.addrs:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((addr, 53))
        sel.register(udp, selectors.EVENT_READ, "udp")
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((addr, 53))
        tcp.listen(16)
        sel.register(tcp, selectors.EVENT_READ, "tcp")
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            try:
                if key.data == "udp":
                    query, peer = sock.recvfrom(4096)
                    reply = answer(query, rcode)
                    if reply:
                        sock.sendto(reply, peer)
                else:
                    conn, _ = sock.accept()
                    with conn:
                        conn.settimeout(1.0)
                        data = conn.recv(65537)
                        if len(data) >= 2:
                            reply = answer(data[2:], rcode)
                            if reply:
                                conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                continue


if __name__ == "__main__":
    main()
