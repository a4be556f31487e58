"""`l2emg train tokenizer|evaluator|emotion|generator` and `l2emg eval tokenizer`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_RUNS = Path("runs")


def add_train_parsers(sub) -> None:
    train = sub.add_parser("train", help="train a model").add_subparsers(dest="train_command", required=True)
    for name, helptext in (("tokenizer", "the motion VQ-VAE"), ("evaluator", "the text-motion retrieval model"),
                           ("emotion", "the motion-emotion classifier")):
        p = train.add_parser(name, help=f"train {helptext}")
        p.add_argument("--dataset", default=None, help="dataset name (default: the config's)")
        p.add_argument("--cache", help="dataset cache root")
        p.add_argument("--root", help="Bandai-Namco data root (default $L2EMG_BANDAI_ROOT; not needed with a built cache)")
        p.add_argument("--config", help="model YAML (default configs/<model>.yaml)")
        p.add_argument("--out", help=f"checkpoint folder (default runs/<dataset>/{name})")
        p.add_argument("--iterations", type=int, help="override the number of training steps")
        p.add_argument("--quiet", action="store_true")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_train, model=name)
    from agent.cli_perceive import add_train_perception

    add_train_perception(train)
    g = train.add_parser("generator", help="ES-MoE: one expert per scenario, in order (peft adapters + manifest)")
    g.add_argument("--dataset", default="bandai-4")
    g.add_argument("--scenarios", help="comma-separated order (default: all, alphabetical)")
    g.add_argument("--out", help="checkpoint folder (default runs/<dataset>/generator)")
    g.add_argument("--runs", default="runs")
    g.add_argument("--config", help="ES-MoE YAML (default configs/esmoe.yaml)")
    g.add_argument("--root")
    g.add_argument("--cache")
    g.add_argument("--quick", action="store_true")
    g.add_argument("--quiet", action="store_true")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=cmd_train_generator)
    ev = sub.add_parser("eval", help="evaluate a model").add_subparsers(dest="eval_command", required=True)
    p = ev.add_parser("tokenizer", help="reconstruction error and codebook usage on a split")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", default="bandai-4")
    p.add_argument("--cache")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_tokenizer)


def _dataset_dir(name: str, cache: str | None, root: str | None = None) -> Path:
    from policies.data import load_dataset_config, prepare

    out_dir, _, _ = prepare(load_dataset_config(name), cache, root, progress=True)
    return out_dir


def cmd_train(args: argparse.Namespace) -> int:
    from envs.config import config_dir, load_config

    config_path = Path(args.config) if args.config else config_dir() / f"{args.model}.yaml"
    if args.model == "tokenizer":
        from policies.tokenizer import TokenizerConfig
        from policies.tokenizer.train import train_tokenizer as trainer

        cls = TokenizerConfig
    elif args.model == "evaluator":
        from policies.evaluator import EvaluatorConfig as cls
        from policies.evaluator.train import train_evaluator as trainer
    else:
        from policies.emotion import EmotionClassifierConfig as cls
        from policies.emotion.train import train_emotion_classifier as trainer
    config = load_config(config_path, cls)
    dataset = args.dataset or config.train.dataset
    out = Path(args.out) if args.out else DEFAULT_RUNS / dataset / args.model
    report = trainer(config, _dataset_dir(dataset, args.cache, args.root), out, iterations=args.iterations, progress=not args.quiet)
    print(json.dumps(report if args.json else {k: v for k, v in report.items() if k != "history"}, indent=2))
    return 0


def cmd_train_generator(args: argparse.Namespace) -> int:
    from agent.generator_train import train_generator

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()] if args.scenarios else None
    print(json.dumps(train_generator(args.dataset, scenarios, args.out, args.runs, args.quick, args.config, args.root,
                                     args.cache, progress=not args.quiet), indent=2))
    return 0


def cmd_eval_tokenizer(args: argparse.Namespace) -> int:
    from policies.data import L2EMGDataset
    from policies.tokenizer import VQTokenizer
    from policies.tokenizer.train import evaluate_tokenizer

    report = evaluate_tokenizer(VQTokenizer.load(args.checkpoint), L2EMGDataset(_dataset_dir(args.dataset, args.cache)), args.split)
    print(json.dumps(report, indent=2))
    return 0
