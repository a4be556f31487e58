"""Torch set-up shared by the trainers: thread count, seeds, device choice, progress-friendly batching."""
from __future__ import annotations

import os
import random

import numpy as np


def setup_torch(seed: int = 0, threads: int | None = None):
    """Seed everything and cap intra-op threads (default: the cores, at most 2 here)."""
    import torch

    threads = threads or int(os.environ.get("L2EMG_TORCH_THREADS", 0)) or max(1, min(2, os.cpu_count() or 1))
    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch


def pick_device(prefer: str | None = None):
    """CUDA when available, else CPU; ``prefer`` or env ``L2EMG_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``) overrides."""
    import torch

    want = prefer or os.environ.get("L2EMG_DEVICE", "").strip().lower()
    if want:
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {want!r} asked for (L2EMG_DEVICE or argument), but CUDA is not available")
        return torch.device(want)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def random_crops(lengths: np.ndarray, crop: int, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``batch`` samples (of length >= crop) and a random start inside each."""
    eligible = np.nonzero(lengths >= crop)[0]
    if len(eligible) == 0:
        raise ValueError(f"no sample is at least {crop} frames long")
    idx = rng.choice(eligible, size=batch, replace=len(eligible) < batch)
    starts = (rng.random(batch) * (lengths[idx] - crop + 1)).astype(int)
    return idx, starts


def memo_on_tensors(holder, name: str, tensors: list, build, extra: tuple = ()):
    """``build()``, kept in ``holder``'s ``__dict__`` under ``name`` and served again while every tensor of
    ``tensors`` is the same object (weak references) at the same in-place version (an optimizer step or ``copy_``
    bumps it) and ``extra`` is equal. Kept on the holder (a tensor or module), not in a table keyed by address,
    so a freed model's memory reused by the next one can never be served a stale value."""
    import weakref

    key = (tuple(t._version for t in tensors), extra)
    memo = vars(holder).get(name)
    if memo is not None and memo[0] == key and len(memo[1]) == len(tensors) and all(r() is t for r, t in zip(memo[1], tensors)):
        return memo[2]
    value = build()
    vars(holder)[name] = (key, [weakref.ref(t) for t in tensors], value)
    return value

