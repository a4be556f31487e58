"""Where a warmed-up backbone loses on unseen scenarios: validation answer loss split by whether the target
motion code occurs in the warm-up's training answers (issue 20). Prints JSON.

    PYTHONPATH=. python benchmarks/warmup_codes.py --warmup DIR [--tiny DIR] --benchmark bandai-4 --quick \
        --runs RUNS --cache CACHE
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from agent.recipes.warmup import _benchmark_data
from policies.backbone import load_backbone
from policies.backbone.batch import lm_batch
from policies.backbone.motion_rows import recentre_unseen


def split_loss(backbone, samples, seen: set[int]) -> dict:
    """Mean answer-token cross-entropy on codes seen / unseen in warm-up (``<eom>`` counted as seen)."""
    sums = {"seen": [0.0, 0], "unseen": [0.0, 0]}
    model = backbone.model.eval()
    v = backbone.vocab
    with torch.no_grad():
        for i in range(0, len(samples), 16):
            chunk = samples[i:i + 16]
            b = lm_batch(backbone, [s.texts[0] for s in chunk], [s.codes for s in chunk])
            logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits[:, :-1].float()
            target = b["labels"][:, 1:]
            keep = target != -100
            ce = F.cross_entropy(logits[keep], target[keep], reduction="none")
            t = target[keep]
            unseen = torch.tensor([v.is_motion(int(x)) and (int(x) - v.first_id) not in seen for x in t])
            for name, m in (("seen", ~unseen), ("unseen", unseen)):
                sums[name][0] += float(ce[m].sum())
                sums[name][1] += int(m.sum())
    total = sums["seen"][1] + sums["unseen"][1]
    return {"tokens": total, "unseen_fraction": round(sums["unseen"][1] / max(1, total), 3),
            **{f"loss_{k}": round(s / n, 3) if n else None for k, (s, n) in sums.items()},
            "loss_all": round((sums["seen"][0] + sums["unseen"][0]) / max(1, total), 3)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--warmup", required=True)
    p.add_argument("--tiny")
    p.add_argument("--benchmark", default="bandai-4")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", default="runs")
    p.add_argument("--cache")
    p.add_argument("--max-val", type=int, default=128)
    p.add_argument("--recentre", action="store_true", help="also: the warm-up with its unseen-code rows recentred")
    a = p.parse_args()
    torch.set_num_threads(1)
    train, vals, _, info = _benchmark_data(a.benchmark, a.quick, None, a.cache, Path(a.runs), progress=False)
    seen = {int(c) for s in train for c in s.codes}
    out = {"codes_in_warmup_answers": len(seen), "data": info["dataset"]}
    for name, path in (("warmup", a.warmup), ("tiny", a.tiny)):
        if path:
            b = load_backbone(path, 512)
            out[name] = {k: split_loss(b, v[:a.max_val], seen) for k, v in vals.items() if v}
            if name == "warmup" and a.recentre:
                out["recentred_codes"] = recentre_unseen(b.model, b.vocab, seen)
                out["warmup_recentred"] = {k: split_loss(b, v[:a.max_val], seen) for k, v in vals.items() if v}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
