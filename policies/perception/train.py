"""Fitting and evaluating the perception estimator (`l2emg train perception`).

Text head: fitted on the calibration utterances (configs/perception/dev_utterances.tsv).
Fusion temperatures: fitted on a paired validation set (emotion-labelled validation clips, each
paired with a calibration utterance of the same label). Test: the held-out utterances of
tests/data/utterances.tsv (text macro-F1), emotion-labelled test clips clean and as played by the
partner humanoid in MuJoCo (weighted F1), and a paired test set for fusion (accuracy, ECE).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from envs.config import config_dir
from policies.data import L2EMGDataset
from policies.emotion import MotionEmotionClassifier
from policies.evaluator.metrics import macro_f1, weighted_f1
from policies.perception.estimator import PerceptionEstimator
from policies.perception.fusion import expected_calibration_error
from policies.perception.text_emotion import read_labelled_utterances


def partner_positions(motion, env=None) -> np.ndarray:
    """Joint positions (T, 22, 3, Y up) of ``motion`` as the partner humanoid plays it in MuJoCo."""
    import mujoco

    from envs.humanoid import from_mujoco
    from envs.interaction_env import InteractionEnv

    env = env or InteractionEnv()
    env.set_partner_motion(motion)
    out = []
    for k in range(0, len(env.partner_qpos), 3):  # control rate 60 Hz -> 20 fps
        env._place_partner(env.data, k)
        mujoco.mj_kinematics(env.model, env.data)
        out.append(from_mujoco(env.data.xpos[env.partner_bodies].copy()))
    return np.stack(out)


def _pair(samples, texts_by_label: dict[str, list[str]], rng: np.random.Generator) -> list[tuple[str, object]]:
    return [(texts_by_label[s.emotion][int(rng.integers(len(texts_by_label[s.emotion])))], s) for s in samples
            if s.emotion in texts_by_label]


def train_perception(classifier_dir: str | Path, dataset_dir: str | Path, out_dir: str | Path,
                     eval_utterances: str | Path | None = None, seed: int = 0, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    clf = MotionEmotionClassifier.load(classifier_dir)
    est = PerceptionEstimator(clf)
    ds = L2EMGDataset(dataset_dir)
    rng = np.random.default_rng(seed)
    labels = est.labels
    dev_labels, dev_texts = read_labelled_utterances(config_dir() / est.config.calibration)
    # Calibration must not see predictions on the head's own training utterances: use out-of-fold ones.
    oof = est.text.out_of_fold_proba(dev_texts, dev_labels, seed=seed)
    fit_text = est.text.fit_default()
    by_label: dict[str, list[int]] = {}
    for i, l in enumerate(dev_labels):
        by_label.setdefault(l, []).append(i)
    val = [s for s in ds.split("val") if s.emotion in by_label]
    pick = [by_label[s.emotion][int(rng.integers(len(by_label[s.emotion])))] for s in val]
    y_val = np.array([labels.index(s.emotion) for s in val])
    pt_val = oof[pick]
    pm_val = clf.predict_proba([ds.features(s) for s in val])
    val_pairs = list(zip(pick, val))
    temps = est.fusion.fit(pt_val, pm_val, y_val)

    report: dict = {"text_head": fit_text, "fusion_temperatures": temps, "val_pairs": len(val_pairs)}
    eval_path = Path(eval_utterances) if eval_utterances else None
    if eval_path and eval_path.is_file():
        ev_labels, ev_texts = read_labelled_utterances(eval_path)
        pred = [labels[i] for i in est.text.predict_proba(ev_texts).argmax(1)]
        report["text_eval"] = {"utterances": len(ev_texts), "macro_f1": round(macro_f1(ev_labels, pred, labels), 4),
                               "accuracy": round(float(np.mean(np.array(pred) == np.array(ev_labels))), 4)}
        ev_by_label: dict[str, list[str]] = {}
        for l, t in zip(ev_labels, ev_texts):
            ev_by_label.setdefault(l, []).append(t)
        test = [s for s in ds.split("test") if s.emotion]
        y = np.array([labels.index(s.emotion) for s in test])
        clean = clf.predict_proba([ds.features(s) for s in test])
        from envs.interaction_env import InteractionEnv

        env = InteractionEnv()
        played = est.motion.predict_proba([partner_positions(ds.motion(s), env) for s in test])
        env.close()
        report["motion_eval"] = {
            "clips": len(test),
            "weighted_f1_clean": round(weighted_f1(y, clean.argmax(1)), 4),
            "weighted_f1_partner_in_sim": round(weighted_f1(y, played.argmax(1)), 4),
        }
        pairs = _pair(test, ev_by_label, rng)
        yp = np.array([labels.index(s.emotion) for _, s in pairs])
        pt = est.text.predict_proba([t for t, _ in pairs])
        idx = {id(s): i for i, s in enumerate(test)}
        pm = played[[idx[id(s)] for _, s in pairs]]
        fused = est.fusion.fuse(pt, pm)
        acc = lambda p: round(float((p.argmax(1) == yp).mean()), 4)  # noqa: E731
        report["fusion_eval"] = {"pairs": len(pairs), "accuracy_text": acc(pt), "accuracy_motion": acc(pm),
                                 "accuracy_fused": acc(fused), "ece_fused": round(expected_calibration_error(fused, yp), 4),
                                 "ece_text": round(expected_calibration_error(est.fusion.fuse(pt, None), yp), 4)}
    report["seconds"] = round(time.perf_counter() - t0, 1)
    est.save(out_dir, classifier_dir, {"report": report})
    (Path(out_dir) / "report.json").write_text(json.dumps(report, indent=2))
    return report
