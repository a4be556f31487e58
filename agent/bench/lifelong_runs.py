"""A lifelong benchmark's results folder, so a full run can be done in parts (``--resume``): a manifest fixing
what the folder holds (benchmark file hash, split, code version, overrides), one JSON file per finished
(method, seed, order) run, and the plan of trainings with a time budget per part and an ETA."""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from envs.atomic import atomic_write_text

MANIFEST = "manifest.json"
# what must match for --resume to add runs to a folder: one table, one protocol, one code version, one set of models
# (models: the weights' fingerprints, so a folder carried to another checkout resumes only on bit-identical rebuilds)
MUST_MATCH = ("benchmark", "config_sha256", "split", "code", "overrides", "dataset", "models")  # code: lifelong_protocol.code_version


@dataclass
class PlannedRun:
    """One training (one method's training, a seed, an order) and the table rows it fills."""

    train_key: str
    views: list[str]
    seed: int
    order_index: int
    order: list[str]

    @property
    def label(self) -> str:
        return f"{self.train_key} seed {self.seed} order {self.order_index}"


def plan_runs(groups: dict[str, list[str]], seeds: list[int], orders: list[list[str]], joint: set[str],
              orders_for: dict[str, int] | None = None) -> list[PlannedRun]:
    """Seeds outermost, then orders, then methods: a part that stops early leaves every method with about
    the same number of runs. A joint method (MTL) has no order: one run per seed. ``orders_for`` caps the
    orders of some trainings (ablations)."""
    out = []
    for seed in seeds:
        for i, order in enumerate(orders):
            for key, views in groups.items():
                if key in joint and i > 0:
                    continue
                if orders_for and i >= orders_for.get(key, len(orders)):
                    continue
                out.append(PlannedRun(key, list(views), seed, i, list(order)))
    return out


def shard_plan(plan: list[PlannedRun], index: int, count: int) -> list[PlannedRun]:
    """The runs shard ``index`` of ``count`` trains (every count-th, from ``index``): processes on separate cores
    fill one results folder side by side (``--shard 0/2`` and ``--shard 1/2``), each run saved by the one that
    trained it."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {index}/{count}: needs 0 <= I < N")
    return [r for i, r in enumerate(plan) if i % count == index]


@dataclass
class RunStore:
    out: Path
    parts: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.runs_dir = self.out / "runs"

    def manifest(self) -> dict | None:
        p = self.out / MANIFEST
        return json.loads(p.read_text()) if p.is_file() else None

    def open(self, manifest: dict, resume: bool, shard: str | None = None) -> dict:
        """Start a folder, or continue one with ``resume``; refuses to mix protocols or code versions. ``shard``
        (``I/N``): this process trains one shard of the plan; the other shards may open the folder too."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(exist_ok=True)
        with (self.out / ".manifest.lock").open("w") as lock:  # shards open the folder at the same moment
            fcntl.flock(lock, fcntl.LOCK_EX)
            old = self.manifest()
            if old is not None and not resume:
                raise ValueError(f"{self.out} already holds results ({len(self.finished())} runs); continue them with "
                                 "--resume, or give another --out")
            for k in MUST_MATCH:
                if old is not None and old.get(k) != manifest.get(k):
                    raise ValueError(f"--resume {self.out}: {k} differs ({old.get(k)!r} there, {manifest.get(k)!r} now); "
                                     "one table holds one protocol on one code version and one set of models: use another --out")
            merged = dict(old or manifest)
            merged["parts"] = list((old or {}).get("parts", [])) + [
                {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": manifest.get("commit"),
                 "dirty": manifest.get("dirty"), "machine": machine(), **({"shard": shard} if shard else {})}]
            atomic_write_text(self.out / MANIFEST, json.dumps(merged, indent=2))
        return merged

    def path(self, method: str, seed: int, order_index: int) -> Path:
        return self.runs_dir / f"{method}__seed{seed}__order{order_index}.json"

    def done(self, run: PlannedRun) -> bool:
        return all(self.path(v, run.seed, run.order_index).is_file() for v in run.views)

    def save(self, method: str, seed: int, order_index: int, record: dict) -> Path:
        path = self.path(method, seed, order_index)
        atomic_write_text(path, json.dumps(record))
        return path

    def finished(self) -> list[dict]:
        """Every finished run in the folder (from any part)."""
        if not self.runs_dir.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.runs_dir.glob("*.json"))]


def machine() -> str:
    """The CPU a part ran on (model, cores, widest vector units): runs of one table trained on different CPUs
    differ in their last bits, and the manifest says where each part ran."""
    import os
    import platform

    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model is None:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:  # not Linux: the platform's own name
        pass
    name = model or platform.processor() or platform.machine()
    isa = [f for f in ("avx512f", "avx2", "amx_tile") if f in flags]
    return f"{name}, {os.cpu_count()} cores" + (f", {'/'.join(isa)}" if isa else "")


class Schedule:
    """Which planned trainings this part runs, and the ETA: a training starts only if the part's elapsed time
    plus its expected duration (that method's mean so far, else the mean of all, else nothing known) stays
    within the budget."""

    def __init__(self, plan: list[PlannedRun], store: RunStore, budget_s: float | None) -> None:
        self.todo = [r for r in plan if not store.done(r)]
        self.total = len(plan)
        self.budget_s = budget_s
        self.durations: dict[str, list[float]] = {}
        for rec in store.finished():
            if rec.get("method") == rec.get("train_key"):  # a shared training is counted once
                self.durations.setdefault(rec["train_key"], []).append(rec["seconds"])
        self.t0 = time.perf_counter()

    def expected(self, key: str) -> float | None:
        own = self.durations.get(key)
        if own:
            return sum(own) / len(own)
        every = [d for v in self.durations.values() for d in v]
        return sum(every) / len(every) if every else None

    def eta(self) -> float | None:
        """Seconds the remaining trainings (all parts) are expected to take."""
        guesses = [self.expected(r.train_key) for r in self.todo]
        return None if any(g is None for g in guesses) else sum(guesses)

    def fits(self, run: PlannedRun) -> bool:
        if self.budget_s is None:
            return True
        need = self.expected(run.train_key) or 0.0
        return time.perf_counter() - self.t0 + need <= self.budget_s

    def finished(self, run: PlannedRun, seconds: float) -> None:
        self.durations.setdefault(run.train_key, []).append(seconds)
        self.todo.remove(run)
