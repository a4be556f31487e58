"""Scripted self-evolution episodes (``configs/episodes/*.yaml``), validated before anything starts:
an unknown key, a wrong type, malformed YAML, an unknown scenario or a missing data path is an error
naming the file and the key."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agent.recipes.bootstrap import BootstrapRequest
from envs.config import ConfigError, load_config, probe_path


@dataclass(frozen=True)
class Expectation:
    success_min: float | None = None  # success rate the phase should reach (reported, not enforced)
    new_scenario_gain_min: float | None = None  # points of success the new scenario should gain
    known_scenario_drop_max: float | None = None  # points of success a known scenario may lose (agent/episodes/targets.py)


@dataclass(frozen=True)
class Phase:
    name: str
    scenarios: list[str]
    interactions: int
    utterances: list[str] = field(default_factory=list)  # optional; else drawn from the source's texts
    until_learner_done: bool = False  # keep interacting past `interactions` while a learner trains ...
    max_interactions: int | None = None  # ... up to this many
    expect: Expectation = field(default_factory=Expectation)


@dataclass(frozen=True)
class UpdatePolicy:
    failure_threshold: int = 6  # failures of one scenario (since its last expert) that start a learner
    min_success_gain: float = 0.0  # a new expert must beat the current routing on held-back data by this
    self_generated: bool = True  # add filtered successful self-generated motions to the demonstrations


@dataclass(frozen=True)
class EpisodeConfig:
    name: str
    dataset: str  # dataset config: demonstrations and partner motions come from it
    phases: list[Phase]
    generator: str | None = None  # ES-MoE checkpoint; bootstrapped from the first phase's scenarios when missing
    # the bootstrapped generator's backbone: tiny (pre-trained here) | smollm2-135m | a local Hugging Face folder
    # (both warmed up on the pre-known scenarios first) | a warm-up output; ignored when `generator` exists
    backbone: str = "tiny"
    executors: int = 1
    streams: int | None = None  # partners served at once, one interaction each per batch (default: one per executor)
    root: str | None = None  # raw data root for Bandai sources (default $L2EMG_BANDAI_ROOT)
    seed: int = 0
    update: UpdatePolicy = field(default_factory=UpdatePolicy)
    render_examples: bool = True
    replay: int = 32  # per scenario: requests served before the first expert landed, re-served after it (paired)


def later_scenarios(episode: EpisodeConfig) -> tuple[str, ...]:
    """The scenarios an episode introduces after its first phase: bootstrap never trains on them."""
    first = set(episode.phases[0].scenarios)
    return tuple(sorted({sc for ph in episode.phases[1:] for sc in ph.scenarios} - first))


def bootstrap_request(episode: EpisodeConfig) -> BootstrapRequest:
    """The models an episode needs: experts for its first phase's scenarios, nothing trained on later ones."""
    return BootstrapRequest(episode.dataset, tuple(episode.phases[0].scenarios), later_scenarios(episode), episode.root,
                            backbone=episode.backbone, generator=episode.generator)


def known_scenarios(dataset: str) -> list[str]:
    from envs.synth.cues import load_synth_config
    from policies.data import load_dataset_config

    cfg = load_dataset_config(dataset)
    return sorted(cfg.scenarios) if cfg.source == "bandai" else sorted(load_synth_config().scenarios)


def load_episode(path: str | Path, overrides: dict[str, str] | None = None) -> EpisodeConfig:
    """The episode YAML validated; ``overrides`` (dotted keys, ``--set episode.KEY=VALUE``) applied before
    the checks, so an overridden value is checked like a written one."""
    from envs.config import apply_overrides

    path = Path(path)
    ep = load_config(path, EpisodeConfig)
    if overrides:
        ep = apply_overrides(ep, overrides, f"{path} (--set episode.*)")
    if not ep.phases:
        raise ConfigError(f"{path}: 'phases' must list at least one phase")
    try:
        known = known_scenarios(ep.dataset)
    except ConfigError as exc:
        raise ConfigError(f"{path}: dataset: {exc}") from None
    for i, ph in enumerate(ep.phases):
        if ph.interactions <= 0:
            raise ConfigError(f"{path}: phases[{i}].interactions must be positive, got {ph.interactions}")
        if ph.max_interactions is not None and ph.max_interactions < ph.interactions:
            raise ConfigError(f"{path}: phases[{i}].max_interactions must be >= interactions ({ph.interactions})")
        if not ph.scenarios:
            raise ConfigError(f"{path}: phases[{i}].scenarios must not be empty")
        for s in ph.scenarios:
            if s not in known:
                raise ConfigError(f"{path}: phases[{i}].scenarios: unknown scenario {s!r} for {ep.dataset} (known: {', '.join(known)})")
    if ep.update.failure_threshold < 1:
        raise ConfigError(f"{path}: update.failure_threshold must be >= 1, got {ep.update.failure_threshold}")
    if ep.executors < 1:
        raise ConfigError(f"{path}: executors must be >= 1, got {ep.executors}")
    if ep.streams is not None and ep.streams < 1:
        raise ConfigError(f"{path}: streams must be >= 1, got {ep.streams}")
    from policies.data import load_dataset_config

    if load_dataset_config(ep.dataset).source == "bandai":
        root = ep.root or os.environ.get("L2EMG_BANDAI_ROOT")
        if not root or not probe_path(root, str(path), "root", "is_dir"):
            raise ConfigError(f"{path}: root: Bandai-Namco data path {root!r} not found (set root or $L2EMG_BANDAI_ROOT)")
    if ep.backbone not in ("tiny", "smollm2-135m") and not probe_path(ep.backbone, str(path), "backbone", "is_dir"):
        raise ConfigError(f"{path}: backbone: {ep.backbone!r} is not tiny, smollm2-135m or a local folder")
    from policies.esmoe.store import MANIFEST, is_checkpoint

    if ep.generator is not None and probe_path(ep.generator, str(path), "generator") and not is_checkpoint(ep.generator):
        raise ConfigError(f"{path}: generator: {ep.generator} exists but holds no ES-MoE {MANIFEST}")
    return ep
