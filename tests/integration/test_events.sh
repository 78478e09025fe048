#!/bin/bash
# The events stream and blocking ctl writes: JSON lines on restart, blocked
# readers stall nothing, a blocked read is interruptible, poll() and
# O_NONBLOCK, and `wait=` writes that return only once the state is reached.
. "$(dirname "$0")/lib.sh"

PE=$(free_port) PS=$(free_port)
stub_json ev "$PE" --load-ms 100 | put_manifest ev.json
stub_json slow "$PS" --load-ms 1500 | put_manifest slow.json
printf '{"id":"ghost","adapter":"process","auto_start":false,"process":{"command":"%s/no-such-binary"}}\n' "$T" |
	put_manifest ghost.json

mount_tree
wait_state ev ready 30
wait_state slow ready 30
check_eq "both runtimes ready" "ready ready" "$(rt_state ev) $(rt_state slow)"
rt_pid ev >/dev/null; rt_pid slow >/dev/null

# --- a background `cat events` sees a restart as JSON lines ---
events_start "$T/ev1.log"
check_eq "restart ev" ok "$(rt_ctl ev restart)"
if wait_for "ev_any '$T/ev1.log' '.kind == \"runtime.state.changed\" and .payload.id == \"ev\" and .payload.state == \"ready\"'" 30; then
	ok "events: runtime.state.changed to ready after the restart"
else
	not_ok "events: runtime.state.changed to ready after the restart"
fi
rt_pid ev >/dev/null
bad=0 n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s' "$line" | jq -e 'type == "object" and (.time | type) == "string" and (.kind | type) == "string" and (.payload | type) == "object"' >/dev/null 2>&1 ||
		{ bad=$((bad + 1)); note "bad line: $line"; }
done <"$T/ev1.log"
check "events: several lines arrived" "[ $n -ge 4 ]"
check_eq "events: every line is a JSON object with time, kind, payload" 0 "$bad"
check_match "events: time is RFC 3339 UTC with milliseconds" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' "$(head -n 1 "$T/ev1.log" | jq -r .time)"
seq=$(jq -r 'select(.kind == "runtime.state.changed" and .payload.id == "ev") | .payload.state' "$T/ev1.log" | uniq | tr '\n' ' ')
check_eq "events: the restart goes stopping -> starting -> ready" "stopping starting ready " "$seq"
check_eq "events: the state.changed payload has from/state/severity/summary/label" \
	'ready|starting|info|Process healthy|Ready - Process healthy' \
	"$(jq -r 'select(.kind == "runtime.state.changed" and .payload.state == "ready") | [.payload.state, .payload.from, .payload.severity, .payload.summary, .payload.label] | join("|")' "$T/ev1.log" | tail -n 1)"
check "events: runtime.restore.requested was emitted" \
	"ev_any '$T/ev1.log' '.kind == \"runtime.restore.requested\" and .payload.id == \"ev\"'"
check "events: runtime.exited (expected) was emitted" \
	"ev_any '$T/ev1.log' '.kind == \"runtime.exited\" and .payload.id == \"ev\" and .payload.expected == true'"
check "events: nothing about the other runtime" \
	"! ev_any '$T/ev1.log' '.payload.id == \"slow\"'"

# --- O_NONBLOCK read and poll() ---
r=$(timeout -k 2 10 python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 65536); print("data")
except OSError as e:
    print(errno.errorcode[e.errno])' "$MNT/events")
check_eq "events: a non-blocking read with nothing new fails with EAGAIN" EAGAIN "$r"

rm -f "$T/poll.ready"
timeout -k 2 40 python3 -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
open(sys.argv[2], "w").close()
p = select.poll()
p.register(fd, select.POLLIN)
r = p.poll(30000)
if not r:
    print("timeout"); sys.exit(0)
data = os.read(fd, 65536).decode()
print("POLLIN" if r[0][1] & select.POLLIN else "other", "whole-lines" if data.endswith("\n") else "partial")
' "$MNT/events" "$T/poll.ready" >"$T/poll.out" 2>&1 &
POLLER=$!
HELPERS+=("$POLLER")
wait_for "[ -e '$T/poll.ready' ]" 10
check_eq "restart ev again (wakes the poller)" ok "$(rt_ctl ev restart)"
wait_for "pid_gone $POLLER" 35
check_eq "events: poll() wakes with POLLIN and the read returns whole lines" "POLLIN whole-lines" "$(cat "$T/poll.out")"
wait_state ev ready 30
rt_pid ev >/dev/null

# --- blocked readers do not stall other requests ---
READERS=()
for ((i = 0; i < 20; i++)); do
	cat "$MNT/events" >/dev/null 2>&1 &
	READERS+=("$!")
	HELPERS+=("$!")
	disown "$!"
