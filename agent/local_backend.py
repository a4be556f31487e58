"""The loop's backend with every service in this process (tests, debugging, machines without Ray);
the learner runs on a background thread."""
from __future__ import annotations

import threading

from agent.services import ExecutorService, ExpertLearner, FeedbackService, GeneratorService, PerceptionService


class LocalBackend:
    def __init__(self, perception: PerceptionService, generator: GeneratorService, executors: list[ExecutorService],
                 feedback: FeedbackService, learner_factory) -> None:
        self.perception, self.generator, self.executors, self.feedback = perception, generator, executors, feedback
        self.pool_size = len(executors)
        self._learner_factory = learner_factory  # built on first use: it encodes the whole corpus
        self._learner: ExpertLearner | None = None
        self._job: threading.Thread | None = None
        self._result: tuple[str, object] | None = None

    def perceive(self, stimuli: list[dict]) -> list[dict]:
        return self.perception.perceive(stimuli)

    def generate(self, texts: list[str]) -> list[dict]:
        return self.generator.generate(texts)

    def execute(self, motions: list) -> list[dict]:
        return [self.executors[i % self.pool_size].execute(m) for i, m in enumerate(motions)]

    def record(self, items: list[dict]) -> list[dict]:
        return self.feedback.record(items)

    def store(self, method: str, *args):
        return self.feedback.query(method, *args)

    def load_generator(self, path: str) -> dict:
        return self.generator.load(path)

    def start_learning(self, base: str, scenario: str, out: str, self_generated: list, seed: int) -> None:
        if self._job is not None and self._job.is_alive():
            raise RuntimeError("a learner job is already running")
        self._result = None

        def work() -> None:
            try:
                if self._learner is None:
                    self._learner = self._learner_factory()
                self._result = ("done", self._learner.train_expert(base, scenario, out, self_generated, seed))
            except BaseException as exc:  # reported to the loop, which records the failure
                self._result = ("error", f"{type(exc).__name__}: {exc}")

        self._job = threading.Thread(target=work, name="learner", daemon=True)
        self._job.start()

    def poll_learning(self) -> tuple[str, object] | None:
        if self._job is None or self._job.is_alive():
            return None
        self._job = None
        return self._result

    def close(self) -> None:
        """Does not wait for a running learner: its thread is a daemon, and an expert it leaves half-written
        is a ``.tmp`` folder no generator loads."""
        self.feedback.store.close()
