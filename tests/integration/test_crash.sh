#!/bin/bash
# Crashes: kill -9 -> counted automatic restart; a runtime that always
# crashes exhausts its budget and stays down until reset-budget + restore;
# stop kills the whole process group (a spawned child too).
. "$(dirname "$0")/lib.sh"

# Default budget 2 (environment); the "steady" runtime sets 3 in its manifest.
export ARW_RUNTIME_RESTART_MAX=2

PS=$(free_port) PC=$(free_port) PK=$(free_port)
stub_json steady "$PS" --load-ms 200 |
	jq '.restart = {policy: "on-failure", max_restarts: 3, window_seconds: 600}' | put_manifest steady.json
# Crashes 1.1 s after each start (after its first second: no backoff).
stub_json crashy "$PC" --load-ms 100 --crash-after-ms 1100 | put_manifest crashy.json
stub_json kids "$PK" --load-ms 100 --spawn-child | put_manifest kids.json

mount_tree

# --- kill -9 -> automatic restart, counted ---
wait_state steady ready 30
check_eq "steady is ready" ready "$(rt_state steady)"
check_eq "budget before the crash" "3 0 3 no" \
	"$(budget_val steady max_restarts) $(budget_val steady used) $(budget_val steady remaining) $(budget_val steady exhausted)"
P1=$(rt_pid steady)
# past its first second, so that the restart is at once (no backoff)
wait_for "[ \"\$(rt steady health.json | jq -r .uptime_seconds)\" -ge 2 ]" 10
events_start "$T/crash_ev.log"
kill -KILL "$P1"
if wait_for "p=\$(rt steady pid); [ -n \"\$p\" ] && [ \"\$p\" != '$P1' ]" 20; then
	ok "after kill -9: a new pid appears"
else
	not_ok "after kill -9: a new pid appears"
fi
P2=$(rt_pid steady)
check "after kill -9: the new pid is alive and the old one gone" "pid_alive '$P2' && pid_gone '$P1'"
# The death shows before the new process runs: the tree is published (then
# the event sent) with the old pid gone and state starting, and only then
# is the new process spawned, so a watcher of the files sees both.
check "after kill -9: runtime.started is in events" \
	"wait_for \"ev_any '$T/crash_ev.log' '.kind == \\\"runtime.started\\\" and .payload.id == \\\"steady\\\"'\" 10"
