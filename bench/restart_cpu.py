#!/usr/bin/env python3
"""Restart CPU time, for comparing serve binaries on a noisy shared machine (issue 11).

    bench/restart_cpu.py STATE ROUNDS NAME=BIN [NAME=BIN ...]

Each binary restarts on its own copy of the state file STATE (and its WAL), the binaries in
turn at every round. At the banner's first line the CPU time of all the server's threads is
read from /proc/PID/task/*/schedstat (nanoseconds, unlike /proc/PID/stat's 10 ms ticks) and
the server is killed. Prints the median and minimum CPU and wall ms per binary. CPU time moves
less than wall time when other processes take the cores, but it is not immune (shared caches).
"""
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    state, rounds = sys.argv[1], int(sys.argv[2])
    bins = [a.split("=", 1) for a in sys.argv[3:]]
    tmp = tempfile.mkdtemp(prefix="restart-cpu-")
    for name, _ in bins:
        for suffix in ["", "-wal"]:
            if os.path.exists(state + suffix):
                shutil.copyfile(state + suffix, f"{tmp}/{name}.db{suffix}")
    cpu = {n: [] for n, _ in bins}
    wall = {n: [] for n, _ in bins}
    for _ in range(rounds):
        for name, binary in bins:
            t0 = time.perf_counter()
            argv = [binary, "serve", "--port", "0", "--state", f"{tmp}/{name}.db"]
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdout.readline()
            w = time.perf_counter() - t0
            ns = 0
            for f in glob.glob(f"/proc/{p.pid}/task/*/schedstat"):
                try:
                    with open(f) as fh:
                        ns += int(fh.read().split()[0])
                except OSError:
                    pass  # a thread that ended meanwhile
            p.kill()
            p.wait()
            cpu[name].append(ns / 1e6)
            wall[name].append(w * 1000)
    for name, _ in bins:
        c, w = cpu[name], wall[name]
        print(
            f"{name:8} cpu ms median {statistics.median(c):6.1f} (min {min(c):5.1f})"
            f"  wall ms median {statistics.median(w):6.1f} (min {min(w):5.1f})"
        )
    with open("/proc/loadavg") as fh:
        print("load average:", " ".join(fh.read().split()[:3]))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
