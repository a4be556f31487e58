import dataclasses

import numpy as np
import pytest

from policies.data import load_dataset_config, prepare
from policies.perception.fusion import EmotionFusion, expected_calibration_error, fit_temperature
from policies.perception.text_emotion import read_labelled_utterances

EVAL = "tests/data/utterances.tsv"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from policies.emotion import EmotionClassifierConfig
    from policies.emotion.model import EmotionTrainConfig
    from policies.emotion.train import train_emotion_classifier

    root = tmp_path_factory.mktemp("perc")
    cfg = dataclasses.replace(load_dataset_config("synth-8"), name="synth-tiny", variations=1)
    ds_dir, _, _ = prepare(cfg, root / "cache", workers=2, progress=False)
    clf_cfg = EmotionClassifierConfig(width=48, train=EmotionTrainConfig(dataset="synth-tiny", batch=32, iterations=150, eval_every=150))
    train_emotion_classifier(clf_cfg, ds_dir, root / "emotion", progress=False)
    return ds_dir, root


@pytest.fixture(scope="module")
def estimator(tiny):
    from policies.perception.train import train_perception
    from policies.perception import PerceptionEstimator

    ds_dir, root = tiny
    report = train_perception(root / "emotion", ds_dir, root / "perception", EVAL, progress=False)
    return PerceptionEstimator.load(root / "perception"), report


def test_eval_set_is_balanced_and_separate_from_calibration():
    labels, texts = read_labelled_utterances(EVAL)
    assert len(texts) >= 200 and set(labels) == {"neutral", "happy", "sad", "angry", "proud", "anxious", "tired", "energetic"}
    dev_labels, dev = read_labelled_utterances("configs/perception/dev_utterances.tsv")
    import yaml

    protos = {t for v in yaml.safe_load(open("configs/perception/prototypes.yaml")).values() for t in v}
    assert not (set(texts) & set(dev)) and not (set(texts) & protos)


def test_text_emotion_macro_f1_on_held_out_utterances(estimator):
    _, report = estimator
    assert report["text_eval"]["utterances"] >= 200
    assert report["text_eval"]["macro_f1"] >= 0.6, report["text_eval"]


def test_fusion_report_and_calibration(estimator):
    _, report = estimator
    f = report["fusion_eval"]
    assert f["pairs"] > 0 and 0 <= f["ece_fused"] <= 1
    m = report["motion_eval"]
    assert abs(m["weighted_f1_clean"] - m["weighted_f1_partner_in_sim"]) <= 0.1


@pytest.mark.parametrize("text", ["", "   ", "a" * 100_000, "Ich bin heute sehr müde und traurig.", "😡😡😡", "🎉🥳"])
def test_bad_text_never_crashes(estimator, text):
    est, _ = estimator
    r = est.perceive(text)
    assert abs(sum(r.distribution.values()) - 1) < 1e-3
    if not text.strip():
        assert r.uncertain and r.confidence == 0.0 and any("empty" in x for x in r.reasons)
    if len(text) > 10_000:
        assert any("cut" in x for x in r.reasons)


def test_bad_motion_is_dropped_with_a_reason(estimator, synth):
    est, _ = estimator
    good = synth.generate("daily_life", "walk", "sad", 0).motion.positions
    bad = good.copy(); bad[3, 4, 0] = np.nan
    r = est.perceive(None, bad)
    assert r.uncertain and any("NaN" in x for x in r.reasons)
    r = est.perceive("I'm so tired", good[:3])
    assert any("too short" in x for x in r.reasons) and r.text_distribution is not None and r.motion_distribution is None
    r = est.perceive("I'm so tired", good)
    assert r.text_distribution is not None and r.motion_distribution is not None


def test_scenario_guess(estimator):
    est, _ = estimator
    r = est.perceive("Let's play the drums and the guitar together!", scenario_candidates=["dance", "instrument_play", "sports"])
    assert max(r.scenario, key=r.scenario.get) == "instrument_play"


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(4000, 5))
    p = np.exp(logits / 2.0); p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=row) for row in p])
    assert fit_temperature(logits, y) == pytest.approx(2.0, rel=0.15)
    fused = EmotionFusion().fuse(p, None)
    assert np.allclose(fused, p, atol=1e-6)
    assert expected_calibration_error(p, y) < 0.05
    with pytest.raises(ValueError, match="at least one modality"):
        EmotionFusion().fuse(None, None)


def test_empathy_policy():
    from agent.runtime.empathy import EmpathyPolicy

    policy = EmpathyPolicy("synth-8", seed=1)
    r = policy.respond("sad", 0.9, "daily_life")
    assert r.emotion == "neutral" and r.instruction.endswith(".") and r.content in policy.contents["daily_life"]
    assert any(w in r.manner for w in ("gently", "comfort", "softly"))
    assert r.manner not in r.instruction  # the generator gets training-text phrasing only
    assert policy.respond("angry", 0.9, "sports").emotion == "neutral"
    assert policy.respond("happy", 0.9, "dance").emotion == "happy"
    assert "uncertain" in policy.respond("happy", 0.1, "dance").reason
    with pytest.raises(ValueError, match="unknown scenario"):
        policy.respond("sad", 0.9, "cooking")
    seen = {policy.respond("sad", 0.9, "shows").instruction for _ in range(10)}
    assert len(seen) > 3  # several phrasings
