"""The plain classes behind the runtime's actors (DESIGN §2, §7): each is usable and testable without
Ray; ``agent/runtime/actors.py`` wraps one of them per actor (the learner is in ``learner.py``)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from agent.runtime.messages import STORE_CALLS, Executed, Experience, Generated, Judged, LoadedGenerator, Perceived, Stimulus
from envs.executor.result import ExecutionResult
from feedback.judges import InteractionJudge, JudgeThresholds
from feedback.store import ExperienceStore

log = logging.getLogger(__name__)


def torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(max(1, n))


def lower_thread_priority(niceness: int, idle: bool = False) -> int | None:
    """Set the calling thread's niceness to at least ``niceness`` (0-19). Linux schedules threads, so only
    this thread and the threads it starts later are affected: a learner thread in the driver leaves the loop
    alone. Idempotent; returns the thread's niceness, or None where there is no per-thread priority.

    ``idle``: also move the thread to ``SCHED_IDLE`` (Linux), where every normal thread preempts it at once and
    the kernel counts its core as free when it places a woken thread; a niceness of 19 still takes its slice
    first. No privilege is needed to lower a policy (nor can it be raised back without one)."""
    import os
    import threading

    tid = threading.get_native_id()
    if idle and hasattr(os, "SCHED_IDLE") and os.sched_getscheduler(tid) != os.SCHED_IDLE:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return None
    if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, niceness))
    return os.getpriority(os.PRIO_PROCESS, tid)


class DutyCycle:
    """Paces a loop of work so that it computes at most ``duty`` of the wall time: ``pause()``, called between two
    pieces of work, sleeps (1 - duty) / duty times as long as the piece since the last call took. Unlike a lower
    priority, the work still progresses at a known rate however busy the machine is."""

    def __init__(self, duty: float) -> None:
        if not 0 < duty <= 1:
            raise ValueError(f"duty: {duty} is not a share of wall time in (0, 1]")
        self.duty = duty
        self.paused_s = 0.0
        self._since: float | None = None

    def pause(self) -> None:
        now = time.perf_counter()
        if self._since is not None and self.duty < 1:
            wait = (now - self._since) * (1 - self.duty) / self.duty
            time.sleep(wait)
            self.paused_s += wait
            now = time.perf_counter()
        self._since = now


def build_judge(config: JudgeThresholds, evaluator: str, emotion: str, ds) -> InteractionJudge:
    """The judges from their checkpoints; the semantic judge's distractors are the descriptions of the
    dataset's validation split (never generated from)."""
    from policies.emotion import MotionEmotionClassifier
    from policies.evaluator import MotionTextEvaluator

    return InteractionJudge(config, MotionEmotionClassifier.load(emotion), MotionTextEvaluator.load(evaluator),
                            distractors=[t for s in ds.split("val") for t in s.texts])


class PerceptionService:
    """Partner utterance + partner motion -> perceived emotion and scenario guess (never raises on bad stimuli)."""

    def __init__(self, checkpoint: str, threads: int = 1) -> None:
        from policies.perception import PerceptionEstimator

        torch_threads(threads)
        self.estimator = PerceptionEstimator.load(checkpoint)

    def perceive(self, stimuli: list[Stimulus]) -> list[Perceived]:
        out = []
        for s in stimuli:
            candidates = list(s.candidates) if s.candidates is not None else None
            r = self.estimator.perceive(s.utterance, s.positions, s.fps, candidates)
            out.append(Perceived(r.emotion, r.confidence, r.uncertain, max(r.scenario, key=r.scenario.get) if r.scenario else None))
        return out


