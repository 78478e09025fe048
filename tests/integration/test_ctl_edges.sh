#!/bin/bash
# Edges of ctl writes: an interrupt that overtakes its own write (runtime and
# root ctl alike) frees the writer; wait=0 means "do not wait"; a write
# parked at shutdown fails with ESHUTDOWN; a shutdown with files of the tree
# still open unmounts without a complaint.
. "$(dirname "$0")/lib.sh"

PR=$(free_port)
stub_json quick "$PR" --load-ms 50 | put_manifest quick.json
# never ready: an HTTP check nobody answers
cat <<'JSON' | put_manifest stuck.json
{"id":"stuck","adapter":"process","auto_start":true,
 "process":{"command":"/bin/sleep","args":["1000"],
  "health":{"url":"http://127.0.0.1:1/","startup_timeout_ms":600000}}}
JSON

mount_tree
wait_state quick ready 30
rt_pid quick >/dev/null
wait_for "[ -n \"\$(rt stuck pid)\" ]" 10
rt_pid stuck >/dev/null

# --- interrupts that race their write ---
out=$(timeout 300 python3 "$(dirname "$0")/py/interrupt_race.py" "$MNT/runtimes/stuck/ctl" "start wait=600" 40)
check_eq "runtime ctl: every interrupted wait= write ended" "rounds=40 stuck=0" "$out"
out=$(timeout 300 python3 "$(dirname "$0")/py/interrupt_race.py" "$MNT/ctl" "start-all wait=600" 40)
check_eq "root ctl: every interrupted wait= write ended" "rounds=40 stuck=0" "$out"
check_eq "the tree still answers" ready "$(rt_state quick)"

# --- wait=0 ---
check_eq "start wait=0 on a ready runtime: ok at once" ok "$(rt_ctl quick 'start wait=0')"
check_eq "start wait=0 on a runtime that is not ready: ok at once (no wait)" ok "$(rt_ctl stuck 'start wait=0')"
check_eq "root start-all wait=0: ok at once" ok "$(ctl_write "$MNT/ctl" 'start-all wait=0')"

# --- a file held open and a write parked when the daemon stops ---
python3 -c '
import os, sys, time
fds = [os.open(sys.argv[1] + "/runtimes/quick/status", os.O_RDONLY), os.open(sys.argv[1] + "/events", os.O_RDONLY)]
time.sleep(600)' "$MNT" &
HOLDER=$!
HELPERS+=("$HOLDER")
wait_for "[ \$(ls /proc/$HOLDER/fd 2>/dev/null | wc -l) -ge 5 ]" 10
( ctl_write "$MNT/runtimes/stuck/ctl" "start wait=60" >"$T/parked.out" ) &
PARKED=$!
wait_for "grep -q 'ctl \"start wait=60\"' '$DLOG'" 10
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
wait "$PARKED"
check_eq "a write parked at shutdown fails with ESHUTDOWN" ESHUTDOWN "$(cat "$T/parked.out")"
check "SIGTERM: unmounted although files were open" "! mounted"
check "no complaint about the unmount" "! grep -q 'failed to unmount' '$DLOG'"
