#!/bin/bash
# One launch path for runtimes and exec probes: a relative workdir, the
# user and group (supplementary groups dropped or set from the user's), a
# numeric uid with no passwd entry (runs with the group named, or is
# refused: never with root's group), lookup errors said as such.
. "$(dirname "$0")/lib.sh"

# sleeper ID USER GROUP WORKDIR PROBE: /bin/sh that prints its ids and
# sleeps; the exec probe is PROBE (a shell test run with the same launch).
sleeper() {
	jq -n --arg id "$1" --arg user "$2" --arg group "$3" --arg wd "$4" --arg probe "$5" '
	{ id: $id, adapter: "process", auto_start: true,
	  process: ({ command: "/bin/sh",
	             args: ["-c", "echo \"ids $(id -u) $(id -g) $(id -G) cwd $(pwd)\"; exec sleep 1000"],
	             health: { exec: ["/bin/sh", "-c", $probe], interval_ms: 200 } }
	           + (if $user != "" then { user: $user } else {} end)
	           + (if $group != "" then { group: $group } else {} end)
	           + (if $wd != "" then { workdir: $wd } else {} end)) }'
}
status1() { rt "$1" status | head -n 1; }
idline() { rt "$1" logs | sed -n 's/^ids //p' | tail -n 1; }

mkdir -p "$MF/sub"
touch "$MF/sub/here"
# relative workdir: the exec probe runs there too (it was ignored before)
sleeper wd "" "" sub 'test -f here && [ "$(pwd)" = "$ARW_WD" ]' |
	jq --arg wd "$MF/sub" '.process.env = { ARW_WD: $wd }' | put_manifest wd.json
# a named user: its uid, its group, its supplementary groups only
sleeper nob nobody "" / '[ "$(id -u):$(id -g):$(id -G)" = "65534:65534:65534" ]' | put_manifest nob.json
# a numeric uid with no passwd entry and a numeric group: exactly those
sleeper num 54321 54322 / '[ "$(id -u):$(id -g):$(id -G)" = "54321:54322:54322" ]' | put_manifest num.json
# a numeric uid with no passwd entry and no group: refused
sleeper nogrp 54321 "" / true | put_manifest nogrp.json
# lookup errors are said as such, not as "command not found"
sleeper baduser no-such-user-arw "" / true | put_manifest baduser.json
sleeper badgroup "" no-such-group-arw / true | put_manifest badgroup.json
# a launch that fails after its cgroup was made (chdir in the child)
sleeper badwd "" "" /no-such-dir-arw true | put_manifest badwd.json

mount_tree

wait_state wd ready 20
check_eq "relative workdir: the exec probe passes there (ready)" ready "$(rt_state wd)"
check_match "relative workdir: the runtime runs there" "cwd $MF/sub\$" "$(idline wd)"

wait_state nob ready 20
check_eq "user nobody: the exec probe sees 65534:65534:65534 (ready)" ready "$(rt_state nob)"
check_match "user nobody: the runtime runs as 65534, group 65534, no other group" '^65534 65534 65534 cwd /$' "$(idline nob)"

wait_state num ready 20
check_eq "uid 54321 group 54322: the exec probe sees exactly those (ready)" ready "$(rt_state num)"
check_match "uid 54321 group 54322: the runtime too, no root group" '^54321 54322 54322 cwd /$' "$(idline num)"

wait_state nogrp error 20
check_match "uid with no passwd entry and no group: refused, and why" \
	'^Error - Failed to launch: user 54321 has no passwd entry; name its group too' "$(status1 nogrp)"
check_eq "uid with no passwd entry and no group: never started" "" "$(rt nogrp pid)"

wait_state baduser error 20
check_match "unknown user: said as such" 'unknown user "no-such-user-arw"' "$(status1 baduser)"
wait_state badgroup error 20
check_match "unknown group: said as such" 'unknown group "no-such-group-arw"' "$(status1 badgroup)"

wait_state badwd error 20
check_match "a workdir that does not exist: said as such" 'cannot execute .*: No such file or directory' "$(status1 badwd)"

stop_daemon 30
check_eq "SIGTERM: exit 0" 0 "$DAEMON_RC"
CGB=$(cg_base)
check "SIGTERM: the daemon's cgroups are gone, those of failed launches too" "[ -z '$CGB' ] || [ ! -d '$CGB' ]"

# A daemon that cannot switch users (uid 65534, with the capabilities to
# mount but not CAP_SETUID/CAP_SETGID) refuses a runtime that asks for root,
# and says why; one that asks for nothing runs as the daemon's user.
if command -v setpriv >/dev/null; then
	rm -f "$MF"/*.json
	sleeper asroot root "" / true | put_manifest asroot.json
	sleeper plain "" "" / '[ "$(id -u)" = 65534 ]' | put_manifest plain.json
	chmod 755 "$T"
	mkdir -p "$T/nr-state" "$T/nr-run"
	chown 65534:65534 "$T/nr-state" "$T/nr-run" "$MNT"
	DAEMON_WRAP=(env ARW_RUN_DIR="$T/nr-run" setpriv --reuid=65534 --regid=65534 --clear-groups
		--inh-caps=+dac_override,+sys_admin --ambient-caps=+dac_override,+sys_admin)
	STATE_SAVED=$STATE
	STATE=$T/nr-state
	if start_daemon --no-cgroup --allow-other; then
		ok "a daemon as uid 65534 mounts the tree"
		wait_state plain ready 20
		check_eq "as uid 65534: a runtime with no user runs (as 65534)" ready "$(rt_state plain)"
		wait_state asroot error 20
		check_match "as uid 65534: user root is refused, and why" \
			'Failed to launch: cannot run as uid 0 gid 0: the supervisor runs as uid 65534 without CAP_SETUID/CAP_SETGID' \
			"$(status1 asroot)"
		stop_daemon 30
		check_eq "as uid 65534: SIGTERM: exit 0" 0 "$DAEMON_RC"
	else
		not_ok "a daemon as uid 65534 mounts the tree"
	fi
	DAEMON_WRAP=()
	STATE=$STATE_SAVED
fi
