"""Contrastive training of the text-motion evaluator (`l2emg train evaluator`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from policies.checkpoint import BestKeeper
from policies.data import L2EMGDataset
from policies.evaluator.evaluator import MotionTextEvaluator
from policies.evaluator.model import EvaluatorConfig, RetrievalModel
from policies.motion_encoder import pad_batch
from policies.text_encoder import TextEncoder
from policies.torch_utils import setup_torch
from policies.training import fit


def _semantic_key(ds: L2EMGDataset, sample) -> str:
    """Samples whose texts come from the same content and style say the same thing: never negatives."""
    clip = ds.clips[sample.clip_id]
    return f"{clip.content}|{clip.style}"


def evaluate_retrieval(ev: MotionTextEvaluator, ds: L2EMGDataset, split: str, seed: int = 0) -> dict:
    """R-Precision (pools of 32), MM-Dist, Diversity on a split (each motion against its first text),
    plus the FID between two disjoint halves of the split (split by clip)."""
    from policies.evaluator.metrics import diversity, fid, mm_dist, r_precision

    samples = ds.split(split)
    m = ev.embed_motions([ds.features(s) for s in samples])
    t = ev.embed_texts([s.texts[0] for s in samples])
    pool = min(32, len(samples))  # pools of 32 (DESIGN §6); a tiny split uses all it has
    rp = r_precision(m, t, pool=pool, seed=seed)
    clips = sorted({s.clip_id for s in samples})
    half = set(np.random.default_rng(seed).permutation(clips)[: len(clips) // 2].tolist())
    a = np.array([s.clip_id in half for s in samples])
    return {"split": split, "samples": len(samples), "pool": pool, "r_precision_top1": round(rp[1], 4),
            "r_precision_top2": round(rp[2], 4), "r_precision_top3": round(rp[3], 4),
            "mm_dist": round(mm_dist(m, t), 4), "diversity": round(diversity(m, seed=seed), 4),
            "fid_real_halves": round(fid(m[a], m[~a]), 4)}


def train_evaluator(config: EvaluatorConfig, dataset_dir: str | Path, out_dir: str | Path,
                    iterations: int | None = None, progress: bool = True) -> dict:
    torch = setup_torch(config.train.seed)
    from torch.nn import functional as F

    tc = config.train
    iterations = iterations or tc.iterations
    ds = L2EMGDataset(dataset_dir)
    out_dir = Path(out_dir)
    texts = TextEncoder()
    cache = Path(dataset_dir) / "minilm_cache.safetensors"
    texts.load_cache(cache)
    train = ds.split("train")
    all_texts = [t for s in ds.samples for t in s.texts]
    texts.encode(all_texts)  # every caption once, up front (cached on disk for the next run)
    texts.save_cache(cache)
    feats = [ds.features(s, normalised=True) for s in train]
    keys = np.array([_semantic_key(ds, s) for s in train])
    model = RetrievalModel(config)
    ev = MotionTextEvaluator(config, ds.stats, model, texts)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    rng = np.random.default_rng(tc.seed)

    def step():
        idx = rng.choice(len(train), tc.batch, replace=False)
        x, mask = pad_batch([feats[i] for i in idx], config.max_frames, rng)
        caption = [train[i].texts[int(rng.integers(len(train[i].texts)))] for i in idx]
        zm, zt = model.embed_motion(x, mask), model.embed_text(torch.from_numpy(texts.encode(caption)))
        logits = zm @ zt.t() / config.temperature
        same = torch.from_numpy(keys[idx][:, None] == keys[idx][None, :])
        logits = logits.masked_fill(same & ~torch.eye(len(idx), dtype=torch.bool), -1e4)  # no false negatives
        target = torch.arange(len(idx))
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        return loss, {"loss": f"{loss.item():.3f}"}

    return fit("evaluator", model, opt, step, lambda: evaluate_retrieval(ev, ds, "val"),
               lambda meta: ev.save(out_dir, meta),
               lambda: evaluate_retrieval(MotionTextEvaluator.load(out_dir, texts), ds, "test"),
               iterations=iterations, eval_every=tc.eval_every, keeper=BestKeeper("r_precision_top3"),
               out_dir=out_dir, dataset=ds.name, progress=progress)
