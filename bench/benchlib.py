"""bench/benchlib.py - what the Python parts of the benchmarks share: the
memory (PSS) and CPU time of a set of processes, read from /proc, the
processes that make up a supervisor, and how arw-supervisor is given a
manifest and started."""
import json
import os
import subprocess


def arw_manifest(folder, rid, process, **more):
    """Declare runtime `rid` (auto-started; `process` is its "process"
    object, `more` any other top-level fields) in the manifest folder, the
    way an operator would: written aside, mode 0644, renamed in."""
    os.makedirs(folder, exist_ok=True)
    doc = dict(id=rid, adapter="process", auto_start=True, process=process, **more)
    tmp = os.path.join(folder, "." + rid + ".json")
    with open(tmp, "w") as f:
        f.write(json.dumps(doc) + "\n")
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(folder, rid + ".json"))


def arw_start(build, d, **popen):
    """arw-supervisor in the foreground on folder d: the tree at d/mnt,
    manifests in d/m, the state folder d/state, its log in d/log."""
    return subprocess.Popen([build + "/arw-supervisor", "-f", "--mount", d + "/mnt", "--manifests", d + "/m",
                             "--state", d + "/state"], stderr=open(d + "/log", "w"), **popen)


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state first);
    None when the process is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children_map():
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            x = stat_fields(p)
            if x:
                kids.setdefault(int(x[1]), []).append(int(p))
    return kids


def descendants(root):
    """root and every process below it."""
    kids, out, todo = children_map(), [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def same_program(root):
    """root and its children that run the same program (arw-supervisor's
    notifier helper, forked without exec): the supervisor without its
    runtimes."""
    exe = os.readlink("/proc/%d/exe" % root)
    out = [root]
    for p in children_map().get(root, []):
        try:
            if os.readlink("/proc/%d/exe" % p) == exe:
                out.append(p)
        except OSError:
            pass
    return out


def pss_kib_of(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for l in f:
                if l.startswith("Pss:"):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pids):
    return sum(pss_kib_of(p) for p in pids)


def cpu_ticks(pids):
    """utime + stime of the processes still there."""
    return sum(int(x[11]) + int(x[12]) for x in map(stat_fields, pids) if x)


def task_ticks(pid):
    """utime + stime of each thread of a process: {tid: ticks}."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tids:
        x = stat_fields("%d/task/%s" % (pid, t))
        if x:
            out[int(t)] = int(x[11]) + int(x[12])
    return out


def cpu_share(pids, seconds, sleep):
    """% of one core the processes used over `seconds` (sleep(seconds) is
    the caller's: a plain sleep, or a profiler)."""
    import time
    c0, w0 = cpu_ticks(pids), time.monotonic()
    sleep(seconds)
    return (cpu_ticks(pids) - c0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - w0) * 100
