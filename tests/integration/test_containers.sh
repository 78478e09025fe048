#!/bin/bash
# The tree inside a real container (podman with runc, a busybox root
# filesystem, no image registry): ls and cat of every file kind, a ctl write
# whose effect the host sees, busybox `cat events` following a restart, a
# read-only bind refusing ctl writes, a non-root container user (reads work,
# ctl writes fail with EACCES), and the layout that survives a daemon
# restart: with --shared-parent, a container that bound the parent with
# rslave propagation sees the new tree after `kill -9` and a restart, while
# one that bound the mount point itself keeps ENOTCONN, as docs/containers.md
# says.  Skipped, with the reason, where podman cannot run a container.
. "$(dirname "$0")/lib.sh"

skip() { note "SKIP test_containers: $*"; exit 0; }
command -v podman >/dev/null || skip "podman is not installed (apt-get install podman runc)"
# (a busybox that is not static cannot run in the root filesystem below:
# the first podman run fails and the test is skipped with podman's message)
BB=$(command -v busybox) || skip "busybox is not installed (apt-get install busybox-static)"

# a root filesystem: busybox and its applet links, a passwd with a non-root user
ROOTFS=$T/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/tmp" \
	"$ROOTFS/run/arw" "$ROOTFS/arw" "$ROOTFS/ro"
