#!/usr/bin/env python3
"""TCP listener for one lab host: `listen.py [--services FILE] PORT [PORT ...]`.

lab.py starts one of these per host namespace (inside it, via `ip netns exec`), so a host costs
one small process however many ports it serves. Each port is bound once on `::` with
IPV6_V6ONLY off, which serves IPv4 and IPv6 alike. Connections are accepted and closed at
once: port scanners only need the handshake, and holding nothing means a 65,535-port scan or a
connection flood cannot exhaust anything here. Standard library only.

A port named in the services file (JSON: {"PORT": spec}) instead plays a service, in a thread
per connection, so that service identification meets the bytes real services send:
  {"kind": "banner", "send": TEXT | "send_hex": HEX}   greeting on connect (SSH, FTP, SMTP...)
  {"kind": "http", "status": N, "server": S, "title": T, "location": L}   answers one request
  {"kind": "reply", "send": TEXT}                      answers the first bytes received
  {"kind": "silent"}                                   accepts, then says nothing
  {"kind": "tls", "cert_file": F, "key_file": F, "inner": spec}   the same, inside TLS
"""

import json
import selectors
import signal
import socket
import ssl
import sys
import threading


# How long a service that waits for the client's request keeps a quiet connection: real
# servers wait long (nginx 60 s for a request head), and a peer that first listens for a
# greeting (nmap -sV's NULL probe waits 6 s) must not find the port closed on it.
REQUEST_PATIENCE_S = 30


def recv_request(conn):
    """Read until the end of a request head (or REQUEST_PATIENCE_S, or the peer closes)."""
    data = b""
    conn.settimeout(REQUEST_PATIENCE_S)
    try:
        while b"\r\n\r\n" not in data and len(data) < 8192:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def play(conn, spec):
    """One connection to a service port, played as `spec` says."""
    try:
        kind = spec["kind"]
        if kind == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(spec["cert_file"], spec["key_file"])
            conn.settimeout(5)
            conn = ctx.wrap_socket(conn, server_side=True)
            return play(conn, spec["inner"])
        if kind == "banner":
            send = bytes.fromhex(spec["send_hex"]) if "send_hex" in spec else spec["send"].encode()
            conn.sendall(send)
            # Stay a moment, as a real service waits for the client's answer.
            conn.settimeout(2)
            try:
                conn.recv(1024)
            except OSError:
                pass
        elif kind == "http":
            if not recv_request(conn):
                return
            body = "<html><head><title>%s</title></head><body>netdx lab</body></html>" % spec.get("title", "")
            head = "HTTP/1.1 %d %s\r\n" % (spec.get("status", 200), spec.get("reason", "OK"))
            if spec.get("server"):
                head += "Server: %s\r\n" % spec["server"]
            if spec.get("location"):
                head += "Location: %s\r\n" % spec["location"]
            head += "Content-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body.encode())
            conn.sendall(head.encode() + body.encode())
        elif kind == "reply":
            conn.settimeout(REQUEST_PATIENCE_S)
            if conn.recv(4096):
                conn.sendall(spec["send"].encode())
        elif kind == "silent":
            conn.settimeout(10)
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main(argv):
    services = {}
    if len(argv) > 2 and argv[1] == "--services":
        with open(argv[2]) as f:
            services = {int(k): v for k, v in json.load(f).items()}
        argv = argv[:1] + argv[3:]
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
        sel.register(sock, selectors.EVENT_READ, services.get(port))
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
                if key.data is None:
                    conn.close()
                else:
                    conn.setblocking(True)
                    threading.Thread(target=play, args=(conn, key.data), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv)
