"""`l2emg perceive`: the partner's emotion from an utterance and/or a motion."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agent.cli.common import add_bvh_args, add_verbosity

DEFAULT_CHECKPOINT = Path("runs/bandai-4/perception")


def add_parser(sub) -> None:
    p = sub.add_parser("perceive", help="estimate the partner's emotion from an utterance and/or a motion")
    p.add_argument("--text", help="what the partner says")
    p.add_argument("--motion", help="partner motion: .bvh (retargeted) or .npy joint positions (T, 22, 3), Y up, metres")
    p.add_argument("--fps", type=float, default=20.0, help="frame rate of a .npy motion")
    add_bvh_args(p)
    p.add_argument("--scenarios", help="comma-separated scenario candidates for the scenario guess")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="perception checkpoint (l2emg train perception)")
    p.add_argument("--json", action="store_true")
    add_verbosity(p)
    p.set_defaults(func=cmd_perceive)


def load_partner_motion(path: str, fps: float, args: argparse.Namespace | None = None) -> tuple[np.ndarray, float]:
    p = Path(path)
    if p.suffix.lower() == ".bvh":
        from agent.cli.common import retarget_bvh_arg

        m = retarget_bvh_arg(str(p), args or argparse.Namespace()).motion
        return m.positions, m.fps
    if p.suffix.lower() == ".npy":
        return np.load(p, allow_pickle=False), fps
    raise ValueError(f"{p}: partner motion must be .bvh or .npy")


def cmd_perceive(args: argparse.Namespace) -> int:
    from policies.perception import PerceptionEstimator

    if args.text is None and args.motion is None:
        raise ValueError("perceive needs --text and/or --motion")
    est = PerceptionEstimator.load(args.checkpoint)
    positions, fps = load_partner_motion(args.motion, args.fps, args) if args.motion else (None, args.fps)
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
