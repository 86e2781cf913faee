#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/seed-*.

Seeds are small, well-formed samples of what each parser reads (packets as the lab's daemons
send them, the config examples of the README, the reports under tests/), so that the fuzzer
starts from deep inside each format. Run from anywhere; it overwrites only seed-* files, so
the inputs the fuzzer found and committed (other names) stay. Pure standard library.

The ids match src/fuzzing.rs: SNMP request id 0x4e445801, NDP token b"netdx-nd", our MAC
02:00:00:00:00:0a, raw prober source port 40123.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

OUR_MAC = bytes([2, 0, 0, 0, 0, 0x0A])
PEER_MAC = bytes([2, 0, 0, 0, 0, 0x14])
US4 = bytes([10, 77, 0, 10])
WEB4 = bytes([10, 77, 0, 20])
ROUTER4 = bytes([10, 77, 0, 1])
US6 = bytes.fromhex("fd770000000000000000000000000010")
WEB6 = bytes.fromhex("fd770000000000000000000000000020")
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
SPORT = 40123
SNMP_ID = 0x4E445801
NDP_TOKEN = b"netdx-nd"


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234, 0, ttl, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, hops=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, hops, src, dst) + payload


def tcp(sport, dport, seq, ack, flags, opts=b""):
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 1024, 0, 0) + opts


def icmp(typ, code, rest, body=b""):
    m = struct.pack("!BBH", typ, code, 0) + rest + body
    return m[:2] + struct.pack("!H", checksum(m)) + m[4:]


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


# ---------------------------------------------------------------- text inputs


def text_seeds():
    for i, t in enumerate(
        [
            "10.0.0.1",
            "192.168.1.0/24",
            "10.0.0.20-22\nfd00::1-fd00::3",
            "10.0.0.1-10.0.0.40",
            "fd77::/120\n--exclude\nfd77::5",
            "10.77.0.0/24,router.lan 192.168.1.5\n--exclude\n10.77.0.0/28,10.77.0.200",
            "web.lab\n1-800-flowers.com\n::1",
            "fe80::1%eth0\n10.0.0.0/8",
            "999.1.1.1\n10.0.0.1/33\n-5",
        ]
    ):
        put("target_spec", "%02d" % i, t)
    with open(os.path.join(ROOT, "tests/fixtures/targets.txt"), "rb") as f:
        put("target_spec", "file", f.read())

    for i, p in enumerate(
        [
            "22,80,443",
            "1-1024",
            "all",
            "top100,8080,9000-9010",
            "ssh,https,8000-8100",
            "top1000",
            "http-alt,53,0-5,65535",
            "TOP10, 443 ,ALL",
        ]
    ):
        put("ports", "%02d" % i, p)

    put("config", "readme", """[scan]
log = true              # record every completed scan in the history (netdx history)
inventory = false       # do not record scans in the device inventory (netdx inventory)
ports = "top100"        # ports to check when -p is not given
resolver = "10.0.0.53"  # DNS server when --resolver is not given

[dashboard]
wan_target = "203.0.113.53"  # the header's WAN check (ADDR pings, ADDR:PORT connects)
""")
    put("config", "v6", '[scan]\nports = "22,80,443-445"\nresolver = "[fd77::53]:5353"\n'
        '[dashboard]\nwan_target = "[2001:db8::1]:443"\n')
    put("config", "bad", '[scan]\nports = "top0"\nunknown = 1\n[dashboard]\nwan_target = "x"\n')

    put("serve_config", "readme", """flap = 2                 # a state changes only after 2 equal results in a row (default 2)
[[check]]
kind = "ping"            # ping | tcp | dns | tls
target = "10.0.0.1"      # an IP address (dns: the server asked; default the system's resolvers)
interval = 10            # seconds (0.5 to 86400; default 10)
name = "gateway"         # the `check` label (default e.g. ping-10.0.0.1)
[[check]]
kind = "dns"
target = "10.0.0.53"
query = "web.corp"
type = "A"
expect = ["10.0.0.20"]   # success needs every expected value among the answers
[[check]]
kind = "tls"             # handshake + certificate end date; port 443 unless `port` says
target = "10.0.0.20"
""")
    put("serve_config", "tcp", 'listen = "127.0.0.1:9430"\ntoken_file = "/tmp/t"\n[[check]]\n'
        'kind = "tcp"\ntarget = "fd77::20"\nport = 22\ninterval = 0.5\n[[check]]\nkind = "dns"\n'
        'query = "x.lab"\ntype = "AAAA"\n')
    put("serve_config", "bad", '[[check]]\nkind = "ping"\ntarget = "10.0.0.1"\nport = 1\n'
        '[[check]]\nkind = "ping"\ntarget = "10.0.0.1"\ninterval = 1e400\n')

    for rel in [
        "tests/fixtures/reports/lab-v1.json",
        "tests/fixtures/reports/lab-new.json",
        "tests/fixtures/reports/hostile.json",
        "tests/golden/watch.json",
    ]:
        with open(os.path.join(ROOT, rel), "rb") as f:
            put("report_json", os.path.basename(rel), f.read())
    put("report_json", "too-new", '{"schema_version": 999}')


