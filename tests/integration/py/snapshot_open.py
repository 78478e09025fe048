"""snapshot_open.py ROUNDS CTL VERB FILE...: every open is a snapshot.

Per round, for each FILE: handle A is opened and its first 5 bytes read;
handle B is opened and read whole (the version both opens saw).  Then
VERB is written to CTL (`restart`, or `restart wait=N`), which returns once
the tree shows it, so every later open sees the new version, and the rest
of A is read 7 bytes at a time.  A must equal B: the read after the change still came from A's own
version, never half of one and half of another.  A fresh open after the
change is compared too, to show that something did change.  No sleeps.

Prints one line per FILE: "NAME same=N changed=M rounds=R", and a line
"MIXED NAME ..." for each A that differs from B."""
import os, sys

rounds, ctl, verb, files = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4:]
same = {f: 0 for f in files}
changed = {f: 0 for f in files}


def read_all(fd, chunk):
    out = b""
    while True:
        b = os.read(fd, chunk)
        if not b:
            return out
        out += b


for r in range(rounds):
    handles = []
    for f in files:
        a = os.open(f, os.O_RDONLY)
        head = os.read(a, 5)
        b = os.open(f, os.O_RDONLY)
        whole = read_all(b, 65536)
        os.close(b)
        handles.append((f, a, head, whole))
    fd = os.open(ctl, os.O_WRONLY)
    os.write(fd, verb + b"\n")
    os.close(fd)
    for f, a, head, whole in handles:
        got = head + read_all(a, 7)
        os.close(a)
        fresh = os.open(f, os.O_RDONLY)
        now = read_all(fresh, 65536)
        os.close(fresh)
        if got == whole:
            same[f] += 1
        else:
            print("MIXED %s round %d: %r != %r" % (os.path.basename(f), r, got[:80], whole[:80]))
        if now != whole:
            changed[f] += 1
for f in files:
    print("%s same=%d changed=%d rounds=%d" % (os.path.basename(f), same[f], changed[f], rounds))
