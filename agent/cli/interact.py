"""`l2emg interact`: one whole interaction (perception, empathy policy, generator, executor, judges),
printed as a readable trace and optionally rendered with partner and agent side by side."""
from __future__ import annotations

import argparse
import json
import logging

from agent.cli.common import add_bvh_args, add_verbosity, check_writable, load_partner_motion

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = sub.add_parser("interact", help="one whole interaction, traced (and rendered with --render)")
    p.add_argument("--say", required=True, help='what the partner says, e.g. "I failed my exam again"')
    p.add_argument("--partner-motion", help="the partner's motion: .bvh (retargeted) or .npy (T, 22, 3) joint positions")
    add_bvh_args(p)
    p.add_argument("--fps", type=float, default=20.0, help="frame rate of a .npy partner motion")
    p.add_argument("--scenario", help="the situation (default: guessed from the utterance among the generator's experts)")
    p.add_argument("--render", help="write an MP4 with partner and agent side by side")
    p.add_argument("--mode", choices=["none", "residual", "full"], help="executor mode (default: configs/runtime.yaml)")
    p.add_argument("--seed", type=int, default=0, help="the empathy policy's choice of phrasing")
    p.add_argument("--generator", help="an ES-MoE checkpoint folder (default: the one `make demo` left in runs/)")
    p.add_argument("--runs", default="runs", help="where installed models are looked for")
    p.add_argument("--cache", help="dataset cache root (the judges rank against its descriptions)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    add_verbosity(p)
    p.set_defaults(func=cmd_interact)


def cmd_interact(args: argparse.Namespace) -> int:
    from agent.recipes.installed import installed_assets
    from agent.runtime.oneshot import OneShotRuntime

    if not args.say.strip():
        raise ValueError("--say is empty: give the partner's words, e.g. --say \"I failed my exam again\"")
    if args.render:
        check_writable(args.render)
    partner = load_partner_motion(args.partner_motion, args.fps, args) if args.partner_motion else None
    assets = installed_assets(args.runs, generator=args.generator, cache=args.cache, with_dataset=True)
    trace = OneShotRuntime(assets, args.mode).interact(args.say, partner, args.scenario, args.seed)
    if args.render:
        from envs.sim_render import render_interaction

        executed = trace.sample.executed
        agent = executed.result.trajectory if executed is not None and executed.result.trajectory is not None \
            else trace.sample.generated.motion
        if agent is None:
            log.warning("%s: not rendered, the generator produced no motion", args.render)
        else:
            render_interaction(agent, partner, args.render)
    if args.json:
        print(json.dumps({**trace.to_dict(), "video": args.render}, indent=2, default=str))
    else:
        print("\n".join(trace.lines()))
        if args.render:
            print(f"video      {args.render}")
    return 0
