"""Training the motion-emotion classifier on the emotion-labelled samples (`l2emg train emotion`)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from policies.checkpoint import BestKeeper
from policies.data import L2EMGDataset, load_emotion_labels
from policies.emotion.model import EmotionClassifierConfig, EmotionNet, MotionEmotionClassifier
from policies.evaluator.metrics import macro_f1, weighted_f1
from policies.motion_encoder import pad_batch
from policies.torch_utils import setup_torch
from policies.training import fit


def evaluate_emotion(clf: MotionEmotionClassifier, ds: L2EMGDataset, split: str, tokenizer=None,
                     round_trips: list[np.ndarray] | None = None) -> dict:
    """Scores on the labelled samples of ``split``; with ``tokenizer`` also on the same motions passed
    through it (``vq_*``: what the judge reads in generated motion) and ``selection``, the mean weighted F1
    of both, which model selection keys on. ``round_trips`` caches those motions across calls."""
    samples = [s for s in ds.split(split) if s.emotion is not None]
    if not samples:
        raise ValueError(f"{ds.name}: no emotion-labelled samples in the {split} split")
    feats = [ds.features(s) for s in samples]
    pred = clf.predict(feats)
    true = [s.emotion for s in samples]
    out = {"split": split, "samples": len(samples), "weighted_f1": round(weighted_f1(true, pred, clf.labels), 4),
           "macro_f1": round(macro_f1(true, pred, clf.labels), 4),
           "accuracy": round(float(np.mean(np.array(true) == np.array(pred))), 4),
           "support": dict(sorted(Counter(true).items()))}
    out["selection"] = out["weighted_f1"]
    if tokenizer is not None:
        if round_trips is None:
            round_trips = [tokenizer.decode_features(tokenizer.encode_features(f)) for f in feats]
        vq = clf.predict(round_trips)
        out.update(vq_weighted_f1=round(weighted_f1(true, vq, clf.labels), 4),
                   vq_accuracy=round(float(np.mean(np.array(true) == np.array(vq))), 4))
        out["selection"] = round((out["weighted_f1"] + out["vq_weighted_f1"]) / 2, 4)
    return out


def train_emotion_classifier(config: EmotionClassifierConfig, dataset_dir: str | Path, out_dir: str | Path,
                             iterations: int | None = None, progress: bool = True, tokenizer=None) -> dict:
    """``tokenizer``: also train on every training motion as it comes back through this VQ tokenizer
    (same label), so that the classifier reads emotion in generated motion, not only in capture."""
    torch = setup_torch(config.train.seed)
    from torch.nn import functional as F

    tc = config.train
    iterations = iterations or tc.iterations
    ds = L2EMGDataset(dataset_dir)
    labels = load_emotion_labels()
    train = [s for s in ds.split("train") if s.emotion is not None]
    if not train:
        raise ValueError(f"{ds.name}: no emotion-labelled training samples")
    y = np.array([labels.index(s.emotion) for s in train])
    counts = np.bincount(y, minlength=len(labels)).astype(float)
    weight = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** tc.class_weight_power, 0.0)
    weight = torch.tensor(weight / weight[counts > 0].mean(), dtype=torch.float32)
    feats = [ds.features(s, normalised=True) for s in train]
    if tokenizer is not None:
        feats += [ds.stats.normalise(tokenizer.decode_features(tokenizer.encode_features(ds.features(s)))) for s in train]
        y = np.concatenate([y, y])
    model = EmotionNet(config, len(labels))
    clf = MotionEmotionClassifier(config, labels, ds.stats, model)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    rng = np.random.default_rng(tc.seed)
    out_dir = Path(out_dir)

    def step():
        idx = rng.choice(len(feats), tc.batch, replace=len(feats) < tc.batch)
        x, mask = pad_batch([feats[i] for i in idx], config.max_frames, rng)
        loss = F.cross_entropy(model(x, mask), torch.from_numpy(y[idx]), weight=weight)
        return loss, {"loss": f"{loss.item():.3f}"}

    # with a tokenizer the checkpoint kept is the one that reads both capture and its VQ round trip best
    val_trips = [tokenizer.decode_features(tokenizer.encode_features(ds.features(s)))
                 for s in ds.split("val") if s.emotion is not None] if tokenizer is not None else None
    return fit("emotion", model, opt, step, lambda: evaluate_emotion(clf, ds, "val", tokenizer, val_trips),
               lambda meta: clf.save(out_dir, meta),
               lambda: evaluate_emotion(MotionEmotionClassifier.load(out_dir), ds, "test", tokenizer),
               iterations=iterations, eval_every=tc.eval_every, keeper=BestKeeper("selection"),
               out_dir=out_dir, dataset=ds.name, progress=progress)
