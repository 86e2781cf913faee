#!/usr/bin/env bash
# Fuzz smoke run for CI (issue 13): every fuzz target for NETDX_FUZZ_SECONDS (30) seconds on its
# committed corpus, two at a time (CI has 2 cores), on the stable toolchain. Fails when any
# target panics, hangs (an input over 10 s) or runs out of memory (2 GB),
# printing the input that did it. Installs cargo-fuzz when missing.
#
# libFuzzer adds what it finds to a scratch directory, never to fuzz/corpus/: the committed
# corpus only changes by hand (see fuzz/README.md). Needs no network and no root.
set -euo pipefail
cd "$(dirname "$0")"
# The fuzz project builds into its own fuzz/target (instrumented, release): a CARGO_TARGET_DIR
# meant for the main crate must not move it away from where the runs below look.
unset CARGO_TARGET_DIR

seconds=${NETDX_FUZZ_SECONDS:-30}
jobs=${NETDX_FUZZ_JOBS:-2}
# The cargo-fuzz release this was written against; cargo-fuzz builds with plain -C flags, so
# no nightly toolchain is needed with --sanitizer none.
cargo_fuzz_version=0.13.2
started=$SECONDS

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/ci.sh: installing cargo-fuzz $cargo_fuzz_version" >&2
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi
installed=$SECONDS

# No sanitizer: AddressSanitizer needs nightly, and the crate forbids unsafe code, so what is
# left to find (panics, overflows, unbounded loops and allocations) needs none.
cargo fuzz build --sanitizer none
built=$SECONDS

triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=target/$triple/release
scratch=$(mktemp -d "${TMPDIR:-/tmp}/netdx-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

mapfile -t targets < <(cargo fuzz list)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz/ci.sh: no fuzz targets" >&2; exit 1; }

# One target: its own scratch corpus first (libFuzzer writes there), the committed one second.
run_one() {
  local t=$1
  mkdir -p "$scratch/$t/new" "$scratch/$t/artifacts"
  if "$bin_dir/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$scratch/$t/artifacts/" -print_final_stats=1 \
      "$scratch/$t/new" "corpus/$t" >"$scratch/$t/log" 2>&1; then
    echo ok >"$scratch/$t/status"
  else
    echo failed >"$scratch/$t/status"
  fi
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

passed=0
failed=0
for t in "${targets[@]}"; do
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t/log")
  cov=$(grep -o 'cov: [0-9]*' "$scratch/$t/log" | tail -1)
  if [ "$(cat "$scratch/$t/status" 2>/dev/null)" = ok ]; then
    passed=$((passed + 1))
    printf 'fuzz %-14s ok      %9s runs, %s\n' "$t" "${execs:-?}" "${cov:-cov: ?}"
  else
    failed=$((failed + 1))
    printf 'fuzz %-14s FAILED  %9s runs, %s\n' "$t" "${execs:-?}" "${cov:-cov: ?}"
    tail -n 40 "$scratch/$t/log" | sed "s/^/  $t| /"
    # Keep the inputs that failed where they can be picked up, and say where.
    mkdir -p artifacts/"$t"
    for a in "$scratch/$t/artifacts"/*; do
      [ -e "$a" ] || continue
      cp "$a" artifacts/"$t"/
      echo "  $t: failing input: fuzz/artifacts/$t/$(basename "$a")" \
           "(replay: fuzz/$bin_dir/$t fuzz/artifacts/$t/$(basename "$a"))"
    done
  fi
done

echo "fuzz/ci.sh: install $((installed - started)) s, build $((built - installed)) s," \
     "runs $((SECONDS - built)) s, total $((SECONDS - started)) s"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
