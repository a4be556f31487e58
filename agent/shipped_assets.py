"""Pre-trained bootstrap assets shipped with the repository (``assets/<dataset>/``), so that `make demo` on
a fresh clone does not spend most of its time re-training the same small models. They are exactly what
``bootstrap_assets`` trains (same code, longer runs: the settings are in ``ASSETS.json``), exported by

    python -m agent.shipped_assets export --runs runs-ship --dataset synth-8

They are installed into ``runs/<dataset>/`` only when none of the bootstrap models is there yet (all or
nothing, so a user's own tokenizer is never mixed with a shipped generator) and only when the prepared
dataset has the fingerprint they were trained on. ``bootstrap.shipped_assets: false`` in
configs/runtime.yaml (or ``l2emg demo --from-scratch``) trains everything here instead."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

MANIFEST = "ASSETS.json"
PLACEHOLDER = "${ASSETS}"  # stands for the folder the assets are installed in, inside JSON path fields


def assets_root() -> Path:
    return Path(__file__).resolve().parent.parent / "assets"


def shipped_manifest(dataset: str, root: Path | None = None) -> dict | None:
    path = (root or assets_root()) / dataset / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def install_shipped(dataset: str, fingerprint: str, base: Path, model_dirs: list[str], root: Path | None = None,
                    say=print) -> bool:
    """Copy the shipped models of ``dataset`` into ``base`` (= runs/<dataset>) when none of ``model_dirs`` is
    there and the fingerprints match. Returns whether it did."""
    src = (root or assets_root()) / dataset
    manifest = shipped_manifest(dataset, root)
    if manifest is None:
        return False
    if any((base / d).exists() for d in model_dirs):
        return False
    if manifest.get("fingerprint") != fingerprint:
        say(f"bootstrap: the shipped {dataset} models were trained on another build of the dataset "
            f"(fingerprint {manifest.get('fingerprint')} != {fingerprint}); training them here instead")
        return False
    missing = [d for d in manifest["models"] if not (src / d).is_dir()]
    if missing:
        raise FileNotFoundError(f"{src / MANIFEST} lists {missing}, which are not in {src}")
    base.mkdir(parents=True, exist_ok=True)
    for d in manifest["models"]:
        tmp = base / f".{d}.tmp.{time.time_ns()}"
        shutil.copytree(src / d, tmp)
        _rewrite_tree(tmp, PLACEHOLDER, str(base))
        tmp.rename(base / d)  # atomic: a half-copied model is never under its real name
    say(f"bootstrap: installed the shipped {dataset} models ({', '.join(manifest['models'])}) -> {base} "
        f"(trained with {manifest['trained_with']}; `--from-scratch` trains them here)")
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
        for prefix in (str(base.resolve()), str(base)):
            _rewrite_tree(out / d, prefix, PLACEHOLDER)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip():
        commit += "-dirty"
    (out / MANIFEST).write_text(json.dumps({"dataset": dataset, "fingerprint": fingerprint, "models": models,
                                            "trained_with": trained_with, "code": commit,
                                            "exported": time.strftime("%Y-%m-%d")}, indent=2) + "\n")
    return out


def _rewrite_tree(folder: Path, old: str, new: str) -> None:
    """Paths starting with ``old`` -> ``new``: top-level JSON strings (manifests, perception, adapter configs)
    and peft's model cards (which name the base model)."""
    for f in folder.rglob("*.json"):
        _rewrite_paths(f, old, new)
    for f in folder.rglob("*.md"):
        f.write_text(f.read_text().replace(old, new))


def _rewrite_paths(path: Path, old: str, new: str) -> None:
    data = json.loads(path.read_text())
    changed = {k: new + v[len(old):] for k, v in data.items() if isinstance(v, str) and v.startswith(old + "/")}
    if changed:
        data.update(changed)
        path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agent.shipped_assets")
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
