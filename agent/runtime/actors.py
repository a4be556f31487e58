"""Ray actors (DESIGN §7): thin wrappers over the plain services, and the loop's Ray backend.

``ray.init()`` with no address starts an embedded local cluster; ``RAY_ADDRESS`` joins an existing one.
Every actor restarts on a crash and rebuilds its state from disk (checkpoints, the SQLite store); calls
that are safe to repeat (execution, perception, generation, recording: idempotent on episode + step)
are retried on the restarted actor."""
from __future__ import annotations

import logging
import os
import time

from agent.runtime.config import RuntimeConfig
from agent.runtime.learner import ExpertLearner
from agent.runtime.messages import (STORE_CALLS, Executed, Experience, Generated, Judged, LearningOutcome, LoadedGenerator,
                                    Perceived, Stimulus)
from agent.runtime.placement import SERVICES
from agent.runtime.services import ExecutorService, FeedbackService, GeneratorService, PerceptionService
from envs.executor.result import ExecutionResult

log = logging.getLogger(__name__)
# $MUJOCO_GL only where the user set it: set, every worker's `import mujoco` loads its GL stack (envs/gl.py)
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "L2EMG_TORCH_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
              **({"MUJOCO_GL": os.environ["MUJOCO_GL"]} if "MUJOCO_GL" in os.environ else {})}


def init_ray(config: RuntimeConfig):
    import ray

    if ray.is_initialized():
        return ray
    env = {"env_vars": THREAD_ENV}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(runtime_env=env, log_to_driver=False)
    else:
        # "local": always a new embedded cluster, never one a `ray start` left behind (a stale
        # /tmp/ray/ray_current_cluster made ray.init() join it and refuse num_cpus)
        ray.init(address="local", num_cpus=config.ray.num_cpus, include_dashboard=False, runtime_env=env,
                 log_to_driver=False, configure_logging=True, logging_level=logging.WARNING)
    return ray


class RayStoreClient:
    """``messages.StoreClient`` over the feedback actor, which owns the store: each call is forwarded to its
    ``query`` entry point (retried across a restart: every store call is idempotent or read-only)."""

    def __init__(self, feedback, get) -> None:
        self._feedback, self._get = feedback, get

    def __getattr__(self, call: str):
        if call not in STORE_CALLS:
            raise AttributeError(call)
        return lambda *args: self._get(lambda: self._feedback.query.remote(call, *args))


