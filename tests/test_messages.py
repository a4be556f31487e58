"""The typed hand-offs between the loop and its backends (agent/runtime/messages.py): each message built by
the stage that owns it, one interaction round-tripped through the in-process backend, and the store calls
the loop may make, the same on the local store and over the Ray feedback actor's entry point."""
from __future__ import annotations

import numpy as np
import pytest

from agent.episodes.config import bootstrap_request, load_episode
from agent.runtime.messages import (STORE_CALLS, Executed, Experience, Generated, Judged, LearningOutcome, LoadedGenerator,
                                    Perceived, Request, Stimulus)
from envs.executor.result import ExecutionResult
from feedback.store import Interaction
from runtime_helpers import tiny_runtime, write_episode


def test_an_interaction_round_trips_through_the_local_backend_in_typed_messages(runtime_dirs, tmp_path):
    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.session import make_backend
    from agent.runtime.stimuli import StimulusSource

    root, runs, cache = runtime_dirs
    assets = bootstrap_assets(bootstrap_request(load_episode(write_episode(root, "boot"))), tiny_runtime().bootstrap, runs,
                              str(cache), progress=False)
    b = make_backend("local", tiny_runtime(), assets, tmp_path, executors=1)
    try:
        stimulus = StimulusSource(assets.dataset_dir, seed=0).draw("daily_life")
        assert isinstance(stimulus, Stimulus) and stimulus.positions.shape[1:] == (22, 3) and stimulus.utterance
        [perceived] = b.perceive([stimulus])
        assert isinstance(perceived, Perceived) and 0.0 <= perceived.confidence <= 1.0
        request = Request(stimulus.scenario, stimulus.utterance, stimulus.partner_emotion, perceived.emotion,
                          "A person walks forward happily.", "happy")
        [generated] = b.generate([request.instruction])
        assert isinstance(generated, Generated) and set(generated.experts) == {"daily_life", "sports"}
        assert (generated.motion is None) == (generated.failure is not None)
        [executed, nothing] = b.execute([generated.motion, None])
        assert isinstance(executed, Executed) and executed.result.mode == tiny_runtime().executor.mode
        assert nothing.result.reason == "no_motion" and not nothing.result.success and nothing.features is None
        inter = Interaction("msg", 0, request.scenario, request.utterance, request.instruction, request.intended_emotion,
                            generated.experts, generated.codes, {"generate": 1.0})
        [judged] = b.record([Experience(inter, executed)])
        assert isinstance(judged, Judged) and judged.id == b.store.last_id()
        assert judged.verdict.success == (judged.verdict.physical_ok and judged.verdict.emotion_ok and judged.verdict.semantic_ok)
        assert b.record([Experience(inter, executed)])[0].id == judged.id  # a retried call stores nothing twice
        assert b.store.counts() == {"interactions": 1, "verdicts": 1}
        assert b.store.codes(judged.id) == generated.codes
        loaded = b.load_generator(assets.generator)
        assert loaded == LoadedGenerator(assets.generator, ["daily_life", "sports"])
        assert b.poll_learning() is None
    finally:
        b.close()


def test_failed_results_and_learning_outcomes_are_built_one_way():
    r = ExecutionResult.failed("invalid_motion", "none")
    assert not r.success and r.reason == "invalid_motion" and r.simulated_s == 0.0 and r.positions is None
    assert LearningOutcome("error", error="boom").report is None
    with pytest.raises(TypeError):
        Perceived("happy")  # confidence is required


def test_store_calls_are_the_protocol_and_the_ray_client_forwards_only_those(tmp_path):
    from agent.runtime.actors import RayStoreClient
    from feedback.store import ExperienceStore

    assert set(STORE_CALLS) == {"failures_since", "last_id", "counts", "successful_codes", "add_expert", "set_expert_status",
                                "published", "expert_timeline", "add_event", "events", "interactions"}
    store = ExperienceStore(tmp_path / "s.sqlite")
    assert all(callable(getattr(store, c)) for c in STORE_CALLS)  # the local store is a StoreClient as it is

    class Feedback:  # stands for the actor handle: .query.remote(call, *args) -> a "reference"
        class query:  # noqa: N801
            @staticmethod
            def remote(call, *args):
                return lambda: getattr(store, call)(*args)

    client = RayStoreClient(Feedback, get=lambda make_ref: make_ref()())
    version = client.add_expert("dance", "/x", "training", {})
    assert version == 1 and client.published() == {} and client.last_id() == 0
    with pytest.raises(AttributeError):
        client.record  # noqa: B018 (writing interactions is FeedbackService.record's job, not a store call)
    store.close()


def test_stimulus_positions_survive_as_arrays():
    s = Stimulus("dance", "hi", None, np.zeros((4, 22, 3), np.float32))
    assert s.fps == 20.0 and s.candidates is None and s.positions.dtype == np.float32
