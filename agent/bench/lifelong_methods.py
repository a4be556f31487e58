"""The methods of `l2emg bench lifelong`, each named for what it is (DESIGN §5, issue 19).

``es-moe`` is the paper's method only: the SAMoE gate learned from [pooled description ; CGED h] with
orthogonal keys, a query network, top-k, masking of old experts while a new one trains, no routing loss,
soft top-k mixing at inference. The project's variants carry their own names and stand next to it:
``es-moe+routing-loss`` adds a supervised routing term over stored centroids; ``es-moe+content-router``
is that model routed at inference by the nearest stored description centroid (an EPI-like task
identification; it shares ``es-moe+routing-loss``'s training, only inference differs). Ablations are
named ``<method>-wo-<part>``.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from envs.config import apply_overrides
from policies.baselines import EPI, MTL, SAPT, LwFLoRA, OLoRA, ProgPrompt, SeqLoRA
from policies.esmoe.config import ESMoEConfig
from policies.esmoe.model import ESMoE


@dataclass(frozen=True)
class MethodSpec:
    key: str  # the CLI name
    label: str  # the table row
    make: Callable  # (backbone, config, emotions) -> ContinualLearner
    kind: str  # "paper" | "variant" | "baseline" | "bound" | "ablation"
    why: str  # what it is, why it is in the table, departures from its paper
    defining: dict[str, Any] = field(default_factory=dict)  # config values that make the method what it is (fixed)
    trains_as: str | None = None  # shares this method's training (same seed, same order); only inference differs
    at_inference: dict[str, Any] = field(default_factory=dict)  # config values switched for evaluation only
    joint: bool = False  # trained once on every scenario together (no order, no forgetting rate)


def _esmoe(**flags) -> Callable:
    def make(backbone, config, emotions):
        return ESMoE(backbone, config, emotions, **flags)
    return make


PAPER_GATE = {"gate.routing_weight": 0.0, "gate.inference": "learned"}
ROUTING_LOSS = {"gate.inference": "learned"}  # gate.routing_weight > 0 from the benchmark file
CONTENT = {"gate.inference": "prototype", "gate.prototype_input": "content"}

_SPECS = [
    MethodSpec("es-moe", "ES-MoE (paper)", _esmoe(), "paper", defining=PAPER_GATE,
               why="the paper's method: CGED + SAMoE gate learned from h (orthogonal keys, query network, top-k, "
                   "masking), no routing loss, soft top-k mixing at inference"),
    MethodSpec("es-moe+routing-loss", "ES-MoE + routing loss (ours)", _esmoe(), "variant", defining=ROUTING_LOSS,
               why="ours: adds a cross-entropy routing term (this scenario -> its expert, stored centroids of old "
                   "scenarios -> theirs); the paper's gate alone sent old scenarios to the newest expert on val"),
    MethodSpec("es-moe+content-router", "ES-MoE + routing loss, content router (ours)", _esmoe(), "variant",
               trains_as="es-moe+routing-loss", at_inference=CONTENT,
               why="ours: es-moe+routing-loss's training; at inference the expert owning the nearest stored "
                   "description centroid serves alone (EPI-like task identification from stored statistics)"),
    MethodSpec("mtl", "MTL (joint, upper bound)", lambda b, c, e: MTL(b, c, e), "bound", joint=True,
               why="one LoRA on all scenarios at once: no sequence, no forgetting"),
    MethodSpec("seqlora", "SeqLoRA", lambda b, c, e: SeqLoRA(b, c, e), "baseline",
               why="one LoRA fine-tuned scenario after scenario: the forgetting reference"),
    MethodSpec("lwf-lora", "LwF-LoRA", lambda b, c, e: LwFLoRA(b, c, e), "baseline",
               why="SeqLoRA + distillation to the model before the scenario (Li & Hoiem 2017)"),
    MethodSpec("o-lora", "O-LoRA", lambda b, c, e: OLoRA(b, c, e), "baseline",
               why="a LoRA per scenario, old ones frozen and summed; new A orthogonal to old (lambda_1), L2 (lambda_2)"),
    MethodSpec("epi", "EPI", lambda b, c, e: EPI(b, c, e), "baseline",
               why="a LoRA per scenario trained alone; scenario identified by Mahalanobis distance on the frozen "
                   "backbone's pooled description (one mean per scenario: no classes; LoRA, not prefixes)"),
    MethodSpec("sapt", "SAPT (reflection on stored descriptions)", lambda b, c, e: SAPT(b, c, e), "baseline",
               why="shared attentive selection over scenario LoRAs + attentive reflection; reflection replays a few "
                   "stored training descriptions, not generated pseudo-samples (the tiny backbone cannot write them)"),
    MethodSpec("prog-prompt", "Prog-Prompt (task identity given)", lambda b, c, e: ProgPrompt(b, c, e), "baseline",
               defining={"progprompt.task_identity": "given"},
               why="a soft prompt per scenario, concatenated [P_k;...;P_1], backbone frozen; scored with the "
                   "scenario given, as its paper does (forgetting is 0 by construction)"),
]
for kind, flags, word in (("wo-cged", {"use_cged": False}, "CGED"), ("wo-samoe", {"use_samoe": False}, "SAMoE"),
                          ("wo-lemo", {"use_emo": False}, "L_emo")):
    _SPECS.append(MethodSpec(f"es-moe-{kind}", f"ES-MoE (paper) w/o {word}", _esmoe(**flags), "ablation", defining=PAPER_GATE,
                             why=f"es-moe without {word}"))
    if kind != "wo-samoe":  # w/o SAMoE has one shared LoRA and no routing: nothing to vary
        _SPECS.append(MethodSpec(f"es-moe+routing-loss-{kind}", f"ES-MoE + routing loss w/o {word}", _esmoe(**flags),
                                 "ablation", defining=ROUTING_LOSS, why=f"es-moe+routing-loss without {word}"))
        _SPECS.append(MethodSpec(f"es-moe+content-router-{kind}", f"ES-MoE + routing loss, content router w/o {word}",
                                 _esmoe(**flags), "ablation", trains_as=f"es-moe+routing-loss-{kind}", at_inference=CONTENT,
                                 why=f"es-moe+content-router without {word}"))

METHODS: dict[str, MethodSpec] = {s.key: s for s in _SPECS}

# names of earlier versions: refused, with the name that says what each was
RENAMED = {
    "es-moe-proto": "es-moe+content-router",
    "wo-cged": "es-moe-wo-cged (the paper's gate; the old wo-cged also had the routing loss: es-moe+routing-loss-wo-cged)",
    "wo-samoe": "es-moe-wo-samoe",
    "wo-lemo": "es-moe-wo-lemo (the paper's gate; the old wo-lemo also had the routing loss: es-moe+routing-loss-wo-lemo)",
    "wo-cged-proto": "es-moe+content-router-wo-cged",
    "wo-lemo-proto": "es-moe+content-router-wo-lemo",
    "progprompt": "prog-prompt",
}


def resolve_methods(names: list[str]) -> list[str]:
    """CLI method names (comma or space separated) -> registry keys, in order, without repeats."""
    out: list[str] = []
    for n in names:
        for part in n.split(","):
            key = part.strip().lower()
            if not key:
                continue
            if key in RENAMED:
                raise ValueError(f"method {part!r} was renamed: use {RENAMED[key]}")
            if key not in METHODS:
                close = difflib.get_close_matches(key, list(METHODS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown method {part!r}{hint} (known: {', '.join(METHODS)})")
            if key not in out:
                out.append(key)
    return out


def _apply(config: ESMoEConfig, values: dict[str, Any], source: str) -> ESMoEConfig:
    return apply_overrides(config, {k: yaml.safe_dump(v) for k, v in values.items()}, source)


def method_config(key: str, base: ESMoEConfig, chosen: dict[str, dict[str, Any]] | None = None) -> ESMoEConfig:
    """The configuration a method trains with: the benchmark's base, the values chosen for it on validation
    (``chosen[key]``, from the benchmark file), then what defines the method (which nothing overrides)."""
    spec = METHODS[key]
    train_key = spec.trains_as or key
    cfg = _apply(base, (chosen or {}).get(train_key, {}), f"benchmark methods.{train_key}")
    cfg = _apply(cfg, METHODS[train_key].defining, f"method {train_key}")
    if "routing-loss" in train_key and cfg.gate.routing_weight <= 0:
        raise ValueError(f"{train_key}: gate.routing_weight must be > 0 (set it under methods.{train_key})")
    return cfg


def inference_config(key: str, trained: ESMoEConfig) -> ESMoEConfig:
    """The configuration a method is evaluated with (its training one, with ``at_inference`` switched)."""
    return _apply(trained, METHODS[key].at_inference, f"method {key}")


def training_groups(keys: list[str]) -> dict[str, list[str]]:
    """Training key -> the requested methods evaluated from that training (a variant that only differs at
    inference shares its base's run: same seed, same order, one training)."""
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(METHODS[k].trains_as or k, []).append(k)
    return groups


def config_dict(cfg: ESMoEConfig) -> dict:
    return dataclasses.asdict(cfg)
