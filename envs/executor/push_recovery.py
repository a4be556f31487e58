"""Push recovery: a step the clip does not take, when the body would otherwise fall (issue 18).

While the clip stands on both feet, the body's instantaneous capture point (Pratt et al. 2006: xi = c + v /
omega, where a linear inverted pendulum comes to rest) is compared with the polygon of its soles. When a push
carries it more than ``trigger_margin`` outside, the ankles cannot stop the body and one foot steps: for a
push along the body the trailing foot (the one farther from the capture point), for a sideways one the foot on
that side (never crossing over). Its sole centre lands ``extra`` past where the capture point will be at
touch-down, by the pendulum over the standing sole's edge (Englsberger et al. 2015), placed in the stance's
own frame (a forward step keeps the stance's width), re-aimed every control step over the first four fifths
of the swing. The foot crosses the floor over the first ``travel`` of the swing and then comes down
``landing_depth`` into it (a foot still moving forward when it met the floor stuck short of its spot). The
clip's schedule is edited for the swing, so the whole-body controller's support and rate follow as for the
clip's own steps. Once the foot has landed, the legs track angles solved by inverse kinematics for the feet
where they stand, the pelvis at the height those legs reach (the clip's leg angles, feet together, do not fit
the split stance: without this the body stopped over it, then sank and slid off its narrow side).

Measured (``docs/experiments/push_sweep.py``, RESULTS.md): impulses of 40-60 N s on the pelvis of a still
pose, forwards and backwards, four poses: 10 of 24 survived with the step, 0 of 24 without; sideways 4 of 24
(the loaded foot on the push's side cannot be lifted in time). Dataset-1 (`l2emg sim track --dataset1 --mode
none`): standing gestures 55 -> 57 of 63 with the support hysteresis of stepping.py, walking unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.soles import box_bottom_corners, corners_by_foot
from envs.executor.hull import outside_distance, points_outside
from envs.jit import compiled


@dataclass(frozen=True)
class PushRecoveryConfig:
    enabled: bool = True
    trigger_margin: float = 0.05  # m the capture point lies outside the soles' polygon before a foot steps
    swing_s: float = 0.35  # s from lift-off to the planned touch-down
    height: float = 0.06  # m the foot is lifted at mid-swing
    travel: float = 0.7  # share of the swing over which the foot crosses the floor (then it comes down)
    extra: float = 0.05  # m past the predicted capture point the sole centre lands
    prediction_gain: float = 1.0  # scales the pendulum's divergence rate in the aim (1: the linear pendulum's)
    max_step: float = 0.6  # m, longest step
    min_width: float = 0.12  # m across the stance between the feet's centres after the step
    landing_depth: float = 0.03  # m below the floor the target sinks over the last fifth of the swing
    settle_s: float = 0.15  # s both feet stand after a landing before another step may start
    max_steps: int = 1  # steps per clip (a second catch step, tried, made things worse: RESULTS.md)
    stance_legs: bool = True  # after a step, the legs track angles solved for the feet where they stand
    mpc_after_step: bool = False  # the walking MPC keeps planning the centre of mass after the step (clip standing)


@dataclass
class ReactiveStep:
    foot: int
    start: int  # first reference step of the swing
    stop: int  # planned touch-down step
    origin: np.ndarray  # (3,) where the foot's heel box was at lift-off
    shift: np.ndarray  # (2,) horizontal displacement planned for the foot


class PushRecovery:
    """Decides on and shapes the steps of one execution; the whole-body controller calls ``react`` every
    control step, follows ``swing_target`` while a step is under way, and ``stance_legs`` after it lands."""

    def __init__(self, config: PushRecoveryConfig, dt: float) -> None:
        self.config, self.dt = config, dt
        self.step: ReactiveStep | None = None
        self.steps_taken = 0
        self._free_from = 0  # the first reference step at which a new step may start
        self._legs: np.ndarray | None = None  # the qpos whose legs fit the stance the last step left
        self._legs_for: ReactiveStep | None = None

    def active(self, k: int, f: int) -> ReactiveStep | None:
        """The step foot ``f`` is making at reference step ``k`` (None if none)."""
        s = self.step
        return s if s is not None and s.foot == f and s.start <= k < s.stop else None

    def has_stepped(self, k: int) -> bool:
        """Whether a step of its own has started by reference step ``k`` (the last one, while it lasts and after)."""
        return self.step is not None and k >= self.step.start

    def react(self, wb, d, k: int, com: np.ndarray, com_vel: np.ndarray) -> None:
        """Whether to step now, for the whole-body controller ``wb`` in state ``d`` (``com``, ``com_vel``: the body's
        centre of mass); a step edits its schedule for the swing (``wb.swing``)."""
        if not self._may_start(k, wb.stance, wb.support):  # before the soles: most control steps stop here
            return
        capture = com[:2] + com_vel[:2] / wb.planner.omega[k]
        g = wb.foot_geoms
        # maybe_step's own test, made here first in one compiled pass: most of the remaining control steps stop here
        outside = _capture_outside(d.geom_xpos, d.geom_xmat, wb.model.geom_size, wb.sole_geoms, capture)
        if outside <= self.config.trigger_margin:
            return
        soles = corners_by_foot(wb.model, d, wb.sole_geoms)[..., :2]
        step = self.maybe_step(k, wb.stance, wb.support, capture, soles, d.geom_xpos[g[:2]], wb.planner.omega[k])
        if step is not None:
            wb.swing(step.foot, step.start, step.stop)

    def _swing_steps(self) -> int:
        return max(2, int(round(self.config.swing_s / self.dt)))

    def _may_start(self, k: int, stance: np.ndarray, support: np.ndarray) -> bool:
        """A step may start at ``k``: enabled, none under way or settling, steps left, both feet on the floor
        and the clip standing on both for the whole swing."""
        cfg, n = self.config, self._swing_steps()
        return (cfg.enabled and self.steps_taken < cfg.max_steps and k >= self._free_from
                and (self.step is None or k >= self.step.stop) and k + n < len(stance)
                and bool(support[0] and support[1]) and bool(stance[k:k + n + 1].all()))

    def maybe_step(self, k: int, stance: np.ndarray, support: np.ndarray, capture: np.ndarray,
                   soles: np.ndarray, heels: np.ndarray, omega: float) -> ReactiveStep | None:
        """Starts a step at reference step ``k`` when both feet stand in the clip for the whole swing and on
        the floor now, and the ``capture`` point (2,) lies outside the soles' polygon (``soles``: (2, M, 2)
        per foot, heel box then toe box corners) by more than the margin. ``heels``: (2, 3) heel-box
        positions; ``omega``: the pendulum's sqrt(g / height). Returns the new step."""
        cfg = self.config
        if not self._may_start(k, stance, support):
            return None
        n = self._swing_steps()
        distance, _ = outside_distance(capture, soles.reshape(-1, 2))
        if distance <= cfg.trigger_margin:
            return None
        centres = soles.mean(axis=1)
        # From between the feet (a staggered stance's hull has slanted edges whose normals point askew).
        direction = capture - centres.mean(axis=0)
        direction /= max(float(np.linalg.norm(direction)), 1e-9)
        forward = (soles[:, 4:].mean(axis=1) - soles[:, :4].mean(axis=1)).sum(axis=0)  # heel boxes to toes
        forward /= max(float(np.linalg.norm(forward)), 1e-9)
        across = np.array([forward[1], -forward[0]])
        if (centres[1] - centres[0]) @ across < 0:  # the body's left-right axis, pointing at foot 1
            across = -across
        if abs(float(direction @ across)) > np.cos(np.radians(45.0)):
            foot = int(direction @ across > 0)  # sideways: the foot on that side (no crossing over)
        else:  # forwards or backwards: the trailing foot, the one farther from the capture point
            foot = int(np.argmax(np.linalg.norm(centres - capture, axis=1)))
        self.step = ReactiveStep(foot, k, k + n, heels[foot].copy(), np.zeros(2))
        self._forward = forward
        self._side = across if foot == 1 else -across  # from the standing foot towards the stepping one
        self._half_length = 0.5 * float(np.ptp(soles[foot] @ forward))
        self._width = max(cfg.min_width, float((centres[foot] - centres[1 - foot]) @ self._side))
        self._stance_centre = centres[1 - foot].copy()
        self._stance_sole = soles[1 - foot].copy()
        self._middle = centres.mean(axis=0)
        self._centre = centres[foot].copy()
        self._aim(k, capture, omega)
        self.steps_taken += 1
        self._free_from = k + n + int(round(cfg.settle_s / self.dt))
        return self.step

    def _aim(self, k: int, capture: np.ndarray, omega: float) -> None:
        """Places the stepping foot in the stance's own frame (forward: from heels to toes; across: towards
        the stepping foot). Forward, its sole centre lands ``extra`` past where the capture point will be at
        touch-down, unless the push is sideways (then it keeps its place); across, it keeps the stance's width (at
        least ``min_width``, never crossing) or, when the capture point is out on its side, lands ``extra``
        beyond it. Where it will be: the linear inverted pendulum over the standing sole's edge towards it
        (the ankle moves the pressure centre there), xi(T) = p + (xi - p) exp(omega (T - t)), along the push
        only (Englsberger et al. 2015)."""
        s, cfg = self.step, self.config
        fwd, side = self._forward, self._side
        grow = np.exp(cfg.prediction_gain * omega * max(s.stop - k, 0) * self.dt)  # until touch-down
        xi = float(capture @ fwd)
        ahead = xi - float(self._middle @ fwd)
        edges = self._stance_sole @ fwd
        p = float(edges.max() if ahead > 0 else edges.min())
        beyond = (xi - p) * np.sign(ahead)
        if beyond > 0:  # past the standing sole's edge: it diverges over the rest of the swing
            xi = p + (xi - p) * grow
        if abs(ahead) > self._half_length:
            along = xi + cfg.extra * np.sign(ahead)
        else:
            along = float(self._centre @ fwd)
        stance_across = float(self._stance_centre @ side)
        # Across, the same pendulum over the standing sole's inner edge: in single support the body falls
        # away from the standing foot, towards the stepping one (a step at the old width left the centre of
        # mass outside the new stance's narrow side, and it slid off).
        inner = float((self._stance_sole @ side).max())
        out = float(capture @ side)
        if out > inner:
            out = inner + (out - inner) * grow
        out -= stance_across
        across = stance_across + (out + cfg.extra if out > self._width else self._width)
        centre = along * fwd + across * side
        shift = centre - self._centre
        norm = float(np.linalg.norm(shift))
        s.shift = shift * min(1.0, cfg.max_step / max(norm, 1e-9))

    def swing_target(self, k: int, capture: np.ndarray, omega: float) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity of the stepping foot's heel box now; over the first four fifths of the
        swing the landing spot is re-aimed at the diverging capture point."""
        s, cfg = self.step, self.config
        n = s.stop - s.start
        progress = float(np.clip((k - s.start) / n, 0.0, 1.0))
        if progress < 0.8:
            self._aim(k, capture, omega)
        # Across the floor over the first ``travel`` of the swing (smoothstep: starts and ends at rest), then
        # down: a foot still moving forward when it met the floor stuck short of its spot.
        u = min(progress / cfg.travel, 1.0)
        blend = u * u * (3.0 - 2.0 * u)
        rate = 6.0 * u * (1.0 - u) / (cfg.travel * n * self.dt)
        target = s.origin.copy()
        target[:2] += blend * s.shift
        target[2] += cfg.height * np.sin(np.pi * progress) - cfg.landing_depth * float(np.clip((progress - 0.8) / 0.2, 0, 1))
        velocity = np.zeros(3)
        velocity[:2] = rate * s.shift
        velocity[2] = cfg.height * np.pi * np.cos(np.pi * progress) / (n * self.dt)
        return target, velocity

    def stance_legs(self, wb, d, k: int) -> np.ndarray | None:
        """Once the step has landed (its foot supports), the qpos whose legs stand on the feet where they are,
        the pelvis over the middle of their offsets from the clip's feet (where the controller's anchor goes)
        with the clip's orientation and the height the legs reach; solved once per step, None before."""
        step = self.step
        if step is None or wb.leg_dofs is None or not self.config.stance_legs:
            return None
        if self._legs_for is step or k < step.stop or not wb.support[step.foot]:
            return self._legs
        g = wb.foot_geoms
        heels = d.geom_xpos[g[:2]].copy()
        headings = d.geom_xmat[g[:2]].reshape(2, 3, 3)[:, :2, 0]
        headings /= np.linalg.norm(headings, axis=1, keepdims=True)
        q = wb.ref.qpos[k].copy()
        q[:2] += (heels[:, :2] - wb.ref_heels[k]).mean(axis=0)
        # The pelvis height is solved too: a split stance does not reach the clip's standing height.
        self._legs = legs_for_stance(wb.model, wb.scratch(), wb.qadr, q, np.r_[2, 7 + wb.leg_dofs], g, heels, headings)
        self._legs_for = step
        return self._legs


