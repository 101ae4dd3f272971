#!/usr/bin/env bash
# Nested Docker hosts by hand (the multi-host harness tests use): containers running dockerd on an
# outer engine, each at tcp://172.31.250.x:2376 (TLS, client certificates of a CA kept under
# $HAFEN_DATA_DIR/pki/nested-hosts) on the project's hafen-hosts bridge.
#   scripts/hosts.sh up N [ENGINE]   start N hosts; prints HAFEN_DOCKER_HOSTS=tcp://...?cert_dir=...,...
#   scripts/hosts.sh down [ENGINE]   remove every nested host on ENGINE and the bridge
# ENGINE (unix:///path or tcp://host:port) defaults to the all-in-one engine of $HAFEN_DATA_DIR,
# started when it is not running (stop it with `node bin/hafen.mjs down`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/hosts.mts "$@"
