"""Property-based tests of ``Motion`` construction and of perception (issue 25): arbitrary arrays (NaN, inf,
huge values, wrong shapes and types) and frame rates give a Motion or a MotionError; the perception estimator
(the shipped synth-8 one) takes any unicode text (empty, huge, control characters, emoji only) and any
partner array and answers with a distribution, never an exception."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from envs.motion import Motion
from envs.motion.features import encode
from fuzz_helpers import fuzz, no_hang, result_or_own_error

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([1e300, -1e300, 1e-300, 0.0, -0.0])
DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.bool_, np.complex64])


def arrays(shape=None, max_side: int = 6) -> st.SearchStrategy:
    """Arrays of any numeric dtype and (unless given) any shape up to 4-d, with any values."""
    shapes = st.just(shape) if shape is not None else hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=max_side)
    return DTYPES.flatmap(lambda dt: hnp.arrays(dt, shapes, elements=FLOATS if np.dtype(dt).kind == "f" else None))


def motion_like(frames=st.integers(1, 8)):
    """Valid-shaped SMPL-22 arrays with any values (finite or not, huge or not)."""
    return frames.flatmap(lambda t: st.tuples(hnp.arrays(np.float64, (t, 22, 3), elements=FLOATS),
                                              hnp.arrays(np.float64, (t, 22, 4), elements=FLOATS)))


FPS = FLOATS | st.integers(-5, 400) | st.sampled_from([None, "20", True, [20.0], np.float32(20.0), np.array([20.0])])


def _use(m: Motion) -> None:
    assert np.isfinite(m.positions).all() and np.isfinite(m.rotations).all() and m.num_frames >= 1 and m.fps > 0
    result_or_own_error(m.resample, 20.0)
    feats = result_or_own_error(encode, m)
    if isinstance(feats, np.ndarray):
        assert np.isfinite(feats).all(), "encode gave non-finite features without an error"


@fuzz(200)
@given(arrays(), arrays(), FPS)
@example(np.zeros((2, 22, 3)), np.tile([1.0, 0, 0, 0], (2, 22, 1)), "20")  # bug: a string fps raised TypeError
@example(np.zeros((2, 22, 3)), np.tile([1.0, 0, 0, 0], (2, 22, 1)), np.array([20.0]))
def test_any_arrays_give_a_motion_or_a_motion_error(positions, rotations, fps):
    m = result_or_own_error(Motion, positions, rotations, fps)
    if isinstance(m, Motion):
        _use(m)


@fuzz(100)
@given(motion_like(), FPS)
@example((np.full((3, 22, 3), 1e300), np.tile([1.0, 0, 0, 0], (3, 22, 1))), 20.0)  # bug: encode gave inf features
@example((np.zeros((1, 22, 3)), np.tile([1.0, 0, 0, 0], (1, 22, 1))), 20.0)  # bug: encode's own checks raised ValueError
@example((np.zeros((3, 22, 3)), np.tile([1.0, 0, 0, 0], (3, 22, 1))), 1e-5)  # bug: resampling to 20 fps allocated 6e6 frames
def test_valid_shapes_with_any_values_give_a_motion_or_a_motion_error(arrs, fps):
    m = result_or_own_error(Motion, arrs[0], arrs[1], fps)
    if isinstance(m, Motion):
        _use(m)


@fuzz(80)
@given(motion_like(st.integers(1, 5)).map(lambda a: a[0]) | arrays(), FPS)
def test_motion_from_positions_gives_a_motion_or_a_motion_error(positions, fps):
    m = result_or_own_error(Motion.from_positions, positions, fps)
    if isinstance(m, Motion):
        _use(m)


# -- perception ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def estimator(demo_runs):
    from policies.perception import PerceptionEstimator

    return PerceptionEstimator.load(demo_runs / "synth-8" / "perception")


EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
CONTROL = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
TEXTS = (st.text() | st.text(EMOJI, min_size=1) | st.text(CONTROL) | st.just("")
         | st.tuples(st.text(min_size=1, max_size=20), st.integers(500, 20000)).map(lambda p: p[0] * p[1])  # huge
         | st.sampled_from(["\x00", " \t\n", "😀" * 3000, "I am so happy!\x00\x1b[31m", "\ud7ff", "‮reversed"]))


def _check(r, labels) -> None:
    assert r.emotion in labels and 0.0 <= r.confidence <= 1.0 and math.isfinite(r.confidence)
    assert set(r.distribution) == set(labels) and all(math.isfinite(p) for p in r.distribution.values())


@fuzz(100)
@given(TEXTS)
@example("")
@example("😀😂🎉")
def test_perception_answers_any_text(estimator, text: str):
    with no_hang():
        _check(estimator.perceive(text), estimator.labels)


PARTNERS = (arrays(max_side=30) | motion_like(st.integers(0, 40)).map(lambda a: a[0])
            | st.integers(10, 60).map(lambda t: np.random.default_rng(t).normal(size=(t, 22, 3)))  # plausible shapes, random bodies
            | st.sampled_from([None, [], [[1, 2, 3]], "positions", np.zeros((5, 22, 3), dtype=object)]))


@fuzz(120)
@given(PARTNERS, FPS, st.none() | TEXTS)
@example(np.full((30, 22, 3), np.nan), 20.0, None)
@example(np.full((30, 22, 3), 1e300), 20.0, "hello")
@example(np.zeros((30, 22, 3)), float("nan"), None)  # bug: a NaN frame rate raised MotionError out of perceive
@example(np.full((12, 22, 3), -1.79769312e+308), 20.0, None)  # bug: numpy's SVD did not converge (LinAlgError) in IK
@example(np.random.default_rng(10).normal(size=(10, 22, 3)), 46.0, None)  # bug: too short once resampled to 20 fps: ValueError
def test_perception_answers_any_partner_array(estimator, positions, fps, text):
    with no_hang():
        _check(estimator.perceive(text, positions, fps), estimator.labels)
