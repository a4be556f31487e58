"""One wired runtime session: a backend (Ray actors or in-process services) over bootstrapped models, the
interaction loop on it and the partner source; the same wiring for the episode runner and the runtime
benchmark."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from agent.recipes.bootstrap import RuntimeAssets
from agent.runtime.config import RuntimeConfig
from agent.runtime.empathy import EmpathyPolicy
from agent.runtime.loop import Backend, InteractionLoop
from agent.runtime.stimuli import StimulusSource
from feedback.update import ExpertUpdatePolicy

def make_backend(kind: Literal["ray", "local"], config: RuntimeConfig, assets: RuntimeAssets, out: Path,
                 executors: int) -> Backend:
    """Every service of the loop over ``assets``, writing its store and generator pointer into ``out``."""
    store, pointer = str(out / "store.sqlite"), str(out / "generator.json")
    if kind == "ray":
        from agent.runtime.actors import RayBackend

        return RayBackend(config, assets, store, pointer, executors)
    if kind != "local":
        raise ValueError(f"backend must be ray or local, got {kind!r}")
    from agent.runtime.learner import ExpertLearner
    from agent.runtime.local_backend import LocalBackend
    from agent.runtime.services import ExecutorService, FeedbackService, GeneratorService, PerceptionService

    return LocalBackend(PerceptionService(assets.perception), GeneratorService(assets.generator, assets.tokenizer, pointer=pointer),
                        [ExecutorService(config.executor.mode, config.executor.lookahead) for _ in range(executors)],
                        FeedbackService(store, assets.evaluator, assets.emotion, assets.dataset_dir, config.judges),
                        lambda: ExpertLearner(assets.dataset_dir, assets.tokenizer, assets.evaluator, assets.emotion,
                                              config.learner, config.judges))


@dataclass
class Session:
    backend: Backend
    loop: InteractionLoop
    stimuli: StimulusSource

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_session(assets: RuntimeAssets, runtime: RuntimeConfig, out: Path, policy: ExpertUpdatePolicy, *, dataset: str,
                 name: str, backend: Literal["ray", "local"] = "ray", executors: int = 1, seed: int = 0,
                 self_generated: bool = True, on_record: Callable[[dict], None] | None = None,
                 on_event: Callable[[dict], None] | None = None) -> Session:
    """Start the backend, load the bootstrap generator into the loop, and open the partner source (its test
    split). ``name`` keys the store's interactions; ``policy`` decides when experts are trained."""
    b = make_backend(backend, runtime, assets, out, executors)
    try:
        loop = InteractionLoop(b, EmpathyPolicy(dataset, seed=seed), policy, name, out / "experts", assets.generator,
                               self_generated, seed, on_record, on_event)
        source = StimulusSource(assets.dataset_dir, seed)
    except BaseException:
        b.close()
        raise
    return Session(b, loop, source)
