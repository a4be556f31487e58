"""A run folder (``runs/<name>/``) as a database would keep it (DESIGN §7): one run at a time (a lock, taken
over when its holder died), checked for room and write access before anything starts, and told apart from
other failures when writing to it fails mid-run."""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import sqlite3
import time
from pathlib import Path

from envs.errors import L2EMGError

log = logging.getLogger(__name__)
LOCK = "run.lock"
RUN_FILES = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "metrics.jsonl", "events.jsonl", "generator.json",
             "summary.json", "report.md")
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.EACCES, errno.EPERM}


class RunFolderError(L2EMGError):
    """The run folder cannot be used (locked by another run, not writable, full) or writing to it failed."""


def fresh_run_dir(out: Path) -> None:
    """A session starts from its bootstrap generator: earlier outputs in ``out`` are removed (never the lock)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "experts", ignore_errors=True)


def check_storage(folder: Path, min_free_mb: float) -> None:
    """Before anything starts: ``folder`` can be created, written and synced, and its disk has ``min_free_mb``
    free; else a one-line RunFolderError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        raise RunFolderError(f"{folder}: not writable ({exc.strerror or exc}); checked before starting, nothing was run") from None
    free_mb = shutil.disk_usage(folder).free / 2 ** 20
    if free_mb < min_free_mb:
        raise RunFolderError(f"{folder}: only {free_mb:.0f} MB free on its disk, a run needs {min_free_mb:.0f} MB "
                             "(runtime.storage.min_free_mb); checked before starting, nothing was run")


def storage_fault(exc: BaseException) -> str | None:
    """Why ``exc`` (or an error it wraps, e.g. a Ray task error) is a failure to write to disk; None otherwise."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
            return f"{exc.strerror or exc}"
        if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in ("disk", "full", "readonly", "i/o")):
            return f"SQLite: {exc}"
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def holder_alive(info: dict) -> bool:
    """Whether the process a lock file names still runs (same host, same pid, same start time: not a reused pid)."""
    if info.get("host") != socket.gethostname():
        return True  # cannot tell from here: assume it runs
    started = _process_start(int(info.get("pid", -1)))
    return started is not None and abs(started - float(info.get("process_started", started))) < 1.0


class RunLock:
    """``runs/<name>/run.lock``: held (``flock``) by the one process running in the folder, naming it (pid, host,
    start time). The kernel drops the lock when that process dies however it dies; the file it leaves is a stale
    lock, taken over by the next run with a warning. A second run while the holder lives stops at once."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.fd: int | None = None
        self.took_over: dict | None = None  # what the stale lock said, when one was taken over

    def _read(self) -> dict:
        try:
            info = json.loads(self.path.read_text() or "{}")
            return info if isinstance(info, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> "RunLock":
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunFolderError(f"{self.folder}: another run is using this folder ({self._describe(self._read())}); "
                                     "wait for it to finish or run under another name") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder released and removed the file meanwhile: lock the new one
        previous = self._read()
        if previous.get("pid") is not None and holder_alive(previous) and previous.get("pid") != os.getpid():
            os.close(fd)  # flock is not honoured here (some network file systems) but the holder runs
            raise RunFolderError(f"{self.folder}: another run is using this folder ({self._describe(previous)}); "
                                 "wait for it to finish or run under another name")
        if previous.get("pid") is not None:
            self.took_over = previous
            log.warning("%s: taking over a stale lock (%s, no longer running)", self.folder, self._describe(previous))
        me = {"pid": os.getpid(), "host": socket.gethostname(), "process_started": _process_start(os.getpid()),
              "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    @staticmethod
    def _describe(info: dict) -> str:
        return f"pid {info.get('pid', '?')} on {info.get('host', '?')}, since {info.get('since', '?')}"

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # removed while still held: a waiting run then locks a fresh file
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
