"""ES-MoE checkpoints: each expert in peft's own format (``<dir>/<expert>/adapter_model.safetensors`` +
``adapter_config.json``), the gate, CGED and the injection projections in ``shared.safetensors``, and a
JSON manifest. Written to a temporary folder and renamed, so a half-written checkpoint is never read.

This module is the one reader of that format: :func:`read_manifest`, :func:`load_generator`. Paths in the
manifest (``PATH_KEYS``) are stored relative to the checkpoint's own folder, so a checkpoint can be moved
or shipped with the models it names; absolute paths of older checkpoints are read as they are."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import torch

from envs.errors import L2EMGError
from policies.backbone import Backbone
from policies.checkpoint import CheckpointError
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
    without one (not a checkpoint, or a half-written one) raises FileNotFoundError; a manifest that is no
    JSON object, or lacks what a loader needs, raises CheckpointError."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: no {MANIFEST} (not an ES-MoE checkpoint, or a half-written one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable manifest ({str(exc)[:120]})") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{path}: the manifest must be a JSON object, got {type(manifest).__name__}")
    return {k: (os.path.normpath(directory / v) if k in PATH_KEYS and _is_path(v) else v) for k, v in manifest.items()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file of a checkpoint folder (the manifest aside), by path relative to it."""
    return {p.relative_to(directory).as_posix(): _sha256(p) for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def verify_files(directory: str | Path, manifest: dict) -> None:
    """Every file the manifest lists (``files``: checkpoints written since issue 25) is there, unchanged; a
    truncated or altered one is a CheckpointError. Older manifests list none: nothing to check."""
    files = manifest.get("files")
    if files is None:
        return
    directory = Path(directory)
    if not isinstance(files, dict):
        raise CheckpointError(f"{directory / MANIFEST}: files must map file names to sha256 digests")
    for name, digest in files.items():
        path = directory / str(name)
        if not path.is_file():
            raise CheckpointError(f"{path}: listed in the manifest but missing")
        if _sha256(path) != digest:
            raise CheckpointError(f"{path}: altered or truncated since it was written (sha256 differs from the manifest)")


def rehash_files(directory: str | Path) -> None:
    """Record anew the digests of a checkpoint whose files were rewritten on purpose (the shipped assets' export
    makes their paths relative), so that ``verify_files`` still tells that from damage. No-op for a folder that is
    not such a checkpoint (no manifest, or one without a file list)."""
    from envs.atomic import atomic_write_text

    path = Path(directory) / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    if manifest.get("files") is not None:
        manifest["files"] = _file_hashes(Path(directory))
        atomic_write_text(path, json.dumps(manifest, indent=2))


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
    from policies.checkpoint import read_json

    pointer = Path(pointer)
    data = read_json(pointer)
    value = data.get("checkpoint") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value or "\0" in value:
        raise CheckpointError(f"{pointer}: must hold {{\"checkpoint\": PATH}}, got {str(data)[:80]}")
    here = os.path.normpath(pointer.parent / value)
    try:
        return value if not Path(here).exists() and Path(value).exists() else here
    except OSError as exc:  # a name the OS cannot look up (too long)
        raise CheckpointError(f"{pointer}: unusable checkpoint path ({exc.strerror})") from None


def load_generator(directory: str | Path, codebook_size: int, device: torch.device | str | None = None) -> tuple[ESMoE, dict]:
    """A published checkpoint on the backbone its manifest names: (model, resolved manifest). A missing
    manifest is a FileNotFoundError; anything else wrong with the folder a CheckpointError."""
    from policies.backbone import load_backbone

    manifest = read_manifest(directory)
    verify_files(directory, manifest)
    backbone_dir = manifest.get("backbone_dir")
    if not isinstance(backbone_dir, str):
        raise CheckpointError(f"{Path(directory) / MANIFEST}: backbone_dir must name the backbone's folder, got {backbone_dir!r}")
    with _as_checkpoint_error(Path(backbone_dir), "backbone"):
        backbone = load_backbone(backbone_dir, codebook_size)
    return load_esmoe(directory, backbone, device), manifest


@contextmanager
def _as_checkpoint_error(path: Path, what: str):
    """Errors of reading ``path`` (corrupt tensors, a config of the wrong shape, a missing file it names) as one
    CheckpointError naming it; the loaders' own errors (CheckpointError, ConfigError) pass unchanged."""
    from safetensors import SafetensorError

    try:
        yield
    except L2EMGError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, SafetensorError) as exc:
        text = (str(exc).splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path}: unreadable {what} ({type(exc).__name__}: {text})") from None


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
    manifest["files"] = _file_hashes(tmp)
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
    then move all of it to ``device`` when given (else it stays where the backbone is). A folder that does not
    hold what its manifest says is a CheckpointError naming it."""
    directory = Path(directory)
    path = directory / MANIFEST
    manifest = read_manifest(directory)
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {str(manifest.get('format'))[:40]!r}, expected {FORMAT!r}")
    _check_manifest(path, manifest)
    verify_files(directory, manifest)
    with _as_checkpoint_error(directory, "ES-MoE checkpoint"):
        return _build(directory, path, manifest, backbone, device)


def _check_manifest(path: Path, m: dict) -> None:
    def strings(key):
        v = m.get(key)
        if not isinstance(v, list) or not all(isinstance(x, str) and x and "/" not in x and x not in (".", "..") for x in v):
            raise CheckpointError(f"{path}: {key} must be a list of names, got {str(v)[:80]}")

    strings("experts")
    strings("scenarios")
    strings("emotions")
    if not m["emotions"]:
        raise CheckpointError(f"{path}: emotions must not be empty")
    flags = m.get("flags")
    if not isinstance(flags, dict) or set(flags) != {"use_cged", "use_samoe", "use_emo"} or \
            not all(isinstance(v, bool) for v in flags.values()):
        raise CheckpointError(f"{path}: flags must hold use_cged, use_samoe and use_emo as true/false, got {str(flags)[:80]}")
    if not isinstance(m.get("config"), dict):
        raise CheckpointError(f"{path}: config must be a mapping")


def _build(directory: Path, path: Path, manifest: dict, backbone: Backbone, device) -> ESMoE:
    from safetensors.torch import load_file
    from torch import nn

    from envs.config import from_dict

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