# ---------------------------------------------------------------- raw prober, traceroute


def raw_seeds():
    synack = tcp(443, SPORT, 1000, 0x12345601, 0x12)
    put("raw_reply", "v4-synack", b"\0" + ipv4(WEB4, US4, 6, synack))
    put("raw_reply", "v4-rst", b"\0" + ipv4(WEB4, US4, 6, tcp(81, SPORT, 0, 0x5501, 0x14)))
    quoted = ipv4(US4, WEB4, 6, tcp(SPORT, 8080, 0x77665501, 0, 0x02)[:8])
    put("raw_reply", "v4-unreach-tcp", b"\0" + ipv4(ROUTER4, US4, 1, icmp(3, 13, b"\0" * 4, quoted)))
    ts_req = struct.pack("!BBHHHIII", 13, 0, 0, 0x1234, 0x5601, 0xABCDEF, 0, 0)
    put("raw_reply", "v4-unreach-ts", b"\0" + ipv4(ROUTER4, US4, 1,
                                                  icmp(3, 1, b"\0" * 4, ipv4(US4, WEB4, 1, ts_req))))
    put("raw_reply", "v4-ts-reply", b"\0" + ipv4(WEB4, US4, 1,
                                                icmp(14, 0, struct.pack("!HH", 0x1234, 0x5601),
                                                     struct.pack("!III", 0xABCDEF, 1, 2))))
    put("raw_reply", "v6-synack", b"\x01" + tcp(22, SPORT, 1, 0x9901, 0x12, b"\x02\x04\x05\xb4"))
    q6 = ipv6(US6, WEB6, 6, tcp(SPORT, 22, 0x9900, 0, 0x02)[:8])
    put("raw_reply", "v6-unreach", b"\x02" + icmp(1, 1, b"\0" * 4, q6))

    # traceroute: time exceeded quoting an echo request, a TCP SYN; echo replies.
    echo = struct.pack("!BBHHH", 8, 0, 0, 0x4E44, 7) + b"netdx"
    put("icmp_quote", "v4-te-echo", b"\0" + ipv4(ROUTER4, US4, 1, icmp(11, 0, b"\0" * 4, ipv4(US4, WEB4, 1, echo, 1))))
    put("icmp_quote", "v4-te-tcp", b"\0" + ipv4(ROUTER4, US4, 1,
                                               icmp(11, 0, b"\0" * 4, ipv4(US4, WEB4, 6, tcp(SPORT, 443, 1, 0, 2)[:8], 2))))
    put("icmp_quote", "v4-unreach", b"\0" + ipv4(WEB4, US4, 1, icmp(3, 3, b"\0" * 4, ipv4(US4, WEB4, 1, echo))))
    put("icmp_quote", "v4-echo-reply", b"\0" + ipv4(WEB4, US4, 1, icmp(0, 0, struct.pack("!HH", 0x4E44, 7), b"netdx")))
    echo6 = struct.pack("!BBHHH", 128, 0, 0, 0x4E44, 9) + NDP_TOKEN
    put("icmp_quote", "v6-te", b"\x01" + icmp(3, 0, b"\0" * 4, ipv6(US6, WEB6, 58, echo6, 1)))
    put("icmp_quote", "v6-unreach", b"\x01" + icmp(1, 4, b"\0" * 4, ipv6(US6, WEB6, 6, tcp(SPORT, 80, 1, 0, 2)[:8])))
    put("icmp_quote", "v6-echo-reply", b"\x01" + struct.pack("!BBHHH", 129, 0, 0, 0x4E44, 9) + NDP_TOKEN)
    # NDP: a parameter problem quoting the option probe (next header 60 to ff02::1).
    opt = bytes([58, 0, 0x80, 6]) + NDP_TOKEN[:4]
    put("icmp_quote", "v6-param-problem", b"\x01" + icmp(4, 2, struct.pack("!I", 42), ipv6(US6, ALL_NODES, 60, opt + echo6)))


