#!/bin/bash
# The mount point: a start after a daemon that died wedged (stuck in the
# kernel on its own mount) is bounded and never touches the dead mount; a
# second daemon never takes a mount point whose owner is alive; a lost mount
# (umount -l, an aborted connection) is noticed, logged and mounted again
# with the runtimes left running.
. "$(dirname "$0")/lib.sh"

WEDGE=$BUILD/tests/wedge-fuse
[ -x "$WEDGE" ] || { not_ok "wedge-fuse helper built"; exit 1; }
P1=$(free_port)
stub_json one "$P1" --load-ms 50 | put_manifest one.json

task_states() {   # every task's state of PID, e.g. "ZD"
	local t
	for t in /proc/"$1"/task/*/stat; do sed 's/.*) //' "$t" 2>/dev/null | cut -c1; done | tr -d '\n'
}

# ---------- a daemon that died wedged ----------
mkdir -p "$MNT" "$ARW_RUN_DIR"
"$WEDGE" "$MNT" "$(owner_file "$MNT")" "$STATE/lock" >"$T/wedge.out" 2>&1 &
WP=$!
HELPERS+=("$WP")
if wait_for "grep -q wedgeable '$T/wedge.out'" 10; then ok "the wedging daemon holds a request on its own mount"; else not_ok "the wedging daemon holds a request on its own mount"; exit 1; fi
# its connection number; the cleanup aborts it if it is still stuck then
WMIN=$(awk -v m="$MNT" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo | tail -n 1)
stuck() { [[ "$(task_states "$WP")" == *D* ]]; }
CLEANUP_HOOKS+=('stuck && echo 1 >"/sys/fs/fuse/connections/$WMIN/abort"')
# Touching the mount while the wedged daemon is stuck would hang this script
# too: first wait until it has finished dying (its connection is dead then,
# and fails at once) and a mount is there.
fresh_mount() { ! stuck && mounted; }
kill -KILL "$WP"
if wait_for "[[ \"\$(task_states $WP)\" == *D* ]]" 5; then
	ok "after SIGKILL it is stuck: a thread in D state ($(task_states $WP))"
else
	not_ok "after SIGKILL it is stuck: a thread in D state" "task states: $(task_states $WP)"
fi
t0=$(now_ms)
echo "=== start over the wedged mount $(date +%T.%N)" >>"$DLOG"
"$SUP" -f -v --mount "$MNT" --manifests "$MF" --state "$STATE" >>"$DLOG" 2>&1 &
DAEMON_PID=$!
if wait_for "fresh_mount || pid_gone $DAEMON_PID" 20 && fresh_mount && wait_for daemon_up 10; then
	ok "a new start over the wedged mount mounts the tree"
else
	not_ok "a new start over the wedged mount mounts the tree" "$(tail -n 5 "$DLOG" | tr '\n' '|')"
	exit 1
fi
note "start over the wedged mount took $(($(now_ms) - t0)) ms"
check "the log says the old owner was dying and its connection aborted" \
	"grep -q 'is dying but stuck' '$DLOG'"
if wait_for "[ -z \"\$(task_states $WP)\" ] || [ \"\$(task_states $WP)\" = Z ]" 5; then
	ok "the wedged daemon finished dying"
else
	not_ok "the wedged daemon finished dying" "task states: $(task_states $WP)"
fi
wait "$WP" 2>/dev/null
check_eq "one mount entry at the mount point" 1 "$(mount_count)"
wait_state one ready 30
check_eq "the runtime is ready" ready "$(rt_state one)"
PID1=$(rt_pid one)

# ---------- a second daemon on the same mount point ----------
mkdir -p "$T/state2"
out=$(timeout 20 "$SUP" -f --mount "$MNT" --manifests "$MF" --state "$T/state2" 2>&1)
rc=$?
check_eq "a second daemon on the same mount point exits 1" 1 "$rc"
check_match "it names the live owner" "served by another arw-supervisor \\(pid $DAEMON_PID, state folder $STATE\\)" "$out"
check_eq "it started nothing: no pid file in its state folder" "" "$(ls "$T/state2/run" 2>/dev/null)"
check_eq "the first daemon's runtime is untouched" "$PID1" "$(rt one pid)"
check_eq "still one mount entry" 1 "$(mount_count)"
out=$(timeout 20 "$SUP" -f --mount "$T/mnt2" --manifests "$MF" --state "$STATE" 2>&1)
rc=$?
check_eq "a second daemon on the same state folder exits 1" 1 "$rc"
check_match "it names the holder of the state folder" "in use by another arw-supervisor \\(pid $DAEMON_PID, mounted at $MNT\\)" "$out"

# ---------- umount -l ----------
events_start "$T/ev.log"
umount -l "$MNT"
if wait_for "grep -q 'the tree was unmounted or its connection aborted' '$DLOG'" 10; then
	ok "umount -l: the daemon notices and says so"
else
	not_ok "umount -l: the daemon notices and says so"
fi
if wait_for "mounted && [ \"\$(rt_state one)\" = ready ]" 10; then ok "umount -l: the tree is back"; else not_ok "umount -l: the tree is back"; fi
check_eq "umount -l: the runtime kept running (same pid)" "$PID1" "$(rt one pid)"
check_eq "umount -l: one mount entry" 1 "$(mount_count)"
check "umount -l: the log says it mounted again" "grep -q 'mounted again; runtimes kept running' '$DLOG'"
check "umount -l: the events reader of the old tree ended" "wait_for 'pid_gone ${HELPERS[-1]}' 10"

# ---------- an aborted connection ----------
minor=$(awk -v m="$MNT" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo | tail -n 1)
check_match "our connection number is in mountinfo" '^[0-9]+$' "$minor"
n_before=$(grep -c 'mounted again; runtimes kept running' "$DLOG")
echo 1 >"/sys/fs/fuse/connections/$minor/abort"
if wait_for "[ \$(grep -c 'mounted again; runtimes kept running' '$DLOG') -gt $n_before ]" 10; then
	ok "abort: the daemon mounts the tree again"
else
	not_ok "abort: the daemon mounts the tree again"
fi
wait_for "[ \"\$(rt_state one)\" = ready ]" 10
check_eq "abort: the tree reads again" ready "$(rt_state one)"
check_eq "abort: the runtime kept running (same pid)" "$PID1" "$(rt one pid)"
check_eq "abort: one mount entry (the dead one detached)" 1 "$(mount_count)"
check_eq "ctl works on the new tree" ok "$(rt_ctl one 'restart wait=20')"
check_eq "the restart went through" ready "$(rt_state one)"
rt_pid one >/dev/null

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
check "SIGTERM: unmounted" "! mounted"
check "SIGTERM: the owner file is gone" "[ ! -e '$(owner_file "$MNT")' ]"

# --- --shared-parent: the folder above the mount point becomes a shared
# mount point, once; a lost mount and a restart keep one bind of it ---
SHARE=$T/share
CLEANUP_LAST+=('umount -l "$T/share" 2>/dev/null')
parent_shared() {   # the optional fields, before " - ", say shared:N
	awk -v m="$SHARE" '$5 == m { i = index($0, " shared:"); if (i && i < index($0, " - ")) f = 1 } END { exit !f }' /proc/self/mountinfo
}
MNT_SAVED=$MNT
MNT=$SHARE/fs
start_daemon --shared-parent || { not_ok "--shared-parent: the daemon mounts below a new folder"; exit 1; }
ok "--shared-parent: the daemon mounts below a new folder"
check_eq "--shared-parent: the parent is bound onto itself once" 1 "$(mount_count "$SHARE")"
check "--shared-parent: the parent is a shared mount point" parent_shared
wait_state one ready 30
check_eq "--shared-parent: the tree reads" ready "$(rt_state one)"
rt_pid one >/dev/null
umount -l "$MNT"
if wait_for "[ \"\$(rt_state one)\" = ready ]" 10; then ok "--shared-parent, umount -l: mounted again"; else not_ok "--shared-parent, umount -l: mounted again"; fi
check_eq "--shared-parent, after the remount: still one bind of the parent" 1 "$(mount_count "$SHARE")"
stop_daemon 30
check_eq "--shared-parent: SIGTERM exits 0" 0 "$DAEMON_RC"
check "--shared-parent: the tree is unmounted" "! mounted"
check_eq "--shared-parent: the parent stays a shared mount point (containers bind it)" 1 "$(mount_count "$SHARE")"
start_daemon --shared-parent || not_ok "--shared-parent: a second start"
check_eq "--shared-parent, second start: no second bind of the parent" 1 "$(mount_count "$SHARE")"
check "--shared-parent, second start: it did not bind again" \
	"[ \$(grep -c 'bound onto itself' '$DLOG') -eq 1 ]"
rt_pid one >/dev/null
stop_daemon 30
MNT=$MNT_SAVED
out=$("$SUP" -f --shared-parent --mount /arw-test-$$ --manifests "$MF" --state "$T/state-top" 2>&1)
rc=$?
check_eq "--shared-parent with a mount point directly under /: exit 2" 2 "$rc"
check_match "--shared-parent directly under /: says why" 'directly under /; mount one level lower' "$out"
check "--shared-parent directly under /: nothing was created" "[ ! -e /arw-test-$$ ]"

# --- an owner file still locked for a moment after its owner is gone ---
# (a child of a killed daemon between clone and exec holds the descriptor)
hold_for_gone "$(owner_file "$MNT")" state "$STATE"
start_daemon
check "an owner file held by what a gone owner left: the daemon waits and mounts" "daemon_up"
check "the log says it waited for the gone owner" \
	"grep -q '$MNT: its owner, pid $gone_pid, is gone; waiting for what it forked to let go' '$DLOG'"
wait "$HOLDER" 2>/dev/null
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
