"""What the motion tokenizer does to a clip's physics (issue 18; RESULTS.md, "Standing families lean over their
feet" and "A foot-contact term for the tokenizer"): synth-8's clips of some families tracked unassisted (mode `none`)
as generated and after a round trip through a tokenizer (`VQTokenizer.encode`, then `decode`: what the generator's
tokens become before the executor sees them), with the executor's feasibility check of each reference (its ZMP within
the tolerance of the soles on enough steps).

    PYTHONPATH=. python docs/experiments/tokenizer_physics.py sports/kick sports/squat daily_life/bow
    PYTHONPATH=. python docs/experiments/tokenizer_physics.py demo --first-variation 8 --variations 2 --decoded-only \\
        --tokenizer assets/synth-8/tokenizer,runs-a/synth-8/tokenizer --per-clip clips.json

Per family one JSON line: clips tracked and feasible, as generated and through the tokenizer, and the reasons the
decoded clips failed; then one summary line per tokenizer. ``demo`` stands for the twelve families of the demo's three
scenarios. Variations ``--first-variation`` .. + ``--variations`` of every emotion: the prepared synth-8 dataset draws
variations 0-7 (configs/synth.yaml), so 8 and up are clips no tokenizer has trained on. With several tokenizers
(comma-separated), the summary of each after the first compares it clip by clip with the first (gains / losses and a
two-sided sign test); ``--per-clip`` writes every clip's result ({tokenizer: {clip: 0 or 1}}).
"""
from __future__ import annotations

import argparse
import collections
import json
from math import comb

import numpy as np

DEMO = ("daily_life", "sports", "dance")


def sign_test(gains: int, losses: int) -> float:
    """Two-sided exact sign test of ``gains`` against ``losses`` (ties dropped)."""
    n, k = gains + losses, min(gains, losses)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="+", metavar="SCENARIO/FAMILY", help="or `demo`: the demo's twelve families")
    parser.add_argument("--tokenizer", default="assets/synth-8/tokenizer", help="one tokenizer folder, or several, comma-separated")
    parser.add_argument("--first-variation", type=int, default=0, help="8 and up: variations the dataset never drew")
    parser.add_argument("--variations", type=int, default=3)
    parser.add_argument("--decoded-only", action="store_true", help="skip tracking the generated clips")
    parser.add_argument("--per-clip", default=None, help="write every clip's result here (JSON)")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from envs.executor import TrackingExecutor
    from envs.synth import SynthSource, load_synth_config
    from policies.tokenizer.tokenizer import VQTokenizer

    threadpool_limits(1)
    source, executor = SynthSource(), TrackingExecutor()
    families = [f"{scenario}/{family}" for scenario in DEMO for family in load_synth_config().scenarios[scenario]] \
        if args.families == ["demo"] else args.families
    paths = args.tokenizer.split(",")
    tokenizers = {path: VQTokenizer.load(path) for path in paths}
    limit = executor.config.feasibility
    per_clip: dict[str, dict[str, int]] = {path: {} for path in paths}
    variations = range(args.first_variation, args.first_variation + args.variations)
    for name in families:
        scenario, family = name.split("/")
        counts = collections.defaultdict(lambda: {"tracked": 0, "feasible": 0})
        reasons: dict[str, collections.Counter] = {path: collections.Counter() for path in paths}
        outside: dict[str, list[float]] = {path: [] for path in paths}
        for emotion in source.emotions:
            for variation in variations:
                generated = source.generate(scenario, family, emotion, variation).motion
                runs = [] if args.decoded_only else [("generated", None, generated)]
                runs += [("through_tokenizer", path, tok.decode(tok.encode(generated))) for path, tok in tokenizers.items()]
                for kind, path, motion in runs:
                    result = executor.execute(motion, mode="none")
                    share = executor.feasibility(executor.reference(motion)).outside_fraction(limit.zmp_tolerance)
                    key = kind if path is None else path
                    counts[key]["tracked"] += int(result.success)
                    counts[key]["feasible"] += int(share <= limit.max_outside_fraction)
                    if path is not None:
                        per_clip[path][f"{name}/{emotion}/{variation}"] = int(result.success)
                        outside[path].append(share)
                        if not result.success:
                            reasons[path][result.reason] += 1
        clips = len(source.emotions) * len(variations)
        row = {"family": name, "clips": clips, **({} if args.decoded_only else {"generated": counts["generated"]})}
        if len(paths) == 1:
            row.update({"through_tokenizer": counts[paths[0]], "decoded_failures": dict(reasons[paths[0]]),
                        "decoded_zmp_outside_share_median": round(float(np.median(outside[paths[0]])), 3)})
        else:
            row["through_tokenizers"] = {path: counts[path] for path in paths}
        print(json.dumps(row), flush=True)
    first = per_clip[paths[0]]
    for path in paths:
        clips = per_clip[path]
        summary = {"tokenizer": path, "clips": len(clips), "tracked": sum(clips.values())}
        if path != paths[0]:
            gains = sum(clips[c] > first[c] for c in clips)
            losses = sum(clips[c] < first[c] for c in clips)
            summary.update({"against": paths[0], "gains": gains, "losses": losses, "sign_test_p": round(sign_test(gains, losses), 4)})
        print(json.dumps(summary), flush=True)
    if args.per_clip:
        with open(args.per_clip, "w") as f:
            json.dump(per_clip, f)


if __name__ == "__main__":
    main()
