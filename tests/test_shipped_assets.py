"""The bootstrap models shipped in assets/: installed all-or-nothing, only for the dataset build they were
trained on, with their paths pointing at where they were installed; the shipped synth-8 set is current."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.shipped_assets import MANIFEST, PLACEHOLDER, _fingerprint, assets_root, install_shipped, shipped_manifest


def _fake_assets(root: Path, fingerprint: str = "abc") -> None:
    d = root / "toy"
    (d / "tokenizer").mkdir(parents=True)
    (d / "tokenizer" / "model.safetensors").write_bytes(b"x")
    (d / "generator-a").mkdir()
    (d / "generator-a" / "manifest.json").write_text(json.dumps({"backbone_dir": f"{PLACEHOLDER}/backbone-a", "n": 1}))
    (d / MANIFEST).write_text(json.dumps({"fingerprint": fingerprint, "models": ["tokenizer", "generator-a"],
                                          "trained_with": {}}))


def test_install_rewrites_paths_and_is_all_or_nothing(tmp_path: Path) -> None:
    _fake_assets(tmp_path / "assets")
    base = tmp_path / "runs" / "toy"
    said: list[str] = []
    assert install_shipped("toy", "abc", base, ["tokenizer", "generator-a"], tmp_path / "assets", said.append)
    manifest = json.loads((base / "generator-a" / "manifest.json").read_text())
    assert manifest == {"backbone_dir": f"{base}/backbone-a", "n": 1}
    assert not [p for p in base.iterdir() if p.name.startswith(".")]  # no temporary copies left
    assert "installed the shipped toy models" in said[0]
    # a second call (models present) and a user's own model (partial set) install nothing
    assert not install_shipped("toy", "abc", base, ["tokenizer", "generator-a"], tmp_path / "assets", said.append)
    other = tmp_path / "runs2" / "toy"
    (other / "tokenizer").mkdir(parents=True)
    assert not install_shipped("toy", "abc", other, ["tokenizer", "generator-a"], tmp_path / "assets", said.append)
    assert not (other / "generator-a").exists()


def test_install_refuses_another_dataset_build(tmp_path: Path) -> None:
    _fake_assets(tmp_path / "assets", fingerprint="old")
    said: list[str] = []
    assert not install_shipped("toy", "new", tmp_path / "runs" / "toy", ["tokenizer"], tmp_path / "assets", said.append)
    assert "another build of the dataset" in said[0] and not (tmp_path / "runs" / "toy").exists()
    assert not install_shipped("nothing-shipped", "new", tmp_path / "runs" / "x", ["tokenizer"], tmp_path / "assets")


def test_shipped_synth8_is_current_and_generates(tmp_path: Path) -> None:
    manifest = shipped_manifest("synth-8")
    if manifest is None:
        pytest.skip("no assets/synth-8 in this checkout")
    # editing configs/synth.yaml or texts.yaml makes the shipped models stale: re-export them (see agent/shipped_assets.py)
    assert manifest["fingerprint"] == _fingerprint("synth-8"), "assets/synth-8 was trained on another synth-8 build"
    base = tmp_path / "synth-8"
    assert install_shipped("synth-8", manifest["fingerprint"], base, manifest["models"], say=lambda *_: None)
    gen = next(m for m in manifest["models"] if m.startswith("generator-"))
    from agent.services import GeneratorService

    service = GeneratorService(str(base / gen), str(base / "tokenizer"))
    assert json.loads((base / gen / "manifest.json").read_text())["backbone_dir"].startswith(str(base))
    out = service.generate(["A person dances a happy twirl with arms raised."])[0]
    assert out["failure"] is None and out["motion"] is not None and len(out["codes"]) >= 2
    assert set(out["experts"]) == set(json.loads((base / gen / "manifest.json").read_text())["experts"])
    assert (assets_root() / "synth-8" / "perception").is_dir()
    perception = json.loads((base / "perception" / "perception.json").read_text())
    assert perception["classifier"].startswith(str(base))


def test_bootstrap_never_pretrains_on_a_later_phase_scenario() -> None:
    from agent.bootstrap import later_scenarios
    from agent.episode import load_episode
    from envs.config import config_dir

    assert later_scenarios(load_episode(config_dir() / "episodes" / "demo.yaml")) == ("dance",)
    manifest = shipped_manifest("synth-8")
    if manifest is not None:  # the shipped backbone is named after what it has not seen
        assert "backbone-tiny-without-dance" in manifest["models"]
