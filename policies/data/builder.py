"""Building an L2-EMG dataset: clips -> features, splits by clip, windows, texts, cache on disk.

Cache layout (``<cache>/<name>/``): ``arrays.safetensors`` (features and canonical positions of all
clips, concatenated), ``clips.jsonl``, ``samples.jsonl``, ``stats.*`` (train-split normalisation),
``bad_files.jsonl`` and ``manifest.json``, written last: a cache without a matching manifest is rebuilt.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm import tqdm

from envs.atomic import atomic_write_bytes, atomic_write_text
from envs.config import config_dir
from envs.io.bandai import bandai_root, iter_bandai
from envs.motion import CANONICAL_FPS, FeatureStats
from policies.data.config import DatasetConfig
from policies.data.process import ProcessedClip, process_bandai, process_synth
from policies.data.texts import TextComposer

CACHE_VERSION = 3  # bump when code changes what a build produces
DEFAULT_CACHE = Path("cache")


def default_cache_root() -> Path:
    return Path(os.environ.get("L2EMG_CACHE_DIR", DEFAULT_CACHE))


@dataclass
class ClipRecord:
    clip_id: str
    source: str
    content: str
    style: str
    scenario: str
    emotion: str | None
    split: str
    offset: int  # first row in the concatenated arrays
    num_frames: int  # feature frames (source frames at 20 fps minus one)
    retarget_error_cm: float | None
    roundtrip_error_mm: float | None


@dataclass
class SampleRecord:
    sample_id: str
    clip_id: str
    scenario: str
    emotion: str | None
    split: str
    start: int  # feature frame within the clip
    length: int
    texts: list[str]


def worker_count() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def iter_processed(config: DatasetConfig, root: str | Path | None = None, workers: int | None = None,
                   contents: set[str] | None = None) -> Iterator[ProcessedClip]:
    """Process every clip of the dataset's source, in parallel; bad clips come back with ``error`` set."""
    workers = workers or worker_count()
    if config.source == "bandai":
        items: Iterable = iter_bandai(root, tuple(config.datasets), contents)
        fn = process_bandai
    else:
        from envs.synth import SynthSource, load_synth_config

        synth_config = load_synth_config()
        if config.variations is not None:
            synth_config = dataclasses.replace(synth_config, variations_per_family_emotion=config.variations)
        items = list(SynthSource(synth_config, seed=config.seed).keys())
        fn = partial(process_synth, seed=config.seed)
    if workers == 1:
        yield from map(fn, items)
        return
    with mp.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(fn, items, chunksize=4)


def _synth_count(config: DatasetConfig) -> int:
    from envs.synth import load_synth_config

    synth = load_synth_config()
    per = config.variations if config.variations is not None else synth.variations_per_family_emotion
    return sum(len(f) for f in synth.scenarios.values()) * len(synth.cues) * per


