#!/bin/bash
# Installs the reference programs (Debian 12: keepalived 2.2.7, haproxy 2.6) if missing,
# then runs the differential tests. Needs root: the keepalived half runs in a private
# network namespace that the test creates and deletes.
#   compat-tests/run-all.sh                 # everything
#   PHAROS_COMPAT_FILTER=legacy compat-tests/run-all.sh   # only fixtures whose name contains "legacy"
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "run-all.sh: needs root (network namespaces, apt-get)" >&2
    exit 1
fi
missing=()
command -v keepalived >/dev/null 2>&1 || [ -x /usr/sbin/keepalived ] || missing+=(keepalived)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
exec cargo test --test compat -- "$@"
