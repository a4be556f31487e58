"""One trainer for every lifelong method: a scenario's samples, a fixed step budget, AdamW, warm-up."""
from __future__ import annotations

import contextlib
import time
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from policies.backbone.corpus import TokenSample, draw_batch
from policies.esmoe.config import ScenarioTrainSettings
from policies.esmoe.learner import ContinualLearner


class TrainingCancelled(RuntimeError):
    """``should_stop`` said so between two steps (the learner's owner is closing)."""


def train_on(learner: ContinualLearner, samples: list[TokenSample], settings: ScenarioTrainSettings,
             steps: int | None = None, seed: int = 0, label: str = "", progress: bool = True,
             should_stop: Callable[[], bool] | None = None) -> dict:
    """Train ``learner``'s trainable parameters on ``samples``; returns loss and throughput. ``should_stop`` is
    asked before every step; when it answers True, TrainingCancelled is raised."""
    if not samples:
        raise ValueError(f"{label or 'scenario'}: no training samples")
    steps = steps or settings.steps_per_scenario
    params = learner.trainable_parameters()
    if not params:
        raise RuntimeError(f"{learner.name}: nothing to train for {label}")
    opt = torch.optim.AdamW(learner.param_groups(settings.lr), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / max(1, settings.warmup)) * 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps)) + 0.05)
    rng = np.random.default_rng(seed)
    model = learner.bank.model
    model.train()
    # no gradient checkpointing: ES-MoE sets each request's routing and expert mixing in a context around the
    # forward, so a layer recomputed in backward would run without it (torch's checkpoint refuses: 85 tensors
    # saved in forward, 60 in the recomputation; tried with use_reentrant=False)
    autocast = training_autocast(settings.precision, next(model.parameters()).device)
    return _steps(learner, samples, settings, steps, rng, params, opt, sched, autocast, label, progress, should_stop)


def training_autocast(precision: str, device: torch.device):
    """The autocast context of a training step: bf16 on CUDA under ``auto``, wherever asked under ``bf16``."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _steps(learner: ContinualLearner, samples: list[TokenSample], settings: ScenarioTrainSettings, steps: int, rng,
           params, opt, sched, autocast, label: str, progress: bool, should_stop: Callable[[], bool] | None) -> dict:
    losses, t0 = [], time.perf_counter()
    bar = tqdm(range(steps), desc=f"{learner.name} {label}".strip(), unit="step", disable=not progress, mininterval=2.0, leave=False)
    for it in bar:
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"{learner.name} {label}: cancelled at step {it} of {steps}")
        texts, codes, emotions = draw_batch(samples, settings.batch, rng)
        with autocast:
            loss, info = learner.loss(texts, codes, emotions)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(info["llm"])
        if it % 25 == 0:
            bar.set_postfix({k: f"{v:.3f}" for k, v in info.items()})
    seconds = time.perf_counter() - t0
    return {"steps": steps, "seconds": round(seconds, 2), "samples_per_s": round(steps * settings.batch / seconds, 1),
            "final_llm_loss": round(float(np.mean(losses[-20:])), 4)}


def learn_scenario(learner: ContinualLearner, scenario: str, samples: list[TokenSample], settings: ScenarioTrainSettings,
                   seed: int = 0, steps: int | None = None, label: str | None = None, progress: bool = True,
                   should_stop: Callable[[], bool] | None = None) -> dict:
    """One lifelong step: open the scenario (a new expert for methods that have them), train, close it."""
    learner.begin_scenario(scenario, samples)
    stats = train_on(learner, samples, settings, steps=steps, seed=seed, label=label or scenario, progress=progress,
                     should_stop=should_stop)
    learner.end_scenario()
    return {"scenario": scenario, **stats}
