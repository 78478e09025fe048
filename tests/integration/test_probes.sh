#!/bin/bash
# Health probes: exec and tcp checks decide readiness; a runtime that stops
# answering goes degraded, then error, and is restarted (counted); a failing
# exec check never makes it ready.
. "$(dirname "$0")/lib.sh"

export ARW_RUNTIME_HEALTH_INTERVAL_MS=200

PE=$(free_port) PT=$(free_port) PH=$(free_port) PF=$(free_port)
# exec probe: curl the stub's own /health
stub_json viaexec "$PE" --load-ms 300 |
	jq --arg u "http://127.0.0.1:$PE/health" '.process.health = {exec: ["curl", "-sf", $u]}' |
	put_manifest viaexec.json
# tcp probe: ready once something listens
stub_json viatcp "$PT" --listen-delay-ms 300 |
	jq --arg t "127.0.0.1:$PT" '.process.health = {tcp: $t}' | put_manifest viatcp.json
# stops answering /health 1.5 s after start: degraded, then error + restart
stub_json hangs "$PH" --load-ms 100 --hang-after-ms 1500 |
	jq '.process.health.timeout_ms = 300 | .process.health.failure_threshold = 2' |
	put_manifest hangs.json
# an exec check that always fails: never ready, and says why
stub_json nope "$PF" |
	jq '.process.health = {exec: ["sh", "-c", "echo not ready yet; exit 1"], startup_timeout_ms: 0}' |
	put_manifest nope.json

mount_tree

wait_state viaexec ready 30
check_eq "exec probe: ready" ready "$(rt_state viaexec)"
check_eq "exec probe: health.json probe type" exec "$(rt viaexec health.json | jq -r .probe.type)"
check_match "exec probe: last result is the command's exit and output" '^exit 0: \{"status":"ok"\}$' \
	"$(rt viaexec health.json | jq -r .probe.last_result)"
check_match "exec probe: target is the whole command" "^curl -sf http://127.0.0.1:$PE/health$" \
	"$(rt viaexec health.json | jq -r .probe.target)"

wait_state viatcp ready 30
check_eq "tcp probe: ready" ready "$(rt_state viatcp)"
check_eq "tcp probe: last result" "TCP connect ok" "$(rt viatcp health.json | jq -r .probe.last_result)"

if wait_for "[ \"\$(rt nope health.json | jq -r .probe.last_result)\" = 'exit 1: not ready yet' ]" 20; then
	ok "failing exec probe: result shows exit code and first output line"
else
	not_ok "failing exec probe: result shows exit code and first output line"
fi
check_eq "failing exec probe: still starting" starting "$(rt_state nope)"
check_eq "failing exec probe: status line 1" "Starting - Waiting for health check (exit 1: not ready yet)" \
	"$(rt nope status | head -n1)"

wait_state hangs ready 30
H1=$(rt_pid hangs)
if wait_for "[ \"\$(rt_state hangs)\" = degraded ]" 20; then ok "hung runtime: degraded"; else not_ok "hung runtime: degraded"; fi
# (read while it lasts: the next failed probe, 200 ms on, moves it to error)
if wait_for "rt hangs status | head -n1 | grep -Eq '^Degraded - Health check failed \(1 of 2\): no answer within 300 ms$'" 20; then
	ok "hung runtime: degraded status counts failures"
else
	not_ok "hung runtime: degraded status counts failures"
fi
if wait_for "p=\$(rt hangs pid); [ -n \"\$p\" ] && [ \"\$p\" != '$H1' ]" 30; then
	ok "hung runtime: restarted after failure_threshold failures"
else
	not_ok "hung runtime: restarted after failure_threshold failures"
fi
rt_pid hangs >/dev/null
check "hung runtime: the old process is gone" "pid_gone '$H1'"
check "hung runtime: the restart was counted" "[ \"\$(budget_val hangs used)\" -ge 1 ]"
check_match "hung runtime: last exit was our stop" 'after the stop signal' \
	"$(rt hangs health.json | jq -r .last_exit.reason)"

# a wait= write on a runtime that never gets ready is interruptible: a
# caught signal (as Ctrl-C in a shell) makes the kernel send FUSE_INTERRUPT,
# and the parked request is answered with EINTR at once, long before wait=60
python3 -c '
import os, signal, sys
class Stop(Exception): pass
def stop(*a): raise Stop()
signal.signal(signal.SIGUSR1, stop)
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, b"start wait=60")
    print("not interrupted")
except Stop:
    print("interrupted")
' "$MNT/runtimes/nope/ctl" >"$T/intr.out" 2>&1 &
WPID=$!
track "$WPID"
wait_for "grep -q '^last: start wait=60' '$MNT/runtimes/nope/ctl' 2>/dev/null" 10
kill -USR1 "$WPID"
if wait_for "pid_gone $WPID" 10; then ok "a blocked wait= write ends on a signal"; else not_ok "a blocked wait= write ends on a signal"; fi
check_eq "the write was interrupted (EINTR), not completed" interrupted "$(cat "$T/intr.out")"
check_eq "the daemon still answers after the interrupt" starting "$(rt_state nope)"

