#!/usr/bin/env python3
"""Independent probes for checking the lab against its ground truth (standard library only).

Run inside a lab namespace, e.g. `ip netns exec <scanner-ns> python3 probe.py tcp 10.77.0.20:80`.
Every subcommand prints one JSON document on stdout. These deliberately share no code with
netdx: they are the second opinion that tells a lab bug from a netdx bug.

    probe.py tcp [--timeout S] HOST:PORT ...          -> [{"target", "state", "errno"}]
        state: open | closed (RST) | filtered (no answer) | error (errno says which)
    probe.py ping [--count N] [--interval S] [--wait S] HOST ...  -> {host: {"sent", "received"}}
        raw ICMP/ICMPv6 echo; needs root (CAP_NET_RAW)
    probe.py dns --server IP [--timeout S] NAME/TYPE ...  -> [{"name", "type", "rcode", "answers"}]
        answers hold only records of the asked type, as text (MX "10 mx.", SRV "0 10 80 t.")
    probe.py resolve NAME ...                          -> {name: [addresses] or "error: ..."}
        the system resolver (getaddrinfo), i.e. /etc/resolv.conf of the namespace
"""

import argparse
import concurrent.futures
import errno
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def split_hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# --- tcp -------------------------------------------------------------------------------------


def tcp_one(target, timeout):
    host, port = split_hostport(target)
    sock = socket.socket(family_of(host), socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        state, code = "open", None
    except ConnectionRefusedError:
        state, code = "closed", "ECONNREFUSED"
    except socket.timeout:
        state, code = "filtered", None
    except OSError as e:
        state, code = "error", errno.errorcode.get(e.errno, str(e.errno))
    finally:
        sock.close()
    return {"target": target, "state": state, "errno": code}


def cmd_tcp(args):
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        return list(pool.map(lambda t: tcp_one(t, args.timeout), args.targets))


# --- ping ------------------------------------------------------------------------------------


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def cmd_ping(args):
    ident = os.getpid() & 0xFFFF
    socks = {
        socket.AF_INET: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
        socket.AF_INET6: socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
    }
    result = {h: {"sent": 0, "received": 0} for h in args.hosts}
    canon = {socket.inet_pton(family_of(h), h): h for h in args.hosts}
    seen = set()
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            ready, _, _ = select.select(list(socks.values()), [], [], 0.05)
            for sock in ready:
                data, addr = sock.recvfrom(2048)
                if sock.family == socket.AF_INET:
                    data = data[(data[0] & 0x0F) * 4 :]  # raw IPv4 includes the IP header
                    reply_type = 0
                else:
                    reply_type = 129
                if len(data) < 8 or data[0] != reply_type:
                    continue
                rid, seq = struct.unpack("!HH", data[4:8])
                host = canon.get(socket.inet_pton(sock.family, addr[0].split("%")[0]))
                if rid == ident and host is not None and (host, seq) not in seen:
                    seen.add((host, seq))
                    result[host]["received"] += 1

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    for seq in range(args.count):
        for host in args.hosts:
            fam = family_of(host)
            req_type = 8 if fam == socket.AF_INET else 128
            payload = b"netdx-lab-probe!"
            header = struct.pack("!BBHHH", req_type, 0, 0, ident, seq)
            if fam == socket.AF_INET:  # the kernel fills in the ICMPv6 checksum itself
                header = struct.pack("!BBHHH", req_type, 0, checksum(header + payload), ident, seq)
            try:
                socks[fam].sendto(header + payload, (host, 0))
                result[host]["sent"] += 1
            except OSError as e:
                result[host]["error"] = errno.errorcode.get(e.errno, str(e.errno))
        time.sleep(args.interval)
    time.sleep(args.wait)
    stop.set()
    thread.join()
    return result


# --- dns -------------------------------------------------------------------------------------

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def decode_name(msg, off):
    """Decode a possibly compressed name at `off`; return (name, offset after it)."""
    labels, end, jumps = [], None, 0
    while True:
        length = msg[off]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((length & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 64:
                raise ValueError("compression loop")
            continue
        if length == 0:
            return ".".join(labels), (end if end is not None else off + 1)
        labels.append(msg[off + 1 : off + 1 + length].decode("ascii", "backslashreplace"))
        off += 1 + length


def rdata_text(msg, rtype, off, rdlen):
    rdata = msg[off : off + rdlen]
    if rtype == 1:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == 28:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype in (2, 5, 12):
        return decode_name(msg, off)[0]
    if rtype == 15:
        return f"{struct.unpack('!H', rdata[:2])[0]} {decode_name(msg, off + 2)[0]}"
    if rtype == 33:
        prio, weight, port = struct.unpack("!HHH", rdata[:6])
        return f"{prio} {weight} {port} {decode_name(msg, off + 6)[0]}"
    if rtype == 16:
        parts, i = [], 0
        while i < len(rdata):
            parts.append(rdata[i + 1 : i + 1 + rdata[i]].decode("utf-8", "backslashreplace"))
            i += 1 + rdata[i]
        return "".join(parts)
    return rdata.hex()


def dns_query(server, name, rtype, timeout):
    qid = random.getrandbits(16)
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    query += encode_name(name) + struct.pack("!HH", TYPES[rtype], 1)
    sock = socket.socket(family_of(server), socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(query, (server, 53))
        while True:
            msg = sock.recv(4096)
            if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                break
    except socket.timeout:
        return {"name": name, "type": rtype, "rcode": "TIMEOUT", "answers": []}
    finally:
        sock.close()
    _, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qdcount):
        off = decode_name(msg, off)[1] + 4
    answers, records = [], []
    for _ in range(ancount):
        owner, off = decode_name(msg, off)
        atype, _, ttl, rdlen = struct.unpack("!HHIH", msg[off : off + 10])
        off += 10
        text = rdata_text(msg, atype, off, rdlen)
        off += rdlen
        records.append({"name": owner, "type": TYPE_NAMES.get(atype, str(atype)), "ttl": ttl,
                        "data": text})
        if atype == TYPES[rtype]:
            answers.append(text)
    return {
        "name": name,
        "type": rtype,
        "rcode": RCODES.get(flags & 0xF, str(flags & 0xF)),
        "authoritative": bool(flags & 0x0400),
        "answers": sorted(answers),
        "records": records,
    }


def cmd_dns(args):
    out = []
    for q in args.queries:
        name, _, rtype = q.rpartition("/")
        out.append(dns_query(args.server, name, rtype.upper(), args.timeout))
    return out


# --- resolve ---------------------------------------------------------------------------------


def cmd_resolve(args):
    out = {}
    for name in args.names:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
            out[name] = sorted({info[4][0] for info in infos})
        except OSError as e:
            out[name] = f"error: {e}"
    return out


def main():
    parser = argparse.ArgumentParser(description="lab probes (see module doc)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tcp")
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("targets", nargs="+")
    p.set_defaults(func=cmd_tcp)
    p = sub.add_parser("ping")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--wait", type=float, default=0.5)
    p.add_argument("hosts", nargs="+")
    p.set_defaults(func=cmd_ping)
    p = sub.add_parser("dns")
    p.add_argument("--server", required=True)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("queries", nargs="+", metavar="NAME/TYPE")
    p.set_defaults(func=cmd_dns)
    p = sub.add_parser("resolve")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_resolve)
    args = parser.parse_args()
    json.dump(args.func(args), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
