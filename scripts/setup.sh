#!/usr/bin/env bash
# Sets up everything hafen needs on a fresh Debian 12 machine; a second run skips what is there.
#   scripts/setup.sh         what `npm start` needs: npm packages, Docker's engine, busybox for images
#   scripts/setup.sh --test  also what `npm test` needs: PostgreSQL, the OpenStack clients, a registry
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=(docker.io busybox-static iptables iproute2 conntrack python3 ca-certificates openssl)
if [ "$want_test" = 1 ]; then
  packages+=(postgresql python3-openstackclient python3-openstacksdk python3-requests python3-heatclient python3-zunclient docker-registry docker-compose curl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's postgresql and docker-registry try to start services; we run our own instances.
fi

# npm dependencies: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
