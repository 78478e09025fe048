#!/bin/bash
# libcurl is loaded when the first HTTP or TCP probe starts, not before: a
# daemon whose runtimes have no probe, or exec probes only, does not map it
# (it and what it links cost about 7 MiB, docs/performance.md).  Once an
# HTTP probe is declared it is loaded and the probe works.
. "$(dirname "$0")/lib.sh"

PE=$(free_port) PH=$(free_port)
cat <<JSON | put_manifest plain.json
{"id":"plain","adapter":"process","auto_start":true,"process":{"command":"/bin/sleep","args":["600"]}}
JSON
stub_json viaexec "$PE" --load-ms 100 |
	jq --arg u "http://127.0.0.1:$PE/health" '.process.health = {exec: ["curl", "-sf", $u], interval_ms: 200}' |
	put_manifest viaexec.json

mount_tree
curl_mapped() { grep -c 'libcurl' "/proc/$DAEMON_PID/maps"; }

wait_state viaexec ready 30
check_eq "exec probe: ready" ready "$(rt_state viaexec)"
check_eq "no HTTP or TCP probe yet: libcurl is not mapped" 0 "$(curl_mapped)"

stub_json web "$PH" --load-ms 100 | put_manifest web.json
wait_state web ready 30
check_eq "HTTP probe: ready" ready "$(rt_state web)"
check_eq "HTTP probe: its result" "HTTP 200" "$(rt web health.json | jq -r .probe.last_result)"
check "an HTTP probe loaded libcurl" "[ \"\$(curl_mapped)\" -gt 0 ]"
check_eq "the other runtimes are untouched" "ready ready" "$(rt_state plain) $(rt_state viaexec)"
