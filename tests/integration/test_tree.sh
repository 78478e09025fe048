#!/bin/bash
# Every process of a runtime, from launch to the last descendant, in both
# modes: a cgroup v2 per runtime, and the forced fallback (process groups
# plus the ARW_MOUNT environment marker).
#   - a grandchild that calls setsid() and ignores SIGTERM is gone after
#     stop, after a supervisor SIGTERM, and after a supervisor SIGKILL
#     followed by a restart;
#   - 1,000 helpers (each in a session of its own) stop, and no zombie stays;
#   - a process that cannot die (state D, in a lookup on a FUSE mount that
#     never answers): the status says so, a restart waits for it, and the
#     shutdown deadline abandons it (exit 1, pids in the log);
#   - cgroup mode also with the launch path of a kernel without clone3
#     (ARW_TEST_SPAWN=clone: the child joins cgroup.procs itself).
. "$(dirname "$0")/lib.sh"

HANG=$BUILD/tests/hang-fuse
[ -x "$HANG" ] || { not_ok "hang-fuse helper built"; exit 1; }

CG2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
OWN=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ "$OWN" = / ] && OWN=""
MODES="fallback"
# cgroup mode where a cgroup can be made here (root, cgroup2 mounted writable)
if [ -n "$CG2" ] && mkdir "$CG2$OWN/arw-test-probe.$$" 2>/dev/null; then
	rmdir "$CG2$OWN/arw-test-probe.$$"
	MODES="cgroup clone fallback"
else
	note "no usable cgroup2 here (none mounted, or not writable): only the fallback mode is tested"
fi
CGBASE=$(cg_base)

# zombies DAEMON: how many zombie children the daemon has
zombies() { ps -eo ppid=,stat= | awk -v p="$1" '$1 == p && $2 ~ /^Z/ { n++ } END { print n + 0 }'; }
# escaper ID: "grandchild child" pids from the stub's log line
escaper() { rt "$1" logs | sed -n 's/.*escaper pid \([0-9]*\) (child \([0-9]*\)).*/\1 \2/p' | tail -n 1; }
status1() { rt "$1" status | head -n 1; }
hp() { rt "$1" health.json | jq -r "$2"; }

HANGS=()
CLEANUP_HOOKS+=('for h in "${HANGS[@]+"${HANGS[@]}"}"; do kill -KILL "${h%%:*}" 2>/dev/null; umount -l "${h#*:}" 2>/dev/null; done')
# hang_mount DIR: a hang-fuse at DIR; HANG_PID
hang_mount() {
	mkdir -p "$1"
	"$HANG" "$1" >"$1.out" 2>&1 &
	HANG_PID=$!
	HANGS+=("$HANG_PID:$1")
	wait_for "grep -q mounted '$1.out' || pid_gone $HANG_PID" 10 && grep -q mounted "$1.out"
}

# new_tree PREVIOUS: wait for the escaper line of a new run of esc (not
# PREVIOUS); set L (leader), G (grandchild), C (child) and track them
new_tree() {
	wait_for "[ -n \"\$(escaper esc)\" ] && [ \"\$(escaper esc)\" != '$1' ]" 10
	L=$(rt_pid esc)
	read -r G C <<<"$(escaper esc)"
	track "$G"
	track "$C"
}

stuck_json() {
	cat <<EOF
{ "id": "$1", "adapter": "process", "auto_start": true,
  "process": { "command": "/bin/cat", "args": ["$2/x"], "stop": { "signal": "TERM", "timeout_ms": 300 } } }
EOF
}

# start_stuck ID DIR: a hang-fuse at DIR and a runtime ID whose cat waits
# on it, asleep in the kernel; D1 (hang-fuse) and S (the cat) set
start_stuck() {
	hang_mount "$2" || return 1
	D1=$HANG_PID
	stuck_json "$1" "$2" | put_manifest "$1.json"
	wait_state "$1" ready 20
	S=$(rt_pid "$1")
	wait_for "[ \"\$(proc_field $S 3)\" = S ]" 10
}

