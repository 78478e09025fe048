#!/bin/bash
# Who may do what in the tree (SPEC: the kernel checks the modes, with
# default_permissions; the daemon refuses for root what the modes would let
# it do).  With --allow-other every user reads everything; only root, the
# daemon's user and members of --ctl-group (as the primary or a
# supplementary group) write ctl; nothing else is writable, for root either.
. "$(dirname "$0")/lib.sh"

chmod 755 "$T"   # other users must reach the mount point
G=4242           # the ctl group: a gid nobody here has

cat <<'JSON' | put_manifest p.json
{"id":"p","adapter":"process","auto_start":true,
 "process":{"command":"/bin/sleep","args":["1000"]}}
JSON

# as UID GID GROUPS CMD...: CMD as that user (GROUPS: supplementary, "" none);
# prints "ok" when it succeeds, else its stderr (for `test`: nothing).
as() {
	local ids=(--reuid="$1" --regid="$2") out
	if [ -n "$3" ]; then ids+=(--groups="$3"); else ids+=(--clear-groups); fi
	shift 3
	out=$(setpriv "${ids[@]}" -- "$@" 2>&1 >/dev/null) && out=ok
	echo "$out"
}
R=$MNT/runtimes/p

mount_tree --allow-other --ctl-group "$G"
wait_for "[ -n \"\$(rt p pid)\" ]" 20
P1=$(rt_pid p)

# --- a user with no part in it ---
check_eq "nobody: reads state" ok "$(as 65534 65534 "" cat "$R/state")"
check_eq "nobody: reads the root ctl" ok "$(as 65534 65534 "" cat "$MNT/ctl")"
check_eq "nobody: lists and enters folders" ok "$(as 65534 65534 "" sh -c "cd '$MNT/runtimes' && ls p")"
check_match "nobody: a ctl write fails with EACCES" 'Permission denied' \
	"$(as 65534 65534 "" sh -c "echo stop > '$R/ctl'")"
check_match "nobody: the root ctl too" 'Permission denied' \
	"$(as 65534 65534 "" sh -c "echo stop-all > '$MNT/ctl'")"
check_match "nobody: truncating ctl fails with EACCES" 'Permission denied' \
	"$(as 65534 65534 "" truncate -s 0 "$R/ctl")"
check_match "nobody: writing state fails with EACCES" 'Permission denied' \
	"$(as 65534 65534 "" sh -c "echo x > '$R/state'")"
check_match "nobody: mkdir fails with EACCES" 'Permission denied' \
	"$(as 65534 65534 "" mkdir "$MNT/runtimes/q")"
check_match "nobody: chmod fails with EPERM" 'Operation not permitted' \
	"$(as 65534 65534 "" chmod 666 "$R/state")"
check_eq "nobody: access(2) says state is readable" ok "$(as 65534 65534 "" test -r "$R/state")"
check_eq "nobody: ... and ctl not writable" "" "$(as 65534 65534 "" test -w "$R/ctl")"
check_eq "nobody: ... nor state" "" "$(as 65534 65534 "" test -w "$R/state")"
check_eq "nobody: ... and no file executable" "" "$(as 65534 65534 "" test -x "$R/state")"
check_eq "nobody's writes changed nothing (same process)" "$P1" "$(rt p pid)"

# --- members of the ctl group ---
check_eq "ctl group (supplementary): access(2) says ctl is writable" ok \
	"$(as 65534 65534 "$G" test -w "$R/ctl")"
check_eq "ctl group (supplementary): a ctl write works" ok \
	"$(as 65534 65534 "$G" sh -c "echo stop > '$R/ctl'")"
wait_state p offline 20
check_eq "... and the runtime stopped" offline "$(rt_state p)"
check_eq "ctl group (primary): a ctl write works" ok \
	"$(as 65534 "$G" "" sh -c "echo start > '$R/ctl'")"
wait_for "[ -n \"\$(rt p pid)\" ]" 20
check "... and the runtime started again" "[ -n \"\$(rt p pid)\" ]"
check_match "ctl group: state is still not writable" 'Permission denied' \
	"$(as 65534 "$G" "$G" sh -c "echo x > '$R/state'")"

# --- root: ctl only, like everyone ---
check_eq "root: a ctl write works" ok "$(rt_ctl p restart)"
check_eq "root: writing state fails with EACCES" EACCES "$(ctl_write "$R/state" x)"
check_match "root: mkdir fails with EPERM" 'Operation not permitted' "$(mkdir "$MNT/runtimes/q" 2>&1)"
check_match "root: truncate(2) of state fails with EPERM" 'Operation not permitted' \
	"$(python3 -c 'import os, sys; os.truncate(sys.argv[1], 0)' "$R/state" 2>&1)"
check "root: the state file is unchanged" "[ -n \"\$(rt p state)\" ]"

# --- without --ctl-group, the group means nothing ---
stop_daemon
start_daemon --allow-other || { not_ok "restart without --ctl-group"; exit 1; }
wait_for "[ -n \"\$(rt p pid)\" ]" 20
check_match "no --ctl-group: gid $G cannot write ctl" 'Permission denied' \
	"$(as 65534 "$G" "$G" sh -c "echo stop > '$R/ctl'")"
check "no --ctl-group: the runtime still runs" "[ -n \"\$(rt p pid)\" ]"

stop_daemon
check_eq "SIGTERM: supervisor exits 0" 0 "$DAEMON_RC"
