"""Pre-training the ``tiny`` backbone: the whole model learns the motion-token language (prompt ->
``<som>`` codes ``<eom>``) on the synthetic source, so that lifelong scenarios on real data only add
LoRA experts, as they would on a pretrained LLM."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from policies.backbone.batch import lm_batch
from policies.backbone.corpus import TokenCorpus, draw_batch
from policies.backbone.loader import load_backbone


def pretrain_tiny(corpus: TokenCorpus, vocabulary_texts: list[str], out_dir: str | Path, steps: int, batch: int,
                  lr: float, warmup: int, seed: int = 0, codebook_size: int = 512, progress: bool = True) -> dict:
    """Trains on ``corpus``'s train split, reports its val loss; writes a Hugging Face folder atomically."""
    torch.manual_seed(seed)
    backbone = load_backbone("tiny", codebook_size, vocabulary_texts, seed=seed)
    model = backbone.model
    train, val = corpus.select("train"), corpus.select("val")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / max(1, warmup)) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps))))
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    model.train()
    bar = tqdm(range(steps), desc="pretrain tiny backbone", unit="step", disable=not progress, mininterval=2.0)
    for it in bar:
        texts, codes, _ = draw_batch(train, batch, rng)
        loss = model(**lm_batch(backbone, texts, codes)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if it % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        vl = [model(**lm_batch(backbone, [s.texts[0] for s in val[i:i + 64]], [s.codes for s in val[i:i + 64]])).loss.item()
              for i in range(0, len(val), 64)]
    report = {"steps": steps, "seconds": round(time.perf_counter() - t0, 1), "train_loss": round(loss.item(), 4),
              "val_loss": round(float(np.mean(vl)), 4) if vl else None, "parameters": backbone.num_parameters,
              "dataset": corpus.dataset.name if corpus.dataset is not None else None}
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    backbone.tokenizer.save_pretrained(str(tmp))
    (tmp / "pretrain_report.json").write_text(json.dumps(report, indent=2))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return report
