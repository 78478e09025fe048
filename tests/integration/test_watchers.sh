#!/bin/bash
# The watchers dashboards use: Node's fs.watch, Python's watchdog with its
# inotify Observer, and watchdog's PollingObserver (stat size and mtime, no
# inotify).  Each must see a runtime's `state` change after `kill -9` of its
# process, and runtimes appear and go.  Skipped, with the reason, for a
# watcher whose runtime is not installed.
. "$(dirname "$0")/lib.sh"

P1=$(free_port) P2=$(free_port)
stub_json r1 "$P1" --load-ms 50 | put_manifest r1.json
mount_tree
wait_state r1 ready 30
PID1=$(rt_pid r1)

# start the watchers: name -> output file
WATCHERS=()
start_watcher() {   # NAME COMMAND...
	local name=$1
	shift
	"$@" >"$T/$name.err" 2>&1 &
	HELPERS+=("$!")
	disown "$!"
	if wait_for "grep -qx ready '$T/$name.out' 2>/dev/null" 20; then
		WATCHERS+=("$name")
	else
		not_ok "$name: the watch is in place" "$(tail -n 3 "$T/$name.err")"
	fi
}
if command -v node >/dev/null; then
	start_watcher node node "$REPO/tests/integration/js/watch_tree.js" "$MNT/runtimes" r1 "$T/node.out"
else
	note "SKIP Node fs.watch: node is not installed (apt-get install nodejs)"
fi
if /usr/bin/python3 -c 'import watchdog' 2>/dev/null; then
	start_watcher watchdog /usr/bin/python3 "$REPO/tests/integration/py/watch_tree.py" inotify "$MNT/runtimes" "$T/watchdog.out"
	start_watcher polling /usr/bin/python3 "$REPO/tests/integration/py/watch_tree.py" polling "$MNT/runtimes" "$T/polling.out"
else
	note "SKIP watchdog: python3-watchdog is not installed"
fi
[ ${#WATCHERS[@]} -gt 0 ] && ok "watchers in place: ${WATCHERS[*]}"

# what each watcher prints for: r1's state changed, r2 appeared, r2 went
pat_state() {
	case $1 in
	node) echo '^r1 change state$' ;;
	*) echo '^modified r1/state$' ;;
	esac
}
pat_dir() {   # WATCHER created|deleted
	case $1 in
	node) echo '^runtimes rename r2$' ;;
	*) echo "^$2 r2\$" ;;
	esac
}

# mark W: remember how far W's output goes; seen W PATTERN: a line after the mark
mark_all() { local w; for w in "${WATCHERS[@]}"; do wc -l <"$T/$w.out" >"$T/$w.mark"; done; }
seen() { tail -n "+$(($(cat "$T/$1.mark") + 1))" "$T/$1.out" | grep -qE "$2"; }
expect_all() {   # WHAT PATTERN-FUNCTION [ARG]
	local what=$1 w
	for w in "${WATCHERS[@]}"; do
		if wait_for "seen $w '$($2 "$w" "${3:-}")'" 20; then
			ok "$w: $what"
		else
			not_ok "$w: $what" "$(tr '\n' '|' <"$T/$w.out")"
		fi
	done
}

# --- kill -9 of the runtime's process: state goes starting, then ready ---
mark_all
kill -KILL "$PID1"
wait_for "[ \"\$(rt_pid r1)\" != '$PID1' ] && [ \"\$(rt_state r1)\" = ready ]" 30
expect_all "sees r1/state change after kill -9 of its process" pat_state

# --- a runtime appears ---
mark_all
stub_json r2 "$P2" --load-ms 50 | put_manifest r2.json
wait_for "[ -d '$MNT/runtimes/r2' ]" 20
expect_all "sees runtime r2 appear" pat_dir created
wait_state r2 ready 30
rt_pid r2 >/dev/null

# --- and go ---
mark_all
rm -f "$MF/r2.json"
wait_for "[ ! -d '$MNT/runtimes/r2' ]" 30
expect_all "sees runtime r2 go" pat_dir deleted
