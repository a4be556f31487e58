"""`l2emg bench lifelong|generator|runtime` (DESIGN §8); each prints JSON."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_set_arg, add_verbosity, overrides

ALL_METHODS = "es-moe,es-moe-proto,mtl,seqlora,lwf-lora,o-lora,wo-cged,wo-samoe,wo-lemo,wo-cged-proto,wo-lemo-proto"
QUICK_METHODS = "es-moe,seqlora,mtl,wo-lemo"  # what CI runs: the full model, the forgetting baseline, the bound, one ablation


def add_parser(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print JSON").add_subparsers(dest="bench_command", required=True)
    p = bench.add_parser("lifelong", help="ES-MoE vs the lifelong baselines over scenario orders")
    p.add_argument("--benchmark", default="bandai-4", help="dataset config (default bandai-4)")
    p.add_argument("--methods", nargs="+", default=None,
                   help="es-moe es-moe-proto mtl seqlora lwf-lora o-lora wo-cged wo-samoe wo-lemo wo-cged-proto wo-lemo-proto (comma or space separated; "
                        f"default all, with --quick {QUICK_METHODS})")
    p.add_argument("--setting", default="unseen", choices=["unseen", "mixed"])
    p.add_argument("--orders", type=int, default=None, help="scenario orders (default 3; 1 with --quick)")
    p.add_argument("--ablation-orders", type=int, help="orders for the three ablations (default: --orders)")
    p.add_argument("--split", default="test", choices=["val", "test"], help="val for choosing hyperparameters")
    p.add_argument("--quick", action="store_true", help="small assets, 30 steps per scenario, capped evaluation (CI)")
    p.add_argument("--config", help="ES-MoE YAML (default configs/esmoe.yaml)")
    p.add_argument("--out", help="output folder (default runs/<dataset>/lifelong-<split>)")
    p.add_argument("--root", help="Bandai-Namco root (default $L2EMG_BANDAI_ROOT)")
    p.add_argument("--cache", help="dataset cache root")
    p.add_argument("--runs", default="runs", help="where checkpoints live and are trained when missing")
    p.add_argument("--backbone", default="tiny", help="tiny (default), smollm2-135m, a local HF folder or a warm-up output "
                                                    "(a pretrained backbone is warmed up first when no warm-up exists)")
    p.add_argument("--json", action="store_true", help="print the whole result (matrices included)")
    add_set_arg(p, ("esmoe",))
    add_verbosity(p)
    p.set_defaults(func=cmd_bench_lifelong)
    g = bench.add_parser("generator", help="ES-MoE training and generation speed, memory")
    g.add_argument("--backbone", default="tiny", help="tiny (default), smollm2-135m, a local HF folder or a warm-up output; "
                                                    "other than tiny, the tiny backbone is measured beside it with the same settings")
    g.add_argument("--runs", default="runs")
    g.add_argument("--quick", action="store_true")
    g.add_argument("--threads", type=int, help="torch threads (default: the cores, at most 2; L2EMG_TORCH_THREADS)")
    g.add_argument("--json", action="store_true")
    add_verbosity(g)
    g.set_defaults(func=cmd_bench_generator)
    r = bench.add_parser("runtime", help="closed-loop throughput, per-stage latency, latency while an expert trains, memory")
    r.add_argument("--runs", default="runs", help="models (bootstrapped when missing) and scratch outputs")
    r.add_argument("--interactions", type=int, default=24, help="interactions per measurement")
    r.add_argument("--episode", help="episode whose bootstrap assets and scenarios are used (default the demo)")
    r.add_argument("--json", action="store_true")
    add_set_arg(r, ("runtime", "episode"))
    add_verbosity(r)
    r.set_defaults(func=cmd_bench_runtime)


def cmd_bench_lifelong(args: argparse.Namespace) -> int:
    from agent.bench.lifelong import run_lifelong

    orders = args.orders or (1 if args.quick else 3)
    methods = args.methods or [QUICK_METHODS if args.quick else ALL_METHODS]
    result = run_lifelong(args.benchmark, methods, orders, args.setting, args.split, args.quick, args.config,
                          args.out, args.root, args.cache, args.runs, progress=not args.quiet,
                          ablation_orders=args.ablation_orders, overrides=overrides(args).get("esmoe"), backbone=args.backbone)
    shown = result if args.json else {k: v for k, v in result.items() if k not in ("runs", "config")}
    print(json.dumps(shown, indent=2))
    return 0


def cmd_bench_generator(args: argparse.Namespace) -> int:
    from agent.bench.generator import compare_with_tiny, run_generator_bench

    if args.backbone == "tiny":
        result = run_generator_bench(args.backbone, args.runs, args.quick, threads=args.threads)
    else:
        result = compare_with_tiny(args.backbone, args.runs, args.quick, threads=args.threads)
        if not args.json:
            result = result["side_by_side"]
    print(json.dumps(result, indent=2))
    return 0


def cmd_bench_runtime(args: argparse.Namespace) -> int:
    from agent.bench.runtime import bench_runtime

    result = bench_runtime(args.runs, args.interactions, episode=args.episode, overrides=overrides(args))
    print(json.dumps(result, indent=2))
    return 0
