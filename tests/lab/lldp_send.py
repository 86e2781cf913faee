#!/usr/bin/env python3
"""Send crafted LLDP and CDP frames with known fields on one interface, every N seconds.

A stand-in for the switch the scanner is plugged into: run it in the namespace that holds the
scanner's veth peer (the bridge namespace, interface p-<scanner key>), because Linux bridges
do not forward 01:80:c2:00:00:0e. Standard library only (AF_PACKET), so any lab can use it.

    ip netns exec <bridge-ns> python3 tests/lab/lldp_send.py --iface p-scan \
        --name lab-switch --port Gi1/0/7 --port-desc "scanner desk" --vlan 77 \
        --mgmt 192.0.2.2 --interval 1 [--no-cdp] [--no-lldp] [--count N]

The LLDP frame: chassis ID (MAC), port ID (interface name), TTL, port description, system name,
system description, management address (IPv4 or IPv6), 802.1 Port VLAN ID, End. The CDP
frame (v2, 802.3 + SNAP to 01:00:0c:cc:cc:cc): device ID, addresses, port ID, software
version, platform, native VLAN. Runs until killed (SIGTERM) or --count rounds are sent.
"""

import argparse
import ipaddress
import signal
import socket
import sys
import time

LLDP_DST = bytes.fromhex("0180c200000e")
CDP_DST = bytes.fromhex("01000ccccccc")
SNAP_CDP = bytes.fromhex("aaaa0300000c2000")


def lldp_tlv(kind, value):
    return ((kind << 9) | len(value)).to_bytes(2, "big") + value


def family_addr(ip):
    return (b"\x01" if ip.version == 4 else b"\x02") + ip.packed


def lldp_frame(src, a):
    mgmt = family_addr(ipaddress.ip_address(a.mgmt))
    body = b"".join([
        lldp_tlv(1, b"\x04" + src),
        lldp_tlv(2, b"\x05" + a.port.encode()),
        lldp_tlv(3, (120).to_bytes(2, "big")),
        lldp_tlv(4, a.port_desc.encode()),
        lldp_tlv(5, a.name.encode()),
        lldp_tlv(6, a.description.encode()),
        lldp_tlv(7, bytes([0, 0x14, 0, 0x04])),
        lldp_tlv(8, bytes([len(mgmt)]) + mgmt + b"\x02" + (1).to_bytes(4, "big") + b"\x00"),
        lldp_tlv(127, bytes.fromhex("0080c201") + a.vlan.to_bytes(2, "big")),
        lldp_tlv(0, b""),
    ])
    return LLDP_DST + src + b"\x88\xcc" + body


def cdp_tlv(kind, value):
    return kind.to_bytes(2, "big") + (len(value) + 4).to_bytes(2, "big") + value


def cdp_checksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def cdp_frame(src, a):
    ip = ipaddress.ip_address(a.mgmt)
    if ip.version == 4:
        addr = b"\x01\x01\xcc" + (4).to_bytes(2, "big") + ip.packed
    else:
        addr = b"\x02\x08" + bytes.fromhex("aaaa0300000086dd") + (16).to_bytes(2, "big") + ip.packed
    tlvs = b"".join([
        cdp_tlv(0x0001, a.name.encode()),
        cdp_tlv(0x0002, (1).to_bytes(4, "big") + addr),
        cdp_tlv(0x0003, a.port.encode()),
        cdp_tlv(0x0004, (0x28).to_bytes(4, "big")),
        cdp_tlv(0x0005, a.description.encode() + b"\nlab build"),
        cdp_tlv(0x0006, a.platform.encode()),
        cdp_tlv(0x000A, a.vlan.to_bytes(2, "big")),
    ])
    head = bytes([2, 180])
    csum = cdp_checksum(head + b"\x00\x00" + tlvs)
    payload = SNAP_CDP + head + csum.to_bytes(2, "big") + tlvs
    frame = CDP_DST + src + len(payload).to_bytes(2, "big") + payload
    return frame + b"\x00" * max(0, 60 - len(frame))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iface", required=True)
    p.add_argument("--name", default="lab-switch")
    p.add_argument("--port", default="Gi1/0/7")
    p.add_argument("--port-desc", default="scanner desk")
    p.add_argument("--description", default="netdx lab switch")
    p.add_argument("--platform", default="netdx-lab")
    p.add_argument("--vlan", type=int, default=77)
    p.add_argument("--mgmt", default="192.0.2.2")
    p.add_argument("--src-mac", help="source MAC (default: the interface's)")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--count", type=int, default=0, help="rounds to send (0: until killed)")
    p.add_argument("--no-lldp", action="store_true")
    p.add_argument("--no-cdp", action="store_true")
    a = p.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    src = bytes.fromhex(a.src_mac.replace(":", "")) if a.src_mac else s.getsockname()[4][:6]
    frames = []
    if not a.no_lldp:
        frames.append(lldp_frame(src, a))
    if not a.no_cdp:
        frames.append(cdp_frame(src, a))
    sent = 0
    while a.count == 0 or sent < a.count:
        for f in frames:
            s.send(f)
        sent += 1
        sys.stdout.write(f"sent round {sent}\n")
        sys.stdout.flush()
        time.sleep(a.interval)


if __name__ == "__main__":
    main()
