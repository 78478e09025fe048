# lib.sh - shared helpers for the integration scripts (sourced, not run).
#
# Each script gets its own temp dir ($T) holding the mount point ($MNT), the
# watched manifest folder ($MF) and the state folder ($STATE).  It starts one
# arw-supervisor in the background and records its pid; it records every
# other pid it learns about (runtime pids read from runtimes/*/pid, spawned
# children, its own background readers).  The EXIT trap stops the daemon
# (SIGTERM, bounded wait, SIGKILL), kills only the recorded pids (after
# checking that the pid still names the same process), lazily unmounts its own
# mount and removes $T.  Nothing is ever killed by name.
#
# Output: one line per case, "ok - NAME" or "not ok - NAME", plus "# ..."
# diagnostics.  The script exits 1 when any case failed.
#
# Waiting: wait_for polls a condition every 50 ms up to a deadline (default
# 20 s).  Tests never assert on speed: deadlines only bound a hang.

set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${ARW_BUILD:-$REPO/build}
SUP=$BUILD/arw-supervisor
STUB=$BUILD/stub-llama

T=$(mktemp -d "${TMPDIR:-/tmp}/arw-it.XXXXXX")
MNT=$T/mnt
MF=$T/manifests
STATE=$T/state
DLOG=$T/daemon.log
mkdir -p "$MF" "$STATE" "$T/stage"

# Deterministic defaults: the caller's environment must not change budgets.
unset ARW_RUNTIME_RESTART_MAX ARW_RUNTIME_RESTART_WINDOW_SEC ARW_RUNTIME_MATRIX_TTL_SEC ARW_NO_CGROUP ARW_TEST_SPAWN
export ARW_NODE_ID=itest
# mount point owner files of this test's daemons: in $T, not /run
export ARW_RUN_DIR=$T/run
export ARW_RUNTIME_HEALTH_INTERVAL_MS=200
export ARW_CHECK_TIMERS=1   # the loop checks its timer heap against every runtime
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

DAEMON_PID=""        # the supervisor this script started (its own child, or a reaper's)
DAEMON_RC=""         # exit status collected by stop_daemon
HELPERS=()           # our own background processes (event readers, reapers)
TRACKED=()           # "pid:starttime" of runtime processes seen during the test
PASSED=0
FAILED=0

# ---- reporting ----

ok() { echo "ok - $1"; PASSED=$((PASSED + 1)); }

not_ok() {
	echo "not ok - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
	FAILED=$((FAILED + 1))
}

note() { echo "# $*"; }

# check NAME CONDITION: CONDITION is eval'd once.
check() {
	if eval "$2"; then ok "$1"; else not_ok "$1" "condition failed: $2"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $(printf '%q' "$2")" "got:      $(printf '%q' "$3")"
	fi
}

# check_match NAME EXTENDED_REGEX ACTUAL
check_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		not_ok "$1" "expected to match: $2" "got: $(printf '%q' "$3")"
	fi
}

# ---- waiting ----

now_ms() { date +%s%3N; }

# check_wait NAME CONDITION [SECONDS]: a case that passes once CONDITION
# holds within the deadline.
check_wait() {
	if wait_for "$2" "${3:-20}"; then ok "$1"; else not_ok "$1"; fi
}

# wait_for CONDITION [SECONDS]: poll every 50 ms; 0 once CONDITION holds,
# 1 (with a message) after the deadline.
wait_for() {
	local cond=$1 secs=${2:-20} deadline
	deadline=$(($(now_ms) + secs * 1000))
	while :; do
		if eval "$cond"; then return 0; fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			note "timed out after ${secs}s waiting for: $cond"
			return 1
		fi
		sleep 0.05
	done
}

# ---- processes ----

# proc_field PID N: field N of /proc/PID/stat (3 = state, 5 = pgrp, 22 = starttime)
proc_field() {
	local pid=$1 n=$2 s
	s=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	shift $((n - 3))
	echo "${1:-}"
}

