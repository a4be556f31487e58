"""`l2emg bench lifelong|generator|runtime` (DESIGN §8); each prints JSON."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_set_arg, add_verbosity, overrides


def _seeds(text: str) -> list[int]:
    """"0,1,2" or "0-2" -> [0, 1, 2]."""
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def _shard(text: str) -> tuple[int, int]:
    """"1/2" -> (1, 2): the second of two shards."""
    i, sep, n = text.partition("/")
    try:
        index, count = int(i), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected I/N, e.g. 0/2") from None
    if not sep or count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/2")
    return index, count


def add_parser(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print JSON").add_subparsers(dest="bench_command", required=True)
    p = bench.add_parser("lifelong", help="the paper's ES-MoE vs the lifelong baselines: seeds x scenario orders, intervals")
    p.add_argument("--benchmark", default="bandai-4",
                   help="dataset whose frozen protocol configs/benchmarks/<benchmark>.yaml is run (default bandai-4)")
    p.add_argument("--config", help="another protocol YAML (default configs/benchmarks/<benchmark>.yaml; quick.yaml with --quick)")
    p.add_argument("--methods", nargs="+", default=None,
                   help="rows to run instead of the protocol's (comma or space separated): "
                        "es-moe (the paper), es-moe+routing-loss, es-moe+content-router, epi, sapt, prog-prompt, o-lora, "
                        "lwf-lora, seqlora, mtl, ablations <method>-wo-cged|-wo-samoe|-wo-lemo")
    p.add_argument("--setting", default="unseen", choices=["unseen", "mixed"],
                   help="unseen (scenarios in sequence); 'mixed' is refused: the paper does not define it")
    p.add_argument("--seeds", type=_seeds, help="training seeds instead of the protocol's, e.g. 0-2 or 0,3 (the report says so)")
    p.add_argument("--orders", type=int, default=None, help="scenario orders instead of the protocol's (the report says so)")
    p.add_argument("--split", default="test", choices=["val", "test"], help="val for choosing hyperparameters")
    p.add_argument("--quick", action="store_true",
                   help="CI: configs/benchmarks/<benchmark>-quick.yaml with small assets (< 5 min)")
    p.add_argument("--out", help="results folder (default runs/<dataset>/lifelong-<protocol>-<split>)")
    p.add_argument("--resume", action="store_true",
                   help="add the runs the results folder does not hold yet (same protocol and code version), then report")
    p.add_argument("--select", action="store_true",
                   help="choose each method's hyperparameters on val (the protocol's selection grids) and print the "
                        "methods: block to freeze in the protocol file; trains, scores nothing on test")
    p.add_argument("--prepare", action="store_true",
                   help="build the dataset and the shared models (tokenizer, evaluator, emotion classifier, backbone) and "
                        "print their fingerprints; trains no method (run it once before --shard processes)")
    p.add_argument("--shard", type=_shard, metavar="I/N",
                   help="train every N-th planned run from the I-th (0-based), so N processes on N cores fill one "
                        "--out folder side by side; implies --resume (one torch thread each: L2EMG_TORCH_THREADS=1)")
    p.add_argument("--max-hours", type=float, help="stop starting new runs after this long (default: the protocol's part_hours)")
    p.add_argument("--root", help="Bandai-Namco root (default $L2EMG_BANDAI_ROOT)")
    p.add_argument("--cache", help="dataset cache root")
    p.add_argument("--runs", default="runs", help="where checkpoints live and are trained when missing")
    p.add_argument("--backbone", default="tiny", help="tiny (default), smollm2-135m, a local HF folder or a warm-up output "
                                                    "(a pretrained backbone is warmed up first when no warm-up exists)")
    p.add_argument("--json", action="store_true", help="print the whole result")
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
    from agent.bench.lifelong import default_benchmark, run_lifelong

    if args.select:
        from agent.bench.lifelong_select import select_on_val

        sel = select_on_val(default_benchmark(args.benchmark, args.quick), args.config, args.root, args.cache, args.runs,
                            args.out, progress=not args.quiet)
        print(json.dumps(sel, indent=2) if args.json else sel["methods_block"])
        return 0
    if args.prepare:
        from agent.bench.lifelong import prepare_lifelong

        info = prepare_lifelong(args.benchmark, args.quick, args.config, args.root, args.cache, args.runs,
                                progress=not args.quiet, overrides=overrides(args).get("esmoe"), backbone=args.backbone,
                                out=args.out)
        print(json.dumps(info, indent=2))
        return 0
    result = run_lifelong(args.benchmark, args.methods, args.split, args.quick, args.config, args.out, args.root,
                          args.cache, args.runs, progress=not args.quiet, resume=args.resume, max_hours=args.max_hours,
                          seeds=args.seeds, orders=args.orders, overrides=overrides(args).get("esmoe"), setting=args.setting,
                          backbone=args.backbone, shard=args.shard)
    shown = result if args.json else {k: v for k, v in result.items() if k not in ("run_seconds", "manifest", "reference", "pretrain")}
    print(json.dumps(shown, indent=2, default=str))
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
