"""ES-MoE (DESIGN §5): CGED gives an emotion-decoupled representation h of the description; the
SAMoE gate turns [mean description embedding ; h] into one weight per scenario expert (peft LoRA
adapters); h enters the language model as an expert-specific embedding added at the ``<som>`` marker.
Loss L_llm + lambda L_emo (+ an optional routing term, see ``routing_loss``).

Ablations: ``use_cged=False`` (the gate reads the mean description embedding, nothing is injected,
no L_emo), ``use_samoe=False`` (one shared LoRA trained in sequence), ``use_emo=False`` (lambda = 0).
"""
from __future__ import annotations

import contextlib
import dataclasses
from contextlib import contextmanager

import torch
from torch import nn

from policies.backbone import Backbone
from policies.backbone.corpus import TokenSample
from policies.backbone.generate import NUMPY_DECODERS
from policies.esmoe.cged import CGED, kmeans, masked_mean
from policies.esmoe.config import ESMoEConfig
from policies.esmoe.gate import ExpertGate
from policies.esmoe.learner import ContinualLearner


class ESMoE(ContinualLearner):
    name = "ES-MoE"

    def __init__(self, backbone: Backbone, config: ESMoEConfig, emotions: list[str], use_cged: bool = True,
                 use_samoe: bool = True, use_emo: bool = True) -> None:
        super().__init__(backbone, config, emotions)
        self.use_cged, self.use_samoe, self.use_emo = use_cged, use_samoe, use_emo and use_cged
        torch.manual_seed(config.train.seed)
        emb = backbone.model.get_input_embeddings()
        d_in = emb.weight.shape[1]
        c = config.cged
        self.cged = CGED(d_in, c.dim, c.dictionary_size, len(emotions), c.dropout) if use_cged else None
        # the gate reads the mean description embedding (what the scenario is) and, with CGED, h (how it
        # feels): h alone is trained to be emotion-only and carries too little content to route on
        d_gate = d_in + (c.dim if use_cged else 0)
        self.gate = ExpertGate(d_gate, config.gate.key_dim, config.gate.query_rank, seed=config.train.seed)
        self.inject = nn.ModuleList()  # per expert: h -> an embedding added at <som>
        self.prototypes: list[torch.Tensor] = []  # per expert: K-means centroids of h on its scenario
        self._h: torch.Tensor | None = None
        self._forced_expert: str | None = None  # set by generate(expert=...) for the forwards inside
        self._w: torch.Tensor | None = None
        self._decoder: str | None = None  # the decoder of the generate() call in progress
        self._train_texts: list[str] | None = None
        self._own_to(self.device)  # CGED and the gate live with the backbone
        if use_cged:
            emb.register_forward_hook(self._inject_hook)
            # the hook changes the <som> rows only: a decoder may read other tokens straight from the table
            emb.l2emg_hooks_act_on = {backbone.vocab.begin_id}

    def to(self, device: torch.device | str) -> "ESMoE":
        """Move the whole model: backbone and experts, CGED, gate, injection projections and prototypes."""
        super().to(device)
        self._own_to(device)
        return self

    def _own_to(self, device: torch.device | str) -> None:
        """CGED, gate, injection projections and prototypes (what the backbone does not hold)."""
        for m in (self.cged, self.gate, self.inject):
            if m is not None:
                m.to(device)
        self.prototypes = [p.to(device) for p in self.prototypes]

    # -- description features ---------------------------------------------------------------------
    def tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids of the descriptions alone (no instruction), right-padded, and their mask."""
        tok = self.backbone.tokenizer
        old, tok.padding_side = tok.padding_side, "right"
        enc = tok([t.strip() for t in texts], return_tensors="pt", padding=True, add_special_tokens=False)
        enc = enc.to(self.device)
        tok.padding_side = old
        return enc["input_ids"], enc["attention_mask"]

    def describe(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token embeddings of the descriptions alone (no instruction), from the frozen embedding table."""
        ids, mask = self.tokens(texts)
        return self._embed(ids), mask

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.backbone.model.get_input_embeddings().weight[ids]

    def cged_input(self, ids: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """CGED's X for description tokens ``ids`` whose static embeddings are ``x``: those (``cged.input:
        embeddings``) or the frozen backbone's last hidden states over them (``hidden``), every expert switched off."""
        if self.config.cged.input == "embeddings":
            return x
        model = self.bank.model
        off = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
        with torch.no_grad(), off:
            out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
        return out.hidden_states[-1].to(x.dtype)

    def represent(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(gate input, h): h is CGED's decoupled representation (None without CGED)."""
        ids, mask = self.tokens(texts)
        x = self._embed(ids)
        pooled = masked_mean(x, mask)
        if self.cged is None:
            return pooled, None
        h = self.cged(self.cged_input(ids, x, mask), mask)
        return torch.cat([pooled, h], -1), h

    def route(self, texts: list[str]) -> list[str]:
        """The expert with the largest gate weight for each description."""
        with torch.no_grad():
            w = self.gate_weights(self.represent(texts)[0], training=False)
        return [self.bank.names[i] for i in w.argmax(1).tolist()]

    def gate_weights(self, q: torch.Tensor, training: bool) -> torch.Tensor:
        n = len(self.bank.names)
        if not self.use_samoe:
            return torch.ones(len(q), n, device=q.device)
        g = self.config.gate
        if not training and g.inference == "prototype" and len(self.prototypes) == n:
            return self.prototype_weights(q)
        return self.gate(q, g.top_k, g.temperature, mask_rate=g.mask_rate if training else 0.0,
                         protect=n - 1, generator=self.generator)

    def prototype_weights(self, q: torch.Tensor) -> torch.Tensor:
        """One-hot on the expert owning the stored centroid nearest to each gate input: a router that no
        later scenario's training can move (departure from the paper's learned gate, config gate.inference)."""
        # content: leave out h, trained to carry emotion only; in the distance it pulls a calm sports request
        # towards calm dance (synth-8 val, sports -> dance: 15 % with h, 0 % without)
        content = self.config.gate.prototype_input == "content" and self.cged is not None
        cut = q.shape[1] - self.cged.dim if content else q.shape[1]
        d = torch.stack([torch.cdist(q[:, :cut], p[:, :cut]).min(1).values for p in self.prototypes], 1)
        return nn.functional.one_hot(d.argmin(1), len(self.prototypes)).to(q.dtype)

    # -- conditioning hooks ------------------------------------------------------------------------
    def _inject_hook(self, module, inputs, output):
        if self._h is None or not len(self.inject):  # no CGED, or nothing conditioned
            return output
        hit = inputs[0] == self.backbone.vocab.begin_id
        if hit.device.type == "cpu" and not hit.any():
            return output  # a cached decoding step: the marker was in the prompt pass (on a GPU adding zeros beats a host sync)
        at = hit.unsqueeze(-1).to(output.dtype)
        w = self._w if self._w is not None else torch.ones(len(self._h), len(self.inject), device=self._h.device)
        delta = sum(w[:, j:j + 1] * p(self._h) for j, p in enumerate(self.inject))
        return output + at * delta.unsqueeze(1).to(output.dtype)

    @contextmanager
    def _conditioned(self, h: torch.Tensor, w: torch.Tensor, merge: bool = False):
        """Set h and the expert weights for the forwards inside; ``merge`` folds the experts into the base
        weights when every row has the same weights (inference only) and the targeted base weights are within
        ``decode.merge_max_elements`` (the fold copies them to restore them exactly). The NumPy decoder
        (``NUMPY_DECODERS``) reads the mixed experts' low-rank factors instead: no fold."""
        self._h, self._w = h, w
        try:
            if (merge and self._decoder not in NUMPY_DECODERS and self.bank.merge_copy_elements() <= self.config.decode.merge_max_elements
                    and bool((w == w[:1]).all())):
                with self.bank.merged(w[0]):
                    yield
            else:
                with self.bank.mixing(w):
                    yield
        finally:
            self._h, self._w = None, None

    @contextmanager
    def condition(self, texts: list[str], force_expert: str | None = None):
        force_expert = force_expert or self._forced_expert
        with torch.no_grad():
            q, h = self.represent(texts)
            if force_expert is not None:
                w = torch.zeros(len(texts), len(self.bank.names), device=q.device)
                w[:, self.bank.names.index(force_expert)] = 1.0
            else:
                w = self.gate_weights(q, training=False)
        with self._conditioned(h, w, merge=True):
            yield

    # -- training ----------------------------------------------------------------------------------
    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        first = not self.scenarios
        super().begin_scenario(scenario, train)
        self._train_texts = [t for s in train for t in s.texts]
        if first and self.cged is not None:
            ids, mask = self.tokens(self._train_texts)
            x = self.cged_input(ids, self._embed(ids), mask)
            self.cged.fit_dictionary(x[mask.bool()], self.config.cged.kmeans_iterations, self.config.train.seed)
        if self.use_samoe or first:
            name = scenario if self.use_samoe else "shared"
            self.bank.add(name)
            self.gate.add_key()
            if self.use_cged and (self.use_samoe or first):
                proj = nn.Linear(self.cged.dim, self.backbone.model.get_input_embeddings().weight.shape[1]).to(self.device)
                nn.init.zeros_(proj.weight)
                nn.init.zeros_(proj.bias)
                self.inject.append(proj)
        n = len(self.bank.names)
        for j, p in enumerate(self.inject):
            p.requires_grad_(j == n - 1 or not self.use_samoe)
        for j, k in enumerate(self.gate.keys):
            k.requires_grad_(j == n - 1)
        self.gate.query.requires_grad_(self.use_samoe)
        if self.cged is not None:
            self.cged.requires_grad_(first or self.config.cged.trainable == "always")

    def end_scenario(self) -> None:
        """Summarise the scenario's descriptions as a few centroids of h: later scenarios keep the gate
        routing them to this expert without replaying any data (h is stable once CGED is frozen)."""
        if not self.use_samoe or self._train_texts is None:
            return
        self.train_mode(False)
        with torch.no_grad():
            q = torch.cat([self.represent(self._train_texts[i:i + 256])[0] for i in range(0, len(self._train_texts), 256)])
        k = self.config.gate.prototypes
        self.prototypes.append(q if not k or k >= len(q) else kmeans(q, k, iterations=self.config.cged.kmeans_iterations,
                                                                      seed=self.config.train.seed))
        self._train_texts = None

    def routing_loss(self, q: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the gate scores, balanced over scenarios: this scenario's samples -> the new
        expert, each older scenario's stored prototypes -> its own expert."""
        n = len(self.bank.names)
        t = self.config.gate.temperature
        groups = [(q, n - 1)] + [(p, j) for j, p in enumerate(self.prototypes[: n - 1])]
        target = lambda x, j: torch.full((len(x),), j, device=x.device)  # noqa: E731
        return torch.stack([nn.functional.cross_entropy(self.gate.scores(x) / t, target(x, j)) for x, j in groups]).mean()

    def trainable_parameters(self) -> list[nn.Parameter]:
        own = [p for m in (self.cged, self.gate, self.inject) if m is not None for p in m.parameters() if p.requires_grad]
        return super().trainable_parameters() + own

    def train_mode(self, on: bool) -> None:
        for m in (self.cged, self.gate, self.inject):
            if m is not None:
                m.train(on)

    def loss(self, texts, codes, emotions):
        self.train_mode(True)
        q, h = self.represent(texts)
        w = self.gate_weights(q, training=True)
        with self._conditioned(h, w):
            llm = self.lm_loss(texts, codes, w)
        info = {"llm": llm.item()}
        loss = llm
        if self.use_samoe and self.config.gate.routing_weight > 0 and len(self.bank.names) > 1:
            route = self.routing_loss(q)
            loss = loss + self.config.gate.routing_weight * route
            info["route"] = route.item()
        if self.use_emo and self.cged is not None and any(p.requires_grad for p in self.cged.parameters()):
            emo = self.cged.emotion_loss(h, self.emotion_targets(emotions))
            loss = loss + self.config.loss.lambda_emo * emo
            info["emo"] = emo.item()
        return loss, info

    def generate(self, *args, expert: str | None = None, **kwargs):
        """``expert``: every text served by that expert alone (one-hot weights) instead of the gate's routing."""
        self.train_mode(False)
        if expert is not None and expert not in self.bank.names:
            raise ValueError(f"no expert {expert!r} (experts: {', '.join(self.bank.names)})")
        self._forced_expert = expert
        self._decoder = kwargs.get("decoder") or self.config.decode.decoder
        try:
            return super().generate(*args, **kwargs)
        finally:
            self._forced_expert = None
            self._decoder = None

    def expert_parameters(self) -> int:
        if not self.bank.names:
            return 0
        extra = sum(p.numel() for p in self.inject[-1].parameters()) if len(self.inject) else 0
        return self.bank.expert_size(self.bank.names[-1]) + extra + self.gate.keys[-1].numel()


def routed_by(config: ESMoEConfig, inference: str) -> ESMoEConfig:
    """``config`` with gate.inference set (``learned``: the paper's gate, ``prototype``: nearest stored centroid)."""
    return dataclasses.replace(config, gate=dataclasses.replace(config.gate, inference=inference))


def make_ablation(kind: str, inference: str | None = None):
    """``w/o CGED``, ``w/o SAMoE`` or ``w/o L_emo`` as a learner factory; ``inference`` overrides
    gate.inference so that an ablation is routed like the full model it is compared with."""
    flags = {"w/o CGED": {"use_cged": False}, "w/o SAMoE": {"use_samoe": False}, "w/o L_emo": {"use_emo": False}}[kind]

    class Ablation(ESMoE):
        name = f"ES-MoE {kind}" + (f" ({inference} routing)" if inference else "")

        def __init__(self, backbone, config, emotions):
            super().__init__(backbone, routed_by(config, inference) if inference else config, emotions, **flags)

    return Ablation


class PrototypeRoutedESMoE(ESMoE):
    """ES-MoE trained exactly as the paper's, routed at inference by the nearest stored centroid
    (``gate.inference: prototype``): later scenarios' training cannot move an old scenario's routing."""
    name = "ES-MoE (prototype routing)"

    def __init__(self, backbone, config, emotions):
        super().__init__(backbone, routed_by(config, "prototype"), emotions)
