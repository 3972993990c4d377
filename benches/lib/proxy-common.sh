# shellcheck shell=bash
# Shared pieces of the proxy benchmarks (sourced, not run, from the
# repository's root): the release build, a scratch folder $DIR, a private
# network namespace $NS with only loopback up, the pids this run starts
# (append them to PIDS), and their cleanup on EXIT, also on failure or
# Ctrl-C. Only the pids started here are signalled.
# The caller sets `set -euo pipefail` before sourcing.

NS="pbench-$$"
DIR=$(mktemp -d /tmp/pharos-bench.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]:-}"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
  done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

if [ -z "${PHAROS_NO_BUILD:-}" ]; then cargo build --release -q; fi
PHAROS=${PHAROS:-$PWD/target/release/pharos}

ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
