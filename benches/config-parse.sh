#!/usr/bin/env bash
# Config-reading benchmark (a benchmark, not a test): Pharos against the real
# `keepalived -t` and `haproxy -c` on the same generated files, in one run.
#   keepalived.conf: 10,000 vrrp_instances + 2,000 virtual_servers, written with ~SEQ
#   haproxy.cfg:     5,000 backends (+ one frontend using them)
# Prints the best-of-N wall time of each and the ratios. Needs root (a private
# network namespace holds the 40 interfaces the instances name).
# Usage: benches/config-parse.sh [RUNS]   (default 3; PHAROS=path/to/pharos)
set -euo pipefail
RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PHAROS=${PHAROS:-$ROOT/target/release/pharos}
[ -x "$PHAROS" ] || (cd "$ROOT" && cargo build --release --quiet)
W=$(mktemp -d /tmp/pharos-bench.XXXXXX)
NS=pharos-bench-$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

ip netns add "$NS"
for i in $(seq 0 39); do
  ip -n "$NS" link add "eth$i" type veth peer name "peer$i"
  ip -n "$NS" link set "eth$i" up
done

cat > "$W/keepalived.conf" <<'KA'
global_defs {
    router_id bench
}
$INST= \
vrrp_instance VI_${IF}_${ID} { \
    state BACKUP \
    interface eth${IF} \
    virtual_router_id ${ID} \
    priority 100 \
    advert_int 1 \
    virtual_ipaddress { \
        203.0.113.${ID}/32 \
    } \
}
~SEQ(IF,0,39) ~SEQ(ID,1,250) $INST
$VS= \
virtual_server 203.0.113.${A} ${P} { \
    delay_loop 6 \
    lvs_sched rr \
    lvs_method NAT \
    protocol TCP \
    real_server 198.51.100.1 ${P} { \
        weight 1 \
        TCP_CHECK { \
            connect_timeout 3 \
        } \
    } \
    real_server 198.51.100.2 ${P} { \
        weight 1 \
        TCP_CHECK { \
            connect_timeout 3 \
        } \
    } \
}
~SEQ(A,1,20) ~SEQ(P,1001,1100) $VS
KA

{
  printf 'global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n'
  printf 'frontend fe\n    bind 127.0.0.1:8080\n'
  for i in $(seq 1 5000); do printf '    use_backend be%d if { path_beg /b%d/ }\n' "$i" "$i"; done
  printf '    default_backend be1\n'
  for i in $(seq 1 5000); do
    printf 'backend be%d\n    balance roundrobin\n    server s1 198.51.100.1:%d check\n    server s2 198.51.100.2:%d check\n' "$i" $((1000 + i % 60000)) $((1000 + i % 60000))
  done
} > "$W/haproxy.cfg"

# best-of-RUNS wall time in seconds of a command (its exit status is ignored:
# the originals report warnings on these files)
best() {
  local best=""
  for _ in $(seq "$RUNS"); do
    local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
    local d=$(( t1 - t0 ))
    if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  awk -v n="$best" 'BEGIN{printf "%.3f", n/1e9}'
}

E="ip netns exec $NS"
ka=$(best $E keepalived -t -f "$W/keepalived.conf")
pk=$(best $E "$PHAROS" keepalived -t -f "$W/keepalived.conf")
hc=$(best haproxy -c -q -f "$W/haproxy.cfg")
ph=$(best "$PHAROS" haproxy -c -q -f "$W/haproxy.cfg")
echo "keepalived.conf: 10000 vrrp_instances + 2000 virtual_servers ($(wc -l < "$W/keepalived.conf") lines with ~SEQ)"
echo "  keepalived 2.2.7 -t: ${ka}s   pharos keepalived -t: ${pk}s   ratio: $(awk -v a="$ka" -v b="$pk" 'BEGIN{printf "%.1fx", a/b}') faster (target >= 20x)"
echo "haproxy.cfg: 5000 backends ($(wc -l < "$W/haproxy.cfg") lines)"
echo "  haproxy 2.6 -c: ${hc}s   pharos haproxy -c: ${ph}s   ratio: $(awk -v a="$hc" -v b="$ph" 'BEGIN{printf "%.1fx", a/b}') faster (target >= 1x)"
