#!/bin/bash
# Descriptor limits: the daemon raises its soft RLIMIT_NOFILE to the hard
# limit (its children keep the one it was given), and when a launch still
# fails for lack of descriptors the runtime's status says so.
. "$(dirname "$0")/lib.sh"

N=40   # runtimes: each holds a pidfd, an output pipe and a log file
for i in $(seq 1 $N); do
	printf '{"id":"f%d","adapter":"process","auto_start":true,"restart":{"policy":"never"},"process":{"command":"/bin/sleep","args":["1000"]}}\n' "$i" |
		put_manifest "f$i.json"
done
running() { local n=0 i; for i in $(seq 1 $N); do [ -n "$(rt "f$i" pid)" ] && n=$((n + 1)); done; echo "$n"; }

# ---- soft 64, hard 4096: raised, everything starts ----
DAEMON_WRAP=(prlimit --nofile=64:4096)
start_daemon || { not_ok "supervisor mounts the tree (nofile 64:4096)"; exit 1; }
ok "supervisor mounts the tree (nofile 64:4096)"
check_match "its soft limit was raised to the hard one" '^Max open files +4096 +4096' \
	"$(grep 'Max open files' "/proc/$DAEMON_PID/limits")"
if wait_for "[ \$(running) -eq $N ]" 30; then ok "all $N runtimes started"; else not_ok "all $N runtimes started" "$(running) running"; fi
P=$(rt_pid f1)
check_match "a runtime gets the limit the daemon was given (64)" '^Max open files +64 +4096' \
	"$(grep 'Max open files' "/proc/$P/limits")"
for i in $(seq 1 $N); do rt_pid "f$i" >/dev/null; done
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"

# ---- soft = hard = 64: some launches fail, and say why ----
DAEMON_WRAP=(prlimit --nofile=64:64)
start_daemon || { not_ok "supervisor mounts the tree (nofile 64:64)"; exit 1; }
ok "supervisor mounts the tree (nofile 64:64)"
wait_for "rt f$N status | grep -q ." 20
failed=$(for i in $(seq 1 $N); do rt_status1 "f$i"; done | grep -c 'out of file descriptors')
for i in $(seq 1 $N); do rt_pid "f$i" >/dev/null; done
note "with 64 descriptors: $(running) of $N started, $failed say they are out of descriptors"
check "some launches failed for lack of descriptors" "[ $failed -gt 0 ]"
check_match "the status names the limit and what to raise" \
	"^Error - Failed to launch: out of file descriptors \\(the supervisor's limit is 64; raise LimitNOFILE or ulimit -n\\)" \
	"$(for i in $(seq 1 $N); do rt_status1 "f$i"; done | grep -m1 'out of file descriptors')"
check "the others run" "[ \$(running) -gt 0 ]"
check_eq "the tree still answers" itest "$(rf "$MNT/node")"
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
check "SIGTERM: unmounted" "! mounted"
