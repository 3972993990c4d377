#!/usr/bin/env bash
# VRRP failover time (a benchmark, not a test): Pharos against the real keepalived 2.2.7 as the
# backup, in the same run, trials interleaved. Needs root, keepalived and tcpdump.
#
# Topology: namespaces hbn-<pid>-m (master M, 198.51.100.1, priority 150) and hbn-<pid>-b (backup
# B, 198.51.100.2, priority 100), each with an eth0 whose peer is a port of bridge br0 in
# hbn-<pid>-br, where tcpdump captures proto 112. Every trial starts a fresh M (state MASTER) and a
# fresh B (state BACKUP), waits until B is BACKUP behind M, lets a random part of an advert
# interval pass, then ends M:
#   crash: SIGSTOP + SIGKILL of M's processes (keepalived: parent and VRRP child, so the parent
#          cannot respawn the child or send anything) -> bound 3 x advert_int + skew
#   stop:  SIGTERM of M (it sends a priority-0 advert)                 -> bound skew
# with skew = (256-100)/256 s (v2) or (256-100) x advert_int/256 (v3). The measured value is the
# gap on the wire between M's last advert and B's first advert as master; the table gives its
# deviation from the bound.
#
# The master is keepalived in every case (MASTER=same makes it the backup's implementation): the
# gap depends only on the backup's timers, so one fixed master keeps the comparison to one
# variable, and keepalived is the reference sender.
#
# Usage: benches/vrrp-failover.sh   (env: TRIALS=20 crash trials per case, STOP_TRIALS=10,
#        MASTER=keepalived|same, PHAROS=path, PHAROS_NO_BUILD=1 to skip the build)
set -euo pipefail
TRIALS=${TRIALS:-20}
STOP_TRIALS=${STOP_TRIALS:-10}
MASTER=${MASTER:-keepalived}
# shellcheck source=lib/vrrp-common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/vrrp-common.sh"
command -v tcpdump >/dev/null || { echo "needs tcpdump" >&2; exit 1; }
build_release

M_IP=198.51.100.1
B_IP=198.51.100.2
VIP=198.51.100.100
NS_BR=$NSP-br
NS_M=$NSP-m
NS_B=$NSP-b
make_ns "$NS_BR"
ip -n "$NS_BR" link add br0 type bridge
ip -n "$NS_BR" link set br0 up
for n in m b; do
  ns=$NSP-$n
  make_ns "$ns"
  ip link add eth0 netns "$ns" type veth peer name "p-$n" netns "$NS_BR"
  ip -n "$NS_BR" link set "p-$n" master br0 up
  ip -n "$ns" link set eth0 up
done
ip -n "$NS_M" addr add "$M_IP/24" dev eth0
ip -n "$NS_B" addr add "$B_IP/24" dev eth0

WIRE=$W/wire.txt
ip netns exec "$NS_BR" tcpdump -i br0 -n -tt -l --time-stamp-precision=micro 'ip proto 112' \
  >"$WIRE" 2>"$W/tcpdump.err" &
OWNED_PIDS+=("$!")
wait_until tcpdump 5 grep -q 'listening on' "$W/tcpdump.err" || { cat "$W/tcpdump.err" >&2; exit 1; }

# Writes the config of one node: file, state, priority, version, advert_int.
conf() {
  cat >"$1" <<EOF
global_defs {
  router_id hbn
}
vrrp_instance VI_1 {
  state $2
  interface eth0
  virtual_router_id 51
  priority $3
  version $4
  advert_int $5
  virtual_ipaddress {
    $VIP/32
  }
}
EOF
}

has_vip() { ip -n "$1" -o -4 addr show dev eth0 | grep -q " $VIP/"; }

# The bound in seconds: version, advert_int, mode.
bound() {
  awk -v v="$1" -v a="$2" -v m="$3" 'BEGIN {
    skew = (v == 2) ? 156 / 256 : 156 * a / 256
    printf "%.7f", (m == "crash") ? 3 * a + skew : skew }'
}

# Gap in seconds between M's last advert and B's first advert after time $1.
wire_gap() {
  awk -v t="$1" -v m="$M_IP" -v b="$B_IP" '
    $3 == b && $1 > t { first = $1; exit }
    $3 == m { last = $1 }
    END { if (first == "" || last == "" || last < t - 2) exit 1; printf "%.6f", first - last }' "$WIRE"
}

RESULTS=$W/results.txt
: >"$RESULTS"

