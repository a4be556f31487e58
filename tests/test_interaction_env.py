import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs.interaction_env  # noqa: F401  (registers L2EMG/Interaction-v0)


@pytest.fixture(scope="module")
def env(synth):
    e = gym.make("L2EMG/Interaction-v0", partner_motion=synth.generate("daily_life", "wave", "sad", 0).motion, max_steps=50)
    yield e
    e.close()


def test_check_env_passes(env):
    check_env(env.unwrapped, skip_render_check=True)


def test_deterministic_under_seed(env):
    actions = [env.action_space.sample() * 0.1 for _ in range(5)]
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=3)
        trace = [obs]
        for a in actions:
            trace.append(env.step(a)[0])
        runs.append(np.stack(trace))
    assert np.array_equal(runs[0], runs[1])


def test_observation_sees_the_partner_move(env):
    obs0, _ = env.reset(seed=0)
    zero = (env.action_space.low + env.action_space.high) / 2 * 0
    for _ in range(10):
        obs, *_ = env.step(zero)
    partner = slice(-22 * 3 * env.unwrapped.history, None)
    assert not np.allclose(obs0[partner], obs[partner])
    # The partner stands in front of the agent (positive x in the agent's heading frame).
    assert obs[partner].reshape(-1, 22, 3)[-1, 0, 0] > 1.0


def test_step_motion_executes_a_whole_motion(env, synth):
    env.reset(seed=0)
    r = env.unwrapped.step_motion(synth.generate("daily_life", "bow", "neutral", 0).motion.slice(0, 30))
    assert r.success and r.trajectory is not None
