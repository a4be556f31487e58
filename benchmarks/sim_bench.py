"""Executor benchmark (issue: executor): realtime factor, cost vs bare mj_step, memory. Prints JSON.

Same as `l2emg sim bench --json`; pass --bvh to time a real clip instead of the synthetic bow.
"""
import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main(["sim", "bench", "--json", *sys.argv[1:]]))
