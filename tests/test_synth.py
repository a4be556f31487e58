import numpy as np
import pytest

from envs.motion.descriptors import body_cues
from envs.skeleton import JOINT_INDEX as J
from envs.synth import SynthSource
from envs.synth.families import FAMILIES

EMOTIONS = ["neutral", "happy", "sad", "angry", "proud", "anxious", "tired", "energetic"]


def test_every_scenario_has_several_families_and_all_emotions(synth):
    assert len(synth.config.scenarios) == 8
    assert all(len(f) >= 3 for f in synth.config.scenarios.values())
    assert synth.emotions == EMOTIONS
    assert sum(1 for _ in synth.keys()) >= 2000
    assert set(f for fams in synth.config.scenarios.values() for f in fams) <= set(FAMILIES)


def test_deterministic_by_seed(synth):
    a = synth.generate("dance", "spin", "anxious", 3).motion
    b = synth.generate("dance", "spin", "anxious", 3).motion
    c = SynthSource(seed=1).generate("dance", "spin", "anxious", 3).motion
    assert np.array_equal(a.positions, b.positions)
    assert a.num_frames != c.num_frames or not np.allclose(a.positions, c.positions)


def test_unknown_keys_are_rejected(synth):
    with pytest.raises(ValueError, match="unknown emotion"):
        synth.generate("dance", "spin", "bored")
    with pytest.raises(ValueError, match="not in scenario"):
        synth.generate("dance", "violin", "sad")


@pytest.fixture(scope="module")
def cue_table(synth):
    """Body cues per emotion over 2 variations of every family (512 clips)."""
    table = {}
    for e in EMOTIONS:
        rows = [body_cues(synth.generate(s, f, e, v).motion.positions, 20.0)
                for s, fams in synth.config.scenarios.items() for f in fams for v in range(2)]
        table[e] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return table


def test_cue_ordering_of_design(cue_table):
    t = cue_table
    for low in ("sad", "tired"):
        for high in ("happy", "energetic"):
            assert t[low]["head_height"] < t[high]["head_height"], (low, high)
            assert t[low]["speed"] < t[high]["speed"], (low, high)
            assert t[low]["trunk_lean"] > t[high]["trunk_lean"] + 5, (low, high)
    assert t["angry"]["jerk"] > 2 * t["sad"]["jerk"]
    assert t["angry"]["jerk"] > t["neutral"]["jerk"]
    assert t["proud"]["head_height"] >= t["neutral"]["head_height"]
    assert t["anxious"]["shoulder_elevation"] > t["neutral"]["shoulder_elevation"]
    assert t["anxious"]["arm_spread"] < min(t["neutral"]["arm_spread"], t["angry"]["arm_spread"])
    assert t["proud"]["trunk_lean"] < t["neutral"]["trunk_lean"] < t["sad"]["trunk_lean"]  # chest out vs slumped


@pytest.mark.parametrize("scenario", ["daily_life", "sports", "dance", "shows", "game", "animation", "instrument_play", "acrobatics"])
def test_physically_sane(synth, scenario):
    for family in synth.config.scenarios[scenario]:
        for emotion in ("sad", "angry", "energetic"):
            clip = synth.generate(scenario, family, emotion, 0)
            p = clip.motion.positions
            feet = p[:, [J["l_ankle"], J["r_ankle"], J["l_foot"], J["r_foot"]], 1]
            assert feet.min() > 0.02, (family, emotion)  # no foot below the floor
            above = feet - np.array([0.085, 0.085, 0.03, 0.03])  # height above the flat-foot clearance
            airborne = above.min(axis=1) > 0.01
            if family not in ("jump", "star_jump", "spin_jump"):
                assert not airborne.any(), (family, emotion)  # a foot stays on the floor
            assert p[:, :, 1].min() > -0.01  # nothing under the floor
            speed = np.linalg.norm(np.diff(p, axis=0), axis=-1) * 20
            assert speed.max() < 20.0, (family, emotion)  # no teleporting: below a sprinter's swinging foot (m/s)
            root_step = np.linalg.norm(np.diff(p[:, 0, [0, 2]], axis=0), axis=-1) * 20
            assert root_step.max() < 5.0, (family, emotion)  # the body does not jump places
            assert clip.clamp_share < 0.1, (family, emotion, clip.clamp_share)


def test_gait_speed_is_human(synth):
    for emotion, lo, hi in (("sad", 0.3, 1.1), ("neutral", 0.8, 1.5), ("energetic", 1.2, 2.4)):
        p = synth.generate("daily_life", "walk", emotion, 0).motion.positions
        root = p[:, 0, [0, 2]]
        v = np.linalg.norm(root[-1] - root[0]) / (len(p) / 20)
        assert lo < v < hi, (emotion, v)
