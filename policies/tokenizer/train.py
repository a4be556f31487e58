"""Training and evaluation of the motion tokenizer (`l2emg train tokenizer`, `l2emg eval tokenizer`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.motion.features import RIC_SLICE, decode_positions
from policies.checkpoint import BestKeeper
from policies.data import L2EMGDataset
from policies.tokenizer.foot_contact import FootContactLoss
from policies.tokenizer.model import MotionVQVAE, TokenizerConfig
from policies.tokenizer.tokenizer import VQTokenizer
from policies.torch_utils import random_crops, setup_torch
from policies.training import fit


def _windows(ds: L2EMGDataset, split: str, normalised: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    samples = ds.split(split)
    feats = [ds.features(s, normalised=normalised) for s in samples]
    return feats, np.array([len(f) for f in feats])


def evaluate_tokenizer(tok: VQTokenizer, ds: L2EMGDataset, split: str = "test", max_samples: int | None = None) -> dict:
    """Root-relative and global MPJPE (mm) of encode -> decode, and codebook usage, on a split."""
    import torch

    samples = ds.split(split)[:max_samples]
    errs_rel, errs_glob, used = [], [], np.zeros(tok.codebook_size, dtype=np.int64)
    by_len: dict[int, list] = {}
    for s in samples:
        n = s.length // tok.config.downsample * tok.config.downsample
        if n >= tok.config.downsample:
            by_len.setdefault(n, []).append(s)
    model = tok.model.eval()
    with torch.no_grad():
        for n, group in by_len.items():
            for i in range(0, len(group), 64):
                chunk = group[i:i + 64]
                x = torch.from_numpy(np.stack([ds.features(s, normalised=True)[:n] for s in chunk]))
                idx = model.encode(x)
                recon = model.decode(idx).numpy()
                used += np.bincount(idx.numpy().ravel(), minlength=tok.codebook_size)
                for s, r in zip(chunk, recon):
                    gt = decode_positions(ds.features(s)[:n])
                    pr = decode_positions(tok.stats.denormalise(r))
                    errs_glob.append(np.linalg.norm(gt - pr, axis=-1).mean())
                    errs_rel.append(np.linalg.norm((gt - gt[:, :1]) - (pr - pr[:, :1]), axis=-1).mean())
    return {
        "split": split, "samples": len(errs_rel),
        "mpjpe_root_rel_mm": round(float(np.mean(errs_rel)) * 1000, 2),
        "mpjpe_global_mm": round(float(np.mean(errs_glob)) * 1000, 2),
        "codes_used": int((used > 0).sum()), "codebook_usage": round(float((used > 0).mean()), 4),
    }


def train_tokenizer(config: TokenizerConfig, dataset_dir: str | Path, out_dir: str | Path,
                    iterations: int | None = None, progress: bool = True) -> dict:
    """Train on the train split, keep the best checkpoint on the validation split, report test once."""
    torch = setup_torch(config.train.seed)
    from torch.nn import functional as F

    tc = config.train
    iterations = iterations or tc.iterations
    ds = L2EMGDataset(dataset_dir)
    feats, lengths = _windows(ds, "train")
    model = MotionVQVAE(config)
    tok = VQTokenizer(config, ds.stats, model)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, betas=(0.9, 0.99), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / max(1, tc.warmup)))
    rng = np.random.default_rng(tc.seed)
    out_dir = Path(out_dir)
    feet = FootContactLoss(ds.stats, pose_weight=config.fk_pose_weight) if config.foot_contact_weight > 0 else None

    def step():
        idx, starts = random_crops(lengths, tc.crop, tc.batch, rng)
        x = torch.from_numpy(np.stack([feats[i][s:s + tc.crop] for i, s in zip(idx, starts)]))
        recon, _, commit, perplexity = model(x)
        loss_rec = F.smooth_l1_loss(recon, x)
        vel = lambda f: f[:, 1:, RIC_SLICE] - f[:, :-1, RIC_SLICE]  # noqa: E731
        loss_vel = F.smooth_l1_loss(vel(recon), vel(x))
        loss = loss_rec + config.commitment * commit + config.velocity_weight * loss_vel
        shown = {"rec": f"{loss_rec.item():.4f}", "ppl": f"{perplexity.item():.0f}"}
        if feet is not None:
            loss_feet = feet(recon, x)
            loss = loss + config.foot_contact_weight * loss_feet
            shown["feet_mm" if feet.pose_weight == 0 else "feet_pose_mm"] = f"{1000 * loss_feet.item():.1f}"
        return loss, shown

    return fit("tokenizer", model, opt, step, lambda: evaluate_tokenizer(tok, ds, "val"),
               lambda meta: tok.save(out_dir, meta),
               lambda: evaluate_tokenizer(VQTokenizer.load(out_dir), ds, "test"),
               iterations=iterations, eval_every=tc.eval_every,
               keeper=BestKeeper("mpjpe_root_rel_mm", higher_is_better=False), out_dir=out_dir,
               dataset=ds.name, scheduler=sched, progress=progress)