cp "$(readlink -f "$BB")" "$ROOTFS/bin/busybox"
for a in $("$ROOTFS/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"; done
printf 'root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"

# runc, not crun (which refuses a hybrid cgroup layout); explicit ulimits
# (the defaults need a capability root may lack); no network
PODMAN_RUN=(podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network none)
if ! out=$(timeout 60 "${PODMAN_RUN[@]}" --rm --rootfs "$ROOTFS" /bin/true 2>&1); then
	skip "podman cannot run a container here: $(echo "$out" | tail -n 1)"
fi
ok "podman runs a busybox container"

SHARE=$T/share
MNT=$SHARE/fs
CLEANUP_LAST+=('umount -l "$SHARE" 2>/dev/null')
P1=$(free_port)
stub_json r1 "$P1" --load-ms 50 | put_manifest r1.json
start_daemon --shared-parent --allow-other || { not_ok "supervisor mounts the tree below a shared parent"; exit 1; }
ok "supervisor mounts the tree below a shared parent"
wait_state r1 ready 30
rt_pid r1 >/dev/null

# one long-lived container: the parent bound rslave, the mount point bound
# directly, and read-only.  (A read-only bind of the parent would not make
# the tree below it read-only: a submount keeps its own flags, and podman
# 4.3 has no recursive read-only "rro".)
NAME=arw-test-$$
CLEANUP_HOOKS+=("podman rm -f -t 0 $NAME >/dev/null 2>&1")
if ! "${PODMAN_RUN[@]}" -d --name "$NAME" \
	-v "$SHARE:/run/arw:rslave" -v "$MNT:/arw" -v "$MNT:/ro:ro" \
	--rootfs "$ROOTFS" /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >"$T/podman.out" 2>&1; then
	not_ok "a container with the tree bound starts" "$(tail -n 3 "$T/podman.out")"
	exit 1
fi
ok "a container with the tree bound starts"
in_ct() { timeout -k 2 30 podman exec "$@"; }

# --- reads of every kind inside ---
# the fields of health.json and runtime_matrix.json that move with every
# probe (every 200 ms here) or second
stable() { grep -vE '"(uptime_seconds|updated_at|last_latency_ms|last_ok_at|generated|updated)":'; }
check_eq "inside: ls /run/arw/fs" "README accelerators.json ctl events manifests metrics.prom node runtime_matrix.json runtimes" \
	"$(in_ct "$NAME" ls /run/arw/fs | tr '\n' ' ' | sed 's/ $//')"
check_eq "inside: ls runtimes/r1" "budget ctl health.json logs manifest.json pid state status" \
	"$(in_ct "$NAME" ls /run/arw/fs/runtimes/r1 | tr '\n' ' ' | sed 's/ $//')"
for f in README node ctl accelerators.json runtime_matrix.json manifests/r1.json \
	runtimes/r1/state runtimes/r1/status runtimes/r1/health.json runtimes/r1/pid \
	runtimes/r1/manifest.json runtimes/r1/ctl; do
	# (twice: a health check may land between the two reads)
	for try in 1 2; do
		in_ct "$NAME" cat "/run/arw/fs/$f" | stable >"$T/in.txt"
		stable <"$MNT/$f" >"$T/host.txt"
		cmp -s "$T/in.txt" "$T/host.txt" && break
	done
	cmp -s "$T/in.txt" "$T/host.txt" || diff "$T/in.txt" "$T/host.txt" | head -n 8 | sed 's/^/# /'
	check_eq "inside: cat $f gives what the host reads" "$(md5sum <"$T/host.txt")" "$(md5sum <"$T/in.txt")"
done
check "inside: cat metrics.prom has arw_runtime_up" "in_ct $NAME cat /run/arw/fs/metrics.prom | grep -q '^arw_runtime_up{.*id=\"r1\"'"
check "inside: cat runtimes/r1/logs works" "in_ct $NAME cat /run/arw/fs/runtimes/r1/logs >/dev/null"
check_eq "inside: health.json says ready (busybox grep)" 1 \
	"$(in_ct "$NAME" grep -c '^	"state":[[:space:]]*"ready"' /run/arw/fs/runtimes/r1/health.json)"

# --- events followed inside by busybox cat, while the host restarts r1 ---
podman exec "$NAME" cat /run/arw/fs/events >"$T/ct.events" 2>"$T/ct.events.err" &
EXEC_PID=$!
HELPERS+=("$EXEC_PID")
wait_for "in_ct $NAME sh -c 'for p in /proc/[0-9]*; do [ \"\$(readlink \$p/fd/3)\" = /run/arw/fs/events ] && exit 0; done; exit 1'" 20
check_eq "host: restart r1 while the container follows events" ok "$(rt_ctl r1 restart)"
if wait_for "ev_any '$T/ct.events' '.kind == \"runtime.state.changed\" and .payload.id == \"r1\" and .payload.state == \"ready\"'" 30; then
	ok "inside: busybox cat events receives the restart's lines"
else
	not_ok "inside: busybox cat events receives the restart's lines" "$(cat "$T/ct.events.err")"
fi
rt_pid r1 >/dev/null

# --- a ctl write inside: the host sees its effect ---
used=$(budget_val r1 used)
check_eq "inside: echo restart > ctl succeeds" 0 "$(in_ct "$NAME" sh -c 'echo restart > /run/arw/fs/runtimes/r1/ctl; echo $?')"
check_eq "host: the budget moved by one" "$((used + 1))" "$(budget_val r1 used)"
wait_state r1 ready 30
rt_pid r1 >/dev/null
check_match "inside: a read-only bind refuses a ctl write" 'Read-only file system' \
	"$(in_ct "$NAME" sh -c 'echo restart > /ro/runtimes/r1/ctl' 2>&1)"
check_eq "host: the refused write did not move the budget" "$((used + 1))" "$(budget_val r1 used)"
check_eq "inside: the read-only bind still reads" ready "$(in_ct "$NAME" cat /ro/runtimes/r1/state)"

# --- a container user that is not root (--allow-other) ---
check_eq "inside, as nobody: reads work" ready "$(in_ct --user 65534:65534 "$NAME" cat /run/arw/fs/runtimes/r1/state)"
check_match "inside, as nobody: a ctl write fails with EACCES" 'Permission denied' \
	"$(in_ct --user 65534:65534 "$NAME" sh -c 'echo restart > /run/arw/fs/runtimes/r1/ctl' 2>&1)"
check_eq "host: nobody's write did not move the budget" "$((used + 1))" "$(budget_val r1 used)"

# --- kill -9 of the supervisor and a restart: the container keeps working
# through the shared parent; the direct bind is dead ---
check_eq "inside: the direct bind reads before the restart" ready "$(in_ct "$NAME" cat /arw/runtimes/r1/state)"
kill -KILL "$DAEMON_PID"
wait_for "pid_gone $DAEMON_PID" 10
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
check_match "inside, daemon dead: reads fail with ENOTCONN" 'Transport endpoint is not connected' \
	"$(in_ct "$NAME" cat /run/arw/fs/node 2>&1)"
start_daemon --shared-parent --allow-other || { not_ok "the supervisor starts again"; exit 1; }
ok "the supervisor starts again"
wait_state r1 ready 30
rt_pid r1 >/dev/null
if wait_for "[ \"\$(in_ct $NAME cat /run/arw/fs/runtimes/r1/state 2>/dev/null)\" = ready ]" 20; then
	ok "inside, after kill -9 and a restart: the shared-parent bind shows the new tree"
else
	not_ok "inside, after kill -9 and a restart: the shared-parent bind shows the new tree" \
		"$(in_ct "$NAME" cat /run/arw/fs/runtimes/r1/state 2>&1)"
fi
check_eq "inside, after the restart: a ctl write through the shared parent works" 0 \
	"$(in_ct "$NAME" sh -c 'echo reset-budget > /run/arw/fs/runtimes/r1/ctl; echo $?')"
check_eq "host: the reset is seen" 0 "$(budget_val r1 used)"
check_match "inside, after the restart: the direct bind keeps ENOTCONN (as docs/containers.md says)" \
	'Transport endpoint is not connected' "$(in_ct "$NAME" cat /arw/node 2>&1)"

# --- a container started after the restart, from the parent: fine too ---
check_eq "a new container binding the parent reads the tree" ready \
	"$(timeout 60 "${PODMAN_RUN[@]}" --rm -v "$SHARE:/run/arw:rslave" --rootfs "$ROOTFS" \
		/bin/cat /run/arw/fs/runtimes/r1/state 2>&1)"
