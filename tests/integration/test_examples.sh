#!/bin/bash
# The examples a user copies: examples/arw-top (a table of every runtime,
# redrawn on inotify events) and examples/arw-follow (state changes from
# `events` through jq), each run briefly against a live tree.
. "$(dirname "$0")/lib.sh"

P1=$(free_port) P2=$(free_port)
stub_json r1 "$P1" --load-ms 50 | put_manifest r1.json
mount_tree
wait_state r1 ready 30
rt_pid r1 >/dev/null

# run_example NAME: in a session of its own (so that cleanup can kill its
# whole group: arw-top's inotifywait too), output to $T/NAME.out
run_example() {
	setsid "$REPO/examples/$1" "$MNT" >"$T/$1.out" 2>&1 &
	local p=$!
	HELPERS+=("$p")
	CLEANUP_HOOKS+=("kill -TERM -- -$p 2>/dev/null")
	eval "${1//-/_}_PID=$p"
}
# the last table arw-top drew
last_table() { awk 'BEGIN { RS = ""; } { t = $0 } END { print t }' "$T/arw-top.out"; }
row() { last_table | awk -v id="$1" '$1 == id { print $2, $3 }'; }

# --- arw-top ---
run_example arw-top
if wait_for "[ \"\$(row r1)\" = 'ready 0/3' ]" 20; then
	ok "arw-top: draws r1 ready, budget 0/3"
else
	not_ok "arw-top: draws r1 ready, budget 0/3" "$(tail -n 8 "$T/arw-top.out" | tr '\n' '|')"
fi
check_match "arw-top: a header and r1's label" 'ID +STATE +BUDGET +UPTIME +LABEL.*r1 +ready +0/3 +[0-9]+s +Ready - Process healthy' \
	"$(last_table | tr '\n' ' ')"

# --- arw-follow, started before the restart ---
run_example arw-follow
wait_for "[ \"\$(readlink /proc/\$(pgrep -s $arw_follow_PID -x jq | head -n 1)/fd/0 2>/dev/null)\" = '$MNT/events' ]" 10

check_eq "restart r1" ok "$(rt_ctl r1 restart)"
if wait_for "[ \"\$(row r1)\" = 'ready 1/3' ]" 20; then
	ok "arw-top: redraws r1 with the restart counted (1/3)"
else
	not_ok "arw-top: redraws r1 with the restart counted (1/3)" "$(tail -n 8 "$T/arw-top.out" | tr '\n' '|')"
fi
rt_pid r1 >/dev/null
if wait_for "grep -qE '^[0-9T:.-]+Z r1 Ready - Process healthy$' '$T/arw-follow.out'" 20; then
	ok "arw-follow: prints r1 back to Ready"
else
	not_ok "arw-follow: prints r1 back to Ready" "$(tr '\n' '|' <"$T/arw-follow.out")"
fi
check "arw-follow: the restart's Stopping line came first" \
	"head -n 1 '$T/arw-follow.out' | grep -qE ' r1 Stopping - Restarting \\(operator request\\)$'"

# --- a runtime that appears is drawn, with no other change ---
stub_json r2 "$P2" --load-ms 50 | put_manifest r2.json
if wait_for "[ \"\$(row r2)\" = 'ready 0/3' ]" 20; then
	ok "arw-top: draws a new runtime r2 once it is ready"
else
	not_ok "arw-top: draws a new runtime r2 once it is ready" "$(tail -n 8 "$T/arw-top.out" | tr '\n' '|')"
fi
rt_pid r2 >/dev/null

# --- they end cleanly ---
kill -TERM -- "-$arw_top_PID"
check "arw-top: ends on SIGTERM with its inotifywait" "wait_for '[ -z \"\$(pgrep -s $arw_top_PID)\" ]' 10"
kill -TERM -- "-$arw_follow_PID"
check "arw-follow: ends on SIGTERM" "wait_for '[ -z \"\$(pgrep -s $arw_follow_PID)\" ]' 10"
mkdir -p "$T/empty"
out=$(timeout -k 2 10 "$REPO/examples/arw-top" "$T/empty" 2>&1)
rc=$?
check_eq "arw-top on a folder that is not a tree fails at once" 1 "$rc"
check_match "arw-top on a folder that is not a tree says so" 'is the tree mounted' "$out"
