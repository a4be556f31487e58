"""`l2emg perceive`: the partner's emotion from an utterance and/or a motion."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_bvh_args, add_verbosity, load_partner_motion


def add_parser(sub) -> None:
    p = sub.add_parser("perceive", help="estimate the partner's emotion from an utterance and/or a motion")
    p.add_argument("--text", help="what the partner says")
    p.add_argument("--motion", help="partner motion: .bvh (retargeted) or .npy joint positions (T, 22, 3), Y up, metres")
    p.add_argument("--fps", type=float, default=20.0, help="frame rate of a .npy motion")
    add_bvh_args(p)
    p.add_argument("--scenarios", help="comma-separated scenario candidates for the scenario guess")
    p.add_argument("--checkpoint", help="perception checkpoint (default: the one `make demo` installed, runs/synth-8/perception; "
                                        "`l2emg train perception` makes others)")
    p.add_argument("--runs", default="runs", help="where installed models are looked for")
    p.add_argument("--json", action="store_true")
    add_verbosity(p)
    p.set_defaults(func=cmd_perceive)


def cmd_perceive(args: argparse.Namespace) -> int:
    from agent.recipes.installed import installed_perception
    from policies.perception import PerceptionEstimator

    if args.text is None and args.motion is None:
        raise ValueError("perceive needs --text and/or --motion")
    est = PerceptionEstimator.load(args.checkpoint or installed_perception(args.runs))
    partner = load_partner_motion(args.motion, args.fps, args) if args.motion else None
    positions, fps = (partner.positions, partner.fps) if partner is not None else (None, args.fps)
    candidates = args.scenarios.split(",") if args.scenarios else None
    result = est.perceive(args.text, positions, fps, candidates)
    out = result.to_dict()
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        flag = " (uncertain)" if result.uncertain else ""
        print(f"{result.emotion} {result.confidence:.2f}{flag}; " + ", ".join(f"{k} {v:.2f}" for k, v in result.distribution.items()))
        for r in result.reasons:
            print(f"  note: {r}")
    return 0
