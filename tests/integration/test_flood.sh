#!/bin/bash
# A runtime that floods its output: the logs file stays bounded by
# ring_bytes, the log file on disk rotates at file_max_bytes keeping `files`
# files, and the supervisor keeps answering and supervising the others.
. "$(dirname "$0")/lib.sh"

PF=$(free_port) PQ=$(free_port)
stub_json flood "$PF" --load-ms 50 --flood-bytes-per-sec 4000000 |
	jq '.process.logs = {ring_bytes: 8192, file_max_bytes: 100000, files: 2}' | put_manifest flood.json
stub_json quiet "$PQ" --load-ms 50 | put_manifest quiet.json

mount_tree
wait_state flood ready 30
wait_state quiet ready 30
check_eq "flooding runtime is ready" ready "$(rt_state flood)"

LOG="$STATE/logs/flood.log"
if wait_for "[ -f '$LOG.1' ]" 20; then ok "log file rotated"; else not_ok "log file rotated"; fi
size=$(stat -c %s "$MNT/runtimes/flood/logs")
check_eq "logs holds exactly ring_bytes once full" 8192 "$size"
check_eq "logs read gives as many bytes as stat says" 8192 "$(rf "$MNT/runtimes/flood/logs" | wc -c)"
# (during a rotation the current file is briefly absent: that is 0 bytes)
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
check "rotated file at most file_max_bytes" "[ \$(fsize '$LOG.1') -le 100000 ]"
check "current file at most file_max_bytes" "[ \$(fsize '$LOG') -le 100000 ]"
check "only files=2 files are kept" "[ ! -e '$LOG.2' ]"
health=$(rt flood health.json | jq -r .log_file)
check_eq "health.json names the log file" "$LOG" "$health"

# the rest keeps working while the flood goes on
Q=$(rt_pid quiet)
kill -KILL "$Q"
if wait_for "p=\$(rt quiet pid); [ -n \"\$p\" ] && [ \"\$p\" != '$Q' ] && [ \"\$(rt_state quiet)\" = ready ]" 20; then
	ok "another runtime is restarted during the flood"
else
	not_ok "another runtime is restarted during the flood"
fi
rt_pid quiet >/dev/null
check_eq "ctl answers during the flood" ok "$(rt_ctl flood 'kill CONT')"
n=0
for i in $(seq 200); do [ "$(rt_state quiet)" = ready ] && n=$((n + 1)); done
check_eq "200 reads during the flood all answered" 200 "$n"
rt_pid flood >/dev/null
stop_daemon
check_eq "SIGTERM during the flood: exit 0" 0 "$DAEMON_RC"
