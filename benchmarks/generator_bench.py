"""ES-MoE generator speed and memory (prints JSON): `python benchmarks/generator_bench.py [--backbone smollm2-135m]`."""
import argparse
import json

from agent.generator_bench import run_generator_bench

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backbone", default="tiny")
    p.add_argument("--runs", default="runs")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    print(json.dumps(run_generator_bench(a.backbone, a.runs, a.quick), indent=2))
