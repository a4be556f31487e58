"""The L2-EMG lifelong benchmark (prints JSON); the same as `l2emg bench lifelong`, e.g.
`python benchmarks/lifelong_bench.py --benchmark bandai-4 --orders 3` or `--quick`."""
import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "lifelong", *sys.argv[1:]]))
