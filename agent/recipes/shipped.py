"""Pre-trained bootstrap assets shipped with the repository (``assets/<dataset>/``), so that `make demo` on
a fresh clone does not spend most of its time re-training the same small models. They are exactly what
``bootstrap_assets`` trains (same code, longer runs: the settings are in ``ASSETS.json``), exported by

    python -m agent.recipes.shipped export --runs runs-ship --dataset synth-8

Every path inside them is relative to the file that names it (checkpoint manifests and perception.json are
written that way; export makes peft's model cards and the training reports relative too), so installing is a
plain copy. They are installed into ``runs/<dataset>/`` only when none of the bootstrap models is there yet (all or
nothing, so a user's own tokenizer is never mixed with a shipped generator) and only when the prepared
dataset has the fingerprint they were trained on. ``bootstrap.shipped_assets: false`` in
configs/runtime.yaml (or ``l2emg demo --from-scratch``) trains everything here instead."""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from envs.atomic import atomic_write_text

log = logging.getLogger(__name__)
MANIFEST = "ASSETS.json"


def assets_root() -> Path:
    """``assets/`` beside the packages (a checkout), else the installed package data (``pip install .``)."""
    from envs.config import package_data

    here = Path(__file__).resolve().parents[2] / "assets"
    return here if here.is_dir() else package_data("l2emg_assets")


def shipped_manifest(dataset: str, root: Path | None = None) -> dict | None:
    path = (root or assets_root()) / dataset / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def shipped_models(dataset: str, root: Path | None = None) -> list[str]:
    """The model folders shipped for ``dataset`` (none when nothing is shipped)."""
    return (shipped_manifest(dataset, root) or {}).get("models", [])


def install_shipped(dataset: str, fingerprint: str, base: Path, model_dirs: list[str], root: Path | None = None) -> bool:
    """Copy the shipped models of ``dataset`` into ``base`` (= runs/<dataset>) when none of ``model_dirs`` is
    there and the fingerprints match. Returns whether it did."""
    src = (root or assets_root()) / dataset
    manifest = shipped_manifest(dataset, root)
    if manifest is None:
        return False
    if any((base / d).exists() for d in model_dirs):
        return False
    if manifest.get("fingerprint") != fingerprint:
        log.warning("bootstrap: the shipped %s models were trained on another build of the dataset (fingerprint %s != %s); "
                    "training them here instead", dataset, manifest.get("fingerprint"), fingerprint)
        return False
    missing = [d for d in manifest["models"] if not (src / d).is_dir()]
    if missing:
        raise FileNotFoundError(f"{src / MANIFEST} lists {missing}, which are not in {src}")
    base.mkdir(parents=True, exist_ok=True)
    for d in manifest["models"]:
        tmp = base / f".{d}.tmp.{time.time_ns()}"
        shutil.copytree(src / d, tmp)
        tmp.rename(base / d)  # atomic: a half-copied model is never under its real name
    log.info("bootstrap: installed the shipped %s models (%s) -> %s (trained with %s; `--from-scratch` trains them here)",
             dataset, ", ".join(manifest["models"]), base, manifest["trained_with"])
    return True


def export_shipped(dataset: str, runs: Path, models: list[str], fingerprint: str, trained_with: dict,
                   out_root: Path | None = None) -> Path:
    """Copy trained models from ``runs/<dataset>`` into ``assets/<dataset>`` with their paths made relative."""
    base = runs / dataset
    out = (out_root or assets_root()) / dataset
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for d in models:
        if not (base / d).is_dir():
            raise FileNotFoundError(f"{base / d}: not trained")
        shutil.copytree(base / d, out / d, ignore=shutil.ignore_patterns("*.tmp.*"))
        for prefix in dict.fromkeys((str(base.resolve()), str(base.absolute()), str(base))):
            relative_paths(out / d, prefix, out)
        from policies.esmoe.store import rehash_files

        rehash_files(out / d)  # an ES-MoE checkpoint lists its files' digests: the rewrite above is ours
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip():
        commit += "-dirty"
    atomic_write_text(out / MANIFEST, json.dumps({"dataset": dataset, "fingerprint": fingerprint, "models": models,
                                                  "trained_with": trained_with, "code": commit,
                                                  "exported": time.strftime("%Y-%m-%d")}, indent=2) + "\n")
    return out


def relative_paths(folder: Path, prefix: str, root: Path) -> None:
    """Paths ``prefix/<rest>`` in the JSON files (top-level strings) and markdown files under ``folder`` ->
    the path of ``root/<rest>`` relative to the file's own folder (peft's model cards, training reports)."""
    pattern = re.compile(re.escape(prefix.rstrip("/")) + r"/([^\s\"']+)")
    for f in [*folder.rglob("*.json"), *folder.rglob("*.md")]:
        rel = lambda m, f=f: os.path.relpath(root / m.group(1), f.parent)  # noqa: E731
        if f.suffix == ".json":
            data = json.loads(f.read_text())
            changed = {k: pattern.sub(rel, v) for k, v in data.items() if isinstance(v, str) and pattern.search(v)}
            if changed:
                data.update(changed)
                atomic_write_text(f, json.dumps(data, indent=2) + "\n")
        else:
            text = f.read_text()
            if pattern.search(text):
                atomic_write_text(f, pattern.sub(rel, text))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agent.recipes.shipped")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="copy bootstrap models trained under --runs into assets/<dataset>/")
    e.add_argument("--runs", required=True)
    e.add_argument("--dataset", default="synth-8")
    e.add_argument("--trained-with", default="{}", help="JSON: the bootstrap settings used")
    args = p.parse_args(argv)
    base = Path(args.runs) / args.dataset
    gen = sorted(d.name for d in base.glob("generator-*") if (d / "manifest.json").is_file())
    backbone = sorted(d.name for d in base.glob("backbone-tiny-*") if (d / "config.json").is_file())
    models = ["tokenizer", "evaluator", "emotion", "perception"] + backbone + gen
    out = export_shipped(args.dataset, Path(args.runs), models, _fingerprint(args.dataset), json.loads(args.trained_with))
    print(f"exported {models} -> {out}")
    return 0


def _fingerprint(dataset: str) -> str:
    """The fingerprint a fresh ``prepare`` of ``dataset`` gets (synthetic sources: no data root)."""
    from policies.data import load_dataset_config
    from policies.data.builder import fingerprint

    return fingerprint(load_dataset_config(dataset), None)


if __name__ == "__main__":
    raise SystemExit(main())
