#!/usr/bin/env python3
"""Interrupt a blocking ctl write at once, over and over: the interrupt
often reaches the daemon before the write itself is handled.  Every write
must end (EINTR, or done) within a few seconds.

usage: interrupt_race.py CTL_PATH TEXT ROUNDS
Prints "rounds=N stuck=N"; a stuck writer is killed.
"""
import os
import random
import signal
import sys
import time

path, text, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
stuck = 0
signal.signal(signal.SIGINT, signal.SIG_IGN)   # the children's until they are ready
for i in range(rounds):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)

        def on_int(sig, frame):
            raise KeyboardInterrupt
        try:
            signal.signal(signal.SIGINT, on_int)
            os.write(w, b"r")   # the handler is in place: signal me now
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, text.encode())
        except (KeyboardInterrupt, OSError):
            pass
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    os.close(r)
    # 0..2 ms: before, while, or after the daemon takes the write
    time.sleep(random.random() * 0.002)
    # Again every 50 ms: a signal that lands between Python's own check and
    # the write's system call is taken in user space, and the write then
    # blocks with nothing to interrupt it.  Once the write is waiting in the
    # kernel, a signal is forwarded to the daemon (only the first one: later
    # ones do not wake the kernel's wait), so a lost interrupt still leaves
    # the writer stuck.
    deadline = time.monotonic() + 5
    next_sig = 0
    while True:
        now = time.monotonic()
        if now >= next_sig:
            os.kill(pid, signal.SIGINT)
            next_sig = now + 0.05
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if now > deadline:
            stuck += 1
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
print("rounds=%d stuck=%d" % (rounds, stuck), flush=True)
sys.exit(1 if stuck else 0)
