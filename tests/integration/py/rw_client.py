#!/usr/bin/env python3
"""Read-your-writes client: writes ctl verbs and, as soon as each write has
returned, reads files of the tree and checks that they show the command's
effect (content, stat size, mtime).  No sleeps: it is as fast as Python goes.

usage: rw_client.py MOUNT RUNTIME_ID OTHER_ID PAIRS
Prints one line per stale read ("stale: ...") and a summary line
"pairs=N reads=N stale=N"; exits 1 when anything was stale.
"""
import errno
import os
import sys
import time

mnt, rid, other, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rdir = os.path.join(mnt, "runtimes", rid)
pairs = reads = stale = 0


def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def bad(what, detail):
    global stale
    stale += 1
    print("stale: %s: %s (at %d)" % (what, detail, now_ms()), flush=True)


def check(what, cond, detail):
    global reads
    reads += 1
    if not cond:
        bad(what, detail)


def kv(text):
    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l)


def last_cmd(text):
    for l in text.splitlines():
        if l.startswith("last: "):
            return l[6:]
    return None


def stable(name, path, expect=None, since_ms=None):
    """A file that must not change any more: stat size == bytes read, the
    content is `expect` when given, the mtime is not older than since_ms."""
    st = os.stat(path)
    data = read(path)
    if st.st_size != len(data.encode()):
        # Look again at once: a second stat that agrees with the read says
        # the first came from a stale cache; one that still disagrees says
        # the tree itself changed.  Either way the first pair was stale.
        st2 = os.stat(path)
        again = read(path)
        check(name + " size", False,
              "stat says %d bytes, read %d (%r); at once again: stat %d, read %r; mtime %d"
              % (st.st_size, len(data.encode()), data[:40], st2.st_size, again[:40],
                 st.st_mtime_ns // 1000000))
    else:
        check(name + " size", True, "")
    if expect is not None:
        check(name + " content", data == expect, "expected %r, got %r" % (expect, data))
    if since_ms is not None:
        m = st.st_mtime_ns // 1000000
        check(name + " mtime", m >= since_ms, "mtime %d is older than the write at %d" % (m, since_ms))
    return data


def now_ms():
    return time.time_ns() // 1000000


used = None   # counted restarts since the last reset-budget
cycle = [
    "reset-budget", "restart", "kill CONT", "restart", "stop wait=20",
    "start wait=20", "root:stop-all wait=20", "root:start-all wait=20",
]
i = 0
while pairs < want:
    verb = cycle[i % len(cycle)]
    i += 1
    root = verb.startswith("root:")
    text = verb[5:] if root else verb
    ctl = os.path.join(mnt, "ctl") if root else os.path.join(rdir, "ctl")
    t0 = now_ms() - 1   # the tree keeps ms; allow the clock's own rounding
    r = write(ctl, text + "\n")
    if verb.startswith("kill"):
        ok_rc = r in ("ok", "ESRCH")
    else:
        ok_rc = r == "ok"
    if not ok_rc:
        print("error: %s -> %s" % (verb, r), flush=True)
        sys.exit(2)
    pairs += 1
    # every verb: the ctl file names this command as the last one
    c = read(ctl)
    check(verb + ": ctl last", last_cmd(c) == text, "ctl shows %r" % c.splitlines()[:1])
    if root:
        st_expect = "offline\n" if text.startswith("stop-all") else "ready\n"
        for r_id in (rid, other):
            stable("%s: %s/state" % (verb, r_id), os.path.join(mnt, "runtimes", r_id, "state"), st_expect)
        import json
        mx = json.loads(read(os.path.join(mnt, "runtime_matrix.json")))
        node = next(iter(mx["items"].values()))
        states = node["runtime"]["states"]
        key = st_expect.strip()
        check(verb + ": matrix states", states.get(key) == 2, "matrix states %r" % states)
        continue
    if text == "reset-budget":
        used = 0
        b = kv(read(os.path.join(rdir, "budget")))
        check(verb + ": budget used", b.get("used") == "0", "budget %r" % b)
    elif text == "restart":
        used = (used or 0) + 1
        b = kv(read(os.path.join(rdir, "budget")))
        check(verb + ": budget used", b.get("used") == str(used), "expected used=%d, budget %r" % (used, b))
    elif text.startswith("stop"):
        stable(verb + ": state", os.path.join(rdir, "state"), "offline\n", t0)
        stable(verb + ": pid", os.path.join(rdir, "pid"), "", t0)
        s = stable(verb + ": status", os.path.join(rdir, "status"))
        check(verb + ": status line", s.startswith("Offline - Stopped by operator\n"), "status %r" % s[:60])
    elif text.startswith("start"):
        stable(verb + ": state", os.path.join(rdir, "state"), "ready\n", t0)
        p = stable(verb + ": pid", os.path.join(rdir, "pid"), None, t0)
        check(verb + ": pid set", p.strip().isdigit(), "pid %r" % p)
    stable(verb + ": ctl", ctl)

print("pairs=%d reads=%d stale=%d" % (pairs, reads, stale), flush=True)
sys.exit(1 if stale else 0)
