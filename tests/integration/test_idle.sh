#!/bin/bash
# The loop never spins: after each terminal transition (exited cleanly,
# policy never, budget exhausted, stopped by the operator, manifest removed)
# the daemon sleeps.  Each case leaves behind the deadlines that bit before
# (a startup timeout and a probe of a runtime that is gone), lets them pass,
# then counts the daemon's CPU time over an idle window.
. "$(dirname "$0")/lib.sh"

IDLE_WINDOW=2        # seconds measured
MAX_TICKS=20         # CPU ticks (1/100 s) allowed in the window: 10 %

# A runtime that exits after 0.2 s, with an HTTP check nobody answers and a
# 1 s startup timeout: its deadlines outlive the process unless cleared.
short_json() {   # ID POLICY CODE [MAX_RESTARTS]
	cat <<JSON
{"id":"$1","adapter":"process","auto_start":true,
 "restart":{"policy":"$2","max_restarts":${4:-3},"window_seconds":600},
 "process":{"command":"/bin/sh","args":["-c","sleep 0.2; exit $3"],
  "health":{"url":"http://127.0.0.1:1/","startup_timeout_ms":1000,"interval_ms":300}}}
JSON
}
long_json() {   # ID
	cat <<JSON
{"id":"$1","adapter":"process","auto_start":true,
 "process":{"command":"/bin/sleep","args":["600"],
  "health":{"url":"http://127.0.0.1:1/","startup_timeout_ms":1000,"interval_ms":300}}}
JSON
}

cpu_ticks() {   # utime + stime of the daemon
	local s
	s=$(cat "/proc/$DAEMON_PID/stat") || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}

# idle_after NAME: let 1.5 s of leftover deadlines pass, then measure.
idle_after() {
	local a b
	sleep 1.5
	a=$(cpu_ticks)
	sleep "$IDLE_WINDOW"
	b=$(cpu_ticks)
	note "$1: $((b - a)) CPU ticks in ${IDLE_WINDOW}s"
	if [ $((b - a)) -le "$MAX_TICKS" ]; then
		ok "idle after $1 ($((b - a)) ticks in ${IDLE_WINDOW}s)"
	else
		not_ok "idle after $1" "$((b - a)) CPU ticks in ${IDLE_WINDOW}s (bound $MAX_TICKS): the loop spins"
	fi
}

mount_tree
idle_after "start-up with no runtime"

short_json clean on-failure 0 | put_manifest clean.json
wait_state clean offline 20
check_eq "clean: exited cleanly" "Offline - Exited cleanly (code 0)" "$(rt_status1 clean)"
idle_after "a clean exit under on-failure"

short_json never never 1 | put_manifest never.json
wait_state never error 20
check_match "never: in error after exit 1" '^Error - Exited with code 1' "$(rt_status1 never)"
idle_after "an exit under policy never"

short_json spent always 1 1 | put_manifest spent.json
wait_for "[ \"\$(rt_status1 spent)\" = 'Error - Restart budget exhausted' ]" 30
check_eq "spent: budget exhausted" "Error - Restart budget exhausted" "$(rt_status1 spent)"
idle_after "an exhausted budget"

long_json held | put_manifest held.json
wait_for "[ -n \"\$(rt held pid)\" ]" 20
rt_pid held >/dev/null
check_eq "stop held" ok "$(rt_ctl held 'stop wait=20')"
check_eq "held: offline" offline "$(rt_state held)"
idle_after "an operator stop"

long_json gone | put_manifest gone.json
wait_for "[ -n \"\$(rt gone pid)\" ]" 20
rt_pid gone >/dev/null
rm -f "$MF/gone.json"
wait_for "[ ! -e '$MNT/runtimes/gone' ]" 20
check "gone: its directory went" "[ ! -e '$MNT/runtimes/gone' ]"
idle_after "a removed manifest"

# A helper that cannot die (asleep in the kernel, in a lookup on a FUSE
# mount that never answers) outlives its leader: the leader's pidfd stays
# readable from its exit on, and must not keep waking the loop while the
# group drains.
HANG=$BUILD/tests/hang-fuse
HANG_DIR=$T/hang
mkdir -p "$HANG_DIR"
"$HANG" "$HANG_DIR" >"$HANG_DIR.out" 2>&1 &
HANG_PID=$!
CLEANUP_HOOKS+=('kill -KILL "$HANG_PID" 2>/dev/null; umount -l "$HANG_DIR" 2>/dev/null')
if wait_for "grep -q mounted '$HANG_DIR.out'" 10; then
	cat <<JSON | put_manifest drain.json
{"id":"drain","adapter":"process","auto_start":true,
 "process":{"command":"/bin/sh","args":["-c","cat $HANG_DIR/x & wait"],
  "stop":{"signal":"TERM","timeout_ms":300}}}
JSON
	wait_state drain ready 20
	L=$(rt_pid drain)
	child_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr -d ' '; }
	pstate() { awk '{print $3}' /proc/"$1"/stat 2>/dev/null; }
	wait_for "[ -n \"\$(child_of $L)\" ]" 10
	H=$(child_of "$L")
	track "$H"
	wait_for "[ \"\$(pstate $H)\" = S ]" 10
	check_eq "drain: its helper waits in a lookup" S "$(pstate "$H")"
	rt_ctl drain stop >/dev/null
	wait_for "[ ! -e /proc/$L ] && [ \"\$(pstate $H)\" = D ]" 10
	check "drain: the leader is gone; its helper, SIGKILLed, is in state D" \
		"[ ! -e /proc/$L ] && [ \"\$(pstate $H)\" = D ]"
	idle_after "a leader gone while its helper cannot die"
	kill -KILL "$HANG_PID"   # the lookup fails; the helper dies
	wait_state drain offline 20
	check_eq "drain: offline once the helper died" offline "$(rt_state drain)"
else
	not_ok "hang-fuse mounts"
fi

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
