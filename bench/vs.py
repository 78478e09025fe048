#!/usr/bin/env python3
"""bench/vs.py - arw-supervisor side by side with runit, s6 and supervisord.

    bench/vs.py BUILD_DIR [--rounds N] [--idle S] [--big N] [--only a,b]

Each supervisor runs in its own folder on a tmpfs, with the same service: a
static C program (bench/stamp.c) exec'd directly, which stamps its own start
time (CLOCK_MONOTONIC) and waits.  s6 gets a notification-fd.  bench/vs.c
measures the crash path, reads and restarts; this script sets up, measures
start-up, memory, idle CPU and the 1,000-service reads, and prints one
Markdown table (median / p95, ms unless said).  It kills only the processes
it started (their pids, and the pids the services stamped)."""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import arw_manifest, cpu_share, descendants, pss_kib

HERE = os.path.dirname(os.path.abspath(__file__))


def mono_ns():
    return time.monotonic_ns()


def stamps_of(path):
    try:
        with open(path) as f:
            return [(int(a), int(b)) for a, b in (l.split() for l in f if l.strip())]
    except FileNotFoundError:
        return []


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.002)
    raise RuntimeError("timed out waiting for " + what)


class Sup:
    """One supervisor in folder d: subclasses say how to declare, start,
    read and restart a service.  Services are named s1..sN; service s's
    stamps go to self.stamps(s)."""
    name = ""
    cli = ""

    def __init__(self, d, build, stamp, stamp_s6):
        self.d, self.build, self.stamp, self.stamp_s6 = d, build, stamp, stamp_s6
        self.proc = None
        self.seen = set()

    def stamps(self, s):
        return os.path.join(self.d, "st", s)

    def service_pids(self):
        pids = set()
        for f in os.listdir(os.path.join(self.d, "st")):
            for p, _ in stamps_of(os.path.join(self.d, "st", f)):
                pids.add(p)
        self.seen |= pids
        return pids

    def sup_pids(self):
        """The supervisor's own processes: its tree without the services."""
        svc = self.service_pids()
        return [p for p in descendants(self.proc.pid) if p not in svc]

    def launch(self, n):
        """Declare s1..sN, start the supervisor; the time from its launch to
        the last service's first stamp, in ms."""
        shutil.rmtree(self.d, ignore_errors=True)
        os.makedirs(os.path.join(self.d, "st"))
        for i in range(1, n + 1):
            self.declare("s%d" % i)
        # declared long before the supervisor starts, as on a real machine
        # (runsvdir skips a folder changed within the current second)
        old = time.time() - 10
        for sub in os.listdir(self.d):
            os.utime(os.path.join(self.d, sub), (old, old))
        t0 = mono_ns()
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.d, "log"), "w"),
                                     start_new_session=True, cwd=self.d)

        def last():
            ts = []
            for i in range(1, n + 1):
                s = stamps_of(self.stamps("s%d" % i))
                if not s:
                    return None
                ts.append(s[0][1])
            return max(ts)
        t = wait_for(last, 120, "%d services of %s" % (n, self.name))
        return (t - t0) / 1e6

    def add_service(self, s):
        """Declare one more service while running; ms to its first stamp."""
        t0 = mono_ns()
        self.declare(s, live=True)
        t = wait_for(lambda: stamps_of(self.stamps(s)), 30, "new service of " + self.name)
        return (t[0][1] - t0) / 1e6

    def status_cli_ms(self, s, n=20):
        out = []
        for _ in range(n):
            t0 = mono_ns()
            subprocess.run(self.status_argv(s), stdout=subprocess.DEVNULL, check=True)
            out.append((mono_ns() - t0) / 1e6)
        return statistics.median(out)

    def stop(self):
        if self.proc:
            self.shutdown()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            # what the stop left: the services we saw stamp (by pid)
            self.service_pids()
            for p in self.seen:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc = None


class Arw(Sup):
    name = "arw-supervisor"
    cli = "`cat pid`"

    def declare(self, s, live=False):
        arw_manifest(os.path.join(self.d, "m"), s, {"command": self.stamp, "args": [self.stamps(s)]},
                     restart={"policy": "always", "max_restarts": 1000, "window_seconds": 1})

    def argv(self):
        return [self.build + "/arw-supervisor", "-f", "--mount", self.d + "/mnt",
                "--manifests", self.d + "/m", "--state", self.d + "/state"]

    def rdir(self, s):
        return "%s/mnt/runtimes/%s" % (self.d, s)

    def reader(self, s):
        return "text:%s/pid" % self.rdir(s)

    def restart(self, s):
        return ["write:%s/ctl:restart\n" % self.rdir(s)]

    def status_argv(self, s):
        return ["cat", self.rdir(s) + "/pid"]

    def list_all(self):
        return ["sh", "-c", "ls -l %s/mnt/runtimes >/dev/null && cat %s/mnt/runtimes/*/state >/dev/null"
                % (self.d, self.d)]

    def shutdown(self):
        self.proc.terminate()


