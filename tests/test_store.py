import math
import sqlite3
from types import SimpleNamespace

import numpy as np
import pytest

from feedback.judges import InteractionJudge, JudgeThresholds
from feedback.store import ExperienceStore, Interaction, Verdict


def interaction(step: int, scenario: str = "greeting", codes=(1, 2, 3)) -> Interaction:
    return Interaction("ep", step, scenario, "I passed!", "A happy person waves.", "happy", {"greeting": 1.0}, list(codes),
                       {"generate": 12.0})


def verdict(ok: bool) -> Verdict:
    return Verdict(ok, ok, True, True, False, "ok" if ok else "physical", {"mpjpe_root_rel_mm": 20.0})


def test_store_records_atomically_and_idempotently(tmp_path):
    s = ExperienceStore(tmp_path / "x.sqlite")
    ids = [s.record(interaction(i), verdict(i % 2 == 0)) for i in range(6)]
    assert s.record(interaction(3), verdict(True)) == ids[3]  # a retried record changes nothing
    assert s.counts() == {"interactions": 6, "verdicts": 6}
    assert s.failures_since("greeting") == 3 and s.failures_since("greeting", ids[3]) == 1
    assert [r["success"] for r in s.recent("greeting", 2)] == [False, True]
    assert len(s.successful_codes("greeting")) == 3
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
    again = ExperienceStore(tmp_path / "x.sqlite")  # committed: visible to a new connection
    assert again.counts()["verdicts"] == 6


def test_a_failed_record_leaves_nothing_half_written(tmp_path):
    s = ExperienceStore(tmp_path / "x.sqlite")
    bad = verdict(True)
    bad.details = {"x": object()}  # not JSON: fails after the interaction row was inserted
    with pytest.raises(TypeError):
        s.record(interaction(0), bad)
    assert s.counts() == {"interactions": 0, "verdicts": 0}


def test_expert_versions_and_statuses(tmp_path):
    s = ExperienceStore(tmp_path / "x.sqlite")
    assert s.add_expert("sports", "runs/x/v1") == 1
    assert s.add_expert("sports", "runs/x/v2", "candidate") == 2
    s.set_expert_status("sports", 1, "published", {"val_r1": 0.2})
    assert s.published()["sports"]["version"] == 1
    s.set_expert_status("sports", 2, "rolled_back")
    assert [e["status"] for e in s.expert_timeline()] == ["published", "rolled_back"]
    with pytest.raises(ValueError, match="status"):
        s.add_expert("sports", "p", "done")
    with pytest.raises(KeyError):
        s.set_expert_status("sports", 9, "published")


class FakeEmotion:
    labels = ["neutral", "happy", "sad"]
    min_frames = 4

    def predict_proba(self, feats):
        return np.array([[0.1, 0.8, 0.1]]) if feats[0].mean() > 0 else np.array([[0.1, 0.1, 0.8]])


def result(success=True, reason="ok", mpjpe=30.0):
    return SimpleNamespace(success=success, reason=reason, failed_at_s=None if success else 1.2,
                           metrics=SimpleNamespace(mpjpe_root_rel_mm=mpjpe))


def test_judges_combine_physics_emotion_and_novelty():
    j = InteractionJudge(JudgeThresholds(), emotion=FakeEmotion())
    happy, sad = np.ones((20, 263)), -np.ones((20, 263))
    v = j(result(), happy, "waves", "happy", {"greeting": 0.9, "sports": 0.1}, "greeting")
    assert v.success and v.reason == "ok" and not v.novel and v.details["emotion_pred"] == "happy"
    v = j(result(), sad, "waves", "happy", {"greeting": 1.0}, "greeting")
    assert not v.success and v.reason == "emotional"
    v = j(result(False, "fell"), happy, "waves", "happy", {"greeting": 0.5, "sports": 0.5}, "dance")
    assert not v.success and v.reason == "physical" and v.novel and v.details["uncovered"]
    assert math.isclose(v.details["gate_entropy"], 1.0)
    from envs.executor.result import ExecutionResult

    v = j(ExecutionResult.failed("floating_reference", "none", 2.0, "both feet above 0.15 m for 1.3 s"), None, "waves",
          "happy", {"greeting": 1.0}, "greeting")
    assert not v.success and v.reason == "physical" and v.details["sim_reason"] == "floating_reference"
    assert "1.3 s" in v.details["sim_detail"]
    v = j(result(), happy[:2], "waves", "happy", {"greeting": 1.0}, "greeting")
    assert not v.emotion_ok  # too short to judge is a failure, not a pass
    v = j(result(), None, "waves", "happy", {"greeting": 1.0}, "greeting")
    assert not v.success
    nan = happy.copy()
    nan[3, 5] = np.nan
    v = j(result(), nan, "waves", "happy", {"greeting": 1.0}, "greeting")
    assert not v.success and not v.emotion_ok and not v.semantic_ok  # a non-finite trajectory fails, never raises


def test_retried_expert_registration_keeps_one_version(tmp_path):
    s = ExperienceStore(tmp_path / "x.sqlite")
    assert s.add_expert("dance", "runs/e/dance-1") == 1
    assert s.add_expert("dance", "runs/e/dance-1") == 1  # the same call again (a Ray retry)
    assert len(s.expert_timeline()) == 1


class FakeEvaluator:
    """Motion and text embeddings on the unit circle: a text 'at angle a' matches a motion of mean a."""

    @staticmethod
    def _unit(a):
        return np.array([np.cos(a), np.sin(a)])

    def embed_motions(self, feats):
        return np.stack([self._unit(float(np.mean(f))) for f in feats])

    def embed_texts(self, texts):
        return np.stack([self._unit(float(t.split()[-1])) for t in texts])


def test_semantic_judge_ranks_the_instruction_among_held_out_descriptions():
    distractors = [f"angle {a}" for a in np.linspace(1.0, 3.0, 40)]
    j = InteractionJudge(JudgeThresholds(semantic_top_k=3, semantic_pool=32), evaluator=FakeEvaluator(), distractors=distractors)
    ok, d = j.semantic(np.zeros((20, 263)), "angle 0.0")  # matches its own text, far from every distractor
    assert ok and d["semantic_rank"] == 0
    ok, d = j.semantic(np.full((20, 263), 2.0), "angle 0.0")  # a motion that looks like the distractors
    assert not ok and d["semantic_rank"] >= 3
    with pytest.raises(ValueError, match="distractor"):
        InteractionJudge(JudgeThresholds(), evaluator=FakeEvaluator(), distractors=distractors[:5])
