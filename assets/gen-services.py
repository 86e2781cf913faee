#!/usr/bin/env python3
"""Generate assets/services.tsv, the port/service table that src/ports.rs embeds.

Usage: python3 assets/gen-services.py [NMAP_SERVICES] [ETC_SERVICES] [IANA_CSV] > assets/services.tsv
Defaults: /usr/share/nmap/nmap-services, /etc/services and service-names-port-numbers.csv (IANA's
registry as CSV, https://www.iana.org/assignments/service-names-port-numbers/, not shipped here:
download it next to the script when regenerating).

What comes from where, and why:
- rank: the TCP ports of nmap-services ordered by their open-frequency (highest first, ties
  broken by the lower port number), cut at TOP ports. Only this ordering is taken from Nmap;
  its service names, comments and frequency values are not copied, to keep what we ship clear
  of the Nmap Public Source License's terms on derived works (https://nmap.org/npsl/).
- name, first match wins:
  1. TECHNICIAN below: the name technicians use where the registry's differs (msrpc, not
     epmap; rdp, not ms-wbt-server), written by hand for netdx;
  2. /etc/services (Debian netbase, GPL-2; its names follow the IANA service name registry),
     first TCP entry per port;
  3. CURATED below: common-usage names for ports that file does not list (hand-written);
  4. for the ranked (top-1000) ports only, IANA's Service Name and Transport Protocol Port
     Number Registry (first TCP name per port, ranges expanded). IANA's registries are public.
  Ranked ports no source names (nmap itself shows most of them as "unknown") stay unnamed
  rather than get an invented name.

The output is deterministic: run it again after an nmap or netbase update and review the diff.
"""

import sys

TOP = 1000

# The names technicians use, where the registry's name is not it. These win over every source;
# the generator fails if one repeats what the sources already say (so the list stays a list of
# real overrides).
TECHNICIAN = {
    111: "rpcbind",
    135: "msrpc",
    143: "imap",
    548: "afp",
    3389: "rdp",
}

# Common-usage names for ports /etc/services does not list. Written for netdx, not copied from
# Nmap. The generator fails if an entry here shadows an /etc/services name, so this list only
# ever fills gaps.
CURATED = {
    137: "netbios-ns",
    138: "netbios-dgm",
    500: "isakmp",
    502: "modbus",
    1521: "oracle",
    1701: "l2tp",
    1720: "h323hostcall",
    1723: "pptp",
    1755: "ms-streaming",
    1883: "mqtt",
    1900: "ssdp",
    2181: "zookeeper",
    2375: "docker",
    2376: "docker-tls",
    2379: "etcd-client",
    2380: "etcd-server",
    3128: "squid-http",
    3268: "msft-gc",
    3269: "msft-gc-ssl",
    4500: "ipsec-nat-t",
    5353: "mdns",
    5357: "wsdapi",
    5631: "pcanywheredata",
    5800: "vnc-http",
    5900: "vnc",
    5938: "teamviewer",
    5984: "couchdb",
    5985: "wsman",
    5986: "wsmans",
    6443: "kubernetes-api",
    7547: "cwmp",
    8000: "http-alt",
    8008: "http-alt",
    8009: "ajp13",
    8086: "influxdb",
    8291: "mikrotik-winbox",
    8443: "https-alt",
    8883: "secure-mqtt",
    9042: "cassandra",
    9092: "kafka",
    9100: "jetdirect",
    9200: "elasticsearch",
    # Added for issue 9 (names for the ports technicians meet): web servers on other ports.
    81: "http-alt",
    808: "http-alt",
    3000: "http-dev",  # Node, Grafana, Rails and other development servers
    8010: "http-alt",
    8011: "http-alt",
    8085: "http-alt",
    8180: "http-alt",
    16080: "http-alt",
    48080: "http-alt",
    58080: "http-alt",
    44443: "https-alt",
    60443: "https-alt",
    5000: "upnp",  # also Synology DSM, Flask and AirPlay receivers
    5001: "commplex-link",
    8728: "mikrotik-api",
    8729: "mikrotik-api-ssl",
    9999: "distinct",
    24: "priv-mail",
    843: "flash-policy",
    4242: "quassel",
    5560: "isqlplus",
    6129: "dameware",
    6699: "napster",
    6881: "bittorrent",
    7496: "ib-tws",
    7937: "nsrexecd",
    7938: "lgtomapper",
    8089: "splunkd",
    8333: "bitcoin",
    8649: "ganglia",
    9040: "tor-trans",
    9929: "nping-echo",
    10024: "amavisd",
    17988: "ilo-vm",
    24800: "synergy",
    27000: "flexlm",
    50000: "ibm-db2",
    52869: "upnp",
    62078: "iphone-sync",
    9443: "https-alt",
    10250: "kubelet",
    11211: "memcache",
    15672: "rabbitmq-mgmt",
    20000: "dnp3",
    27017: "mongodb",
    44818: "ethernet-ip",
    47808: "bacnet",
}