class Runit(Sup):
    name = "runit"
    cli = "`sv status`"

    def svdir(self, s):
        return os.path.join(self.d, "sv", s)

    def declare(self, s, live=False):
        # built outside the scanned folder, then moved in: runsvdir must not
        # see half a service
        tmp = os.path.join(self.d, "tmp-" + s)
        os.makedirs(tmp)
        os.link(self.stamp, os.path.join(tmp, "run"))   # one copy on the tmpfs for all
        os.symlink(self.stamps(s), os.path.join(tmp, "stamps"))
        os.makedirs(os.path.join(self.d, "sv"), exist_ok=True)
        os.rename(tmp, self.svdir(s))

    def argv(self):
        return ["runsvdir", "-P", self.d + "/sv"]

    def reader(self, s):
        return "text:%s/supervise/pid" % self.svdir(s)

    def restart(self, s):
        return ["write:%s/supervise/control:tcu" % self.svdir(s)]

    def status_argv(self, s):
        return ["sv", "status", self.svdir(s)]

    def list_all(self):
        return ["sh", "-c", "ls -l %s/sv >/dev/null && cat %s/sv/*/supervise/stat >/dev/null"
                % (self.d, self.d)]

    def shutdown(self):
        self.proc.send_signal(signal.SIGHUP)   # runsvdir: TERM to each runsv, exit


class S6(Runit):
    name = "s6"
    cli = "`s6-svstat`"

    def declare(self, s, live=False):
        tmp = os.path.join(self.d, "tmp-" + s)
        os.makedirs(tmp)
        os.link(self.stamp_s6, os.path.join(tmp, "run"))
        os.symlink(self.stamps(s), os.path.join(tmp, "stamps"))
        with open(os.path.join(tmp, "notification-fd"), "w") as f:
            f.write("3\n")
        os.makedirs(os.path.join(self.d, "sv"), exist_ok=True)
        os.rename(tmp, self.svdir(s))
        if live:
            subprocess.run(["s6-svscanctl", "-a", self.d + "/sv"], check=True)

    def argv(self):
        return ["s6-svscan", "-c", "4096", self.d + "/sv"]

    def reader(self, s):
        return "s6:%s/supervise/status" % self.svdir(s)

    def restart(self, s):
        return ["write:%s/supervise/control:r" % self.svdir(s)]

    def status_argv(self, s):
        return ["s6-svstat", self.svdir(s)]

    def list_all(self):
        return ["sh", "-c", "ls -l %s/sv >/dev/null && cat %s/sv/*/supervise/status >/dev/null"
                % (self.d, self.d)]

    def shutdown(self):
        subprocess.run(["s6-svscanctl", "-t", self.d + "/sv"])


class Supervisord(Sup):
    name = "supervisord"
    cli = "`supervisorctl pid`"

    def conf(self):
        return os.path.join(self.d, "supervisord.conf")

    def declare(self, s, live=False):
        os.makedirs(os.path.join(self.d, "conf.d"), exist_ok=True)
        if not os.path.exists(self.conf()):
            with open(self.conf(), "w") as f:
                f.write("[unix_http_server]\nfile=%(d)s/sock\n"
                        "[supervisord]\nnodaemon=true\nlogfile=%(d)s/supervisord.log\n"
                        "pidfile=%(d)s/supervisord.pid\nchildlogdir=%(d)s\n"
                        "[rpcinterface:supervisor]\n"
                        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
                        "[supervisorctl]\nserverurl=unix://%(d)s/sock\n"
                        "[include]\nfiles = %(d)s/conf.d/*.conf\n" % {"d": self.d})
        with open(os.path.join(self.d, "conf.d", s + ".conf"), "w") as f:
            f.write("[program:%s]\ncommand=%s %s\nautorestart=true\nstartsecs=1\nstartretries=1000\n"
                    "stdout_logfile=NONE\nstderr_logfile=NONE\n" % (s, self.stamp, self.stamps(s)))
        if live:
            subprocess.run(["supervisorctl", "-c", self.conf(), "update"],
                           stdout=subprocess.DEVNULL, check=True)

    def argv(self):
        return ["supervisord", "-c", self.conf()]

    def reader(self, s):
        return "none"

    def restart(self, s):
        return ["exec", "supervisorctl", "-c", self.conf(), "restart", s]

    def status_argv(self, s):
        return ["supervisorctl", "-c", self.conf(), "pid", s]

    def list_all(self):
        return ["supervisorctl", "-c", self.conf(), "status"]

    def shutdown(self):
        self.proc.terminate()


def fmt(v, nd=2):
    return "-" if v is None else ("%.*f" % (nd, v))