# ---------------------------------------------------------------- LAN: ARP, DHCP, RA, LLDP/CDP


def lan_seeds():
    def arp(op, smac, sip, tmac, tip):
        return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, smac, sip, tmac, tip)

    put("arp", "reply", eth(OUR_MAC, PEER_MAC, 0x0806, arp(2, PEER_MAC, WEB4, OUR_MAC, US4) + b"\0" * 18))
    put("arp", "request", eth(b"\xff" * 6, PEER_MAC, 0x0806, arp(1, PEER_MAC, WEB4, b"\0" * 6, US4)))
    put("arp", "gratuitous", eth(b"\xff" * 6, PEER_MAC, 0x0806, arp(1, PEER_MAC, WEB4, b"\0" * 6, WEB4)))
    put("arp", "vlan", eth(OUR_MAC, PEER_MAC, 0x8100, b"\x00\x0a\x08\x06" + arp(2, PEER_MAC, WEB4, OUR_MAC, US4)))

    xid = 0x4E445801
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                        bytes([10, 77, 0, 150]), ROUTER4, b"\0" * 4, OUR_MAC + b"\0" * 10, b"", b"")
    opts = (b"\x63\x82\x53\x63" + b"\x35\x01\x02" + b"\x36\x04" + ROUTER4 + b"\x33\x04\x00\x00\x0e\x10"
            + b"\x01\x04\xff\xff\xff\x00" + b"\x03\x04" + ROUTER4 + b"\x06\x08" + ROUTER4 + bytes([10, 77, 0, 53])
            + b"\x0f\x03lab" + b"\x00\x00" + b"\xff")
    offer = bootp + opts
    put("dhcp", "offer", b"\0" + offer)
    put("dhcp", "offer-short-opts", b"\0" + bootp + b"\x63\x82\x53\x63\x35\x01\x02\x36\x04" + ROUTER4 + b"\x06\x07")
    udp = struct.pack("!HHHH", 67, 68, 8 + len(offer), 0) + offer
    put("dhcp", "offer-frame", b"\x01" + eth(b"\xff" * 6, PEER_MAC, 0x0800, ipv4(ROUTER4, b"\xff" * 4, 17, udp)))

    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0x08, 1800, 0, 0)
    ra += bytes([1, 1]) + PEER_MAC  # source link-layer address
    ra += struct.pack("!BBHI", 5, 1, 0, 1500)  # MTU
    ra += struct.pack("!BBBBIII16s", 3, 4, 64, 0xC0, 86400, 14400, 0, bytes.fromhex("fd770000000000000000000000000000"))
    ra += struct.pack("!BBHI16s", 25, 3, 0, 600, bytes.fromhex("fd770000000000000000000000000053"))
    put("ra", "full", ra)
    put("ra", "bare", struct.pack("!BBHBBHII", 134, 0, 0, 0, 0, 0, 0, 0))
    put("ra", "zero-len-opt", struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + b"\x01\x00")

    def tlv(t, v):
        return struct.pack("!H", (t << 9) | len(v)) + v

    lldp = (tlv(1, b"\x04" + PEER_MAC) + tlv(2, b"\x05" + b"ge-0/0/7") + tlv(3, b"\x00\x78")
            + tlv(4, b"uplink to desk 12") + tlv(5, b"sw-core") + tlv(6, b"Juniper EX2300")
            + tlv(8, bytes([5, 1]) + ROUTER4 + bytes([2, 0, 0, 0, 1, 0]))
            + tlv(8, bytes([17, 2]) + US6 + bytes([2, 0, 0, 0, 1, 0]))
            + tlv(127, b"\x00\x80\xc2\x01\x00\x0a") + tlv(0, b""))
    put("lldp", "lldp", eth(b"\x01\x80\xc2\x00\x00\x0e", PEER_MAC, 0x88CC, lldp))
    put("lldp", "lldp-vlan", eth(b"\x01\x80\xc2\x00\x00\x0e", PEER_MAC, 0x8100, b"\x00\x0a\x88\xcc" + lldp))
    put("lldp", "lldp-ifname", eth(b"\x01\x80\xc2\x00\x00\x0e", PEER_MAC, 0x88CC,
                                   tlv(1, b"\x07sw1") + tlv(2, b"\x03" + PEER_MAC) + tlv(3, b"\x00\x78") + tlv(0, b"")))

    def cdp_tlv(t, v):
        return struct.pack("!HH", t, len(v) + 4) + v

    addrs = struct.pack("!I", 2) + bytes([1, 1, 0xCC]) + struct.pack("!H", 4) + ROUTER4
    addrs += bytes([2, 8, 0xAA, 0xAA, 3, 0, 0, 0, 0x86, 0xDD]) + struct.pack("!H", 16) + US6
    body = (bytes([2, 180, 0, 0]) + cdp_tlv(1, b"sw-access") + cdp_tlv(2, addrs) + cdp_tlv(3, b"GigabitEthernet0/7")
            + cdp_tlv(5, b"Cisco IOS Software, C2960") + cdp_tlv(6, b"cisco WS-C2960") + cdp_tlv(10, b"\x00\x0a"))
    snap = bytes([0xAA, 0xAA, 3, 0, 0, 0x0C, 0x20, 0])
    cdp = b"\x01\x00\x0c\xcc\xcc\xcc" + PEER_MAC + struct.pack("!H", len(snap) + len(body)) + snap + body
    put("lldp", "cdp", cdp)