done
opened() {
	local p
	for p in "${READERS[@]}"; do
		[ "$(readlink "/proc/$p/fd/3" 2>/dev/null)" = "$MNT/events" ] || return 1
	done
}
if wait_for opened 20; then ok "20 readers have events open"; else not_ok "20 readers have events open"; fi
# a moment for their reads to reach the daemon and block there
wait_for "[ \"\$(for p in ${READERS[*]}; do proc_field \$p 3; done | sort -u)\" = S ]" 10
check_eq "while 20 readers block: cat state answers" ready "$(rf "$MNT/runtimes/ev/state")"
check_eq "while 20 readers block: cat node answers" itest "$(rf "$MNT/node")"
check "while 20 readers block: ls runtimes answers" "[ \"\$(timeout -k 2 10 ls '$MNT/runtimes' | tr '\n' ' ')\" = 'ev ghost slow ' ]"
check "while 20 readers block: health.json answers" "rt ev health.json | jq -e '.state == \"ready\"' >/dev/null"
check_eq "while 20 readers block: a ctl write answers" ok "$(rt_ctl ev 'kill CONT')"
check_eq "while 20 readers block: restart wait=30 completes" ok "$(rt_ctl ev 'restart wait=30')"
check_eq "while 20 readers block: ready after the restart" ready "$(rt_state ev)"
rt_pid ev >/dev/null
alive=0
for p in "${READERS[@]}"; do pid_alive "$p" && alive=$((alive + 1)); done
check_eq "the 20 readers are still reading (endless stream)" 20 "$alive"
for p in "${READERS[@]}"; do kill -KILL "$p" 2>/dev/null; done
check "the 20 readers end when killed" "wait_for 'for p in ${READERS[*]}; do pid_gone \$p || exit 1; done' 10"
check_eq "after the readers left: cat state still answers" ready "$(rt_state ev)"

# --- a blocked read is interruptible ---
timeout -s KILL 20 timeout -s INT 1 cat "$MNT/events" >/dev/null 2>&1
rc=$?
check_eq "timeout -s INT 1 cat events returns (interrupted, status 124)" 124 "$rc"
check_eq "after the interrupt: the tree still answers" ready "$(rt_state ev)"

# --- wait= writes ---
rc=0
timeout -k 2 40 bash -c 'echo "restart wait=20" > "$1"' _ "$MNT/runtimes/slow/ctl" 2>"$T/err" || rc=$?
check_eq "echo 'restart wait=20' > ctl succeeds" 0 "$rc"
check_eq "right after the wait=20 write returns: state is ready" ready "$(rt_state slow)"
check_match "ctl read shows the restart" 'last: restart wait=20' "$(rt slow ctl)"
rt_pid slow >/dev/null

exec 3<>"$MNT/runtimes/slow/ctl"
echo "stop wait=20" >&3
reply=""
read -r -t 30 reply <&3
exec 3>&-
check_match "stop wait=20: the reply says ok" '^ok stop wait=20' "$reply"
check_eq "right after stop wait=20: offline, no pid" "offline|" "$(rt_state slow)|$(rt slow pid)"

check_eq "start wait=20 succeeds" ok "$(rt_ctl slow 'start wait=20')"
check_eq "right after start wait=20: ready" ready "$(rt_state slow)"
rt_pid slow >/dev/null
# the stub needs 1.5 s to load: one second is not enough (a lower bound, not a speed test)
check_eq "restart wait=1 on a runtime that loads for 1.5 s fails with ETIMEDOUT" ETIMEDOUT "$(rt_ctl slow 'restart wait=1')"
wait_state slow ready 30
rt_pid slow >/dev/null
check_eq "start wait=10 of a runtime that cannot launch fails with EIO" EIO "$(rt_ctl ghost 'start wait=10')"
check_eq "the runtime that cannot launch is in error" error "$(rt_state ghost)"
check_eq "a bad wait value fails with EINVAL" EINVAL "$(rt_ctl slow 'restart wait=soon')"

# --- wait= on the root ctl: stop-all waits for every runtime down, start-all
# for every one ready (EIO when one of them ends in error) ---
check_eq "stop-all wait=30 succeeds" ok "$(ctl_write "$MNT/ctl" 'stop-all wait=30')"
states=$(for d in "$MNT"/runtimes/*/; do cat "$d/state"; done | sort -u | tr '\n' ' ')
check_eq "right after stop-all wait: every runtime offline" "offline " "$states"
check_eq "start-all wait=30 fails with EIO: one runtime cannot launch" EIO "$(ctl_write "$MNT/ctl" 'start-all wait=30')"
check_eq "right after start-all wait: the others are ready" ready "$(rt_state slow)"
rt_pid slow >/dev/null
check_match "root ctl shows the last command" '^last: start-all wait=30$' "$(rf "$MNT/ctl" | head -n1)"
