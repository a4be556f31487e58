"""`l2emg data prepare|check`: build a dataset into the cache; load every clip of a source and report."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import SOURCE_DATASETS, add_verbosity, print_json


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
