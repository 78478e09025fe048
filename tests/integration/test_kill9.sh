#!/bin/bash
# kill -9 never wedges the mount.  A busy daemon (output flooding, runtimes
# restarting, readers, an `events` reader, `wait=` ctl writers) is killed at
# varied moments, ARW_KILL9_ROUNDS times (make test: a few; make stress:
# 100): by SIGKILL (the OOM killer's way), and by SIGSEGV and SIGABRT (a
# crash: the kernel's core dump waits for every thread of the process, even
# with no core file).  Every time: the process is gone within 2 s with no
# thread left in the kernel, no task of the test is in D state, and the
# next start mounts again and brings the runtimes back.
. "$(dirname "$0")/lib.sh"

ROUNDS=${ARW_KILL9_ROUNDS:-12}
SIGS=(KILL SEGV ABRT)
ulimit -c 0   # crashes here write no core file
# under ASan, SIGSEGV and SIGABRT keep their default action: they are the
# test's own signals, not bugs to report
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:handle_abort=0"
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}handle_segv=0:handle_abort=0"
PC=$(free_port) PF=$(free_port) PK=$(free_port)
stub_json chatty "$PC" --load-ms 20 --flood-bytes-per-sec 300000 | put_manifest chatty.json
stub_json flip "$PF" --load-ms 20 |
	jq '.restart = {policy: "on-failure", max_restarts: 1000, window_seconds: 1}' | put_manifest flip.json
stub_json crashy "$PK" --load-ms 20 --crash-after-ms 250 |
	jq '.restart = {policy: "always", max_restarts: 1000, window_seconds: 1}' | put_manifest crashy.json
# cheap runtimes that the load restarts over and over: many files change,
# so the daemon's notifier is busy in the mount when the SIGKILL lands
for i in $(seq 1 16); do
	printf '{"id":"s%d","adapter":"process","auto_start":true,"restart":{"max_restarts":1000,"window_seconds":1},"process":{"command":"/bin/sleep","args":["1000"]}}\n' "$i" |
		put_manifest "s$i.json"
done

# every task of PID (a process): "tid:state" lines
tasks_of() {
	local t
	for t in /proc/"$1"/task/*; do
		[ -r "$t/stat" ] && echo "${t##*/}:$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)"
	done
}
# fully dead: no task but a zombie leader (or no /proc entry at all)
fully_dead() {
	local t st
	for t in /proc/"$1"/task/*; do
		[ -d "$t" ] || continue
		st=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)
		case "$st" in ""|Z|X) ;; *) return 1 ;; esac
	done
	return 0
}
# any task of these pids in D state?
d_state() {
	local p t
	for p in "$@"; do
		for t in /proc/"$p"/task/*/stat; do
			[ -r "$t" ] || continue
			[ "$(sed 's/.*) //' "$t" 2>/dev/null | cut -d' ' -f1)" = D ] && echo "$p/$(basename "$(dirname "$t")")"
		done
	done
}

