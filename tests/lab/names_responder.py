#!/usr/bin/env python3
"""LAN name protocols for one lab host: `names_responder.py SPEC.json`.

lab.py starts one per host that has a `lan_names` entry in topology.json, inside the host's
namespace, so a host costs one small process whatever it announces (the lab notes prefer one
process per namespace to a process per protocol). Standard library only. It plays:

  mdns     UDP 5353: answers unicast DNS-SD questions (RFC 6762 legacy unicast: the same ID,
           the question repeated, sent back to the asker's port): PTR of
           _services._dns-sd._udp.local (service types), PTR of a type (instances, with SRV,
           TXT and A as additional records), SRV and TXT of an instance, PTR of the host's
           reverse name, A of its host name.
  netbios  UDP 137: answers node status (NBSTAT) questions with the names a Samba or Windows
           node registers: NAME<00>, NAME<20>, WORKGROUP<00> (group), and for a domain
           controller WORKGROUP<1C> (group) and WORKGROUP<1B>.
  ssdp     UDP 1900: answers M-SEARCH for upnp:rootdevice or ssdp:all with a LOCATION on the
           host's own address, and serves that description document over HTTP (TCP http_port).

Every question received is logged on stdout (`<protocol> from <address>`), so a test can tell
that nothing was asked. It never sends anything unasked: no announcements, no multicast.
"""

import json
import select
import signal
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------------------------------- DNS


def read_name(data, i, depth=0):
    """(labels, index after the name) of the name at `i`, following compression pointers."""
    labels = []
    while True:
        n = data[i]
        if n & 0xC0 == 0xC0:
            if depth > 8:
                raise ValueError("pointer loop")
            ptr = ((n & 0x3F) << 8) | data[i + 1]
            rest, _ = read_name(data, ptr, depth + 1)
            return labels + rest, i + 2
        if n == 0:
            return labels, i + 1
        labels.append(data[i + 1 : i + 1 + n])
        i += 1 + n


def encode_labels(labels):
    out = b""
    for label in labels:
        out += bytes([len(label)]) + label
    return out + b"\0"


def encode_name(name):
    return encode_labels([label.encode() for label in name.rstrip(".").split(".")])


def rr(name_bytes, rtype, rdata, ttl=10):
    # Class IN with the cache-flush bit, as mDNS responders set on unique records.
    return name_bytes + struct.pack(">HHIH", rtype, 0x8001, ttl, len(rdata)) + rdata


PTR, A, TXT, SRV = 12, 1, 16, 33


class Mdns:
    def __init__(self, spec, ip):
        self.ip = ip
        self.hostname = spec["hostname"]
        self.services = spec.get("services", [])

    def instance_labels(self, svc):
        return [svc["instance"].encode()] + [l.encode() for l in svc["type"].split(".")] + [b"local"]

    def records_for(self, labels, qtype):
        """(answers, additionals) for one question."""
        key = [l.lower() for l in labels]
        answers, extra = [], []
        host = encode_name(self.hostname)
        a_rec = rr(host, A, socket.inet_aton(self.ip))
        if key == [b"_services", b"_dns-sd", b"_udp", b"local"] and qtype == PTR:
            seen = []
            for svc in self.services:
                if svc["type"] not in seen:
                    seen.append(svc["type"])
                    answers.append(rr(encode_labels(labels), PTR, encode_name(svc["type"] + ".local")))
        reverse = ".".join(reversed(self.ip.split("."))) + ".in-addr.arpa"
        if key == [l.encode() for l in reverse.split(".")] and qtype == PTR:
            answers.append(rr(encode_labels(labels), PTR, host))
        if key == [x.encode().lower() for x in self.hostname.split(".")] and qtype == A:
            answers.append(a_rec)
        for svc in self.services:
            type_labels = [l.encode().lower() for l in svc["type"].split(".")] + [b"local"]
            inst = self.instance_labels(svc)
            srv = rr(encode_labels(inst), SRV, struct.pack(">HHH", 0, 0, svc["port"]) + host)
            txt_items = [f"{k}={v}".encode() for k, v in svc.get("txt", {}).items()] or [b""]
            txt = rr(encode_labels(inst), TXT, b"".join(bytes([len(t)]) + t for t in txt_items))
            if key == type_labels and qtype == PTR:
                answers.append(rr(encode_labels(labels), PTR, encode_labels(inst)))
                extra += [srv, txt, a_rec]
            if key == [l.lower() for l in inst]:
                if qtype == SRV:
                    answers.append(srv)
                    extra.append(a_rec)
                elif qtype == TXT:
                    answers.append(txt)
        return answers, extra

    def answer(self, data):
        (qid, _flags, qd, _an, _ns, _ar) = struct.unpack(">HHHHHH", data[:12])
        i = 12
        questions, answers, extra = b"", [], []
        for _ in range(qd):
            labels, i = read_name(data, i)
            qtype, qclass = struct.unpack(">HH", data[i : i + 4])
            i += 4
            questions += encode_labels(labels) + struct.pack(">HH", qtype, qclass & 0x7FFF)
            a, e = self.records_for(labels, qtype)
            answers += a
            extra += [r for r in e if r not in extra and r not in answers]
        if not answers:
            return None
        head = struct.pack(">HHHHHH", qid, 0x8400, qd, len(answers), 0, len(extra))
        return head + questions + b"".join(answers) + b"".join(extra)


