"""Plant the stance feet of a reference: soles flat on the floor where the clip stands on them.

Retargeted mocap stands on tilted, hovering or sunken feet (Bandai dataset-1: stance soles tilted
3-10 degrees, their corners 1-2.6 cm apart in height). Tracked literally, a box foot then stands on
an edge or a corner and the support the balance controller can use shrinks to a line. This
conditions the reference before unassisted tracking, as mocap clean-up does for foot contacts:
per control step, a foot whose lowest sole corner is near the clip's lowest and that barely moves
is in stance; a damped least-squares IK on its two ankle hinges levels its sole and its toe hinges
go to zero (the toe box flat with the foot); then the clip is lowered or raised so its lowest sole
corner touches the floor at every step. Changes fade in and out over ``blend_s`` so stance changes
do not jerk the reference. (Also putting the higher stance sole down by hip and knee IK was tried:
42 vs 45 of 63 standing gestures tracked, so the legs are left as the clip has them.) With ``roll_toes`` a foot
on its toes (heel up at push-off) keeps the clip's pitch and bends its toes instead of being levelled off the floor;
it is off: the shipped controller tracks worse with it (RESULTS.md, "The float at push-off is the stance planter's").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.jit import compiled
from envs.executor.soles import box_bottom_corners, feet_along, sole_corners
from envs.executor.reference import Reference, reference_from_qpos
from envs.humanoid import HumanoidSpec


@dataclass(frozen=True)
class StanceConfig:
    contact_height: float = 0.02  # m above the clip's lowest sole corner that still counts as standing
    max_gap: float = 0.1  # m: with the lowest corner higher than this, nothing stands (a jump)
    max_speed: float = 0.5  # m/s of the foot on the floor plane above which it is swinging, not standing
    blend_s: float = 0.08  # s, Gaussian fade of the correction at stance changes
    ground_smooth_s: float = 0.05  # s, Gaussian on the pelvis height correction
    level_soles: bool = True  # level stance soles and straighten their toes; else only ground the clip
    ik_iterations: int = 4
    ik_damping: float = 1e-3
    floor_window_s: float = 0.0  # s: stance and grounding read against the running median of the lowest corner (0: per frame)
    # A stance foot that levelling would lift more than contact_height off the floor is rolling (heel up, on its toes):
    # its toe hinges then level the toe box and the ankle keeps the clip's pitch (false: every stance sole levelled)
    roll_toes: bool = False


class StancePlanter:
    """Conditions references of one humanoid; ``foot_geoms``: left heel box, right heel box, left toes, right toes."""

    def __init__(self, model, spec: HumanoidSpec, qadr: int, foot_geoms: list[int], body_ids: np.ndarray,
                 config: StanceConfig | None = None) -> None:
        import mujoco

        self.model, self.spec, self.qadr = model, spec, qadr
        self.config = config or StanceConfig()
        self.foot_geoms = foot_geoms
        self.body_ids = body_ids
        self.data = mujoco.MjData(model)
        names, p = spec.joint_names, spec.prefix
        col = {n: 7 + i for i, n in enumerate(names)}
        self.ik_cols = [[col[f"{p}{s}_ankle_x"], col[f"{p}{s}_ankle_z"]] for s in ("l", "r")]
        self.toe_cols = [[col[f"{p}{s}_foot_{a}"] for a in "xyz"] for s in ("l", "r")]
        self.limits = np.full((7 + len(names), 2), [-np.inf, np.inf])
        self.joint_of = np.full(7 + len(names), -1)  # the MuJoCo joint id of each hinge's qpos column
        for n, c in col.items():
            self.joint_of[c] = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n)
            self.limits[c] = model.jnt_range[self.joint_of[c]]

    def _pose(self, q: np.ndarray) -> None:
        import mujoco

        self.data.qpos[self.qadr:self.qadr + len(q)] = q
        mujoco.mj_kinematics(self.model, self.data)

    def stance(self, ref: Reference) -> np.ndarray:
        """(N, 2) stance flags (left, right) of the reference."""
        cfg, g = self.config, self.foot_geoms
        n = ref.num_steps
        if ref.feet is not None:  # read in the reference's own pass
            low, heel = ref.feet.soles[..., 2].min(axis=2), ref.feet.heels[..., :2]
        else:  # a kinematics pass of its own
            heels, soles = feet_along(self.model, self.data, self.qadr, ref.qpos, g, True)
            low, heel = soles[..., 2].min(axis=2), heels[..., :2]
        speed = np.linalg.norm(np.gradient(heel, ref.dt, axis=0), axis=-1) if n > 1 else np.zeros((n, 2))
        lowest = floor_level(low.min(axis=1), ref.dt, cfg.floor_window_s)[:, None]
        return (low < lowest + cfg.contact_height) & (lowest < cfg.max_gap) & (speed < cfg.max_speed)

    def plant(self, ref: Reference) -> tuple[Reference, np.ndarray]:
        """The conditioned reference and its (N, 2) stance flags."""
        from scipy.ndimage import gaussian_filter1d

        cfg, model, g = self.config, self.model, self.foot_geoms
        flags = self.stance(ref)
        qpos = ref.qpos.copy()
        rolling = np.zeros(flags.shape, dtype=bool)
        if cfg.level_soles:
            weight = np.clip(1.5 * gaussian_filter1d(flags.astype(float), max(cfg.blend_s / ref.dt, 1e-6), axis=0,
                                                     mode="nearest"), 0.0, 1.0)
            if cfg.roll_toes:  # a foot on its toes levels its toe box instead (neither foot's pose moves the other's)
                for k, f in zip(*np.nonzero(weight >= 0.01)):
                    if self._rolling(qpos[k], f):
                        rolling[k, f], toes = True, self.toe_cols[f]
                        solved = self._level_toes(qpos[k], f)
                        qpos[k, toes] += weight[k, f] * (solved[toes] - qpos[k, toes])
            self._level_stance_soles(qpos, np.where(rolling, 0.0, weight))
        # Then the lowest sole corner goes onto the floor (the clip was grounded by its lowest frame only).
        # With rolling feet, a frame's flat stance soles decide (a heel box pitched onto its front edge dips through the
        # floor by a centimetre or two at push-off; fast walks push off for half their stance and raised the clip).
        flat = flags & ~rolling if cfg.roll_toes else np.zeros(flags.shape, dtype=bool)
        lowest = np.zeros(len(qpos))
        geoms = np.asarray(g, dtype=np.int64)
        for k in range(len(qpos)):
            self._pose(qpos[k])
            lowest[k] = _lowest_corner(self.data.geom_xpos, self.data.geom_xmat, model.geom_size, geoms, flat[k])
        lowest = floor_level(lowest, ref.dt, cfg.floor_window_s)
        qpos[:, 2] -= gaussian_filter1d(lowest, max(cfg.ground_smooth_s / ref.dt, 1e-6), mode="nearest")
        planted = reference_from_qpos(model, self.data, self.spec, qpos, ref.dt, self.body_ids, g)
        return planted, flags

    def _level_stance_soles(self, qpos: np.ndarray, weight: np.ndarray) -> None:
        """In place: each foot of each frame with ``weight`` (N, 2) >= 0.01 gets its toes straightened and its sole
        levelled by that weight. Both feet of a frame are levelled in the same kinematics passes: neither foot's
        pose depends on the other's joints, so each gets the numbers a pass of its own would give."""
        use = weight >= 0.01
        for f in range(2):
            qpos[np.ix_(use[:, f], self.toe_cols[f])] *= (1.0 - weight[use[:, f], f])[:, None]
        geoms = [self.foot_geoms[f] for f in range(2)]
        for k in np.flatnonzero(use.any(axis=1)):
            feet = [f for f in range(2) if use[k, f]]
            solved = self._level_feet(qpos[k], feet, geoms)
            if solved is None:  # level already: nothing moves (most frames of a standing clip)
                continue
            for f in feet:
                cols = self.ik_cols[f]
                qpos[k, cols] += weight[k, f] * (solved[cols] - qpos[k, cols])

    def _level_feet(self, q: np.ndarray, feet: list[int], geoms: list[int]) -> np.ndarray | None:
        """``q`` with the soles of ``feet`` level by their ankle hinges: ``_level_foot`` for each, sharing each
        iteration's kinematics; None where every sole is level already (within 1e-4) and nothing moved."""
        cfg = self.config
        x, active, moved = q.copy(), list(feet), False
        for _ in range(cfg.ik_iterations):
            if not active:
                break
            self._pose(x)
            still = []
            for f in active:
                cols = self.ik_cols[f]
                e = self._tilt(geoms[f])
                if abs(e[0]) < 1e-4 and abs(e[1]) < 1e-4:  # np.abs(e).max() < 1e-4 (NaN: not level), in fewer calls
                    continue
                jac = self._tilt_jacobian(geoms[f], cols)
                gauss_newton_step(x, e, jac, cols, self.limits[cols, 0], self.limits[cols, 1], cfg.ik_damping)
                still.append(f)
                moved = True
            active = still
        return x if moved else None

    def _lowest_in(self, q: np.ndarray, f: int) -> float:
        """Height of foot ``f``'s lowest sole corner in pose ``q``."""
        self._pose(q)
        return _foot_lowest(self.model, self.data, self.foot_geoms, f)

    def _rolling(self, q: np.ndarray, f: int) -> bool:
        """Whether foot ``f`` stands on its toes in pose ``q``: levelling its sole (toes straight) would lift the sole's
        lowest corner more than ``contact_height``. A heel rising at push-off levelled at the ankle's height floated
        the whole sole 2-5 cm above the floor (dataset-2's fast walks), and the schedule read that as no foot standing."""
        flat = q.copy()
        flat[self.toe_cols[f]] = 0.0
        flat = self._level_foot(flat, f)
        return self._lowest_in(flat, f) > self._lowest_in(q, f) + self.config.contact_height

    def _level_toes(self, q: np.ndarray, f: int) -> np.ndarray:
        """``q`` with foot ``f``'s toe box level, by its toe hinges' pitch and roll (the toes bend, the heel stays up)."""
        toes = self.toe_cols[f]
        return self._level(q, self.foot_geoms[f + 2], [toes[0], toes[2]])

    def _level_foot(self, q: np.ndarray, f: int) -> np.ndarray:
        """``q`` with foot ``f``'s sole level, by its two ankle hinges."""
        return self._level(q, self.foot_geoms[f], self.ik_cols[f])

    def _level(self, q: np.ndarray, geom: int, cols: list[int]) -> np.ndarray:
        """``q`` with box ``geom`` level (its z axis vertical) by the hinges ``cols`` (damped Gauss-Newton)."""

        def residual(x: np.ndarray) -> np.ndarray:
            self._pose(x)
            return self._tilt(geom)

        return damped_gauss_newton(residual, q, cols, self.limits[cols, 0], self.limits[cols, 1],
                                   self.config.ik_iterations, self.config.ik_damping,
                                   lambda _x: self._tilt_jacobian(geom, cols))

    def _tilt(self, geom: int) -> np.ndarray:
        """In the pose set last: box ``geom``'s z axis's horizontal part (zero when it stands level)."""
        return self.data.geom_xmat[geom].reshape(3, 3)[:2, 2].copy()

    def _tilt_jacobian(self, geom: int, cols: list[int]) -> np.ndarray:
        """In the pose set last: d ``_tilt`` / d the hinges ``cols``; turning hinge j moves the box's z axis by
        (axis_j x z) per radian."""
        z, axes = self.data.geom_xmat[geom].reshape(3, 3)[:, 2], self.data.xaxis[self.joint_of[cols]]
        return np.array((axes[:, 1] * z[2] - axes[:, 2] * z[1], axes[:, 2] * z[0] - axes[:, 0] * z[2]))  # (axis x z)[:2]


