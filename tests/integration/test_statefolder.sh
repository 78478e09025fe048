#!/bin/bash
# The state folder: a full disk never loses a choice silently (the ctl write
# fails with ENOSPC and says the command was carried out but not saved, the
# node is degraded until saving works again, a log file that cannot be
# written is reported once); corrupt, truncated or hostile state files are
# set aside with a word, never block start-up; a `lock` that is a folder
# gets its own message.
. "$(dirname "$0")/lib.sh"

P1=$(free_port)
stub_json disk "$P1" --load-ms 50 --flood-bytes-per-sec 4000 |
	jq '.process.logs = {file_max_bytes: 65536, files: 2}' | put_manifest disk.json

node_status() { rf "$MNT/runtime_matrix.json" | jq -r '.items.itest.status | "\(.code)|\(.detail | join(";"))"'; }

# ---------- a full disk ----------
mount -t tmpfs -o size=512k tmpfs "$STATE" || { not_ok "a small tmpfs for the state folder"; exit 1; }
CLEANUP_HOOKS+=('umount -l "$STATE" 2>/dev/null')
start_daemon || { not_ok "supervisor mounts the tree"; exit 1; }
ok "supervisor mounts the tree (state folder on a 512 KiB tmpfs)"
wait_state disk ready 30
rt_pid disk >/dev/null
wait_for "[ -s '$STATE/logs/disk.log' ]" 10
dd if=/dev/zero of="$STATE/fill" bs=4k 2>/dev/null
check_match "the disk is full" 'No space left' "$(echo x 2>&1 >"$STATE/probe")"

check_eq "stop on a full disk: the write fails with ENOSPC" ENOSPC "$(rt_ctl disk stop)"
check_match "ctl says it was carried out but not saved" \
	'result: error: carried out \(stopping; stays down\), but not saved: No space left on device' "$(rt disk ctl)"
wait_state disk offline 20
check_eq "the stop was carried out" offline "$(rt_state disk)"
check_match "the node is degraded and says why" \
	'^degraded\|.*State folder .* cannot be written \(No space left on device\)' "$(node_status)"
check_match "the runtime's status says what is not saved" \
	'Not saved in the state folder \(No space left on device\): its desired state and restart budget are lost' \
	"$(rt disk status)"
check_eq "start on a full disk: ENOSPC too" ENOSPC "$(rt_ctl disk start)"
wait_state disk ready 30
rt_pid disk >/dev/null
check_eq "the start was carried out" ready "$(rt_state disk)"
check_eq "root stop-all on a full disk: ENOSPC" ENOSPC "$(ctl_write "$MNT/ctl" stop-all)"
check_match "the root ctl says so" 'result: error: carried out \(stopping every runtime; they stay down\), but not saved' \
	"$(rf "$MNT/ctl")"
wait_state disk offline 20
check_eq "start again (still full)" ENOSPC "$(rt_ctl disk start)"
wait_state disk ready 30
rt_pid disk >/dev/null
if wait_for "rt disk status | grep -q 'Log file .* cannot be written (No space left on device)'" 10; then
	ok "the log file that cannot be written is in the runtime's detail"
else
	not_ok "the log file that cannot be written is in the runtime's detail" "$(rt disk status | tr '\n' '|')"
fi
check_eq "and in the daemon's log once, not per write" 1 "$(grep -c 'runtime\[disk\]: cannot write .*disk.log' "$DLOG")"
check_eq "the logs file still shows the output" yes "$(rt disk logs | grep -q . && echo yes)"

rm -f "$STATE/fill" "$STATE/probe"
if wait_for "[ \"\$(node_status | cut -d'|' -f1)\" = ok ]" 15; then
	ok "space again: the node is no longer degraded (retried without an operator)"
else
	not_ok "space again: the node is no longer degraded" "$(node_status)"
fi
check "space again: the log says saving works again" "grep -q 'runtime\[disk\]: saving to .* works again' '$DLOG'"
if wait_for "! rt disk status | grep -q 'cannot be written'" 10; then ok "space again: the log file is written again"; else not_ok "space again: the log file is written again"; fi
check_eq "stop now succeeds" ok "$(rt_ctl disk 'stop wait=20')"
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
start_daemon || { not_ok "restart on the same state folder"; exit 1; }
wait_for "[ -n \"\$(rt_state disk)\" ]" 10
check_eq "after a restart the saved stop holds" "offline" "$(rt_state disk)"
stop_daemon 30
umount "$STATE" && CLEANUP_HOOKS=()

# ---------- corrupt and hostile state files ----------
rm -rf "$STATE"; mkdir -p "$STATE/runtimes" "$STATE/run"
for id in trunc junk zero fifo; do
	printf '{"id":"%s","adapter":"process","auto_start":true,"process":{"command":"/bin/sleep","args":["1000"]}}\n' "$id" |
		put_manifest "$id.json"
done
printf 'desired=down\nrestart=17' >"$STATE/runtimes/trunc.state"        # truncated mid-line
printf '\x00\x01garbage\xff\n' >"$STATE/runtimes/junk.state"
ln -s /dev/zero "$STATE/runtimes/zero.state"
mkfifo "$STATE/runtimes/fifo.state"
ln -s /dev/zero "$STATE/run/zero.pid"
mkfifo "$STATE/run/fifo.pid"
start_daemon
if wait_for "daemon_up" 20; then ok "start-up is not blocked by a FIFO or a link to /dev/zero"; else not_ok "start-up is not blocked by a FIFO or a link to /dev/zero"; exit 1; fi
for id in trunc junk zero fifo; do
	wait_for "[ -n \"\$(rt $id pid)\" ]" 20
	rt_pid "$id" >/dev/null
	check_eq "$id: runs with a fresh state" ready "$(rt_state $id)"
	check "$id: its detail says the state file was set aside" \
		"rt $id status | grep -q 'State file was unreadable: $id.state: .*; set aside as $id.state.corrupt'"
	check "$id: the bad file is kept as $id.state.corrupt" "[ -e '$STATE/runtimes/$id.state.corrupt' ] || [ -L '$STATE/runtimes/$id.state.corrupt' ]"
done
check "the log names the truncated file" "grep -q 'trunc.state: it cannot be parsed; set aside' '$DLOG'"
check "the log names the symlink" "grep -q 'zero.state: it is a symlink; set aside' '$DLOG'"
check "the bad pid files were set aside" "[ -L '$STATE/run/zero.pid.corrupt' ] && [ -p '$STATE/run/fifo.pid.corrupt' ]"
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"

# ---------- a lock that is a folder ----------
rm -f "$STATE/lock"; mkdir "$STATE/lock"
out=$(timeout 20 "$SUP" -f --mount "$MNT" --manifests "$MF" --state "$STATE" 2>&1)
rc=$?
check_eq "a lock folder: exit 2" 2 "$rc"
check_match "a lock folder: its own message" "$STATE/lock is a directory, not a lock file; remove it" "$out"

# ---------- a lock still held for a moment after its holder is gone ----------
# (a child of a killed daemon between clone and exec holds the descriptor)
rmdir "$STATE/lock"
hold_for_gone "$STATE/lock" mount "$MNT"
start_daemon
check "a lock held by what a gone holder left: the daemon waits and mounts" "daemon_up"
check "the log says it waited for the gone holder" \
	"grep -q 'its holder, pid $gone_pid, is gone; waiting for what it forked to let go' '$DLOG'"
wait "$HOLDER" 2>/dev/null
stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