# a parked wait= write does not hold up other writers of the same ctl (the
# kernel locks the inode across a write), nor the notifier's events
python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, b"start wait=62"); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
' "$MNT/runtimes/nope/ctl" >"$T/parked.out" 2>&1 &
PPID2=$!
track "$PPID2"
# (a command text of its own: the one before left "last: start wait=60")
wait_for "grep -q '^last: start wait=62' '$MNT/runtimes/nope/ctl' 2>/dev/null" 10
check_eq "another write to the same ctl goes through meanwhile" ok "$(rt_ctl nope stop)"
if wait_for "pid_gone $PPID2" 20; then ok "the parked start wait= ends when the runtime is stopped"; else not_ok "the parked start wait= ends when the runtime is stopped"; fi
check_eq "... with EIO (it ended offline, not ready)" EIO "$(cat "$T/parked.out")"
check_eq "the stop went through" offline "$(rt_state nope)"

# Exec probes that hang, cannot start, or leave a helper behind.
xjson() {   # ID HEALTH-JSON
	cat <<JSON
{"id":"$1","adapter":"process","auto_start":true,
 "process":{"command":"/bin/sleep","args":["600"],"health":$2}}
JSON
}
xjson xhang '{"exec":["sleep","31.5"],"timeout_ms":300,"interval_ms":400,"startup_timeout_ms":0}' |
	put_manifest xhang.json
xjson xmissing '{"exec":["/nonexistent/arw-probe"],"interval_ms":400,"startup_timeout_ms":0}' |
	put_manifest xmissing.json
xjson xhelper '{"exec":["sh","-c","sleep 32.5 & echo helper left behind; exit 0"],"interval_ms":60000}' |
	put_manifest xhelper.json
if wait_for "[ \"\$(rt xhang status | head -n1)\" = 'Starting - Waiting for health check (no answer within 300 ms)' ]" 20; then
	ok "exec probe that hangs: no answer within its timeout"
else
	not_ok "exec probe that hangs: no answer within its timeout (got: $(rt xhang status | head -n1))"
fi
check "exec probe that hangs: killed, never more than one at a time" \
	"[ \$(pgrep -fc '^sleep 31.5\$') -le 1 ]"
if wait_for "rt xmissing status | head -n1 | grep -q '^Starting - Waiting for health check (exec probe cannot start: '" 20; then
	ok "exec probe that cannot start: says so"
else
	not_ok "exec probe that cannot start: says so (got: $(rt xmissing status | head -n1))"
fi
wait_state xhelper ready 20
check_eq "exec probe with a helper: judged by its exit" "exit 0: helper left behind" \
	"$(rt xhelper health.json | jq -r .probe.last_result)"
check "exec probe with a helper: the helper is gone once the result is in" \
	"! pgrep -f '^sleep 32.5\$' >/dev/null"
for x in xhang xmissing xhelper; do rm -f "$MF/$x.json"; done
if wait_for "[ ! -e '$MNT/runtimes/xhang' ] && [ ! -e '$MNT/runtimes/xmissing' ] && [ ! -e '$MNT/runtimes/xhelper' ]" 20; then
	ok "runtimes with exec probes are removed"
else
	not_ok "runtimes with exec probes are removed"
fi
check "no hanging exec probe is left after its runtime went" "! pgrep -f '^sleep 31.5\$' >/dev/null"

# Each HTTP probe has a connection of its own, closed once answered: a
# server that keeps connections open (llama-server's does, holding one of
# its HTTP worker threads on each while it waits) sees one per probe.
PK=$(free_port)
jq -n --arg py "$(command -v python3)" --arg s "$(cd "$(dirname "$0")" && pwd)/py/keepalive_server.py" \
	--arg p "$PK" '{id: "keepalive", adapter: "process", auto_start: true,
	  process: {command: $py, args: ["-u", $s, $p],
	            health: {url: "http://127.0.0.1:\($p)/health", interval_ms: 200}}}' |
	put_manifest keepalive.json
if wait_for "rt keepalive logs | grep -q 'requests=4\$'" 30; then
	ok "keep-alive server: probed 4 times"
else
	not_ok "keep-alive server: probed 4 times (logs: $(rt keepalive logs | tail -n 2))"
fi
check_eq "keep-alive server: 4 probes came on 4 connections" "connections=4 requests=4" \
	"$(rt keepalive logs | grep 'requests=4$')"
rm -f "$MF/keepalive.json"

# The probes' own processes never linger: no curl or sh -c of ours is left
# once the supervisor is gone.
stop_daemon
check_eq "SIGTERM: supervisor exits 0" 0 "$DAEMON_RC"
check "no exec probe process outlives the supervisor" \
	"! pgrep -f 'not ready yet; exit 1' >/dev/null && ! pgrep -f 'curl -sf http://127.0.0.1:$PE/health' >/dev/null"

