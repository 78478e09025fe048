#!/usr/bin/env python3
"""Load on a mounted tree, to kill the daemon under: reader threads
(open+read+close of every file kind, stat), a blocked `events` reader, and
`wait=` ctl writers.  Runs until killed; errors (the daemon is gone) only
make a thread try again, so its threads keep poking at a dead mount too.

usage: load.py MOUNT WAIT_RUNTIME_ID [READERS [RESTART_PREFIX]]
RESTART_PREFIX: runtimes whose id starts with it are restarted over and
over (no wait), which keeps the daemon's notifier busy.
"""
import os
import sys
import threading

mnt, wid = sys.argv[1], sys.argv[2]
nreaders = int(sys.argv[3]) if len(sys.argv) > 3 else 3
prefix = sys.argv[4] if len(sys.argv) > 4 else None
FILES = ["state", "status", "health.json", "budget", "logs", "ctl", "pid", "manifest.json"]


def reader(k):
    i = k
    while True:
        try:
            ids = os.listdir(os.path.join(mnt, "runtimes"))
            for rid in ids:
                p = os.path.join(mnt, "runtimes", rid, FILES[i % len(FILES)])
                i += 1
                os.stat(p)
                with open(p, "rb") as f:
                    f.read()
            with open(os.path.join(mnt, "runtime_matrix.json"), "rb") as f:
                f.read()
        except OSError:
            pass


def events():
    while True:
        try:
            with open(os.path.join(mnt, "events"), "rb", buffering=0) as f:
                while f.read(65536):
                    pass
        except OSError:
            pass


def writer(verb):
    path = os.path.join(mnt, "runtimes", wid, "ctl")
    while True:
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, verb.encode())
            finally:
                os.close(fd)
        except OSError:
            pass


def restarter():
    while True:
        try:
            for rid in os.listdir(os.path.join(mnt, "runtimes")):
                if not rid.startswith(prefix):
                    continue
                fd = os.open(os.path.join(mnt, "runtimes", rid, "ctl"), os.O_WRONLY)
                try:
                    os.write(fd, b"restart\n")
                except OSError:
                    pass
                finally:
                    os.close(fd)
        except OSError:
            pass


threads = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(nreaders)]
threads.append(threading.Thread(target=events, daemon=True))
threads.append(threading.Thread(target=writer, args=("restart wait=5\n",), daemon=True))
threads.append(threading.Thread(target=writer, args=("start wait=5\n",), daemon=True))
if prefix:
    threads.append(threading.Thread(target=restarter, daemon=True))
for t in threads:
    t.start()
print("load running", flush=True)
threading.Event().wait()
