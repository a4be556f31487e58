"""Helpers for benchmarks: run a command while sampling the RSS of its whole process tree."""
from __future__ import annotations

import subprocess
import threading
import time

import psutil


def run_with_peak_rss(cmd: list[str], env: dict | None = None, interval: float = 0.05) -> dict:
    """Run ``cmd``; return wall seconds, exit code, peak summed RSS (MB) of it and its children, stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            total = 0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                break
            peak = max(peak, total)
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    stop.set()
    thread.join()
    return {"seconds": round(time.perf_counter() - t0, 2), "returncode": proc.returncode,
            "peak_rss_mb": round(peak / 2**20, 1), "stdout": out, "stderr": err[-2000:]}