# ---------------------------------------------------------------- DNS, mDNS, NetBIOS, SNMP, SSDP


def dns_name(n):
    out = b""
    for label in n.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(name, typ, data, ttl=300, cls=1):
    n = dns_name(name) if isinstance(name, str) else name
    return n + struct.pack("!HHIH", typ, cls, ttl, len(data)) + data


def dns_msg(ident, flags, questions, answers, additionals=(), authorities=()):
    h = struct.pack("!HHHHHH", ident, flags, len(questions), len(answers), len(authorities), len(additionals))
    q = b"".join(dns_name(n) + struct.pack("!HH", t, 1) for n, t in questions)
    return h + q + b"".join(answers) + b"".join(authorities) + b"".join(additionals)


def names_seeds():
    ptr = 0xC00C  # compression pointer to the question name
    put("dns_answer", "a", dns_msg(0x1111, 0x8180, [("web.lab", 1)],
                                    [rr(struct.pack("!H", ptr), 1, WEB4), rr(struct.pack("!H", ptr), 1, US4, 60)]))
    put("dns_answer", "aaaa-cname", dns_msg(0x1112, 0x8180, [("www.lab", 28)],
                                             [rr("www.lab", 5, dns_name("web.lab")), rr("web.lab", 28, WEB6)]))
    put("dns_answer", "mx-txt-srv", dns_msg(0x1113, 0x8180, [("lab", 15)], [
        rr("lab", 15, struct.pack("!H", 10) + dns_name("mail.lab")),
        rr("lab", 16, b"".join(bytes([len(t)]) + t for t in [b"v=spf1 -all", b"\x1b[31m\xe2\x80\xae" + b"x" * 20])),
        rr("_sip._tcp.lab", 33, struct.pack("!HHH", 1, 2, 5060) + dns_name("sip.lab")),
        rr("lab", 2, dns_name("ns1.lab")),
    ]))
    soa = dns_name("ns1.lab") + dns_name("admin.lab") + struct.pack("!IIIII", 2026120101, 3600, 600, 86400, 60)
    put("dns_answer", "nxdomain-soa", dns_msg(0x1114, 0x8183, [("nope.lab", 1)], [], authorities=[rr("lab", 6, soa)]))
    put("dns_answer", "ptr", dns_msg(0x1115, 0x8180, [("20.0.77.10.in-addr.arpa", 12)],
                                      [rr("20.0.77.10.in-addr.arpa", 12, dns_name("web\\x07.lab"))]))
    put("dns_answer", "servfail", dns_msg(0x1116, 0x8182, [("x.lab", 1)], []))
    put("dns_answer", "caa-unknown", dns_msg(0x1117, 0x8180, [("lab", 257)],
                                              [rr("lab", 257, b"\x00\x05issueca.example"), rr("lab", 65280, b"\x01\x02")]))

    # mDNS answers: PTR to an instance, SRV, TXT, A, AAAA in the additionals.
    inst = "Printer._ipp._tcp.local"
    put("mdns", "services", dns_msg(0x2222, 0x8400, [], [
        rr("_ipp._tcp.local", 12, dns_name(inst), 4500),
        rr("20.0.77.10.in-addr.arpa", 12, dns_name("printer.local"), 120, 0x8001),
    ], additionals=[
        rr(inst, 33, struct.pack("!HHH", 0, 0, 631) + dns_name("printer.local"), 120, 0x8001),
        rr(inst, 16, b"".join(bytes([len(t)]) + t for t in [b"txtvers=1", b"ty=Brother HL-L2350DW"]), 4500, 0x8001),
        rr("printer.local", 1, WEB4, 120, 0x8001),
        rr("printer.local", 28, WEB6, 120, 0x8001),
    ]))
    put("mdns", "ptr-reverse", dns_msg(0x2223, 0x8400, [("20.0.77.10.in-addr.arpa", 12)],
                                        [rr("20.0.77.10.in-addr.arpa", 12, dns_name("nas.local"))]))

    # NetBIOS node status response (RFC 1002 4.2.18).
    qname = b"\x20" + b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + b"\x00"
    names = [(b"FILESRV        ", 0x00, 0x0400), (b"WORKGROUP      ", 0x00, 0x8400), (b"FILESRV        ", 0x20, 0x0400)]
    rdata = bytes([len(names)]) + b"".join(n + bytes([s]) + struct.pack("!H", f) for n, s, f in names) + PEER_MAC + b"\0" * 40
    nb = struct.pack("!HHHHHH", 0x3333, 0x8400, 0, 1, 0, 0) + qname + struct.pack("!HHIH", 0x21, 1, 0, len(rdata)) + rdata
    put("netbios", "node-status", nb)
    put("netbios", "pointer-name", struct.pack("!HHHHHH", 0x3334, 0x8400, 0, 1, 0, 0) + b"\xc0\x0c"
        + struct.pack("!HHIH", 0x21, 1, 0, len(rdata)) + rdata)

    # SNMP v2c GetResponse with the system group.
    def ber(tag, content):
        n = len(content)
        if n < 0x80:
            ln = bytes([n])
        elif n < 0x100:
            ln = bytes([0x81, n])
        else:
            ln = bytes([0x82]) + struct.pack("!H", n)
        return bytes([tag]) + ln + content

    def integer(v):
        return ber(2, v.to_bytes(4, "big", signed=True).lstrip(b"\0") or b"\0")

    def vb(oid, value):
        return ber(0x30, ber(6, oid) + value)

    vbs = (vb(bytes([0x2B, 6, 1, 2, 1, 1, 1, 0]), ber(4, b"Linux gw 6.1.0 #1 SMP x86_64"))
           + vb(bytes([0x2B, 6, 1, 2, 1, 1, 2, 0]), ber(6, bytes([0x2B, 6, 1, 4, 1, 0x88, 0x37, 3, 1])))
           + vb(bytes([0x2B, 6, 1, 2, 1, 1, 5, 0]), ber(4, b"gw.lab"))
           + vb(bytes([0x2B, 6, 1, 2, 1, 1, 6, 0]), ber(0x80, b"")))
    pdu = ber(0xA2, integer(SNMP_ID) + integer(0) + integer(0) + ber(0x30, vbs))
    put("snmp", "system", ber(0x30, integer(1) + ber(4, b"public") + pdu))
    long_descr = vb(bytes([0x2B, 6, 1, 2, 1, 1, 1, 0]), ber(4, b"D" * 300))
    put("snmp", "long", ber(0x30, integer(1) + ber(4, b"public") + ber(0xA2, integer(SNMP_ID) + integer(0) + integer(0) + ber(0x30, long_descr))))

    put("ssdp", "answer", "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://10.0.0.9:49152/desc.xml\r\n"
        "SERVER: Linux/5.4 UPnP/1.0 MiniUPnPd/2.2\r\nST: upnp:rootdevice\r\nUSN: uuid:1234::upnp:rootdevice\r\n\r\n")
    put("ssdp", "description", "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 400\r\n\r\n"
        "<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>"
        "<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>"
        "<friendlyName>Home &amp; Router</friendlyName><manufacturer>ACME</manufacturer>"
        "<modelName>R-1</modelName><modelNumber>1.0</modelNumber><serialNumber>42</serialNumber>"
        "</device></root>")
    put("ssdp", "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n<root><device><f\r\n"
        "1a\r\nriendlyName>x</friendlyName\r\n0\r\n\r\n")


