"""ES-MoE checkpoints: each expert in peft's own format (``<dir>/<expert>/adapter_model.safetensors`` +
``adapter_config.json``), the gate, CGED and the injection projections in ``shared.safetensors``, and a
JSON manifest. Written to a temporary folder and renamed, so a half-written checkpoint is never read.

This module is the one reader of that format: :func:`read_manifest`, :func:`load_generator`. Paths in the
manifest (``PATH_KEYS``) are stored relative to the checkpoint's own folder, so a checkpoint can be moved
or shipped with the models it names; absolute paths of older checkpoints are read as they are."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import torch

from policies.backbone import Backbone
from policies.esmoe.config import ESMoEConfig
from policies.esmoe.model import ESMoE

MANIFEST = "manifest.json"
FORMAT = "l2emg-esmoe/1"
PATH_KEYS = ("backbone", "backbone_dir", "tokenizer_dir", "parent")  # "backbone" only when it names a folder


def _is_path(value) -> bool:
    return isinstance(value, str) and ("/" in value or os.sep in value)


def _relative_paths(manifest: dict, directory: Path) -> dict:
    return {k: (os.path.relpath(Path(v).absolute(), directory.absolute()) if k in PATH_KEYS and _is_path(v) else v)
            for k, v in manifest.items()}


def read_manifest(directory: str | Path) -> dict:
    """The manifest of the checkpoint in ``directory`` with its paths resolved against that folder. A folder
    without one (not a checkpoint, or a half-written one) raises FileNotFoundError."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: no {MANIFEST} (not an ES-MoE checkpoint, or a half-written one)")
    manifest = json.loads(path.read_text())
    return {k: (os.path.normpath(directory / v) if k in PATH_KEYS and _is_path(v) else v) for k, v in manifest.items()}


def is_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST).is_file()


def write_pointer(pointer: str | Path, checkpoint: str | Path) -> None:
    """Record which published checkpoint a run serves (``runs/<episode>/generator.json``), relative to the
    pointer's folder so the run folder can move."""
    from envs.atomic import atomic_write_text

    pointer = Path(pointer)
    rel = os.path.relpath(Path(checkpoint).absolute(), pointer.parent.absolute())
    atomic_write_text(pointer, json.dumps({"checkpoint": rel}))


def read_pointer(pointer: str | Path) -> str:
    """The checkpoint a pointer names (older pointers hold a path relative to the working directory)."""
    pointer = Path(pointer)
    value = json.loads(pointer.read_text())["checkpoint"]
    here = os.path.normpath(pointer.parent / value)
    return value if not Path(here).exists() and Path(value).exists() else here


def load_generator(directory: str | Path, codebook_size: int, device: torch.device | str | None = None) -> tuple[ESMoE, dict]:
    """A published checkpoint on the backbone its manifest names: (model, resolved manifest)."""
    from policies.backbone import load_backbone

    manifest = read_manifest(directory)
    return load_esmoe(directory, load_backbone(manifest["backbone_dir"], codebook_size), device), manifest


def _shared_state(model: ESMoE) -> dict:
    state = {f"gate.{k}": v for k, v in model.gate.state_dict().items()}
    state.update({f"inject.{k}": v for k, v in model.inject.state_dict().items()})
    if model.cged is not None:
        state.update({f"cged.{k}": v for k, v in model.cged.state_dict().items()})
    state.update({f"proto.{j}": p for j, p in enumerate(model.prototypes)})
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def save_esmoe(model: ESMoE, directory: str | Path, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in model.bank.names:
        model.bank.save(tmp, name)
    save_file(_shared_state(model), str(tmp / "shared.safetensors"))
    manifest = {
        "format": FORMAT, "backbone": model.backbone.name, "experts": list(model.bank.names),
        "scenarios": list(model.scenarios), "emotions": list(model.emotions),
        "flags": {"use_cged": model.use_cged, "use_samoe": model.use_samoe, "use_emo": model.use_emo},
        "expert_parameters": model.expert_parameters(), "config": dataclasses.asdict(model.config), **(extra or {}),
    }
    (tmp / MANIFEST).write_text(json.dumps(_relative_paths(manifest, directory), indent=2))
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


def load_esmoe(directory: str | Path, backbone: Backbone, device: torch.device | str | None = None) -> ESMoE:
    """Rebuild an ES-MoE generator on ``backbone`` (the one it was trained on) from :func:`save_esmoe`,
    then move all of it to ``device`` when given (else it stays where the backbone is)."""
    from safetensors.torch import load_file
    from torch import nn

    from envs.config import from_dict

    directory = Path(directory)
    path = directory / MANIFEST
    manifest = read_manifest(directory)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    config = from_dict(ESMoEConfig, manifest["config"], source=str(path))
    model = ESMoE(backbone, config, manifest["emotions"], **manifest["flags"])
    emb_dim = backbone.model.get_input_embeddings().weight.shape[1]
    for name in manifest["experts"]:
        model.bank.load(directory / name, name)
        model.gate.add_key()
        if model.use_cged and (model.use_samoe or not len(model.inject)):
            model.inject.append(nn.Linear(model.cged.dim, emb_dim))
    state = load_file(str(directory / "shared.safetensors"))
    for prefix, module in (("gate.", model.gate), ("inject.", model.inject), ("cged.", model.cged)):
        if module is None:
            continue
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        module.load_state_dict(sub, strict=True)
    model.prototypes = [state[f"proto.{j}"] for j in range(len(manifest["experts"])) if f"proto.{j}" in state]
    model.scenarios = list(manifest["scenarios"])
    for p in model.trainable_parameters():
        p.requires_grad_(False)
    if device is not None:
        return model.to(device)
    model._own_to(model.device)  # the injection projections and prototypes built here join the backbone
    return model