class RayBackend:
    """The loop's backend on Ray actors (same interface as LocalBackend)."""

    def __init__(self, config: RuntimeConfig, assets, store: str, pointer: str, executors: int,
                 startup_timeout_s: float = 600.0) -> None:
        from agent.runtime.placement import cluster_nodes, place, plan_shares, strategy

        ray = init_ray(config)
        self.ray, r = ray, config.ray
        nodes = cluster_nodes(ray)
        here = ray.get_runtime_context().get_node_id()
        driver_cpus = next((n.get("CPU", 0.0) for n in nodes if n["id"] == here), 0.0)
        plan = plan_shares(r, executors, driver_cpus, [n.get("CPU", 0.0) for n in nodes], sum(n.get("GPU", 0.0) for n in nodes))
        self.groups = place(ray, plan, here, r.placement_timeout_s)
        shares = {s.actor: s for s in plan.shares}
        slot = {s.actor: (self.groups[0], k) for k, s in enumerate(plan.services)}
        slot.update({s.actor: (self.groups[1], k) for k, s in enumerate(plan.executors)})

        def opts(name: str, retries: int = r.max_restarts) -> dict:
            return {"num_cpus": shares[name].cpus, "num_gpus": shares[name].gpus, "max_restarts": r.max_restarts,
                    "max_task_retries": retries, "scheduling_strategy": strategy(*slot[name])}

        self.shares = plan.shares
        self.perception = ray.remote(PerceptionService).options(**opts("perception")).remote(assets.perception)
        self.generator = ray.remote(GeneratorService).options(**opts("generator")).remote(assets.generator, assets.tokenizer,
                                                                                          1, pointer)
        self.executors = [ray.remote(ExecutorService).options(**opts(f"executor-{k}")).remote(config.executor.mode,
                                                                                           config.executor.lookahead)
                          for k in range(executors)]
        self.feedback = ray.remote(FeedbackService).options(**opts("feedback")).remote(
            store, assets.evaluator, assets.emotion, assets.dataset_dir, config.judges)
        # a crashed training job is not re-run blindly: the loop records it and the update policy decides
        self.learner = ray.remote(ExpertLearner).options(**opts("learner", retries=0)).remote(
            assets.dataset_dir, assets.tokenizer, assets.evaluator, assets.emotion, config.learner, config.judges)
        self.pool_size = executors
        self.store = RayStoreClient(self.feedback, self._get)
        self._job = None
        actors = {"perception": self.perception, "generator": self.generator, "feedback": self.feedback,
                  "learner": self.learner, **{f"executor-{k}": a for k, a in enumerate(self.executors)}}
        refs = {name: a.__ray_ready__.remote() for name, a in actors.items()}
        ready, pending = ray.wait(list(refs.values()), num_returns=len(refs), timeout=startup_timeout_s)
        if pending:
            waiting = [name for name, ref in refs.items() if ref in pending]
            self.close()
            raise RuntimeError(f"Ray actors {', '.join(waiting)} did not start within {startup_timeout_s:.0f} s (placed, "
                               f"but still loading their models; cluster: {ray.cluster_resources()})")
        ray.get(ready)  # an actor whose constructor raised fails here, with its error

    def _get(self, make_ref, attempts: int = 4):
        """ray.get with retries across an actor restart (Ray retries in-flight tasks; this covers the window
        where a call is submitted to an actor that is just dying)."""
        from ray.exceptions import RayActorError

        for k in range(attempts):
            try:
                return self.ray.get(make_ref())
            except RayActorError:
                if k == attempts - 1:
                    raise
                log.warning("actor died during a call; retrying on the restarted actor")
                time.sleep(0.5 * (k + 1))

    def perceive(self, stimuli: list[Stimulus]) -> list[Perceived]:
        return self._get(lambda: self.perception.perceive.remote(stimuli))

    def generate(self, instructions: list[str]) -> list[Generated]:
        return self._get(lambda: self.generator.generate.remote(instructions))

    def execute(self, motions: list) -> list[Executed]:
        """Round-robin over the executor pool, all in flight at once. An executor that keeps dying on a
        motion (restarts used up) gives a failed result for it, not a crashed loop."""
        from ray.exceptions import RayActorError, RayTaskError

        n = self.pool_size
        refs = [self.executors[i % n].execute.remote(m) for i, m in enumerate(motions)]
        out = []
        for i, ref in enumerate(refs):
            try:
                out.append(self.ray.get(ref))
            except RayActorError:
                try:
                    out.append(self._get(lambda i=i: self.executors[i % n].execute.remote(motions[i])))
                except (RayActorError, RayTaskError) as exc:
                    log.error("executor lost for good on a motion: %s", exc)
                    out.append(Executed(ExecutionResult.failed("executor_error", "unknown", detail=str(exc)[:300])))
        return out

    def record(self, experiences: list[Experience]) -> list[Judged]:
        return self._get(lambda: self.feedback.record.remote(experiences))

    def load_generator(self, path: str) -> LoadedGenerator:
        return self._get(lambda: self.generator.load.remote(path))

    def start_learning(self, base: str, scenario: str, out: str, self_generated: list, seed: int) -> None:
        self._job = self.learner.train_expert.remote(base, scenario, out, self_generated, seed)

    def poll_learning(self) -> LearningOutcome | None:
        if self._job is None:
            return None
        ready, _ = self.ray.wait([self._job], timeout=0)
        if not ready:
            return None
        job, self._job = self._job, None
        try:
            return LearningOutcome("done", report=self.ray.get(job))
        except Exception as exc:  # the actor crashed or training raised: recorded by the loop
            return LearningOutcome("error", error=f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}")

    def where(self) -> dict[str, str]:
        """Actor -> the id of the node its bundle is on now (the placement groups' tables)."""
        from ray.util import placement_group_table

        out = {}
        for pg, names in ((self.groups[0], SERVICES), (self.groups[1], [f"executor-{k}" for k in range(self.pool_size)])):
            nodes = placement_group_table(pg)["bundles_to_node_id"]
            out.update({name: nodes.get(k, "") for k, name in enumerate(names)})
        return out

    def close(self) -> None:
        from ray.util.placement_group import remove_placement_group

        for a in [self.perception, self.generator, self.feedback, self.learner, *self.executors]:
            self.ray.kill(a, no_restart=True)
        for pg in self.groups:
            remove_placement_group(pg)