# pid_gone PID: no such process, or a zombie nobody reaped yet.
pid_gone() {
	local st
	[ -n "${1:-}" ] || return 0
	st=$(proc_field "$1" 3) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

pid_alive() { ! pid_gone "$1"; }

# track PID: remember a process we may have to kill at exit.
track() {
	local p=$1 st
	[[ "$p" =~ ^[0-9]+$ ]] || return 0
	st=$(proc_field "$p" 22) || return 0
	TRACKED+=("$p:$st")
}

# still_running PID...: those of the pids that are neither gone nor zombies.
still_running() {
	local p left=""
	for p in "$@"; do pid_gone "$p" || left="$left $p"; done
	echo "$left"
}

# spawned_child ID: the pid of the last child a `stub-llama --spawn-child`
# runtime logged.
spawned_child() {
	rt "$1" logs | sed -n 's/.*spawned child pid \([0-9]*\).*/\1/p' | tail -n 1
}

# os_errno STATEMENT PATH: run a Python os call with p = PATH; print "ok" or
# the errno name it failed with.
os_errno() {
	timeout -k 2 10 python3 -c '
import errno, os, sys
p = sys.argv[2]
try:
    exec(sys.argv[1]); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1" "$2"
}

# ---- files of the tree ----

# rf FILE: cat with a bound, so a hung daemon fails the test instead of the run.
rf() { timeout -k 2 10 cat -- "$1" 2>/dev/null; }
rt() { rf "$MNT/runtimes/$1/$2"; }
rt_state() { rt "$1" state; }
rt_pid() { local p; p=$(rt "$1" pid); track "$p"; echo "$p"; }
rt_status1() { rt "$1" status | head -n 1; }
budget_val() { rt "$1" budget | sed -n "s/^$2=//p"; }

# ctl_write PATH TEXT: write TEXT (one write) and print "ok" or the errno name.
ctl_write() {
	timeout -k 2 40 python3 -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
except OSError as e:
    print(errno.errorcode[e.errno]); sys.exit(0)
try:
    os.write(fd, sys.argv[2].encode()); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
finally:
    os.close(fd)
' "$1" "$2"
}
rt_ctl() { ctl_write "$MNT/runtimes/$1/ctl" "$2"; }

wait_state() { wait_for "[ \"\$(rt_state $1)\" = $2 ]" "${3:-20}"; }

# ---- events ----

# events_start FILE: a background `cat events` writing FILE (recorded helper).
events_start() {
	local p
	cat "$MNT/events" >"$1" 2>/dev/null &
	p=$!
	HELPERS+=("$p")
	disown "$p"
	# `events` starts at "now": be sure the reader's open went through.
	wait_for "[ \"\$(readlink /proc/$p/fd/3 2>/dev/null)\" = '$MNT/events' ]" 10
}

# ev_any FILE JQ_CONDITION: some line of FILE satisfies the condition.
ev_any() { jq -s -e "any(.[]; $2)" "$1" >/dev/null 2>&1; }
# ev_count FILE JQ_CONDITION: how many lines satisfy it.
ev_count() { jq -s "map(select($2)) | length" "$1" 2>/dev/null; }

# ---- manifests ----

# free_port: a port nothing listens on, never the same twice in this test
# (called as $(free_port), so the ports handed out are kept in a file).
free_port() {
	local p
	while :; do
		p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		grep -qx "$p" "$T/ports" 2>/dev/null && continue
		echo "$p" >>"$T/ports"
		echo "$p"
		return
	done
}

# stub_json ID PORT [STUB ARGS...]: a stub-llama runtime with an HTTP probe.
# fake_gpu_root DIR: a root for --accel-root that describes this machine
# plus one NVIDIA GPU (the driver's /proc entry and /dev/nvidia0).
fake_gpu_root() {
	mkdir -p "$1/proc/driver/nvidia/gpus/0000:01:00.0" "$1/dev"
	cp /proc/cpuinfo /proc/meminfo "$1/proc/"
	printf 'Model: \t\t NVIDIA A100\n' >"$1/proc/driver/nvidia/gpus/0000:01:00.0/information"
	: >"$1/dev/nvidia0"
}

# crash_json ID MAX: a runtime that exits with code 3 at once, restarted
# always, with a budget of MAX restarts: it ends in error, budget exhausted.
crash_json() {
	cat <<EOF
{"id":"$1","adapter":"process","auto_start":true,
 "restart":{"policy":"always","max_restarts":$2,"window_seconds":600},
 "process":{"command":"/bin/sh","args":["-c","exit 3"]}}
EOF
}

stub_json() {
	local id=$1 port=$2 a args=""
	shift 2
	for a in "--port" "$port" "$@"; do args="$args${args:+, }\"$a\""; done
	cat <<EOF
{
  "id": "$id",
  "adapter": "process",
  "name": "$id",
  "auto_start": true,
  "process": {
    "command": "$STUB",
    "args": [$args],
    "health": { "url": "http://127.0.0.1:$port/health" }
  }
}
EOF
}

# put_manifest NAME [MODE] < JSON: written aside, then renamed into $MF
# (one IN_MOVED_TO: the daemon never sees a half-written file).
put_manifest() {
	local name=$1 mode=${2:-644}
	cat >"$T/stage/$name"
	chmod "$mode" "$T/stage/$name"
	mv -f "$T/stage/$name" "$MF/$name"
}

# hold_for_gone FILE KEY VALUE: FILE names a holder that is gone ("pid
# <gone_pid>" and "KEY VALUE") and stays locked for a second by a stand-in
# (as a child of a killed daemon between clone and exec holds it); sets
# $gone_pid and $HOLDER, returns once the lock is held.
hold_for_gone() {
	gone_pid=$(sh -c 'echo $$')
	mkdir -p "$(dirname "$1")"
	printf 'pid %s\n%s %s\n' "$gone_pid" "$2" "$3" >"$1"
	flock -x "$1" sleep 1 &
	HOLDER=$!
	HELPERS+=("$HOLDER")
	wait_for "! flock -n '$1' true" 5
}

# ---- the daemon ----

# owner_file MOUNT: where the daemon that serves MOUNT holds its lock
owner_file() { echo "$ARW_RUN_DIR/$(printf '%s' "$1" | sed 's|%|%25|g; s|/|%2F|g').owner"; }

# cg_base: the cgroup this test's daemon makes for $MNT (cgroup mode), or
# nothing when no cgroup2 is mounted
cg_base() {
	local cg2 own
	cg2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
	[ -n "$cg2" ] || return 0
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ "$own" = / ] && own=""
	echo "$cg2$own/arw-supervisor@$(printf '%s' "$MNT" | sed 's|%|%25|g; s|/|%2F|g')"
}

