#!/bin/bash
# Shutdown and restart of the supervisor: SIGTERM stops every process group
# (SIGKILL after stop.timeout_ms) and unmounts; budgets and operator stops
# survive a restart; after a SIGKILL of the supervisor its runtimes die, the
# next start cleans up the leftovers and the stale mount, and runtimes return.
. "$(dirname "$0")/lib.sh"

P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)
stub_json one "$P1" --load-ms 100 | put_manifest one.json
stub_json two "$P2" --load-ms 100 | put_manifest two.json
stub_json stubborn "$P3" --load-ms 100 --ignore-sigterm |
	jq '.process.stop = {signal: "TERM", timeout_ms: 500}' | put_manifest stubborn.json
stub_json kids "$P4" --load-ms 100 --spawn-child | put_manifest kids.json
ALL="one two stubborn kids"

all_ready() {
	local id
	for id in "$@"; do [ "$(rt_state "$id")" = ready ] || return 1; done
}

# ---------- first run ----------
mount_tree
if wait_for "all_ready $ALL" 30; then ok "four runtimes ready"; else not_ok "four runtimes ready"; fi

# one crash of "one" (counted), one operator stop of "two"
O1=$(rt_pid one)
kill -KILL "$O1"
wait_for "p=\$(rt one pid); [ -n \"\$p\" ] && [ \"\$p\" != '$O1' ]" 20
wait_state one ready 30
check_eq "one: budget used=1 after kill -9" 1 "$(budget_val one used)"
TW=$(rt_pid two)
check_eq "stop two" ok "$(rt_ctl two stop)"
wait_state two offline
check_eq "two: offline by operator" "Offline - Stopped by operator" "$(rt_status1 two)"

PIDS="$(rt_pid one) $(rt_pid stubborn) $(rt_pid kids)"
wait_for "[ -n \"\$(spawned_child kids)\" ]" 10
CH=$(spawned_child kids)
track "$CH"
PIDS="$PIDS $CH $O1 $TW"
note "first run pids: $PIDS"
check "every recorded runtime pid is a number" "[ \$(echo $PIDS | wc -w) -eq 6 ]"

stop_daemon 30
check_eq "SIGTERM: the supervisor exits 0" 0 "$DAEMON_RC"
check_eq "SIGTERM: every runtime process (and the spawned child) is gone" "" "$(still_running $PIDS)"
check "SIGTERM: the mount is gone from /proc/mounts" "! mounted"
check "SIGTERM: the process ignoring SIGTERM was SIGKILLed after its stop timeout" \
	"grep -q 'runtime\[stubborn\]: pid [0-9]* ignored the stop signal for 500 ms; sending SIGKILL' '$DLOG'"

# ---------- second run (under a reaper, as under systemd) ----------
start_daemon_reaped || { not_ok "restart with the same --state mounts the tree"; exit 1; }
ok "restart with the same --state mounts the tree"
if wait_for "all_ready one stubborn kids" 30; then ok "after restart: one, stubborn, kids ready"; else not_ok "after restart: one, stubborn, kids ready"; fi
check_eq "after restart: one's budget still used=1" 1 "$(budget_val one used)"
check_eq "after restart: one's health.json restart_budget.used=1" 1 "$(rt one health.json | jq -r .restart_budget.used)"
check_eq "after restart: two stays offline (operator stop persisted)" "offline|" "$(rt_state two)|$(rt two pid)"
check_eq "after restart: two's status line 1" "Offline - Stopped by operator" "$(rt_status1 two)"
check_eq "after restart: the others' budgets are untouched" "0 0" "$(budget_val stubborn used) $(budget_val kids used)"

PIDS2="$(rt_pid one) $(rt_pid stubborn) $(rt_pid kids)"
wait_for "[ -n \"\$(spawned_child kids)\" ]" 10
CH2=$(spawned_child kids)
track "$CH2"
note "second run pids: $PIDS2, spawned child $CH2"
check "second run: the spawned child is alive" "[ -n '$CH2' ] && pid_alive '$CH2'"

# ---------- SIGKILL of the supervisor, and an immediate restart ----------
# (as a service manager does; a dashboard read the tree just before)
rf "$MNT/runtime_matrix.json" >/dev/null
ls "$MNT/runtimes" >/dev/null
kill -KILL "$DAEMON_PID"
wait_for "pid_gone $DAEMON_PID" 10
DAEMON_PID=""
check "SIGKILL: the mount is left behind" "mounted"
# (a read, not a stat: stat may be answered from the kernel's attribute cache)
err=$(timeout 5 cat "$MNT/node" 2>&1 >/dev/null)
# (ENOTCONN; kernels since 6.x may say ECONNABORTED for a dead daemon)
check_match "SIGKILL: the stale mount fails at once (ENOTCONN or ECONNABORTED)" \
	'Transport endpoint is not connected|Software caused connection abort' "$err"

# ---------- third run on the same mount point ----------
if start_daemon; then ok "start on the stale mount point works"; else not_ok "start on the stale mount point works"; fi
wait_for "[ -z \"\$(still_running $PIDS2)\" ]" 10
check_eq "SIGKILL: every runtime leader died with the supervisor (PDEATHSIG)" "" "$(still_running $PIDS2)"
# SPEC 5 / STYLE: lazily unmount the stale mount first; mounting on top stacks.
if [ "$(mount_count)" = 1 ]; then
	ok "the stale mount was replaced, not stacked (one mount entry)"
else
	not_ok "the stale mount was replaced, not stacked (one mount entry)" \
		"$(mount_count) entries for $MNT in /proc/mounts: the new mount sits on the dead one"
fi
check "the log says it cleaned the stale mount" "grep -q 'stale mount left by an earlier run' '$DLOG'"
if wait_for "all_ready one stubborn kids" 30; then ok "after the SIGKILL: runtimes come back ready"; else not_ok "after the SIGKILL: runtimes come back ready"; fi
check_eq "after the SIGKILL: two still offline" offline "$(rt_state two)"
check_eq "after the SIGKILL: one's budget still used=1" 1 "$(budget_val one used)"
rt_pid one >/dev/null; rt_pid stubborn >/dev/null; rt_pid kids >/dev/null
new_ch=$(spawned_child kids); track "$new_ch"
# The leader of kids died by PDEATHSIG, but the child it spawned (same process
# group) has no PDEATHSIG: SPEC 5 says the next start finds and cleans it up.
if wait_for "pid_gone '$CH2'" 10; then
	ok "after the SIGKILL: the next start killed the group leftovers (spawned child)"
else
	not_ok "after the SIGKILL: the next start killed the group leftovers (spawned child)" \
		"pid $CH2 ($(tr '\0' ' ' </proc/$CH2/cmdline 2>/dev/null), pgrp $(proc_field "$CH2" 5), ppid $(proc_field "$CH2" 4)) still alive"
fi

# final clean stop: exit 0 and nothing left
PIDS3="$(rt one pid) $(rt stubborn pid) $(rt kids pid) $new_ch"
stop_daemon 30
check_eq "final SIGTERM: exit 0" 0 "$DAEMON_RC"
check_eq "final SIGTERM: nothing left running" "" "$(still_running $PIDS3)"
check "final SIGTERM: unmounted" "! mounted"
