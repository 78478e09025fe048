#!/bin/bash
# Every open is a snapshot: a reader that opened a file before a change
# reads, after it, the rest of the version it opened, never half of one
# version and half of another; a new open sees the new version.  The files
# are rendered once per change (docs/design.md); this holds that to it.
. "$(dirname "$0")/lib.sh"

cat <<JSON | put_manifest s.json
{"id":"s","adapter":"process","auto_start":true,
 "restart":{"policy":"always","max_restarts":1000,"window_seconds":600},
 "process":{"command":"/bin/sleep","args":["600"]}}
JSON
mount_tree
wait_state s ready 20
rt_pid s >/dev/null

R="$MNT/runtimes/s"
ROUNDS=20
timeout -k 2 120 python3 "$REPO/tests/integration/py/snapshot_open.py" "$ROUNDS" "$R/ctl" restart \
	"$R/state" "$R/status" "$R/health.json" "$R/budget" "$R/pid" "$R/ctl" \
	"$MNT/runtime_matrix.json" "$MNT/metrics.prom" >"$T/snap.out" 2>&1
note "$(tr '\n' ';' <"$T/snap.out")"
check_eq "no read mixed two versions" "" "$(grep MIXED "$T/snap.out")"
for f in state status health.json budget pid ctl runtime_matrix.json metrics.prom; do
	check_eq "$f: every round read the version it opened" "$ROUNDS" \
		"$(awk -v f="$f" '$1 == f { sub("same=", "", $2); print $2 }' "$T/snap.out")"
done
# the change was there to be missed: these change with every restart, at
# its stop signal, which `restart` waits for (state and pid are not settled
# when it returns: the new open may find the old pid, or `ready` again)
for f in status health.json budget ctl; do
	check_eq "$f: a new open saw each change" "$ROUNDS" \
		"$(awk -v f="$f" '$1 == f { sub("changed=", "", $3); print $3 }' "$T/snap.out")"
done
# `restart wait=10` returns once the new process runs: its pid shows then
timeout -k 2 120 python3 "$REPO/tests/integration/py/snapshot_open.py" "$ROUNDS" "$R/ctl" "restart wait=10" \
	"$R/pid" >"$T/snap2.out" 2>&1
note "$(tr '\n' ';' <"$T/snap2.out")"
check_eq "pid across restart wait=: every round read the version it opened, and a new open the new pid" \
	"pid same=$ROUNDS changed=$ROUNDS rounds=$ROUNDS" "$(cat "$T/snap2.out")"
