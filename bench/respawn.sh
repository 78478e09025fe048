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
build_stamp
cc -O2 -o "$dir/respawn" "$here/respawn.c"
: >"$dir/stamps"
cat >"$dir/m/b.json" <<JSON
{"id":"b","adapter":"process","auto_start":true,
 "restart":{"policy":"always","max_restarts":1000,"window_seconds":1},
 "process":{"command":"$dir/stamp","args":["$dir/stamps"]}}
JSON
launch_b
"$dir/respawn" "$dir/stamps" "$R" "$rounds"
