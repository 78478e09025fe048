#!/bin/bash
# Readers that do not use read(2): sendfile, splice and copy_file_range, and
# busybox `cat` (the cat of Alpine and busybox images, which copies with
# sendfile).  Through FUSE these go through the page cache, which knows only
# the size of the last stat: for `events` (a stream) that used to mean an
# empty copy at once, a silent EOF.  Every file of the tree must give such a
# reader either exactly what read(2) gives or an error (EINVAL, on which
# busybox and Python fall back to read), never a short or empty copy.
. "$(dirname "$0")/lib.sh"

P=$(free_port)
stub_json r1 "$P" --load-ms 50 | put_manifest r1.json
mount_tree
wait_state r1 ready 30
rt_pid r1 >/dev/null

# --- every file kind: the same bytes as read(2), or an error ---
files=()
for f in README node ctl accelerators.json metrics.prom runtime_matrix.json; do files+=("$MNT/$f"); done
for f in state status health.json budget logs pid ctl; do files+=("$MNT/runtimes/r1/$f"); done
timeout -k 2 60 python3 "$REPO/tests/integration/py/copy_paths.py" "${files[@]}" >"$T/copy.out" 2>&1
note "$(sort "$T/copy.out" | awk '{print $2, $3, $4}' | sort | uniq -c | tr '\n' ';')"
check_eq "sendfile, splice, copy_file_range: never a short or empty copy of a file" "" \
	"$(grep -v -e ' ok$' -e ' error ' "$T/copy.out")"
check_eq "every file was tried three ways" "$((${#files[@]} * 3))" "$(wc -l <"$T/copy.out")"
# as documented (fs.md): refused, so that no copy can be sized by another
# version's stat; copy_file_range to another filesystem fails before (EXDEV)
check_eq "sendfile and splice of every file fail with EINVAL" "$((${#files[@]} * 2)) EINVAL" \
	"$(awk '$2 != "copy_file_range" && $3 == "error" { print $4 }' "$T/copy.out" | sort | uniq -c | awk '{ print $1, $2 }')"

# --- events: splice and sendfile fail loudly instead of a silent EOF ---
r=$(timeout -k 2 10 python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
r, w = os.pipe()
out = []
for name, f in (("sendfile", lambda: os.sendfile(w, fd, None, 4096)),
                ("splice", lambda: os.splice(fd, w, 4096))):
    try:
        out.append("%s=%d" % (name, f()))
    except OSError as e:
        out.append("%s=%s" % (name, errno.errorcode[e.errno]))
print(" ".join(out))' "$MNT/events")
check_eq "events: sendfile and splice fail with EINVAL (no silent EOF)" "sendfile=EINVAL splice=EINVAL" "$r"
check_eq "events: stat gives its placeholder size (above 0) and no blocks" "4096 0" "$(stat -c '%s %b' "$MNT/events")"

# --- busybox cat, which tries sendfile first ---
BB=$(command -v busybox || true)
if [ -z "$BB" ]; then
	note "SKIP busybox tests: busybox is not installed (apt-get install busybox-static)"
else
	for f in "${files[@]}"; do
		[ "$(basename "$f")" = logs ] && continue    # grows while we read
		[ "$(basename "$f")" = metrics.prom ] && continue    # counts the reads
		a=$("$BB" cat "$f" | md5sum) b=$(cat "$f" | md5sum)
		[ "$a" = "$b" ] || { a=$("$BB" cat "$f" | md5sum) b=$(cat "$f" | md5sum); }
		check_eq "busybox cat ${f#"$MNT"/} gives what GNU cat gives" "$b" "$a"
	done
	# busybox writes to a pipe, as in `busybox cat events | cat`
	sh -c 'echo $$ >"$1"; exec "$2" cat "$3"' sh "$T/bb.pid" "$BB" "$MNT/events" 2>"$T/bb.err" | cat >"$T/bb.events" &
	HELPERS+=("$!")
	disown "$!"
	wait_for "[ -s '$T/bb.pid' ]" 10
	BBP=$(cat "$T/bb.pid")
	HELPERS+=("$BBP")
	wait_for "[ \"\$(readlink /proc/$BBP/fd/3 2>/dev/null)\" = '$MNT/events' ]" 10
	check_eq "restart r1 while busybox cat follows events" ok "$(rt_ctl r1 restart)"
	if wait_for "ev_any '$T/bb.events' '.kind == \"runtime.state.changed\" and .payload.id == \"r1\" and .payload.state == \"ready\"'" 30; then
		ok "busybox cat events | cat: the lines of the restart arrive"
	else
		not_ok "busybox cat events | cat: the lines of the restart arrive"
		note "busybox: $(cat "$T/bb.err"), got $(wc -c <"$T/bb.events") bytes"
	fi
	check "busybox cat events is still following (no EOF)" "pid_alive $BBP"
	rt_pid r1 >/dev/null
fi
