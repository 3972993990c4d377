#!/usr/bin/env bash
# VRRP CPU cost (a benchmark, not a test): 1,000 vrrp_instances run by Pharos and by the real
# keepalived 2.2.7, the same config, one after the other in the same run (ROUNDS times,
# alternating which goes first). Needs root.
#
# Namespace hbn-<pid>-cpu has veths eth0..eth3 (peers up, nothing listens); instance VI_<if>_<id>
# runs on eth<if> with VRID <id> (1..250), advert_int 1, one /32 VIP: 198.51.100.<id> on eth0 and
# eth1, 203.0.113.<id> on eth2 and eth3 (an address may sit on two interfaces; both daemons accept
# that). Alone on their links, all 1,000 become MASTER. From the moment all 1,000 VIPs are
# installed, the script reads utime+stime (/proc/PID/stat) of the whole daemon -- keepalived's
# parent and VRRP child, Pharos's single process -- over WINDOW seconds, and RSS at the end. The tx
# packet count of eth0..3 over the same window shows that both did the same work (~1,000 adverts/s
# plus gratuitous ARPs).
#
# Usage: benches/vrrp-cpu.sh   (env: ROUNDS=2, WINDOW=60, PHAROS=path, PHAROS_NO_BUILD=1)
set -euo pipefail
ROUNDS=${ROUNDS:-2}
WINDOW=${WINDOW:-60}
# shellcheck source=lib/vrrp-common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/vrrp-common.sh"
build_release

NS=$NSP-cpu
IFACES=4
PER_IF=250
TOTAL=$((IFACES * PER_IF))
# The /24 of interface $1: VIPs and the interface's own address (.251/.252) come from it.
net_of() { if (($1 < 2)); then echo 198.51.100; else echo 203.0.113; fi; }
# Gives eth$1 its own address (the adverts' source) and nothing else.
reset_addr() {
  ip -n "$NS" -4 addr flush dev "eth$1"
  ip -n "$NS" addr add "$(net_of "$1").$((251 + $1 % 2))/24" dev "eth$1"
}
make_ns "$NS"
for ((i = 0; i < IFACES; i++)); do
  ip -n "$NS" link add "eth$i" type veth peer name "eth${i}p"
  reset_addr "$i"
  ip -n "$NS" link set "eth$i" up
  ip -n "$NS" link set "eth${i}p" up
done

CONF=$W/keepalived.conf
{
  printf 'global_defs {\n  router_id hbn\n}\n'
  for ((i = 0; i < IFACES; i++)); do
    net=$(net_of "$i")
    for ((id = 1; id <= PER_IF; id++)); do
      printf 'vrrp_instance VI_%d_%d {\n  state MASTER\n  interface eth%d\n  virtual_router_id %d\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    %s.%d/32\n  }\n}\n' \
        "$i" "$id" "$i" "$id" "$net" "$id"
    done
  done
} >"$CONF"

