#!/usr/bin/env python3
"""netdx namespace test lab: build, tear down and reap isolated network labs.

    lab.py up --name NAME [--owner-pid PID] [--topology FILE]   build a lab, print its JSON
    lab.py down --name NAME                                     tear it down (idempotent)
    lab.py reap                                                 tear down labs whose owner died
    lab.py list                                                 show recorded labs
    lab.py break --name NAME --scenario S [--router N] [--percent P] [--target K] [--port P]
                 [--cert PEM --key PEM]                         break the lab in one way
    lab.py heal --name NAME                                     undo every break

Layout (from topology.json, the single source of truth):

    ns <tag>-br:   br0 --+-- p-scan  <veth>  eth0  ns <tag>-scan  10.77.0.10   (scanner)
                         +-- p-gw    <veth>  eth0  ns <tag>-gw    10.77.0.1    (gateway)
                         +-- p-dns   <veth>  eth0  ns <tag>-dns   10.77.0.53   (dnsmasq)
                         +-- p-web   <veth>  eth0  ns <tag>-web   10.77.0.20   ...

Every interface is created inside a lab namespace (`ip -n <bridge-ns> link add ... peer ...
netns <host-ns>`), so no lab interface ever exists in the root namespace and nothing a test does
can reach a real network. The scanner's default route points at the gateway namespace, whose
forward chain rejects everything except the lab's own WAN (ICMP net-unreachable), so a stray
probe dies visibly in the lab.

WAN (topology.json "wan"): behind the gateway, a chain of router namespaces joined by veth pairs
made inside the lab, and a target network bridged by the last router:

    ns <tag>-gw  up0 10.62.0.1 == in0 10.62.0.2  <tag>-r1  out0 10.62.1.1 == in0 10.62.1.2  <tag>-r2
       <tag>-r2  out0 10.62.2.1 == in0 10.62.2.2  <tag>-r3  lan0 10.9.0.1 (bridge) -- eth0 <tag>-app ...

Targets may also sit alone on a subnet of their own behind the last router, joined by a veth
(optionally policed by the router's nftables `limit rate over`) or by a slow link: two TAPs
relayed by relay.py after a fixed delay (no netem in this kernel), with tbf for bandwidth:

       <tag>-r3  s-slow 10.9.1.1 (TAP) == relay.py == (TAP) eth0 10.9.1.10  <tag>-slow
       <tag>-r3  s-policed 10.9.2.1 == eth0 10.9.2.10  <tag>-policed   (10,000 pps policer)

Routers decrement the TTL and answer with ICMP time-exceeded, unthrottled (icmp_ratelimit 0), so
a traceroute sees every hop. `break` switches one failure on (see SCENARIOS), `heal` undoes it.

Names: namespaces are `ndx<tag>-<key>` with a random 6-hex-digit tag per lab, so concurrent
labs never collide. Interface names are per namespace (`eth0` in every host, `p-<key>` on the
bridge), so they cannot collide either; the same IP plan is reused in every lab.

State: /run/netdx-lab/<NAME>/state.json records the tag, the namespaces, the /etc/netns dirs
and the pid (with its start time) of every process the lab started, before they are created.
Teardown uses only those records: recorded pids (checked against their start time so a
recycled pid is never signalled), processes found inside the recorded namespaces
(`ip netns pids`), then `ip netns del` of the recorded names. Nothing is matched by name.

Owner: every lab records an owner pid (default: the caller of lab.py). A detached janitor
process waits for the owner to exit (pidfd) and then tears the lab down, so a test run killed
with Ctrl-C or SIGKILL still cleans up within a moment. `up` and `reap` also tear down any lab
whose owner is dead, as a second line of defence. When running lab.py by hand under sudo, pass
`--owner-pid $$` (sudo exits at once, which would end the lab).

Standard library only; needs root, iproute2 (with tc and the tbf qdisc), nftables, dnsmasq and
/dev/net/tun (and unbound for the dns-encrypted scenario).
"""

