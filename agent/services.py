"""The plain classes behind the runtime's actors (DESIGN §2, §7): each is usable and testable without
Ray; ``agent/actors.py`` wraps one of them per actor."""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from agent.runtime_config import LearnerConfig
from feedback.judges import InteractionJudge, JudgeThresholds
from feedback.store import ExperienceStore, Interaction, Verdict

log = logging.getLogger(__name__)


def _torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(max(1, n))


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

        _torch_threads(threads)
        self.estimator = PerceptionEstimator.load(checkpoint)

    def perceive(self, stimuli: list[dict]) -> list[dict]:
        out = []
        for s in stimuli:
            r = self.estimator.perceive(s.get("utterance"), s.get("positions"), s.get("fps", 20.0), s.get("candidates"))
            out.append({"emotion": r.emotion, "confidence": r.confidence, "uncertain": r.uncertain,
                        "scenario_guess": max(r.scenario, key=r.scenario.get) if r.scenario else None})
        return out


class GeneratorService:
    """ES-MoE text -> motion tokens -> Motion; ``load`` hot-swaps a published checkpoint (refusing a
    half-written one: no manifest, no load)."""

    def __init__(self, checkpoint: str, tokenizer: str, threads: int = 1, pointer: str | None = None) -> None:
        from policies.tokenizer import VQTokenizer
        from policies.torch_utils import pick_device

        _torch_threads(threads)
        self.device = pick_device()  # the actor's GPU share when Ray gave it one; the VQ decoder stays on CPU
        self.tokenizer = VQTokenizer.load(tokenizer)
        self.model = None
        self.checkpoint = ""
        # after a crash the actor comes back serving the last checkpoint it had published, read from disk
        self.pointer = Path(pointer) if pointer else None
        if self.pointer is not None and self.pointer.is_file():
            import json

            checkpoint = json.loads(self.pointer.read_text())["checkpoint"]
        self.load(checkpoint)

    def load(self, checkpoint: str) -> dict:
        import json

        from policies.backbone import load_backbone
        from policies.esmoe.store import MANIFEST, load_esmoe

        path = Path(checkpoint)
        if not (path / MANIFEST).is_file():
            raise FileNotFoundError(f"{path}: no {MANIFEST}: not a published ES-MoE checkpoint (half-written?), not loaded")
        manifest = json.loads((path / MANIFEST).read_text())
        model = load_esmoe(path, load_backbone(manifest["backbone_dir"], self.tokenizer.codebook_size), self.device)
        model.train_mode(False)  # no CGED dropout in the gate weights reported for the first batch
        self.model, self.checkpoint = model, str(path)  # swap only once fully built
        if self.pointer is not None:
            from envs.atomic import atomic_write_text

            atomic_write_text(self.pointer, json.dumps({"checkpoint": self.checkpoint}))
        return {"checkpoint": self.checkpoint, "experts": list(model.bank.names)}

    def experts(self) -> list[str]:
        return list(self.model.bank.names)

    def generate(self, texts: list[str]) -> list[dict]:
        import torch

        from envs.motion.features import decode

        model = self.model
        with torch.no_grad():
            w = model.gate_weights(model.represent(texts)[0], training=False)
        gens = model.generate(texts, greedy=True)
        out = []
        for text, g, row in zip(texts, gens, w.tolist()):
            experts = {n: round(float(x), 4) for n, x in zip(model.bank.names, row)}
            if g.codes is None:
                out.append({"codes": None, "motion": None, "experts": experts, "failure": g.failure or "no motion tokens"})
                continue
            codes = [int(c) for c in g.codes]
            try:
                motion = decode(self.tokenizer.decode_features(g.codes), fps=20.0)
            except ValueError as exc:  # a decode that gives no valid Motion is a recorded failure
                out.append({"codes": codes, "motion": None, "experts": experts, "failure": f"decode: {exc}"})
                continue
            out.append({"codes": codes, "motion": motion, "experts": experts, "failure": None})
        return out


class ExecutorService:
    """One MuJoCo humanoid tracking Motions; returns the result and the executed trajectory's features.
    An invalid motion, a reference no body could follow (NaN, floating, sinking, teleporting: the
    executor's sanity checks) or a simulator error is a failed result, never an exception."""

    def __init__(self, mode: str = "residual") -> None:
        from envs.executor import TrackingExecutor

        self.executor, self.mode = TrackingExecutor(), mode

    def execute(self, motion) -> dict:
        from envs.executor.result import ExecutionResult
        from envs.motion.features import encode

        if motion is None:
            return {"result": ExecutionResult.failed("no_motion", self.mode), "features": None}
        try:
            result = self.executor.execute(motion, mode=self.mode)
        except ValueError as exc:
            log.warning("executor: invalid motion (%s)", exc)
            return {"result": ExecutionResult.failed("invalid_motion", self.mode, detail=str(exc)[:300]), "features": None}
        except Exception as exc:  # a simulator error on one motion must not take the loop down
            log.exception("executor error")
            return {"result": ExecutionResult.failed("executor_error", self.mode, detail=repr(exc)[:300]), "features": None,
                    "error": repr(exc)[:300]}
        try:
            traj = result.trajectory
            features = encode(traj) if traj is not None and len(traj.positions) >= 4 else None
        except ValueError as exc:  # e.g. a non-finite trajectory: judged as having no trajectory
            log.warning("executor: executed trajectory unusable (%s)", exc)
            features = None
        result._trajectory = None  # recomputed on demand; keeps the message small
        return {"result": result, "features": features}


