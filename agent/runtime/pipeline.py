"""The loop with its stages overlapping (DESIGN §7): while batch k executes, batch k+1 is perceived and
generated and batch k-1 judged. One thread per stage group (perceive + generate, execute, judge) with a
bounded queue between them (back-pressure: a stage waits when the next one is ``depth`` batches behind).
Steps are numbered and verdicts committed in batch order by the one judging thread, so the store holds
what the serial loop writes for the same seed as long as no expert lands meanwhile (a landing takes
effect one or two batches later than in the serial loop: those batches were generated already). The
learner is still only polled between batches, by the judging thread, and never waited for."""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from agent.runtime.loop import InteractionLoop
from agent.runtime.messages import Stimulus

_DONE = object()
SETTLE = object()
"""What ``draw()`` returns to decide on judged state: the front stage waits until every batch drawn so far has
been judged (and the learner started or concluded by those verdicts), then calls ``draw()`` again. A serial
loop is always settled and just draws again."""


@dataclass
class _Batch:
    stimuli: list[Stimulus]
    phase: str
    states: list[dict] | None = None  # the partner source's random state after each draw (stored: run --resume)
    phase_index: int | None = None
    t: dict[str, float] = field(default_factory=dict)
    requests: list = field(default_factory=list)
    generated: list = field(default_factory=list)
    executed: list = field(default_factory=list)
    started: float = 0.0


class PipelinedLoop:
    """Drives ``loop`` over batches from ``draw()`` (None ends the run) with overlapping stages."""

    def __init__(self, loop: InteractionLoop, depth: int = 1) -> None:
        if depth < 1:
            raise ValueError(f"pipeline depth must be >= 1, got {depth}")
        self.loop, self.depth = loop, depth

    def run(self, draw: Callable[[], tuple | None],
            on_rows: Callable[[list[dict]], None] | None = None) -> list[dict]:
        """Serve every batch ``draw`` hands out ((stimuli, phase), optionally followed by the source states and the
        phase index, as ``InteractionLoop.run_batch`` takes them); ``on_rows`` sees each judged batch's rows (in order). The
        first stage error stops the run and is raised here, after every earlier batch was judged."""
        to_execute: queue.Queue = queue.Queue(self.depth)
        to_judge: queue.Queue = queue.Queue(self.depth)
        failure: list[BaseException] = []
        halt = threading.Event()  # no more batches are drawn (a later stage failed)
        abort = threading.Event()  # everything stops at once (the judging stage failed)
        rows: list[dict] = []
        settled = threading.Condition()
        counts = {"drawn": 0, "judged": 0}

        def put(q: queue.Queue, item, *unless: threading.Event) -> bool:
            while not any(e.is_set() for e in (abort, *unless)):
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def items(q: queue.Queue) -> Iterator:
            while not abort.is_set():
                try:
                    item = q.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _DONE:
                    return
                yield item

        def front() -> None:
            try:
                while not halt.is_set():
                    nxt = draw()
                    if nxt is None:
                        break
                    if nxt is SETTLE:
                        with settled:
                            while counts["judged"] < counts["drawn"] and not (halt.is_set() or abort.is_set()):
                                settled.wait(0.1)
                        continue
                    counts["drawn"] += 1
                    b = _Batch(*nxt, started=time.perf_counter())
                    b.requests, b.t = self.loop.request(b.stimuli, b.states)
                    b.generated = self.loop.generate(b.requests, b.t)
                    if not put(to_execute, b, halt):
                        return
            except BaseException as exc:  # noqa: BLE001 - raised in the caller once the batches before it are judged
                failure.append(exc)
            put(to_execute, _DONE, halt)

        def middle() -> None:
            try:
                for b in items(to_execute):
                    b.executed = self.loop.execute(b.generated, b.t)
                    if not put(to_judge, b):
                        return
            except BaseException as exc:  # noqa: BLE001
                failure.append(exc)
                halt.set()
            put(to_judge, _DONE)

        threads = [threading.Thread(target=front, name="pipeline-front", daemon=True),
                   threading.Thread(target=middle, name="pipeline-execute", daemon=True)]
        for th in threads:
            th.start()
        try:
            for b in items(to_judge):  # the judging stage runs here, in the caller's thread
                got = self.loop.judge(b.requests, b.generated, b.executed, b.phase, b.t, wall=time.perf_counter() - b.started,
                                      phase_index=b.phase_index)
                rows.extend(got)
                if on_rows is not None:
                    on_rows(got)
                with settled:
                    counts["judged"] += 1
                    settled.notify_all()
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)
            abort.set()
        finally:
            halt.set()
            for th in threads:
                th.join()
        if failure:
            raise failure[0]
        return rows