mounted() { awk -v m="$MNT" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }
# mount_count [PATH]: how many mounts sit at PATH (default $MNT)
mount_count() { awk -v m="${1:-$MNT}" '$2 == m { n++ } END { print n + 0 }' /proc/mounts; }

# Read, not stat: the kernel may answer a stat of a dead mount from its
# cache (`node` keeps its attributes for 1 s), an open it cannot.
daemon_up() { mounted && [ -n "$(rf "$MNT/node")" ] && [ -d "$MNT/runtimes" ]; }

# start_daemon [EXTRA ARGS...]: in the background, as our child.  DAEMON_WRAP
# (an array) is a command that execs it, e.g. (prlimit --nofile=64:64).
DAEMON_WRAP=()
start_daemon() {
	echo "=== start $(date +%T.%N)" >>"$DLOG"
	"${DAEMON_WRAP[@]}" "$SUP" -f -v --mount "$MNT" --manifests "$MF" --state "$STATE" "$@" >>"$DLOG" 2>&1 &
	DAEMON_PID=$!
	DAEMON_RC=""
	wait_for "daemon_up || pid_gone $DAEMON_PID" 20 && daemon_up
}

# mount_tree [EXTRA ARGS...]: start_daemon, reported as the test's first
# case; the test ends here when the tree does not come up.
mount_tree() {
	start_daemon "$@" || { not_ok "supervisor mounts the tree"; exit 1; }
	ok "supervisor mounts the tree"
}

# start_daemon_reaped: the same, but under a subreaper that reaps every
# orphan at once (as systemd or a container init does), so a process that
# loses its parent does not linger as a zombie of pid 1.
start_daemon_reaped() {
	echo "=== start (under a reaper) $(date +%T.%N)" >>"$DLOG"
	rm -f "$T/daemon.pid"
	python3 -c '
import ctypes, os, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % pid)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.05)
' "$T/daemon.pid" "$SUP" -f -v --mount "$MNT" --manifests "$MF" --state "$STATE" >>"$DLOG" 2>&1 &
	HELPERS+=("$!")
	disown "$!"
	wait_for "[ -s '$T/daemon.pid' ]" 10 || return 1
	DAEMON_PID=$(cat "$T/daemon.pid")
	DAEMON_RC=""
	wait_for "daemon_up || pid_gone $DAEMON_PID" 20 && daemon_up
}

