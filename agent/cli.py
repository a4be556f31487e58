"""The ``l2emg`` command line (DESIGN §8)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from envs.config import ConfigError

SOURCE_DATASETS = {"bandai": "bandai-4", "synthetic": "synth-8"}


def _print_json(obj: dict, out: str | None = None) -> None:
    text = json.dumps(obj, indent=2)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    print(text)


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from policies.data import load_dataset_config, prepare

    config = load_dataset_config(args.dataset)
    out_dir, manifest, rebuilt = prepare(config, args.cache, args.root, args.workers, not args.quiet, args.force)
    summary = {k: manifest[k] for k in ("name", "num_clips", "num_samples", "num_frames", "num_bad_files", "samples_per_split")}
    summary.update(cache=str(out_dir), rebuilt=rebuilt, build_seconds=manifest["build_seconds"])
    if args.json:
        _print_json(summary)
    else:
        state = "built" if rebuilt else "up to date (cache)"
        print(f"{config.name}: {state} in {out_dir}: {summary['num_clips']} clips, {summary['num_samples']} samples "
              f"{summary['samples_per_split']}, {summary['num_bad_files']} bad files")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from policies.data import load_dataset_config
    from policies.data.check import check_source

    config = load_dataset_config(args.dataset or SOURCE_DATASETS[args.source])
    report = check_source(config, args.root, args.workers, not args.quiet)
    if args.json:
        _print_json(report, args.out)
    else:
        print(f"{report['dataset']}: {report['clips_loaded']} clips loaded {report['clips_per_dataset']}, "
              f"{len(report['bad_files'])} bad files")
        for bad in report["bad_files"]:
            print(f"  BAD {bad['error']}")
        print(f"  scenarios: {report['counts']['scenario']}")
        print(f"  emotions:  {report['counts']['emotion']}")
        if report["retarget_error_cm"]:
            print(f"  retarget error (cm): {report['retarget_error_cm']}")
        print(f"  feature round trip (mm): {report['feature_roundtrip_mm']}")
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2))
    return 0 if report["clips_loaded"] > 0 else 1


def cmd_render(args: argparse.Namespace) -> int:
    from envs.render import render_motion

    motion, title = load_motion_arg(args)
    path = render_motion(motion, args.out, title=title, size=(args.width, args.height))
    print(f"wrote {path} ({motion.num_frames} frames at {motion.fps:g} fps)")
    return 0


def load_motion_arg(args: argparse.Namespace):
    if args.bvh:
        from envs.io.bvh import read_bvh
        from envs.retarget import JointMap, retarget

        joint_map = JointMap.from_yaml(args.joint_map) if getattr(args, "joint_map", None) else JointMap.bandai()
        result = retarget(read_bvh(args.bvh), joint_map)
        return result.motion, Path(args.bvh).stem
    if args.synth:
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="l2emg", description="L2-EMG: lifelong empathic motion on a simulated humanoid")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="prepare and check datasets").add_subparsers(dest="data_command", required=True)
    prep = data.add_parser("prepare", help="build a dataset into the cache (no-op when up to date)")
    prep.add_argument("--dataset", default="synth-8", help="dataset name (bandai-4, synth-8) or YAML path")
    check = data.add_parser("check", help="load every clip of a source and report errors and counts")
    src = check.add_mutually_exclusive_group()
    src.add_argument("--source", choices=sorted(SOURCE_DATASETS), default="synthetic")
    src.add_argument("--dataset", help="dataset name or YAML path (instead of --source)")
    check.add_argument("--out", help="also write the JSON report to this file")
    for sp in (prep, check):
        sp.add_argument("--root", help="Bandai-Namco data root (default $L2EMG_BANDAI_ROOT)")
        sp.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
        sp.add_argument("--json", action="store_true", help="print a JSON report")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")
    prep.add_argument("--cache", help="cache root (default $L2EMG_CACHE_DIR or ./cache)")
    prep.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    prep.set_defaults(func=cmd_data_prepare)
    check.set_defaults(func=cmd_data_check)

    render = sub.add_parser("render", help="render a motion to MP4 or GIF")
    render.add_argument("--bvh", help="a BVH file (retargeted to SMPL-22)")
    render.add_argument("--joint-map", help="YAML joint map for --bvh (default: Bandai-Namco)")
    render.add_argument("--synth", help="SCENARIO/FAMILY/EMOTION[/VARIATION] from the procedural source")
    render.add_argument("--sample", help="a sample id of a prepared dataset (with --dataset)")
    render.add_argument("--dataset", default="synth-8")
    render.add_argument("--cache", help="cache root for --sample")
    render.add_argument("--out", required=True, help="output .mp4 or .gif")
    render.add_argument("--width", type=int, default=480)
    render.add_argument("--height", type=int, default=480)
    render.set_defaults(func=cmd_render)

    from agent.cli_bench import add_bench_parsers
    from agent.cli_perceive import add_perception_parsers
    from agent.cli_sim import add_sim_parser
    from agent.cli_train import add_train_parsers

    add_sim_parser(sub)
    add_bench_parsers(sub)
    add_train_parsers(sub)
    add_perception_parsers(sub)

    from agent.cli_run import add_run_parsers

    add_run_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError, ValueError) as exc:  # CheckpointError is a ValueError
        print(f"l2emg: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