def legs_for_stance(model, data, qadr: int, q: np.ndarray, leg_cols: np.ndarray, foot_geoms: list[int],
                    heels: np.ndarray, headings: np.ndarray, iterations: int = 30, damping: float = 1e-3) -> np.ndarray:
    """``q`` (a humanoid's qpos, its pelvis where it should stand) with the leg hinges ``leg_cols`` solved so
    that each heel box is at ``heels`` (2, 3), its sole level and its long axis along ``headings`` (2, 2): the
    leg angles of the stance a step of its own left (damped Gauss-Newton, finite differences, joint limits)."""
    import mujoco

    from envs.executor.stance import damped_gauss_newton

    lo = np.full(len(q), -np.inf)
    hi = np.full(len(q), np.inf)
    for j in range(model.njnt):
        col = int(model.jnt_qposadr[j]) - qadr
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE and 0 <= col < len(q):
            lo[col], hi[col] = model.jnt_range[j]

    def residual(x: np.ndarray) -> np.ndarray:
        data.qpos[qadr:qadr + len(x)] = x
        mujoco.mj_kinematics(model, data)
        out = []
        for f in range(2):
            g = foot_geoms[f]
            rot = data.geom_xmat[g].reshape(3, 3)
            across = np.array([-headings[f][1], headings[f][0]])
            out.extend(data.geom_xpos[g] - heels[f])
            out.extend(rot[:2, 2])  # level: the box's z axis vertical
            out.append(float(rot[:2, 0] @ across))  # its x axis along the heading
        return np.array(out)

    return damped_gauss_newton(residual, q, leg_cols, lo[leg_cols], hi[leg_cols], iterations, damping)



@compiled
def _capture_outside(xpos: np.ndarray, xmat: np.ndarray, size: np.ndarray, geoms: np.ndarray, capture: np.ndarray
                     ) -> float:
    """How far ``capture`` lies outside both soles' corners (``geoms``: the four box geoms in feet_sole_corners' order,
    left heel, left toes, right heel, right toes): maybe_step's test in one compiled pass (+inf without area: the
    caller then leaves the test to maybe_step)."""
    return points_outside(capture, np.ascontiguousarray(box_bottom_corners(xpos, xmat, size, geoms)[:, :2]))
