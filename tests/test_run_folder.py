"""One run per run folder, and storage faults (issue 25): a second run on a locked folder stops at once, a
stale lock from a dead process is taken over, an unwritable or full runs folder is refused before anything
starts, a disk that fails while writing leaves what was committed intact, and a truncated expert checkpoint
is refused while the previous version goes on serving."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from agent.runtime.run_dir import RunFolderError, RunLock, check_storage, storage_fault
from runtime_helpers import tiny_runtime, write_episode

ROOT = Path(__file__).resolve().parents[1]
HOLD = ("import sys, time; sys.path.insert(0, {root!r}); from agent.runtime.run_dir import RunLock; "
        "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(600)")


def _holder(folder: Path) -> subprocess.Popen:
    """Another process holding the folder's lock (as a running episode does)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(root=str(ROOT)), str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_on_a_locked_folder_stops_and_a_stale_lock_is_taken_over(tmp_path, caplog):
    folder = tmp_path / "runs" / "ep"
    with RunLock(folder):
        with pytest.raises(RunFolderError, match=rf"another run is using this folder \(pid {os.getpid()} on "):
            RunLock(folder).acquire()  # the same process again: a second open file, refused as well
    holder = _holder(folder)
    try:
        t = time.perf_counter()
        with pytest.raises(RunFolderError, match=rf"pid {holder.pid} on .*wait for it to finish"):
            RunLock(folder).acquire()
        assert time.perf_counter() - t < 1.0  # at once, not after a wait
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding it: the lock file stays, naming a dead process
        holder.wait()
    assert json.loads((folder / "run.lock").read_text())["pid"] == holder.pid
    with caplog.at_level("WARNING"):
        lock = RunLock(folder).acquire()
    assert lock.took_over["pid"] == holder.pid and "taking over a stale lock" in caplog.text
    assert json.loads((folder / "run.lock").read_text())["pid"] == os.getpid()
    lock.release()
    assert not (folder / "run.lock").exists()


def _run_as_nobody(fn) -> tuple[int, str]:
    """``fn()`` in a forked child without root's rights (root writes into read-only folders): (exit code, message)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, try, report, exit without running pytest's teardown
        os.close(r)
        code, msg = 0, ""
        try:
            os.setgid(65534)
            os.setuid(65534)
            fn()
        except RunFolderError as exc:
            code, msg = 3, str(exc)
        except BaseException as exc:  # noqa: BLE001 (reported to the parent as a failure)
            code, msg = 4, f"{type(exc).__name__}: {exc}"
        os.write(w, msg.encode())
        os._exit(code)
    os.close(w)
    msg = b""
    while chunk := os.read(r, 65536):
        msg += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), msg.decode()


def test_a_read_only_or_full_runs_folder_is_refused_before_anything_starts(tmp_path, capsys):
    from agent.cli.main import main
    from agent.episodes.config import load_episode
    from agent.episodes.runner import run_episode

    ep = load_episode(write_episode(tmp_path, "ro-ep"))
    runtime = tiny_runtime()
    base = Path(tempfile.mkdtemp(prefix="l2emg-ro-"))  # outside pytest's private folder: nobody can reach it
    base.chmod(0o755)
    ro, rw = base / "ro-runs", base / "rw-runs"
    ro.mkdir(mode=0o555)
    rw.mkdir(mode=0o777)
    ro.chmod(0o555)
    rw.chmod(0o777)

    def attempt() -> None:
        check_storage(rw / "control", 1)  # the same user can write where it may: the refusal below is the folder's
        run_episode(ep, ro, backend="local", runtime=runtime, progress=False)

    try:
        if os.geteuid() == 0:
            code, msg = _run_as_nobody(attempt)
        else:
            with pytest.raises(RunFolderError) as info:
                attempt()
            code, msg = 3, str(info.value)
        assert code == 3, msg
        assert msg.startswith(f"{ro / 'ro-ep'}: not writable (") and "checked before starting, nothing was run" in msg
        assert "\n" not in msg and list(ro.iterdir()) == []  # no bootstrap, no run folder, no lock
    finally:
        ro.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
    # a disk without the room a run needs: refused the same way, through the CLI in one line
    episode = write_episode(tmp_path, "full-ep")
    rc = main(["run", str(episode), "--runs", str(tmp_path / "runs"), "--backend", "local", "--quiet",
               "--set", "runtime.storage.min_free_mb=1000000000000"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("l2emg: error: ") and " MB free on its disk, a run needs 1000000000000 MB" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "runs" / "synth-small").exists()


def test_storage_faults_are_told_apart_from_other_errors():
    import errno
    import sqlite3

    assert storage_fault(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device"
    assert storage_fault(sqlite3.OperationalError("database or disk is full")).startswith("SQLite")
    wrapped = RuntimeError("task failed")
    wrapped.cause = sqlite3.OperationalError("disk I/O error")  # how a Ray task error carries its cause
    assert storage_fault(wrapped) == "SQLite: disk I/O error"
    assert storage_fault(ValueError("bad")) is None and storage_fault(OSError(errno.ENOENT, "gone")) is None


FILL = """import resource, signal, sys
sys.path.insert(0, {root!r})
from feedback.store import ExperienceStore, Interaction, Verdict
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing the process
store = ExperienceStore(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))  # a disk that fills up after ~400 kB per file
step = 0
try:
    while True:
        store.record(Interaction("ep", step, "dance", "hi", "a person dances", "happy", {{"dance": 1.0}}, list(range(64)),
                                 {{"generate": 1.0}}, {{"phase": "p"}}), Verdict(True, True, True, True, False, "ok", {{"x": "y" * 400}}))
        print(step, flush=True)  # acknowledged: committed
        step += 1
