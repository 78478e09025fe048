#!/bin/bash
# Life cycle of one runtime: manifest drop -> starting -> ready, stop, start,
# file sizes, health.json keys, ctl errors, read-only tree, ctl replies.
. "$(dirname "$0")/lib.sh"

mount_tree

# Record every event from before the drop on.
events_start "$T/events.log"

PORT=$(free_port)
stub_json llama "$PORT" --load-ms 1500 >"$T/llama.json"
chmod 644 "$T/llama.json"
cp "$T/llama.json" "$MF/llama.json"   # dropped while the daemon runs

if wait_for "[ -d '$MNT/runtimes/llama' ]"; then ok "dropped manifest: runtime directory appears"; else not_ok "dropped manifest: runtime directory appears"; fi
check_match "manifests/llama.json says ok" '^ok llama\.json: 1 runtime' "$(rf "$MNT/manifests/llama.json")"
wait_for "[ \"\$(rt_state llama)\" = ready ]" 30
check_eq "runtime reaches ready" ready "$(rt_state llama)"
# The event log shows the whole way: starting (while the stub answers 503), then ready.
wait_for "grep -q '\"state\":\"ready\"' '$T/events.log'" 5
seq=$(jq -r 'select(.kind == "runtime.state.changed" and .payload.id == "llama") | .payload.state' "$T/events.log" 2>/dev/null | uniq | tr '\n' ' ')
check_eq "events show starting then ready" "starting ready " "$seq"
check "a probe saw 503 Loading model while starting" \
	"ev_any '$T/events.log' '.kind == \"runtime.state.changed\" and .payload.id == \"llama\" and .payload.state == \"starting\" and .payload.summary == \"Loading model\"'"
check_eq "status line 1 when ready" "Ready - Process healthy" "$(rt_status1 llama)"
P1=$(rt_pid llama)
check "pid file holds the live runtime pid" "[[ '$P1' =~ ^[0-9]+$ ]] && pid_alive '$P1'"
check_eq "the runtime is its own process group leader" "$P1" "$(proc_field "$P1" 5)"

# --- exact sizes ---
size_ok() {   # size_ok FILE: stat size == bytes read, in a quiet moment
	local f=$1 i s1 n s2
	for ((i = 0; i < 5; i++)); do
		s1=$(stat -c %s "$f") n=$(rf "$f" | wc -c) s2=$(stat -c %s "$f")
		[ "$s1" = "$n" ] && [ "$n" = "$s2" ] && return 0
		sleep 0.1
	done
	note "$f: stat says $s1 then $s2, read gives $n bytes"
	return 1
}
for f in state status budget pid manifest.json; do
	check "st_size of $f equals the bytes read" "size_ok '$MNT/runtimes/llama/$f'"
done
check_eq "st_size of state is exactly 6 (\"ready\\n\")" 6 "$(stat -c %s "$MNT/runtimes/llama/state")"

# --- health.json ---
H=$(rt llama health.json)
check "health.json parses with jq" "printf '%s' \"\$H\" | jq -e . >/dev/null"
keys='id name adapter state state_label severity severity_label summary label detail aria_hint pid started_at uptime_seconds updated_at accelerator modalities restart_budget last_exit probe manifest'
missing=""
for k in $keys; do printf '%s' "$H" | jq -e "has(\"$k\")" >/dev/null || missing="$missing $k"; done
for k in max_restarts window_seconds used remaining reset_at exhausted; do
	printf '%s' "$H" | jq -e ".restart_budget | has(\"$k\")" >/dev/null || missing="$missing restart_budget.$k"
done
for k in code signal at reason; do
	printf '%s' "$H" | jq -e ".last_exit | has(\"$k\")" >/dev/null || missing="$missing last_exit.$k"
done
for k in type target last_result last_latency_ms consecutive_failures last_ok_at; do
	printf '%s' "$H" | jq -e ".probe | has(\"$k\")" >/dev/null || missing="$missing probe.$k"
done
for k in source loaded_at; do
	printf '%s' "$H" | jq -e ".manifest | has(\"$k\")" >/dev/null || missing="$missing manifest.$k"
done
check_eq "health.json has every key of SPEC section 3" "" "$missing"
check_eq "health.json values" "llama|ready|Ready|info|Info|Ready - Process healthy|$P1|http|llama.json|0|3" \
	"$(printf '%s' "$H" | jq -r '[.id, .state, .state_label, .severity, .severity_label, .label, .pid, .probe.type, .manifest.source, .restart_budget.used, .restart_budget.remaining] | map(tostring) | join("|")')"
