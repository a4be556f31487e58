"""The tracking task L2EMG/Track-v0 (envs/track_env.py)."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs.track_env  # noqa: F401  (registers L2EMG/Track-v0)
from envs.track_env import MAX_EPISODE_STEPS, TrackEnv
from helpers import lifted


@pytest.fixture(scope="module")
def clips(synth):
    return [synth.generate("daily_life", "wave", "happy", 0).motion, synth.generate("daily_life", "walk", "neutral", 0).motion]


@pytest.fixture(scope="module")
def env(clips):
    e = gym.make("L2EMG/Track-v0", motions=clips)
    yield e
    e.close()


def test_check_env_passes_in_every_action_mode(clips):
    for mode in ("targets", "offsets", "torques"):
        check_env(TrackEnv(clips[:1], action=mode), skip_render_check=True)


def test_registered_with_a_step_limit(env):
    assert env.spec.max_episode_steps == MAX_EPISODE_STEPS
    assert env.observation_space.shape == (1 + 6 + 6 + 2 * 63 + 3 * (66 + 63 + 1 + 6),)


def test_default_clips_need_no_data():
    e = gym.make("L2EMG/Track-v0")
    assert len(e.unwrapped.refs) == len(e.unwrapped.config.clips) and not e.unwrapped.refused
    obs, info = e.reset(seed=1)
    assert info["clip"] in e.unwrapped.config.clips and np.isfinite(obs).all()


def test_a_random_policy_runs_episodes_to_their_end(env):
    env.reset(seed=0)
    env.action_space.seed(0)
    ends = []
    for _ in range(400):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert obs.dtype == np.float32 and np.isfinite(obs).all() and 0.0 <= reward <= 1.0
        if terminated or truncated:
            ends.append((terminated, info["reason"]))
            env.reset()
    assert ends and all((t and r in ("fell", "tracking_lost", "unstable")) or (not t and r == "end_of_reference") for t, r in ends)


def test_deterministic_under_seed(env):
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=5)
        env.action_space.seed(5)
        trace = [obs] + [env.step(env.action_space.sample())[0] for _ in range(5)]
        runs.append(np.stack(trace))
    assert np.array_equal(runs[0], runs[1])


def test_reward_is_one_on_the_reference_and_following_it_beats_random(clips):
    e = TrackEnv(clips, action="offsets")
    e.reset(seed=0, options={"clip": 0, "start": 10})
    ref, k = e.refs[0], e._k
    terms = e._reward_terms(ref, k, ref.qpos[k], ref.qvel[k], ref.positions[k])
    assert terms == pytest.approx({"pose": 1.0, "velocity": 1.0, "end_effector": 1.0, "com": 1.0}, abs=1e-6)

    def mean_reward(policy) -> float:
        e.reset(seed=0, options={"clip": 0, "start": 0})
        rewards = []
        for _ in range(100):
            _, r, terminated, truncated, _ = e.step(policy())
            rewards.append(r)
            if terminated or truncated:
                break
        return float(np.mean(rewards))

    rng = np.random.default_rng(0)
    follow = mean_reward(lambda: np.zeros(63, dtype=np.float32))  # PD toward the next reference angles
    random = mean_reward(lambda: rng.uniform(-1, 1, 63).astype(np.float32))
    assert follow > 0.6 and follow > random + 0.3  # measured 0.75 against 0.15


def test_end_of_reference_truncates(clips):
    e = TrackEnv(clips[:1], action="offsets")
    n = e.refs[0].num_steps
    e.reset(seed=0, options={"clip": 0, "start": n - 3})
    out = [e.step(np.zeros(63, dtype=np.float32)) for _ in range(2)]
    assert out[-1][3] and not out[-1][2] and out[-1][4]["reason"] == "end_of_reference"


def test_torques_mode_drives_motors_and_an_idle_body_falls(clips):
    e = TrackEnv(clips[:1], action="torques")
    assert np.allclose(e.model.actuator_biasprm[e.act, :3], 0.0)
    e.reset(seed=0, options={"clip": 0, "start": 0})
    for _ in range(200):
        _, _, terminated, truncated, info = e.step(np.zeros(63, dtype=np.float32))  # no torque at all
        if terminated or truncated:
            break
    assert terminated and info["reason"] in ("fell", "tracking_lost")


def test_the_window_shows_the_reference_ahead(clips):
    e = TrackEnv(clips[1:], action="offsets")
    a, _ = e.reset(seed=0, options={"clip": 0, "start": 0})
    b, _ = e.reset(seed=0, options={"clip": 0, "start": 40})
    body = 1 + 6 + 6 + 2 * 63
    assert not np.allclose(a[body:], b[body:])
    # The first window frame's pelvis is one step ahead of the body: close to it, not metres away.
    assert np.linalg.norm(a[body:body + 3]) < 0.1


def test_bad_clips_are_left_out(clips):
    floating = lifted(clips[1], 1.0, 2.5, 0.3)
    with pytest.warns(UserWarning, match="floating_reference"):
        e = TrackEnv([clips[0], floating])
    assert len(e.refs) == 1 and list(e.refused) == ["clip1"]
    with pytest.raises(ValueError, match="no usable clip"), pytest.warns(UserWarning):
        TrackEnv([floating])
    with pytest.raises(ValueError, match="action"):
        TrackEnv(clips[:1], action="muscles")


def test_sim_bench_reports_the_task_speed():
    from agent.bench.sim import bench_track_env

    out = bench_track_env(steps=200)
    for mode in ("targets", "torques"):
        assert out[mode]["steps_per_s"] > 0 and out[mode]["realtime_factor"] > 0
