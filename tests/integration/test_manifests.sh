#!/bin/bash
# The watched manifest folder: change, rename-only change, atomic saves,
# removal, corrupt files, --check, unsafe permissions, missing commands.
. "$(dirname "$0")/lib.sh"

PA=$(free_port) PB=$(free_port)
stub_json alpha "$PA" --load-ms 100 | put_manifest alpha.json
stub_json beta "$PB" --load-ms 100 | put_manifest beta.json

mount_tree
events_start "$T/events.log"

wait_state alpha ready 30
wait_state beta ready 30
check_eq "two files, two runtimes ready" "ready ready" "$(rt_state alpha) $(rt_state beta)"
A1=$(rt_pid alpha) B1=$(rt_pid beta)

# wait for the daemon to have handled every change made so far: drop a
# marker file and wait until its manifest.loaded event (inotify is in order).
MARK=0
sync_marker() {
	MARK=$((MARK + 1))
	printf '{"id":"marker%d","adapter":"process","process":{"command":"%s"}}\n' "$MARK" "$STUB" |
		put_manifest "marker$MARK.json"
	wait_for "ev_any '$T/events.log' '.kind == \"manifest.loaded\" and .payload.file == \"marker$MARK.json\"'" 20
}
loaded_count() { ev_count "$T/events.log" ".kind == \"manifest.loaded\" and .payload.file == \"$1\""; }
started_count() { ev_count "$T/events.log" ".kind == \"runtime.started\" and .payload.id == \"$1\""; }

# --- a launch field changes: only that runtime restarts ---
stub_json alpha "$PA" --load-ms 100 --alias v2 | put_manifest alpha.json
if wait_for "p=\$(rt alpha pid); [ -n \"\$p\" ] && [ \"\$p\" != '$A1' ]" 20; then
	ok "args changed: alpha restarts with a new pid"
else
	not_ok "args changed: alpha restarts with a new pid"
fi
A2=$(rt_pid alpha)
wait_state alpha ready 30
check_eq "args changed: alpha ready again" ready "$(rt_state alpha)"
check_eq "args changed: the effective manifest has the new args" '--port,'"$PA"',--load-ms,100,--alias,v2' \
	"$(rt alpha manifest.json | jq -r '.process.args | join(",")')"
check_eq "args changed: beta keeps its pid" "$B1" "$(rt beta pid)"
check "args changed: the old alpha process is gone" "wait_for 'pid_gone $A1' 10"
check_eq "a manifest change is not a counted restart" 0 "$(budget_val alpha used)"

# --- only "name" changes: no restart ---
stub_json alpha "$PA" --load-ms 100 --alias v2 | jq '.name = "Alpha renamed"' | put_manifest alpha.json
if wait_for "[ \"\$(rt alpha health.json | jq -r .name)\" = 'Alpha renamed' ]" 20; then
	ok "name changed: health.json shows the new name"
else
	not_ok "name changed: health.json shows the new name"
fi
sync_marker
check_eq "name changed: alpha keeps its pid" "$A2" "$(rt alpha pid)"
check_eq "name changed: alpha still ready" ready "$(rt_state alpha)"

# --- an atomic save (tmp file in the folder, then rename) is one change ---
n0=$(loaded_count alpha.json) s0=$(started_count alpha)
stub_json alpha "$PA" --load-ms 100 --alias v3 | jq '.name = "Alpha renamed"' >"$MF/.alpha.json.tmp"
chmod 644 "$MF/.alpha.json.tmp"
mv -f "$MF/.alpha.json.tmp" "$MF/alpha.json"
sync_marker
wait_state alpha ready 30
check_eq "rename of .alpha.json.tmp over alpha.json: loaded once" 1 "$(($(loaded_count alpha.json) - n0))"
check_eq "rename of .alpha.json.tmp over alpha.json: one restart" 1 "$(($(started_count alpha) - s0))"
A3=$(rt_pid alpha)
check "the new alpha differs from the old" "[ -n '$A3' ] && [ '$A3' != '$A2' ]"

n0=$(loaded_count alpha.json) s0=$(started_count alpha)
stub_json alpha "$PA" --load-ms 100 --alias v3 | jq '.name = "Alpha again"' >"$MF/alpha.json.tmp"
chmod 644 "$MF/alpha.json.tmp"
mv -f "$MF/alpha.json.tmp" "$MF/alpha.json"
sync_marker
check_eq "rename of alpha.json.tmp over alpha.json: loaded once" 1 "$(($(loaded_count alpha.json) - n0))"
check_eq "rename of alpha.json.tmp (name only): no restart" "0 $A3" "$(($(started_count alpha) - s0)) $(rt alpha pid)"
check_eq "temporary files never appear in manifests/" "" \
	"$(ls -a "$MNT/manifests" | grep -E '\.tmp$|^\.alpha' || true)"
