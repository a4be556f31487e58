"""`l2emg eval tokenizer`: reconstruction error and codebook usage of a trained tokenizer on a split."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_verbosity, dataset_dir


def add_parser(sub) -> None:
    ev = sub.add_parser("eval", help="evaluate a model").add_subparsers(dest="eval_command", required=True)
    p = ev.add_parser("tokenizer", help="reconstruction error and codebook usage on a split")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", default="bandai-4")
    p.add_argument("--cache")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--json", action="store_true")
    add_verbosity(p)
    p.set_defaults(func=cmd_eval_tokenizer)


def cmd_eval_tokenizer(args: argparse.Namespace) -> int:
    from policies.data import L2EMGDataset
    from policies.tokenizer import VQTokenizer
    from policies.tokenizer.train import evaluate_tokenizer

    report = evaluate_tokenizer(VQTokenizer.load(args.checkpoint), L2EMGDataset(dataset_dir(args.dataset, args.cache)), args.split)
    print(json.dumps(report, indent=2))
    return 0
