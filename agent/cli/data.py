"""`l2emg data prepare|check|bvh`: build a dataset into the cache; load every clip of a source and report; read
one BVH file with a joint map and report how it was read and how well it retargets."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import SOURCE_DATASETS, add_bvh_args, add_verbosity, print_json


def add_parser(sub) -> None:
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
        add_verbosity(sp)
    prep.add_argument("--cache", help="cache root (default $L2EMG_CACHE_DIR or ./cache)")
    prep.add_argument("--force", action="store_true", help="rebuild even if the cache is up to date")
    prep.set_defaults(func=cmd_data_prepare)
    check.set_defaults(func=cmd_data_check)
    bvh = data.add_parser("bvh", help="read one BVH file: unit, up axis, joints, retarget error and quality checks")
    bvh.add_argument("file", help="a .bvh file")
    add_bvh_args(bvh)
    bvh.add_argument("--json", action="store_true", help="print a JSON report")
    add_verbosity(bvh)
    bvh.set_defaults(func=cmd_data_bvh)


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from policies.data import load_dataset_config, prepare

    config = load_dataset_config(args.dataset)
    out_dir, manifest, rebuilt = prepare(config, args.cache, args.root, args.workers, not args.quiet, args.force)
    summary = {k: manifest[k] for k in ("name", "num_clips", "num_samples", "num_frames", "num_bad_files", "samples_per_split")}
    summary.update(cache=str(out_dir), rebuilt=rebuilt, build_seconds=manifest["build_seconds"])
    if args.json:
        print_json(summary)
    else:
        state = "built" if rebuilt else "up to date (cache)"
        print(f"{config.name}: {state} in {out_dir}: {summary['num_clips']} clips, {summary['num_samples']} samples "
              f"{summary['samples_per_split']}, {summary['num_bad_files']} bad files")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from envs.atomic import atomic_write_text
    from policies.data import load_dataset_config
    from policies.data.check import check_source

    config = load_dataset_config(args.dataset or SOURCE_DATASETS[args.source])
    report = check_source(config, args.root, args.workers, not args.quiet)
    if args.json:
        print_json(report, args.out)
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
            atomic_write_text(args.out, json.dumps(report, indent=2))
    return 0 if report["clips_loaded"] > 0 else 1


def cmd_data_bvh(args: argparse.Namespace) -> int:
    from agent.cli.common import retarget_bvh_arg
    from envs.io.bvh import read_bvh

    clip = read_bvh(args.file)
    result = retarget_bvh_arg(args.file, args)
    report = {"file": args.file, "joints": len(clip.names), "end_sites": list(clip.end_site_names.values()),
              "source_frames": clip.num_frames, **result.report()}
    if args.json:
        print_json(report)
    else:
        read_as = report["read_as"]
        q = report["quality"]
        print(f"{args.file}: {clip.num_frames} frames at {clip.fps:g} fps, {len(clip.names)} joints, End Sites "
              f"{', '.join(report['end_sites']) or 'none'}")
        print(f"  read as {read_as['unit']} ({read_as['metres_per_unit']:g} m per unit), up {read_as['up_axis']}, "
              f"body {read_as['height_m']} m tall")
        print(f"  retarget error {report['retarget_error_cm']} cm; bones {q['bone_direction_error_deg']} deg from the source; "
              f"spine tilt {q['spine_tilt_deg']} deg")
        for problem in q["problems"]:
            print(f"  PROBLEM {problem}")
    return 1 if report["quality"]["problems"] else 0
