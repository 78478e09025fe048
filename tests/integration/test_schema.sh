#!/bin/bash
# The JSON files of the tree match the schemas in docs/schemas/, checked by a
# real validator (Debian's python3-jsonschema, draft 2020-12): health.json of
# runtimes in every kind of state, and runtime_matrix.json as ARW publishes
# it (accelerator labels, empty keys left out, the restart-pressure
# sentence).  Documents that break the schemas must fail the same check.
. "$(dirname "$0")/lib.sh"

SCHEMAS=$REPO/docs/schemas
VALIDATE=$(dirname "$0")/py/validate.py
PY=""
for p in /usr/bin/python3 python3; do
	"$p" -c 'import jsonschema' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { not_ok "python3-jsonschema is installed (tests/install-deps.sh)"; exit 1; }
validate() { "$PY" "$VALIDATE" "$@"; }

check_eq "the schemas are valid draft 2020-12 schemas" "" \
	"$(for s in "$SCHEMAS"/*.schema.json; do echo '{}' | validate "$s" - | grep '^bad schema'; done)"

export ARW_RUNTIME_HEALTH_INTERVAL_MS=200
PA=$(free_port)
stub_json ok "$PA" --load-ms 0 | jq '.accelerator = "gpu_cuda"' | put_manifest ok.json
crash_json bad 1 | put_manifest bad.json
cat <<'JSON' | put_manifest idle.json
{"id":"idle","adapter":"process","auto_start":false,"accelerator":"cpu",
 "process":{"command":"/bin/sleep","args":["600"],"health":{"tcp":"127.0.0.1:1"}}}
JSON
cat <<'JSON' | put_manifest xcheck.json
{"id":"xcheck","adapter":"process","auto_start":true,"modalities":["text","audio"],
 "process":{"command":"/bin/sleep","args":["600"],"health":{"exec":["true"]}}}
JSON

fake_gpu_root "$T/gpu"   # ok asks for gpu_cuda
mount_tree --accel-root "$T/gpu"
wait_state ok ready 30
wait_state xcheck ready 30
wait_for "[ \"\$(rt_state bad)\" = error ]" 30
check_eq "runtimes in four states" "ready error offline ready" \
	"$(rt_state ok) $(rt_state bad) $(rt_state idle) $(rt_state xcheck)"

for id in ok bad idle xcheck; do
	rf "$MNT/runtimes/$id/health.json" >"$T/$id.health.json"
	check_match "$id: health.json matches docs/schemas/health.schema.json" '^valid ' \
		"$(validate "$SCHEMAS/health.schema.json" "$T/$id.health.json")"
done
rf "$MNT/runtime_matrix.json" >"$T/matrix.json"
check_match "runtime_matrix.json matches docs/schemas/runtime_matrix.schema.json" '^valid ' \
	"$(validate "$SCHEMAS/runtime_matrix.schema.json" "$T/matrix.json")"

M='.items.itest.runtime'
check_eq "by_accelerator is keyed by ARW's labels" '["CPU","GPU (CUDA)","Unspecified"]' \
	"$(jq -c "$M.by_accelerator | keys" "$T/matrix.json")"
check_eq "GPU (CUDA): one runtime, ready" '{"total":1,"states":{"ready":1}}' \
	"$(jq -c "$M.by_accelerator[\"GPU (CUDA)\"]" "$T/matrix.json")"
check_eq "states leaves out the states no runtime is in" '{"ready":2,"error":1,"offline":1}' \
	"$(jq -c "$M.states" "$T/matrix.json")"
check_match "restart_pressure: ARW's sentence" \
	'^bad restart budget exhausted \(0 of 1 remaining; window 600s; resets at 20[0-9-]+T[0-9:.]+Z\)$' \
	"$(jq -r "$M.restart_pressure[0].message" "$T/matrix.json")"
check_eq "the node is in error (bad wants to run and cannot)" error \
	"$(jq -r '.items.itest.status.code' "$T/matrix.json")"

# The check can fail: documents that break the schemas are refused.
jq "$M.by_accelerator = {gpu_cuda: {total: 1}}" "$T/matrix.json" >"$T/raw-keys.json"
check_match "a matrix keyed by raw accelerator names is refused" '^invalid .*by_accelerator' \
	"$(validate "$SCHEMAS/runtime_matrix.schema.json" "$T/raw-keys.json")"
jq "$M.states.starting = 0" "$T/matrix.json" >"$T/zero.json"
check_match "a matrix with an empty count is refused" '^invalid .*states' \
	"$(validate "$SCHEMAS/runtime_matrix.schema.json" "$T/zero.json")"
jq '.state = "sleeping"' "$T/ok.health.json" >"$T/bad-state.json"
check_match "a health.json with an unknown state is refused" '^invalid .*/state' \
	"$(validate "$SCHEMAS/health.schema.json" "$T/bad-state.json")"
jq 'del(.restart_budget.reset_at)' "$T/ok.health.json" >"$T/no-reset.json"
check_match "a health.json without restart_budget.reset_at is refused" '^invalid .*restart_budget' \
	"$(validate "$SCHEMAS/health.schema.json" "$T/no-reset.json")"

# Stopping the runtime in error by hand: the node recovers at once.
check_eq "stop bad" ok "$(rt_ctl bad 'stop wait=10')"
wait_for "[ \"\$(rf '$MNT/runtime_matrix.json' | jq -r .items.itest.status.code)\" = ok ]" 10
check_eq "the operator's stop clears the node's error at once" ok \
	"$(rf "$MNT/runtime_matrix.json" | jq -r .items.itest.status.code)"
rf "$MNT/runtime_matrix.json" >"$T/matrix2.json"
check_match "and the matrix still matches its schema" '^valid ' \
	"$(validate "$SCHEMAS/runtime_matrix.schema.json" "$T/matrix2.json")"

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