# (a dump taken while addresses change may be partial; polling repeats it)
vip_count() { ip -n "$NS" -o -4 addr show 2>/dev/null | grep -c '/32 ' || true; }
all_master() { [ "$(vip_count)" -ge "$TOTAL" ]; }
# utime+stime in clock ticks, summed over the pids given.
ticks() { local p s=0; for p in "$@"; do s=$((s + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done; echo "$s"; }
rss_kb() { local p s=0; for p in "$@"; do s=$((s + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status"))); done; echo "$s"; }
tx_packets() {
  local i s=0
  for ((i = 0; i < IFACES; i++)); do
    s=$((s + $(ip netns exec "$NS" cat "/sys/class/net/eth$i/statistics/tx_packets")))
  done
  echo "$s"
}
HZ=$(getconf CLK_TCK)
RESULTS=$W/results.txt
: >"$RESULTS"

# One measurement: implementation, round. Appends
# "impl|round|secs_to_master|startup_cpu_s|cpu_s|rss_kb|rss_detail|tx_per_s" or "impl|round|FAIL|why".
measure() {
  local impl=$1 r=$2 tag="$1-$2" pid vpid pids t0 t1 c0 c1 x0 x1 n why=""
  start_daemon "$impl" "$NS" "$tag" "$CONF"
  pid=$DAEMON_PID
  t0=$(date +%s%N)
  if vpid=$(vrrp_pid "$tag" "$pid" 30); then
    pids=("$pid")
    [ "$vpid" != "$pid" ] && pids+=("$vpid")
    wait_until master 120 all_master || why="only $(vip_count)/$TOTAL VIPs after 120 s"
  else
    why="no VRRP process (exited?)"
  fi
  if [ -z "$why" ]; then
    t1=$(date +%s%N)
    c0=$(ticks "${pids[@]}")
    x0=$(tx_packets)
    sleep "$WINDOW"
    for p in "${pids[@]}"; do pid_alive "$p" || why="process $p died during the window"; done
  fi
  if [ -z "$why" ]; then
    c1=$(ticks "${pids[@]}")
    x1=$(tx_packets)
    n=$(vip_count)
    [ "$n" -ge "$TOTAL" ] || why="only $n/$TOTAL VIPs at the end of the window"
    local detail
    detail=$(for p in "${pids[@]}"; do rss_kb "$p"; done | paste -sd+)
    awk -v i="$impl" -v r="$r" -v t="$((t1 - t0))" -v s="$c0" -v c="$((c1 - c0))" -v hz="$HZ" \
      -v rss="$(rss_kb "${pids[@]}")" -v d="$detail" -v x="$((x1 - x0))" -v w="$WINDOW" \
      'BEGIN { printf "%s|%s|%.1f|%.2f|%.2f|%d|%s|%.0f\n", i, r, t / 1e9, s / hz, c / hz, rss, d, x / w }' >>"$RESULTS"
  fi
  if [ -n "$why" ]; then
    echo "$impl|$r|FAIL|$why" >>"$RESULTS"
    echo "  $tag: $why; last log lines:" >&2
    tail -n 5 "$W/$tag.log" >&2 || true
  fi
  stop_pids TERM 30 "$pid"
  # Nothing may be left for the next daemon (a crashed one leaves its VIPs).
  for ((i = 0; i < IFACES; i++)); do reset_addr "$i"; done
  return 0
}

t_start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order="keepalived pharos"; else order="pharos keepalived"; fi
  for impl in $order; do
    measure "$impl" "$r"
    echo "round $r $impl done ($(($(date +%s) - t_start)) s)" >&2
  done
done

{
  echo "== benches/vrrp-cpu.sh =="
  run_header
  echo "$TOTAL vrrp_instances (VRIDs 1..$PER_IF on each of $IFACES veths), advert_int 1, one /32 VIP each, all MASTER;"
  echo "cpu = utime+stime over the ${WINDOW} s after all $TOTAL VIPs were installed (keepalived: parent + VRRP child)"
  echo
  printf '%-11s %5s %13s %13s %9s %9s %12s %10s\n' impl round to_master_s startup_cpu_s cpu_s "cpu_%" rss_kb tx_pkt/s
  awk -F'|' -v w="$WINDOW" '
    $3 == "FAIL" { printf "%-11s %5s   FAILED: %s\n", $1, $2, $4; next }
    { printf "%-11s %5s %13s %13s %9s %9.2f %12s %10s\n", $1, $2, $3, $4, $5, 100 * $5 / w, $6 " (" $7 ")", $8
      cpu[$1] += $5; rss[$1] += $6; n[$1]++ }
    END {
      if (n["keepalived"] && n["pharos"]) {
        k = cpu["keepalived"] / n["keepalived"]; p = cpu["pharos"] / n["pharos"]
        printf "\nmean cpu_s: keepalived %.2f, pharos %.2f; ratio pharos/keepalived = %.2f\n", k, p, (k > 0 ? p / k : 0)
        printf "mean rss_kb: keepalived %.0f, pharos %.0f; ratio pharos/keepalived = %.2f\n", rss["keepalived"] / n["keepalived"], rss["pharos"] / n["pharos"], rss["pharos"] / n["pharos"] / (rss["keepalived"] / n["keepalived"])
      }
    }' "$RESULTS"
  echo "total time: $(($(date +%s) - t_start)) s"
  echo
} | save_results