def measure(sup, a, vs):
    r = {}
    # one service: the crash path, reads, restarts
    sup.launch(1)
    for line in subprocess.run([vs, sup.stamps("s1"), str(a.rounds), sup.reader("s1")] + sup.restart("s1"),
                               stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines():
        k, n, med, p95 = line.split()
        r[k] = (float(med), float(p95))
    r["cli"] = sup.status_cli_ms("s1")
    time.sleep(1)
    r["pss1"] = pss_kib(sup.sup_pids()) / 1024
    r["new"] = statistics.median(sup.add_service("n%d" % i) for i in range(3))
    sup.stop()
    # 100 services: start-up, memory, idle CPU
    r["start100"] = sup.launch(100)
    time.sleep(1)
    pids = sup.sup_pids()
    r["pss100"] = pss_kib(pids) / 1024
    r["idle100"] = cpu_share(pids, a.idle, time.sleep)
    sup.stop()
    # a big tree: listing it and reading every service's state
    if a.big:
        sup.launch(a.big)
        ts = []
        for _ in range(5):
            t0 = mono_ns()
            subprocess.run(sup.list_all(), stdout=subprocess.DEVNULL, check=True)
            ts.append((mono_ns() - t0) / 1e6)
        r["big"] = statistics.median(ts)
        sup.stop()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--idle", type=float, default=30)
    ap.add_argument("--big", type=int, default=1000)
    ap.add_argument("--only", default="runit,s6,supervisord,arw")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))   # clean up on a kill too
    build = os.path.abspath(a.build)
    top = tempfile.mkdtemp(prefix="arw-vs.")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "arw-vs", top], check=True)
    kinds = {"runit": Runit, "s6": S6, "supervisord": Supervisord, "arw": Arw}
    results, sups = [], []
    try:
        bin_ = os.path.join(top, "bin")
        os.makedirs(bin_)
        for out, extra in (("stamp", []), ("stamp-s6", ["-DNOTIFY_FD=3"])):
            subprocess.run(["cc", "-O2", "-static"] + extra + ["-o", os.path.join(bin_, out),
                            os.path.join(HERE, "stamp.c")], check=True)
        vs = os.path.join(bin_, "vs")
        subprocess.run(["cc", "-O2", "-o", vs, os.path.join(HERE, "vs.c")], check=True)
        for k in a.only.split(","):
            sup = kinds[k](os.path.join(top, k), build, os.path.join(bin_, "stamp"), os.path.join(bin_, "stamp-s6"))
            sups.append(sup)
            print("measuring %s ..." % sup.name, file=sys.stderr)
            results.append((sup, measure(sup, a, vs)))
            print("  %s" % results[-1][1], file=sys.stderr)
    finally:
        for s in sups:
            try:
                s.stop()
            except Exception as e:
                print("vs: stopping %s: %s" % (s.name, e), file=sys.stderr)
        subprocess.run(["umount", "-l", top])
        os.rmdir(top)

    def pair(r, k):
        return "%s / %s" % (fmt(r[k][0]), fmt(r[k][1])) if k in r else "-"
    rows = [
        ("crash -> respawn, service up > 1.2 s", lambda r: pair(r, "respawn")),
        ("crash -> old pid gone, to an in-process reader", lambda r: pair(r, "death_visible")),
        ("crash -> new pid visible to an in-process reader", lambda r: pair(r, "pid_visible")),
        ("new process runs -> its pid visible to that reader", lambda r: pair(r, "pid_after_start")),
        ("one in-process status read (open+read+close), µs", lambda r: pair(r, "read_us")),
        ("one status CLI call, median", lambda r: fmt(r["cli"])),
        ("restart command -> running", lambda r: pair(r, "restart")),
        ("5 quick deaths in a row -> running again", lambda r: fmt(r["quick5"][0], 0) if r["quick5"][0] >= 0 else "gave up"),
        ("new service -> running, median of 3", lambda r: fmt(r["new"])),
        ("start 100 services, launch -> last running", lambda r: fmt(r["start100"], 1)),
        ("supervisor PSS with 1 / 100 services (MiB)", lambda r: "%s / %s" % (fmt(r["pss1"]), fmt(r["pss100"]))),
        ("idle CPU with 100 services over %g s (%% of one core)" % a.idle, lambda r: fmt(r["idle100"], 3)),
    ]
    if a.big:
        rows.append(("`ls -l` + read every state, %d services" % a.big, lambda r: fmt(r.get("big"), 1)))
    print("| measurement (ms, median / p95) | " + " | ".join(s.name for s, _ in results) + " |")
    print("|---|" + "---|" * len(results))
    print("| status CLI | " + " | ".join(s.cli for s, _ in results) + " |")
    for title, f in rows:
        print("| %s | %s |" % (title, " | ".join(f(r) for _, r in results)))


if __name__ == "__main__":
    main()