def stance_sole_heights(model, qadr: int, foot_geoms: list[int], ref: Reference, flags: np.ndarray) -> np.ndarray:
    """(stance steps,) the height above the floor of the lowest sole corner of each foot ``flags`` (N, 2) has standing."""
    import mujoco

    data, out = mujoco.MjData(model), []
    for k, f in zip(*np.nonzero(flags)):
        data.qpos[qadr:qadr + ref.qpos.shape[1]] = ref.qpos[k]
        mujoco.mj_kinematics(model, data)
        out.append(_foot_lowest(model, data, foot_geoms, f))
    return np.array(out)


def _foot_lowest(model, data, foot_geoms: list[int], f: int) -> float:
    """Height of foot ``f``'s lowest sole corner (heel box and toes) in ``data``'s current kinematics."""
    return float(sole_corners(model, data, (foot_geoms[f], foot_geoms[f + 2]))[:, 2].min())


def floor_level(lowest: np.ndarray, dt: float, window_s: float) -> np.ndarray:
    """(N,) the floor the feet are read against, from each frame's lowest sole corner: with ``window_s`` > 0 its
    running median over that window, so a toe box that dips through the floor for a few frames (retargeted
    push-offs: 4 cm for 0.1 s, walk_feminine_002) does not lift the other foot off it."""
    if window_s <= 0 or len(lowest) < 3:
        return lowest
    from scipy.ndimage import median_filter

    size = max(3, int(round(window_s / dt)) | 1)
    return median_filter(lowest, size=size, mode="nearest")