# VNC listens on 5900 + display and its Java viewer on 5800 + display; Windows RPC endpoints
# on the dynamic ports (1025 up on old Windows, 49152 up since Vista). Named by rule, for the
# ranked ports the sources leave unnamed.
def by_rule(port):
    if 5901 <= port <= 5999:
        return f"vnc-{port - 5900}"
    if 5801 <= port <= 5899:
        return f"vnc-http-{port - 5800}"
    if 1026 <= port <= 1032 or 49152 <= port <= 49176:
        return "msrpc"
    return None


def nmap_ranking(path):
    """TCP ports ordered by open-frequency, highest first; ties by lower port."""
    ports = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            port, proto = fields[1].split("/")
            if proto == "tcp":
                ports.append((-float(fields[2]), int(port)))
    ports.sort()
    return [port for _, port in ports]


def etc_names(path):
    """First TCP name per port in an /etc/services style file."""
    names = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2 and fields[1].endswith("/tcp"):
                names.setdefault(int(fields[1].split("/")[0]), fields[0])
    return names


def iana_names(path):
    """First TCP service name per port in IANA's registry CSV, port ranges expanded."""
    import csv

    names = {}
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            name, port, proto = row[0].strip(), row[1].strip(), row[2].strip()
            if proto != "tcp" or not name or not port:
                continue
            lo, _, hi = port.partition("-")
            for p in range(int(lo), int(hi or lo) + 1):
                names.setdefault(p, name)
    return names


def nmap_id(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# $Id:"):
                return line[2:].strip()
    return "unknown revision"


def main():
    nmap_path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/nmap/nmap-services"
    etc_path = sys.argv[2] if len(sys.argv) > 2 else "/etc/services"
    iana_path = sys.argv[3] if len(sys.argv) > 3 else "service-names-port-numbers.csv"

    ranking = nmap_ranking(nmap_path)[:TOP]
    names = etc_names(etc_path)
    shadowed = sorted(set(CURATED) & set(names))
    if shadowed:
        sys.exit(f"CURATED repeats ports {etc_path} already names: {shadowed}")
    same = sorted(p for p, n in TECHNICIAN.items() if names.get(p) == n)
    if same:
        sys.exit(f"TECHNICIAN repeats names {etc_path} already gives: {same}")
    names.update(CURATED)
    names.update(TECHNICIAN)
    iana = iana_names(iana_path)
    for port in ranking:
        if port not in names:
            name = by_rule(port) or iana.get(port)
            if name:
                names[port] = name
    for name in names.values():
        if not name or "\t" in name or name == "-":
            sys.exit(f"unusable service name {name!r}")

    rank = {port: i + 1 for i, port in enumerate(ranking)}
    out = sys.stdout
    out.write(
        "# netdx port/service table, embedded by src/ports.rs. GENERATED by assets/gen-services.py:\n"
        "# edit the script, not this file.\n"
        "#\n"
        "# Columns: port<TAB>name<TAB>rank. name '-' = no name known; rank '-' = not among the\n"
        f"# top {TOP} TCP ports; rank 1 = the TCP port most often found open.\n"
        "#\n"
        f"# rank: ordering of TCP ports by open-frequency in nmap-services ({nmap_id(nmap_path)}),\n"
        "#   ties broken by lower port. Nmap's data files are (C) 1996-2020 Insecure.Com LLC (now\n"
        "#   Nmap Software LLC), distributed under the Nmap Public Source License\n"
        "#   (https://nmap.org/npsl/, https://nmap.org/book/man-legal.html), which requires works\n"
        "#   derived from Nmap to be under a compatible open source license. Only the ordering is\n"
        "#   used: no Nmap service names, comments or frequency values are copied here.\n"
        "# name: the names technicians use where the registry's differs (listed by hand in\n"
        "#   gen-services.py), else /etc/services from Debian netbase (GPL-2; names follow the IANA\n"
        "#   Service Name and Transport Protocol Port Number Registry), else common-usage names\n"
        "#   listed by hand in gen-services.py, else (ranked ports only) VNC display and Windows\n"
        "#   RPC dynamic ports by rule, else IANA's registry itself.\n"
    )
    for port in sorted(set(rank) | set(names)):
        out.write(f"{port}\t{names.get(port, '-')}\t{rank.get(port, '-')}\n")


if __name__ == "__main__":
    main()