# ------------------------------------------------------------------------------------- NetBIOS


class Netbios:
    def __init__(self, spec):
        self.spec = spec

    def answer(self, data):
        qid = data[:2]
        qname = data[12 : 12 + 34]
        name, group = self.spec["name"], self.spec["workgroup"]
        entries = [(name, 0x00, False), (name, 0x20, False), (group, 0x00, True)]
        if self.spec.get("domain_controller"):
            entries += [(group, 0x1C, True), (group, 0x1B, False)]
        body = bytes([len(entries)])
        for n, suffix, is_group in entries:
            body += n.encode()[:15].ljust(15, b" ") + bytes([suffix])
            body += struct.pack(">H", (0x8000 if is_group else 0) | 0x0400)
        mac = self.spec.get("mac", "00:00:00:00:00:00")
        body += bytes(int(x, 16) for x in mac.split(":"))
        body += b"\0" * 40  # statistics, as Samba sends them (all zero)
        head = qid + struct.pack(">HHHHH", 0x8400, 0, 1, 0, 0)
        return head + qname + struct.pack(">HHIH", 0x21, 1, 0, len(body)) + body


# ------------------------------------------------------------------------------------- SSDP


def description_xml(spec):
    fields = [
        ("deviceType", "device_type"),
        ("friendlyName", "friendly_name"),
        ("manufacturer", "manufacturer"),
        ("modelName", "model_name"),
        ("modelNumber", "model_number"),
    ]
    inner = "".join(f"<{tag}>{escape(spec[key])}</{tag}>\n" for tag, key in fields if key in spec)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
        "<specVersion><major>1</major><minor>0</minor></specVersion>\n"
        f"<device>\n{inner}<UDN>uuid:netdx-lab-{spec['http_port']}</UDN>\n"
        "<deviceList><device><friendlyName>embedded service device</friendlyName>"
        "<modelName>not the root</modelName></device></deviceList>\n"
        "</device>\n</root>\n"
    ).encode("utf-8")


class Ssdp:
    def __init__(self, spec, ip):
        self.spec = spec
        self.location = f"http://{ip}:{spec['http_port']}/description.xml"

    def answer(self, data):
        text = data.decode("utf-8", "replace")
        if not text.startswith("M-SEARCH * HTTP/1.1"):
            return None
        st = ""
        for line in text.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "st":
                st = v.strip()
        if st not in ("upnp:rootdevice", "ssdp:all"):
            return None
        return (
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
            f"LOCATION: {self.location}\r\nSERVER: {self.spec['server']}\r\n"
            "ST: upnp:rootdevice\r\n"
            f"USN: uuid:netdx-lab-{self.spec['http_port']}::upnp:rootdevice\r\n\r\n"
        ).encode("utf-8")


def serve_description(spec):
    body = description_xml(spec)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            log(f"http from {self.client_address[0]}")
            if self.path != "/description.xml":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", 'text/xml; charset="utf-8"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class DualStack(ThreadingHTTPServer):
        # One socket for IPv4 and IPv6, as listen.py binds its ports: the port is in the
        # host's open list, which tests check over both families.
        address_family = socket.AF_INET6

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    server = DualStack(("::", spec["http_port"]), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


# ------------------------------------------------------------------------------------- main


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    ip = spec["ip"]
    players = {}
    if "mdns" in spec:
        players[5353] = ("mdns", Mdns(spec["mdns"], ip))
    if "netbios" in spec:
        players[137] = ("netbios", Netbios(spec["netbios"]))
    if "ssdp" in spec:
        players[1900] = ("ssdp", Ssdp(spec["ssdp"], ip))
        serve_description(spec["ssdp"])
    socks = {}
    for port, player in players.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        socks[s] = player
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            data, peer = s.recvfrom(9000)
            proto, player = socks[s]
            log(f"{proto} from {peer[0]}")
            try:
                reply = player.answer(data)
            except (IndexError, ValueError, struct.error) as e:
                log(f"{proto}: bad question from {peer[0]}: {e}")
                continue
            if reply:
                s.sendto(reply, peer)


if __name__ == "__main__":
    main()
