#!/bin/sh
# Install the build and test dependencies on Debian when they are missing.
# As root it runs apt-get; otherwise it prints the command to run.
#   tests/install-deps.sh        what `make run` needs
#   tests/install-deps.sh test   and what only the tests use: a JSON Schema
#                                validator, promtool and the node exporter,
#                                busybox, podman with runc (containers), and
#                                the watchers dashboards use (Python's
#                                watchdog, Node.js)
#   tests/install-deps.sh bench  and the supervisors `make bench` compares
#                                with: runit, s6, supervisor
set -eu
PKGS="build-essential pkg-config libfuse3-dev fuse3 libcjson-dev libcurl4-openssl-dev curl jq python3 procps inotify-tools"
if [ "${1:-}" = test ]; then
	PKGS="$PKGS python3-jsonschema prometheus prometheus-node-exporter busybox-static podman runc python3-watchdog nodejs"
fi
if [ "${1:-}" = bench ]; then
	PKGS="$PKGS runit s6 supervisor"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing" >&2
	echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
