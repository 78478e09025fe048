#!/bin/bash
# Probes at scale: N stub runtimes (build/stub-llama, the stand-in for
# llama-server), each with an HTTP health probe every INTERVAL ms.  Once all
# are ready: the supervisor's CPU over SECONDS, as a share of one core, and
# its PSS (the daemon and its notifier helper, not the runtimes), and the
# probes' own results (every runtime still ready).  PROBES_PERF=FILE records
# the window with `perf record -g` instead of sleeping through it.
#   bench/probes.sh [N] [INTERVAL_MS] [SECONDS] [BUILD_DIR]   (defaults: 1000 5000 30)
set -euo pipefail
n=${1:-1000}
interval=${2:-5000}
secs=${3:-30}
build=$(cd "${4:-$(dirname "$0")/../build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ulimit -n 65536 2>/dev/null || true
python3 - "$build" "$dir" "$n" "$interval" "$secs" "$here" <<'PY'
import os, socket, subprocess, sys, time
sys.path.insert(0, sys.argv[6])
from benchlib import arw_manifest, arw_start, cpu_share, pss_kib, same_program, task_ticks
build, d, n, interval, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
# n free ports: held together while chosen, so that none repeats
socks = []
for _ in range(n):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()
for i, port in enumerate(ports):
    arw_manifest(d + "/m", "p%d" % i, {
        "command": build + "/stub-llama",
        "args": ["--port", str(port), "--load-ms", "0", "--listen-delay-ms", "0"],
        "health": {"url": "http://127.0.0.1:%d/health" % port, "interval_ms": interval}})
p = arw_start(build, d)
def states():
    out = []
    for i in range(n):
        try:
            with open("%s/mnt/runtimes/p%d/state" % (d, i)) as f:
                out.append(f.read().strip())
        except OSError:
            out.append("")
    return out
deadline = time.monotonic() + 300
while time.monotonic() < deadline and states().count("ready") < n:
    time.sleep(0.5)
ready = states().count("ready")
time.sleep(interval / 1000)   # one full round of probes after the last start
pids = same_program(p.pid)   # the daemon and its notifier helper
prof = os.environ.get("PROBES_PERF")   # a perf.data path: profile the window
def window(t):
    if prof:
        subprocess.run(["perf", "record", "-g", "-o", prof, "-p", ",".join(map(str, pids)), "--", "sleep", str(t)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        time.sleep(t)
split = {}
def split_window(t):
    # each thread's share too: the loop (the main thread), the FUSE
    # threads, the notifier helper
    t0 = {p: task_ticks(p) for p in pids}
    window(t)
    t1 = {p: task_ticks(p) for p in pids}
    for p in pids:
        for tid, ticks in t1[p].items():
            part = "loop" if tid == p == pids[0] else "FUSE threads" if p == pids[0] else "notifier helper"
            split[part] = split.get(part, 0) + ticks - t0[p].get(tid, 0)
cpu = cpu_share(pids, secs, split_window)
after = states().count("ready")
print("| runtimes probed | interval | supervisor CPU over %g s (%% of one core) | PSS (MiB) | ready before / after |" % secs)
print("|---|---|---|---|---|")
print("| %d | %d ms | %.2f | %.2f | %d / %d |" % (n, interval, cpu, pss_kib(pids) / 1024, ready, after))
total = sum(split.values()) or 1
print("\nOf that: " + ", ".join("%s %.0f %%" % (k, 100.0 * split.get(k, 0) / total)
                               for k in ("loop", "FUSE threads", "notifier helper")))
p.terminate()
p.wait(timeout=120)
PY
