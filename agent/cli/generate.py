"""`l2emg generate`: a text -> motion with the installed generator, written as BVH, NPY, MP4 and/or JSON."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from agent.cli.common import add_verbosity, check_writable

log = logging.getLogger(__name__)
SUFFIXES = (".bvh", ".npy", ".mp4", ".gif", ".json")


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="turn a text into a motion (BVH for Blender, NPY, MP4, JSON)")
    p.add_argument("--text", required=True, help='what the motion should be, e.g. "A person waves hello happily."')
    p.add_argument("--emotion", help="an emotion label to express (a phrase of its style is added unless the text has one)")
    p.add_argument("--scenario", help="serve with this scenario's expert instead of the gate's choice")
    p.add_argument("--seed", type=int, help="sample with this seed (default: greedy decoding, one motion)")
    p.add_argument("--n", type=int, default=1, help="how many samples (seeds seed..seed+n-1; files get _0, _1, ...)")
    p.add_argument("--out", nargs="+", required=True, help=f"output file(s), by suffix: {' '.join(SUFFIXES)}")
    p.add_argument("--execute", action="store_true", help="also run it on the humanoid and add the physics verdict")
    p.add_argument("--mode", choices=["none", "residual", "full"], help="executor mode with --execute (default: config)")
    p.add_argument("--generator", help="an ES-MoE checkpoint folder (default: the one `make demo` left in runs/)")
    p.add_argument("--runs", default="runs", help="where installed models are looked for")
    p.add_argument("--json", action="store_true", help="print the samples' summaries as JSON")
    add_verbosity(p)
    p.set_defaults(func=cmd_generate)


def _outputs(out: list[str], n: int) -> list[list[Path]]:
    """Per sample, the files to write (``name_k.ext`` when there are several samples)."""
    paths = [Path(o) for o in out]
    for p in paths:
        if p.suffix.lower() not in SUFFIXES:
            raise ValueError(f"{p}: unknown output format {p.suffix or '(none)'!r}; use one of {', '.join(SUFFIXES)}")
        check_writable(p)
    if n == 1:
        return [paths]
    return [[p.with_name(f"{p.stem}_{k}{p.suffix}") for p in paths] for k in range(n)]


def cmd_generate(args: argparse.Namespace) -> int:
    from agent.recipes.installed import installed_assets
    from agent.runtime.oneshot import generate_samples
    from agent.runtime.services import ExecutorService, GeneratorService
    from envs.atomic import atomic_write_text
    from envs.io.export import bvh_ready, write_motion

    if not args.text.strip():
        raise ValueError("--text is empty: say what the motion should be, e.g. --text \"A person waves hello.\"")
    files = _outputs(args.out, args.n)
    assets = installed_assets(args.runs, generator=args.generator)
    generator = GeneratorService(assets.generator, assets.tokenizer)
    samples = generate_samples(generator, args.text, args.n, args.seed, args.emotion, args.scenario)
    executor = ExecutorService(args.mode) if args.execute else None
    summaries = []
    for sample, paths in zip(samples, files):
        summary = {"generator": assets.generator, **sample.summary(), "files": [str(p) for p in paths]}
        motion = sample.generated.motion
        if motion is not None:
            # every file shows the same motion: the one on the skeleton's fixed bone lengths a BVH can carry
            motion, moved = bvh_ready(motion)
            summary["refit_max_mm"] = round(1000 * moved, 1)
            if executor is not None:
                sample.executed = executor.execute(motion)
                summary["physics"] = sample.summary()["physics"]
        for p in paths:
            if p.suffix.lower() == ".json":
                continue
            if motion is None:
                log.warning("%s: not written, no motion was generated (%s)", p, sample.generated.failure)
                continue
            write_motion(motion, p, title=sample.instruction)
        for p in paths:
            if p.suffix.lower() == ".json":
                atomic_write_text(p, json.dumps(summary, indent=2))
        summaries.append(summary)
    if args.json:
        print(json.dumps(summaries if args.n > 1 else summaries[0], indent=2))
    else:
        for s in summaries:
            verdict = f"; physics {'ok' if s['physics']['success'] else s['physics']['reason']}" if "physics" in s else ""
            print(f"{s['frames']} frames ({s['decoding']}{'' if s['seed'] is None else ' seed ' + str(s['seed'])}), expert "
                  f"{s['expert']}: \"{s['instruction']}\"{verdict} -> {', '.join(s['files'])}")
    return 0 if all(s["frames"] for s in summaries) else 1
