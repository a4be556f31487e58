"""What the motion tokenizer does to a clip's physics (issue 18; RESULTS.md, "Standing families lean over their
feet"): synth-8's clips of some families tracked unassisted (mode `none`) as generated and after a round trip through
the shipped tokenizer (`VQTokenizer.encode`, then `decode`: what the generator's tokens become before the executor
sees them), with the executor's feasibility check of each reference (its ZMP within the tolerance of the soles on
enough steps).

    PYTHONPATH=. python docs/experiments/tokenizer_physics.py sports/kick sports/squat daily_life/bow

Per family one JSON line: clips tracked and feasible, as generated and through the tokenizer, and the reasons the
decoded clips failed. Variations 0-2 of every emotion (24 clips a family). `--tokenizer` names another tokenizer folder.
"""
from __future__ import annotations

import argparse
import collections
import json

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="+", metavar="SCENARIO/FAMILY")
    parser.add_argument("--tokenizer", default="assets/synth-8/tokenizer")
    parser.add_argument("--variations", type=int, default=3)
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from envs.executor import TrackingExecutor
    from envs.synth import SynthSource
    from policies.tokenizer.tokenizer import VQTokenizer

    threadpool_limits(1)
    tokenizer, source, executor = VQTokenizer.load(args.tokenizer), SynthSource(), TrackingExecutor()
    limit = executor.config.feasibility
    for name in args.families:
        scenario, family = name.split("/")
        counts = {kind: {"tracked": 0, "feasible": 0} for kind in ("generated", "through_tokenizer")}
        reasons: collections.Counter = collections.Counter()
        outside = []
        for emotion in source.emotions:
            for variation in range(args.variations):
                generated = source.generate(scenario, family, emotion, variation).motion
                for kind, motion in (("generated", generated), ("through_tokenizer",
                                                                tokenizer.decode(tokenizer.encode(generated)))):
                    result = executor.execute(motion, mode="none")
                    feasibility = executor.feasibility(executor.reference(motion))
                    share = feasibility.outside_fraction(limit.zmp_tolerance)
                    counts[kind]["tracked"] += int(result.success)
                    counts[kind]["feasible"] += int(share <= limit.max_outside_fraction)
                    if kind == "through_tokenizer":
                        outside.append(share)
                        if not result.success:
                            reasons[result.reason] += 1
        clips = len(source.emotions) * args.variations
        print(json.dumps({"family": name, "clips": clips, **counts, "decoded_failures": dict(reasons),
                          "decoded_zmp_outside_share_median": round(float(np.median(outside)), 3)}), flush=True)


if __name__ == "__main__":
    main()