except Exception as exc:
    print("FAILED", type(exc).__name__, exc, flush=True)
"""


def test_a_disk_that_fills_up_keeps_every_acknowledged_interaction(tmp_path):
    """A real write failure (a file-size limit: the kernel refuses the write), not a simulated exception."""
    import sqlite3

    from feedback.store import ExperienceStore

    db = tmp_path / "store.sqlite"
    out = subprocess.run([sys.executable, "-c", FILL.format(root=str(ROOT)), str(db)], capture_output=True, text=True,
                         timeout=120).stdout.splitlines()
    assert out[-1].startswith("FAILED OperationalError") and storage_fault(sqlite3.OperationalError(out[-1]))
    acknowledged = len(out) - 1
    assert acknowledged >= 5
    store = ExperienceStore(db)
    assert store.integrity() == "ok"
    assert store.counts() == {"interactions": acknowledged, "verdicts": acknowledged}
    assert [r["step"] for r in store.interactions("ep")] == list(range(acknowledged))


def test_check_storage_writes_a_probe_and_leaves_nothing(tmp_path):
    check_storage(tmp_path / "a" / "b", min_free_mb=1)
    assert list((tmp_path / "a" / "b").iterdir()) == []


def test_a_truncated_expert_checkpoint_is_refused_and_the_previous_version_served(demo_runs, tmp_path):
    from agent.runtime.empathy import EmpathyPolicy
    from agent.runtime.loop import InteractionLoop
    from agent.runtime.messages import LearningOutcome
    from agent.runtime.resume import _serve_newest_loadable
    from agent.runtime.services import GeneratorService
    from feedback.store import ExperienceStore
    from feedback.update import ExpertUpdatePolicy
    from policies.checkpoint import CheckpointError
    from policies.esmoe.store import read_pointer, save_esmoe

    models = demo_runs / "synth-8"
    v1 = str(next(models.glob("generator-*")))
    pointer = tmp_path / "generator.json"
    gen = GeneratorService(v1, str(models / "tokenizer"), pointer=str(pointer))
    v2 = tmp_path / "experts" / "dance-2"
    save_esmoe(gen.model, v2, extra={"backbone_dir": str(next(models.glob("backbone-*")))})  # a new version, written whole
    shared = v2 / "shared.safetensors"
    shared.write_bytes(shared.read_bytes()[: shared.stat().st_size // 2])  # then cut in half on disk
    with pytest.raises(CheckpointError, match=r"shared.safetensors: altered or truncated"):
        gen.load(str(v2))
    assert gen.checkpoint == v1 and Path(read_pointer(pointer)) == Path(v1).resolve()
    assert gen.generate(["A person waves hello."])[0].codes  # the previous version still answers

    class Backend:  # the loop's view of a backend, with the real generator service and store
        pool_size = 1
        store = ExperienceStore(tmp_path / "store.sqlite")
        load_generator = staticmethod(gen.load)

    loop = InteractionLoop(Backend(), EmpathyPolicy("synth-8"), ExpertUpdatePolicy(2, 0.0), "ep", tmp_path / "experts", v1)
    version = Backend.store.add_expert("dance", str(v2), "training", {}, ("ep", {"event": "learner_started", "step": 0}))
    loop.state.learning = {"scenario": "dance", "version": version, "out": str(v2), "started": time.perf_counter()}
    ok = {"scenario": "dance", "success": 0.0}
    loop._finish_learning(LearningOutcome("done", report={"path": str(v2), "scenario": "dance", "seconds": 1.0,
                                                          "before": {"dance": dict(ok)}, "after": {"dance": {"success": 1.0}}}))
    assert loop.state.checkpoint == v1 and gen.checkpoint == v1  # refused to load: the previous version serves
    assert [e["status"] for e in Backend.store.expert_timeline()] == ["failed"]
    assert [e["event"] for e in Backend.store.events("ep")] == ["learner_started", "learner_failed"]
    assert "altered or truncated" in Backend.store.events("ep")[-1]["error"]
    # a run resumed after v2 had been published and then damaged on disk serves v1, and says so
    Backend.store.set_expert_status("dance", version, "published", None, ("ep", {"event": "expert_published", "step": 1,
                                                                                 "scenario": "dance", "version": version}))
    loop.state.events = Backend.store.events("ep")
    assert _serve_newest_loadable(loop) == v1 and gen.checkpoint == v1
    assert loop.state.events[-1]["event"] == "expert_unloadable" and str(v2) in loop.state.events[-1]["path"]
    # and a generator restarted on a pointer naming the damaged version comes back on the one it is given
    pointer.write_text(json.dumps({"checkpoint": str(v2)}))
    assert GeneratorService(v1, str(models / "tokenizer"), pointer=str(pointer)).checkpoint == v1
    Backend.store.close()
    shutil.rmtree(v2)
