"""The background learner (DESIGN §2): a new scenario expert trained on top of a published checkpoint,
validated on held-back requests and written atomically. Wrapped by the Ray learner actor."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from agent.runtime.config import LearnerConfig
from agent.runtime.services import DutyCycle, build_judge, lower_thread_priority, torch_threads
from feedback.judges import JudgeThresholds


class ExpertLearner:
    """Trains a new scenario expert on top of a published checkpoint, validates it on held-back requests
    and writes it atomically (``save_esmoe``: temp folder + rename)."""

    def __init__(self, dataset_dir: str, tokenizer: str, evaluator: str, emotion: str, config: LearnerConfig,
                 judges: JudgeThresholds) -> None:
        from policies.backbone.corpus import TokenCorpus
        from policies.data import L2EMGDataset
        from policies.tokenizer import VQTokenizer
        from policies.torch_utils import pick_device

        torch_threads(config.threads)
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
                     seed: int = 0, should_stop=None) -> dict:
        """``should_stop()`` is asked between training steps (the local backend closing): the job then ends with
        TrainingCancelled and writes nothing."""
        from policies.backbone.corpus import TokenSample
        from policies.esmoe.store import load_generator, save_esmoe
        from policies.esmoe.trainer import learn_scenario

        t0 = time.perf_counter()
        # the loop's latency comes first (DESIGN §7): training takes the CPU time the loop leaves, and every piece
        # of the job is paced to the duty, not only the steps: the scoring unpaced at the job's start made the
        # loop's slowest batches of the training window (`bench runtime`, rows by time)
        lower_thread_priority(self.config.nice, self.config.idle_priority)
        pace = DutyCycle(self.config.duty)
        pace.pause()
        model, manifest = load_generator(base, self.tokenizer.codebook_size, self.device)
        if scenario in model.bank.names:
            raise ValueError(f"{base} already has an expert for {scenario!r}")
        pace.pause()
        old = list(model.bank.names)
        before = {}
        for sc in old + [scenario]:
            before[sc] = self._base_score(base, model, sc)
            pace.pause()
        demos = self.corpus.select("train", [scenario])
        extra = [TokenSample(np.asarray(c, dtype=np.int64), [t], e, scenario, "self", f"self-{k}")
                 for k, (t, c, e) in enumerate(self_generated[: self.config.self_generated_max]) if len(c) >= 2]
        settings = dataclasses.replace(model.config.train, steps_per_scenario=self.config.steps, batch=self.config.batch)

        def between_steps() -> bool:  # the loop's latency first: the steps paced to the duty, then asked to stop
            pace.pause()
            return bool(should_stop and should_stop())

        stats = learn_scenario(model, scenario, demos + extra, settings, seed=seed, progress=False, should_stop=between_steps)
        after = {}
        for sc in old + [scenario]:
            after[sc] = self.score(model, sc)
            pace.pause()
        save_esmoe(model, out, extra={**{k: manifest[k] for k in ("dataset", "backbone_dir") if k in manifest},
                                      "parent": str(base), "new_expert": scenario})
        return {"path": str(out), "scenario": scenario, "demonstrations": len(demos), "self_generated": len(extra),
                "before": before, "after": after, "train": stats, "paused_s": round(pace.paused_s, 1),
                "seconds": round(time.perf_counter() - t0, 1)}
