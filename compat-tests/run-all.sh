#!/usr/bin/env bash
# The whole Pharos test suite on a fresh Debian 12 machine (run as root):
# installs the oracles (Debian's keepalived 2.2.7 and haproxy 2.6) and the
# tools the tests use, builds, then runs the unit tests, the model snapshots
# and the differential tests in compat-tests/ that compare Pharos with the
# real programs (the keepalived half runs in a network namespace the test
# creates and deletes).
#   compat-tests/run-all.sh                               # everything
#   PHAROS_COMPAT_FILTER=legacy compat-tests/run-all.sh   # differential: only fixtures whose name contains "legacy"
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "compat-tests/run-all.sh: run as root (network namespaces, apt-get)" >&2
  exit 1
fi

need=()
for pkg in keepalived haproxy iproute2 nftables tcpdump python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  # Keep package scripts from starting the services: only the binaries are used.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

export CARGO_TERM_COLOR=never
cargo build --all-targets
cargo test --all-targets
