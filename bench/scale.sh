#!/bin/bash
# Scale: the supervisor with 1, 100 and 1,000 runtimes of a static service
# (bench/stamp.c, which appends its start time to a file and waits).  For
# each count: the time from launching the supervisor to the last service
# running (the services' own CLOCK_MONOTONIC stamps), the supervisor's PSS
# once all run, and its CPU use while idle (the daemon and its notifier
# helper; not the services).  Prints a Markdown table.
#   bench/scale.sh [IDLE_SECONDS] [COUNTS] [BUILD_DIR]     (defaults: 10, "1 100 1000")
set -euo pipefail
idle=${1:-10}
counts=${2:-1 100 1000}
build=$(cd "${3:-$(dirname "$0")/../build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build_stamp
ulimit -n 65536 2>/dev/null || true

echo "| runtimes | launch -> last running (ms) | PSS (MiB) | idle CPU over ${idle} s (% of one core) |"
echo "|---|---|---|---|"
for n in $counts; do
	rm -rf "$dir/m" "$dir/state"
	: >"$dir/stamps"
	python3 - "$build" "$dir" "$n" "$idle" "$here" <<'PY'
import os, sys, time
sys.path.insert(0, sys.argv[5])
from benchlib import arw_manifest, arw_start, cpu_share, pss_kib, same_program
build, d, n, idle = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
for i in range(1, n + 1):
    arw_manifest(d + "/m", "s%d" % i, {"command": d + "/stamp", "args": [d + "/stamps"]})
t0 = time.monotonic_ns()
p = arw_start(build, d)
def stamps():
    with open(d + "/stamps") as f:
        return [int(l.split()[1]) for l in f if l.strip()]
deadline = time.monotonic() + 120
while len(stamps()) < n and time.monotonic() < deadline:
    time.sleep(0.05)
s = stamps()
launch = (max(s) - t0) / 1e6 if len(s) >= n else float("nan")
time.sleep(1)
pids = same_program(p.pid)   # the daemon and its notifier helper
m = pss_kib(pids) / 1024
cpu = cpu_share(pids, idle, time.sleep)
print("| %d | %.1f | %.2f | %.3f |" % (n, launch, m, cpu))
p.terminate()
p.wait(timeout=120)
PY
done
