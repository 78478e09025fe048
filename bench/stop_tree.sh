#!/bin/bash
# How long a stop of a runtime with many helpers takes, in both tracking
# modes, printed as a table.
#   bench/stop_tree.sh [CHILDREN] [ROUNDS] [BUILD_DIR]
# The runtime is a stub that forks CHILDREN helpers, each in a session of its
# own and deaf to SIGTERM (so the leader exits on SIGTERM and the helpers
# must be found and killed). Measured: `echo "stop wait=60" > ctl` from the
# write to its answer, which comes once every process is gone; then the
# daemon's zombies are counted (0 expected). Also: the system calls a child
# makes between its birth and execve (strace), the figure the launch path was
# rewritten for.
set -euo pipefail
children=${1:-1000}
rounds=${2:-3}
build=$(cd "${3:-$(dirname "$0")/../build}" && pwd)
. "$(dirname "$0")/lib.sh"
cat > "$dir/m/b.json" <<JSON
{"id":"b","adapter":"process","auto_start":false,
 "process":{"command":"$build/stub-llama","args":["--port","$port","--load-ms","0","--fork-children","$children"],
  "health":{"url":"http://127.0.0.1:$port/health","interval_ms":100}}}
JSON
chmod 644 "$dir/m/b.json"
R="$dir/mnt/runtimes/b"

printf '%-10s %9s %8s %8s %8s %8s\n' mode children min_ms med_ms max_ms zombies
for mode in cgroup fallback; do
	env=()
	[ "$mode" = fallback ] && env=(ARW_NO_CGROUP=1)
	env "${env[@]}" "$build/arw-supervisor" -f --mount "$dir/mnt" --manifests "$dir/m" --state "$dir/state-$mode" 2>"$dir/log-$mode" &
	daemon=$!
	for _ in $(seq 400); do [ -d "$R" ] && break; sleep 0.01; done
	python3 - "$R" "$rounds" "$children" "$daemon" "$mode" <<'PY'
import os, sys, time, subprocess
r, rounds, kids, daemon, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def ctl(s):
    fd = os.open(os.path.join(r, "ctl"), os.O_WRONLY)
    try: os.write(fd, s.encode())
    finally: os.close(fd)
def children_of(pid):
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError: continue
        f = st[st.rindex(")") + 2:].split()
        if int(f[1]) == pid: n += 1
    return n
def zombies(pid):
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try: st = open("/proc/%s/stat" % d).read()
        except OSError: continue
        f = st[st.rindex(")") + 2:].split()
        if int(f[1]) == pid and f[0] == "Z": n += 1
    return n
times = []
for i in range(rounds):
    ctl("start wait=60")
    leader = int(open(os.path.join(r, "pid")).read())
    while children_of(leader) < kids: time.sleep(0.01)
    t0 = time.monotonic()
    ctl("stop wait=60")
    times.append((time.monotonic() - t0) * 1000)
time.sleep(0.2)
times.sort()
print("%-10s %9d %8.1f %8.1f %8.1f %8d" % (mode, kids, times[0], times[len(times) // 2], times[-1], zombies(daemon)))
PY
	kill -TERM "$daemon"; wait "$daemon" || true; daemon=""
done

# system calls of one child from birth to execve
if command -v strace >/dev/null; then
	"$build/arw-supervisor" -f --mount "$dir/mnt" --manifests "$dir/m" --state "$dir/state-s" 2>"$dir/log-s" &
	daemon=$!
	for _ in $(seq 400); do [ -d "$R" ] && break; sleep 0.01; done
	sed -i "s/\"--fork-children\",\"$children\"/\"--fork-children\",\"0\"/" "$dir/m/b.json"
	echo reload > "$dir/mnt/ctl"
	strace -f -qq -o "$dir/strace" -p "$daemon" & st=$!
	sleep 0.5
	echo "start wait=10" > "$R/ctl"
	sleep 0.3
	kill "$st"; wait "$st" 2>/dev/null || true
	child=$(awk -v d="$daemon" '$1 != d && $2 ~ /^execve\(/ { print $1; exit }' "$dir/strace")
	n=$(awk -v c="$child" '$1 == c { if ($2 ~ /^execve\(/) { print n + 0; exit } n++ }' "$dir/strace")
	echo "system calls of a child between clone and execve: ${n:-?} (pid ${child:-?})"
fi
