"""Peak memory of a run: this process and every process it started (the embedded Ray cluster's too)."""
from __future__ import annotations

import threading


class RSSMonitor:
    """Peak resident memory of this process and all its descendants (the embedded Ray cluster's raylet,
    GCS and workers), sampled on a thread."""

    def __init__(self, interval_s: float = 0.5) -> None:
        import psutil

        self.proc, self.interval, self.peak_mb = psutil.Process(), interval_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> float:
        import psutil

        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        mb = total / 2**20
        self.peak_mb = max(self.peak_mb, mb)
        return mb

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "RSSMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
