"""The `l2emg` command line (DESIGN §8): one module per command, shared arguments and helpers in common.py."""
from agent.cli.main import main

__all__ = ["main"]
