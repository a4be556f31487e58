"""The loop's latency while the learner trains (DESIGN §7): the learner paced to its share of wall time, every piece of
its job, and `bench runtime`'s interval on the latency ratio."""
import pytest


def test_duty_cycle_paces_work_to_its_share_of_wall_time(monkeypatch):
    """Each pause sleeps (1 - duty) / duty times the work since the last one: at duty 0.4, 2 s of work then 3 s
    asleep; the first call only starts the clock, and duty 1 never sleeps."""
    import time

    from agent.runtime.config import LearnerConfig
    from agent.runtime.services import DutyCycle

    clock = {"t": 100.0}
    slept: list[float] = []
    monkeypatch.setattr(time, "perf_counter", lambda: clock["t"])

    def sleep(s: float) -> None:
        slept.append(s)
        clock["t"] += s

    monkeypatch.setattr(time, "sleep", sleep)
    pace = DutyCycle(0.4)
    pace.pause()
    for work in (2.0, 0.5):
        clock["t"] += work
        pace.pause()
    assert slept == pytest.approx([3.0, 0.75]) and pace.paused_s == pytest.approx(3.75)
    full = DutyCycle(1.0)
    full.pause(); clock["t"] += 5.0; full.pause()
    assert len(slept) == 2 and full.paused_s == 0.0
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="learner.duty"):
            LearnerConfig(duty=bad)


def test_the_latency_ratio_interval_resamples_batches():
    """`bench runtime`'s interval on the p95 ratio: batches (rows sharing one latency) drawn again; it holds the point
    ratio, holds 1 for two samples of one distribution, narrows with more batches and leaves out 1 for a clear slowdown.
    (Over a handful of batches a p95 is their maximum, and a bootstrap of a maximum comes out too narrow: the benchmark
    measures both sides over 60 batches.)"""
    import numpy as np

    from agent.bench.runtime import p95_ratio_interval

    def rows(latencies, batch=4):
        return [{"latency_ms": {"total": float(x), "wall": 2 * float(x)}} for x in latencies for _ in range(batch)]

    rng = np.random.default_rng(1)
    idle, same = rng.lognormal(7.3, 0.2, 60), rng.lognormal(7.3, 0.2, 60)
    iv = p95_ratio_interval(rows(same), rows(idle), 4)
    point = np.percentile(same, 95) / np.percentile(idle, 95)
    assert iv["total"][0] <= point <= iv["total"][1] and iv["total"][0] < 1 < iv["total"][1] and iv["wall"] == iv["total"]
    many = p95_ratio_interval(rows(rng.lognormal(7.3, 0.2, 600)), rows(rng.lognormal(7.3, 0.2, 600)), 4)["total"]
    assert many[1] - many[0] < (iv["total"][1] - iv["total"][0]) / 2
    assert p95_ratio_interval(rows(1.6 * same), rows(idle), 4)["total"][0] > 1.2
    assert p95_ratio_interval(rows(same[:1]), rows(idle), 4) == {}


def test_the_learner_paces_its_loading_and_scoring_like_its_steps(monkeypatch):
    """Every piece of a training job computes at most ``duty`` of the wall time: after the checkpoint's loading and
    after each scenario's scoring, before and after the steps, the learner sleeps as the steps do (at duty 0.5, as
    long as the piece took); at duty 1 it never sleeps. Scores and result are the same either way."""
    import time
    from types import SimpleNamespace

    import policies.esmoe.store as store
    import policies.esmoe.trainer as trainer
    from agent.runtime.config import LearnerConfig
    from agent.runtime.learner import ExpertLearner

    clock = {"t": 0.0}
    slept: list[float] = []
    monkeypatch.setattr(time, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(round(s, 6)), clock.__setitem__("t", clock["t"] + s)))

    def work(seconds: float) -> None:
        clock["t"] += seconds

    model = SimpleNamespace(bank=SimpleNamespace(names=["daily_life", "sports"]),
                            config=SimpleNamespace(train=trainer.ScenarioTrainSettings()))
    monkeypatch.setattr(store, "load_generator", lambda base, size, device: (work(2.0), (model, {"dataset": "d"}))[1])
    monkeypatch.setattr(store, "save_esmoe", lambda *a, **k: None)

    def learn(model, scenario, samples, settings, seed, progress, should_stop):
        for _ in range(3):
            assert not should_stop()
            work(0.5)
        return {"steps": 3}

    monkeypatch.setattr(trainer, "learn_scenario", learn)

    def run(duty: float) -> dict:
        slept.clear()
        learner = ExpertLearner.__new__(ExpertLearner)
        learner.config, learner.device, learner._scores = LearnerConfig(duty=duty), "cpu", {}
        learner.tokenizer = SimpleNamespace(codebook_size=8)
        learner.corpus = SimpleNamespace(select=lambda split, scenarios: [])
        learner.score = lambda m, sc: (work(1.0), {"success": 0.5, "scenario": sc})[1]
        return learner.train_expert("base", "dance", "out", [])

    paced = run(0.5)
    # load 2 s; three scores of 1 s; three steps of 0.5 s, asked before each (the first has nothing to pace, the last
    # is paced with the first score after it); three scores
    assert slept == pytest.approx([2.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.5, 1.0, 1.0])
    assert paced["paused_s"] == pytest.approx(9.5)
    unpaced = run(1.0)
    assert slept == [] and unpaced["paused_s"] == 0.0
    assert {k: v for k, v in paced.items() if k not in ("paused_s", "seconds")} == \
        {k: v for k, v in unpaced.items() if k not in ("paused_s", "seconds")}
