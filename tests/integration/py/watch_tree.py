"""A dashboard's watcher of the tree, with Python's watchdog (Debian's
python3-watchdog; run with /usr/bin/python3).

    watch_tree.py inotify|polling RUNTIMES_DIR OUT

Watches RUNTIMES_DIR recursively with watchdog's inotify Observer or its
PollingObserver (stat snapshots every 0.2 s: size and mtime), and appends
one line per event to OUT: "<event_type> <path relative to RUNTIMES_DIR>".
Writes "ready" first, once the watch is in place.  Runs until killed."""
import os
import sys
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

kind, root, out = sys.argv[1], sys.argv[2], sys.argv[3]


def log(line):
    with open(out, "a") as f:
        f.write(line + "\n")


class Handler(FileSystemEventHandler):
    def on_any_event(self, event):
        log("%s %s" % (event.event_type, os.path.relpath(event.src_path, root)))


obs = Observer() if kind == "inotify" else PollingObserver(timeout=0.2)
obs.schedule(Handler(), root, recursive=True)
obs.start()
if kind == "polling":
    time.sleep(0.5)   # the first snapshot is taken by the thread: let it be taken
log("ready")
try:
    while True:
        time.sleep(3600)
finally:
    obs.stop()
