"""`l2emg render`: a motion (BVH, procedural or a dataset sample) to MP4 or GIF."""
from __future__ import annotations

import argparse

from agent.cli.common import add_motion_args, add_verbosity, load_motion_arg


def add_parser(sub) -> None:
    render = sub.add_parser("render", help="render a motion to MP4 or GIF")
    g = add_motion_args(render)
    g.add_argument("--sample", help="a sample id of a prepared dataset (with --dataset)")
    render.add_argument("--dataset", default="synth-8")
    render.add_argument("--cache", help="cache root for --sample")
    render.add_argument("--out", required=True, help="output .mp4 or .gif")
    render.add_argument("--width", type=int, default=480)
    render.add_argument("--height", type=int, default=480)
    add_verbosity(render)
    render.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    from envs.render import render_motion

    motion, title = load_motion_arg(args)
    path = render_motion(motion, args.out, title=title, size=(args.width, args.height))
    print(f"wrote {path} ({motion.num_frames} frames at {motion.fps:g} fps)")
    return 0