run_mode() {
	local m=$1 P1 P2 G C L OLD KIDS k D1 S N0 p
	note "==== mode: $m"
	rm -f "$MF"/*.json
	rm -rf "${STATE:?}"/*   # each mode starts with fresh budgets and desired states
	unset ARW_NO_CGROUP ARW_TEST_SPAWN
	[ "$m" = fallback ] && export ARW_NO_CGROUP=1
	[ "$m" = clone ] && export ARW_TEST_SPAWN=clone
	P1=$(free_port)
	stub_json esc "$P1" --load-ms 50 --spawn-escaper | put_manifest esc.json

	start_daemon --shutdown-timeout 3 || { not_ok "$m: supervisor mounts the tree"; return; }
	ok "$m: supervisor mounts the tree"
	if [ "$m" = fallback ]; then
		check "$m: the matrix says process groups" \
			"rf '$MNT/runtime_matrix.json' | jq -e '.items[].status.detail | any(test(\"Process tracking: process groups\"))' >/dev/null"
	else
		check "$m: the matrix says cgroup v2" \
			"rf '$MNT/runtime_matrix.json' | jq -e '.items[].status.detail | any(test(\"Process tracking: cgroup v2\"))' >/dev/null"
	fi
	wait_state esc ready 20
	new_tree ""
	check "$m: the grandchild has a session of its own" "[ '$(proc_field "$G" 6)' = '$G' ] && [ '$G' != '$L' ]"
	if [ "$m" = fallback ]; then
		check_wait "$m: health.json processes counts the group (leader and child)" "[ \"\$(hp esc .processes)\" = 2 ]" 10
		check_eq "$m: health.json cgroup is null" null "$(hp esc .cgroup)"
	else
		check_wait "$m: health.json processes counts the cgroup (3)" "[ \"\$(hp esc .processes)\" = 3 ]" 10
		check_eq "$m: health.json cgroup is the runtime's" "$CGBASE/runtimes/esc" "$(hp esc .cgroup)"
		check "$m: the grandchild is in the runtime's cgroup" "grep -qx '$G' '$CGBASE/runtimes/esc/cgroup.procs'"
	fi

	# -- stop
	check_match "$m: stop wait=10" '^ok' "$(rt_ctl esc 'stop wait=10')"
	check_eq "$m: after stop, leader, child and setsid grandchild are gone" "" "$(still_running "$L" "$C" "$G")"
	check_wait "$m: after stop, no zombie" "[ \$(zombies $DAEMON_PID) = 0 ]" 10
	[ "$m" != fallback ] && check "$m: the stopped runtime's cgroup is removed" "[ ! -d '$CGBASE/runtimes/esc' ]"

	# -- supervisor SIGTERM
	check_match "$m: start wait=10" '^ok' "$(rt_ctl esc 'start wait=10')"
	new_tree "$G $C"
	stop_daemon 30
	check_eq "$m: SIGTERM: the supervisor exits 0" 0 "$DAEMON_RC"
	check_eq "$m: SIGTERM: leader, child and grandchild are gone" "" "$(still_running "$L" "$C" "$G")"
	[ "$m" != fallback ] && check "$m: SIGTERM: the daemon's cgroup is removed" "[ ! -d '$CGBASE' ]"

	# -- supervisor SIGKILL, then a restart
	start_daemon --shutdown-timeout 3 || { not_ok "$m: restart mounts the tree"; return; }
	wait_state esc ready 20
	new_tree "$G $C"
	kill -KILL "$DAEMON_PID"
	wait_for "pid_gone $DAEMON_PID" 10
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=""
	check "$m: after a supervisor SIGKILL the grandchild outlives it (for now)" "pid_alive $G"
	start_daemon --shutdown-timeout 3 || { not_ok "$m: start after SIGKILL mounts the tree"; return; }
	ok "$m: start after SIGKILL mounts the tree"
	if wait_for "[ -z \"\$(still_running $L $C $G)\" ]" 10; then
		ok "$m: the next start killed the earlier run's leader, child and grandchild"
	else
		not_ok "$m: the next start killed the earlier run's leader, child and grandchild"
	fi
	wait_state esc ready 20
	check "$m: the runtime is back with a new leader" "[ '$(rt esc pid)' != '$L' ]"

	# -- 1,000 helpers
	if [ "$m" != clone ]; then
		P2=$(free_port)
		stub_json many "$P2" --load-ms 50 --fork-children 1000 | put_manifest many.json
		wait_state many ready 60
		OLD=$(rt_pid many)
		wait_for "[ \$(pgrep -P $OLD | wc -l) -ge 1000 ]" 60
		KIDS=$(pgrep -P "$OLD" | tr '\n' ' ')
		check "$m: 1,000 helpers are running" "[ $(echo $KIDS | wc -w) -ge 1000 ]"
		if [ "$m" = cgroup ]; then
			check_wait "$m: health.json processes counts them (1,001)" "[ \"\$(hp many .processes)\" = 1001 ]" 10
		fi
		check_match "$m: stop many wait=20" '^ok' "$(rt_ctl many 'stop wait=20')"
		k=0
		for p in $KIDS; do pid_gone "$p" || k=$((k + 1)); done
		check_eq "$m: after stop, none of the 1,000 helpers is alive" 0 "$k"
		if wait_for "[ \$(zombies $DAEMON_PID) = 0 ]" 20; then ok "$m: no zombie of the 1,000 stays"; else not_ok "$m: no zombie of the 1,000 stays ($(zombies $DAEMON_PID))"; fi
		rm -f "$MF/many.json"
	fi

	# -- a process that cannot die: the status says so, a restart waits
	if start_stuck stuck "$T/hang1-$m"; then
		N0=$(grep -c 'runtime\[stuck\]: started pid' "$DLOG")
		check_match "$m: restart of a runtime stuck in the kernel is accepted" '^ok' "$(rt_ctl stuck restart)"
		if wait_for "[ \"\$(status1 stuck)\" = 'Stopping - 1 process still exiting after SIGKILL' ]" 15; then
			ok "$m: status says 1 process still exiting after SIGKILL"
		else
			not_ok "$m: status says 1 process still exiting after SIGKILL (got: $(status1 stuck))"
		fi
		check "$m: the stuck process is in state D" "[ \"\$(proc_field $S 3)\" = D ]"
		check_eq "$m: the restart waits: still the old pid" "$S" "$(hp stuck .pid)"
		kill -KILL "$D1"   # its lookup fails, the process dies
		if wait_for "[ \$(grep -c 'runtime\\[stuck\\]: started pid' '$DLOG') -gt $N0 ]" 15; then
			ok "$m: once it died, the restart went on"
		else
			not_ok "$m: once it died, the restart went on"
		fi
		rm -f "$MF/stuck.json"
		wait_for "[ ! -d '$MNT/runtimes/stuck' ]" 10
		umount -l "$T/hang1-$m" 2>/dev/null
	else
		not_ok "$m: hang-fuse mounts"
	fi

	# -- the shutdown deadline
	if start_stuck stuck2 "$T/hang2-$m"; then
		stop_daemon 30
		check_eq "$m: shutdown deadline: the supervisor exits 1" 1 "$DAEMON_RC"
		check "$m: shutdown deadline: the log names the runtime and its pid" \
			"grep -q 'abandoning runtime\\[stuck2\\]: 1 process still there after SIGKILL (pids $S)' '$DLOG'"
		check "$m: shutdown deadline: the mount is gone" "! mounted"
		kill -KILL "$D1"
		check_wait "$m: the abandoned process dies once its lookup fails" "pid_gone $S" 10
		umount -l "$T/hang2-$m" 2>/dev/null
		rm -f "$MF/stuck2.json"
		start_daemon --shutdown-timeout 3 || { not_ok "$m: start after the abandon mounts the tree"; return; }
		[ "$m" != fallback ] && check "$m: the next start removed the abandoned cgroup" "[ ! -d '$CGBASE/runtimes/stuck2' ]"
		stop_daemon 30
		check_eq "$m: then a clean stop exits 0" 0 "$DAEMON_RC"
	else
		not_ok "$m: hang-fuse mounts"
		stop_daemon 30
	fi
}

for mode in ${ARW_TREE_MODES:-$MODES}; do run_mode "$mode"; done
unset ARW_NO_CGROUP ARW_TEST_SPAWN


# -- the fallback chosen by itself: no cgroup2 mounted (in a mount namespace
#    of its own, where the daemon's mount stays too)
if [ -n "$CG2" ] && command -v unshare >/dev/null; then
	rm -f "$MF"/*.json
	rm -rf "${STATE:?}"/*
	P3=$(free_port)
	stub_json auto "$P3" --load-ms 50 --spawn-escaper | put_manifest auto.json
	unshare -m bash -c '
		umount -l "$1" || exit 3
		"$2" -f --mount "$3" --manifests "$4" --state "$5" 2>"$6/ns.log" &
		d=$!
		for i in $(seq 200); do
			[ "$(cat "$3/runtimes/auto/state" 2>/dev/null)" = ready ] &&
				[ "$(jq .processes "$3/runtimes/auto/health.json" 2>/dev/null)" = 2 ] && break
			sleep 0.05
		done
		cat "$3/runtime_matrix.json" >"$6/ns.matrix" 2>/dev/null
		cat "$3/runtimes/auto/health.json" >"$6/ns.health" 2>/dev/null
		kill -TERM $d
		wait $d
		echo $? >"$6/ns.rc"
	' ns "$CG2" "$SUP" "$MNT" "$MF" "$STATE" "$T"
	check "no cgroup2 mounted: the daemon chose process groups, and says why" \
		"jq -e '.items[].status.detail | any(test(\"Process tracking: process groups \\\\(no cgroup: no cgroup2 file system is mounted\\\\)\"))' '$T/ns.matrix' >/dev/null"
	check_eq "no cgroup2 mounted: the runtime ran, counted by its group" "2 null" "$(jq -r '"\(.processes) \(.cgroup)"' "$T/ns.health" 2>/dev/null)"
	check_eq "no cgroup2 mounted: a clean stop" 0 "$(cat "$T/ns.rc" 2>/dev/null)"
	check "no cgroup2 mounted: the log says so" "grep -q 'no cgroup: no cgroup2 file system is mounted' '$T/ns.log'"
	check "the host's cgroup2 mount is untouched" "grep -q ' - cgroup2 ' /proc/self/mountinfo"
fi
