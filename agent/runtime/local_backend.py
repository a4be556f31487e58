"""The loop's backend with every service in this process (tests, debugging, machines without Ray);
the learner runs on a background thread."""
from __future__ import annotations

import logging
import threading

from agent.runtime.learner import ExpertLearner
from agent.runtime.messages import Executed, Experience, Generated, Judged, LearningOutcome, LoadedGenerator, Perceived, Stimulus
from agent.runtime.services import ExecutorService, FeedbackService, GeneratorService, PerceptionService

log = logging.getLogger(__name__)


class LocalBackend:
    """Every service in this process; the store is the feedback service's own ``ExperienceStore``."""

    def __init__(self, perception: PerceptionService, generator: GeneratorService, executors: list[ExecutorService],
                 feedback: FeedbackService, learner_factory) -> None:
        self.perception, self.generator, self.executors, self.feedback = perception, generator, executors, feedback
        self.pool_size = len(executors)
        self.store = feedback.store
        self._learner_factory = learner_factory  # built on first use: it encodes the whole corpus
        self._learner: ExpertLearner | None = None
        self._job: threading.Thread | None = None
        self._result: LearningOutcome | None = None
        self._stop = threading.Event()

    def perceive(self, stimuli: list[Stimulus]) -> list[Perceived]:
        return self.perception.perceive(stimuli)

    def generate(self, instructions: list[str]) -> list[Generated]:
        return self.generator.generate(instructions)

    def execute(self, motions: list) -> list[Executed]:
        return [self.executors[i % self.pool_size].execute(m) for i, m in enumerate(motions)]

    def record(self, experiences: list[Experience]) -> list[Judged]:
        return self.feedback.record(experiences)

    def load_generator(self, path: str) -> LoadedGenerator:
        return self.generator.load(path)

    def start_learning(self, base: str, scenario: str, out: str, self_generated: list, seed: int) -> None:
        if self._job is not None and self._job.is_alive():
            raise RuntimeError("a learner job is already running")
        self._result = None

        def work() -> None:
            try:
                if self._learner is None:
                    self._learner = self._learner_factory()
                self._result = LearningOutcome("done", report=self._learner.train_expert(base, scenario, out, self_generated, seed,
                                                                                    should_stop=self._stop.is_set))
            except BaseException as exc:  # reported to the loop, which records the failure
                self._result = LearningOutcome("error", error=f"{type(exc).__name__}: {exc}")

        self._job = threading.Thread(target=work, name="learner", daemon=True)
        self._job.start()

    def poll_learning(self) -> LearningOutcome | None:
        if self._job is None or self._job.is_alive():
            return None
        self._job = None
        return self._result

    def close(self, learner_timeout_s: float = 120.0) -> None:
        """A running learner is asked to stop (between two training steps; it writes nothing then) and waited
        for up to ``learner_timeout_s``: a thread left inside torch when the interpreter exits aborts the
        process ("terminate called without an active exception", exit 134). An expert it leaves half-written
        is a ``.tmp`` folder no generator loads."""
        self._stop.set()
        job = self._job
        if job is not None and job.is_alive():
            job.join(learner_timeout_s)
            if job.is_alive():
                log.warning("the learner did not stop within %.0f s; the process may abort when it exits", learner_timeout_s)
        self.feedback.store.close()
