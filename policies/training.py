"""The shared training loop: optimise, validate every few steps, keep the best checkpoint, test once."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from policies.checkpoint import BestKeeper


@dataclass(frozen=True)
class TrainConfig:
    """What every trainer shares; model configs subclass it for their own defaults and extra knobs."""

    dataset: str = "bandai-4"
    batch: int = 64
    iterations: int = 2500
    lr: float = 3e-4
    seed: int = 0
    eval_every: int = 500


def fit(name: str, model, optimizer, step: Callable[[], tuple], validate: Callable[[], dict],
        save: Callable[[dict], None], test: Callable[[], dict], *, iterations: int, eval_every: int,
        keeper: BestKeeper, out_dir: str | Path, dataset: str, scheduler=None, progress: bool = True) -> dict:
    """``step()`` returns (loss tensor, progress-bar info); ``save(meta)`` writes the checkpoint;
    ``test()`` reloads the best checkpoint and evaluates it on the test split. Writes report.json."""
    out_dir = Path(out_dir)
    history: list[dict] = []
    t0 = time.perf_counter()
    bar = tqdm(range(iterations), desc=f"train {name}", unit="it", disable=not progress, mininterval=2.0)
    for it in bar:
        model.train()
        loss, info = step()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if it % 50 == 0:
            bar.set_postfix(info)
        if (it + 1) % eval_every == 0 or it + 1 == iterations:
            model.eval()
            val = validate()
            val.update(iteration=it + 1, loss=round(loss.item(), 5), seconds=round(time.perf_counter() - t0, 1))
            history.append(val)
            if keeper.improved(val):
                save({"dataset": dataset, "iteration": it + 1, "val": val})
    report = {"dataset": dataset, "iterations": iterations, "train_seconds": round(time.perf_counter() - t0, 1),
              "best_val": keeper.best, "test": test(), "history": history, "checkpoint": str(out_dir)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report
