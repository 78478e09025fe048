#!/bin/bash
# The README's first command from a clean clone of what is committed:
# `make run MOUNT=<tmp>` in its own session mounts the tree, an example runtime
# becomes ready, and Ctrl-C (SIGINT to the process group) stops every runtime
# and removes the mount.  Catches files that are not committed (.gitignore).
. "$(dirname "$0")/lib.sh"

CLONE=$T/clone
if git -C "$REPO" rev-parse --verify -q HEAD >/dev/null 2>&1; then
	git clone -q "$REPO" "$CLONE" || { not_ok "git clone of the repository"; exit 1; }
	ok "git clone of HEAD into a temp folder"
else
	# not a git checkout (an exported tree): copy what would be committed
	mkdir -p "$CLONE"
	tar -C "$REPO" --exclude=./build --exclude='./build-*' --exclude=./.run -c . | tar -C "$CLONE" -x
	ok "copy of the source tree into a temp folder (no git metadata)"
fi
check "the clone has the example manifests" "ls '$CLONE'/configs/runtimes.d/*.json >/dev/null 2>&1"

# The example manifests use fixed ports: a `make run` of the developer's own
# would make this test meaningless.  (SO_REUSEADDR, as the stub has: a
# connection of an earlier run in TIME_WAIT is no listener.)
busy=$(python3 -c '
import socket
for p in (18080, 18081, 18082):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        print(p)
    s.close()')
[ -z "$busy" ] || { not_ok "the example ports are free" "port(s) $busy in use: stop your own \`make run\` first"; exit 1; }

# The default layout, in $T: the tree one level below a folder that
# `make run` makes a shared mount point, and a link to the tree.
MNT=$T/share/fs
LINK=$T/arw
CLEANUP_LAST+=('umount -l "$T/share" 2>/dev/null')

RUNLOG=$T/make-run.log
# as a new user types it: none of this test run's variables (make test
# SANITIZE=... exports SANITIZE and MAKEFLAGS), only where owner files go
( cd "$CLONE" && exec env -i PATH="$PATH" HOME="$HOME" ARW_RUN_DIR="$ARW_RUN_DIR" \
	setsid make run MOUNT="$MNT" LINK="$LINK" ) >"$RUNLOG" 2>&1 &
MAKE_PID=$!
# kill the whole session of `make run` if the test ends early
CLEANUP_HOOKS+=('kill -KILL -- "-$MAKE_PID" 2>/dev/null; sleep 0.2')

ready_seen() { mounted && [ "$(rt_state llama-stub)" = ready ] && [ "$(rt_state llava-stub)" = ready ]; }
if wait_for "ready_seen || pid_gone $MAKE_PID" 180 && ready_seen; then
	ok "make run: the tree is mounted and the example runtimes are ready"
else
	not_ok "make run: the tree is mounted and the example runtimes are ready" \
		"$(tail -n 15 "$RUNLOG" | tr '\n' '|')"
	exit 1
fi
check_eq "make run: whisper-stub (auto_start false) is offline" offline "$(rt_state whisper-stub)"
check_eq "make run: LINK points at the tree" "$MNT" "$(readlink "$LINK")"
check_eq "make run: cat through the link works" ready "$(rf "$LINK/runtimes/llama-stub/state")"
check "make run: the tree's parent is a shared mount point" \
	"grep -qE '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ $T/share [^ ]+ (.* )?shared:' /proc/self/mountinfo"
check_match "make run: manifests/ says both files are ok" '^ok llama-stub.json.*ok vision-stub.json' \
	"$(cat "$MNT/manifests/llama-stub.json" "$MNT/manifests/vision-stub.json" | tr '\n' ' ')"
check_eq "start whisper-stub as the README shows" ok "$(rt_ctl whisper-stub 'start wait=30')"
PIDS="$(rt_pid llama-stub) $(rt_pid llava-stub) $(rt_pid whisper-stub)"
check "three runtime pids" "[ \$(echo $PIDS | wc -w) -eq 3 ]"

# Ctrl-C in the terminal: SIGINT to the foreground process group.
kill -INT -- "-$MAKE_PID"
if wait_for "pid_gone $MAKE_PID" 60; then ok "Ctrl-C: make run ends"; else not_ok "Ctrl-C: make run ends"; fi
wait "$MAKE_PID" 2>/dev/null
check_eq "Ctrl-C: every runtime process is gone" "" "$(still_running $PIDS)"
check "Ctrl-C: the mount is removed" "! mounted"
check "Ctrl-C: the supervisor said it stopped every runtime" "grep -q 'every runtime stopped' '$RUNLOG'"
