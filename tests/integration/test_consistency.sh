#!/bin/bash
# Read-your-writes (SPEC 2): once a ctl write has returned, every file of the
# tree already shows that command's effect: content, stat size, mtime.  A
# client with no sleeps makes at least 1,000 write-then-read pairs over
# runtime and root verbs and must see zero stale reads, while other readers
# stat the same files without pause.
. "$(dirname "$0")/lib.sh"

PAIRS=${ARW_RW_PAIRS:-1200}
PA=$(free_port) PB=$(free_port)
stub_json rw "$PA" --load-ms 0 --listen-delay-ms 0 |
	jq '.restart = {policy: "on-failure", max_restarts: 1000, window_seconds: 600}' | put_manifest rw.json
stub_json peer "$PB" --load-ms 0 --listen-delay-ms 0 | put_manifest peer.json

mount_tree
wait_state rw ready 30
wait_state peer ready 30
check_eq "both runtimes ready" "ready ready" "$(rt_state rw) $(rt_state peer)"

# While the client runs, the kernel keeps dropping its dentry and inode
# caches: an inode it has to look up again is where an invalidation can miss
# (it found nothing to drop while the lookup was under way).
( while :; do echo 2 >/proc/sys/vm/drop_caches; sleep 0.02; done ) &
DROPPER=$!
HELPERS+=("$DROPPER")
# Two other readers stat the files all the time, as dashboards and the
# notifier do: each answer they get could be cached by the kernel, and a
# cached size must never outlive the change it predates.
for k in 1 2; do
	python3 -c '
import os, sys
while True:
    for f in sys.argv[1:]:
        try:
            os.stat(f)
        except OSError:
            pass
' "$MNT/runtimes/rw/state" "$MNT/runtimes/rw/status" "$MNT/runtimes/rw/pid" "$MNT/ctl" &
	HELPERS+=("$!")
	STATTERS+=("$!")
done
out=$(timeout -k 5 600 python3 "$(dirname "$0")/py/rw_client.py" "$MNT" rw peer "$PAIRS" 2>&1)
rc=$?
kill "$DROPPER" "${STATTERS[@]}" 2>/dev/null
summary=$(printf '%s\n' "$out" | grep '^pairs=' | tail -n 1)
note "read-your-writes: $summary"
printf '%s\n' "$out" | grep -E '^(stale|error)' | head -n 20 | sed 's/^/# /'
# For each stale read: what the supervisor did in the 60 ms before it
# (its log has millisecond times), so a failure says what happened.
printf '%s\n' "$out" | sed -n 's/^stale: .*(at \([0-9]*\))$/\1/p' | head -n 3 |
	while read -r at; do
		note "supervisor log, 60 ms up to the stale read at $at:"
		python3 - "$DLOG" "$at" <<'PY' | tail -n 40 | sed 's/^/#   /'
import datetime, sys
at = int(sys.argv[2])
for line in open(sys.argv[1], errors="replace"):
    try:
        t = datetime.datetime.strptime(line[:24], "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        continue
    ms = int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
    if at - 60 <= ms <= at + 5:
        print(line.rstrip()[:300])
PY
	done
check_match "the client made at least 1,000 write-then-read pairs" '^pairs=([0-9]{4,})' "$summary"
check_match "zero stale reads after a ctl write returned" ' stale=0$' "$summary"
check_eq "the client exited 0" 0 "$rc"
rt_pid rw >/dev/null; rt_pid peer >/dev/null
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
