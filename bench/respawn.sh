#!/bin/bash
# Crash -> respawn, in microseconds, seen by the service itself: a static C
# service (bench/stamp.c) stamps its start time (CLOCK_MONOTONIC); it is
# killed with SIGKILL, and restarted through ctl, ROUNDS times each, once it
# has run for 1.2 s (a younger crash gets a backoff).  Also: how long after
# the new process runs its pid shows in the tree, read by a client that
# reads in a loop.  bench/respawn.c measures; this sets up.
#   bench/respawn.sh [ROUNDS] [BUILD_DIR]
set -euo pipefail
rounds=${1:-20}
build=$(cd "${2:-$(dirname "$0")/../build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cc -O2 -static -o "$dir/stamp" "$here/stamp.c" 2>/dev/null || cc -O2 -o "$dir/stamp" "$here/stamp.c"
cc -O2 -o "$dir/respawn" "$here/respawn.c"
: >"$dir/stamps"
cat >"$dir/m/s.json" <<JSON
{"id":"s","adapter":"process","auto_start":true,
 "restart":{"policy":"always","max_restarts":1000,"window_seconds":1},
 "process":{"command":"$dir/stamp","args":["$dir/stamps"]}}
JSON
chmod 644 "$dir/m/s.json"
"$build/arw-supervisor" -f --mount "$dir/mnt" --manifests "$dir/m" --state "$dir/state" 2>"$dir/log" &
daemon=$!
for _ in $(seq 2000); do [ "$(cat "$dir/mnt/runtimes/s/state" 2>/dev/null)" = ready ] && break; sleep 0.005; done
"$dir/respawn" "$dir/stamps" "$dir/mnt/runtimes/s" "$rounds"
