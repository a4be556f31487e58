"""What several `l2emg` commands share: the verbosity flags and the one logging setup, JSON output, the
motion arguments (--bvh/--synth/--sample) and the prepared-dataset lookup."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

SOURCE_DATASETS = {"bandai": "bandai-4", "synthetic": "synth-8"}


def add_verbosity(p: argparse.ArgumentParser) -> None:
    """--quiet (warnings only, no progress bars) and --verbose (debug lines with their logger names)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true", help="warnings and errors only, no progress bars")
    g.add_argument("--verbose", action="store_true", help="also debug messages, with the module that wrote them")


class _Formatter(logging.Formatter):
    """Progress lines as they are; warnings and errors with their level and origin."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO:
            return record.getMessage()
        return f"{record.levelname.lower()} {record.name}: {record.getMessage()}"


def setup_logging(args: argparse.Namespace) -> None:
    """One logging setup for every command: the project's progress lines (loggers under ``agent``, ``envs``,
    ``policies``, ``feedback``) at INFO on stderr, so stdout keeps only results (JSON with --json);
    ``--quiet`` or ``--json`` shows warnings only, ``--verbose`` adds debug messages."""
    if getattr(args, "verbose", False):
        level = logging.DEBUG
    elif getattr(args, "quiet", False) or getattr(args, "json", False):
        level = logging.WARNING
    else:
        level = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # other libraries: warnings only
    for name in ("agent", "envs", "policies", "feedback"):
        logging.getLogger(name).setLevel(level)


def add_set_arg(p: argparse.ArgumentParser, configs: tuple[str, ...]) -> None:
    """--set CONFIG.KEY=VALUE (repeatable): dotted overrides of the named configs, read by ``overrides``."""
    p.add_argument("--set", action="append", default=[], metavar="CONFIG.KEY=VALUE", dest="overrides",
                   help=f"override a config value (repeatable), CONFIG one of {', '.join(configs)}, e.g. "
                        f"--set {configs[0]}.seed=3; the value is read as YAML")
    p.set_defaults(override_configs=configs)


def overrides(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """``--set`` values grouped by config: {"runtime": {"learner.steps": "200"}}; a malformed entry or an
    unknown config is a ValueError naming it."""
    out: dict[str, dict[str, str]] = {}
    for entry in getattr(args, "overrides", []) or []:
        key, sep, value = entry.partition("=")
        config, dot, rest = key.strip().partition(".")
        if not sep or not dot or not rest:
            raise ValueError(f"--set {entry!r}: expected CONFIG.KEY=VALUE, e.g. runtime.learner.steps=200")
        if config not in args.override_configs:
            raise ValueError(f"--set {entry!r}: unknown config {config!r} (this command takes {', '.join(args.override_configs)})")
        out.setdefault(config, {})[rest] = value
    return out


def progress(args: argparse.Namespace) -> bool:
    """Whether to draw progress bars."""
    return not (getattr(args, "quiet", False) or getattr(args, "json", False))


def print_json(obj: dict, out: str | None = None) -> None:
    text = json.dumps(obj, indent=2)
    if out:
        from envs.atomic import atomic_write_text

        atomic_write_text(out, text)
    print(text)


def check_writable(path: str | Path) -> None:
    """An output file that can be written, checked before any work (a one-line error otherwise): its folder
    is created and a probe file written and removed there."""
    import tempfile

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a file name")
    try:
        path.absolute().parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.absolute().parent):
            pass
    except OSError as exc:
        raise ValueError(f"{path}: cannot write there ({exc.strerror or exc})") from None


def dataset_dir(name: str, cache: str | None, root: str | None = None) -> Path:
    """The prepared dataset ``name`` (built into the cache when missing or stale)."""
    from policies.data import load_dataset_config, prepare

    out_dir, _, _ = prepare(load_dataset_config(name), cache, root, progress=True)
    return out_dir


def add_bvh_args(p: argparse.ArgumentParser) -> None:
    """How to read a BVH: --joint-map, --units, --up-axis (docs/joint_maps.md)."""
    p.add_argument("--joint-map", help="joint map for BVH input: a YAML file, or a shipped map by name "
                   "(bandai, cmu, lafan1, mixamo; configs/joint_maps/); default: Bandai-Namco")
    p.add_argument("--units", help="BVH length unit: m, cm, mm, inch, cmu or metres per unit (default: the map's, else detected)")
    p.add_argument("--up-axis", help="BVH up axis: y, z, x, -y, -z, -x (default: the map's, else detected)")


def add_motion_args(p: argparse.ArgumentParser, required: bool = False) -> argparse._MutuallyExclusiveGroup:
    """--bvh FILE [--joint-map M --units U --up-axis A] | --synth SCENARIO/FAMILY/EMOTION[/VARIATION]
    (read by ``load_motion_arg``)."""
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--bvh", help="a BVH file (retargeted to SMPL-22)")
    g.add_argument("--synth", help="SCENARIO/FAMILY/EMOTION[/VARIATION] from the procedural source")
    add_bvh_args(p)
    return g


def retarget_bvh_arg(path: str, args: argparse.Namespace):
    """The RetargetResult of a BVH file read with the --joint-map/--units/--up-axis of ``args``; the quality
    report's problems are logged as warnings by the retarget."""
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    joint_map = JointMap.from_yaml(args.joint_map) if getattr(args, "joint_map", None) else JointMap.bandai()
    return retarget(read_bvh(path), joint_map, units=getattr(args, "units", None), up_axis=getattr(args, "up_axis", None))


