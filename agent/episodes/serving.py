"""What the episode runner serves and writes while it runs: the batches of each phase drawn on demand
(``PhaseDraws``, the same for the serial and the pipelined loop), and the run's JSON-lines logs
(``RunLogs``), rebuilt from the store on ``run --resume``."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from agent.episodes.config import EpisodeConfig
from agent.runtime.pipeline import SETTLE
from envs.atomic import atomic_write_text

log = logging.getLogger("agent.episodes.runner")  # the runner's progress lines: shown by the CLI, hidden by --quiet


def _plain(x):
    """numpy scalars in JSON lines."""
    return x.item() if hasattr(x, "item") else str(x)


class PhaseDraws:
    """The episode's batches in order, drawn on demand (``draws()`` -> (stimuli, phase, source states, phase
    index) or None at the end): a phase serves its ``interactions``, and more while a learner trains when
    ``until_learner_done``, up to its ``max_interactions``; ``size`` partners a batch. ``done``: interactions
    each phase (by index) already served before a resume; those phases go on from there. Whether a learner
    trains is read on judged state: when a phase's own interactions are drawn, ``draws()`` returns ``SETTLE``
    once, so that a pipelined loop judges every batch in flight (whose verdicts may start the learner) before
    the phase is ended."""

    def __init__(self, ep: EpisodeConfig, loop, source, size: int, done: dict[int, int] | None = None) -> None:
        self.loop, self.source, self.size = loop, source, size
        self.done = dict(done or {})
        self.phases = iter(enumerate(ep.phases))
        self.phase = None
        self.index = -1
        self.k = self.n_max = 0
        self.served = 0  # rows judged so far (the caller counts)

    def __call__(self) -> tuple[list, str, list[dict], int] | object | None:
        while True:
            if self.phase is None:
                nxt = next(self.phases, None)
                if nxt is None:
                    return None
                self.index, self.phase = nxt
                self.k, self.n_max = self.done.get(self.index, 0), self.phase.max_interactions or self.phase.interactions
                self.settled = False
            ph = self.phase
            if ph.until_learner_done and self.k >= ph.interactions and not self.settled:
                self.settled = True
                return SETTLE
            more = ph.until_learner_done and self.loop.state.learning is not None
            if self.k < self.n_max and (self.k < ph.interactions or more):
                n = min(self.size, self.n_max - self.k)
                batch, states = [], []
                for j in range(n):  # the source's state after each draw goes with it into the store (resume)
                    batch.append(self.source.draw(ph.scenarios[(self.k + j) % len(ph.scenarios)], ph.utterances or None))
                    states.append(self.source.random_state())
                self.k += n
                return batch, ph.name, states, self.index
            self.phase = None


class RunLogs:
    """metrics.jsonl and events.jsonl: append-only, flushed line by line. They mirror the store (the truth): on
    resume both are rewritten from it before new lines are appended, so a line torn by a kill or a line the kill
    came before is mended."""

    def __init__(self, out: Path, rows: list[dict]) -> None:
        self.out, self.rows = out, rows
        self.metrics = self.events = None
        self.resumed: dict | None = None

    def start(self, loop, source, resume: bool) -> tuple[dict[int, int], set]:
        if not resume:
            self.metrics, self.events = (self.out / "metrics.jsonl").open("a"), (self.out / "events.jsonl").open("a")
            return {}, set()
        from agent.runtime.resume import recover

        rec = recover(loop, _read_jsonl(self.out / "metrics.jsonl"))
        if rec.random_state and rec.random_state.get("source"):
            source.restore_random_state(rec.random_state["source"])
        self.rows.extend(rec.rows)
        atomic_write_text(self.out / "metrics.jsonl", "".join(json.dumps(r, default=_plain) + "\n" for r in rec.rows))
        atomic_write_text(self.out / "events.jsonl", "".join(json.dumps(e, default=_plain) + "\n" for e in loop.state.events))
        self.metrics, self.events = (self.out / "metrics.jsonl").open("a"), (self.out / "events.jsonl").open("a")
        self.resumed = {"at_step": len(rec.rows), "serving": Path(rec.served_again).name if rec.served_again else None}
        log.info("  resuming at step %d: %s", len(rec.rows), ", ".join(f"phase {i}: {n} done" for i, n in sorted(rec.done.items())))
        return rec.done, rec.replayed

    def record(self, row: dict) -> None:
        self.rows.append(row)
        self.metrics.write(json.dumps(row, default=_plain) + "\n")
        self.metrics.flush()

    def event(self, e: dict) -> None:
        if self.events is not None:  # events while resuming are written with the others once the log is rebuilt
            self.events.write(json.dumps(e, default=_plain) + "\n")
            self.events.flush()
        log.info("  [%7.1f s, step %s] %s: %s", e["t_s"], e["step"], e["event"],
                 ", ".join(f"{k}={v}" for k, v in e.items() if k in ("scenario", "why", "error", "seconds")))

    def close(self) -> None:
        for f in (self.metrics, self.events):
            if f is not None:
                try:
                    f.close()
                except OSError:  # the disk that failed: what the store holds is the record
                    pass


def _read_jsonl(path: Path) -> dict[int, dict]:
    """Complete lines by step (a line torn by a kill is dropped: the store rebuilds it)."""
    out = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
                out[int(row["step"])] = row
            except (ValueError, KeyError, TypeError):
                continue
    return out
