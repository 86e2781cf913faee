#!/usr/bin/env bash
# The whole netdx test suite: unit tests, namespace-lab integration tests, TUI snapshots and
# the tmux end-to-end run. Lab tests build network namespaces, so this runs as root; it
# installs the Debian packages the lab needs when they are missing (CI starts from a fresh
# machine). Nothing here sends a packet outside loopback or the labs' own namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo -E env "PATH=$PATH" bash "$0" "$@"
  fi
  echo "tests/run.sh: lab tests need root (network namespaces); run as root" >&2
  exit 1
fi

need=()
for cmd_pkg in ip:iproute2 nft:nftables dnsmasq:dnsmasq-base tmux:tmux python3:python3 \
               ndiff:ndiff nmap:nmap fping:fping arp-scan:arp-scan chromium:chromium \
               ps:procps openssl:openssl strace:strace snmpd:snmpd \
               lldpd:lldpd radvd:radvd curl:curl unbound:unbound \
               promtool:prometheus systemd-analyze:systemd \
               zsh:zsh fish:fish getcap:libcap2-bin dpkg-shlibdeps:dpkg-dev; do
  command -v "${cmd_pkg%%:*}" >/dev/null 2>&1 || need+=("${cmd_pkg#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Daemons (snmpd, lldpd, radvd, unbound) must never run in the root namespace, where they would answer on the
  # real network: keep apt from starting them, and from enabling them for the next boot.
  # The lab starts them only inside its namespaces.
  policy_made=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_made=1
  fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$policy_made" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if command -v systemctl >/dev/null 2>&1; then
    # unbound-resolvconf would also point the machine's resolv.conf at a local unbound.
    systemctl disable --now snmpd lldpd radvd prometheus prometheus-node-exporter \
      unbound unbound-resolvconf >/dev/null 2>&1 || true
  fi
fi

# tests/package_deb.rs builds the Debian package with cargo-deb (about 2.5 min to install once
# on two cores; pinned so a new release cannot change the package under the tests).
if ! cargo deb --version >/dev/null 2>&1; then
  echo "tests/run.sh: installing cargo-deb" >&2
  cargo install cargo-deb --locked --version 3.8.0 --quiet
fi

# A one-off build gains nothing from incremental compilation, whose caches would double the
# disk the test build takes (CI's disk is not large).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Lab tests must run here, never silently skip.
export NETDX_REQUIRE_LAB=1
# Scans and dashboards record into a device inventory and a history: those of the test run
# go to a directory of its own, never into the user's data directory (tests that check the
# inventory set their own NETDX_DATA_DIR).
NETDX_DATA_DIR="$(mktemp -d /tmp/netdx-test-data.XXXXXX)"
export NETDX_DATA_DIR
trap 'rm -rf "$NETDX_DATA_DIR"' EXIT
# Remove labs left behind by an earlier run that was killed.
python3 tests/lab/lab.py reap || true

# Fuzz smoke run (issue 13): every fuzz target 30 s on its committed corpus, 2 at a time, stable
# toolchain; installs cargo-fuzz when missing (see fuzz/README.md). It runs beside the tests at
# the lowest CPU priority: the lab tests spend most of their time waiting on the network, and
# the fuzzers take only the CPU the tests leave idle (the tests also stay honest on a busy
# machine, which is where technicians run them). NETDX_SKIP_FUZZ=1 skips it (e.g. for a quick
# filtered run).
fuzz_pid=
if [ "${NETDX_SKIP_FUZZ:-0}" != 1 ]; then
  fuzz_log="$NETDX_DATA_DIR/fuzz.log"
  # Its own process group (setsid), so an interrupted run stops every fuzzer with it. A new
  # session is also a new scheduler autogroup, which would compete with the tests as an equal
  # whatever its nice value: the group itself is niced to 19 too.
  setsid nice -n 19 bash fuzz/ci.sh >"$fuzz_log" 2>&1 &
  fuzz_pid=$!
  # (Once setsid has run: before that the child is still in this script's group.)
  for _ in $(seq 50); do
    [ "$(cat "/proc/$fuzz_pid/autogroup" 2>/dev/null)" != "$(cat "/proc/$$/autogroup" 2>/dev/null)" ] && break
    sleep 0.02
  done
  if [ "$(cat "/proc/$fuzz_pid/autogroup" 2>/dev/null)" != "$(cat "/proc/$$/autogroup" 2>/dev/null)" ]; then
    echo 19 >"/proc/$fuzz_pid/autogroup" 2>/dev/null || true
  fi
  trap '[ -z "$fuzz_pid" ] || kill -- -"$fuzz_pid" 2>/dev/null; rm -rf "$NETDX_DATA_DIR"' EXIT
fi

# Every test binary runs even after one fails, so one CI run shows every failure.
test_status=0
cargo test --no-fail-fast "$@" || test_status=$?

fuzz_status=0
if [ -n "$fuzz_pid" ]; then
  wait "$fuzz_pid" || fuzz_status=$?
  fuzz_pid=
  cat "$fuzz_log"
fi
if [ "$test_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ]; then
  echo "tests/run.sh: cargo test exit $test_status, fuzz exit $fuzz_status" >&2
  exit 1
fi
