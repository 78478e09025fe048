#!/bin/bash
# Manifests as deployments lay them out: a symlink dropped into the folder
# is loaded without a reload, an edit of its target is seen, a dangling
# symlink is an error (in manifests/ and --check), a Kubernetes ConfigMap
# update (..data swapped by rename) restarts what changed; text that is not
# UTF-8 is refused in a manifest and never served inside JSON.
. "$(dirname "$0")/lib.sh"

TG=$T/targets
mkdir -p "$TG"
sleeper() {   # ID ARG: a /bin/sleep runtime
	printf '{"id":"%s","adapter":"process","auto_start":true,"process":{"command":"/bin/sleep","args":["%s"]}}\n' "$1" "$2"
}
args_of() { rt "$1" manifest.json | jq -r '.process.args | join(" ")'; }
atomic_write() {   # PATH < content: write aside and rename, as editors do
	cat >"$1.tmp.$$"
	chmod 644 "$1.tmp.$$"
	mv -f "$1.tmp.$$" "$1"
}

mount_tree

# --- a symlink dropped in ---
sleeper lnk 1001 | atomic_write "$TG/lnk.json"
ln -s "$TG/lnk.json" "$MF/lnk.json"
if wait_for "[ \"\$(rt_state lnk)\" = ready ]" 10; then ok "a new symlink is loaded without a reload"; else not_ok "a new symlink is loaded without a reload"; fi
P1=$(rt_pid lnk)
check_eq "its args" 1001 "$(args_of lnk)"

# --- its target edited in place (in another folder) ---
sleeper lnk 1002 | atomic_write "$TG/lnk.json"
if wait_for "[ \"\$(args_of lnk)\" = 1002 ]" 10; then ok "an edit of the target is seen"; else not_ok "an edit of the target is seen"; fi
wait_for "p=\$(rt lnk pid); [ -n \"\$p\" ] && [ \"\$p\" != '$P1' ]" 10
check "the runtime restarted with the new args" "[ \"\$(rt lnk pid)\" != '$P1' ] && [ -n \"\$(rt lnk pid)\" ]"
rt_pid lnk >/dev/null
check_match "manifests/lnk.json is ok" '^ok lnk.json: 1 runtime: lnk' "$(rf "$MNT/manifests/lnk.json")"

# --- a dangling symlink ---
ln -s "$TG/nothere.json" "$MF/ghost.json"
if wait_for "[ -e '$MNT/manifests/ghost.json' ]" 10; then ok "a dangling symlink gets a manifests/ entry"; else not_ok "a dangling symlink gets a manifests/ entry"; fi
check_eq "it says what is wrong" "error ghost.json:1:1: dangling symlink: its target $TG/nothere.json does not exist" \
	"$(rf "$MNT/manifests/ghost.json")"
out=$("$SUP" --check --manifests "$MF" 2>&1)
rc=$?
check_eq "--check exits 2" 2 "$rc"
check_match "--check names it" "error ghost.json:1:1: dangling symlink" "$out"
check_match "--check counts it" "1 file with errors" "$out"
sleeper ghost 1003 | atomic_write "$TG/nothere.json"
if wait_for "[ \"\$(rt_state ghost)\" = ready ]" 10; then ok "its target appearing later is seen"; else not_ok "its target appearing later is seen"; fi
rt_pid ghost >/dev/null
check_match "manifests/ghost.json is ok now" '^ok ghost.json' "$(rf "$MNT/manifests/ghost.json")"

# --- a Kubernetes ConfigMap mount ---
mkdir "$MF/..2026_11_23_10_00_00.1"
sleeper cm 2001 >"$MF/..2026_11_23_10_00_00.1/cm.json"
chmod 644 "$MF/..2026_11_23_10_00_00.1/cm.json"
ln -s ..2026_11_23_10_00_00.1 "$MF/..data_tmp" && mv -T "$MF/..data_tmp" "$MF/..data"
ln -s ..data/cm.json "$MF/cm.json"
if wait_for "[ \"\$(rt_state cm)\" = ready ]" 10; then ok "configmap: loaded"; else not_ok "configmap: loaded"; fi
C1=$(rt_pid cm)
events_start "$T/ev.log"
mkdir "$MF/..2026_11_23_10_05_00.2"
sleeper cm 2002 >"$MF/..2026_11_23_10_05_00.2/cm.json"
chmod 644 "$MF/..2026_11_23_10_05_00.2/cm.json"
ln -s ..2026_11_23_10_05_00.2 "$MF/..data_tmp" && mv -T "$MF/..data_tmp" "$MF/..data"
rm -rf "$MF/..2026_11_23_10_00_00.1"
if wait_for "[ \"\$(args_of cm)\" = 2002 ]" 10; then ok "configmap: an update (..data swapped) is applied"; else not_ok "configmap: an update (..data swapped) is applied" "args $(args_of cm)"; fi
wait_for "p=\$(rt cm pid); [ -n \"\$p\" ] && [ \"\$p\" != '$C1' ]" 10
check "configmap: the runtime restarted" "[ -n \"\$(rt cm pid)\" ] && [ \"\$(rt cm pid)\" != '$C1' ]"
rt_pid cm >/dev/null
check_eq "configmap: the unchanged files were left alone (no restart of lnk)" 0 \
	"$(ev_count "$T/ev.log" '.kind == "runtime.started" and .payload.id == "lnk"')"

# --- not UTF-8 ---
printf '{"id":"latin","adapter":"process","name":"caf\xe9","process":{"command":"/bin/sleep","args":["1"]}}\n' |
	put_manifest latin.json
wait_for "[ -e '$MNT/manifests/latin.json' ]" 10
check_eq "a manifest that is not UTF-8 is refused with its position" \
	"error latin.json:1:46: invalid UTF-8 (byte 0xe9): manifests must be UTF-8" "$(rf "$MNT/manifests/latin.json")"
check "and nothing of it runs" "[ ! -e '$MNT/runtimes/latin' ]"
# a runtime's own bytes (a probe's output) never make the JSON invalid
cat <<'JSON' | put_manifest bytes.json
{"id":"bytes","adapter":"process","auto_start":true,
 "process":{"command":"/bin/sleep","args":["1000"],
  "health":{"exec":["/bin/sh","-c","printf 'bad \\377\\376 bytes'; exit 1"],"interval_ms":200}}}
JSON
if wait_for "rt bytes health.json | grep -q 'bad'" 10; then ok "the probe's output is in health.json"; else not_ok "the probe's output is in health.json"; fi
rt_pid bytes >/dev/null
valid_json() { python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$1" 2>/dev/null; }
check "health.json is valid UTF-8 JSON" "valid_json '$MNT/runtimes/bytes/health.json'"
check "runtime_matrix.json is valid UTF-8 JSON" "valid_json '$MNT/runtime_matrix.json'"
check "manifest.json is valid UTF-8 JSON" "valid_json '$MNT/runtimes/bytes/manifest.json'"
check "every events line is valid UTF-8 JSON" \
	"python3 -c 'import json, sys; [json.loads(l.decode(\"utf-8\")) for l in open(sys.argv[1], \"rb\")]' '$T/ev.log'"
check "the bad bytes became U+FFFD" "rt bytes health.json | grep -qF \"\$(printf 'bad \\357\\277\\275\\357\\277\\275 bytes')\""

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