import argparse
import contextlib
import fcntl
import ipaddress
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(LAB_DIR, "topology.json")
LISTEN_PY = os.path.join(LAB_DIR, "listen.py")
NAMES_PY = os.path.join(LAB_DIR, "names_responder.py")
STATE_ROOT = "/run/netdx-lab"
NETNS_RUN = "/run/netns"
NETNS_ETC = "/etc/netns"
NS_PREFIX = "ndx"
BRIDGE_KEY = "br"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KEY_RE = re.compile(r"^[a-z0-9]{1,12}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
READY_TIMEOUT_S = 10.0
RELAY_PY = os.path.join(LAB_DIR, "relay.py")
LOSS_SCOPES = ("echo", "ip")
# ICMPv6 types a host must always get, or neighbour discovery (IPv6's ARP) breaks.
ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, nd-redirect"
CREATE_LOCK = ".create"  # not a valid lab name, so never a lab's own lock


class LabError(Exception):
    """A lab operation failed; the message is meant for the user."""


def log(msg):
    print(f"lab.py: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# processes


def run(argv, stdin_text=None, timeout=30):
    """Run a command, return its stdout; raise LabError with its stderr on failure."""
    try:
        proc = subprocess.run(
            argv,
            input=stdin_text,
            stdin=subprocess.DEVNULL if stdin_text is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except FileNotFoundError:
        raise LabError(f"{argv[0]}: command not found (install it, see tests/lab/README.md)")
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: timed out after {timeout}s")
    if proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def proc_start(pid):
    """Start time (clock ticks since boot) of a live process, or None if gone or a zombie.

    A (pid, start time) pair names one process for good, unlike a bare pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(pid, start):
    return start is not None and proc_start(pid) == start


def netns_inode(ns):
    try:
        return os.stat(os.path.join(NETNS_RUN, ns)).st_ino
    except OSError:
        return None


def listening_ports(pid, ns):
    """Ports a process sees listening (TCP) or bound (UDP), once it is inside namespace `ns`."""
    try:
        if os.stat(f"/proc/{pid}/ns/net").st_ino != netns_inode(ns):
            return set()  # still `ip netns exec` before setns: /proc/pid/net is the root ns
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if table.startswith("tcp") and cols[3] != "0A":  # 0A = LISTEN
                continue
            ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


# ---------------------------------------------------------------------------------------------
# topology


def load_topology(path):
    with open(path) as f:
        topo = json.load(f)
    validate(topo)
    dnsmasq_conf(topo, "/dev/null")  # rejects unsupported records before anything is built
    return topo


def validate(topo):
    """Reject a topology.json that would build a lab contradicting its own ground truth."""
    hosts_by_key = {h["key"]: h for h in topo["hosts"]}
    for key, services in topo.get("services", {}).items():
        if key.startswith("_"):
            continue
        if key not in hosts_by_key:
            raise LabError(f"services: no host {key}")
        for port in services:
            if int(port) not in hosts_by_key[key]["open"]:
                raise LabError(f"services: {key} port {port} is not in its open list")
    for key, spec in topo.get("lan_names", {}).items():
        if key.startswith("_"):
            continue
        if key not in hosts_by_key:
            raise LabError(f"lan_names: no host {key}")
        if "expect" not in spec:
            raise LabError(f"lan_names: {key} has no expect")
        port = spec.get("ssdp", {}).get("http_port")
        if port is not None and port not in hosts_by_key[key]["open"]:
            raise LabError(f"lan_names: {key} ssdp http_port {port} is not in its open list")
    lan4 = ipaddress.ip_network(topo["lan"]["ipv4"])
    lan6 = ipaddress.ip_network(topo["lan"]["ipv6"])
    zone = topo["dns"]["zone"]
    nodes = [topo["scanner"]] + topo["hosts"]
    seen = {}
    for node in nodes:
        key = node["key"]
        for field, value in (
            ("key", key),
            ("ip", node["ip"]),
            ("ipv6", node["ipv6"]),
            ("mac", node["mac"]),
            ("name", node["name"]),
        ):
            if (field, value) in seen:
                raise LabError(f"topology: duplicate {field} {value!r}")
            seen[(field, value)] = True
        if not KEY_RE.match(key) or key == BRIDGE_KEY:
            raise LabError(f"topology: bad key {key!r} (1-12 of [a-z0-9], not {BRIDGE_KEY!r})")
        if ipaddress.ip_address(node["ip"]) not in lan4:
            raise LabError(f"topology: {key}: {node['ip']} outside {lan4}")
        if ipaddress.ip_address(node["ipv6"]) not in lan6:
            raise LabError(f"topology: {key}: {node['ipv6']} outside {lan6}")
        mac = node["mac"]
        if not MAC_RE.match(mac) or int(mac[:2], 16) & 1:
            raise LabError(f"topology: {key}: {mac!r} is not a lowercase unicast MAC")
        if not node["name"].endswith("." + zone):
            raise LabError(f"topology: {key}: {node['name']} is not in {zone}")
    for host in topo["hosts"]:
        key = host["key"]
        icmp = host["icmp"]
        if icmp not in (True, False, "lossy"):
            raise LabError(f"topology: {key}: icmp must be true, false or \"lossy\"")
        loss = host.get("loss_percent", 0)
        if (icmp == "lossy") != (0 < loss < 100):
            raise LabError(f"topology: {key}: loss_percent 1-99 goes with icmp \"lossy\" only")
        if "loss_scope" in host and (icmp != "lossy" or host["loss_scope"] not in LOSS_SCOPES):
            raise LabError(f"topology: {key}: loss_scope {'/'.join(LOSS_SCOPES)} needs icmp lossy")
        lists = {k: host[k] for k in ("open", "closed", "filtered")}
        for kind, ports in lists.items():
            if any(not isinstance(p, int) or not 0 < p < 65536 for p in ports):
                raise LabError(f"topology: {key}: bad port in {kind}")
        if set(lists["open"]) & set(lists["closed"]) or set(lists["open"]) & set(
            lists["filtered"]
        ) or set(lists["closed"]) & set(lists["filtered"]):
            raise LabError(f"topology: {key}: open/closed/filtered overlap")
        if host["tcp_default"] not in ("closed", "filtered"):
            raise LabError(f"topology: {key}: tcp_default must be closed or filtered")
        if host["tcp_default"] == "filtered" and (lists["open"] or lists["closed"]):
            raise LabError(f"topology: {key}: a drop-all-TCP host has no open or closed ports")
    roles = [h["role"] for h in topo["hosts"]]
    for role in ("gateway", "dns"):
        if roles.count(role) != 1:
            raise LabError(f"topology: need exactly one {role} host")
    gw = next(h for h in topo["hosts"] if h["role"] == "gateway")
    dns = next(h for h in topo["hosts"] if h["role"] == "dns")
    if gw["ip"] != topo["lan"]["gateway"] or gw["ipv6"] != topo["lan"]["gateway6"]:
        raise LabError("topology: lan.gateway/gateway6 must be the gateway host's addresses")
    if dns["ip"] != topo["dns"]["server"] or dns["ipv6"] != topo["dns"]["server6"]:
        raise LabError("topology: dns.server/server6 must be the dns host's addresses")
    used = {ipaddress.ip_address(n["ip"]) for n in nodes} | {
        ipaddress.ip_address(n["ipv6"]) for n in nodes
    }
    for addr in topo["down"]:
        a = ipaddress.ip_address(addr)
        if a in used or (a not in lan4 and a not in lan6):
            raise LabError(f"topology: down address {addr} is in use or off the LAN")
    validate_wan(topo, {n["key"] for n in nodes}, {n["name"] for n in nodes})


def validate_wan(topo, keys, names):
    """The WAN chain must be a chain: each link one /N shared by its two ends, off the LAN."""
    wan = topo["wan"]
    lan4 = ipaddress.ip_network(topo["lan"]["ipv4"])
    routers, targets = wan["routers"], wan["targets"]
    if not routers:
        raise LabError("topology: wan needs at least one router")
    prev = ipaddress.ip_interface(wan["uplink"]["ip"])
    seen_nets = []
    for r in routers:
        key = r["key"]
        if not KEY_RE.match(key) or key == BRIDGE_KEY or key in keys:
            raise LabError(f"topology: wan router key {key!r} is bad or taken")
        keys.add(key)
        inside = ipaddress.ip_interface(r["in"])
        if inside.network != prev.network or inside.ip == prev.ip:
            raise LabError(f"topology: {key}: in {inside} is not on the link of {prev}")
        if inside.network.overlaps(lan4) or inside.network in seen_nets:
            raise LabError(f"topology: {key}: link {inside.network} overlaps another network")
        seen_nets.append(inside.network)
        prev = ipaddress.ip_interface(r["out"])
    if prev.network.overlaps(lan4) or prev.network in seen_nets:
        raise LabError(f"topology: target network {prev.network} overlaps another network")
    seen_nets.append(prev.network)
    for t in targets:
        key = t["key"]
        if not KEY_RE.match(key) or key == BRIDGE_KEY or key in keys:
            raise LabError(f"topology: wan target key {key!r} is bad or taken")
        keys.add(key)
        net, gw = target_net(topo, t)
        if "subnet" in t:
            if any(net.overlaps(n) for n in seen_nets + [lan4]) or net.prefixlen > 30:
                raise LabError(f"topology: {key}: subnet {net} overlaps another network or is tiny")
            seen_nets.append(net)
        if ipaddress.ip_address(t["ip"]) not in net or t["ip"] == str(gw):
            raise LabError(f"topology: {key}: {t['ip']} is not a host of {net}")
        link = t.get("link", {"kind": "veth"})
        if link["kind"] not in ("veth", "relay") or (link["kind"] == "relay") != (
            "delay_ms" in link
        ):
            raise LabError(f"topology: {key}: link kind veth, or relay with delay_ms")
        if link["kind"] != "veth" and "subnet" not in t:
            raise LabError(f"topology: {key}: a relay link needs a subnet of its own")
        if "police" in t and ("subnet" not in t or t["police"]["pps"] < 1):
            raise LabError(f"topology: {key}: police needs a subnet of its own and pps >= 1")
        tcp_default = t.get("tcp_default", "closed")
        if tcp_default not in ("closed", "filtered"):
            raise LabError(f"topology: {key}: tcp_default must be closed or filtered")
        lists = [set(t["open"]), set(t.get("closed", [])), set(t.get("filtered", []))]
        if lists[0] & lists[1] or lists[0] & lists[2] or lists[1] & lists[2]:
            raise LabError(f"topology: {key}: open/closed/filtered overlap")
        if tcp_default == "filtered" and lists[1]:
            raise LabError(f"topology: {key}: a SYN-filtering target has no closed ports")
        if t["name"] in names or not t["name"].endswith("." + topo["dns"]["zone"]):
            raise LabError(f"topology: {key}: name {t['name']} taken or outside the zone")
        names.add(t["name"])
        if t["icmp"] not in (True, False):
            raise LabError(f"topology: {key}: icmp must be true or false")
        for kind in ("open", "closed", "filtered"):
            if any(not isinstance(p, int) or not 0 < p < 65536 for p in t.get(kind, [])):
                raise LabError(f"topology: {key}: bad port in {kind}")


def target_net(topo, t):
    """(network, router address on it) of a WAN target: its own subnet or the shared one."""
    if "subnet" in t:
        net = ipaddress.ip_network(t["subnet"])
        return net, next(net.hosts())
    shared = ipaddress.ip_interface(topo["wan"]["routers"][-1]["out"])
    return shared.network, shared.ip


def target_truth(topo, t):
    """A WAN target with every optional field filled in (see the wan _doc in topology.json)."""
    tcp_default = t.get("tcp_default", "closed")
    link = dict(t.get("link", {"kind": "veth"}))
    delay = link.get("delay_ms", 0)
    return {
        **t,
        "icmp_timestamp": t.get("icmp_timestamp", True),
        "tcp_default": tcp_default,
        "closed": t.get("closed", []),
        "filtered": t.get("filtered", []),
        "ack_rst": t.get("ack_rst", tcp_default == "closed"),
        "subnet": str(target_net(topo, t)[0]),
        "gateway": str(target_net(topo, t)[1]),
        "link": link,
        "police": t.get("police"),
        "rtt_ms": 2 * delay,
        "loss_percent": 0,
    }


def target_subnets(topo):
    return [ipaddress.ip_network(t["subnet"]) for t in topo["wan"]["targets"] if "subnet" in t]


def wan_networks(topo):
    """Every WAN network in path order: the uplink link, the links between routers, the shared
    target network, then the targets' own subnets (all behind the last router)."""
    wan = topo["wan"]
    nets = [ipaddress.ip_interface(wan["uplink"]["ip"]).network]
    nets += [ipaddress.ip_interface(r["out"]).network for r in wan["routers"]]
    return nets + target_subnets(topo)


def wan_hops(topo, target):
    """The hop list a traceroute from the scanner to `target` must show."""
    hops = [topo["lan"]["gateway"]]
    hops += [str(ipaddress.ip_interface(r["in"]).ip) for r in topo["wan"]["routers"]]
    return hops + [target["ip"]]


def plan_namespaces(topo, tag):
    keys = [BRIDGE_KEY, topo["scanner"]["key"]] + [h["key"] for h in topo["hosts"]]
    keys += [r["key"] for r in topo["wan"]["routers"]] + [t["key"] for t in topo["wan"]["targets"]]
    return {key: f"{NS_PREFIX}{tag}-{key}" for key in keys}


def choose_tag(topo):
    taken = set(os.listdir(NETNS_RUN)) if os.path.isdir(NETNS_RUN) else set()
    for _ in range(100):
        tag = secrets.token_hex(3)
        if not set(plan_namespaces(topo, tag).values()) & taken:
            return tag
    raise LabError("could not find a free namespace tag")


def host_nft(host):
    """nftables ruleset making a host behave as its ground truth says, or None."""
    rules = []
    if host["icmp"] is False:
        rules += ["icmp type echo-request drop", "icmpv6 type echo-request drop"]
    elif host["icmp"] == "lossy" and host.get("loss_scope") == "ip":
        pct = host["loss_percent"]
        # Every IP packet in (TCP, UDP, ICMP), but not ARP (not in the inet family at all) and
        # not neighbour discovery: a lossy link, not a broken one. Each packet is drawn once.
        rules += [
            f"meta nfproto ipv4 numgen random mod 100 < {pct} drop",
            f"meta nfproto ipv6 meta l4proto != ipv6-icmp numgen random mod 100 < {pct} drop",
            f"icmpv6 type != {{ {ND_TYPES} }} numgen random mod 100 < {pct} drop",
        ]
    elif host["icmp"] == "lossy":
        pct = host["loss_percent"]
        # Echo-requests only (one direction), IP only so ARP/ND are untouched.
        rules += [
            f"icmp type echo-request numgen random mod 100 < {pct} drop",
            f"icmpv6 type echo-request numgen random mod 100 < {pct} drop",
        ]
    if host["tcp_default"] == "filtered":
        rules.append("meta l4proto tcp drop")
    elif host["filtered"]:
        rules.append(f"tcp dport {{ {', '.join(map(str, host['filtered']))} }} drop")
    if not rules:
        return None
    return nft_table("input", rules)


def gateway_nft(topo):
    # Forwarded traffic is everything a scanner sends off the LAN: only the lab's own WAN
    # networks pass (out through the uplink and back); everything else is rejected loudly.
    # Counters (on the rejects only) let a test see that something strayed.
    lan, up = topo["lan"]["iface"], topo["wan"]["uplink"]["iface"]
    nets = ", ".join(str(n) for n in wan_networks(topo))
    return nft_table(
        "forward",
        [
            f'iifname "{lan}" oifname "{up}" ip daddr {{ {nets} }} accept',
            f'iifname "{up}" oifname "{lan}" ip saddr {{ {nets} }} accept',
            "meta nfproto ipv4 counter reject with icmp type net-unreachable",
            "meta nfproto ipv6 counter reject with icmpv6 type no-route",
        ],
    )


def nft_table(hook, rules):
    # Newline-separated rules: nft 1.0.6 fails to parse `{ ...; }` one-liners.
    body = "".join(f"    {r}\n" for r in rules)
    return (
        "table inet netdx_lab {\n"
        f"  chain {hook} {{\n"
        f"    type filter hook {hook} priority 0; policy accept;\n"
        f"{body}"
        "  }\n"
        "}\n"
    )


def dns_expected(topo):
    """Every DNS answer the lab's server must give, as {name, type, rcode, answers}."""
    out = []
    for node in [topo["scanner"]] + topo["hosts"]:
        name = node["name"]
        for rtype, addr in (("A", node["ip"]), ("AAAA", node["ipv6"])):
            out.append({"name": name, "type": rtype, "rcode": "NOERROR", "answers": [addr]})
            ptr = ipaddress.ip_address(addr).reverse_pointer
            out.append({"name": ptr, "type": "PTR", "rcode": "NOERROR", "answers": [name]})
    for target in topo["wan"]["targets"]:
        name, addr = target["name"], target["ip"]
        out.append({"name": name, "type": "A", "rcode": "NOERROR", "answers": [addr]})
        ptr = ipaddress.ip_address(addr).reverse_pointer
        out.append({"name": ptr, "type": "PTR", "rcode": "NOERROR", "answers": [name]})
    for rec in topo["dns"]["records"]:
        out.append({**rec, "rcode": "NOERROR"})
    out += topo["dns"]["checks"]
    return out


def dnsmasq_conf(topo, state_dir):
    dns = topo["dns"]
    lines = [
        "# generated by tests/lab/lab.py from topology.json",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "bind-interfaces",
        f"listen-address={dns['server']}",
        f"listen-address={dns['server6']}",
        "port=53",
        f"local-ttl={dns['ttl']}",
        "log-queries",
        f"log-facility={state_dir}/dnsmasq.log",
        f"pid-file={state_dir}/dnsmasq.pid",
        "user=root",
        "group=root",
        f"local=/{dns['zone']}/",
    ]
    lines += [f"local=/{z}/" for z in dns["reverse_zones"]]
    for node in [topo["scanner"]] + topo["hosts"]:
        lines.append(f"host-record={node['name']},{node['ip']},{node['ipv6']}")
    for target in topo["wan"]["targets"]:
        lines.append(f"host-record={target['name']},{target['ip']}")
    for rec in dns["records"]:
        name, rtype = rec["name"], rec["type"]
        for ans in rec["answers"]:
            if rtype == "MX":
                pref, target = ans.split()
                lines.append(f"mx-host={name},{target},{pref}")
            elif rtype == "TXT":
                if '"' in ans or "\\" in ans:
                    raise LabError(f"topology: TXT {ans!r}: quotes/backslashes not supported")
                lines.append(f'txt-record={name},"{ans}"')
            elif rtype == "CNAME":
                lines.append(f"cname={name},{ans}")
            elif rtype == "SRV":
                prio, weight, port, target = ans.split()
                lines.append(f"srv-host={name},{target},{port},{prio},{weight}")
            elif rtype == "A":
                # An address without the matching PTR (host-record would add one).
                ipaddress.IPv4Address(ans)
                lines.append(f"address=/{name}/{ans}")
            elif rtype == "PTR":
                lines.append(f"ptr-record={name},{ans}")
            else:
                raise LabError(f"topology: dns record type {rtype} not supported")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# state and locking


def state_dir(name):
    return os.path.join(STATE_ROOT, name)


def read_state(name):
    try:
        with open(os.path.join(state_dir(name), "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_state(state):
    path = os.path.join(state_dir(state["name"]), "state.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def lab_lock(name, blocking=True):
    """Serialise up/down/janitor/reap on one lab. Yields False if non-blocking and busy."""
    os.makedirs(STATE_ROOT, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(STATE_ROOT, f"{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def owner_alive(state):
    return alive(state["owner_pid"], state["owner_start"])


# ---------------------------------------------------------------------------------------------
# teardown


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def teardown(state):
    """Remove everything `state` records. Safe to call on a half-built lab, and repeatedly."""
    me = os.getpid()
    victims = {}
    for pid, start in state.get("pids", {}).items():
        pid = int(pid)
        if pid != me and alive(pid, start):
            victims[pid] = start
    existing = [ns for ns in state["namespaces"] if netns_inode(ns) is not None]
    for ns in existing:
        try:
            out = run(["ip", "netns", "pids", ns])
        except LabError as e:
            log(f"warning: {e}")
            continue
        for pid in map(int, out.split()):
            start = proc_start(pid)
            if pid != me and start is not None:
                victims[pid] = start
    signal_all(victims, signal.SIGTERM)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(alive(p, s) for p, s in victims.items()):
        time.sleep(0.02)
    stragglers = [p for p, s in victims.items() if alive(p, s)]
    if stragglers:
        log(f"SIGKILL to {stragglers}")
        signal_all(stragglers, signal.SIGKILL)
    if existing:
        batch = "".join(f"netns del {ns}\n" for ns in existing)
        try:
            run(["ip", "-force", "-batch", "-"], stdin_text=batch)
        except LabError as e:
            log(f"warning: {e}")
    for d in state.get("etc_netns", []):
        # Only ever a per-lab dir we recorded, never /etc/netns itself.
        if os.path.dirname(d) == NETNS_ETC and os.path.basename(d).startswith(NS_PREFIX):
            shutil.rmtree(d, ignore_errors=True)
    left = [ns for ns in state["namespaces"] if netns_inode(ns) is not None]
    if left:
        raise LabError(f"namespaces still present after teardown: {left}")
    shutil.rmtree(state_dir(state["name"]), ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(STATE_ROOT, f"{state['name']}.lock"))


def reap(exclude=None, wait=False):
    """Tear down every lab whose owner has exited. Returns the names reaped.

    With wait, a lab that is busy (being built, or torn down by its janitor) is waited for
    rather than skipped, so that afterwards no lab of a dead owner is left."""
    reaped = []
    if not os.path.isdir(STATE_ROOT):
        return reaped
    for name in sorted(os.listdir(STATE_ROOT)):
        path = state_dir(name)
        if name == exclude or not os.path.isdir(path):
            continue
        with lab_lock(name, blocking=wait) as locked:
            if not locked:
                continue  # being built or torn down right now
            state = read_state(name)
            if state is None:
                # Died between mkdir and the first state write: nothing was created yet.
                shutil.rmtree(path, ignore_errors=True)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(STATE_ROOT, f"{name}.lock"))
                continue
            if owner_alive(state):
                continue
            log(f"reaping lab {name} (owner pid {state['owner_pid']} is gone)")
            try:
                teardown(state)
                reaped.append(name)
            except LabError as e:
                log(f"warning: reaping {name}: {e}")
    reap_orphan_etc_netns()
    return reaped


def reap_orphan_etc_netns():
    """Drop /etc/netns/ndx* dirs whose namespace is gone and that no live lab records.

    /run is a tmpfs but /etc is not: after a reboot mid-test these would otherwise remain."""
    if not os.path.isdir(NETNS_ETC):
        return
    recorded = set()
    for name in os.listdir(STATE_ROOT) if os.path.isdir(STATE_ROOT) else []:
        state = read_state(name)
        if state:
            recorded.update(state.get("etc_netns", []))
    for entry in os.listdir(NETNS_ETC):
        path = os.path.join(NETNS_ETC, entry)
        if (
            re.match(rf"^{NS_PREFIX}[0-9a-f]{{6}}-[a-z0-9]+$", entry)
            and path not in recorded
            and netns_inode(entry) is None
        ):
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# build


def spawn(argv, logfile, state):
    """Start a detached daemon (own session, no inherited pipes) and record its pid."""
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
        )
    start = None
    for _ in range(100):
        start = proc_start(proc.pid)
        if start is not None or proc.poll() is not None:
            break
        time.sleep(0.005)
    if start is None:
        raise LabError(f"{argv}: exited at once, see {logfile}")
    state["pids"][str(proc.pid)] = start
    write_state(state)
    return proc


def relay_paths(sdir, key):
    """(ready file, stats file) of the relay serving target `key`."""
    return os.path.join(sdir, f"relay-{key}.ready"), os.path.join(sdir, f"relay-{key}.json")


def start_relays(topo, state):
    """Start relay.py for every relayed target, inside the last router's namespace.

    The relay creates both TAPs there (s-<key> stays, x-<key> moves to the target as eth0 in
    finish_relays): a TAP lives as long as the fd that made it, so killing the relay at
    teardown removes both, and a TAP keeps working after moving to another namespace."""
    sdir = state_dir(state["name"])
    router_ns = state["ns_by_key"][topo["wan"]["routers"][-1]["key"]]
    started = []
    for t in topo["wan"]["targets"]:
        link = t.get("link", {})
        if link.get("kind") != "relay":
            continue
        ready, stats = relay_paths(sdir, t["key"])
        argv = ["ip", "netns", "exec", router_ns, sys.executable, RELAY_PY,
                "--delay-ms", str(link["delay_ms"]), "--queue", str(link["queue_frames"]),
                "--ready", ready, "--stats", stats, f"s-{t['key']}", f"x-{t['key']}"]
        logfile = os.path.join(sdir, f"relay-{t['key']}.log")
        started.append((spawn(argv, logfile, state), ready, logfile, t["key"], router_ns))
    return started


def finish_relays(relays, state):
    """Wait until each relay made its TAPs, then hand the far TAP to its target as eth0."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    for proc, ready, logfile, key, router_ns in relays:
        while not os.path.exists(ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(logfile, errors="replace") as f:
                    tail = f.read()[-2000:]
                raise LabError(f"relay for {key} did not come up: {tail}")
            time.sleep(0.005)
        target_ns = state["ns_by_key"][key]
        run(["ip", "-n", router_ns, "link", "set", f"x-{key}", "netns", target_ns, "name", "eth0"])


def wait_listening(waits):
    """Wait until each (proc, ns, ports, logfile) has all its ports bound inside its namespace."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(waits)
    while pending:
        for item in list(pending):
            proc, ns, ports, logfile = item
            if proc.poll() is not None:
                with open(logfile, errors="replace") as f:
                    tail = f.read()[-2000:]
                raise LabError(f"{proc.args[4:]} in {ns} exited ({proc.returncode}): {tail}")
            if set(ports) <= listening_ports(proc.pid, ns):
                pending.remove(item)
        if pending and time.monotonic() > deadline:
            raise LabError(f"not listening after {READY_TIMEOUT_S}s: {[w[1] for w in pending]}")
        if pending:
            time.sleep(0.01)


def ns_exec_all(scripts):
    """Run one `sh -e` script in each namespace, all in parallel."""
    procs = []
    for ns, script in scripts.items():
        procs.append(
            (
                ns,
                subprocess.Popen(
                    ["ip", "netns", "exec", ns, "sh", "-ec", script],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    errors = []
    for ns, proc in procs:
        out, _ = proc.communicate(timeout=60)
        if proc.returncode != 0:
            errors.append(f"{ns}: {out.strip()}")
    if errors:
        raise LabError("namespace setup failed:\n" + "\n".join(errors))


def make_cert(cert, path_stem):
    """A self-signed certificate as the services section describes it (EC P-256: fast)."""
    key_file, cert_file = path_stem + ".key", path_stem + ".crt"
    san = ",".join(f"DNS:{n}" for n in cert.get("sans", []))
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key_file, "-out", cert_file, "-days", str(cert["days"]),
            "-subj", f"/CN={cert['cn']}"]
    if san:
        argv += ["-addext", f"subjectAltName={san}"]
    run(argv)
    return cert_file, key_file


def service_file(key, services, sdir):
    """The services file listen.py reads for host `key`: the specs without their expectations,
    TLS specs with certificate files made now (so days left is counted from the lab's start)."""
    def spec_of(spec, stem):
        out = {k: v for k, v in spec.items() if k not in ("expect", "cert")}
        if spec["kind"] == "tls":
            out["cert_file"], out["key_file"] = make_cert(spec["cert"], stem)
            out["inner"] = spec_of(spec["inner"], stem + "-inner")
        return out
    plain = {port: spec_of(spec, os.path.join(sdir, f"cert-{key}-{port}"))
             for port, spec in services.items() if not port.startswith("_")}
    path = os.path.join(sdir, f"services-{key}.json")
    with open(path, "w") as f:
        json.dump(plain, f)
    return path


def snmpd_conf(spec, ip, lan, sdir):
    """snmpd.conf for one lab host: read-only community for the LAN only, the system group
    as the topology says, listening on the host's own address, state kept in the lab's dir."""
    return (
        f"agentAddress udp:{ip}:161\n"
        f"rocommunity {spec['community']} {lan}\n"
        f"sysDescr {spec['sys_descr']}\n"
        f"sysObjectID {spec['sys_object_id']}\n"
        f"sysName {spec['sys_name']}\n"
        f"sysLocation {spec['sys_location']}\n"
        "sysServices 72\n"
        f"[snmp] persistentDir {sdir}\n"
    )


def build(topo, state):
    sdir = state_dir(state["name"])
    ns = state["ns_by_key"]
    lan = topo["lan"]
    iface = lan["iface"]
    p4 = ipaddress.ip_network(lan["ipv4"]).prefixlen
    p6 = ipaddress.ip_network(lan["ipv6"]).prefixlen
    scanner = topo["scanner"]
    nodes = [scanner] + topo["hosts"]

    # Relays first: Python starts while the links are made (see start_relays).
    relays = start_relays(topo, state)

    # The bridge namespace: no IPv6 at all (it has no address, so it stays silent), and every
    # veth is created here with its peer placed straight into the host namespace.
    bridge_cmds = [
        "link add br0 type bridge stp_state 0 mcast_snooping 0",
        "link set lo up",
        "link set br0 up",
    ]
    for node in nodes:
        port = f"p-{node['key']}"
        bridge_cmds += [
            f"link add {port} type veth peer name {iface} address {node['mac']}"
            f" netns {ns[node['key']]}",
            f"link set {port} master br0",
            f"link set {port} up",
        ]
    with open(os.path.join(sdir, "bridge.ip"), "w") as f:
        f.write("\n".join(bridge_cmds) + "\n")
    ns_exec_all(
        {
            ns[BRIDGE_KEY]: "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6\n"
            "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6\n"
            f"ip -batch {sdir}/bridge.ip\n"
        }
    )
    # The WAN's links, each created inside the namespace of its upstream end.
    ns_exec_all(wan_link_scripts(topo, ns))
    finish_relays(relays, state)

    scripts = {}
    for node in nodes:
        key = node["key"]
        conf = f"/proc/sys/net/ipv6/conf/{iface}"
        lines = [
            # Static addresses are usable at once (nodad); no RA/RS chatter on the LAN.
            f"echo 0 > {conf}/accept_dad",
            f"echo 0 > {conf}/accept_ra",
            f"echo 0 > {conf}/router_solicitations",
            "ip link set lo up",
            f"ip addr add {node['ip']}/{p4} dev {iface}",
            f"ip -6 addr add {node['ipv6']}/{p6} dev {iface} nodad",
            f"ip link set {iface} up",
        ]
        if node is scanner:
            lines += [
                f"ip route add default via {lan['gateway']} dev {iface}",
                f"ip -6 route add default via {lan['gateway6']} dev {iface}",
            ]
        rules = host_nft(node) if node is not scanner else None
        if node is not scanner and node["role"] == "gateway":
            # A route "out" that leads nowhere (a veth pair wholly inside this namespace), so
            # off-LAN packets reach the forward chain, which rejects them all.
            lines += [
                "echo 1 > /proc/sys/net/ipv4/ip_forward",
                "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
                "ip link add nowhere0 type veth peer name nowhere1",
                "ip link set nowhere0 up",
                "ip route add default dev nowhere0",
                "ip -6 route add default dev nowhere0",
            ]
            lines += wan_gateway_lines(topo)
            rules = (rules or "") + gateway_nft(topo)
        if rules:
            path = os.path.join(sdir, f"{key}.nft")
            with open(path, "w") as f:
                f.write(rules)
            lines.append(f"nft -f {path}")
        scripts[ns[key]] = "\n".join(lines) + "\n"
    for key, lines in wan_node_lines(topo, sdir).items():
        scripts[ns[key]] = "\n".join(lines) + "\n"
    ns_exec_all(scripts)

    # The scanner resolves through the lab's DNS server: `ip netns exec` bind-mounts this file
    # over /etc/resolv.conf. Recorded in state before it is created.
    etc = state["etc_netns"][0]
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write(f"nameserver {topo['dns']['server']}\n")

    waits = []
    dns_host = next(h for h in topo["hosts"] if h["role"] == "dns")
    conf_path = os.path.join(sdir, "dnsmasq.conf")
    with open(conf_path, "w") as f:
        f.write(dnsmasq_conf(topo, sdir))
    dns_ns = ns[dns_host["key"]]
    logfile = os.path.join(sdir, "dnsmasq.out")
    argv = ["ip", "netns", "exec", dns_ns, "dnsmasq", "--keep-in-foreground"]
    argv.append(f"--conf-file={conf_path}")
    waits.append((spawn(argv, logfile, state), dns_ns, [53], logfile))
    lan_names = {k: v for k, v in topo.get("lan_names", {}).items() if not k.startswith("_")}
    for key, spec in lan_names.items():
        host = next(h for h in topo["hosts"] if h["key"] == key)
        hns = ns[key]
        players = {k: v for k, v in spec.items() if k in ("mdns", "netbios", "ssdp")}
        if players:
            path = os.path.join(sdir, f"names-{key}.json")
            with open(path, "w") as f:
                json.dump({"ip": host["ip"], **players}, f)
            logfile = os.path.join(sdir, f"names-{key}.log")
            argv = ["ip", "netns", "exec", hns, sys.executable, NAMES_PY, path]
            ports = [{"mdns": 5353, "netbios": 137, "ssdp": 1900}[k] for k in players]
            if "ssdp" in players:
                ports.append(players["ssdp"]["http_port"])
            waits.append((spawn(argv, logfile, state), hns, ports, logfile))
        if "snmp" in spec:
            conf = os.path.join(sdir, f"snmpd-{key}.conf")
            with open(conf, "w") as f:
                f.write(snmpd_conf(spec["snmp"], host["ip"], topo["lan"]["ipv4"], sdir))
            logfile = os.path.join(sdir, f"snmpd-{key}.log")
            # -f: foreground (the lab owns the pid); -Lo: log to stdout; -C -c: only this
            # configuration, never /etc/snmp/snmpd.conf; -I -smux: without the SMUX module,
            # which would listen on TCP 199 of every address, an open port the topology does
            # not list (port scans of the host would disagree with the lab's truth).
            argv = ["ip", "netns", "exec", hns, "snmpd", "-f", "-Lo", "-C", "-c", conf,
                    "-I", "-smux", "-p", os.path.join(sdir, f"snmpd-{key}.pid")]
            waits.append((spawn(argv, logfile, state), hns, [161], logfile))
    for host in topo["hosts"]:
        # dnsmasq serves the DNS host's port 53; the names responder its description port; one
        # listener serves every other open port.
        served = {lan_names.get(host["key"], {}).get("ssdp", {}).get("http_port")}
        ports = [p for p in host["open"]
                 if not (host["role"] == "dns" and p == 53) and p not in served]
        if not ports:
            continue
        hns = ns[host["key"]]
        logfile = os.path.join(sdir, f"listen-{host['key']}.log")
        argv = ["ip", "netns", "exec", hns, sys.executable, LISTEN_PY]
        services = topo.get("services", {}).get(host["key"])
        if services:
            argv += ["--services", service_file(host["key"], services, sdir)]
        argv += [str(p) for p in ports]
        waits.append((spawn(argv, logfile, state), hns, ports, logfile))
    for target in topo["wan"]["targets"]:
        if not target["open"]:
            continue
        tns = ns[target["key"]]
        logfile = os.path.join(sdir, f"listen-{target['key']}.log")
        argv = ["ip", "netns", "exec", tns, sys.executable, LISTEN_PY]
        argv += [str(p) for p in target["open"]]
        waits.append((spawn(argv, logfile, state), tns, target["open"], logfile))
    wait_listening(waits)


# Routers answer every expiring probe: no per-destination ICMP budget (icmp_ratelimit 0) and a
# global one far above anything a test sends. The `icmp-ratelimit` scenario throttles one
# router on purpose, with nftables.
ROUTER_SYSCTLS = [
    "echo 1 > /proc/sys/net/ipv4/ip_forward",
    "echo 0 > /proc/sys/net/ipv4/icmp_ratelimit",
    "echo 100000 > /proc/sys/net/ipv4/icmp_msgs_per_sec",
    "echo 10000 > /proc/sys/net/ipv4/icmp_msgs_burst",
]
NO_IPV6 = [
    "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6",
    "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
]


def wan_link_scripts(topo, ns):
    """Scripts creating the WAN's veth pairs and the target bridge, keyed by namespace."""
    wan = topo["wan"]
    routers = wan["routers"]
    gw_key = next(h["key"] for h in topo["hosts"] if h["role"] == "gateway")
    scripts = {
        ns[gw_key]: f"ip link add {wan['uplink']['iface']} type veth peer name in0"
        f" netns {ns[routers[0]['key']]}\n"
    }
    for r, nxt in zip(routers, routers[1:]):
        scripts[ns[r["key"]]] = f"ip link add out0 type veth peer name in0 netns {ns[nxt['key']]}\n"
    last = [*NO_IPV6, "ip link add lan0 type bridge stp_state 0 mcast_snooping 0"]
    for t in wan["targets"]:
        if "subnet" not in t:
            last += [
                f"ip link add t-{t['key']} type veth peer name eth0 netns {ns[t['key']]}",
                f"ip link set t-{t['key']} master lan0",
            ]
        elif t.get("link", {}).get("kind", "veth") == "veth":
            # A network of its own: a point-to-point veth from the router (s-<key>).
            last.append(f"ip link add s-{t['key']} type veth peer name eth0 netns {ns[t['key']]}")
        # kind relay: relay.py creates s-<key> and the host's TAP (see start_relays).
    scripts[ns[routers[-1]["key"]]] = "\n".join(last) + "\n"
    return scripts


def wan_gateway_lines(topo):
    """The gateway's side of the WAN: its uplink and routes to every WAN network via r1."""
    wan = topo["wan"]
    up = wan["uplink"]["iface"]
    first = ipaddress.ip_interface(wan["routers"][0]["in"]).ip
    lines = [
        *ROUTER_SYSCTLS,
        "echo 0 > /proc/sys/net/ipv6/icmp/ratelimit",
        f"echo 1 > /proc/sys/net/ipv6/conf/{up}/disable_ipv6",
        f"ip addr add {wan['uplink']['ip']} dev {up}",
        f"ip link set {up} up",
    ]
    lines += [f"ip route add {net} via {first} dev {up}" for net in wan_networks(topo)[1:]]
    return lines


def wan_node_lines(topo, sdir):
    """Setup of each router and target namespace: addresses, routes, forwarding, nftables."""
    wan = topo["wan"]
    routers = wan["routers"]
    nets = wan_networks(topo)
    lan = ipaddress.ip_network(topo["lan"]["ipv4"])
    out = {}
    for i, r in enumerate(routers):
        inside = ipaddress.ip_interface(r["in"])
        outside = ipaddress.ip_interface(r["out"])
        last = i == len(routers) - 1
        out_dev = "lan0" if last else "out0"
        prev_hop = ipaddress.ip_interface(routers[i - 1]["out"] if i else wan["uplink"]["ip"]).ip
        lines = [*NO_IPV6, *ROUTER_SYSCTLS, "ip link set lo up"]
        lines += [
            f"ip addr add {inside} dev in0",
            "ip link set in0 up",
            f"ip addr add {outside} dev {out_dev}",
            f"ip link set {out_dev} up",
        ]
        if last:
            lines += target_router_lines(topo, sdir, r["key"])
        # Upstream: the LAN and every link before ours. Downstream: every network after ours.
        lines += [f"ip route add {n} via {prev_hop} dev in0" for n in [lan, *nets[:i]]]
        if not last:
            next_hop = ipaddress.ip_interface(routers[i + 1]["in"]).ip
            lines += [f"ip route add {n} via {next_hop} dev out0" for n in nets[i + 2 :]]
        out[r["key"]] = lines
    for t in wan["targets"]:
        t = target_truth(topo, t)
        net = ipaddress.ip_network(t["subnet"])
        lines = [*NO_IPV6, "ip link set lo up"]
        lines += [
            f"ip addr add {t['ip']}/{net.prefixlen} dev eth0",
            "ip link set eth0 up",
            f"ip route add default via {t['gateway']} dev eth0",
        ]
        if t["link"]["kind"] == "relay":
            lines += relay_end_lines("eth0", t["ip"], t["gateway"], t["link"])
        rules = target_rules(t)
        if rules:
            path = os.path.join(sdir, f"{t['key']}.nft")
            with open(path, "w") as f:
                f.write(nft_table("input", rules))
            lines.append(f"nft -f {path}")
        out[t["key"]] = lines
    return out


def link_mac(ip):
    """A fixed, locally administered MAC for one end of a relayed link: 02:00 + the IPv4."""
    return "02:00:" + ":".join(f"{b:02x}" for b in ipaddress.ip_address(ip).packed)


def relay_end_lines(dev, ip, peer, link):
    """One end of a relayed link: fixed MACs with permanent neighbour entries (an ARP over a
    40 ms link would make every first probe one RTT slower), a TAP ring as deep as the relay's
    queue (so a relay briefly starved of CPU does not drop at the ring: its own queue is the
    modelled buffer), and the link's bandwidth as a token bucket on the device's egress."""
    return [
        f"ip link set {dev} address {link_mac(ip)} txqueuelen {link['queue_frames']}",
        f"ip neigh replace {peer} lladdr {link_mac(peer)} dev {dev} nud permanent",
        f"tc qdisc add dev {dev} root tbf rate {link['rate_kbit']}kbit"
        f" burst {link['burst_kbit']}kbit latency 50ms",
    ]


def target_rules(t):
    """nftables input rules making a WAN target behave as its ground truth says."""
    rules = []
    if not t["icmp"]:
        rules.append("icmp type echo-request drop")
    if not t["icmp_timestamp"]:
        rules.append("icmp type timestamp-request drop")
    if t["tcp_default"] == "filtered":
        not_open = f"tcp dport != {{ {', '.join(map(str, t['open']))} }}" if t["open"] else ""
        # ack_rst: drop only new connections; a stray ACK still meets the stack and gets a RST.
        syn = "tcp flags & (syn | ack) == syn " if t["ack_rst"] else "meta l4proto tcp "
        rules.append(f"{syn}{not_open} drop".replace("  ", " "))
    return rules


def target_router_lines(topo, sdir, router_key):
    """The last router's side of each target: bridge ports, own subnets, tbf, policers."""
    lines, police = [], []
    for t in topo["wan"]["targets"]:
        t = target_truth(topo, t)
        if t["subnet"] == str(ipaddress.ip_interface(topo["wan"]["routers"][-1]["out"]).network):
            lines.append(f"ip link set t-{t['key']} up")
            continue
        dev = f"s-{t['key']}"
        net = ipaddress.ip_network(t["subnet"])
        lines += [f"ip addr add {t['gateway']}/{net.prefixlen} dev {dev}", f"ip link set {dev} up"]
        if t["link"]["kind"] == "relay":
            lines += relay_end_lines(dev, t["gateway"], t["ip"], t["link"])
        if t["police"]:
            pps, burst = t["police"]["pps"], t["police"]["burst"]
            # Two rules, two buckets: each direction is policed on its own.
            for field in ("daddr", "saddr"):
                police.append(
                    f"ip {field} {t['ip']} limit rate over {pps}/second burst {burst} packets"
                    " counter drop"
                )
    if police:
        path = os.path.join(sdir, f"{router_key}.nft")
        with open(path, "w") as f:
            f.write(nft_table("forward", police))
        lines.append(f"nft -f {path}")
    return lines


def wan_document(topo, ns, sdir):
    wan = topo["wan"]
    routers = []
    for r in wan["routers"]:
        routers.append(
            {
                "key": r["key"],
                "ns": ns[r["key"]],
                "ip": str(ipaddress.ip_interface(r["in"]).ip),
                "out": str(ipaddress.ip_interface(r["out"]).ip),
            }
        )
    targets = []
    for t in wan["targets"]:
        doc = {**target_truth(topo, t), "ns": ns[t["key"]], "hops": wan_hops(topo, t)}
        if doc["link"]["kind"] == "relay":
            doc["link"]["stats"] = relay_paths(sdir, t["key"])[1]
        targets.append(doc)
    return {
        "uplink": {
            "iface": wan["uplink"]["iface"],
            "ip": str(ipaddress.ip_interface(wan["uplink"]["ip"]).ip),
        },
        "routers": routers,
        "targets": targets,
        "networks": [str(n) for n in wan_networks(topo)],
    }


def lab_document(topo, state, elapsed_ms):
    ns = state["ns_by_key"]
    hosts = []
    for host in topo["hosts"]:
        h = dict(host)
        h.setdefault("loss_percent", 0)
        h.setdefault("loss_scope", "echo" if host["icmp"] == "lossy" else "none")
        h["ns"] = ns[host["key"]]
        hosts.append(h)
    dns = {
        key: topo["dns"][key]
        for key in ("zone", "server", "server6", "ttl", "reverse_zones", "records", "checks")
    }
    dns["second"] = topo["dns"].get("second")
    dns["expected"] = dns_expected(topo)
    dns["log"] = os.path.join(state_dir(state["name"]), "dnsmasq.log")
    dns["resolv_conf"] = os.path.join(state["etc_netns"][0], "resolv.conf")
    return {
        "name": state["name"],
        "tag": state["tag"],
        "state_dir": state_dir(state["name"]),
        "owner_pid": state["owner_pid"],
        "lan": topo["lan"],
        "namespaces": {"bridge": ns[BRIDGE_KEY], "scanner": ns[topo["scanner"]["key"]]},
        "all_namespaces": state["namespaces"],
        "etc_netns": state["etc_netns"],
        "pids": sorted(int(p) for p in state["pids"]),
        "scanner": {**topo["scanner"], "ns": ns[topo["scanner"]["key"]]},
        "hosts": hosts,
        "services": {k: v for k, v in topo.get("services", {}).items() if not k.startswith("_")},
        "device_types": {k: v for k, v in topo.get("device_types", {}).items()
                         if not k.startswith("_")},
        "lan_names": {k: v for k, v in topo.get("lan_names", {}).items() if not k.startswith("_")},
        "down": topo["down"],
        "dns": dns,
        "wan": wan_document(topo, ns, state_dir(state["name"])),
        "setup_ms": elapsed_ms,
    }


# ---------------------------------------------------------------------------------------------
# commands


def require_root():
    if os.geteuid() != 0:
        raise LabError("needs root (network namespaces, nftables)")


PRIVILEGE_WRAPPERS = {"sudo", "doas", "su", "run0", "pkexec"}


def default_owner():
    """The caller, or for `sudo lab.py up` the shell that ran sudo.

    sudo exits as soon as lab.py does, so owning the lab by it would end the lab at once; the
    user's shell is what should keep it alive. This only picks the owner, it never signals."""
    pid = os.getppid()
    for _ in range(4):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            break
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if comm not in PRIVILEGE_WRAPPERS or parent <= 1:
            break
        pid = parent
    return pid


def cmd_up(args):
    require_root()
    t0 = time.monotonic()
    owner = args.owner_pid if args.owner_pid is not None else default_owner()
    owner_start = proc_start(owner)
    if owner_start is None:
        raise LabError(f"owner pid {owner} is not running")
    topo = load_topology(args.topology)
    reap(exclude=args.name)
    with lab_lock(args.name):
        old = read_state(args.name)
        if old is not None:
            if owner_alive(old):
                raise LabError(f"lab {args.name} is already up (owner pid {old['owner_pid']})")
            teardown(old)
        sdir = state_dir(args.name)
        state = None

        def interrupted(signum, _frame):
            raise LabError(f"interrupted by signal {signum}")

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, interrupted)
        try:
            # Choosing a tag and creating its namespaces is one step under a global lock, so
            # every name this lab records was free when it created it: teardown by recorded
            # name can only ever remove this lab's own namespaces.
            with lab_lock(CREATE_LOCK):
                tag = choose_tag(topo)
                ns_by_key = plan_namespaces(topo, tag)
                scan_ns = ns_by_key[topo["scanner"]["key"]]
                shutil.rmtree(sdir, ignore_errors=True)  # a dir without state.json holds nothing
                os.mkdir(sdir, 0o700)
                state = {
                    "name": args.name,
                    "tag": tag,
                    "owner_pid": owner,
                    "owner_start": owner_start,
                    "created": time.time(),
                    "complete": False,
                    "ns_by_key": ns_by_key,
                    "namespaces": list(ns_by_key.values()),
                    "etc_netns": [os.path.join(NETNS_ETC, scan_ns)],
                    "pids": {},
                }
                write_state(state)  # recorded before anything exists
                netns_add = "".join(f"netns add {n}\n" for n in state["namespaces"])
                run(["ip", "-batch", "-"], stdin_text=netns_add)
            # The janitor next: from here on, the owner dying always ends the lab.
            spawn(
                [sys.executable, os.path.abspath(__file__), "janitor", "--name", args.name,
                 "--tag", tag],
                os.path.join(sdir, "janitor.log"),
                state,
            )
            build(topo, state)
            state["complete"] = True
            write_state(state)
        except BaseException as e:
            log(f"up failed, tearing down: {e}")
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            if state is not None:
                teardown(state)
            else:
                shutil.rmtree(sdir, ignore_errors=True)
            raise
        doc = lab_document(topo, state, round((time.monotonic() - t0) * 1000))
        with open(os.path.join(sdir, "lab.json"), "w") as f:
            json.dump(doc, f, indent=1)
    json.dump(doc, sys.stdout, indent=1)
    print()


def cmd_down(args):
    require_root()
    t0 = time.monotonic()
    with lab_lock(args.name):
        state = read_state(args.name)
        if state is None:
            shutil.rmtree(state_dir(args.name), ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(STATE_ROOT, f"{args.name}.lock"))
            log(f"lab {args.name} is not up")
            return
        teardown(state)
    log(f"lab {args.name} down in {round((time.monotonic() - t0) * 1000)} ms")


def cmd_reap(_args):
    require_root()
    for name in reap(wait=True):
        print(name)


def cmd_list(_args):
    if not os.path.isdir(STATE_ROOT):
        return
    for name in sorted(os.listdir(STATE_ROOT)):
        state = read_state(name) if os.path.isdir(state_dir(name)) else None
        if state:
            status = "owner alive" if owner_alive(state) else "owner dead"
            scanner = os.path.basename(state["etc_netns"][0])
            print(f"{name}\ttag={state['tag']}\towner={state['owner_pid']} ({status})\t{scanner}")


# ---------------------------------------------------------------------------------------------
# breaking the lab in one way (and healing it)

SCENARIOS = {
    "link-down": "the scanner's cable is pulled: its bridge port goes down (no carrier)",
    "gateway-down": "the gateway leaves the LAN: its bridge port goes down",
    "dns-down": "the DNS server leaves the LAN: its bridge port goes down",
    "dns-servfail": "dnsmasq is replaced by a server answering SERVFAIL to every query",
    "dns-stopped": "dnsmasq is stopped (its host stays up: queries get port unreachable);"
    " heal starts it again",
    "wan-blackhole": "router --router N (default 2) drops all it forwards; expiring probes still"
    " get their time-exceeded",
    "uplink-loss": "--percent P (default 30) % of the packets from the gateway to the first router"
    " are lost",
    "icmp-ratelimit": "router --router N (default 2) sends at most one ICMP time-exceeded a second",
    "port-closed": "WAN target --target K (default app) resets connections to --port P (default"
    " 443)",
    "lan-slow": "LAN host --target K (default pi4) answers echo requests --delay-ms D (default 200)"
    " late: its kernel ignores them and icmp_delay.py answers instead",
    "dns-second": "a second resolver (dns.second in topology.json) on the DNS host that disagrees"
    " with the first; the scanner's resolv.conf lists both",
    "dns-encrypted": "unbound on the DNS host serves DNS over TLS (port 853) and over HTTPS (443,"
    " /dns-query) with --cert/--key, forwarding every question to the lab's dnsmasq",
}
ICMP_DELAY_PY = os.path.join(LAB_DIR, "icmp_delay.py")
DNS_STUB_PY = os.path.join(LAB_DIR, "dns_stub.py")


def read_doc(name):
    with open(os.path.join(state_dir(name), "lab.json")) as f:
        return json.load(f)


def nft_break(ns, scenario, hook, rules):
    """A table of its own per scenario, in front of the lab's rules (priority -10)."""
    table = "netdx_break_" + scenario.replace("-", "_")
    body = "".join(f"    {r}\n" for r in rules)
    text = (
        f"table inet {table} {{\n  chain {hook} {{\n"
        f"    type filter hook {hook} priority -10; policy accept;\n{body}  }}\n}}\n"
    )
    run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin_text=text)
    return {"kind": "nft", "ns": ns, "table": table}


def link_break(ns, dev):
    run(["ip", "-n", ns, "link", "set", dev, "down"])
    return {"kind": "link", "ns": ns, "dev": dev}


def stop_process(state, pid):
    """SIGTERM a process this lab recorded, and wait (2 s) for it to go."""
    start = state["pids"].get(str(pid))
    if not alive(pid, start):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 2.0
    while alive(pid, start) and time.monotonic() < deadline:
        time.sleep(0.01)
    if alive(pid, start):
        os.kill(pid, signal.SIGKILL)


def stop_dnsmasq(state):
    """Stop the lab's dnsmasq (by the pid it recorded) and wait until it is gone."""
    try:
        with open(os.path.join(state_dir(state["name"]), "dnsmasq.pid")) as f:
            stop_process(state, int(f.read().strip()))
    except (OSError, ValueError):
        pass


def start_dnsmasq(state, dns_ns):
    sdir = state_dir(state["name"])
    logfile = os.path.join(sdir, "dnsmasq.out")
    argv = ["ip", "netns", "exec", dns_ns, "dnsmasq", "--keep-in-foreground"]
    argv.append(f"--conf-file={os.path.join(sdir, 'dnsmasq.conf')}")
    wait_listening([(spawn(argv, logfile, state), dns_ns, [53], logfile)])


def apply_break(state, doc, args):
    ns = state["ns_by_key"]
    bridge = ns[BRIDGE_KEY]
    host = {h["role"]: h for h in doc["hosts"]}
    routers = doc["wan"]["routers"]
    sc = args.scenario
    if sc == "link-down":
        return link_break(bridge, f"p-{doc['scanner']['key']}")
    if sc == "gateway-down":
        return link_break(bridge, f"p-{host['gateway']['key']}")
    if sc == "dns-down":
        return link_break(bridge, f"p-{host['dns']['key']}")
    if sc in ("wan-blackhole", "icmp-ratelimit"):
        if not 1 <= args.router <= len(routers):
            raise LabError(f"--router must be 1 to {len(routers)}")
        rns = routers[args.router - 1]["ns"]
        if sc == "wan-blackhole":
            return nft_break(rns, sc, "forward", ["counter drop"])
        return nft_break(
            rns,
            sc,
            "output",
            ["icmp type time-exceeded limit rate over 1/second burst 1 packets counter drop"],
        )
    if sc == "uplink-loss":
        if not 0 < args.percent < 100:
            raise LabError("--percent must be 1 to 99")
        up = doc["wan"]["uplink"]["iface"]
        rule = f'oifname "{up}" meta nfproto ipv4 numgen random mod 100 < {args.percent} counter drop'
        return nft_break(host["gateway"]["ns"], sc, "forward", [rule])
    if sc == "port-closed":
        target = next((t for t in doc["wan"]["targets"] if t["key"] == args.target), None)
        if target is None:
            raise LabError(f"no WAN target {args.target!r}")
        rule = f"tcp dport {args.port} counter reject with tcp reset"
        return nft_break(target["ns"], sc, "input", [rule])
    if sc == "dns-stopped":
        stop_dnsmasq(state)
        return {"kind": "dns-stopped", "ns": host["dns"]["ns"]}
    if sc == "lan-slow":
        key = args.target if args.target != "app" else "pi4"
        target = next((h for h in doc["hosts"] if h["key"] == key), None)
        if target is None or target["role"] in ("gateway", "dns"):
            raise LabError(f"no LAN host {key!r} to slow down")
        tns = target["ns"]
        run(["ip", "netns", "exec", tns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"])
        logfile = os.path.join(state_dir(state["name"]), f"icmp_delay-{key}.log")
        argv = ["ip", "netns", "exec", tns, sys.executable, ICMP_DELAY_PY, "--delay-ms",
                str(args.delay_ms)]
        proc = spawn(argv, logfile, state)
        # Ready once it holds its raw socket inside the namespace.
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not raw_icmp_bound(proc.pid, tns):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"icmp_delay.py in {tns} did not start, see {logfile}")
            time.sleep(0.01)
        return {"kind": "icmp-delay", "ns": tns, "pid": proc.pid}
    if sc == "dns-second":
        second = doc["dns"].get("second")
        if not second:
            raise LabError("topology.json has no dns.second")
        dns = host["dns"]
        sdir = state_dir(state["name"])
        with open(os.path.join(sdir, "dnsmasq.conf")) as f:
            conf = f.read().splitlines()
        omit = set(second.get("omit", []))
        lines = []
        for line in conf:
            if line.startswith(("listen-address=", "log-facility=", "pid-file=")):
                continue
            if line.startswith("host-record=") and line.split("=", 1)[1].split(",")[0] in omit:
                continue
            lines.append(line)
        lines += [f"listen-address={second['server']}", f"log-facility={sdir}/dnsmasq2.log",
                  f"pid-file={sdir}/dnsmasq2.pid"]
        conf2 = os.path.join(sdir, "dnsmasq2.conf")
        with open(conf2, "w") as f:
            f.write("\n".join(lines) + "\n")
        run(["ip", "-n", dns["ns"], "addr", "add", f"{second['server']}/24", "dev", "eth0",
             "nodad"])
        logfile = os.path.join(sdir, "dnsmasq2.out")
        argv = ["ip", "netns", "exec", dns["ns"], "dnsmasq", "--keep-in-foreground",
                f"--conf-file={conf2}"]
        proc = spawn(argv, logfile, state)
        wait_listening([(proc, dns["ns"], [53], logfile)])
        resolv = doc["dns"]["resolv_conf"]
        with open(resolv) as f:
            before = f.read()
        with open(resolv, "w") as f:
            f.write(before + f"nameserver {second['server']}\n")
        return {"kind": "dns-second", "ns": dns["ns"], "pid": proc.pid,
                "addr": f"{second['server']}/24", "resolv": resolv, "resolv_text": before}
    if sc == "dns-encrypted":
        return start_unbound(state, host["dns"], doc["dns"], args)
    if sc == "dns-servfail":
        dns = host["dns"]
        sdir = state_dir(state["name"])
        stop_dnsmasq(state)
        logfile = os.path.join(sdir, "dns_stub.log")
        argv = ["ip", "netns", "exec", dns["ns"], sys.executable, DNS_STUB_PY, "--rcode",
                "SERVFAIL", dns["ip"], dns["ipv6"]]
        stub = spawn(argv, logfile, state)
        wait_listening([(stub, dns["ns"], [53], logfile)])
        return {"kind": "dns-stub", "ns": dns["ns"], "pid": stub.pid}
    raise LabError(f"unknown scenario {sc!r}; one of {', '.join(SCENARIOS)}")


def unbound_conf(dns_host, dns_doc, cert, key, sdir):
    """unbound as a DoT/DoH front for dnsmasq: it listens only on the DNS host's addresses,
    ports 853 and 443 (dnsmasq keeps 53), forwards everything to dnsmasq and validates nothing
    (the lab's zone is not signed). No chroot, no privilege drop, no syslog: it lives in the
    lab's state directory and dies with the lab."""
    ips = [dns_host["ip"], dns_host["ipv6"]]
    lines = ["server:"]
    lines += [f"    interface: {ip}@{port}" for ip in ips for port in (853, 443)]
    lines += [
        "    tls-port: 853",
        "    https-port: 443",
        '    http-endpoint: "/dns-query"',
        f'    tls-service-key: "{key}"',
        f'    tls-service-pem: "{cert}"',
        "    access-control: 0.0.0.0/0 allow",
        "    access-control: ::/0 allow",
        '    username: ""',
        '    chroot: ""',
        f'    directory: "{sdir}"',
        f'    pidfile: "{sdir}/unbound.pid"',
        "    use-syslog: no",
        '    logfile: ""',
        "    verbosity: 1",
        "    do-daemonize: no",
        "    num-threads: 1",
        "    so-reuseport: no",
        '    module-config: "iterator"',
        "    qname-minimisation: no",
        # The lab's zone and reverse zones are names unbound answers itself by default.
        "    unblock-lan-zones: yes",
        "    insecure-lan-zones: yes",
        f'    local-zone: "{dns_doc["zone"].rsplit(".", 1)[-1]}." nodefault',
        "forward-zone:",
        '    name: "."',
        f"    forward-addr: {dns_host['ip']}@53",
    ]
    return "\n".join(lines) + "\n"


def start_unbound(state, dns_host, dns_doc, args):
    if not (args.cert and args.key):
        raise LabError("dns-encrypted needs --cert PEM and --key PEM")
    if shutil.which("unbound") is None:
        raise LabError("unbound is not installed (tests/run.sh installs it)")
    sdir = state_dir(state["name"])
    conf = os.path.join(sdir, "unbound.conf")
    with open(conf, "w") as f:
        f.write(unbound_conf(dns_host, dns_doc, os.path.abspath(args.cert),
                             os.path.abspath(args.key), sdir))
    run(["unbound-checkconf", conf])
    logfile = os.path.join(sdir, "unbound.log")
    argv = ["ip", "netns", "exec", dns_host["ns"], "unbound", "-d", "-c", conf]
    proc = spawn(argv, logfile, state)
    wait_listening([(proc, dns_host["ns"], [853, 443], logfile)])
    return {"kind": "process", "ns": dns_host["ns"], "pid": proc.pid}


def undo_break(state, rec):
    if rec["kind"] == "link":
        run(["ip", "-n", rec["ns"], "link", "set", rec["dev"], "up"])
    elif rec["kind"] == "nft":
        run(["ip", "netns", "exec", rec["ns"], "nft", "delete", "table", "inet", rec["table"]])
    elif rec["kind"] == "dns-stub":
        stop_process(state, rec["pid"])
        start_dnsmasq(state, rec["ns"])
    elif rec["kind"] == "dns-stopped":
        start_dnsmasq(state, rec["ns"])
    elif rec["kind"] == "icmp-delay":
        stop_process(state, rec["pid"])
        run(["ip", "netns", "exec", rec["ns"], "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0"])
    elif rec["kind"] == "process":
        stop_process(state, rec["pid"])
    elif rec["kind"] == "dns-second":
        stop_process(state, rec["pid"])
        run(["ip", "-n", rec["ns"], "addr", "del", rec["addr"], "dev", "eth0"])
        with open(rec["resolv"], "w") as f:
            f.write(rec["resolv_text"])


def raw_icmp_bound(pid, ns):
    """True once `pid`, inside namespace `ns`, holds a raw ICMP socket."""
    try:
        if os.stat(f"/proc/{pid}/ns/net").st_ino != netns_inode(ns):
            return False
        with open(f"/proc/{pid}/net/raw") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return False
    # Column 2 is local_address:protocol; protocol 1 is ICMP.
    return any(r.split()[1].endswith(":0001") for r in rows if len(r.split()) > 1)


def cmd_break(args):
    require_root()
    with lab_lock(args.name):
        state = read_state(args.name)
        if state is None or not state.get("complete"):
            raise LabError(f"lab {args.name} is not up")
        rec = apply_break(state, read_doc(args.name), args)
        rec["scenario"] = args.scenario
        state.setdefault("breaks", []).append(rec)
        write_state(state)
    log(f"lab {args.name}: {args.scenario}: {SCENARIOS[args.scenario]}")


def cmd_heal(args):
    require_root()
    with lab_lock(args.name):
        state = read_state(args.name)
        if state is None:
            raise LabError(f"lab {args.name} is not up")
        while state.get("breaks"):
            undo_break(state, state["breaks"][-1])
            state["breaks"].pop()
            write_state(state)


def wait_for_exit(pid, start):
    if not alive(pid, start):
        return
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None and alive(pid, start):  # the pidfd names the owner, not a reused pid
        while True:
            try:
                if select.select([fd], [], [])[0]:
                    break
            except InterruptedError:
                continue
        os.close(fd)
        return
    while alive(pid, start):
        time.sleep(0.25)


def cmd_janitor(args):
    """Detached: wait for the lab's owner to exit, then tear the lab down."""
    state = read_state(args.name)
    if state is None or state["tag"] != args.tag:
        return
    wait_for_exit(state["owner_pid"], state["owner_start"])
    with lab_lock(args.name):
        state = read_state(args.name)
        if state is not None and state["tag"] == args.tag and not owner_alive(state):
            log(f"owner {state['owner_pid']} exited: tearing down lab {args.name}")
            teardown(state)


def main():
    # Tools live in sbin; a test runner's PATH may lack it.
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    def lab_name(value):
        if not NAME_RE.match(value):
            raise argparse.ArgumentTypeError("1-64 of [A-Za-z0-9_.-], not starting with . - _")
        return value

    up = sub.add_parser("up", help="build a lab and print its JSON description")
    up.add_argument("--name", type=lab_name, required=True)
    up.add_argument("--owner-pid", type=int, help="lab lives while this pid does (default: caller)")
    up.add_argument("--topology", default=TOPOLOGY)
    down = sub.add_parser("down", help="tear a lab down (idempotent)")
    down.add_argument("--name", type=lab_name, required=True)
    sub.add_parser("reap", help="tear down labs whose owner has exited")
    sub.add_parser("list", help="list recorded labs")
    brk = sub.add_parser(
        "break",
        help="break the lab in one way",
        description="Scenarios:\n" + "\n".join(f"  {k}: {v}" for k, v in SCENARIOS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    brk.add_argument("--name", type=lab_name, required=True)
    brk.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    brk.add_argument("--router", type=int, default=2, help="router number, 1 = next to the gateway")
    brk.add_argument("--percent", type=int, default=30)
    brk.add_argument("--target", default="app", help="WAN target key")
    brk.add_argument("--port", type=int, default=443)
    brk.add_argument("--delay-ms", type=int, default=200, help="lan-slow: echo reply delay")
    brk.add_argument("--cert", help="dns-encrypted: the server's certificate (PEM)")
    brk.add_argument("--key", help="dns-encrypted: the server's private key (PEM)")
    heal = sub.add_parser("heal", help="undo every break, newest first")
    heal.add_argument("--name", type=lab_name, required=True)
    jan = sub.add_parser("janitor", help=argparse.SUPPRESS)
    jan.add_argument("--name", type=lab_name, required=True)
    jan.add_argument("--tag", required=True)
    args = parser.parse_args()
    handler = {
        "up": cmd_up,
        "down": cmd_down,
        "reap": cmd_reap,
        "list": cmd_list,
        "break": cmd_break,
        "heal": cmd_heal,
        "janitor": cmd_janitor,
    }[args.cmd]
    try:
        handler(args)
    except LabError as e:
        log(f"error: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