check_eq "temporary files are never rejected" 0 \
	"$(ev_count "$T/events.log" '.kind == "manifest.rejected" and (.payload.file | test("tmp"))')"

# --- a removed file stops and removes its runtime ---
rm -f "$MF/beta.json"
if wait_for "[ ! -e '$MNT/runtimes/beta' ]" 20; then ok "beta.json removed: runtimes/beta disappears"; else not_ok "beta.json removed: runtimes/beta disappears"; fi
if wait_for "pid_gone $B1" 10; then ok "beta.json removed: beta's process is gone"; else not_ok "beta.json removed: beta's process is gone"; fi
check "beta.json removed: manifests/beta.json disappears" "wait_for '[ ! -e \"$MNT/manifests/beta.json\" ]' 10"
check "beta.json removed: runtime.removed event" \
	"ev_any '$T/events.log' '.kind == \"runtime.removed\" and .payload.id == \"beta\"'"
check_eq "beta.json removed: alpha untouched" "$A3 ready" "$(rt alpha pid) $(rt_state alpha)"

# --- a command that does not exist ---
printf '{"id":"ghost","adapter":"process","auto_start":true,"process":{"command":"%s/no-such-llama-server"}}\n' "$T" |
	put_manifest ghost.json
wait_for "[ \"\$(rt_state ghost)\" = error ]" 20
check_eq "missing command: state error" error "$(rt_state ghost)"
check_match "missing command: summary says failed to launch" '^Error - Failed to launch: .*no-such-llama-server.*command not found' "$(rt_status1 ghost)"
check_eq "missing command: no pid" "" "$(rt ghost pid)"
check_eq "missing command: health.json severity error" error "$(rt ghost health.json | jq -r .severity)"
check_eq "missing command: alpha unaffected" "$A3 ready" "$(rt alpha pid) $(rt_state alpha)"
check_match "missing command: the launch is retried, counted" '; retrying in [0-9]+ ms$' "$(rt_status1 ghost)"
check "missing command: the retry is counted" "[ \"\$(budget_val ghost used)\" -ge 1 ]"
# the binary shows up (an upgrade finishing): a retry picks it up
printf '#!/bin/sh\nexec sleep 120\n' >"$T/no-such-llama-server.tmp"
chmod 755 "$T/no-such-llama-server.tmp"
mv "$T/no-such-llama-server.tmp" "$T/no-such-llama-server"
if wait_for "[ \"\$(rt_state ghost)\" = ready ]" 20; then
	ok "missing command: once it exists, a retry starts it"
else
	not_ok "missing command: once it exists, a retry starts it"
fi
rt_pid ghost >/dev/null

# restart.policy never: a failed launch stays down; fixing the command in the
# manifest is the operator acting, and it starts (not counted)
printf '{"id":"ghost2","adapter":"process","auto_start":true,"restart":{"policy":"never"},"process":{"command":"%s/no-such-whisper"}}\n' "$T" |
	put_manifest ghost2.json
wait_for "[ \"\$(rt_state ghost2)\" = error ]" 20
check_match "policy never: failed launch is not retried" '^Error - Failed to launch: .*no-such-whisper.*command not found$' "$(rt_status1 ghost2)"
printf '{"id":"ghost2","adapter":"process","auto_start":true,"restart":{"policy":"never"},"process":{"command":"%s/no-such-llama-server"}}\n' "$T" |
	put_manifest ghost2.json
if wait_for "[ \"\$(rt_state ghost2)\" = ready ]" 20; then
	ok "a fixed command in the manifest starts a runtime left in error"
else
	not_ok "a fixed command in the manifest starts a runtime left in error"
fi
rt_pid ghost2 >/dev/null
check_eq "that start was not counted" 0 "$(budget_val ghost2 used)"

# --- group-writable manifests are refused ---
PG=$(free_port)
stub_json gw "$PG" | put_manifest gw.json 664
wait_for "[ -e '$MNT/manifests/gw.json' ]" 20
G=$(rf "$MNT/manifests/gw.json")
check_match "group-writable manifest: rejected" '^error gw\.json:1:1: rejected: the file is group-writable' "$G"
check_match "group-writable manifest: says what it would run" "it would run: $STUB --port $PG" "$G"
check "group-writable manifest: no runtime" "[ ! -e '$MNT/runtimes/gw' ]"
chmod 644 "$MF/gw.json"
if wait_state gw ready 30; then ok "after chmod go-w: the manifest loads and runs"; else not_ok "after chmod go-w: the manifest loads and runs"; fi
rt_pid gw >/dev/null
check_match "after chmod go-w: manifests/gw.json says ok" '^ok gw\.json' "$(rf "$MNT/manifests/gw.json")"