class GeneratorService:
    """ES-MoE text -> motion tokens -> Motion; ``load`` hot-swaps a published checkpoint (refusing a
    half-written one: no manifest, no load)."""

    def __init__(self, checkpoint: str, tokenizer: str, threads: int = 1, pointer: str | None = None) -> None:
        from policies.tokenizer import VQTokenizer
        from policies.torch_utils import pick_device

        torch_threads(threads)
        self.device = pick_device()  # the actor's GPU share when Ray gave it one; the VQ decoder stays on CPU
        self.tokenizer = VQTokenizer.load(tokenizer)
        self.model = None
        self.checkpoint = ""
        # after a crash the actor comes back serving the last checkpoint it had published, read from disk
        self.pointer = Path(pointer) if pointer else None
        if self.pointer is not None and self.pointer.is_file():
            from envs.errors import L2EMGError
            from policies.esmoe.store import read_pointer

            try:
                self.load(read_pointer(self.pointer))
            except (L2EMGError, FileNotFoundError) as exc:  # truncated, altered or removed since: the one given instead
                log.warning("generator: the published checkpoint %s names does not load (%s); serving %s", self.pointer, exc,
                            checkpoint)
        if self.model is None:
            self.load(checkpoint)
        self._warm_up()

    def _warm_up(self) -> None:
        """Compile the decoder's step before the first request rather than during it (decode_jit.warm_up)."""
        if self.device.type == "cpu" and self.model.config.decode.decoder == "jit":
            from policies.backbone.decode_jit import warm_up

            log.debug("generator: compiled decoding step ready in %.1f s", warm_up())

    def load(self, checkpoint: str) -> LoadedGenerator:
        from policies.esmoe.store import load_generator, write_pointer

        path = Path(checkpoint)
        model, _ = load_generator(path, self.tokenizer.codebook_size, self.device)  # no manifest (half-written): refused
        model.train_mode(False)  # no CGED dropout in the gate weights reported for the first batch
        self.model, self.checkpoint = model, str(path)  # swap only once fully built
        if self.pointer is not None:
            write_pointer(self.pointer, self.checkpoint)
        return LoadedGenerator(self.checkpoint, list(model.bank.names))

    def experts(self) -> list[str]:
        return list(self.model.bank.names)

    def generate(self, texts: list[str], greedy: bool = True, seed: int = 0, top_k: int = 0,
                 expert: str | None = None) -> list[Generated]:
        """Greedy by default (the loop's setting); ``greedy=False`` samples (seeded, ``top_k`` 0: the whole
        motion vocabulary); ``expert`` serves every text with that expert instead of the gate's choice."""
        import torch

        from envs.motion.features import decode

        model = self.model
        with torch.no_grad():
            if expert is None:
                w = model.gate_weights(model.represent(texts)[0], training=False)
            elif expert in model.bank.names:
                w = torch.nn.functional.one_hot(torch.full((len(texts),), model.bank.names.index(expert)), len(model.bank.names)).float()
            else:
                raise ValueError(f"no expert {expert!r} in {self.checkpoint} (experts: {', '.join(model.bank.names)})")
        gens = model.generate(texts, greedy=greedy, seed=seed, top_k=top_k, expert=expert)
        out = []
        for text, g, row in zip(texts, gens, w.tolist()):
            experts = {n: round(float(x), 4) for n, x in zip(model.bank.names, row)}
            if g.codes is None:
                out.append(Generated(None, None, experts, g.failure or "no motion tokens"))
                continue
            codes = [int(c) for c in g.codes]
            try:
                motion = decode(self.tokenizer.decode_features(g.codes), fps=20.0)
            except ValueError as exc:  # a decode that gives no valid Motion is a recorded failure
                out.append(Generated(codes, None, experts, f"decode: {exc}"))
                continue
            out.append(Generated(codes, motion, experts))
        return out


class ExecutorService:
    """One MuJoCo humanoid tracking Motions; returns the result and the executed trajectory's features.
    An invalid motion, a reference no body could follow (NaN, floating, sinking, teleporting: the
    executor's sanity checks) or a simulator error is a failed result, never an exception."""

    def __init__(self, mode: str | None = None, lookahead: bool = False) -> None:
        """``mode``: none, residual or full (default: configs/executor.yaml's, the executor's own); ``lookahead``: the
        controller's look-ahead among stepping variants where configs/executor.yaml enables it (runtime.yaml's
        ``executor.lookahead``)."""
        import dataclasses

        from envs.executor import TrackingExecutor, load_executor_config

        # every motion this service executes was written by the generator (the loop, generate --execute, interact)
        config = load_executor_config().for_generated_motion()
        if not lookahead:
            config = dataclasses.replace(config, lookahead=dataclasses.replace(config.lookahead, enabled=False))
        self.executor = TrackingExecutor(config)
        self.mode = mode if mode is not None else self.executor.config.mode

    def execute(self, motion) -> Executed:
        from envs.motion.features import encode

        if motion is None:
            return Executed(ExecutionResult.failed("no_motion", self.mode))
        try:
            result = self.executor.execute(motion, mode=self.mode)
        except ValueError as exc:
            log.warning("executor: invalid motion (%s)", exc)
            return Executed(ExecutionResult.failed("invalid_motion", self.mode, detail=str(exc)[:300]))
        except Exception as exc:  # a simulator error on one motion must not take the loop down
            log.exception("executor error")
            return Executed(ExecutionResult.failed("executor_error", self.mode, detail=repr(exc)[:300]), error=repr(exc)[:300])
        try:
            traj = result.trajectory
            features = encode(traj) if traj is not None and len(traj.positions) >= 4 else None
        except ValueError as exc:  # e.g. a non-finite trajectory: judged as having no trajectory
            log.warning("executor: executed trajectory unusable (%s)", exc)
            features = None
        result.forget_trajectory()  # recomputed on demand; keeps the message small
        return Executed(result, features)


class FeedbackService:
    """Judges every interaction and commits interaction + verdict to the experience store before answering."""

    def __init__(self, store: str, evaluator: str, emotion: str, dataset_dir: str, config: JudgeThresholds) -> None:
        from policies.data import L2EMGDataset

        torch_threads(1)
        self.judge = build_judge(config, evaluator, emotion, L2EMGDataset(dataset_dir))
        self.store = ExperienceStore(store)

    def record(self, experiences: list[Experience]) -> list[Judged]:
        """Judge each experience and commit interaction + verdict; every one is committed before this returns."""
        out = []
        for x in experiences:
            i, e = x.interaction, x.executed
            v = self.judge(e.result, e.features, i.response_text, i.intended_emotion, i.experts, i.scenario)
            out.append(Judged(self.store.record(i, v), v))
        return out

    def query(self, call: str, *args):
        """One of the store calls the loop makes (``messages.StoreClient``), answered from this service's
        store: the single entry point the Ray feedback actor offers for them."""
        if call not in STORE_CALLS:
            raise ValueError(f"unknown store call {call!r}")
        return getattr(self.store, call)(*args)
