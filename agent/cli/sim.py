"""`l2emg sim track|bench`: run the physics executor on clips and report (DESIGN §8)."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import add_bvh_args, add_motion_args, add_set_arg, add_verbosity, load_motion_arg, overrides


def add_parser(sub) -> None:
    sim = sub.add_parser("sim", help="physics: track motions on the MuJoCo humanoid").add_subparsers(dest="sim_command", required=True)
    track = sim.add_parser("track", help="track one clip or every dataset-1 clip and report physics metrics")
    src = add_motion_args(track, required=True)
    src.add_argument("--dataset1", action="store_true", help="every clip of Bandai dataset-1 (needs --root or $L2EMG_BANDAI_ROOT)")
    src.add_argument("--dir", help="every BVH in a folder (with --joint-map for other skeletons); per content when "
                                   "file names carry it (dataset-N_CONTENT_STYLE_ID.bvh)")
    src.add_argument("--synth-all", nargs="?", const="", metavar="SCENARIOS",
                     help="every family and emotion of the procedural source (variation 0, or --variations), per "
                          "scenario/family; optionally only these comma-separated scenarios")
    track.add_argument("--variations", type=int, default=1, metavar="N",
                       help="with --synth-all: variations 0..N-1 of each family and emotion (default 1)")
    track.add_argument("--root", help="Bandai-Namco data root")
    track.add_argument("--mode", choices=["none", "residual", "full"], default=None, help="root assistance (default: config)")
    track.add_argument("--render", help="write an MP4 of the simulated motion (one clip only)")
    track.add_argument("--workers", type=int, default=2)
    track.add_argument("--json", action="store_true")
    track.add_argument("--out", help="also write the JSON report here")
    add_set_arg(track, ("executor",))
    add_verbosity(track)
    track.set_defaults(func=cmd_sim_track)
    bench = sim.add_parser("bench", help="executor speed vs bare mj_step, and memory")
    bench.add_argument("--bvh", help="clip to track (default: a synthetic bow)")
    add_bvh_args(bench)
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--json", action="store_true")
    add_verbosity(bench)
    bench.set_defaults(func=cmd_sim_bench)


def cmd_sim_track(args: argparse.Namespace) -> int:
    from agent.bench.sim_track import track_dataset1, track_folder, track_motion, track_synth, use_executor_overrides

    changes = overrides(args).get("executor", {})
    if changes:
        use_executor_overrides(changes)
    if args.synth_all is not None:
        report = track_synth([s for s in args.synth_all.split(",") if s], args.mode, args.workers,
                             variations=args.variations)
    elif args.dataset1:
        report = track_dataset1(args.root, args.mode, args.workers)
    elif args.dir:
        report = track_folder(args.dir, args.mode, args.workers, args.joint_map)
    else:
        motion, title = load_motion_arg(args)
        report, result = track_motion(motion, args.mode)
        report["clip"] = title
        if args.render:
            from envs.sim_render import render_execution

            report["video"] = str(render_execution(result, args.render, reference=motion))
    if changes:
        report["executor_overrides"] = changes  # the figures are not the shipped configuration's
    text = json.dumps(report, indent=2)
    if args.out:
        from envs.atomic import atomic_write_text

        atomic_write_text(args.out, text)
    if args.json:
        print(text)
    else:
        brief = {k: v for k, v in report.items() if k != "per_clip"}
        print(json.dumps(brief, indent=2))
    return 0


def cmd_sim_bench(args: argparse.Namespace) -> int:
    from agent.bench.sim import run_sim_bench

    if args.bvh:
        motion, _ = load_motion_arg(args)
    else:
        from envs.synth import SynthSource

        motion = SynthSource().generate("daily_life", "bow", "neutral", 0).motion
    report = run_sim_bench(motion, args.repeats)
    print(json.dumps(report, indent=2))
    return 0