def damped_gauss_newton(residual, q: np.ndarray, cols, lo: np.ndarray, hi: np.ndarray, iterations: int,
                        damping: float, jacobian=None) -> np.ndarray:
    """``q`` with its entries ``cols`` moved to drive ``residual(q)`` to zero (within 1e-4): damped Gauss-Newton,
    each step clipped to [``lo``, ``hi``] (the joints' ranges). ``jacobian(x)``, called right after ``residual(x)``,
    gives d residual / d x[cols]; without it, finite differences."""
    x = q.copy()
    for _ in range(iterations):
        e = residual(x)
        if np.abs(e).max() < 1e-4:
            break
        if jacobian is not None:
            jac = jacobian(x)
        else:
            jac = np.zeros((len(e), len(cols)))
            for i, c in enumerate(cols):
                x2 = x.copy()
                x2[c] += 1e-4
                jac[:, i] = (residual(x2) - e) / 1e-4
        gauss_newton_step(x, e, jac, cols, lo, hi, damping)
    return x


def gauss_newton_step(x: np.ndarray, e: np.ndarray, jac: np.ndarray, cols, lo: np.ndarray, hi: np.ndarray,
                      damping: float) -> None:
    """In place: ``x[cols]`` moved by the damped Gauss-Newton step for residual ``e`` with Jacobian ``jac``, clipped to
    [``lo``, ``hi``]."""
    normal = jac.T @ jac
    normal[np.diag_indices(len(cols))] += damping
    step = np.linalg.solve(normal, -jac.T @ e)
    x[cols] = np.clip(x[cols] + step, lo, hi)


@compiled
def _lowest_corner(xpos: np.ndarray, xmat: np.ndarray, size: np.ndarray, geoms: np.ndarray, flat: np.ndarray) -> float:
    """The lowest sole corner's height: of the feet ``flat`` (2,) flags where any, else of both. ``geoms``: left heel,
    right heel, left toes, right toes."""
    z = box_bottom_corners(xpos, xmat, size, geoms)[:, 2]
    any_flat = flat[0] or flat[1]
    low = np.inf
    for b in range(4):
        if any_flat and not flat[b % 2]:
            continue
        for c in range(4):
            low = min(low, z[4 * b + c])
    return low
