"""The bootstrap models shipped in assets/: installed all-or-nothing by a plain copy (every path inside is
relative to the file naming it), only for the dataset build they were trained on; the shipped synth-8 set is
current and exported paths come out relative."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from agent.recipes.shipped import MANIFEST, _fingerprint, assets_root, export_shipped, install_shipped, shipped_manifest
from policies.esmoe.store import read_manifest


def _fake_assets(root: Path, fingerprint: str = "abc") -> None:
    d = root / "toy"
    (d / "tokenizer").mkdir(parents=True)
    (d / "tokenizer" / "model.safetensors").write_bytes(b"x")
    (d / "generator-a").mkdir()
    (d / "generator-a" / "manifest.json").write_text(json.dumps({"backbone_dir": "../backbone-a", "n": 1}))
    (d / MANIFEST).write_text(json.dumps({"fingerprint": fingerprint, "models": ["tokenizer", "generator-a"],
                                          "trained_with": {}}))


def test_install_copies_relative_paths_and_is_all_or_nothing(tmp_path: Path, caplog) -> None:
    _fake_assets(tmp_path / "assets")
    base = tmp_path / "runs" / "toy"
    with caplog.at_level(logging.INFO, logger="agent"):
        assert install_shipped("toy", "abc", base, ["tokenizer", "generator-a"], tmp_path / "assets")
    assert json.loads((base / "generator-a" / "manifest.json").read_text()) == {"backbone_dir": "../backbone-a", "n": 1}
    assert read_manifest(base / "generator-a")["backbone_dir"] == str(base / "backbone-a")  # resolved where it lies
    assert not [p for p in base.iterdir() if p.name.startswith(".")]  # no temporary copies left
    assert "installed the shipped toy models" in caplog.text
    # a second call (models present) and a user's own model (partial set) install nothing
    assert not install_shipped("toy", "abc", base, ["tokenizer", "generator-a"], tmp_path / "assets")
    other = tmp_path / "runs2" / "toy"
    (other / "tokenizer").mkdir(parents=True)
    assert not install_shipped("toy", "abc", other, ["tokenizer", "generator-a"], tmp_path / "assets")
    assert not (other / "generator-a").exists()


def test_export_makes_every_path_relative(tmp_path: Path) -> None:
    base = tmp_path / "runs" / "toy"
    (base / "generator-a" / "x").mkdir(parents=True)
    (base / "generator-a" / "x" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": f"{base}/backbone-a"}))
    (base / "generator-a" / "README.md").write_text(f"base_model: {base}/backbone-a\n")
    (base / "backbone-a").mkdir()
    from policies.esmoe.store import _file_hashes, verify_files

    (base / "generator-a" / "manifest.json").write_text(json.dumps({"files": _file_hashes(base / "generator-a")}))
    out = export_shipped("toy", tmp_path / "runs", ["generator-a", "backbone-a"], "abc", {}, out_root=tmp_path / "assets")
    # the checkpoint's digests follow the paths made relative: the shipped generator loads (it did not, 2026-12-04)
    verify_files(out / "generator-a", json.loads((out / "generator-a" / "manifest.json").read_text()))
    cfg = json.loads((out / "generator-a" / "x" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == "../../backbone-a"
    assert (out / "generator-a" / "README.md").read_text() == "base_model: ../backbone-a\n"
    assert json.loads((out / MANIFEST).read_text())["models"] == ["generator-a", "backbone-a"]


def test_install_refuses_another_dataset_build(tmp_path: Path, caplog) -> None:
    _fake_assets(tmp_path / "assets", fingerprint="old")
    assert not install_shipped("toy", "new", tmp_path / "runs" / "toy", ["tokenizer"], tmp_path / "assets")
    assert "another build of the dataset" in caplog.text and not (tmp_path / "runs" / "toy").exists()
    assert not install_shipped("nothing-shipped", "new", tmp_path / "runs" / "x", ["tokenizer"], tmp_path / "assets")


def test_shipped_synth8_is_current_and_generates(tmp_path: Path) -> None:
    manifest = shipped_manifest("synth-8")
    if manifest is None:
        pytest.skip("no assets/synth-8 in this checkout")
    # editing configs/synth.yaml or texts.yaml makes the shipped models stale: re-export them (see agent/recipes/shipped.py)
    assert manifest["fingerprint"] == _fingerprint("synth-8"), "assets/synth-8 was trained on another synth-8 build"
    shipped = assets_root() / "synth-8"
    for f in [*shipped.rglob("*.json"), *shipped.rglob("*.md")]:  # no path of the machine it was exported on
        assert not re.search(r"""["' ](/|runs/|\$\{)""", f.read_text()), f
    base = tmp_path / "synth-8"
    assert install_shipped("synth-8", manifest["fingerprint"], base, manifest["models"])
    gen = next(m for m in manifest["models"] if m.startswith("generator-"))
    from agent.runtime.services import GeneratorService

    service = GeneratorService(str(base / gen), str(base / "tokenizer"))
    assert read_manifest(base / gen)["backbone_dir"].startswith(str(base))
    out = service.generate(["A person dances a happy twirl with arms raised."])[0]
    assert out.failure is None and out.motion is not None and len(out.codes) >= 2
    assert set(out.experts) == set(read_manifest(base / gen)["experts"])
    assert (shipped / "perception").is_dir()
    perception = json.loads((base / "perception" / "perception.json").read_text())
    assert (base / "perception" / perception["classifier"]).resolve() == (base / "emotion").resolve()


def test_bootstrap_never_pretrains_on_a_later_phase_scenario() -> None:
    from agent.episodes.config import later_scenarios, load_episode
    from envs.config import config_dir

    assert later_scenarios(load_episode(config_dir() / "episodes" / "demo.yaml")) == ("dance",)
    manifest = shipped_manifest("synth-8")
    if manifest is not None:  # the shipped backbone is named after what it has not seen
        assert "backbone-tiny-without-dance" in manifest["models"]


def test_models_of_another_dataset_build_are_named_not_silently_reused(tmp_path: Path, caplog) -> None:
    """After an update changes the procedural source, the runs folder's old models are still used (never replaced
    behind the user's back), but the bootstrap says they belong to another build, or that it cannot tell."""
    from agent.recipes.bootstrap import check_build, record_build

    base = tmp_path / "runs" / "synth-8"
    base.mkdir(parents=True)
    assert not check_build(base, "synth-8", "new") and "do not record which build" in caplog.text
    caplog.clear()
    record_build(base, "synth-8", "old")
    assert not check_build(base, "synth-8", "new") and "another build of synth-8 (fingerprint old != new" in caplog.text
    caplog.clear()
    record_build(base, "synth-8", "new")
    assert check_build(base, "synth-8", "new") and not caplog.text
