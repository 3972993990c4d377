#!/usr/bin/env bash
# The proxy benchmark of issue 3 (a benchmark, not a test): wrk through
# Pharos and through haproxy 2.6 on the same configuration, in the same run,
# interleaved A B A B, in a private network namespace (loopback only).
# The backend is a haproxy answering every request with a 1 KiB body
# (`http-request return`), so both proxies face the same server.
# Modes: keep-alive (the default) and `option http-server-close`.
# Reported per proxy and mode: req/s, p99 latency, and the proxy's CPU time
# per request (utime+stime of the proxy process during the run / requests).
# Usage: sudo benches/proxy-wrk.sh   (env: ROUNDS=2 DURATION=10 CONNS=50 THREADS=2
#        HAPROXY_THREADS=2 (nbthread of every proxy); CONTENDERS="pharos pharos-ws haproxy";
#        PHAROS=path PHAROS_NO_BUILD=1)
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
HAPROXY_THREADS=${HAPROXY_THREADS:-2}
# pharos: one current-thread runtime per thread (the default);
# pharos-ws: PHAROS_THREADING=shared, tokio's work-stealing runtime.
CONTENDERS=${CONTENDERS:-pharos pharos-ws haproxy}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
# shellcheck source=benches/lib/proxy-common.sh
. benches/lib/proxy-common.sh

body=$(head -c 1024 /dev/zero | tr '\0' 'x')
cat > "$DIR/backend.cfg" <<EOF
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend be
  bind 127.0.0.1:19001
  http-request return status 200 content-type text/plain string "$body"
EOF
ip netns exec "$NS" haproxy -db -f "$DIR/backend.cfg" >/dev/null 2>&1 &
PIDS+=($!)

proxy_cfg() { # $1 = extra option line
  cat <<EOF
global
  maxconn 4096
  nbthread $HAPROXY_THREADS
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  $1
listen web
  bind 127.0.0.1:19000
  balance roundrobin
  server b1 127.0.0.1:19001
EOF
}

cpu_ticks() { # utime+stime of pid $1 in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}

run_one() { # $1 = name, $2 = mode label, $3 = option line
  local name=$1 mode=$2 opt=$3
  proxy_cfg "$opt" > "$DIR/proxy.cfg"
  # Started directly (not through a shell function) so that $! is the
  # proxy itself: `ip netns exec` execs the program.
  case "$name" in
    haproxy) ip netns exec "$NS" haproxy -db -f "$DIR/proxy.cfg" >/dev/null 2>&1 & ;;
    pharos) ip netns exec "$NS" env PHAROS_THREADING=per-thread "$PHAROS" haproxy -db -f "$DIR/proxy.cfg" >/dev/null 2>&1 & ;;
    pharos-ws) ip netns exec "$NS" env PHAROS_THREADING=shared "$PHAROS" haproxy -db -f "$DIR/proxy.cfg" >/dev/null 2>&1 & ;;
  esac
  local wrapper=$!
  PIDS+=("$wrapper")
  sleep 1
  # `ip netns exec` and env exec the program: the pid is the proxy's.
  local pid=$wrapper
  local t0; t0=$(cpu_ticks "$pid")
  local out; out=$(in_ns wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency http://127.0.0.1:19000/)
  local t1; t1=$(cpu_ticks "$pid")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local reqs rps p99
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  local hz; hz=$(getconf CLK_TCK)
  local us_per_req; us_per_req=$(awk -v d="$((t1 - t0))" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.2f", d * 1e6 / hz / n}')
  printf '%-8s %-12s %10s %10s %12s\n' "$name" "$mode" "$rps" "$p99" "$us_per_req" | tee -a "$DIR/results"
}

echo "proxy    mode            req/s        p99  cpu_us/req" | tee "$DIR/results"
for _ in $(seq 1 "$ROUNDS"); do
  for mode in keep-alive server-close; do
    opt=""
    [ "$mode" = server-close ] && opt="option http-server-close"
    for name in $CONTENDERS; do run_one "$name" "$mode" "$opt"; done
  done
done

summary() {
  awk '
    NR > 1 { key = $1 " " $2; rps[key] += $3; n[key]++; cpu[key] += $5;
             p = $4; sub(/ms$/, "", p); if ($4 ~ /us$/) { sub(/us$/, "", p); p = p / 1000 } else if ($4 ~ /s$/ && $4 !~ /ms$/) { sub(/s$/, "", p); p = p * 1000 }
             p99[key] += p }
    END {
      split("keep-alive server-close", ms, " ")
      split("pharos pharos-ws", ps, " ")
      for (i = 1; i <= 2; i++) for (j = 1; j <= 2; j++) {
        m = ms[i]; a = ps[j] " " m; b = "haproxy " m
        if (n[a] && n[b])
          printf "%-12s %-9s req/s ratio %.2f  p99 ratio %.2f  cpu/req %.2f us haproxy %.2f us (ratio %.2f)\n", m, ps[j],
            (rps[a]/n[a]) / (rps[b]/n[b]), (p99[a]/n[a]) / (p99[b]/n[b]), cpu[a]/n[a], cpu[b]/n[b], (cpu[a]/n[a]) / (cpu[b]/n[b])
      }
    }' "$DIR/results"
}
echo
echo "== benches/proxy-wrk.sh: $(date -u '+%F %T UTC'), $(nproc) cores, wrk -t$THREADS -c$CONNS -d${DURATION}s, 1 KiB responses, nbthread $HAPROXY_THREADS for all (pharos: a current-thread runtime per thread, SO_REUSEPORT sockets, each connection on the least loaded thread; pharos-ws: one work-stealing runtime) =="
summary | tee "$DIR/summary"
mkdir -p benches/results
{ echo "== benches/proxy-wrk.sh $(date -u '+%F %T UTC') =="; cat "$DIR/results"; cat "$DIR/summary"; echo; } >> "benches/results/proxy-$(date -u +%F).txt"
