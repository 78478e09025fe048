#!/bin/bash
# metrics.prom: the Prometheus text format, rendered when read.  Our own
# strict reader (py/promcheck.py) and promtool accept it, the counts follow
# the runtimes' lives, and prometheus-node-exporter's textfile collector
# serves every arw_ series of it.  Broken expositions must fail both checks.
. "$(dirname "$0")/lib.sh"

CHECK=$(dirname "$0")/py/promcheck.py
series() {   # FILE NAME LABEL-FILTER(jq): the value of one series
	python3 "$CHECK" "$1" | jq -r --arg n "$2" "select(.name == \$n and ($3)) | .value"
}

export ARW_RUNTIME_HEALTH_INTERVAL_MS=200
PA=$(free_port)
stub_json ok "$PA" --load-ms 0 | jq '.accelerator = "gpu_cuda"' | put_manifest ok.json
crash_json bad 1 | put_manifest bad.json
fake_gpu_root "$T/gpu"   # ok asks for gpu_cuda
mount_tree --accel-root "$T/gpu"
wait_state ok ready 30
wait_for "[ \"\$(rt_state bad)\" = error ]" 30

check "metrics.prom is listed in the root" "ls '$MNT' | grep -qx metrics.prom"
rf "$MNT/metrics.prom" >"$T/m1.prom"
out=$(python3 "$CHECK" "$T/m1.prom" 2>&1)
check_eq "our reader accepts it" 0 "$?"
[ "$(printf '%s\n' "$out" | grep -c '^line ')" -eq 0 ] || printf '%s\n' "$out" | head -n 5 | sed 's/^/#   /'

check_eq "ok: up" 1 "$(series "$T/m1.prom" arw_runtime_up '.labels.id == "ok"')"
check_eq "ok: its accelerator label is ARW's" "GPU (CUDA)" \
	"$(python3 "$CHECK" "$T/m1.prom" | jq -r 'select(.name == "arw_runtime_up" and .labels.id == "ok") | .labels.accelerator')"
check_eq "bad: down, in state error" "0 1" \
	"$(series "$T/m1.prom" arw_runtime_up '.labels.id == "bad"') $(series "$T/m1.prom" arw_runtime_state '.labels.id == "bad" and .labels.state == "error"')"
check_eq "bad: one counted restart, none left" "1 0" \
	"$(series "$T/m1.prom" arw_runtime_restarts_total '.labels.id == "bad"') $(series "$T/m1.prom" arw_runtime_restart_budget_remaining '.labels.id == "bad"')"
check_eq "bad: two crashes (the start and the restart)" 2 \
	"$(series "$T/m1.prom" arw_runtime_exits_total '.labels.id == "bad" and .labels.reason == "crash"')"
check_eq "node: one ready, one in error" "1 1" \
	"$(series "$T/m1.prom" arw_runtimes '.labels.state == "ready"') $(series "$T/m1.prom" arw_runtimes '.labels.state == "error"')"
check_match "ok: its last health check took a duration" '^[0-9.]+$' \
	"$(series "$T/m1.prom" arw_runtime_health_probe_duration_seconds '.labels.id == "ok"')"

check_eq "stop ok" ok "$(rt_ctl ok 'stop wait=20')"
rf "$MNT/metrics.prom" >"$T/m2.prom"
# (nothing runs now, so nothing in it moves with the clock)
check_eq "stat gives the size a read gives" "$(wc -c <"$T/m2.prom")" "$(stat -c %s "$MNT/metrics.prom")"
check_eq "ok after a stop: down, one exit on request, uptime 0" "0 1 0" \
	"$(series "$T/m2.prom" arw_runtime_up '.labels.id == "ok"') $(series "$T/m2.prom" arw_runtime_exits_total '.labels.id == "ok" and .labels.reason == "operator"') $(series "$T/m2.prom" arw_runtime_uptime_seconds '.labels.id == "ok"')"

# promtool, Prometheus's own checker
if command -v promtool >/dev/null; then
	if promtool check metrics <"$T/m2.prom" >"$T/promtool.out" 2>&1; then
		ok "promtool check metrics accepts it"
	else
		not_ok "promtool check metrics accepts it"
		sed 's/^/#   /' "$T/promtool.out" | head -n 10
	fi
else
	note "promtool is not installed (tests/install-deps.sh test installs it): skipped"
fi

# Broken expositions fail the same checks.
sed 's/^arw_runtimes{state="ready"}/arw_runtimes{state="re"ady"}/' "$T/m2.prom" >"$T/broken1.prom"
check_eq "a label value with a bare quote fails our reader" 1 "$(python3 "$CHECK" "$T/broken1.prom" >/dev/null; echo $?)"
awk '/^# TYPE arw_runtime_up /{next} {print}' "$T/m2.prom" >"$T/broken2.prom"
check_eq "samples without their TYPE fail our reader" 1 "$(python3 "$CHECK" "$T/broken2.prom" >/dev/null; echo $?)"
grep -v '^# TYPE\|^# HELP' "$T/m2.prom" | head -n 3 >"$T/broken3.prom"
cat "$T/m2.prom" >>"$T/broken3.prom"
check_eq "a family split in two fails our reader" 1 "$(python3 "$CHECK" "$T/broken3.prom" >/dev/null; echo $?)"
if command -v promtool >/dev/null; then
	check "promtool refuses the bare quote too" "! promtool check metrics <'$T/broken1.prom' >/dev/null 2>&1"
fi

# node-exporter's textfile collector reads *.prom files of a folder: the mount.
if command -v prometheus-node-exporter >/dev/null; then
	NP=$(free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$NP" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$MNT" >"$T/ne.log" 2>&1 &
	NE=$!
	track "$NE"
	if wait_for "curl -sf 'http://127.0.0.1:$NP/metrics' >'$T/scrape.txt'" 20; then
		ok "node-exporter serves its /metrics"
		missing=$(python3 "$CHECK" "$T/m2.prom" | jq -r .name | sort -u | while read -r f; do
			grep -q "^$f[{ ]" "$T/scrape.txt" || echo "$f"; done)
		check_eq "every arw_ series of metrics.prom is in node-exporter's scrape" "" "$missing"
		check "node-exporter read the file without error" \
			"grep -q 'node_textfile_scrape_error 0' '$T/scrape.txt'"
	else
		not_ok "node-exporter serves its /metrics"
		sed 's/^/#   /' "$T/ne.log" | tail -n 5
	fi
	kill "$NE" 2>/dev/null
	wait "$NE" 2>/dev/null
else
	note "prometheus-node-exporter is not installed (tests/install-deps.sh test installs it): skipped"
fi

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
