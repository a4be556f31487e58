"""Online walking MPC: the centre of pressure and the next footsteps chosen from the body's own state.

Each control step, per horizontal axis of the clip's heading, a small QP over the linear inverted pendulum
(Kajita et al. 2003) picks a piecewise-constant centre of pressure (ZMP) over the next ``horizon_s`` and a shift
of each landing in that horizon (Herdt et al. 2010, "Online walking motion generation with automatic footstep
placement"): the centre of mass follows the clip's (position and velocity), the ZMP stays on the soles that stand
at each moment of the clip's contact schedule (the soles standing now where they really are and touch the floor;
the ones that land later where the clip lands them, moved by their shift), and shifts cost. The whole-body QP then
asks for the pendulum's acceleration ``omega^2 (c - z_0)`` of the centre of mass instead of a PD towards the
clip's, and the swing foot lands where the plan moved it. Where the horizon holds a moment on no foot (a run's
flight, a skip) the plan runs up to the take-off if at least ``min_horizon_s`` is left before it (the landing after
it is not planned), and otherwise is not made: the controller keeps its usual targets. With ``plan_still: false``
(shipped) neither is it made while no foot lifts or lands within the horizon (``still``: a standing gesture).

Axes are the clip's heading at the current step (a turn within the horizon is ignored). The ZMP's bounds
(``support``): with ``hull`` the convex hull of the soles standing at that moment, one QP over both axes; with
``box`` (as first shipped) per axis the box around them, two QPs. A sole turned against the heading fills its box
only partly, and two soles side by side and one ahead of the other fill theirs less: planned in a box's corner the
ZMP lay off the soles, where no contact force acts, in a third of single-support plans of dataset-1's lost walks
(RESULTS.md, "The ZMP within the soles' hull"). A moment on two soles is bounded at their nominal spots (a landing's
shift counts where it stands alone).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.hull import hull_with_area, inner_halfplanes
from envs.executor.pendulum import pendulum_response
from envs.executor.qp import FREE as _FREE, scaled_daqp


@dataclass(frozen=True)
class WalkMpcConfig:
    enabled: bool = False
    horizon_s: float = 1.0
    step_s: float = 0.05  # the ZMP's piecewise-constant interval
    weight_position: float = 10.0  # 1/m^2 on the centre of mass against the clip's
    weight_velocity: float = 1.0  # (s/m)^2
    weight_zmp: float = 0.1  # 1/m^2 on the ZMP against the middle of its support
    weight_shift: float = 1.0  # 1/m^2 on a landing's shift
    max_shift: float = 0.3  # m per axis
    margin: float = 0.02  # m inside the soles' box
    max_landings: int = 2
    max_gap_s: float = 0.1  # s without a standing sole in the schedule that is bridged, not a flight
    # A flight in the horizon (longer than max_gap_s): plan up to its take-off when at least this long remains,
    # else (and always when 0) no plan while the flight is in the horizon
    min_horizon_s: float = 0.0
    # m: a standing foot bounds the ZMP by its sole corners within this of its lowest corner, where it touches (0: by
    # all eight corners). A rear foot rolling onto its toes touches with its front edge; bounded by the whole sole, the
    # plan could put the ZMP under a heel in the air, where no contact force can act
    touching_height: float = 0.0
    # The controller plans once per reference step (60 Hz) and keeps that plan's centre of pressure and landings for
    # the step's physics steps, asking each of them for omega^2 (c - z) with its own centre of mass (false: a new plan
    # at every physics step the QP runs, 240 Hz around steps). The whole-body QP stays at its rate
    once_per_reference_step: bool = False
    # The ZMP's bounds at each horizon step: "box", per axis of the clip's heading the box around the soles (two small
    # QPs), or "hull", the convex hull of those soles' corners (one QP over both axes). A sole turned against the
    # heading (toes out, a turning pelvis) fills its box only partly: a plan at the box's corner is a centre of
    # pressure no contact force can give
    support: str = "box"
    # The controller plans also while no foot lifts or lands within the horizon (``still``: the feet standing now
    # stand throughout, the others stay up). False: no plan there, the whole-body QP's own centre-of-mass targets
    plan_still: bool = True

    def __post_init__(self) -> None:
        if self.support not in ("box", "hull"):
            raise ValueError(f"stepping.mpc.support must be 'box' or 'hull', got {self.support!r}")
        if not self.min_horizon_s >= 0:
            raise ValueError(f"stepping.mpc.min_horizon_s must be >= 0 s (0: no plan across a flight), got {self.min_horizon_s}")
        if not self.touching_height >= 0:
            raise ValueError(f"stepping.mpc.touching_height must be >= 0 m (0: the whole sole), got {self.touching_height}")


@dataclass
class MpcPlan:
    zmp: np.ndarray  # (2,) world xy of the centre of pressure now
    shift: dict[int, np.ndarray]  # foot -> (2,) world xy shift of its next landing


class WalkMpc:
    """Plans along one prepared reference. ``stance``: (N, 2) schedule; ``corners``: (N, 2, 8, 3) the clip's sole
    corners; ``com``, ``com_vel``: (N, 3) the clip's; ``omega``: (N,); ``forward``: (N, 2) unit heading."""

    def __init__(self, config: WalkMpcConfig, stance: np.ndarray, corners: np.ndarray, com: np.ndarray,
                 com_vel: np.ndarray, omega: np.ndarray, forward: np.ndarray, dt: float) -> None:
        self.config, self.stance, self.corners, self.dt = config, stance, corners[..., :2], dt
        self.com, self.com_vel, self.omega, self.forward = com[:, :2], com_vel[:, :2], omega, forward
        self.n = max(2, int(round(config.horizon_s / config.step_s)))
        self.stride = max(1, int(round(config.step_s / dt)))
        self._last: tuple | None = None  # (key, layout) of the last reference step planned (_layout)
        self._footprints: dict[tuple[int, int], np.ndarray] = {}  # (landing step, foot) -> its footprint's hull
        # (its landings' (step, foot)) -> the world polygon of soles the clip lands (_polygon): the same for every plan
        self._landed: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._run_end = _run_ends(stance)  # per step the first later step whose flags differ (``still``)

    def schedule_changed(self) -> None:
        """The stance flags were edited in place (a step of push recovery): what was planned from them is dropped."""
        self._last = None
        self._footprints.clear()
        self._landed.clear()
        self._run_end = _run_ends(self.stance)

    def _next(self, k: int, f: int, value: bool) -> int:
        """The first reference step >= k where foot f's stance flag is ``value`` (N if never)."""
        col = self.stance[k:, f] == value
        return k + int(np.argmax(col)) if col.any() else len(self.stance)

    def plan(self, k: int, com: np.ndarray, com_vel: np.ndarray, support: np.ndarray,
             sole_now: list[np.ndarray | None]) -> MpcPlan | None:
        """``com``, ``com_vel``: the body's (3,); ``support``: (2,) the feet it stands on now; ``sole_now``: per
        foot the (8, 3) corners of its sole now (used for a standing foot). None where no plan is made."""
        layout = self._layout(k, support)
        if layout is None:
            return None
        sole_now = [None if s is None else self.touching(s) for s in sole_now]
        if self.config.support == "hull":
            found = self._coupled(layout, com, com_vel, sole_now)
            if found is None:
                return None
            zmp, shifts = found
        else:
            zmp, shifts = np.zeros(2), np.zeros((layout.m, 2))
            for axis in layout.axes:
                x = self._axis(axis, layout, com, com_vel, sole_now)
                if x is None:
                    return None
                zmp += x[0] * axis.e
                shifts += np.outer(x[layout.n:], axis.e)
        shift: dict[int, np.ndarray] = {}
        for i in range(layout.m):
            shift.setdefault(layout.landings[i][1], shifts[i])  # a foot's next landing
        return MpcPlan(zmp=zmp, shift=shift)

    def still(self, k: int, support: np.ndarray) -> bool:
        """Whether no foot lifts or lands within the horizon from reference step ``k``: the clip's schedule keeps
        every foot of ``support`` down and every other foot up to the horizon's end."""
        # every row of the window stance[k:end + 1] equals ``support``: row k does, and no row changes before end + 1
        end = min(k + self.n * self.stride, len(self.stance) - 1)
        return bool(support[0] == self.stance[k, 0] and support[1] == self.stance[k, 1] and self._run_end[k] > end)

    def touching(self, sole: np.ndarray) -> np.ndarray:
        """The corners of a standing sole (8, 3) that bound the ZMP: within ``touching_height`` of its lowest (all at 0)."""
        height = self.config.touching_height
        return sole[sole[:, 2] < sole[:, 2].min() + height] if height > 0 else sole

    def _layout(self, k: int, support: np.ndarray) -> "_Layout | None":
        """What the QPs at reference step ``k`` share whatever the body's state: the horizon's supports, the
        pendulum, and per axis the Hessian, constraint rows and the bounds of soles yet to land. The controller
        asks at every physics step, several per reference step, so the last one is kept until the step, the
        feet standing or the schedule (``schedule_changed``) change."""
        key = (k, bool(support[0]), bool(support[1]))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        layout = self._make_layout(k, support)
        self._last = (key, layout)
        return layout

    def _make_layout(self, k: int, support: np.ndarray) -> "_Layout | None":
        found = self._supports(k, support)
        if found is None:
            return None
        steps, landings, sources = found
        cfg, n = self.config, len(sources)
        m = min(len(landings), cfg.max_landings)  # the first landings get a shift; later ones stand put
        powers, gain, tracking = pendulum_response(float(self.omega[k]), cfg.step_s, n, cfg.weight_position,
                                                   cfg.weight_velocity)
        # per horizon step: the feet standing now among its soles, whether it has any, and the one landed sole
        # whose shift moves its bounds. On two soles none moves them: two soles' box is wider than their hull where
        # one stands beside and ahead of the other, so a landing moved outwards would buy support that is not there
        # (moving the front edge with a foot landing ahead: dev walks 2.68 -> 2.38 s)
        now_feet = np.array([[("now", f) in here for f in range(2)] for here in sources])
        has_edges = np.array([bool(here) for here in sources])
        single = np.full(n, -1)
        for j, here in enumerate(sources):
            if len(here) == 1 and here[0][0] == "land" and here[0][1] < m:
                single[j] = here[0][1]
        # The Hessian and the constraint rows are the same along both axes; the clip's soles and centre of mass not.
        nv, edged = n + m, np.flatnonzero(has_edges)
        hess = np.zeros((nv, nv))
        hess[:n, :n] += tracking
        hess[edged, edged] += cfg.weight_zmp
        hess[n:, n:] += cfg.weight_shift * np.eye(m)
        box = cfg.support == "box"  # the hull's rows are built per plan (_coupled): the box's are the same every plan
        rows = None
        if box:  # per horizon step two rows, z >= lo and z <= hi; on one landed sole, z - its shift
            rows = np.zeros((2 * n, nv))
            rows[np.arange(n), np.arange(n)] = rows[n + np.arange(n), np.arange(n)] = 1.0
            for j in np.flatnonzero(single >= 0):
                rows[j, n + single[j]] = rows[n + j, n + single[j]] = -1.0
        e_f = self.forward[k]
        axes = []
        for e in (e_f, np.array((-e_f[1], e_f[0]))):
            land_lo = land_hi = None
            if box:
                along = self.corners[steps[:-1]] @ e  # (n, 2, 8): the clip's soles along e at every horizon step
                ahead_lo, ahead_hi = along.min(axis=2), along.max(axis=2)
                land_lo, land_hi = np.full(n, np.inf), np.full(n, -np.inf)
                for j, here in enumerate(sources):
                    for kind, idx in here:
                        if kind == "land":
                            f = landings[idx][1]
                            land_lo[j], land_hi[j] = min(land_lo[j], ahead_lo[j, f]), max(land_hi[j], ahead_hi[j, f])
            axes.append(_Axis(e=e, c_ref=self.com[steps[1:]] @ e, v_ref=self.com_vel[steps[1:]] @ e, hess=hess,
                              rows=rows, land_lo=land_lo, land_hi=land_hi))
        return _Layout(n=n, landings=landings, m=m, powers=powers, gain=gain, now_feet=now_feet,
                       has_edges=has_edges, axes=axes, sources=sources, single=single)

    def _supports(self, k: int, support: np.ndarray):
        """The horizon's reference steps, the landings in it (landing step, foot, lift step after it) and per
        horizon step the soles standing: ("now", foot) where it stands now, ("land", index into the landings)."""
        cfg, last = self.config, len(self.stance) - 1
        steps = [min(k + j * self.stride, last) for j in range(self.n + 1)]
        keep = [self._next(k, f, False) if support[f] else -1 for f in range(2)]  # standing where it is until
        landings: list[tuple[int, int, int]] = []
        for f in range(2):
            land = self._next(keep[f] if support[f] else k, f, True)
            while land <= steps[-1]:
                lift = self._next(land, f, False)
                landings.append((land, f, lift))
                land = self._next(lift, f, True)
        landings = sorted(landings)
        sources = []
        for j, r in enumerate(steps[:-1]):
            here = []
            for f in range(2):
                if support[f] and (j == 0 or r < keep[f]):
                    here.append(("now", f))
                elif j > 0:
                    here += [("land", i) for i, (land, g, lift) in enumerate(landings) if g == f and land <= r < lift]
            sources.append(here)
        if not sources[0]:
            return None  # nothing stands now: no centre of pressure to choose
        # A gap in the schedule up to ``max_gap_s`` (a mocap toe-off ending a frame before the landing) is
        # bridged by the soles on either side of it; a longer one is a flight: no pendulum plan.
        gap = max(1, int(round(cfg.max_gap_s / cfg.step_s)))
        j = 0
        while j < len(sources):
            if sources[j]:
                j += 1
                continue
            end = j
            while end < len(sources) and not sources[end]:
                end += 1
            if end - j > gap:
                # a flight: the pendulum is planned up to its take-off if enough of the horizon is left before it
                if cfg.min_horizon_s <= 0 or j < max(2, int(round(cfg.min_horizon_s / cfg.step_s))):
                    return None
                steps, sources = steps[:j + 1], sources[:j]
                landings = [landing for landing in landings if landing[0] <= steps[-1]]  # sorted: a prefix
                break
            bridge = sources[j - 1] + (sources[end] if end < len(sources) else [])
            for i in range(j, end):
                sources[i] = bridge
            j = end
        return steps, landings, sources

    def _tracking_gradient(self, axis: "_Axis", layout: "_Layout", com: np.ndarray, com_vel: np.ndarray) -> np.ndarray:
        """The gradient of the centre of mass's tracking cost along ``axis.e`` in [z_0 .. z_n-1, shift_0 .. ]."""
        cfg, n, e = self.config, layout.n, axis.e
        x0 = np.array((com[:2] @ e, com_vel[:2] @ e))
        free = layout.powers @ x0  # (n, 2): the states without a ZMP
        gp, gv = layout.gain[:, 0, :], layout.gain[:, 1, :]
        grad = np.zeros(n + layout.m)
        grad[:n] += cfg.weight_position * gp.T @ (free[:, 0] - axis.c_ref) + cfg.weight_velocity * gv.T @ (free[:, 1] - axis.v_ref)
        return grad

    def _coupled(self, layout: "_Layout", com: np.ndarray, com_vel: np.ndarray,
                 sole_now: list) -> tuple[np.ndarray, np.ndarray] | None:
        """``support: hull``: one QP over both axes, [z_e, shift_e, z_l, shift_l], each horizon step's ZMP within the
        convex hull of its soles' corners (a landed sole's moved by its shift); the (2,) ZMP now and the (m, 2)
        shifts in the world, or None if DAQP fails. A sole the clip lands is its footprint over that stance."""
        cfg, n, m = self.config, layout.n, layout.m
        nv = n + m
        frame = np.stack([axis.e for axis in layout.axes])  # (2, 2): world -> (along, across)
        hess = np.zeros((2 * nv, 2 * nv))
        grad = np.zeros(2 * nv)
        for a, axis in enumerate(layout.axes):
            hess[a * nv:(a + 1) * nv, a * nv:(a + 1) * nv] = axis.hess
            grad[a * nv:(a + 1) * nv] = self._tracking_gradient(axis, layout, com, com_vel)
        polygons: dict[tuple, tuple] = {}  # soles -> (outward normals, offsets inside by the margin, centre)
        blocks = []  # (horizon step, its polygon)
        for i, here in enumerate(layout.sources[:n]):
            if not here:
                continue
            key = tuple(here)
            if key not in polygons:
                if any(kind == "now" for kind, _ in here):
                    normals, offset, centre = self._polygon([sole_now[idx][:, :2] if kind == "now"
                                                             else self._footprint(*layout.landings[idx][:2])
                                                             for kind, idx in here])
                else:  # only soles the clip lands: their polygon is the same in every plan that sees them
                    landed = tuple(layout.landings[idx][:2] for _, idx in here)
                    if landed not in self._landed:
                        self._landed[landed] = self._polygon([self._footprint(*ids) for ids in landed])
                    normals, offset, centre = self._landed[landed]
                polygons[key] = (normals @ frame.T, offset, frame @ centre)  # in the plan's (along, across) frame
            blocks.append((i, polygons[key]))
        # The rows at once (a Python loop over the blocks cost as much as the solve): per polygon edge the normal on its
        # horizon step's ZMP, and on a step on one landed sole minus it on that sole's shift (z - shift inside)
        at = np.array([i for i, _ in blocks])
        normals = np.concatenate([poly[0] for _, poly in blocks])
        inside = np.concatenate([poly[1] for _, poly in blocks])
        step = np.repeat(at, [len(poly[0]) for _, poly in blocks])
        count, edge = len(step), np.arange(len(step))
        rows = np.zeros((count, 2 * nv))
        rows[edge, step], rows[edge, nv + step] = normals[:, 0], normals[:, 1]
        single = layout.single[step]
        moved = single >= 0
        rows[edge[moved], n + single[moved]] = -normals[moved, 0]
        rows[edge[moved], nv + n + single[moved]] = -normals[moved, 1]
        centres = np.array([poly[2] for _, poly in blocks])
        grad[at] -= cfg.weight_zmp * centres[:, 0]
        grad[nv + at] -= cfg.weight_zmp * centres[:, 1]
        limit = np.concatenate((np.full(n, _FREE), np.full(m, cfg.max_shift)))
        x = scaled_daqp(hess, grad, rows, np.concatenate((limit, limit, inside)),
                        np.concatenate((-limit, -limit, np.full(count, -_FREE))))
        if x is None:
            return None
        zmp = frame.T @ np.array((x[0], x[nv]))
        shifts = np.stack((x[n:nv], x[nv + n:]), axis=1) @ frame
        return zmp, shifts

    def _polygon(self, points: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The world polygon around the soles' corners ``points``: outward normals, offsets inside by the margin, centre."""
        return inner_halfplanes(hull_with_area(np.concatenate(points)), self.config.margin)

    def _footprint(self, land: int, foot: int) -> np.ndarray:
        """World xy hull of the clip's sole corners of ``foot`` over its stance from ``land`` (kept per landing)."""
        key = (land, foot)
        if key not in self._footprints:
            lift = self._next(land, foot, False)
            self._footprints[key] = hull_with_area(self.corners[land:max(lift, land + 1), foot].reshape(-1, 2))
        return self._footprints[key]

    def _axis(self, axis: "_Axis", layout: "_Layout", com: np.ndarray, com_vel: np.ndarray,
              sole_now: list) -> np.ndarray | None:
        """The QP along unit axis ``axis.e``: [z_0 .. z_n-1, shift_0 .. shift_m-1], or None if DAQP fails."""
        cfg, n, m, e = self.config, layout.n, layout.m, axis.e
        grad = self._tracking_gradient(axis, layout, com, com_vel)
        # each horizon step's bounds: the box around its soles, the standing ones where they are now
        low, high = axis.land_lo.copy(), axis.land_hi.copy()
        for f, sole in enumerate(sole_now):
            if sole is not None and layout.now_feet[:, f].any():
                x = sole[:, :2] @ e
                on = layout.now_feet[:, f]
                low[on], high[on] = np.minimum(low[on], x.min()), np.maximum(high[on], x.max())
        on = layout.has_edges
        lo, hi = np.full(2 * n, -_FREE), np.full(2 * n, _FREE)
        lo[:n][on], hi[n:][on] = low[on] + cfg.margin, high[on] - cfg.margin
        narrow = on & (lo[:n] > hi[n:])  # a sole narrower than twice the margin: its middle
        lo[:n][narrow] = hi[n:][narrow] = 0.5 * (low[narrow] + high[narrow])
        grad[:n][on] -= cfg.weight_zmp * 0.5 * (lo[:n][on] + hi[n:][on])
        upper = np.concatenate((np.full(n, _FREE), np.full(m, cfg.max_shift), hi))
        lower = np.concatenate((np.full(n, -_FREE), np.full(m, -cfg.max_shift), lo))
        return scaled_daqp(axis.hess, grad, axis.rows, upper, lower)


@dataclass
class _Axis:
    """One axis's QP at one reference step, before the body's state: its unit vector, the clip's centre of mass
    along it over the horizon, the Hessian, the constraint rows and the bounds of the soles yet to land (per
    horizon step, inf / -inf where none)."""
    e: np.ndarray
    c_ref: np.ndarray
    v_ref: np.ndarray
    hess: np.ndarray
    rows: np.ndarray | None  # None with support: hull (its rows are built per plan)
    land_lo: np.ndarray | None
    land_hi: np.ndarray | None


@dataclass
class _Layout:
    """What the MPC's QPs share at one reference step (WalkMpc._layout)."""
    n: int  # ZMP intervals planned (fewer than the horizon's before a flight)
    landings: list
    m: int
    powers: np.ndarray  # (n, 2, 2) A^1 .. A^n
    gain: np.ndarray
    now_feet: np.ndarray  # (n, 2) the feet standing now that bound each horizon step
    has_edges: np.ndarray  # (n,)
    axes: list
    sources: list  # per horizon step the soles standing (_supports)
    single: np.ndarray  # (n,) the landing whose shift moves a step's bounds (-1: none)


def _run_ends(stance: np.ndarray) -> np.ndarray:
    """(N,) per step k of the (N, 2) schedule the first step after k whose flags differ from step k's (N if none)."""
    changes = np.flatnonzero((stance[1:] != stance[:-1]).any(axis=1)) + 1
    at = np.searchsorted(changes, np.arange(len(stance)), side="right")
    return np.append(changes, len(stance))[at]