# stop_daemon [SECONDS]: SIGTERM, wait for the exit, set DAEMON_RC.
stop_daemon() {
	local secs=${1:-30}
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	if ! wait_for "pid_gone $DAEMON_PID" "$secs"; then
		DAEMON_RC=timeout
		return 1
	fi
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_RC=$?
	DAEMON_PID=""
	return 0
}

# ---- cleanup ----

# CLEANUP_HOOKS: commands a script adds for what lib.sh does not know about
# (run first by cleanup, each eval'd once).
CLEANUP_HOOKS=()
# CLEANUP_LAST: the same, run after the daemon is stopped and its mount
# removed (e.g. unmounting a shared parent the daemon would mount again).
CLEANUP_LAST=()

cleanup() {
	local rc=$? p e pid st h
	trap - EXIT
	for h in "${CLEANUP_HOOKS[@]+"${CLEANUP_HOOKS[@]}"}"; do eval "$h"; done
	for p in "${HELPERS[@]+"${HELPERS[@]}"}"; do
		# readers first (a reaper last would be fine too: it only reaps)
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "$DAEMON_PID" ] && pid_alive "$DAEMON_PID"; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		local i
		for ((i = 0; i < 300; i++)); do
			pid_gone "$DAEMON_PID" && break
			sleep 0.05
		done
		if pid_alive "$DAEMON_PID"; then
			note "cleanup: the supervisor ignored SIGTERM for 15 s; SIGKILL"
			kill -KILL "$DAEMON_PID" 2>/dev/null
		fi
	fi
	for e in "${TRACKED[@]+"${TRACKED[@]}"}"; do
		pid=${e%%:*}
		st=${e#*:}
		[ "$(proc_field "$pid" 22)" = "$st" ] || continue   # gone, or another process now
		pid_gone "$pid" && continue
		note "cleanup: killing leftover process $pid"
		[ "$(proc_field "$pid" 5)" = "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
	# the empty cgroups a killed daemon of ours left (never a busy one)
	local cgb j
	cgb=$(cg_base)
	if [ -n "$cgb" ] && [ -d "$cgb" ]; then
		for ((j = 0; j < 40; j++)); do
			rmdir "$cgb"/runtimes/* "$cgb"/probes/* "$cgb/runtimes" "$cgb/probes" "$cgb" 2>/dev/null
			[ -d "$cgb" ] || break
			sleep 0.05
		done
		[ -d "$cgb" ] && note "cleanup: cgroup $cgb is not empty; leaving it"
	fi
	local n
	for ((n = 0; n < 5; n++)); do   # (a stacked mount needs more than one)
		mounted || break
		fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	done
	for h in "${CLEANUP_LAST[@]+"${CLEANUP_LAST[@]}"}"; do eval "$h"; done
	if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$DLOG" 2>/dev/null; then
		not_ok "the supervisor's log has no sanitizer report"
		grep -E -A 30 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$DLOG" | head -n 60 | sed 's/^/#   /'
	fi
	if grep -q ' warn internal: ' "$DLOG" 2>/dev/null; then
		not_ok "the supervisor's log reports no internal error"
		grep ' warn internal: ' "$DLOG" | head -n 5 | sed 's/^/#   /'
	fi
	if [ "$FAILED" -gt 0 ] && [ -f "$DLOG" ]; then
		echo "# last lines of the supervisor's log ($DLOG), events left out:"
		grep -v ' debug event ' "$DLOG" | tail -n 25 | sed 's/^/#   /'
	fi
	echo "# $(basename "$0"): $PASSED passed, $FAILED failed"
	if mounted; then
		note "cleanup: $MNT is still mounted; leaving $T"
	elif [ -n "${ARW_TEST_KEEP:-}" ]; then
		note "ARW_TEST_KEEP: leaving $T"
	else
		rm -rf --one-file-system "$T"
	fi
	[ "$FAILED" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$SUP" ] && [ -x "$STUB" ] || { echo "not ok - binaries exist in $BUILD (run make)"; FAILED=1; exit 1; }
