"""`l2emg warmup`: a pretrained backbone learns the motion vocabulary (new token rows + LoRA adapters) on the
scenarios a benchmark or an episode declares pre-known; only what changed is saved (issue 20)."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_verbosity


def add_parser(sub) -> None:
    p = sub.add_parser("warmup", help="teach a pretrained backbone the motion vocabulary (saves rows + adapters only)")
    p.add_argument("--backbone", default="smollm2-135m", help="smollm2-135m (default) or a local Hugging Face folder")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--benchmark", help="benchmark dataset (e.g. bandai-4): warm up on its pre-training source")
    src.add_argument("--episode", help="episode YAML: warm up on its scenarios but those later phases introduce")
    p.add_argument("--out", help="output folder (default runs/<dataset>/backbone-<backbone>-warmup)")
    p.add_argument("--steps", type=int, help="training steps (default configs/backbone.yaml warmup.steps)")
    p.add_argument("--batch", type=int, help="batch size (default warmup.batch)")
    p.add_argument("--max-val", type=int, default=256, help="samples per validation set (default 256)")
    p.add_argument("--compare-tiny", action="store_true", help="also pre-train the tiny backbone with the same budget and report both")
    p.add_argument("--quick", action="store_true", help="small benchmark assets (Bandai dataset-1, synthetic variations 1)")
    p.add_argument("--runs", default="runs", help="where the VQ tokenizer is found (trained when missing)")
    p.add_argument("--root", help="Bandai-Namco root (default $L2EMG_BANDAI_ROOT)")
    p.add_argument("--cache", help="dataset cache root")
    p.add_argument("--json", action="store_true", help="print the whole report")
    add_verbosity(p)
    p.set_defaults(func=cmd_warmup)


def cmd_warmup(args: argparse.Namespace) -> int:
    from agent.recipes.warmup import run_warmup

    episode = None
    if args.episode:
        from agent.episodes.config import bootstrap_request, load_episode
        from agent.runtime.config import load_runtime_config

        episode = (bootstrap_request(load_episode(args.episode)), load_runtime_config().bootstrap)
    result = run_warmup(args.backbone, args.benchmark, episode, args.out, args.runs, args.quick, args.root, args.cache,
                        args.steps, args.batch, args.max_val, args.compare_tiny, progress=not args.quiet)
    if not args.json:
        result = {"out": result["out"], "val_loss": result["warmup"]["val_loss"],
                  "output_bytes": result["warmup"]["output_bytes"], "peak_rss_mb": result["peak_rss_mb"],
                  **({"tiny_same_budget_val_loss": result["tiny_same_budget"]["val_loss"]} if "tiny_same_budget" in result else {})}
    print(json.dumps(result, indent=2))
    return 0