# --- a corrupt file changes nothing that runs ---
printf '{\n  "id": "alpha",\n  "adapter": "process",\n  "process": { "command": \n' | put_manifest alpha.json
wait_for "rf '$MNT/manifests/alpha.json' | grep -q '^error'" 20
M=$(rf "$MNT/manifests/alpha.json")
check_match "corrupt alpha.json: manifests/alpha.json starts with 'error alpha.json:5:1:' (line:col of the end of input)" \
	'^error alpha\.json:5:1: ' "$(printf '%s' "$M" | head -n 1)"
check_match "corrupt alpha.json: says the previous version is kept" 'previous version kept' "$M"
check "corrupt alpha.json: manifest.rejected event" \
	"ev_any '$T/events.log' '.kind == \"manifest.rejected\" and .payload.file == \"alpha.json\"'"
sync_marker
check_eq "corrupt alpha.json: alpha keeps running with the same pid" "$A3 ready" "$(rt alpha pid) $(rt_state alpha)"
check_match "corrupt alpha.json: alpha's status mentions the rejected update" \
	'Manifest update rejected, previous manifest kept: alpha\.json:[0-9]+:[0-9]+' "$(rt alpha status)"
check_eq "corrupt alpha.json: the effective manifest is the previous one" "Alpha again" \
	"$(rt alpha manifest.json | jq -r .name)"

# --- --check ---
out=$("$SUP" --check --manifests "$MF" 2>&1)
rc=$?
check_eq "--check on the folder with a corrupt file exits 2" 2 "$rc"
check_match "--check prints the error with line and column" 'error alpha\.json:[0-9]+:[0-9]+: ' "$out"
mkdir -p "$T/good"
stub_json alpha "$PA" >"$T/good/alpha.json"
stub_json beta "$PB" >"$T/good/beta.json"
chmod 644 "$T/good/"*.json
out=$("$SUP" --check --manifests "$T/good" 2>&1)
rc=$?
check_eq "--check on a good folder exits 0" 0 "$rc"
check_match "--check on a good folder says ok for each file" 'ok alpha\.json: 1 runtime' "$out"
chmod 664 "$T/good/beta.json"
"$SUP" --check --manifests "$T/good" >/dev/null 2>&1
check_eq "--check on a folder with a group-writable file exits 2" 2 "$?"

# --- fixing the file clears the rejection ---
stub_json alpha "$PA" --load-ms 100 --alias v3 | jq '.name = "Alpha again"' | put_manifest alpha.json
if wait_for "rf '$MNT/manifests/alpha.json' | grep -q '^ok alpha.json'" 20; then ok "fixed alpha.json: ok again"; else not_ok "fixed alpha.json: ok again"; fi
sync_marker
check "fixed alpha.json: the rejection note is gone" "! rt alpha status | grep -q 'rejected'"
check_eq "fixed alpha.json (same launch fields): same pid" "$A3" "$(rt alpha pid)"

# --- names cached under a removed runtime's folder lead nowhere ---
# (a runtime's file names are kept an hour by the kernel: a descriptor of
# its folder, held across the removal, must not reach another runtime)
printf '{"id":"gamma","adapter":"process","auto_start":true,"process":{"command":"/bin/sleep","args":["1000"]}}\n' |
	put_manifest gamma.json
wait_state gamma ready 20
G=$(rt_pid gamma)
out=$(python3 - "$MNT/runtimes/gamma" "$MF/gamma.json" "$MNT/runtimes/gamma" <<'PY'
import os, sys, time
d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
def state():
    try:
        fd = os.open("state", os.O_RDONLY, dir_fd=d)
    except OSError as e:
        return "errno %d" % e.errno
    try:
        return os.read(fd, 100).decode().strip()
    finally:
        os.close(fd)
first = state()
os.unlink(sys.argv[2])
deadline = time.monotonic() + 20
while os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
    time.sleep(0.05)
print(first, "|", state())
PY
)
check_eq "a held folder of a removed runtime: state read before, ENOENT after" "ready | errno 2" "$out"
check "the removed runtime's process is gone" "wait_for 'pid_gone $G' 10"
