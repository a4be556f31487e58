import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from envs.io.bandai import bandai_root, iter_bandai, parse_clip_name
from helpers import make_bandai_root
from policies.data import L2EMGDataset, load_dataset_config, prepare
from policies.data.builder import assign_splits, windows
from policies.data.check import check_source

TRUNCATED = "HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n End Site\n {\n OFFSET 0 1 0\n }\n}\nMOTION\nFrames: 3\nFrame Time: 0.033\n0 0 0 0 0 0\n"


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory, synth):
    return make_bandai_root(tmp_path_factory.mktemp("bandai"), synth, bad={"dataset-1_walk_angry_001.bvh": TRUNCATED})


@pytest.fixture(scope="module")
def tiny_synth_config():
    return dataclasses.replace(load_dataset_config("synth-8"), name="synth-tiny", variations=1)


def test_clip_names():
    ref = parse_clip_name("dataset-2_raise-up-left-hand_not-confident_012")
    assert (ref.dataset, ref.content, ref.style, ref.take) == ("dataset-2", "raise-up-left-hand", "not-confident", "012")
    with pytest.raises(ValueError, match="not a Bandai-Namco clip name"):
        parse_clip_name("walk_sad")


def test_windows_are_multiples_of_four_and_cover_the_clip():
    cfg = load_dataset_config("bandai-4")
    w = windows(250, cfg)
    assert all(length == 80 for _, length in w) and w[0][0] == 0 and w[-1][0] + 80 == 250
    assert windows(50, cfg) == [(0, 48)]
    assert windows(10, cfg) == []


def test_splits_are_by_clip_stratified_and_seeded():
    cfg = load_dataset_config("bandai-4")
    clips = [(f"c{i}", "locomotion" if i % 2 else "greeting") for i in range(200)]
    a, b = assign_splits(clips, cfg), assign_splits(list(reversed(clips)), cfg)
    assert a == b
    for scenario in ("locomotion", "greeting"):
        ids = [c for c, s in clips if s == scenario]
        share = {k: sum(a[c] == k for c in ids) / len(ids) for k in ("train", "val", "test")}
        assert share == pytest.approx({"train": 0.8, "val": 0.05, "test": 0.15}, abs=0.02)