def load_motion_arg(args: argparse.Namespace):
    """(Motion, title) from --bvh, --synth or --sample (with --dataset, --cache)."""
    if getattr(args, "bvh", None):
        return retarget_bvh_arg(args.bvh, args).motion, Path(args.bvh).stem
    if getattr(args, "synth", None):
        from envs.synth import SynthSource

        parts = args.synth.split("/")
        if len(parts) not in (3, 4):
            raise ValueError("--synth takes SCENARIO/FAMILY/EMOTION[/VARIATION], e.g. daily_life/walk/sad")
        clip = SynthSource().generate(parts[0], parts[1], parts[2], int(parts[3]) if len(parts) == 4 else 0)
        return clip.motion, clip.clip_id
    if getattr(args, "sample", None):
        from policies.data import L2EMGDataset
        from policies.data.builder import default_cache_root

        ds = L2EMGDataset(Path(args.cache or default_cache_root()) / args.dataset)
        match = [s for s in ds.samples if s.sample_id == args.sample]
        if not match:
            raise ValueError(f"no sample {args.sample!r} in {ds.name}")
        return ds.motion(match[0]), match[0].texts[0]
    raise ValueError("needs one of --bvh FILE, --synth SCENARIO/FAMILY/EMOTION, --sample ID")


def load_partner_motion(path: str, fps: float = 20.0, args: argparse.Namespace | None = None):
    """A partner Motion from ``.bvh`` (retargeted with the --joint-map/--units/--up-axis of ``args``) or
    ``.npy`` joint positions (T, 22, 3), Y up, metres, at ``fps``."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such partner motion file")
    if p.suffix.lower() == ".bvh":
        return retarget_bvh_arg(str(p), args or argparse.Namespace()).motion
    if p.suffix.lower() == ".npy":
        from envs.motion.motion import Motion

        positions = np.load(p, allow_pickle=False)
        if positions.ndim != 3 or positions.shape[1:] != (22, 3):
            raise ValueError(f"{p}: joint positions must have shape (T, 22, 3), got {positions.shape}")
        return Motion.from_positions(positions, fps, refit=False)  # the positions as given (perception reads them)
    raise ValueError(f"{p}: partner motion must be .bvh or .npy")
