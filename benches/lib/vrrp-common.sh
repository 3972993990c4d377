# shellcheck shell=bash
# Shared pieces of the VRRP benchmarks (sourced, not run): the release build,
# scratch folder, namespaces and daemons this run creates, and their cleanup.
# Everything is named with the prefix `hbn-<pid>` and removed on EXIT, also on
# failure or Ctrl-C. Only processes started here are signalled, by pid.
# The caller sets `set -euo pipefail` before sourcing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PHAROS=${PHAROS:-$ROOT/target/release/pharos}
KEEPALIVED=${KEEPALIVED:-/usr/sbin/keepalived}
# Prefix of this run's namespace names (used by the scripts that source this file).
# shellcheck disable=SC2034
NSP=hbn-$$
W=$(mktemp -d /tmp/hbn-vrrp.XXXXXX)
# Namespaces and pids this run owns.
OWNED_NS=()
OWNED_PIDS=()

# Whether pid $1 is a live process (a zombie waiting for us to reap it is not).
pid_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Sends signal $1 to the pids ${@:3}, waits up to $2 s for them to end, then
# SIGKILLs the rest. Reaps those that are our children.
stop_pids() {
  local sig=$1 limit=$2 i p left
  shift 2
  kill "-$sig" "$@" 2>/dev/null || true
  for ((i = 0; i < limit * 20; i++)); do
    left=0
    for p in "$@"; do pid_alive "$p" && left=1; done
    ((left)) || break
    sleep 0.05
  done
  for p in "$@"; do
    if pid_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
    wait "$p" 2>/dev/null || true
  done
}

# Whether pid $1 is still a live child of this shell (a pid we reaped may have
# been reused by someone else's process: that one is never signalled).
our_child() {
  pid_alive "$1" && [ "$(awk '/^PPid:/{print $2}' "/proc/$1/status" 2>/dev/null)" = "$$" ]
}

cleanup() {
  local p n
  for p in "${OWNED_PIDS[@]}"; do
    if our_child "$p"; then stop_pids TERM 3 "$p"; fi
  done
  for n in "${OWNED_NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Builds the release binary once (cargo is a no-op when it is up to date).
build_release() {
  if [ -z "${PHAROS_NO_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -j2 --quiet)
  fi
  [ -x "$PHAROS" ] || { echo "no pharos binary at $PHAROS" >&2; exit 1; }
  [ -x "$KEEPALIVED" ] || { echo "keepalived is not installed ($KEEPALIVED)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
}

# Creates namespace $1 (with lo up) and records it for cleanup.
make_ns() {
  ip netns add "$1"
  OWNED_NS+=("$1")
  ip -n "$1" link set lo up
}

# Starts a VRRP daemon in the background: impl (keepalived|pharos), namespace,
# tag (names its files under $W), config file. Sets DAEMON_PID (keepalived's
# parent or the single Pharos process; `ip netns exec` execs the daemon, so
# this pid is the daemon itself).
start_daemon() {
  local impl=$1 ns=$2 tag=$3 conf=$4
  rm -f "$W/$tag".{pid,vrrp.pid,chk.pid,bfd.pid}
  case $impl in
    keepalived)
      ip netns exec "$ns" "$KEEPALIVED" -n -l -D -G -P -f "$conf" -p "$W/$tag.pid" \
        -r "$W/$tag.vrrp.pid" -c "$W/$tag.chk.pid" -b "$W/$tag.bfd.pid" >>"$W/$tag.log" 2>&1 &
      ;;
    pharos)
      ip netns exec "$ns" "$PHAROS" keepalived -n -l -f "$conf" -p "$W/$tag.pid" \
        -r "$W/$tag.vrrp.pid" >>"$W/$tag.log" 2>&1 &
      ;;
    *) echo "unknown implementation $impl" >&2; exit 1 ;;
  esac
  DAEMON_PID=$!
  OWNED_PIDS+=("$DAEMON_PID")
}

# Prints the pid of the process that runs VRRP for a daemon started with tag
# $1 and pid $2: keepalived's VRRP child (from its -r file), or Pharos itself.
# Waits up to $3 s for the pid file.
vrrp_pid() {
  local tag=$1 pid=$2 limit=$3 i v
  for ((i = 0; i < limit * 20; i++)); do
    v=$(cat "$W/$tag.vrrp.pid" 2>/dev/null || true)
    if [ -n "$v" ] && [ "$v" != "$pid" ] && pid_alive "$v"; then echo "$v"; return 0; fi
    # Pharos writes its own pid in both files.
    if [ "$v" = "$pid" ]; then echo "$v"; return 0; fi
    sleep 0.05
  done
  return 1
}

# Polls (every 10 ms, at most $2 s) until command "${@:3}" succeeds.
wait_until() {
  local limit=$2 t0
  t0=$(date +%s%N)
  until "${@:3}"; do
    (($(date +%s%N) - t0 > limit * 1000000000)) && return 1
    sleep 0.01
  done
}

# Machine and versions, for the head of a results file.
run_header() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')   host: $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "keepalived: $("$KEEPALIVED" --version 2>&1 | head -1)   pharos: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') ($PHAROS)"
}

# Appends stdin to benches/results/vrrp-<date>.txt and prints it.
save_results() {
  local out
  out=$ROOT/benches/results/vrrp-$(date -u +%Y-%m-%d).txt
  mkdir -p "$(dirname "$out")"
  tee -a "$out"
  echo "(appended to ${out#"$ROOT"/})"
}
