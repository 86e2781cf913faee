#!/usr/bin/env bash
# nmap on the scenarios of tests/accuracy_lab.rs, for side-by-side figures (not a test):
# wall time and how many ports differ from the lab's ground truth, per run.
#
#   sudo python3 tests/lab/lab.py up --name cmp      # note the scanner namespace it prints
#   sudo bash tests/lab/nmap_accuracy.sh ndx<tag>-scan [runs]
#
# Runs only inside the lab's scanner namespace; every target is a lab address.
set -euo pipefail
ns=${1:?usage: nmap_accuracy.sh <scanner-namespace> [runs]}
runs=${2:-10}
xml=$(mktemp)
trap 'rm -f "$xml"' EXIT
chmod 666 "$xml" # nmap as nobody writes it too

# check IP OPEN_CSV DEFAULT_STATE PORT_COUNT: nmap's states against the truth (every port not
# open is DEFAULT_STATE on these hosts), from nmap's XML.
check() {
    python3 - "$xml" "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
path, ip, open_csv, default, n = sys.argv[1:6]
root = ET.parse(path).getroot()
opened = {int(p) for p in open_csv.split(",") if p}
for h in root.findall("host"):
    if h.find("address[@addrtype='ipv4']").get("addr") != ip:
        continue
    wrong, seen = [], 0
    for e in h.findall("ports/extraports"):
        seen += int(e.get("count"))
        if e.get("state") != default:
            wrong.append((e.get("state"), e.get("count")))
    for p in h.findall("ports/port"):
        seen += 1
        port, state = int(p.get("portid")), p.find("state").get("state")
        if state != ("open" if port in opened else default):
            wrong.append((port, state))
    print(f"ports {seen}/{n} wrong {len(wrong)} {wrong[:8]}")
    break
else:
    print(f"{ip} not reported up")
EOF
}

# scan LABEL IP OPEN DEFAULT COUNT NMAP-ARGS...
scan() {
    local label=$1 ip=$2 open=$3 default=$4 count=$5
    shift 5
    for i in $(seq 1 "$runs"); do
        local t0 t1
        t0=$(date +%s.%N)
        ip netns exec "$ns" nmap "$@" -oX "$xml" >/dev/null 2>&1
        t1=$(date +%s.%N)
        printf '%s run %d: %.2f s, %s\n' "$label" "$i" "$(echo "$t1 - $t0" | bc)" "$(check "$ip" "$open" "$default" "$count")"
    done
}

scan "lossall -sS top100" 10.77.0.61 22,80,443 closed 100 -sS --top-ports 100 10.77.0.61
scan "lossall -sT top100" 10.77.0.61 22,80,443 closed 100 -sT --top-ports 100 10.77.0.61
scan "slow -sS 1-10000" 10.9.1.10 22,80 closed 10000 -sS -p 1-10000 10.9.1.10
scan "slow -sT 1-10000" 10.9.1.10 22,80 closed 10000 -sT -p 1-10000 10.9.1.10
scan "policed -sS 1-20000" 10.9.2.10 22,443 closed 20000 -sS -p 1-20000 10.9.2.10
scan "policed -sT 1-20000" 10.9.2.10 22,443 closed 20000 -sT -p 1-20000 10.9.2.10

# Discovery only (no port scan), as root and as nobody (nmap then uses connect to 80/443).
for who in root nobody; do
    pre=()
    [ "$who" = nobody ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
    for args in "10.9.0.20 10.9.0.30 10.9.0.31" "--disable-arp-ping 10.77.0.33 10.77.0.40"; do
        # shellcheck disable=SC2086
        ip netns exec "$ns" "${pre[@]}" nmap -sn $args -oX "$xml" >/dev/null 2>&1
        python3 - "$xml" "$who" "$args" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
hosts = [(h.find("address[@addrtype='ipv4']").get("addr"), h.find("status").get("state"),
          h.find("status").get("reason")) for h in root.findall("host")]
print(f"-sn {sys.argv[3]} as {sys.argv[2]}: {root.find('runstats/finished').get('elapsed')} s {hosts}")
EOF
    done
done
