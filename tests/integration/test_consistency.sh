#!/bin/bash
# Read-your-writes (SPEC 2): once a ctl write has returned, every file of the
# tree already shows that command's effect: content, stat size, mtime.  A
# client with no sleeps makes at least 1,000 write-then-read pairs over
# runtime and root verbs and must see zero stale reads.
. "$(dirname "$0")/lib.sh"

PAIRS=${ARW_RW_PAIRS:-1200}
PA=$(free_port) PB=$(free_port)
stub_json rw "$PA" --load-ms 0 --listen-delay-ms 0 |
	jq '.restart = {policy: "on-failure", max_restarts: 1000, window_seconds: 600}' | put_manifest rw.json
stub_json peer "$PB" --load-ms 0 --listen-delay-ms 0 | put_manifest peer.json

start_daemon || { not_ok "supervisor mounts the tree"; exit 1; }
ok "supervisor mounts the tree"
wait_state rw ready 30
wait_state peer ready 30
check_eq "both runtimes ready" "ready ready" "$(rt_state rw) $(rt_state peer)"

# While the client runs, the kernel keeps dropping its dentry and inode
# caches: an inode it has to look up again is where an invalidation can miss
# (it found nothing to drop while the lookup was under way).
( while :; do echo 2 >/proc/sys/vm/drop_caches; sleep 0.02; done ) &
DROPPER=$!
HELPERS+=("$DROPPER")
out=$(timeout -k 5 600 python3 "$(dirname "$0")/py/rw_client.py" "$MNT" rw peer "$PAIRS" 2>&1)
rc=$?
kill "$DROPPER" 2>/dev/null
summary=$(printf '%s\n' "$out" | grep '^pairs=' | tail -n 1)
note "read-your-writes: $summary"
printf '%s\n' "$out" | grep -E '^(stale|error)' | head -n 20 | sed 's/^/# /'
check_match "the client made at least 1,000 write-then-read pairs" '^pairs=([0-9]{4,})' "$summary"
check_match "zero stale reads after a ctl write returned" ' stale=0$' "$summary"
check_eq "the client exited 0" 0 "$rc"
rt_pid rw >/dev/null; rt_pid peer >/dev/null
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