check "after kill -9: exited, then published as starting, then the new process started" \
	"jq -s -e 'map(select(.payload.id == \"steady\")) |
		(map(.kind == \"runtime.exited\") | index(true)) as \$e |
		(map(.kind == \"runtime.state.changed\" and .payload.state == \"starting\") | index(true)) as \$s |
		(map(.kind == \"runtime.started\") | index(true)) as \$n |
		\$e != null and \$s != null and \$n != null and \$e < \$s and \$s < \$n' '$T/crash_ev.log' >/dev/null"
wait_state steady ready 30
check_eq "after kill -9: ready again" ready "$(rt_state steady)"
check_eq "after kill -9: budget used=1" 1 "$(budget_val steady used)"
check_eq "after kill -9: budget remaining=2" 2 "$(budget_val steady remaining)"
check_match "after kill -9: budget reset_at is a time" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(budget_val steady reset_at)"
check_eq "after kill -9: last_exit says SIGKILL" "null 9" \
	"$(rt steady health.json | jq -r '"\(.last_exit.code) \(.last_exit.signal)"')"
check_eq "health.json restart_budget agrees with budget" "1 2 false" \
	"$(rt steady health.json | jq -r '"\(.restart_budget.used) \(.restart_budget.remaining) \(.restart_budget.exhausted)"')"

# --- a runtime that always crashes exhausts its budget (max 2) ---
if wait_for "[ \"\$(rt_state crashy)\" = error ]" 40; then ok "crashy ends in state error"; else not_ok "crashy ends in state error"; fi
check_eq "crashy: status line 1" "Error - Restart budget exhausted" "$(rt_status1 crashy)"
check_eq "crashy: budget from ARW_RUNTIME_RESTART_MAX" "2 2 0 yes" \
	"$(budget_val crashy max_restarts) $(budget_val crashy used) $(budget_val crashy remaining) $(budget_val crashy exhausted)"
check_eq "crashy: not running" "" "$(rt crashy pid)"
check_match "crashy: status says how to bring it back" 'echo restore > ctl' "$(rt crashy status)"
check_eq "crashy: last exit code is the stub's 3" 3 "$(rt crashy health.json | jq -r .last_exit.code)"
check_eq "restore with the budget exhausted fails with EAGAIN" EAGAIN "$(rt_ctl crashy restore)"
check_eq "restart with the budget exhausted fails with EAGAIN" EAGAIN "$(rt_ctl crashy restart)"
check_match "ctl read shows the refusal" 'result: error: restart budget exhausted' "$(rt crashy ctl)"
check_eq "after EAGAIN: still error, still down" "error|" "$(rt_state crashy)|$(rt crashy pid)"
check_eq "reset-budget is accepted" ok "$(rt_ctl crashy reset-budget)"
check_eq "after reset-budget: used=0 remaining=2" "0 2" "$(budget_val crashy used) $(budget_val crashy remaining)"
check_eq "restore after reset-budget succeeds" ok "$(rt_ctl crashy restore)"
if wait_for "[ -n \"\$(rt crashy pid)\" ]" 20; then ok "after restore: the runtime starts again"; else not_ok "after restore: the runtime starts again"; fi
rt_pid crashy >/dev/null
# (read from ctl: the budget file moves on with each new crash)
check_match "restore is counted: 1 of 2 used" 'result: ok: (starting|restarting); budget 1 of 2 used' "$(rt crashy ctl)"
check_eq "stop crashy" ok "$(rt_ctl crashy stop)"
wait_state crashy offline
check_eq "crashy stays down after stop" offline "$(rt_state crashy)"

# --- stop kills the whole process group ---
wait_state kids ready 30
PK1=$(rt_pid kids)
wait_for "rt kids logs | grep -q 'spawned child pid'" 10
CHILD=$(spawned_child kids)
track "$CHILD"
check "the spawned child is alive and in the runtime's group" \
	"[ -n '$CHILD' ] && pid_alive '$CHILD' && [ \"\$(proc_field '$CHILD' 5)\" = '$PK1' ]"
check_eq "stop kids" ok "$(rt_ctl kids stop)"
wait_state kids offline
check_eq "kids offline" offline "$(rt_state kids)"
if wait_for "pid_gone '$PK1'" 10; then ok "after stop: the leader is gone"; else not_ok "after stop: the leader is gone"; fi
if wait_for "pid_gone '$CHILD'" 10; then ok "after stop: the spawned child is gone too"; else not_ok "after stop: the spawned child is gone too"; fi

# kill -9 of the leader alone: its left-behind child is killed with the group.
check_eq "start kids" ok "$(rt_ctl kids start)"
wait_state kids ready 30
PK2=$(rt_pid kids)
wait_for "rt kids logs | grep -q 'spawned child pid'" 10
CHILD2=$(spawned_child kids)
track "$CHILD2"
check "a new child was spawned" "[ -n '$CHILD2' ] && [ '$CHILD2' != '$CHILD' ] && pid_alive '$CHILD2'"
kill -KILL "$PK2"
if wait_for "pid_gone '$CHILD2'" 10; then ok "after kill -9 of the leader: its child is gone"; else not_ok "after kill -9 of the leader: its child is gone"; fi
wait_state kids ready 30
check_eq "kids restarted after the leader's crash" ready "$(rt_state kids)"
rt_pid kids >/dev/null
check "steady was never disturbed" "[ \"\$(rt steady pid)\" = '$P2' ]"