# One trial: backup implementation, version, advert_int, mode (crash|stop), trial number.
# Appends "case deviation_ms" to $RESULTS (or "case FAIL reason").
trial() {
  local impl=$1 ver=$2 adv=$3 mode=$4 i=$5 m_impl=keepalived
  [ "$MASTER" = same ] && m_impl=$impl
  local key="$mode v$ver adv=$adv backup=$impl" tag="$impl-v$ver-$mode-$i"
  conf "$W/$tag-m.conf" MASTER 150 "$ver" "$adv"
  conf "$W/$tag-b.conf" BACKUP 100 "$ver" "$adv"
  start_daemon "$m_impl" "$NS_M" "$tag-m" "$W/$tag-m.conf"
  local m_pid=$DAEMON_PID m_vrrp b_pid why=""
  if ! wait_until vip 10 has_vip "$NS_M"; then why="M never became MASTER"; fi
  start_daemon "$impl" "$NS_B" "$tag-b" "$W/$tag-b.conf"
  b_pid=$DAEMON_PID
  if [ -z "$why" ] && ! wait_until backup 10 grep -qs 'Entering BACKUP STATE' "$W/$tag-b.log"; then
    why="B never entered BACKUP"
  fi
  m_vrrp=$(vrrp_pid "$tag-m" "$m_pid" 5) || why=${why:-"no VRRP pid for M"}
  if [ -z "$why" ]; then
    # B must have seen an advert or two; the random part moves the kill across the interval.
    sleep "$(awk -v a="$adv" -v r=$RANDOM 'BEGIN { printf "%.3f", 1.5 * a + a * r / 32768 }')"
    has_vip "$NS_B" && why="B took the VIP while M was alive"
  fi
  if [ -z "$why" ]; then
    local t_end
    t_end=$(date +%s.%N)
    if [ "$mode" = crash ]; then
      kill -STOP "$m_pid" "$m_vrrp" 2>/dev/null || true
      kill -KILL "$m_vrrp" "$m_pid" 2>/dev/null || true
      wait "$m_pid" 2>/dev/null || true
    else
      kill -TERM "$m_pid"
    fi
    if wait_until failover 10 has_vip "$NS_B"; then
      sleep 0.2 # let tcpdump print B's first adverts
      local gap
      if gap=$(wire_gap "$t_end"); then
        awk -v k="$key" -v g="$gap" -v b="$(bound "$ver" "$adv" "$mode")" \
          'BEGIN { printf "%s|%.3f|%.6f\n", k, (g - b) * 1000, g }' >>"$RESULTS"
      else
        why="no M->B advert pair on the wire"
      fi
    else
      why="B never became MASTER"
    fi
  fi
  if [ -n "$why" ]; then
    echo "$key|FAIL|$why" >>"$RESULTS"
    echo "  trial $tag: $why; last log lines of M and B:" >&2
    tail -n 5 "$W/$tag-m.log" "$W/$tag-b.log" >&2 || true
  fi
  stop_pids TERM 5 "$m_pid" "$b_pid"
  # A crashed daemon leaves its VIP behind.
  ip -n "$NS_M" addr del "$VIP/32" dev eth0 2>/dev/null || true
  ip -n "$NS_B" addr del "$VIP/32" dev eth0 2>/dev/null || true
  return 0
}

t_start=$(date +%s)
for ((i = 1; i <= TRIALS; i++)); do
  # Alternate which implementation goes first so neither always runs right after the other.
  if ((i % 2)); then order="keepalived pharos"; else order="pharos keepalived"; fi
  for impl in $order; do
    trial "$impl" 2 1 crash "$i"
    trial "$impl" 3 0.1 crash "$i"
    if ((i <= STOP_TRIALS)); then
      trial "$impl" 2 1 stop "$i"
      trial "$impl" 3 0.1 stop "$i"
    fi
  done
  echo "round $i/$TRIALS done ($(($(date +%s) - t_start)) s)" >&2
done

{
  echo "== benches/vrrp-failover.sh =="
  run_header
  echo "master: $([ "$MASTER" = same ] && echo 'same implementation as the backup' || echo 'keepalived 2.2.7') (priority 150), backup priority 100"
  echo "gap = on-the-wire time from M's last advert to B's first advert as master (tcpdump -tt on the bridge)"
  echo "bound: crash (SIGKILL) = 3 x advert_int + skew, stop (SIGTERM, priority-0 advert) = skew;"
  echo "       skew = 156/256 s (v2), 156 x advert_int/256 (v3). Deviation = gap - bound, in ms."
  echo
  printf '%-6s %-14s %-11s %7s %9s %9s %9s %12s %12s\n' \
    mode case backup trials min_ms median_ms max_ms "within±5ms" mean_gap_s
  for mode in crash stop; do
    for c in "2 1" "3 0.1"; do
      read -r ver adv <<<"$c"
      for impl in keepalived pharos; do
        key="$mode v$ver adv=$adv backup=$impl"
        grep -F "$key|" "$RESULTS" | awk -F'|' -v mode="$mode" -v c="v$ver adv=$adv" -v impl="$impl" '
          $2 == "FAIL" { fail++; next }
          { d[n++] = $2 + 0; g += $3; if ($2 >= -5 && $2 <= 5) ok++ }
          END {
            tot = n + fail
            if (n == 0) { printf "%-6s %-14s %-11s %7s   all %d failed\n", mode, c, impl, "0/" tot, fail; exit }
            # insertion sort: n is small
            for (i = 1; i < n; i++) { v = d[i]; for (j = i - 1; j >= 0 && d[j] > v; j--) d[j + 1] = d[j]; d[j + 1] = v }
            med = (n % 2) ? d[(n - 1) / 2] : (d[n / 2 - 1] + d[n / 2]) / 2
            printf "%-6s %-14s %-11s %7s %9.1f %9.1f %9.1f %12s %12.4f\n", mode, c, impl, n "/" tot, d[0], med, d[n - 1], ok + 0 "/" n, g / n
          }'
      done
    done
  done
  if grep -q '|FAIL|' "$RESULTS"; then
    echo
    echo "failed trials:"
    grep '|FAIL|' "$RESULTS" | sed 's/^/  /'
  fi
  echo "total time: $(($(date +%s) - t_start)) s"
  echo
} | save_results
