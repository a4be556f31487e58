"""Checkpoints as safetensors + JSON, written atomically, read without pickle."""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from envs.atomic import atomic_write_bytes, atomic_write_text
from envs.errors import L2EMGError

WEIGHTS = "model.safetensors"
META = "config.json"


class CheckpointError(L2EMGError):
    """A missing, truncated or corrupt checkpoint; the message names the path and the problem."""


def save_checkpoint(directory: str | Path, state_dict: dict, meta: dict[str, Any]) -> Path:
    """Write ``state_dict`` (tensors) and ``meta`` (JSON-able) into ``directory``; weights first, then meta."""
    from safetensors.torch import save

    directory = Path(directory)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    weights = save(tensors)
    atomic_write_bytes(directory / WEIGHTS, weights)
    meta = {**meta, "weights_sha256": hashlib.sha256(weights).hexdigest()}  # a later truncation or change is refused
    atomic_write_text(directory / META, json.dumps(meta, indent=2, sort_keys=True))
    return directory


def load_checkpoint(directory: str | Path, kind: str | None = None) -> tuple[dict, dict]:
    """(state_dict, meta); ``kind`` must match ``meta['kind']`` when given."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    meta_path, weights_path = directory / META, directory / WEIGHTS
    if not meta_path.is_file() or not weights_path.is_file():
        raise CheckpointError(f"{directory}: not a checkpoint (needs {META} and {WEIGHTS})")
    meta = read_json(meta_path)
    if not isinstance(meta, dict):
        raise CheckpointError(f"{meta_path}: must hold a JSON object, got {type(meta).__name__}")
    if kind is not None and meta.get("kind") != kind:
        raise CheckpointError(f"{directory}: holds a {str(meta.get('kind'))[:40]!r} checkpoint, expected {kind!r}")
    digest = meta.get("weights_sha256")
    if digest is not None and hashlib.sha256(weights_path.read_bytes()).hexdigest() != digest:
        raise CheckpointError(f"{weights_path}: altered or truncated since it was written (sha256 differs from {META})")
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path}: truncated or corrupt weights ({exc})") from None
    return state, meta


def read_json(path: str | Path):
    """A JSON file of a checkpoint; unreadable, not UTF-8 or not JSON is a CheckpointError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (OSError, ValueError) as exc:  # ValueError: e.g. a number too long for int()
        raise CheckpointError(f"{path}: unreadable ({str(exc)[:120]})") from None


@contextmanager
def checkpoint_errors(path: str | Path, what: str):
    """Inside the block, a value of the wrong type or shape read from the checkpoint at ``path`` (KeyError,
    TypeError, a tensor that does not fit ...) becomes one CheckpointError naming it; the project's own errors
    pass unchanged."""
    try:
        yield
    except L2EMGError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        text = (str(exc).splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path}: {what} does not hold what it should ({type(exc).__name__}: {text})") from None


def save_model_with_stats(directory: str | Path, model, stats, kind: str, config, extra: dict | None = None) -> Path:
    """A model whose inputs are normalised by ``stats`` (FeatureStats): both go into one checkpoint."""
    import dataclasses

    import torch

    state = dict(model.state_dict())
    state["stats.mean"], state["stats.std"] = torch.from_numpy(stats.mean), torch.from_numpy(stats.std)
    return save_checkpoint(directory, state, {"kind": kind, "config": dataclasses.asdict(config), **(extra or {})})


def load_model_with_stats(directory: str | Path, kind: str, config_cls, make_model) -> tuple[Any, Any, Any, dict]:
    """(config, stats, model, meta) from :func:`save_model_with_stats`; ``make_model(config, meta)`` builds it."""
    from envs.config import from_dict
    from envs.motion import FeatureStats

    state, meta = load_checkpoint(directory, kind)
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{Path(directory) / META}: config must be a mapping, got {str(meta.get('config'))[:60]}")
    config = from_dict(config_cls, meta["config"], source=str(Path(directory) / META))
    try:
        stats = FeatureStats(state.pop("stats.mean").numpy(), state.pop("stats.std").numpy())
    except KeyError:
        raise CheckpointError(f"{directory}: no normalisation statistics in the weights") from None
    with checkpoint_errors(directory, f"the {kind} checkpoint"):
        model = make_model(config, meta)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{directory}: weights do not match the config ({str(exc).splitlines()[0]})") from None
    return config, stats, model, meta


class BestKeeper:
    """Remembers the best validation result of a training run (ties go to the later one)."""

    def __init__(self, key: str, higher_is_better: bool = True) -> None:
        self.key, self.higher = key, higher_is_better
        self.best: dict | None = None

    def improved(self, metrics: dict) -> bool:
        if self.best is not None:
            a, b = metrics[self.key], self.best[self.key]
            if (a < b) if self.higher else (a > b):
                return False
        self.best = metrics
        return True
