"""`l2emg train tokenizer|evaluator|emotion|perception|generator`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent.cli.common import add_set_arg, add_verbosity, dataset_dir, overrides

DEFAULT_RUNS = Path("runs")


def add_parser(sub) -> None:
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
        p.add_argument("--json", action="store_true")
        add_set_arg(p, (name,))
        add_verbosity(p)
        p.set_defaults(func=cmd_train, model=name)
    p = train.add_parser("perception", help="fit the text head and the fusion (needs a trained emotion classifier)")
    p.add_argument("--dataset", default="bandai-4")
    p.add_argument("--cache")
    p.add_argument("--classifier", help="emotion classifier checkpoint (default runs/<dataset>/emotion)")
    p.add_argument("--eval-utterances", default="tests/data/utterances.tsv", help="held-out labelled utterances")
    p.add_argument("--out", help="default runs/<dataset>/perception")
    p.add_argument("--json", action="store_true")
    add_verbosity(p)
    p.set_defaults(func=cmd_train_perception)
    g = train.add_parser("generator", help="ES-MoE: one expert per scenario, in order (peft adapters + manifest)")
    g.add_argument("--dataset", default="bandai-4")
    g.add_argument("--scenarios", help="comma-separated order (default: all, alphabetical)")
    g.add_argument("--out", help="checkpoint folder (default runs/<dataset>/generator)")
    g.add_argument("--runs", default="runs")
    g.add_argument("--config", help="ES-MoE YAML (default configs/esmoe.yaml)")
    g.add_argument("--root")
    g.add_argument("--cache")
    g.add_argument("--quick", action="store_true")
    g.add_argument("--backbone", default="tiny", help="tiny (default), smollm2-135m, a local HF folder or a warm-up output "
                                                    "(a pretrained backbone is warmed up first when no warm-up exists)")
    g.add_argument("--json", action="store_true")
    add_set_arg(g, ("esmoe",))
    add_verbosity(g)
    g.set_defaults(func=cmd_train_generator)


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
    from envs.config import apply_overrides

    config = apply_overrides(load_config(config_path, cls), overrides(args).get(args.model, {}), f"--set {args.model}.*")
    dataset = args.dataset or config.train.dataset
    out = Path(args.out) if args.out else DEFAULT_RUNS / dataset / args.model
    report = trainer(config, dataset_dir(dataset, args.cache, args.root), out, iterations=args.iterations, progress=not args.quiet)
    report = {**report, "overrides": {f"{args.model}.{k}": v for k, v in overrides(args).get(args.model, {}).items()}}
    print(json.dumps(report if args.json else {k: v for k, v in report.items() if k != "history"}, indent=2))
    return 0


def cmd_train_generator(args: argparse.Namespace) -> int:
    from agent.recipes.generator import train_generator

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()] if args.scenarios else None
    print(json.dumps(train_generator(args.dataset, scenarios, args.out, args.runs, args.quick, args.config, args.root,
                                     args.cache, progress=not args.quiet, overrides=overrides(args).get("esmoe"),
                                     backbone=args.backbone), indent=2))
    return 0


def cmd_train_perception(args: argparse.Namespace) -> int:
    from policies.perception.train import train_perception

    runs = DEFAULT_RUNS / args.dataset
    report = train_perception(args.classifier or runs / "emotion", dataset_dir(args.dataset, args.cache),
                              args.out or runs / "perception", args.eval_utterances)
    print(json.dumps(report, indent=2))
    return 0