# ---- deterministic: the daemon dies while a worker holds the notifier's
# request (ARW_TEST_HOLD_NOTIFIER: the handler never answers it) ----
notifier_of() {   # the daemon's child that is a copy of itself: the helper
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/$c/comm 2>/dev/null)" = arw-supervisor ] && echo "$c"
	done
}
for sig in KILL SEGV ABRT; do
	export ARW_TEST_HOLD_NOTIFIER=1
	start_daemon || { not_ok "held notifier, SIG$sig: the daemon mounts"; exit 1; }
	unset ARW_TEST_HOLD_NOTIFIER
	wait_for "[ \"\$(rt_state flip)\" = ready ]" 20
	rt_pid chatty >/dev/null; rt_pid flip >/dev/null; rt_pid crashy >/dev/null
	NP=$(notifier_of "$DAEMON_PID")
	rt_ctl flip restart >/dev/null   # a change: the helper truncates a file, the request is held
	if wait_for "[ -n '$NP' ] && [ \"\$(cat /proc/$NP/wchan 2>/dev/null)\" = request_wait_answer ]" 10; then
		ok "held notifier, SIG$sig: the helper ($NP) waits in the kernel for its request"
	else
		not_ok "held notifier, SIG$sig: the helper waits in the kernel for its request" \
			"helper '$NP' in $(cat /proc/$NP/wchan 2>/dev/null)"
	fi
	kill "-$sig" "$DAEMON_PID"
	dpid=$DAEMON_PID
	DAEMON_PID=""
	if wait_for "fully_dead $dpid" 2; then
		ok "held notifier, SIG$sig: the daemon is gone within 2 s"
	else
		not_ok "held notifier, SIG$sig: the daemon is gone within 2 s" "tasks: $(tasks_of "$dpid" | tr '\n' ' ')"
		for c in /sys/fs/fuse/connections/*/abort; do echo 1 >"$c" 2>/dev/null; done
	fi
	if wait_for "pid_gone '$NP'" 5; then ok "held notifier, SIG$sig: its request failed and the helper is gone"; else not_ok "held notifier, SIG$sig: the helper is gone"; fi
	wait "$dpid" 2>/dev/null
done

wedged=0 slow=0 restarts_bad=0
for ((round = 1; round <= ROUNDS; round++)); do
	if ! start_daemon; then
		not_ok "round $round: the daemon mounts again" "$(tail -n 5 "$DLOG" | tr '\n' '|')"
		exit 1   # (the cleanup stops it, if it runs after all)
	fi
	if ! wait_for "[ \"\$(rt_state chatty)\" = ready ] && [ \"\$(rt_state flip)\" = ready ]" 20; then
		restarts_bad=$((restarts_bad + 1))
		note "round $round: runtimes did not come back ready"
	fi
	rt_pid chatty >/dev/null; rt_pid flip >/dev/null; rt_pid crashy >/dev/null
	python3 "$(dirname "$0")/py/load.py" "$MNT" flip "${ARW_KILL9_READERS:-8}" s >/dev/null 2>&1 &
	LOAD=$!
	HELPERS+=("$LOAD")
	# a varied moment: 20..620 ms into the load
	sleep "0.$(printf '%03d' $((20 + RANDOM % 600)))"
	sig=${SIGS[round % ${#SIGS[@]}]}
	kill "-$sig" "$DAEMON_PID"
	dpid=$DAEMON_PID
	DAEMON_PID=""
	bad=""
	if ! wait_for "fully_dead $dpid" 2; then
		bad=1
		note "round $round: pid $dpid not gone 2 s after SIG$sig; tasks: $(tasks_of "$dpid" | tr '\n' ' ')"
	fi
	# A task seen in D state may be passing through (a reader woken by the
	# abort, waiting a moment for a lock another reader holds): what it
	# waits in is shown, and it counts as wedged if it is still there 1 s
	# later (a connection nobody aborted would keep it forever).
	d=$(d_state "$dpid" "$LOAD")
	if [ -n "$d" ]; then
		note "round $round: tasks in D state: $d"
		for x in $d; do
			note "  $x waits in $(cat "/proc/${x%/*}/task/${x#*/}/wchan" 2>/dev/null):" \
				"$(tr '\n' ' ' <"/proc/${x%/*}/task/${x#*/}/stack" 2>/dev/null)"
		done
		sleep 1
		still=$(comm -12 <(printf '%s\n' $d | sort) <(d_state "$dpid" "$LOAD" | sort))
		if [ -n "$still" ]; then
			bad=1
			note "round $round: still in D state 1 s later: $still"
		fi
	fi
	if [ -n "$bad" ]; then
		wedged=$((wedged + 1))
		# a wedged connection would block every later round: free it so
		# that the count goes on (the old daemon's fix-up, by hand)
		for c in /sys/fs/fuse/connections/*/abort; do echo 1 >"$c" 2>/dev/null; done
	fi
	kill -KILL "$LOAD" 2>/dev/null
	wait "$LOAD" 2>/dev/null
	wait "$dpid" 2>/dev/null
done
note "kill rounds: $ROUNDS (SIGKILL, SIGSEGV, SIGABRT in turn), wedged: $wedged, runtimes not back: $restarts_bad"
check_eq "no wedge in $ROUNDS kills (SIGKILL, SIGSEGV, SIGABRT) of a busy daemon" 0 "$wedged"
check_eq "after every kill the next start brought the runtimes back" 0 "$restarts_bad"
start_daemon && ok "a final start mounts again" || not_ok "a final start mounts again"
check_eq "one mount entry, not a stack" 1 "$(mount_count)"
if wait_for "[ \"\$(rt_state chatty)\" = ready ]" 20; then ok "the runtimes are back"; else not_ok "the runtimes are back"; fi
rt_pid chatty >/dev/null; rt_pid flip >/dev/null; rt_pid crashy >/dev/null
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
check "SIGTERM: unmounted" "! mounted"
