"""Pivot steps (envs/executor/pivot.py): a standing foot the clip turns on the spot is lifted to turn."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from envs.executor.pivot import PivotConfig, pivot_steps, sole_yaw
from helpers import without_lookahead

DT = 1 / 60


def _soles(yaw_deg: np.ndarray, pitch_deg: np.ndarray | None = None, centre=(0.0, 0.1)) -> np.ndarray:
    """(N, 8, 3) sole corners of a box foot turned by ``yaw_deg`` about its middle (heel box 4, then toe box 4), its
    toes raised by ``pitch_deg`` about the toe joint (the heel box rising behind it)."""
    heel = np.array([[-0.10, -0.04, 0], [-0.10, 0.04, 0], [0.0, -0.04, 0], [0.0, 0.04, 0]])
    toes = np.array([[0.0, -0.04, 0], [0.0, 0.04, 0], [0.06, -0.04, 0], [0.06, 0.04, 0]])
    n = len(yaw_deg)
    pitch = np.zeros(n) if pitch_deg is None else np.radians(pitch_deg)
    out = np.zeros((n, 8, 3))
    for k in range(n):
        h = heel.copy()
        h[:, 0], h[:, 2] = h[:, 0] * np.cos(pitch[k]), -h[:, 0] * np.sin(pitch[k])  # heel up about the toe joint
        pts = np.concatenate([h, toes]) - np.array([-0.02, 0.0, 0.0])
        c, s = np.cos(np.radians(yaw_deg[k])), np.sin(np.radians(yaw_deg[k]))
        out[k, :, 0] = c * pts[:, 0] - s * pts[:, 1] + centre[0]
        out[k, :, 1] = s * pts[:, 0] + c * pts[:, 1] + centre[1]
        out[k, :, 2] = pts[:, 2]
    return out


def _both(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.stack([left, right], axis=1)


CONFIG = PivotConfig(enabled=True, turn_deg=40.0, swing_s=0.15)


def test_a_foot_turned_on_the_spot_lifts_once_per_turn_and_lands_turned():
    n = 120
    turning = np.linspace(0.0, 100.0, n)  # the left sole turns 100 degrees in 2 s, both feet down throughout
    corners = _both(_soles(turning), _soles(np.zeros(n), centre=(0.0, -0.1)))
    stance = np.ones((n, 2), dtype=bool)
    edited, flat, inserted = pivot_steps(stance, stance.copy(), corners, DT, CONFIG)
    lifted = np.flatnonzero(~edited[:, 0])
    swing = int(round(CONFIG.swing_s / DT))
    assert inserted == 2 and len(lifted) == 2 * swing  # 40 degrees, then 40 more after it was set down
    first = lifted[0]
    assert turning[first] > 40.0 and turning[first - 1] <= 40.0 + 1e-9  # lifted at the frame it passed the limit
    assert edited[:, 1].all() and flat[:, 1].all()  # the other foot stands throughout
    assert not flat[lifted, 0].any()
    assert stance.all()  # the caller's flags are not edited


def test_no_pivot_step_without_a_turn_a_standing_partner_or_a_level_sole():
    n = 120
    still = _both(_soles(np.full(n, 15.0)), _soles(np.zeros(n), centre=(0.0, -0.1)))
    stance = np.ones((n, 2), dtype=bool)
    assert pivot_steps(stance, stance.copy(), still, DT, CONFIG)[2] == 0
    # the other foot in the air while the left turns: nothing to stand on during a pivot step
    turning = _both(_soles(np.linspace(0.0, 100.0, n)), _soles(np.zeros(n), centre=(0.0, -0.1)))
    one_foot = stance.copy()
    one_foot[:, 1] = False
    assert pivot_steps(one_foot, one_foot.copy(), turning, DT, CONFIG)[2] == 0
    # a sole rising onto its toes: its heel-to-toe line on the floor shrinks and its heading is not read
    rolling = np.concatenate([np.zeros(60), np.linspace(0.0, 85.0, 60)])
    wobble = np.concatenate([np.zeros(60), np.linspace(0.0, 60.0, 60)])
    corners = _both(_soles(wobble, pitch_deg=rolling), _soles(np.zeros(n), centre=(0.0, -0.1)))
    yaw, length = sole_yaw(corners)
    assert length[-1, 0] < 0.8 * length[0, 0]
    assert pivot_steps(stance, stance.copy(), corners, DT, CONFIG)[2] == 0
    # a foot the schedule does not hold flat is not read either
    not_flat = stance.copy()
    not_flat[:, 0] = False
    assert pivot_steps(stance, not_flat, turning, DT, CONFIG)[2] == 0


def test_config_is_validated():
    with pytest.raises(ValueError, match="stepping.pivot"):
        PivotConfig(turn_deg=0.0)
    with pytest.raises(ValueError, match="stepping.pivot"):
        PivotConfig(level_share=1.5)


def test_a_procedural_spin_stays_up_with_pivot_steps_and_not_without():
    """synth-8's spin turns both flat feet with the body (126 degrees a second at tempo 1); held still on the floor they twist the
    legs until the body loses the clip (energetic variation 0, one of five spins of 24 that pivot steps keep)."""
    from envs.executor import TrackingExecutor, load_executor_config
    from envs.synth import SynthSource

    motion = SynthSource().generate("dance", "spin", "energetic", 0).motion
    # without the look-ahead, which keeps this spin up either way (2026-12-07)
    cfg = without_lookahead(load_executor_config().for_generated_motion())
    assert cfg.stepping.pivot.enabled
    on = TrackingExecutor(cfg)
    off = TrackingExecutor(dataclasses.replace(cfg, stepping=dataclasses.replace(
        cfg.stepping, pivot=dataclasses.replace(cfg.stepping.pivot, enabled=False))))
    kept = on.execute(motion, mode="none")
    lost = off.execute(motion, mode="none")
    assert kept.success, kept.reason
    assert on.wholebody.schedule.pivots > 0
    assert not lost.success and lost.reason == "tracking_lost"
    assert off.wholebody.schedule.pivots == 0
