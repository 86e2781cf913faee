#!/usr/bin/env python3
"""netdx LAN-safety lab: a small namespace LAN with a legitimate gateway and, on request, the
trouble `netdx lan` must find.

    lan_lab.py up --name NAME [--owner-pid PID] [--rogue-dhcp] [--duplicate] [--spoof-gateway]
                  [--rogue-ra]                        build it, print its JSON (the ground truth)
    lan_lab.py down --name NAME                       tear it down (idempotent)
    lan_lab.py list                                   show recorded labs (lab.py's and these)

Layout (10.79.0.0/24; every interface lives in a lab namespace, none in the root one):

    ns <tag>-br: br0 -+- p-scan  == eth0 <tag>-scan   10.79.0.10  scanner, default route via .1
                      +- p-gw    == eth0 <tag>-gw     10.79.0.1   dnsmasq DHCP (.100-.150), radvd
                      |                                             2001:db8:77::/64
                      +- p-rdhcp == eth0 <tag>-rdhcp  10.79.0.60  --rogue-dhcp: dnsmasq (.200-.220,
                      |                                             router .60), Raspberry Pi MAC
                      +- p-dupa  == eth0 <tag>-dupa   10.79.0.50  --duplicate: two hosts, one IP
                      +- p-dupb  == eth0 <tag>-dupb   10.79.0.50
                      +- p-spoof == eth0 <tag>-spoof  10.79.0.66  --spoof-gateway: garp_send.py
                      |                                             claims 10.79.0.1 every 0.5 s
                      +- p-rra   == eth0 <tag>-rra    10.79.0.99  --rogue-ra: radvd 2001:db8:bad::/64

No DHCP client runs anywhere; dnsmasq's lease files are in the lab's state directory so a test
can check that the DHCP check took no lease.

Built on lab.py (imported): the same state directory (/run/netdx-lab/<NAME>), the same
recorded-pid teardown, the same janitor that tears the lab down when the owner pid exits, and
`lab.py reap` reaps these labs too. Standard library only; needs root, iproute2, dnsmasq,
radvd.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import time

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, LAB_DIR)
import lab as base  # noqa: E402

GARP_PY = os.path.join(LAB_DIR, "garp_send.py")
IFACE = "eth0"
PREFIX = 24
SUBNET = "10.79.0.0/24"

SCANNER = {"key": "scan", "ip": "10.79.0.10", "mac": "02:4c:ab:00:00:10"}
GATEWAY = {
    "key": "gw",
    "ip": "10.79.0.1",
    "mac": "02:4c:ab:00:00:01",
    "ipv6": "2001:db8:77::1",
    "dhcp_range": ["10.79.0.100", "10.79.0.150"],
    "router": "10.79.0.1",
    "dns": ["10.79.0.53"],
    "domain": "lan.lab.test",
    "lease_s": 3600,
    "prefix": "2001:db8:77::/64",
    "ra_dns": "2001:db8:77::53",
}
ROGUE_DHCP = {
    "key": "rdhcp",
    "ip": "10.79.0.60",
    "mac": "b8:27:eb:00:00:60",  # a Raspberry Pi OUI, so the vendor shows
    "dhcp_range": ["10.79.0.200", "10.79.0.220"],
    "router": "10.79.0.60",
    "dns": ["10.79.0.60"],
    "domain": "evil.test",
    "lease_s": 600,
}
DUPLICATE = [
    {"key": "dupa", "ip": "10.79.0.50", "mac": "02:4c:ab:00:00:51"},
    {"key": "dupb", "ip": "10.79.0.50", "mac": "02:4c:ab:00:00:52"},
]
# --switch: the scanner's switch port announces itself (LLDP and CDP, lldp_send.py) from the
# bridge namespace, every 5 s as an access port set up for phones does.
SWITCH = {
    "name": "lan-sw1",
    "port": "Gi1/0/10",
    "port_desc": "netdx scanner desk",
    "vlan": 79,
    "mgmt": "10.79.0.2",
    "interval_s": 5.0,
}
LLDP_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lldp_send.py")
SPOOFER = {"key": "spoof", "ip": "10.79.0.66", "mac": "02:4c:ab:00:00:66", "interval_s": 0.5}
ROGUE_RA = {
    "key": "rra",
    "ip": "10.79.0.99",
    "mac": "02:4c:ab:00:00:99",
    "prefix": "2001:db8:bad::/64",
}


def link_local(mac):
    """The EUI-64 link-local address the kernel derives from `mac`."""
    b = bytes.fromhex(mac.replace(":", ""))
    eui = bytes([b[0] ^ 0x02]) + b[1:3] + b"\xff\xfe" + b[3:6]
    groups = [f"{(eui[i] << 8) | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


def nodes_for(flags):
    nodes = [SCANNER, GATEWAY]
    if flags["rogue_dhcp"]:
        nodes.append(ROGUE_DHCP)
    if flags["duplicate"]:
        nodes += DUPLICATE
    if flags["spoof_gateway"]:
        nodes.append(SPOOFER)
    if flags["rogue_ra"]:
        nodes.append(ROGUE_RA)
    return nodes


def choose_tag(keys):
    taken = set(os.listdir(base.NETNS_RUN)) if os.path.isdir(base.NETNS_RUN) else set()
    for _ in range(100):
        tag = base.secrets.token_hex(3)
        if not {f"{base.NS_PREFIX}{tag}-{k}" for k in keys} & taken:
            return tag
    raise base.LabError("could not find a free namespace tag")


def dnsmasq_conf(node, sdir):
    lo, hi = node["dhcp_range"]
    key = node["key"]
    return "\n".join(
        [
            "port=0",  # DHCP only, no DNS
            f"interface={IFACE}",
            "bind-interfaces",
            f"dhcp-range={lo},{hi},255.255.255.0,{node['lease_s']}",
            f"dhcp-option=option:router,{node['router']}",
            "dhcp-option=option:dns-server," + ",".join(node["dns"]),
            f"domain={node['domain']}",
            "dhcp-broadcast",
            "no-ping",
            "no-resolv",
            "no-hosts",
            "log-dhcp",
            "user=root",
            f"dhcp-leasefile={sdir}/{key}.leases",
            f"pid-file={sdir}/{key}-dnsmasq.pid",
        ]
    ) + "\n"


def radvd_conf(prefix, rdnss=None):
    lines = [
        f"interface {IFACE} {{",
        "  AdvSendAdvert on;",
        "  MinRtrAdvInterval 3;",
        "  MaxRtrAdvInterval 10;",
        "  AdvDefaultLifetime 1800;",
        "  AdvOtherConfigFlag off;",
        f"  prefix {prefix} {{ AdvOnLink on; AdvAutonomous on; }};",
    ]
    if rdnss:
        lines.append(f"  RDNSS {rdnss} {{ }};")
    lines.append("};")
    return "\n".join(lines) + "\n"


def build(state, flags):
    sdir = base.state_dir(state["name"])
    ns = state["ns_by_key"]
    nodes = nodes_for(flags)

    bridge = ["link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0",
              "link set lo up", "link set br0 up"]
    for node in nodes:
        port = f"p-{node['key']}"
        bridge += [
            f"link add {port} type veth peer name {IFACE} address {node['mac']}"
            f" netns {ns[node['key']]}",
            f"link set {port} master br0",
            f"link set {port} up",
        ]
    with open(os.path.join(sdir, "bridge.ip"), "w") as f:
        f.write("\n".join(bridge) + "\n")
    base.ns_exec_all(
        {
            ns["br"]: "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6\n"
            "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6\n"
            f"ip -batch {sdir}/bridge.ip\n"
        }
    )

    scripts = {}
    for node in nodes:
        conf = f"/proc/sys/net/ipv6/conf/{IFACE}"
        lines = [
            # Link-local usable at once (no DAD); no host configures itself from an RA.
            f"echo 0 > {conf}/accept_dad",
            f"echo 0 > {conf}/accept_ra",
            f"echo 0 > {conf}/router_solicitations",
            "ip link set lo up",
            f"ip addr add {node['ip']}/{PREFIX} dev {IFACE}",
            f"ip link set {IFACE} up",
        ]
        if node is SCANNER:
            lines.append(f"ip route add default via {GATEWAY['ip']} dev {IFACE}")
        if node is GATEWAY:
            lines.append(f"ip -6 addr add {GATEWAY['ipv6']}/64 dev {IFACE} nodad")
        if node in (GATEWAY, ROGUE_RA):
            lines.append("echo 1 > /proc/sys/net/ipv6/conf/all/forwarding")
        scripts[ns[node["key"]]] = "\n".join(lines) + "\n"
    base.ns_exec_all(scripts)

    etc = state["etc_netns"][0]
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write(f"nameserver {GATEWAY['ip']}\n")

    waits = []
    for node in [n for n in nodes if "dhcp_range" in n]:
        key = node["key"]
        path = os.path.join(sdir, f"{key}-dnsmasq.conf")
        with open(path, "w") as f:
            f.write(dnsmasq_conf(node, sdir))
        open(os.path.join(sdir, f"{key}.leases"), "w").close()
        log = os.path.join(sdir, f"{key}-dnsmasq.out")
        argv = ["ip", "netns", "exec", ns[key], "dnsmasq", "--keep-in-foreground",
                "--log-facility=-", f"--conf-file={path}"]
        waits.append((base.spawn(argv, log, state), ns[key], [67], log))

    radvds = []
    if True:  # the gateway always advertises
        radvds.append((GATEWAY["key"], radvd_conf(GATEWAY["prefix"], GATEWAY["ra_dns"])))
    if flags["rogue_ra"]:
        radvds.append((ROGUE_RA["key"], radvd_conf(ROGUE_RA["prefix"])))
    started = []
    for key, text in radvds:
        conf = os.path.join(sdir, f"{key}-radvd.conf")
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o644)
        pidfile = os.path.join(sdir, f"{key}-radvd.pid")
        log = os.path.join(sdir, f"{key}-radvd.out")
        argv = ["ip", "netns", "exec", ns[key], "radvd", "--nodaemon", "-C", conf, "-p",
                pidfile, "-m", "stderr"]
        started.append((base.spawn(argv, log, state), pidfile, log))

    if flags["switch"]:
        log = os.path.join(sdir, "lldp.out")
        argv = ["ip", "netns", "exec", ns["br"], sys.executable, LLDP_PY,
                "--iface", "p-scan", "--name", SWITCH["name"], "--port", SWITCH["port"],
                "--port-desc", SWITCH["port_desc"], "--vlan", str(SWITCH["vlan"]),
                "--mgmt", SWITCH["mgmt"], "--interval", str(SWITCH["interval_s"])]
        started.append((base.spawn(argv, log, state), None, log))

    if flags["spoof_gateway"]:
        log = os.path.join(sdir, "garp.out")
        argv = ["ip", "netns", "exec", ns[SPOOFER["key"]], sys.executable, GARP_PY,
                "--iface", IFACE, "--ip", GATEWAY["ip"], "--mac", SPOOFER["mac"],
                "--interval", str(SPOOFER["interval_s"])]
        started.append((base.spawn(argv, log, state), None, log))

    base.wait_listening(waits)
    # radvd writes its pid file once its socket is set up; give the others a moment to fail.
    deadline = time.monotonic() + base.READY_TIMEOUT_S
    for proc, pidfile, log in started:
        while pidfile and not os.path.exists(pidfile):
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(log, errors="replace") as f:
                    raise base.LabError(f"{proc.args[4:]} did not start: {f.read()[-2000:]}")
            time.sleep(0.01)
    time.sleep(0.1)
    for proc, _, log in started:
        if proc.poll() is not None:
            with open(log, errors="replace") as f:
                raise base.LabError(f"{proc.args[4:]} exited: {f.read()[-2000:]}")


def document(state, flags, elapsed_ms):
    sdir = base.state_dir(state["name"])
    ns = state["ns_by_key"]
    gw = dict(GATEWAY, link_local=link_local(GATEWAY["mac"]),
              leases=os.path.join(sdir, "gw.leases"))
    doc = {
        "name": state["name"],
        "tag": state["tag"],
        "owner_pid": state["owner_pid"],
        "setup_ms": elapsed_ms,
        "flags": flags,
        "subnet": SUBNET,
        "iface": IFACE,
        "namespaces": ns,
        "all_namespaces": state["namespaces"],
        "scanner": dict(SCANNER, ns=ns["scan"], link_local=link_local(SCANNER["mac"])),
        "gateway": gw,
        "rogue_dhcp": None,
        "duplicate": None,
        "spoofer": None,
        "rogue_ra": None,
        "switch": dict(SWITCH) if flags["switch"] else None,
    }
    if flags["rogue_dhcp"]:
        doc["rogue_dhcp"] = dict(ROGUE_DHCP, leases=os.path.join(sdir, "rdhcp.leases"))
    if flags["duplicate"]:
        doc["duplicate"] = {"ip": DUPLICATE[0]["ip"], "macs": [d["mac"] for d in DUPLICATE]}
    if flags["spoof_gateway"]:
        doc["spoofer"] = dict(SPOOFER)
    if flags["rogue_ra"]:
        doc["rogue_ra"] = dict(ROGUE_RA, link_local=link_local(ROGUE_RA["mac"]))
    return doc


def cmd_up(args):
    base.require_root()
    t0 = time.monotonic()
    owner = args.owner_pid if args.owner_pid is not None else base.default_owner()
    owner_start = base.proc_start(owner)
    if owner_start is None:
        raise base.LabError(f"owner pid {owner} is not running")
    flags = {
        "rogue_dhcp": args.rogue_dhcp,
        "duplicate": args.duplicate,
        "spoof_gateway": args.spoof_gateway,
        "rogue_ra": args.rogue_ra,
        "switch": args.switch,
    }
    keys = ["br"] + [n["key"] for n in nodes_for(flags)]
    base.reap(exclude=args.name)
    with base.lab_lock(args.name):
        old = base.read_state(args.name)
        if old is not None:
            if base.owner_alive(old):
                raise base.LabError(f"lab {args.name} is already up (owner pid {old['owner_pid']})")
            base.teardown(old)
        sdir = base.state_dir(args.name)
        state = None

        def interrupted(signum, _frame):
            raise base.LabError(f"interrupted by signal {signum}")

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, interrupted)
        try:
            with base.lab_lock(base.CREATE_LOCK):
                tag = choose_tag(keys)
                ns_by_key = {k: f"{base.NS_PREFIX}{tag}-{k}" for k in keys}
                shutil.rmtree(sdir, ignore_errors=True)
                os.mkdir(sdir, 0o700)
                state = {
                    "name": args.name,
                    "kind": "lan",
                    "tag": tag,
                    "owner_pid": owner,
                    "owner_start": owner_start,
                    "created": time.time(),
                    "complete": False,
                    "ns_by_key": ns_by_key,
                    "namespaces": list(ns_by_key.values()),
                    "etc_netns": [os.path.join(base.NETNS_ETC, ns_by_key["scan"])],
                    "pids": {},
                }
                base.write_state(state)  # recorded before anything exists
                base.run(["ip", "-batch", "-"],
                         stdin_text="".join(f"netns add {n}\n" for n in state["namespaces"]))
            # lab.py's janitor: tears this lab down when the owner exits (it only reads state).
            base.spawn(
                [sys.executable, os.path.join(LAB_DIR, "lab.py"), "janitor", "--name",
                 args.name, "--tag", tag],
                os.path.join(sdir, "janitor.log"),
                state,
            )
            build(state, flags)
            state["complete"] = True
            base.write_state(state)
        except BaseException as e:
            base.log(f"up failed, tearing down: {e}")
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            if state is not None:
                base.teardown(state)
            else:
                shutil.rmtree(sdir, ignore_errors=True)
            raise
        doc = document(state, flags, round((time.monotonic() - t0) * 1000))
        with open(os.path.join(sdir, "lab.json"), "w") as f:
            json.dump(doc, f, indent=1)
    json.dump(doc, sys.stdout, indent=1)
    print()


def main():
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    def lab_name(value):
        if not base.NAME_RE.match(value):
            raise argparse.ArgumentTypeError("1-64 of [A-Za-z0-9_.-], not starting with . - _")
        return value

    up = sub.add_parser("up", help="build a LAN lab and print its JSON description")
    up.add_argument("--name", type=lab_name, required=True)
    up.add_argument("--owner-pid", type=int, help="lab lives while this pid does")
    up.add_argument("--rogue-dhcp", action="store_true", help="a second DHCP server")
    up.add_argument("--duplicate", action="store_true", help="two hosts with one IPv4 address")
    up.add_argument("--spoof-gateway", action="store_true",
                    help="gratuitous ARP for the gateway's address")
    up.add_argument("--rogue-ra", action="store_true", help="a second IPv6 router")
    up.add_argument("--switch", action="store_true",
                    help="the scanner's switch port announces LLDP and CDP every 5 s")
    down = sub.add_parser("down", help="tear a lab down (idempotent)")
    down.add_argument("--name", type=lab_name, required=True)
    sub.add_parser("list", help="list recorded labs")
    args = parser.parse_args()
    try:
        if args.cmd == "up":
            cmd_up(args)
        elif args.cmd == "down":
            base.cmd_down(args)
        else:
            base.cmd_list(args)
    except base.LabError as e:
        base.log(f"error: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
