"""`l2emg demo`: the main job, the demo episode (configs/episodes/demo.yaml) on the embedded default."""
from __future__ import annotations

import argparse

from agent.cli.run import add_episode_args, cmd_run
from envs.config import config_dir


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="the main job: the demo episode on the embedded default (bootstraps missing models)")
    add_episode_args(d)
    d.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    return cmd_run(args, str(config_dir() / "episodes" / "demo.yaml"))
