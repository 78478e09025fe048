#!/bin/bash
# Placing runtimes by the inventory (--accel-root, a fake machine): a
# runtime whose accelerator is missing runs its fallback and says so
# (degraded), or, without one, is not started (error, and what to do); when
# the accelerator appears, a runtime that waited for it starts, one whose
# manifest prefers it moves back with a counted restart, and the others say
# that a restart would.  --check reports the same.
. "$(dirname "$0")/lib.sh"

R=$T/fake
mkdir -p "$R/proc" "$R/dev"
cp /proc/cpuinfo /proc/meminfo "$R/proc/"
export ARW_RUNTIME_HEALTH_INTERVAL_MS=200
PA=$(free_port) PC=$(free_port) PD=$(free_port)
fallback() {   # PORT: a fallback with the same port, marked in its environment
	printf '{"accelerator":"cpu","args":["--port","%s","--load-ms","0"],"env":{"ARW_TEST_FALLBACK":"1"}}' "$1"
}
stub_json a "$PA" --load-ms 0 | jq --argjson f "$(fallback "$PA")" '.accelerator = "gpu_cuda" | .fallback = $f' |
	put_manifest a.json
cat <<'JSON' | put_manifest b.json
{"id":"b","adapter":"process","auto_start":true,"accelerator":"gpu_cuda",
 "process":{"command":"/bin/sleep","args":["600"]}}
JSON
stub_json c "$PC" --load-ms 0 |
	jq --argjson f "$(fallback "$PC")" '.accelerator = "gpu_cuda" | .fallback = $f | .prefer = "restart"' |
	put_manifest c.json
stub_json d "$PD" --load-ms 0 | jq '.accelerator = "cpu"' | put_manifest d.json

out=$("$SUP" --check --manifests "$MF" --accel-root "$R" 2>&1)
check_match "--check: a would run on its fallback" '^note a.json: a would run on its fallback \(cpu\): no GPU \(CUDA\) on this node$' \
	"$(printf '%s\n' "$out" | grep '^note a.json')"
check_match "--check: b would not start" '^note b.json: b would not start: no GPU \(CUDA\) on this node, and no fallback that fits$' \
	"$(printf '%s\n' "$out" | grep '^note b.json')"
check_eq "--check: nothing to say of d" "" "$(printf '%s\n' "$out" | grep '^note d.json')"

mount_tree --accel-root "$R"
wait_for "[ \"\$(rt_state a)\" = degraded ]" 30
check_eq "a: on its fallback" "Degraded - CPU fallback" "$(rt a status | head -n 1)"
check "a: the detail names what is missing" \
	"rt a status | grep -qx 'GPU (CUDA) not available: running on its fallback (CPU)'"
check "the node's detail gives a's fallback as a reason" \
	"rf '$MNT/runtime_matrix.json' | jq -e '.items.itest.status.detail | index(\"a: Degraded - CPU fallback\")' >/dev/null"
check "a: launched with the fallback's environment" \
	"tr '\\0' '\\n' </proc/$(rt_pid a)/environ | grep -qx ARW_TEST_FALLBACK=1"
check_eq "a: restart wait= counts a fallback that serves as up" ok "$(rt_ctl a 'restart wait=20')"
wait_for "[ \"\$(rt_state b)\" = error ]" 10
check_eq "b: not started" "Error - GPU (CUDA) not available" "$(rt b status | head -n 1)"
check_eq "b: no process" "" "$(rt b pid)"
check_match "b: the hint says what to do" 'add a "fallback" to the manifest, or install the device' \
	"$(rt b health.json | jq -r .aria_hint)"
wait_state d ready 30
check "d: its accelerator in the detail" "rt d status | grep -qx 'Accelerator: CPU'"
check_eq "the node is in error (b cannot run)" error \
	"$(rf "$MNT/runtime_matrix.json" | jq -r .items.itest.status.code)"
RC0=$(rt c health.json | jq .restart_budget.used)
CPID=$(rt_pid c)

# The GPU appears: the driver's entry, then its device node (inotify on dev/).
mkdir -p "$R/proc/driver/nvidia/gpus/0000:01:00.0"
printf 'Model: \t\t NVIDIA A100\n' >"$R/proc/driver/nvidia/gpus/0000:01:00.0/information"
: >"$R/dev/nvidia0"
if wait_for "[ \"\$(rt_state b)\" = ready ]" 20; then
	ok "b: started once its accelerator appeared"
else
	not_ok "b: started once its accelerator appeared (got: $(rt b status | head -n 1))"
fi
check "b: its accelerator in the detail" "rt b status | grep -qx 'Accelerator: GPU (CUDA)'"
if wait_for "[ \"\$(rt_state c)\" = ready ] && [ \"\$(rt_pid c)\" != '$CPID' ]" 20; then
	ok "c: moved back to the GPU (prefer restart)"
else
	not_ok "c: moved back to the GPU (prefer restart) (got: $(rt c status | head -n 1))"
fi
check_eq "c: that was a counted restart" "$((RC0 + 1))" "$(rt c health.json | jq .restart_budget.used)"
check "c: without the fallback's environment now" \
	"! tr '\\0' '\\n' </proc/$(rt_pid c)/environ | grep -qx ARW_TEST_FALLBACK=1"
check_eq "a: stays on its fallback" degraded "$(rt_state a)"
check "a: says a restart would use the GPU" "rt a status | grep -qx 'fallback active; restart to use GPU (CUDA)'"
check_eq "a: restart" ok "$(rt_ctl a 'restart wait=20')"
check_eq "a: on the GPU after the restart" "Ready - Process healthy" "$(rt a status | head -n 1)"
check_eq "the node is ok now" ok "$(rf "$MNT/runtime_matrix.json" | jq -r .items.itest.status.code)"

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