def test_bandai_reader_streams_both_datasets(fake_root, monkeypatch):
    refs = [ref for ref, _ in iter_bandai(fake_root)]
    assert sum(r.dataset == "dataset-1" for r in refs) == 9 and sum(r.dataset == "dataset-2" for r in refs) == 3
    monkeypatch.delenv("L2EMG_BANDAI_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match="L2EMG_BANDAI_ROOT"):
        bandai_root(None)


def test_check_lists_bad_files_and_carries_on(fake_root):
    report = check_source(load_dataset_config("bandai-4"), fake_root, workers=1, progress=False)
    assert report["clips_loaded"] == 11 and len(report["bad_files"]) == 1
    assert "dataset-1_walk_angry_001.bvh" in report["bad_files"][0]["error"] and "truncated" in report["bad_files"][0]["error"]
    assert report["counts"]["emotion"]["tired"] == 1 and report["counts"]["emotion"]["energetic"] == 1
    assert report["counts"]["scenario"]["reaching"] == 1
    assert report["retarget_error_cm"]["max"] < 4.0
    assert report["feature_roundtrip_mm"]["max"] < 1.0
    assert {c["clip_id"] for c in report["clips"]} >= {"dataset-2_walk-turn-left_elderly_002"}


def test_prepare_builds_then_reuses_the_cache(tmp_path, fake_root):
    cfg = dataclasses.replace(load_dataset_config("bandai-4"), name="bandai-fake")
    out, manifest, rebuilt = prepare(cfg, tmp_path, fake_root, workers=1, progress=False)
    assert rebuilt and manifest["num_bad_files"] == 1 and manifest["num_clips"] == 10  # dance is not in bandai-4
    _, manifest2, rebuilt2 = prepare(cfg, tmp_path, fake_root, workers=1, progress=False)
    assert not rebuilt2 and manifest2 == manifest
    ds = L2EMGDataset(out)
    personas = [s for s in ds.samples if s.clip_id.endswith("old_001") or "elderly" in s.clip_id]
    assert personas and all(s.emotion is None for s in personas)
    assert any("old" in t or "elderly" in t or "aged" in t for s in personas for t in s.texts)
    labelled = {ds.clips[s.clip_id].style: s.emotion for s in ds.samples if s.emotion}
    assert labelled["not-confident"] == "anxious" and labelled["exhausted"] == "tired" and labelled["active"] == "energetic"


def test_synth_dataset_samples_texts_and_splits(tmp_path, tiny_synth_config):
    out, manifest, _ = prepare(tiny_synth_config, tmp_path, workers=2, progress=False)
    ds = L2EMGDataset(out)
    assert manifest["num_clips"] == 256 and len(ds) == 256
    by_clip = {}
    for s in ds.samples:
        by_clip.setdefault(s.clip_id, set()).add(s.split)
        assert len(s.texts) == 3 and len(set(s.texts)) == 3
        assert all(t.strip(". ").lower() != s.emotion for t in s.texts)
        assert s.length % 4 == 0
        f = ds.features(s)
        assert f.shape == (s.length, 263) and np.isfinite(f).all()
    assert all(len(v) == 1 for v in by_clip.values())  # windows never cross splits
    counts = ds.counts()
    assert set(counts["scenario"]) == {"daily_life", "sports", "dance", "shows", "game", "animation", "instrument_play", "acrobatics"}
    assert len(counts["emotion"]) == 8
    texts = [t for s in ds.samples for t in s.texts]
    assert len(set(texts)) > 0.9 * len(texts)
    norm = np.concatenate([ds.features(s, normalised=True) for s in ds.split("train")])
    assert abs(float(norm.mean())) < 0.1
    m = ds.motion(ds.samples[0])
    assert m.num_frames == ds.samples[0].length


def test_cli_data_check_json(tmp_path, fake_root):
    out = subprocess.run([sys.executable, "-m", "agent.cli", "data", "check", "--source", "bandai", "--root", str(fake_root),
                          "--json", "--quiet", "--workers", "1"], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["clips_loaded"] == 11 and report["bad_files"]
    bad = subprocess.run([sys.executable, "-m", "agent.cli", "data", "check", "--source", "bandai", "--root", str(tmp_path / "nope")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "not a folder" in bad.stderr and "Traceback" not in bad.stderr


def test_style_phrases_are_whole_phrases():
    """A comma inside an unquoted YAML flow list splits a phrase in two; catch such fragments."""
    from policies.data.texts import load_text_config

    cfg = load_text_config()
    for style, p in cfg.styles.items():
        for phrase in p.adverbials + p.participles:
            assert len(phrase.split()) >= 2 or phrase.endswith("ly"), (style, phrase)


def test_prepare_uses_a_built_cache_without_the_raw_data(tmp_path, fake_root, monkeypatch):
    cfg = dataclasses.replace(load_dataset_config("bandai-4"), name="bandai-cached")
    out, manifest, _ = prepare(cfg, tmp_path, fake_root, workers=1, progress=False)
    monkeypatch.delenv("L2EMG_BANDAI_ROOT", raising=False)
    again, manifest2, rebuilt = prepare(cfg, tmp_path, None, progress=False)
    assert again == out and manifest2 == manifest and not rebuilt
    with pytest.raises(FileNotFoundError, match="L2EMG_BANDAI_ROOT"):
        prepare(dataclasses.replace(cfg, name="never-built"), tmp_path, None, progress=False)


def test_a_change_to_the_procedural_source_code_is_a_new_build(tmp_path, monkeypatch):
    """The cache of a synthetic dataset is keyed by the code that writes its motions, not only by its settings: the
    shipped synth-8 models were once about to be retrained on the previous source's cached clips."""
    import shutil
    from pathlib import Path

    import envs.synth
    from policies.data.builder import fingerprint

    config = load_dataset_config("synth-8")
    before = fingerprint(config, None)
    copy = tmp_path / "synth"
    shutil.copytree(Path(envs.synth.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(envs.synth, "__file__", str(copy / "__init__.py"))
    assert fingerprint(config, None) == before  # the same code, wherever it lies
    with open(copy / "gait.py", "a") as f:
        f.write("\nSTANCE_SHARE = 0.5\n")
    assert fingerprint(config, None) != before
