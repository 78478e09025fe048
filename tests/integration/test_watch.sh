#!/bin/bash
# Watching with ordinary tools (SPEC section 2): inotifywait on a file or its
# folder sees IN_MODIFY when the content changes, and runtimes/ sees
# IN_CREATE / IN_DELETE when a runtime directory appears or goes.
. "$(dirname "$0")/lib.sh"

command -v inotifywait >/dev/null || { not_ok "inotifywait is installed (inotify-tools)"; exit 1; }
PA=$(free_port) PB=$(free_port)
stub_json alpha "$PA" --load-ms 100 | put_manifest alpha.json
mount_tree
wait_state alpha ready 30
rt_pid alpha >/dev/null

W="$T/watch.log"
inotifywait -m -e modify,create,delete,close_write --format '%w%f %e' \
	"$MNT/runtimes" "$MNT/runtimes/alpha" "$MNT/manifests" "$MNT/runtime_matrix.json" >"$W" 2>"$T/watch.err" &
WATCHER=$!
track "$WATCHER"
wait_for "grep -q 'Watches established' '$T/watch.err'" 10

seen() { grep -q -- "$1" "$W"; }

# a state change: state, status, health.json of alpha, the matrix
echo stop >"$MNT/runtimes/alpha/ctl"
wait_state alpha offline 20
if wait_for "seen '$MNT/runtimes/alpha/state MODIFY'" 10; then ok "stop: IN_MODIFY on alpha/state"; else not_ok "stop: IN_MODIFY on alpha/state"; fi
check "stop: IN_MODIFY on alpha/status" "seen '$MNT/runtimes/alpha/status MODIFY'"
check "stop: IN_MODIFY on alpha/pid" "seen '$MNT/runtimes/alpha/pid MODIFY'"
check "stop: IN_MODIFY on runtime_matrix.json" "seen '$MNT/runtime_matrix.json MODIFY'"
check "the ctl write itself shows as IN_MODIFY on ctl" "seen '$MNT/runtimes/alpha/ctl MODIFY'"
# after the event, the content read is the new one (no stale read)
check_eq "after IN_MODIFY: cat shows the change" offline "$(rt_state alpha)"
check_eq "after IN_MODIFY: stat size matches the new content" 8 "$(stat -c %s "$MNT/runtimes/alpha/state")"

# a runtime appears and goes
stub_json beta "$PB" --load-ms 100 | put_manifest beta.json
if wait_for "seen '$MNT/runtimes/beta CREATE,ISDIR'" 10; then ok "new runtime: IN_CREATE on runtimes/"; else not_ok "new runtime: IN_CREATE on runtimes/"; fi
check "new manifest: IN_CREATE on manifests/" "seen '$MNT/manifests/beta.json CREATE'"
wait_state beta ready 30
rt_pid beta >/dev/null
rm -f "$MF/beta.json"
if wait_for "seen '$MNT/runtimes/beta DELETE,ISDIR'" 20; then ok "removed runtime: IN_DELETE on runtimes/"; else not_ok "removed runtime: IN_DELETE on runtimes/"; fi
check "removed manifest: IN_DELETE on manifests/" "seen '$MNT/manifests/beta.json DELETE'"
check "removed runtime: its directory is gone" "[ ! -e '$MNT/runtimes/beta' ]"

# output: logs gets IN_MODIFY while a runtime writes
echo start >"$MNT/runtimes/alpha/ctl"
wait_state alpha ready 20
rt_pid alpha >/dev/null
if wait_for "seen '$MNT/runtimes/alpha/logs MODIFY'" 10; then ok "output: IN_MODIFY on alpha/logs"; else not_ok "output: IN_MODIFY on alpha/logs"; fi

# the events that let watchers see changes are no way in for anyone else
check "mkdir in runtimes/ is refused" "! mkdir '$MNT/runtimes/x' 2>/dev/null"
check "rmdir of a runtime is refused" "! rmdir '$MNT/runtimes/alpha' 2>/dev/null"
check "unlink of a manifests entry is refused" "! rm -f '$MNT/manifests/alpha.json' 2>/dev/null"
check "alpha untouched by those attempts" "[ \"\$(rt_state alpha)\" = ready ]"

kill "$WATCHER" 2>/dev/null
wait "$WATCHER" 2>/dev/null
stop_daemon
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
