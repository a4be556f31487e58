"""The Bandai-Namco-Research-Motiondataset layout: dataset-1 as plain files, dataset-2 as a tar.xz.

Clips are yielded as raw BVH text with their labels; parsing and retargeting happen downstream so
that a bad file is reported and skipped while the rest goes on.
"""
from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ENV_VAR = "L2EMG_BANDAI_ROOT"


@dataclass(frozen=True)
class BandaiClipRef:
    clip_id: str  # file stem, e.g. dataset-1_walk_sad_001
    dataset: str  # dataset-1 | dataset-2
    content: str
    style: str
    take: str


def bandai_root(root: str | Path | None = None) -> Path:
    """The data root from the argument or ``$L2EMG_BANDAI_ROOT``, checked to exist."""
    value = root if root is not None else os.environ.get(ENV_VAR)
    if not value:
        raise FileNotFoundError(f"no Bandai-Namco data root: pass --root or set {ENV_VAR}")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: Bandai-Namco data root is not a folder")
    return path


def parse_clip_name(stem: str) -> BandaiClipRef:
    """``dataset-N_{content}_{style}_{id}`` -> labels (content and style may contain hyphens)."""
    parts = stem.split("_")
    if len(parts) != 4 or not parts[0].startswith("dataset-"):
        raise ValueError(f"{stem}: not a Bandai-Namco clip name (dataset-N_content_style_id)")
    return BandaiClipRef(stem, parts[0], parts[1], parts[2], parts[3])


def iter_bandai(root: str | Path | None = None, datasets: tuple[str, ...] = ("dataset-1", "dataset-2"),
                contents: set[str] | None = None) -> Iterator[tuple[BandaiClipRef, str]]:
    """Yield (clip reference, BVH text) for every clip; dataset-2 is streamed from its archive."""
    base = bandai_root(root)
    for name in datasets:
        folder = base / name
        if (folder / "data").is_dir():
            files = sorted((folder / "data").glob("*.bvh"))
            for path in files:
                ref = parse_clip_name(path.stem)
                if contents is None or ref.content in contents:
                    yield ref, path.read_text(encoding="utf-8", errors="replace")
        elif (folder / "data.tar.xz").is_file():
            yield from _iter_tar(folder / "data.tar.xz", contents)
        elif folder.exists():
            raise FileNotFoundError(f"{folder}: neither data/*.bvh nor data.tar.xz found")


def _iter_tar(archive: Path, contents: set[str] | None) -> Iterator[tuple[BandaiClipRef, str]]:
    with tarfile.open(archive, mode="r|xz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".bvh"):
                continue
            ref = parse_clip_name(Path(member.name).stem)
            if contents is not None and ref.content not in contents:
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            yield ref, fh.read().decode("utf-8", errors="replace")