class FeedbackService:
    """Judges every interaction and commits interaction + verdict to the experience store before answering."""

    def __init__(self, store: str, evaluator: str, emotion: str, dataset_dir: str, config: JudgeThresholds) -> None:
        from policies.data import L2EMGDataset

        _torch_threads(1)
        self.judge = build_judge(config, evaluator, emotion, L2EMGDataset(dataset_dir))
        self.store = ExperienceStore(store)

    def record(self, items: list[dict]) -> list[dict]:
        """Each item: interaction (Interaction), result (ExecutionResult), features, scenario. Returns
        {id, verdict} per item, every one already committed."""
        out = []
        for it in items:
            i: Interaction = it["interaction"]
            v: Verdict = self.judge(it["result"], it["features"], i.response_text, i.intended_emotion, i.experts, i.scenario)
            out.append({"id": self.store.record(i, v), "verdict": v})
        return out

    def query(self, method: str, *args):
        """Read-only and expert-table calls on the store (failures_since, last_id, counts, successful_codes,
        add_expert, set_expert_status, published, expert_timeline)."""
        allowed = {"failures_since", "last_id", "counts", "successful_codes", "add_expert", "set_expert_status",
                   "published", "expert_timeline"}
        if method not in allowed:
            raise ValueError(f"unknown store call {method!r}")
        return getattr(self.store, method)(*args)


class ExpertLearner:
    """Trains a new scenario expert on top of a published checkpoint, validates it on held-back requests
    and writes it atomically (``save_esmoe``: temp folder + rename)."""

    def __init__(self, dataset_dir: str, tokenizer: str, evaluator: str, emotion: str, config: LearnerConfig,
                 judges: JudgeThresholds) -> None:
        from policies.backbone.corpus import TokenCorpus
        from policies.data import L2EMGDataset
        from policies.tokenizer import VQTokenizer
        from policies.torch_utils import pick_device

        _torch_threads(config.threads)
        self.config = config
        self.device = pick_device()  # trains on the actor's GPU share when Ray gave it one; judges stay on CPU
        self.tokenizer = VQTokenizer.load(tokenizer)
        ds = L2EMGDataset(dataset_dir)
        self.corpus = TokenCorpus.from_dataset(ds, self.tokenizer)
        self.judge = build_judge(judges, evaluator, emotion, ds)
        self._scores: dict[tuple[str, str], dict] = {}  # (checkpoint, scenario) -> score: a retry re-uses its base's

    def score(self, model, scenario: str) -> dict:
        """Share of held-back requests of ``scenario`` whose generated motion passes the emotional and
        semantic judges (no physics: that needs the executors the loop owns), and the routing accuracy."""
        # every description of the held-back samples, not one each: 13 validation clips a scenario make
        # a one-clip change 8 points, too coarse to tell a regression from noise
        pairs = [(t, s.emotion) for s in self.corpus.select("val", [scenario]) for t in s.texts][: self.config.validation_texts]
        if not pairs:
            return {"success": None, "n": 0}
        texts = [t for t, _ in pairs]
        gens = model.generate(texts, greedy=True)
        emo, sem = [], []
        for (text, emotion), g in zip(pairs, gens):
            f = self.tokenizer.decode_features(g.codes) if g.codes is not None else None
            emo.append(f is not None and self.judge.emotional(f, emotion)[0])
            sem.append(f is not None and self.judge.semantic(f, text)[0])
        routed = model.route(texts) if scenario in model.bank.names else []
        out = {"success": round(float(np.mean(np.logical_and(emo, sem))), 4), "n": len(emo),
               "emotional": round(float(np.mean(emo)), 4), "semantic": round(float(np.mean(sem)), 4)}
        if routed:
            out["routing"] = round(float(np.mean([r == scenario for r in routed])), 4)
        return out

    def _base_score(self, base: str, model, scenario: str) -> dict:
        key = (str(base), scenario)
        if key not in self._scores:
            self._scores[key] = self.score(model, scenario)
        return self._scores[key]

    def train_expert(self, base: str, scenario: str, out: str, self_generated: list[tuple[str, list[int], str | None]],
                     seed: int = 0) -> dict:
        import json

        from policies.backbone import load_backbone
        from policies.backbone.corpus import TokenSample
        from policies.esmoe.store import load_esmoe, save_esmoe
        from policies.esmoe.trainer import learn_scenario

        t0 = time.perf_counter()
        manifest = json.loads((Path(base) / "manifest.json").read_text())
        model = load_esmoe(base, load_backbone(manifest["backbone_dir"], self.tokenizer.codebook_size), self.device)
        if scenario in model.bank.names:
            raise ValueError(f"{base} already has an expert for {scenario!r}")
        old = list(model.bank.names)
        before = {sc: self._base_score(base, model, sc) for sc in old + [scenario]}
        demos = self.corpus.select("train", [scenario])
        extra = [TokenSample(np.asarray(c, dtype=np.int64), [t], e, scenario, "self", f"self-{k}")
                 for k, (t, c, e) in enumerate(self_generated[: self.config.self_generated_max]) if len(c) >= 2]
        settings = dataclasses.replace(model.config.train, steps_per_scenario=self.config.steps, batch=self.config.batch)
        stats = learn_scenario(model, scenario, demos + extra, settings, seed=seed, progress=False)
        after = {sc: self.score(model, sc) for sc in old + [scenario]}
        save_esmoe(model, out, extra={**{k: manifest[k] for k in ("dataset", "backbone_dir") if k in manifest},
                                      "parent": str(base), "new_expert": scenario})
        return {"path": str(out), "scenario": scenario, "demonstrations": len(demos), "self_generated": len(extra),
                "before": before, "after": after, "train": stats, "seconds": round(time.perf_counter() - t0, 1)}