# ---------------------------------------------------------------- services


def service_seeds():
    def banner(port, b):
        return struct.pack("!H", port) + b

    put("banner", "ssh", banner(22, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"))
    put("banner", "ftp", banner(21, b"220 (vsFTPd 3.0.3)\r\n"))
    put("banner", "smtp", banner(25, b"220 mail.lab ESMTP Postfix (Debian/GNU)\r\n"))
    put("banner", "pop3", banner(110, b"+OK Dovecot ready.\r\n"))
    put("banner", "imap", banner(143, b"* OK [CAPABILITY IMAP4rev1 LITERAL+] Dovecot ready.\r\n"))
    mysql = b"\x0a8.0.36-0ubuntu0.22.04.1\x00" + b"\x08\x00\x00\x00" + b"abcdefgh\x00" + b"\xff\xf7\x08\x02\x00" + b"\0" * 13
    put("banner", "mysql", banner(3306, struct.pack("<I", len(mysql))[:3] + b"\x00" + mysql))
    put("banner", "mysql-error", banner(3306, b"\x45\x00\x00\x00\xffj\x04Host '10.77.0.10' is not allowed"))
    put("banner", "telnet", banner(23, b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01\r\nUser Access Verification\r\n\r\nUsername: "))
    put("banner", "redis", banner(6379, b"-ERR unknown command\r\n"))
    put("banner", "http", banner(8080, b"HTTP/1.0 400 Bad Request\r\nServer: nginx/1.22.1\r\n\r\n<title>x</title>"))

    put("http_head", "nginx", "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n"
        "<!doctype html><html><head><title>Welcome to nginx!</title></head>")
    put("http_head", "redirect", "HTTP/1.1 301 Moved Permanently\r\nLocation: https://web.lab/\r\nServer: Apache/2.4.62 (Debian)\r\n\r\n")
    put("http_head", "iis", "HTTP/1.1 401 Unauthorized\nServer: Microsoft-IIS/10.0\nWWW-Authenticate: NTLM\n\n<TITLE >Sign\n in</TITLE>")
    put("http_head", "lighttpd", "HTTP/1.0 200 OK\r\nserver: lighttpd/1.4.69\r\n\r\n<title>&lt;Router&gt; &#x41;</title>")

    with tempfile.TemporaryDirectory() as d:
        key, crt = os.path.join(d, "k"), os.path.join(d, "c")
        if shutil.which("openssl"):
            for name, args in [
                ("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-days", "30",
                        "-subj", "/CN=web.lab/O=Lab",
                        "-addext", "subjectAltName=DNS:web.lab,IP:10.77.0.20,IP:fd77::20"]),
                ("rsa", ["-newkey", "rsa:1024", "-days", "3650", "-subj", "/CN=old.lab/OU=\u202eevil"]),
            ]:
                subprocess.run(["openssl", "req", "-x509", "-nodes", "-keyout", key, "-out", crt,
                                "-outform", "DER"] + args, check=True, capture_output=True)
                with open(crt, "rb") as f:
                    put("tls_cert", name, f.read())
        else:
            print("openssl missing: no tls_cert seeds written", file=sys.stderr)


def main():
    text_seeds()
    raw_seeds()
    lan_seeds()
    names_seeds()
    service_seeds()


if __name__ == "__main__":
    main()
