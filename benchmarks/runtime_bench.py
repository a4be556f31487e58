"""Closed-loop runtime on Ray (prints JSON): `python benchmarks/runtime_bench.py [--interactions 24]`."""
import argparse
import json
import sys

from agent.runtime_bench import bench_runtime

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", default="runs")
    p.add_argument("--interactions", type=int, default=24)
    a = p.parse_args()
    print(json.dumps(bench_runtime(a.runs, a.interactions, say=lambda *x: print(*x, file=sys.stderr)), indent=2))
