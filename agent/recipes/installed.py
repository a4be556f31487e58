"""The models a finished `make demo` (or `l2emg demo`) leaves under ``runs/``, found for the one-shot
commands (`perceive`, `generate`, `interact`) so that they work without arguments: the demo dataset's
tokenizer, judges and perception, and the generator the demo episode last published (with the expert it
learned) or else the bootstrapped one."""
from __future__ import annotations

from pathlib import Path

from agent.recipes.bootstrap import RuntimeAssets

DEMO_DATASET = "synth-8"
DEMO_EPISODE = "demo"
HOW = "run `make demo` once (or `l2emg demo`): it installs the demo's models into runs/"


class NotInstalled(FileNotFoundError):
    """No trained models where a one-shot command looks; the message says how to get them."""


def installed_generator(runs: str | Path = "runs", dataset: str = DEMO_DATASET, episode: str = DEMO_EPISODE) -> Path:
    """The episode's last published checkpoint when it ran, else the newest bootstrapped generator."""
    from policies.esmoe.store import is_checkpoint, read_pointer

    runs = Path(runs)
    pointer = runs / episode / "generator.json"
    if pointer.is_file() and is_checkpoint(read_pointer(pointer)):
        return Path(read_pointer(pointer))
    found = sorted((d for d in (runs / dataset).glob("generator-*") if is_checkpoint(d)), key=lambda d: d.stat().st_mtime)
    if not found:
        raise NotInstalled(f"no trained generator in {runs / dataset}: {HOW}")
    return found[-1]


def installed_perception(runs: str | Path = "runs", dataset: str = DEMO_DATASET) -> Path:
    path = Path(runs) / dataset / "perception"
    if not (path / "perception.json").is_file():
        raise NotInstalled(f"no perception model in {path}: {HOW}")
    return path


def installed_assets(runs: str | Path = "runs", dataset: str = DEMO_DATASET, episode: str = DEMO_EPISODE,
                     generator: str | Path | None = None, cache: str | None = None, with_dataset: bool = False) -> RuntimeAssets:
    """Everything a one-shot interaction needs. ``generator`` overrides the installed one; ``with_dataset``
    prepares the dataset (the judges rank against its validation descriptions) instead of leaving
    ``dataset_dir`` empty."""
    from policies.esmoe.store import is_checkpoint, read_manifest

    base = Path(runs) / dataset
    for name, marker in (("tokenizer", "model.safetensors"), ("evaluator", "model.safetensors"), ("emotion", "model.safetensors")):
        if not (base / name / marker).is_file():
            raise NotInstalled(f"no {name} in {base / name}: {HOW}")
    gen = Path(generator) if generator else installed_generator(runs, dataset, episode)
    if not is_checkpoint(gen):
        raise NotInstalled(f"{gen}: not an ES-MoE checkpoint (no manifest.json); `l2emg train generator` or `make demo` makes one")
    manifest = read_manifest(gen)
    dataset_dir = ""
    if with_dataset:
        from policies.data import load_dataset_config, prepare

        dataset_dir = str(prepare(load_dataset_config(dataset), cache, None, progress=False)[0])
    return RuntimeAssets(dataset, dataset_dir, str(base / "tokenizer"), str(base / "evaluator"), str(base / "emotion"),
                         str(installed_perception(runs, dataset)), manifest["backbone_dir"], str(gen),
                         tuple(manifest["experts"]))
