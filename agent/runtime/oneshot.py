"""One-shot use of the runtime outside an episode: text -> motion samples (``l2emg generate``) and one whole
interaction, traced (``l2emg interact``): perception, empathy policy, generator, executor and judges, the
same services the loop runs, in this process."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from agent.recipes.bootstrap import RuntimeAssets
from agent.runtime.messages import Executed, Generated
from envs.motion.motion import Motion
from feedback.store import Verdict


def with_emotion(text: str, emotion: str | None, rng: np.random.Generator) -> str:
    """``text`` with a phrase of ``emotion``'s style (configs/texts.yaml) appended unless it already names
    one: the generator knows emotion only from the words of its instruction."""
    from policies.data.config import load_emotion_labels
    from policies.data.texts import load_text_config

    text = " ".join(text.split())
    if not text:
        raise ValueError("the text is empty: say what the motion should be, e.g. \"A person waves hello.\"")
    if emotion is None:
        return text
    labels = load_emotion_labels()
    if emotion not in labels:
        raise ValueError(f"unknown emotion {emotion!r} (known: {', '.join(labels)})")
    style = load_text_config().styles[emotion]
    lowered = text.lower()
    if any(p.lower() in lowered for p in [*style.adjectives, *style.adverbials, *style.participles]):
        return text
    phrase = style.adverbials[int(rng.integers(len(style.adverbials)))]
    return f"{text.rstrip('.!?')}, {phrase}."


@dataclass
class Sample:
    """One generated motion with how it came about (what `generate --out x.json` writes)."""

    instruction: str
    seed: int | None  # None: greedy decoding
    generated: Generated
    executed: Executed | None = None

    @property
    def top_expert(self) -> str | None:
        w = self.generated.experts
        return max(w, key=w.get) if w else None

    def summary(self) -> dict:
        g = self.generated
        out = {"instruction": self.instruction, "seed": self.seed, "decoding": "greedy" if self.seed is None else "sampled",
               "tokens": g.codes, "routing_weights": g.experts, "expert": self.top_expert, "failure": g.failure,
               "frames": g.motion.num_frames if g.motion is not None else 0, "fps": g.motion.fps if g.motion is not None else None}
        if self.executed is not None:
            r = self.executed.result
            out["physics"] = {"success": r.success, "reason": r.reason, "mode": r.mode, "detail": r.detail,
                              "simulated_s": round(r.simulated_s, 3), "failed_at_s": r.failed_at_s,
                              "mpjpe_root_rel_mm": None if not np.isfinite(r.metrics.mpjpe_root_rel_mm) else round(r.metrics.mpjpe_root_rel_mm, 1)}
        return out


def generate_samples(generator, text: str, n: int = 1, seed: int | None = None, emotion: str | None = None,
                     scenario: str | None = None, top_k: int = 20) -> list[Sample]:
    """``n`` motions for ``text`` from a ``GeneratorService``: greedy when ``seed`` is None and ``n`` is 1,
    else sampled from the ``top_k`` likeliest tokens with seeds ``seed, seed + 1, ...``. ``scenario`` serves
    them with that scenario's expert instead of the gate's choice."""
    if n < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    instruction = with_emotion(text, emotion, np.random.default_rng(seed or 0))
    if scenario is not None and scenario not in generator.experts():
        raise ValueError(f"no expert for scenario {scenario!r} in {generator.checkpoint} (experts: {', '.join(generator.experts())})")
    if seed is None and n == 1:
        return [Sample(instruction, None, generator.generate([instruction], expert=scenario)[0])]
    base = 0 if seed is None else seed
    return [Sample(instruction, base + k, generator.generate([instruction], greedy=False, seed=base + k, top_k=top_k,
                                                             expert=scenario)[0]) for k in range(n)]


@dataclass
class InteractionTrace:
    """What happened in one interaction, stage by stage (``l2emg interact`` prints and renders it)."""

    utterance: str
    perceived: dict  # PerceptionResult as a dict: emotion, confidence, distribution, reasons, scenario guess
    scenario: str
    scenario_source: str  # given | guessed from the utterance | default
    response: dict  # EmpathicResponse: emotion, instruction, content, reason, manner
    sample: Sample
    verdict: Verdict | None
    seconds: dict[str, float] = field(default_factory=dict)
    partner: Motion | None = None

    def to_dict(self) -> dict:
        return {"utterance": self.utterance, "perceived": self.perceived, "scenario": self.scenario,
                "scenario_source": self.scenario_source, "response": self.response, "generated": self.sample.summary(),
                "verdict": asdict(self.verdict) if self.verdict is not None else None, "seconds": self.seconds}

    def lines(self) -> list[str]:
        """The trace as a newcomer reads it."""
        p, r, s = self.perceived, self.response, self.sample.summary()
        top = sorted(p["distribution"].items(), key=lambda kv: -kv[1])[:3]
        out = [f"heard      \"{self.utterance}\"",
               f"perceived  {p['emotion']} ({p['confidence']:.2f}{', uncertain' if p['uncertain'] else ''}); "
               + ", ".join(f"{k} {v:.2f}" for k, v in top)]
        out += [f"           note: {why}" for why in p["reasons"]]
        out += [f"scenario   {self.scenario} ({self.scenario_source})",
                f"answer     {r['emotion']}: {r['reason']} -> \"{r['instruction']}\"" + (f" [{r['manner']}]" if r["manner"] else ""),
                f"generator  expert {s['expert']} (" + ", ".join(f"{k} {v:.2f}" for k, v in s["routing_weights"].items())
                + f"); {s['frames']} frames" + (f"; failed: {s['failure']}" if s["failure"] else "")]
        if "physics" in s:
            ph = s["physics"]
            out.append(f"physics    {'ok' if ph['success'] else ph['reason']} in mode {ph['mode']}"
                       + (f" at {ph['failed_at_s']:.2f} s" if ph["failed_at_s"] is not None else "")
                       + (f", root-relative error {ph['mpjpe_root_rel_mm']} mm" if ph["mpjpe_root_rel_mm"] is not None else ""))
        if self.verdict is not None:
            v = self.verdict
            mark = lambda ok: "yes" if ok else "no"  # noqa: E731
            out.append(f"verdict    {'success' if v.success else 'failure (' + v.reason + ')'}: physical {mark(v.physical_ok)}, "
                       f"emotion read back {mark(v.emotion_ok)} ({v.details.get('emotion_pred', v.details.get('emotion', '-'))}), "
                       f"text matches {mark(v.semantic_ok)} (rank {v.details.get('semantic_rank', '-')})")
        out.append("time       " + ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items()))
        return out


class OneShotRuntime:
    """The loop's services over installed models, in this process, for single interactions."""

    def __init__(self, assets: RuntimeAssets, mode: str | None = None, judges: bool = True) -> None:
        from agent.runtime.config import load_runtime_config
        from agent.runtime.empathy import EmpathyPolicy
        from agent.runtime.services import ExecutorService, GeneratorService, PerceptionService, build_judge

        runtime = load_runtime_config()
        self.assets, self.mode = assets, mode or runtime.executor.mode
        self.perception = PerceptionService(assets.perception)
        self.generator = GeneratorService(assets.generator, assets.tokenizer)
        self.executor = ExecutorService(self.mode, runtime.executor.lookahead)
        self.empathy = EmpathyPolicy(assets.dataset)
        self.judge = None
        if judges:
            from policies.data import L2EMGDataset

            self.judge = build_judge(runtime.judges, assets.evaluator, assets.emotion, L2EMGDataset(assets.dataset_dir))

    def interact(self, utterance: str, partner: Motion | None = None, scenario: str | None = None,
                 seed: int = 0) -> InteractionTrace:
        if not utterance or not utterance.strip():
            raise ValueError("--say is empty: give the partner's words, e.g. --say \"I failed my exam again\"")
        contents = self.empathy.contents
        if scenario is not None and scenario not in contents:
            raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(sorted(contents))})")
        self.empathy.rng = np.random.default_rng(seed)
        t = {}
        tic = time.perf_counter()
        positions = partner.positions.astype(np.float32) if partner is not None else None
        fps = partner.fps if partner is not None else 20.0
        seen = self.perception.estimator.perceive(utterance, positions, fps, list(self.assets.known_scenarios))
        t["perceive"] = time.perf_counter() - tic
        guess = max(seen.scenario, key=seen.scenario.get) if seen.scenario else None
        if scenario is not None:
            used, source = scenario, "given"
        elif guess in contents:
            used, source = guess, "guessed from the utterance"
        else:
            used, source = self.assets.known_scenarios[0], "default (no guess)"
        response = self.empathy.respond(seen.emotion, seen.confidence, used)
        tic = time.perf_counter()
        sample = Sample(response.instruction, None, self.generator.generate([response.instruction])[0])
        t["generate"] = time.perf_counter() - tic
        tic = time.perf_counter()
        sample.executed = self.executor.execute(sample.generated.motion)
        t["execute"] = time.perf_counter() - tic
        verdict = None
        if self.judge is not None:
            tic = time.perf_counter()
            e = sample.executed
            verdict = self.judge(e.result, e.features, response.instruction, response.emotion, sample.generated.experts, used)
            t["judge"] = time.perf_counter() - tic
        return InteractionTrace(utterance, seen.to_dict(), used, source, asdict(response), sample, verdict,
                                {k: round(v, 3) for k, v in t.items()}, partner)
