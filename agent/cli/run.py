"""`l2emg run EPISODE.yaml` (DESIGN §8): a scripted self-evolution episode, its summary printed."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent.cli.common import add_set_arg, add_verbosity, overrides, progress


def add_parser(sub) -> None:
    r = sub.add_parser("run", help="run a scripted self-evolution episode (configs/episodes/*.yaml)")
    r.add_argument("episode", help="episode YAML")
    add_episode_args(r)
    r.set_defaults(func=cmd_run)


def add_episode_args(p) -> None:
    """The arguments of every command that runs an episode (run, demo)."""
    p.add_argument("--runs", default="runs", help="models and outputs (runs/<episode name>/)")
    p.add_argument("--backend", default="ray", choices=["ray", "local"], help="Ray actors (default) or one process")
    p.add_argument("--runtime", help="runtime YAML (default configs/runtime.yaml)")
    p.add_argument("--cache", help="dataset cache root")
    p.add_argument("--from-scratch", action="store_true",
                   help="train every missing model here instead of installing the shipped ones (assets/)")
    p.add_argument("--no-render", action="store_true", help="skip the before/after MP4s")
    p.add_argument("--resume", nargs="?", const="", metavar="RUN_DIR",
                   help="continue a run whose driver died from its store (runs/<episode name>, or the folder given)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_set_arg(p, ("episode", "runtime"))
    add_verbosity(p)


def cmd_run(args: argparse.Namespace, episode: str | None = None) -> int:
    import dataclasses

    from agent.episodes.config import load_episode
    from agent.episodes.runner import run_episode
    from agent.runtime.config import load_runtime_config
    from envs.config import apply_overrides

    sets = overrides(args)
    runtime = apply_overrides(load_runtime_config(args.runtime), sets.get("runtime", {}), "--set runtime.*")
    if args.from_scratch:
        runtime = dataclasses.replace(runtime, bootstrap=dataclasses.replace(runtime.bootstrap, shipped_assets=False))
    ep = load_episode(episode or args.episode, sets.get("episode"))
    named = {f"{c}.{k}": v for c, kv in sets.items() for k, v in kv.items()}
    runs = args.runs
    if args.resume:  # a run folder given: its parent is the runs folder, its name the episode's
        folder = Path(args.resume)
        if folder.name != ep.name:
            raise ValueError(f"--resume {folder}: the episode is named {ep.name!r}, its run folder is <runs>/{ep.name}")
        runs = str(folder.parent)
    summary = run_episode(ep, runs, args.backend, runtime, args.cache, progress=progress(args),
                          render=False if args.no_render else None, overrides=named, resume=args.resume is not None)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)
    return 0


def _print_summary(s: dict) -> None:
    print(f"\n{s['interactions']} interactions; success % before -> after the new expert landed:")
    for sc, v in s["scenarios"].items():
        b, a = v["before"], v["after"]
        fmt = lambda d: "-" if not d["n"] else f"{d['success']:5.1f} (phys {d['physical_ok']:.0f}, emo {d['emotion_ok']:.0f}, sem {d['semantic_ok']:.0f}; n {d['n']})"  # noqa: E731
        print(f"  {sc:12s} [{v['kind']}] {fmt(b)}  ->  {fmt(a)}")
    for key, title in (("paired", "requests from before the landing re-served with it"),
                       ("paired_after", "requests from after the landing re-served without it")):
        if s.get(key):
            print(f"paired, without -> with the new expert ({title}), success %:")
            for sc, v in s[key].items():
                print(f"  {sc:12s} [{v['kind']}] {v['before']['success']:5.1f} -> {v['after']['success']:5.1f} "
                      f"({v['change_points']['success']:+.1f} points, n {v['before']['n']})")
    if s.get("targets"):
        print("targets (report.md explains the readings):")
        for t in s["targets"]:
            if t["loop"] is None:  # nothing to read (no expert landed, so no "after")
                reading = "no reading"
            else:
                reading = f"{t['loop']} %" if "phase" in t else f"loop {t['loop']:+.1f}" + (
                    ", paired " + " / ".join(f"{p:+.1f}" for p in t["paired"]) if t.get("paired") else "")
            print(f"  {'met    ' if t['met'] else 'NOT met'} {t['target']}: {reading}")
    if s.get("resumed"):
        print(f"resumed at step {s['resumed']['at_step']} (serving {s['resumed']['serving']})")
    print(f"peak RSS {s['peak_rss_mb']:.0f} MB; times {s['seconds']}")
