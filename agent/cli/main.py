"""The ``l2emg`` entry point (DESIGN §8): one module per command in this room registers its parser."""
from __future__ import annotations

import argparse
import sys

from envs.config import ConfigError

COMMANDS = ("data", "render", "sim", "bench", "train", "warmup", "eval", "perceive", "generate", "interact", "run", "demo", "sweep")


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    p = argparse.ArgumentParser(prog="l2emg", description="L2-EMG: lifelong empathic motion on a simulated humanoid")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        import_module(f"agent.cli.{name}").add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from agent.cli.common import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args)
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError, ValueError) as exc:  # CheckpointError is a ValueError
        print(f"l2emg: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