def fingerprint(config: DatasetConfig, root: Path | None) -> str:
    """Identity of a build: config, code version, and the source files' names, sizes and times; for the procedural
    source its settings and its code (envs/synth/*.py), which is what writes the motions: a change there made a
    new synth-8 with the cache's old clips otherwise."""
    h = hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode())
    h.update(f"v{CACHE_VERSION}".encode())
    if config.source == "synthetic":
        h.update((config_dir() / "synth.yaml").read_bytes())
        import envs.synth

        for path in sorted(Path(envs.synth.__file__).parent.glob("*.py")):  # the bytes, as a checkout with CRLF too
            h.update(path.name.encode() + path.read_bytes().replace(b"\r\n", b"\n"))
    if root is not None:
        for name in config.datasets:
            folder = root / name
            for path in sorted(folder.glob("data/*.bvh")) + sorted(folder.glob("data.tar.xz")):
                st = path.stat()
                h.update(f"{path.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    h.update((config_dir() / "texts.yaml").read_bytes())
    return h.hexdigest()[:16]


def assign_splits(clips: list[tuple[str, str]], config: DatasetConfig) -> dict[str, str]:
    """clip id -> split, stratified by scenario and fixed by seed; a clip's windows share its split."""
    rng = np.random.default_rng(config.seed)
    by_scenario: dict[str, list[str]] = {}
    for clip_id, scenario in sorted(clips):
        by_scenario.setdefault(scenario, []).append(clip_id)
    out: dict[str, str] = {}
    for scenario in sorted(by_scenario):
        ids = by_scenario[scenario]
        order = rng.permutation(len(ids))
        n = len(ids)
        n_test = int(round(config.splits.test * n))
        n_val = int(round(config.splits.val * n))
        if n >= 3:  # every scenario gets at least one test and one validation clip
            n_test, n_val = max(n_test, 1), max(n_val, 1)
        for rank, i in enumerate(order):
            out[ids[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def windows(num_frames: int, config: DatasetConfig, fps: float = CANONICAL_FPS) -> list[tuple[int, int]]:
    """(start, length) windows of a clip; lengths are multiples of 4 (the tokenizer's downsampling)."""
    length = int(config.window.length_s * fps) // 4 * 4
    stride = max(1, int(config.window.stride_s * fps))
    minimum = int(config.window.min_length_s * fps)
    if num_frames < minimum or num_frames < 4:
        return []
    if num_frames <= length:
        return [(0, num_frames // 4 * 4)]
    starts = list(range(0, num_frames - length + 1, stride))
    if starts[-1] + length < num_frames:  # cover the tail too
        starts.append(num_frames - length)
    return [(s, length) for s in starts]


def build(config: DatasetConfig, out_dir: str | Path, root: str | Path | None = None,
          workers: int | None = None, progress: bool = True) -> dict:
    """Build the dataset into ``out_dir`` and return its manifest."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    root_path = bandai_root(root) if config.source == "bandai" else None
    feats, poss, metas, bad = [], [], [], []
    it = iter_processed(config, root_path, workers)
    total = None if config.source == "bandai" else _synth_count(config)
    for clip in tqdm(it, desc=f"prepare {config.name}", unit="clip", total=total, disable=not progress, mininterval=1.0):
        if not clip.ok:
            bad.append({"clip_id": clip.clip_id, "error": clip.error})
            continue
        if config.source == "bandai":
            scenario = config.scenario_of(clip.content)
            if scenario is None:
                continue  # content outside the benchmark (e.g. dance)
            if clip.style not in config.style_emotion and clip.style not in config.persona_styles:
                bad.append({"clip_id": clip.clip_id, "error": f"style {clip.style!r} is neither an emotion nor a persona in the config"})
                continue
            emotion = config.style_emotion.get(clip.style)
        else:
            scenario, emotion = clip.extra["scenario"], clip.style
        feats.append(clip.features)
        poss.append(clip.positions)
        metas.append((clip, scenario, emotion))
    if not metas:
        raise RuntimeError(f"{config.name}: no usable clips ({len(bad)} bad)")

    splits = assign_splits([(c.clip_id, s) for c, s, _ in metas], config)
    composer = TextComposer()
    clips: list[ClipRecord] = []
    samples: list[SampleRecord] = []
    offset = 0
    for (clip, scenario, emotion), f in zip(metas, feats):
        split = splits[clip.clip_id]
        clips.append(ClipRecord(clip.clip_id, clip.source, clip.content, clip.style, scenario, emotion, split,
                                offset, len(f), clip.retarget_error_cm, clip.roundtrip_error_mm))
        offset += len(f)
        for k, (start, length) in enumerate(windows(len(f), config)):
            sample_id = f"{clip.clip_id}#{k}"
            rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(f"{config.seed}:{sample_id}".encode(), digest_size=8).digest(), "little"))
            texts = composer.compose(clip.content, emotion or clip.style, rng, scenario, config.texts_per_sample)
            samples.append(SampleRecord(sample_id, clip.clip_id, scenario, emotion, split, start, length, texts))

    features = np.concatenate(feats).astype(np.float32)
    positions = np.concatenate(poss).astype(np.float32)
    train_rows = np.concatenate([np.arange(c.offset, c.offset + c.num_frames) for c in clips if c.split == "train"])
    stats = FeatureStats.fit(features[train_rows])

    from safetensors.numpy import save

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").unlink(missing_ok=True)  # invalidate before rewriting
    atomic_write_bytes(out_dir / "arrays.safetensors", save({"features": features, "positions": positions}))
    atomic_write_text(out_dir / "clips.jsonl", "".join(json.dumps(dataclasses.asdict(c)) + "\n" for c in clips))
    atomic_write_text(out_dir / "samples.jsonl", "".join(json.dumps(dataclasses.asdict(s)) + "\n" for s in samples))
    atomic_write_text(out_dir / "bad_files.jsonl", "".join(json.dumps(b) + "\n" for b in bad))
    stats.save(out_dir)
    manifest = {
        "name": config.name,
        "source": config.source,
        "fingerprint": fingerprint(config, root_path),
        "cache_version": CACHE_VERSION,
        "fps": CANONICAL_FPS,
        "num_clips": len(clips),
        "num_samples": len(samples),
        "num_frames": int(len(features)),
        "num_bad_files": len(bad),
        "samples_per_split": {s: sum(x.split == s for x in samples) for s in ("train", "val", "test")},
        "build_seconds": round(time.perf_counter() - t0, 2),
        "config": dataclasses.asdict(config),
    }
    atomic_write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2))
    return manifest


def prepare(config: DatasetConfig, cache_root: str | Path | None = None, root: str | Path | None = None,
            workers: int | None = None, progress: bool = True, force: bool = False) -> tuple[Path, dict, bool]:
    """Build the dataset unless a cache with the same fingerprint exists; returns (dir, manifest, rebuilt)."""
    out_dir = Path(cache_root or default_cache_root()) / config.name
    manifest_path = out_dir / "manifest.json"
    try:
        root_path = bandai_root(root) if config.source == "bandai" else None
    except FileNotFoundError:
        if manifest_path.is_file() and not force:
            # No raw data here, but a finished build: use it as it is (it cannot be checked for staleness).
            return out_dir, json.loads(manifest_path.read_text()), False
        raise
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("fingerprint") == fingerprint(config, root_path):
            return out_dir, manifest, False
    return out_dir, build(config, out_dir, root_path, workers, progress), True
