#!/bin/bash
# Crash-to-restart latency and read cost, printed as a table.
#   bench/restart.sh [ROUNDS] [BUILD_DIR]
# Kills a supervised stub with SIGKILL ROUNDS times and reports the time from
# the exit to the new process (runtime.exited -> runtime.started, measured by
# the daemon's own event timestamps) and to ready as seen through the tree.
# Then times open+read+close of a runtime file through the mount.
set -euo pipefail
rounds=${1:-20}
build=$(cd "${2:-$(dirname "$0")/../build}" && pwd)
. "$(dirname "$0")/lib.sh"
start_b '{"max_restarts":1000,"window_seconds":1}' 100 --load-ms 0 --listen-delay-ms 0
cat "$dir/mnt/events" > "$dir/events" &
reader=$!
sleep 0.2
python3 - "$R" "$rounds" > "$dir/ready_ms" <<'PY'
import os, sys, time, signal
r, rounds = sys.argv[1], int(sys.argv[2])
def rd(n):
    with open(os.path.join(r, n)) as f: return f.read().strip()
out = []
for i in range(rounds):
    time.sleep(1.1)   # ran a full second: restart without backoff
    pid = int(rd("pid"))
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    while True:
        try:
            p, s = rd("pid"), rd("state")
        except OSError:
            continue
        if p and int(p) != pid and s == "ready":
            break
        time.sleep(0.0005)
    out.append((time.monotonic() - t0) * 1000)
print(" ".join("%.2f" % x for x in out))
PY
sleep 0.3
python3 - "$dir/events" "$dir/ready_ms" "$R" <<'PY'
import json, sys, os, time, statistics
from datetime import datetime
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def t(e): return datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
gaps, last_exit = [], None
for e in ev:
    if e["kind"] == "runtime.exited" and not e["payload"].get("expected"):
        last_exit = t(e)
    elif e["kind"] == "runtime.started" and last_exit is not None:
        gaps.append(t(e) - last_exit); last_exit = None
ready = [float(x) for x in open(sys.argv[2]).read().split()]
def row(name, xs):
    xs = sorted(xs)
    print("%-40s %6d %9.2f %9.2f %9.2f" % (name, len(xs), statistics.median(xs), xs[int(len(xs)*0.9)-1 if len(xs)>1 else 0], xs[-1]))
print("%-40s %6s %9s %9s %9s" % ("measure (ms)", "n", "median", "p90", "max"))
row("exit -> new process (daemon events)", gaps)
row("SIGKILL -> ready seen in the tree", ready)
n = 2000
path = os.path.join(sys.argv[3], "state")
lat = []
for i in range(n):
    t0 = time.perf_counter()
    with open(path) as f: f.read()
    lat.append((time.perf_counter() - t0) * 1e6)
lat.sort()
print("%-40s %6d %9.1f %9.1f %9.1f" % ("open+read+close state (us)", n, statistics.median(lat), lat[int(n*0.9)], lat[-1]))
PY
