"""`l2emg sweep EPISODE.yaml --seeds 0-7`: one episode over many seeds in parallel on Ray, one aggregate report."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_set_arg, add_verbosity, overrides, progress


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="one episode over many seeds in parallel (Ray), with an aggregate report")
    p.add_argument("episode", help="episode YAML")
    p.add_argument("--seeds", required=True, help="A-B or a comma-separated list, e.g. 0-7")
    p.add_argument("--runs", default="runs", help="models and outputs (runs/<name>-seed<k>/, runs/sweep-<name>/)")
    p.add_argument("--runtime", help="runtime YAML (default configs/runtime.yaml)")
    p.add_argument("--cache", help="dataset cache root")
    p.add_argument("--json", action="store_true", help="print the aggregate as JSON")
    add_set_arg(p, ("episode", "runtime"))
    add_verbosity(p)
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from agent.episodes.config import load_episode
    from agent.episodes.sweep import parse_seeds, run_sweep
    from agent.runtime.config import load_runtime_config
    from envs.config import apply_overrides

    seeds = parse_seeds(args.seeds)
    sets = overrides(args)
    runtime = apply_overrides(load_runtime_config(args.runtime), sets.get("runtime", {}), "--set runtime.*")
    ep = load_episode(args.episode, sets.get("episode"))
    named = {f"{c}.{k}": v for c, kv in sets.items() for k, v in kv.items()}
    summary = run_sweep(ep, seeds, args.runs, runtime, args.cache, named, progress=progress(args))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{len(summary['seeds'])} seeds done, {len(summary['failed'])} failed; report: {args.runs}/sweep-{ep.name}/report.md")
        for t, v in summary["targets"].items():
            print(f"  {t}: met in {v['met_in']}/{v['seeds']} seeds; loop {v['loop']['mean']} {v['loop']['ci95'] or ''}")
    return 0 if not summary["failed"] else 1
