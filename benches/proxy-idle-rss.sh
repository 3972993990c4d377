#!/usr/bin/env bash
# Memory with idle clients (issue 3's benchmark, not a test): Pharos and
# haproxy 2.6 on the same configuration, each holding IDLE (default 10000)
# client connections that sent nothing; reported: the proxy's RSS before
# and with the connections, and the cost per connection. Runs in a private
# network namespace (loopback only); every connection is closed at the end.
# haproxy wants 2 descriptors per `maxconn` (client and server side): with
# a hard limit of 20000 open files (this machine's; raising it needs
# CAP_SYS_RESOURCE) maxconn stops at 9990, so the default is 9500 idle
# connections under maxconn 9900; where the limit allows, IDLE=10000 works.
# Usage: sudo benches/proxy-idle-rss.sh   (env: IDLE=9500 PHAROS=path PHAROS_NO_BUILD=1)
set -euo pipefail

cd "$(dirname "$0")/.."
IDLE=${IDLE:-9500}
MAXCONN=$((IDLE + 400))
# shellcheck source=benches/lib/proxy-common.sh
. benches/lib/proxy-common.sh

printf '%s\n' \
  'global' "  maxconn $MAXCONN" '  nbthread 2' \
  'defaults' '  mode http' '  timeout connect 5s' '  timeout client 60s' \
  '  timeout server 60s' '  timeout http-request 60s' \
  'frontend fe' '  bind 127.0.0.1:19100' '  default_backend be' \
  'backend be' '  server s1 127.0.0.1:19101' > "$DIR/proxy.cfg"

# The client: opens $IDLE connections and holds them until told to stop.
printf '%s\n' \
  'import os, socket, sys, time' \
  'n, held, release = int(sys.argv[1]), sys.argv[2], sys.argv[3]' \
  'socks = []' \
  't0 = time.time()' \
  'while len(socks) < n and time.time() - t0 < 60:' \
  '    try:' \
  '        socks.append(socket.create_connection(("127.0.0.1", 19100), timeout=5))' \
  '    except OSError:' \
  '        time.sleep(0.01)' \
  'open(held, "w").write(str(len(socks)))' \
  't0 = time.time()' \
  'while not os.path.exists(release) and time.time() - t0 < 120:' \
  '    time.sleep(0.1)' \
  'for s in socks:' \
  '    s.close()' > "$DIR/hold.py"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

measure() { # $1 = name, $2... = the proxy's command
  local name=$1; shift
  rm -f "$DIR/held" "$DIR/release"
  ip netns exec "$NS" "$@" -f "$DIR/proxy.cfg" >/dev/null 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  sleep 1
  local before; before=$(rss_kib "$pid")
  ip netns exec "$NS" python3 "$DIR/hold.py" "$IDLE" "$DIR/held" "$DIR/release" &
  local holder=$!
  local t0=$SECONDS
  while [ ! -e "$DIR/held" ] && [ $((SECONDS - t0)) -lt 90 ]; do sleep 0.2; done
  sleep 2
  local with; with=$(rss_kib "$pid")
  local held; held=$(cat "$DIR/held" 2>/dev/null || echo 0)
  touch "$DIR/release"
  wait "$holder" || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local per; per=$(awk -v a="$before" -v b="$with" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / n; else print "-" }')
  echo "$name held=$held rss_before_kib=$before rss_with_kib=$with kib_per_conn=$per"
  printf -v "RSS_$name" '%s' "$with"
  printf -v "PER_$name" '%s' "$per"
}

measure haproxy haproxy -db
measure pharos "$PHAROS" haproxy -db
awk -v p="$RSS_pharos" -v h="$RSS_haproxy" -v pp="$PER_pharos" -v ph="$PER_haproxy" \
  'BEGIN { printf "ratio pharos/haproxy: rss_with %.2f, per-connection %.2f\n", p / h, (ph > 0 ? pp / ph : 0) }'