check_match "health.json times are RFC 3339 UTC with milliseconds" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' "$(printf '%s' "$H" | jq -r .updated_at)"
check_match "aria_hint is 'Runtime <name> status <label>. <detail; ...>'" \
	'^Runtime llama status Ready - Process healthy\. Process [0-9]+ running since .*; Health check ' \
	"$(printf '%s' "$H" | jq -r .aria_hint)"

# --- stop / start ---
check_eq "stop is accepted" ok "$(rt_ctl llama stop)"
wait_state llama offline
check_eq "after stop: state offline" offline "$(rt_state llama)"
check_eq "after stop: pid file empty" "" "$(rt llama pid)"
check_eq "after stop: pid file size 0" 0 "$(stat -c %s "$MNT/runtimes/llama/pid")"
check "after stop: the state folder keeps no pid file" "[ ! -e '$STATE/run/llama.pid' ]"
if wait_for "pid_gone $P1" 10; then ok "after stop: the process is gone"; else not_ok "after stop: the process is gone"; fi
check_eq "after stop: status line 1" "Offline - Stopped by operator" "$(rt_status1 llama)"

check_eq "kill TERM on a stopped runtime fails with ESRCH" ESRCH "$(rt_ctl llama 'kill TERM')"

check_eq "start is accepted" ok "$(rt_ctl llama start)"
wait_state llama ready 30
check_eq "after start: ready again" ready "$(rt_state llama)"
P2=$(rt_pid llama)
check "after start: a new live pid" "[[ '$P2' =~ ^[0-9]+$ ]] && [ '$P2' != '$P1' ] && pid_alive '$P2'"
check_eq "start is not counted in the budget" 0 "$(budget_val llama used)"

# --- ctl errors ---
check_eq "unknown verb fails with EINVAL" EINVAL "$(rt_ctl llama 'frobnicate now')"
check_match "reading ctl afterwards names the bad verb" 'frobnicate' "$(rt llama ctl)"
check_match "reading ctl afterwards says error" 'result: error' "$(rt llama ctl)"
check_eq "kill with a bad signal fails with EINVAL" EINVAL "$(rt_ctl llama 'kill NOTASIGNAL')"
check_eq "kill with signal 0 fails with EINVAL" EINVAL "$(rt_ctl llama 'kill 0')"
check_eq "a runtime verb on the root ctl fails with EINVAL" EINVAL "$(ctl_write "$MNT/ctl" restart)"
check_eq "bad verbs did not touch the process" "$P2" "$(rt_pid llama)"
check_eq "kill CONT to a running runtime succeeds" ok "$(rt_ctl llama 'kill CONT')"

# --- the tree is read-only except ctl ---
check_eq "opening state for writing (as root) fails with EACCES" EACCES "$(ctl_write "$MNT/runtimes/llama/state" x)"
check_eq "opening health.json for writing fails with EACCES" EACCES "$(ctl_write "$MNT/runtimes/llama/health.json" x)"
check_eq "creating a file in runtimes/ fails with EPERM" EPERM \
	"$(os_errno 'os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))' "$MNT/runtimes/newfile")"
check_eq "mkdir in runtimes/ fails with EPERM" EPERM "$(os_errno 'os.mkdir(p)' "$MNT/runtimes/newdir")"
check_eq "unlinking state fails with EPERM" EPERM "$(os_errno 'os.unlink(p)' "$MNT/runtimes/llama/state")"
check "runtimes/ lists only llama" "[ \"\$(ls '$MNT/runtimes')\" = llama ]"

# --- a read-write descriptor reads its own write's reply ---
exec 3<>"$MNT/runtimes/llama/ctl"
echo restore >&3
reply=""
read -r -t 20 reply <&3
exec 3>&-
check_match "exec 3<>ctl; echo restore >&3; read reply <&3 starts with ok" '^ok' "$reply"
check_eq "restore is counted in the budget" 1 "$(budget_val llama used)"
wait_state llama ready 30
check_eq "after restore: ready" ready "$(rt_state llama)"
check "after restore: the old pid is gone" "wait_for 'pid_gone $P2' 10"
# The loop thread runs 5 nice levels above the daemon (as root); what it
# spawns gets the daemon's own priority back.
base_nice=$(proc_field $$ 19)
check_eq "the loop thread runs 5 nice levels higher" $((base_nice - 5)) "$(proc_field "$DAEMON_PID" 19)"
check_eq "a process it restarted runs at the daemon's own nice" "$base_nice" "$(proc_field "$(rt_pid llama)" 19)"
check_eq "after restore: the state folder's pid file holds the new pid" "$(rt_pid llama)" \
	"$(cut -d' ' -f1 "$STATE/run/llama.pid" 2>/dev/null)"
rt_pid llama >/dev/null
