#!/usr/bin/env python3
"""Accept-and-close TCP listener for one lab host: `listen.py PORT [PORT ...]`.

lab.py starts one of these per host namespace (inside it, via `ip netns exec`), so a host costs
one small process however many ports it serves. Each port is bound once on `::` with
IPV6_V6ONLY off, which serves IPv4 and IPv6 alike. Connections are accepted and closed at
once: port scanners only need the handshake, and holding nothing means a 65,535-port scan or a
connection flood cannot exhaust anything here. Standard library only.
"""

import selectors
import signal
import socket
import sys


def main(argv):
    ports = sorted({int(p) for p in argv[1:]})
    if not ports or any(not 0 < p < 65536 for p in ports):
        sys.exit("usage: listen.py PORT [PORT ...] (1-65535)")
    # SIGTERM from `lab.py down` should end us without a traceback.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    for port in ports:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", port))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            # Drain the backlog: a fast scanner can queue many handshakes between wake-ups.
            while True:
                try:
                    conn, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    # e.g. ECONNABORTED (peer reset before accept) or EMFILE: never die.
                    break
                conn.close()


if __name__ == "__main__":
    main(sys.argv)
