"""Stepping for unassisted tracking: a contact schedule read from the reference, and where a swing foot goes.

The whole-body controller (wholebody.py) holds stance feet still on the floor and, without this module,
moves a swing foot only through the joints' PD: the centre-of-mass task, weighted far above a single
joint, then borrows the swing leg to balance, and on Bandai's walks the swinging foot went backwards
while the reference's went forwards (walk_normal_001: 0.3 m behind the pelvis where the clip has it
0.35 m ahead) and the body lost the clip after 0.5 s. Here:

- **Contact schedule.** Per foot, stance when one of its sole corners (heel box or toe box) is down
  and still, so a foot rolling onto its toes stands (``flat`` says whether its heel is down too: only
  then is its sole held flat, otherwise its contact points are held still and the heel may rise);
  cleaned of blips shorter than ``min_stance_s`` / ``min_swing_s`` (generated motion skates and floats:
  a foot that touches down for one frame did not step). Lift-off and touch-down delimit each swing.
- **Swing target.** A swing foot follows the reference foot expressed relative to the stance foot
  (so a body that has drifted steps from where it stands, not from where the clip stands), with a
  share ``drift_correction`` of that drift removed over the swing (so drift does not accumulate step
  after step), plus the capture-point rule: the landing spot moves by ``capture_gain`` times the
  difference between the body's instantaneous capture point and the reference's, faded in over the
  swing (Pratt et al. 2006; Englsberger et al. 2015: a step placed at the capture point brings the
  linear inverted pendulum to rest; placed offset by the reference's own, it resumes the clip's gait).
  The target sinks ``landing_depth`` below the clip's foot at the end of the swing and a foot still in
  the air when the clip has landed goes straight down: late landings let the body fall onto nothing. After a
  flight of the clip (no foot down while its centre of mass falls: a run, a hop) a late foot comes down as fast as
  the clip's foot came down (``landing_at_clip_speed_flight``), and the target sinks ``landing_depth_flight``.
  Box feet land level (``level_from``).
- **Support follows contact.** A foot the schedule lands but that has not touched the floor yet is no
  support (it keeps descending); a foot the schedule lifts stays support until the other one stands
  flat on heel and toes (``wait_for_landing``): the body never lifts its only supporting foot because
  the clip did, nor hands its weight to a heel edge. Where the clip stands still, a standing foot that
  rocks off the floor stays support (``support_hysteresis``).
- **Lift-offs wait for the body** (lift_timing.py): a foot the clip lifts stays down a moment longer while the body's
  capture point lags the clip's over the other foot.
- **Steps the clip does not take** (push_recovery.py) edit this schedule while the clip stands, and a foot the clip
  turns while it stands is lifted to turn (pivot.py).

Measured (dataset-1, `l2emg sim track --dataset1 --mode none`, RESULTS.md): walking clips tracked to the
end 2.7 % -> 10.7 %, the share of a walk survived 0.17-0.21 -> 0.24-0.60, standing gestures unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.executor.lift_timing import LiftTimingConfig
from envs.executor.pivot import PivotConfig, pivot_steps
from envs.executor.push_recovery import PushRecoveryConfig
from envs.executor.stance import floor_level
from envs.executor.walk_mpc import WalkMpcConfig

GRAVITY = 9.81


@dataclass(frozen=True)
class SteppingConfig:
    enabled: bool = False  # configs/executor.yaml decides
    solve_hz: float = 240.0  # the QP's rate while a foot swings or lands (wholebody.solve_hz while both stand)
    contact_height: float = 0.02  # m above the frame's lowest sole corner (and the floor) a corner counts as down
    # contact_height for motions a generator wrote (their decoded feet may hover a little while they stand), applied by
    # the runtime's executor service (agent/runtime/services.ExecutorService); None: contact_height
    generated_contact_height: float | None = None
    flat_height: float = 0.0  # m: around steps a standing foot is flat while a heel corner is this low (0: contact_height)
    max_gap: float = 0.1  # m: a corner higher than this above the floor is never down (flight)
    max_speed: float = 0.5  # m/s: a down corner moving faster on the floor plane is sliding through, not standing
    min_stance_s: float = 0.08  # s: a stance shorter than this inside a swing is a blip (the foot swings on)
    min_swing_s: float = 0.08  # s: a swing shorter than this inside a stance is a shuffle (the foot stays)
    kp_swing: float = 400.0  # 1/s^2 on the swing foot's position error
    kd_swing: float = 40.0  # 1/s on its velocity error
    weight_swing: float = 100.0  # the clip's swing foot, against the centre of mass (100) and a joint (1)
    weight_swing_off_clip_steps: float = 1000.0  # a foot lifted away from the clip's steps (push recovery's, rocking)
    drift_correction: float = 0.3  # share of the stance foot's offset from the reference removed by a step
    capture_gain: float = 1.0  # landing spot shift per metre of capture-point error
    max_adjust: float = 0.3  # m, largest capture-point shift of a landing spot
    wait_for_landing: bool = True  # keep supporting on a foot the clip lifts until the other foot stands
    landing_speed: float = 0.5  # m/s down, for a foot the clip has landed that has not touched the floor yet
    swing_feedforward: bool = False  # add the clip foot's acceleration to the swing task
    landing_depth: float = 0.0  # m below the clip's foot the swing target sinks over the last fifth of a swing
    # A swing during which the clip is in a flight (no foot down while its centre of mass falls: a run, a hop): a late
    # foot comes down at the clip's own foot's speed at its touch-down (at least landing_speed), and the target sinks
    # landing_depth_flight (None: landing_depth)
    landing_at_clip_speed_flight: bool = False
    landing_depth_flight: float | None = None
    flight_fall: float = 0.3  # share of g the clip's centre of mass must fall at, on average, for no foot down to be a flight
    # A step of such a flight where the clip's centre of mass falls slower than this share of g is not in the air: the
    # foot nearer the floor (within flight_stance_gap of it) stands there (0: off, the schedule as the feet read it)
    flight_min_fall: float = 0.0
    flight_stance_gap: float = 0.05  # m
    landing_follows_clip: bool = False  # a late landing moves on with the clip's foot (else: straight down, kept spot)
    level_from: float = 0.5  # swing progress from which the swing sole is turned level (box feet land flat)
    kp_level: float = 400.0  # 1/s^2 on the swing sole's tilt
    standing_tilt_deg: float = 8.0  # a touching foot tilted more than this is on an edge: the other may not lift
    standing_needs_toes: bool = True  # ... and one touching with its heel box only, or its toes only, too
    support_hysteresis: bool = True  # a rocking foot stays support while the clip stands still on both feet
    quiet_s: float = 0.25  # s on either side the clip must stand on both feet for that
    floor_window_s: float = 0.0  # s: corners are read against the median lowest corner over this window (0: the frame's own)
    dcm_plan: bool = False  # the centre of mass follows a path planned over the schedule's support (dcm_plan.py)
    push_recovery: PushRecoveryConfig = field(default_factory=PushRecoveryConfig)  # steps the clip does not take
    mpc: WalkMpcConfig = field(default_factory=WalkMpcConfig)  # centre of pressure and landings planned online (walk_mpc.py)
    pivot: PivotConfig = field(default_factory=PivotConfig)  # a standing foot the clip turns is lifted to turn (pivot.py)
    lift: LiftTimingConfig = field(default_factory=LiftTimingConfig)  # a lift waits for the body (lift_timing.py)

    def __post_init__(self) -> None:
        if not self.flat_height >= 0:
            raise ValueError(f"stepping.flat_height must be >= 0 m (0: contact_height), got {self.flat_height}")
        if not 0 <= self.flight_min_fall < 1:
            raise ValueError(f"stepping.flight_min_fall must be a share of g in [0, 1), got {self.flight_min_fall}")
        if self.generated_contact_height is not None and not self.generated_contact_height > 0:
            raise ValueError(f"stepping.generated_contact_height must be > 0 m (or null), got {self.generated_contact_height}")


@dataclass
class ContactSchedule:
    stance: np.ndarray  # (N, 2) the foot stands (heel or toes down, still)
    flat: np.ndarray  # (N, 2) ... with its heel down: its sole is held flat on the floor
    corners: np.ndarray  # (N, 2, 8, 3) the sole corners it was read from
    down: np.ndarray  # (N, 2, 8) which corners are down
    pivots: int = 0  # swings inserted where the clip turns a standing foot (pivot.py)

    def support(self) -> list[np.ndarray]:
        """Per step, the (M, 2) floor points of the standing soles' down corners (a standing foot with none
        down, after cleaning: its two lowest); empty in flight."""
        out = []
        z = self.corners[..., 2]
        for k in range(len(z)):
            pts = [self.corners[k, f][self.down[k, f]] if self.down[k, f].any()
                   else self.corners[k, f][np.argsort(z[k, f])[:2]] for f in range(2) if self.stance[k, f]]
            out.append(np.concatenate(pts)[:, :2] if pts else np.zeros((0, 2)))
        return out


def contact_schedule(corners: np.ndarray, dt: float, config: SteppingConfig, *,
                     com_height: np.ndarray | None) -> ContactSchedule:
    """Per step and foot, from the reference's sole corners (N, 2, 8, 3: per foot the heel box's four
    bottom corners, then the toe box's): ``stance`` when some corner is down (within ``contact_height`` of
    the frame's lowest corner and below ``max_gap``) and slower than ``max_speed`` on the floor plane; a
    rolling foot (heel off, toes down) stands. ``flat`` when its heel corners are down as well (around the clip's
    steps: a heel corner within ``flat_height``): only then is the sole held flat on the floor; a rolling foot
    keeps its contact points still instead. With ``com_height`` ((N,) m, the clip's centre of mass) and
    ``flight_min_fall``, flights keep only their steps in the air (``ballistic_flights``); ``None``: the feet alone."""
    z = corners[..., 2]
    lowest = floor_level(z.reshape(len(z), -1).min(axis=1), dt, config.floor_window_s)[:, None, None]
    down = (z < lowest + config.contact_height) & (z < config.max_gap)
    speed = (np.linalg.norm(np.gradient(corners[..., :2], dt, axis=0), axis=-1) if len(corners) > 1
             else np.zeros(z.shape))
    still = down & (speed < config.max_speed)
    stance = clean_schedule(still.any(axis=2), dt, config.min_stance_s, config.min_swing_s)
    if com_height is not None and config.flight_min_fall > 0:
        stance = ballistic_flights(stance, z.min(axis=2) - lowest[:, :, 0], com_height, dt, config)
    heel_down = still[:, :, :4]
    if 0 < config.flat_height < config.contact_height:
        # Around steps (a foot of the clip swings within 0.1 s) a sole is held flat only while a heel corner is within
        # flat_height: held flat up to contact_height, the rear foot could not rise onto its toes and push off
        low = z[:, :, :4] < lowest + config.flat_height
        heel_down = heel_down & (low | ~near_steps(stance, dt)[:, None, None])
    flat = stance & heel_down.any(axis=2)
    pivots = 0
    if config.pivot.enabled:  # a standing foot the clip turns is lifted to turn (pivot.py)
        stance, flat, pivots = pivot_steps(stance, flat, corners, dt, config.pivot)
    return ContactSchedule(stance, flat, corners, down, pivots)


FLIGHT_SMOOTH_S = 0.03  # s: Gaussian on the centre of mass's height before its acceleration is read (20 fps clips)


def ballistic_flights(stance: np.ndarray, height: np.ndarray, com_height: np.ndarray, dt: float,
                      config: SteppingConfig) -> np.ndarray:
    """``stance`` (N, 2) with each flight's steps where the clip's centre of mass falls slower than
    ``flight_min_fall`` g given to the foot nearer the floor, where it is within ``flight_stance_gap`` (``height``:
    (N, 2) each foot's lowest corner above the floor; ``com_height``: (N,) m); cleaned again. A flight is a spell
    with no foot down whose centre of mass falls at ``flight_fall`` g on average (the planner's test), so walks'
    short both-feet-up spells stay as they are. A body in the air falls at g: the clip's centre of mass rising or
    barely falling there means a foot still pushed (a toe pivoting at push-off reads as sliding; a retargeted foot
    hovers a few centimetres), and the schedule read from the feet alone left the body without support for it
    (RESULTS.md, "Flights trimmed to where the clip falls")."""
    from scipy.ndimage import gaussian_filter1d

    if len(stance) < 3:
        return stance
    smooth = gaussian_filter1d(np.asarray(com_height, dtype=float), FLIGHT_SMOOTH_S / dt, mode="nearest")
    fall = -np.gradient(np.gradient(smooth, dt), dt)  # m/s^2 downward
    out = stance.copy()
    for a, b in _runs(~stance.any(axis=1), True):
        if fall[a:b].mean() < config.flight_fall * GRAVITY:
            continue  # not a flight: the feet read up while the body does not fall (a tired walk)
        for k in range(a, b):
            f = int(np.argmin(height[k]))
            if fall[k] < config.flight_min_fall * GRAVITY and height[k, f] < config.flight_stance_gap:
                out[k, f] = True
    return clean_schedule(out, dt, config.min_stance_s, config.min_swing_s)


STEP_MARGIN_S = 0.1  # s before a lift-off and after a landing that count as around a step


def near_steps(stance: np.ndarray, dt: float) -> np.ndarray:
    """(N,) whether a foot swings within ``STEP_MARGIN_S`` of each step of the (N, 2) schedule: around the clip's
    steps (the whole-body QP's fast rate and stepping weights, the flat soles' ``flat_height``)."""
    from scipy.ndimage import maximum_filter1d

    margin = int(round(STEP_MARGIN_S / dt))
    return maximum_filter1d((~stance.all(axis=1)).astype(np.int8), 2 * margin + 1, mode="nearest").astype(bool)


def clean_schedule(raw: np.ndarray, dt: float, min_stance_s: float, min_swing_s: float) -> np.ndarray:
    """(N, 2) stance flags without swings shorter than ``min_swing_s`` and stances shorter than
    ``min_stance_s`` (interior runs only: a clip may start or end mid-phase)."""
    out = np.asarray(raw, dtype=bool).copy()
    for f in range(out.shape[1]):
        for value, shortest in ((False, min_swing_s), (True, min_stance_s)):
            col = out[:, f]
            for start, stop in _runs(col, value):
                if start > 0 and stop < len(col) and (stop - start) * dt < shortest:
                    col[start:stop] = not value
    return out


def _runs(col: np.ndarray, value: bool) -> list[tuple[int, int]]:
    """[start, stop) of every run of ``value`` in a boolean column."""
    padded = np.r_[False, col == value, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


@dataclass
class SwingPhases:
    """Per step and foot, where its current swing began and ends (touch-down step; N if it never lands)."""

    start: np.ndarray  # (N, 2) int, -1 in stance
    stop: np.ndarray  # (N, 2) int

    @classmethod
    def of(cls, stance: np.ndarray) -> "SwingPhases":
        n = len(stance)
        start, stop = np.full((n, 2), -1), np.full((n, 2), -1)
        for f in range(2):
            for a, b in _runs(stance[:, f], False):
                start[a:b, f], stop[a:b, f] = a, b
        return cls(start, stop)

    def progress(self, k: int, f: int) -> float:
        """0 at lift-off, 1 at touch-down."""
        a, b = self.start[k, f], self.stop[k, f]
        return 1.0 if a < 0 else float(min(max((k - a) / max(b - a, 1), 0.0), 1.0))


class StepPlanner:
    """Swing-foot targets and the support the controller may use, step by step along one reference.

    ``feet``: (N, 2, 3) world positions of the reference's heel boxes; ``com``, ``com_vel``: (N, 3) of
    the reference (already offset by any centre-of-mass plan); ``stance``: the cleaned schedule."""

    def __init__(self, config: SteppingConfig, stance: np.ndarray, feet: np.ndarray, com: np.ndarray,
                 com_vel: np.ndarray, dt: float) -> None:
        self.config, self.stance, self.feet, self.dt = config, stance, feet, dt
        self.com, self.com_vel = com, com_vel
        self.phases = SwingPhases.of(stance)
        self.foot_vel = np.gradient(feet, dt, axis=0) if len(feet) > 1 else np.zeros_like(feet)
        self.com_acc_z = np.gradient(com_vel[:, 2], dt) if len(com) > 1 else np.zeros(len(com))
        self._flight_swings()
        self.foot_acc = np.gradient(self.foot_vel, dt, axis=0) if len(feet) > 1 else np.zeros_like(feet)
        self.omega = np.sqrt(GRAVITY / np.maximum(com[:, 2], 0.3))
        self.offset = np.zeros((2, 2))  # per foot, its xy offset from the reference where it last stood
        self.last_target = feet[0].copy()  # per foot, the last swing target (a late landing continues from it)
        self.aimed_at = np.zeros(2, dtype=int)  # per foot, the reference step that target was set at
        self.last_support = stance[0].copy()  # per foot, whether it supported at the last control step
        self.planned_shift: dict[int, np.ndarray] = {}  # foot -> (2,) its next landing's shift from the clip's, by the walking MPC
        # Where the clip stands on both feet from quiet_s before to quiet_s after: not a walk's double support.
        from scipy.ndimage import minimum_filter1d

        m = int(round(config.quiet_s / dt))
        both = stance.all(axis=1).astype(np.int8)
        self.quiet = (minimum_filter1d(both, 2 * m + 1, mode="nearest").astype(bool) if config.support_hysteresis
                      else np.zeros(len(stance), dtype=bool))

    def schedule_changed(self) -> None:
        """The stance flags were edited in place (a step of push recovery): the swing phases follow."""
        self.phases = SwingPhases.of(self.stance)
        self._flight_swings()

    def _flight_swings(self) -> None:
        """Per step and foot, whether the foot's swing there holds a flight of the clip: no foot down while its
        centre of mass falls (mean vertical acceleration below -flight_fall g; a tired walk's feet can both read
        up for 0.15-0.27 s while it does not fall)."""
        flight = np.zeros(len(self.stance), dtype=bool)
        for a, b in _runs(~self.stance.any(axis=1), True):
            flight[a:b] = self.com_acc_z[a:b].mean() < -self.config.flight_fall * GRAVITY
        self.in_flight_swing = np.zeros(self.stance.shape, dtype=bool)
        self.touchdown_speed = np.zeros(self.stance.shape)  # m/s down, the clip's foot over its swing's last 3 steps
        for f in range(2):
            for a, b in _runs(self.stance[:, f], False):
                self.in_flight_swing[a:b, f] = flight[a:b].any()
                self.touchdown_speed[a:b, f] = max(0.0, -float(self.foot_vel[max(a, b - 3):b, f, 2].mean()))

    def _landing(self, k: int, f: int) -> tuple[float, float]:
        """(speed, depth) of the landing of foot ``f``'s swing at step ``k``."""
        cfg = self.config
        if not self.in_flight_swing[k, f]:
            return cfg.landing_speed, cfg.landing_depth
        speed = max(cfg.landing_speed, self.touchdown_speed[k, f]) if cfg.landing_at_clip_speed_flight else cfg.landing_speed
        return speed, cfg.landing_depth if cfg.landing_depth_flight is None else cfg.landing_depth_flight

    def support(self, k: int, in_contact: np.ndarray, tilt_deg: np.ndarray | None,
                heel_and_toes: np.ndarray | None) -> np.ndarray:
        """(2,) feet the controller may push on now: scheduled stance and touching the floor, or (with
        ``wait_for_landing``) scheduled to lift while the other foot does not stand yet (touching, its sole
        within ``standing_tilt_deg`` of level: a foot on its heel edge cannot carry the body alone).
        ``tilt_deg`` and ``heel_and_toes`` are read only where ``reads_standing(k)`` (may be None elsewhere)."""
        planned = self.stance[k]
        # Where the clip stands still on both feet (``quiet``), a foot that supported at the last control step
        # keeps supporting when it rocks off the floor for a moment (hysteresis). Without it such a foot was
        # treated as a late landing, sent straight down at landing_speed, and threw the body over (a still
        # pose pushed sideways by 30 N s). Held in a walk's double support as well, walks fell (dataset-1
        # walking 10.7 % -> 8.0 %; for every stance foot 1.3 %); with the quiet window walking is unchanged
        # and standing gestures gain (RESULTS.md).
        held = self.last_support & (self.quiet[k] and planned.all())
        out = planned & (in_contact | held)
        if self.reads_standing(k):
            standing = out & (tilt_deg <= self.config.standing_tilt_deg)
            if self.config.standing_needs_toes:
                standing &= heel_and_toes
            for f in range(2):
                if not planned[f] and in_contact[f] and not standing[1 - f]:
                    out[f] = True
        self.last_support = out.copy()
        return out

    def keep_support(self, feet: np.ndarray) -> np.ndarray:
        """``feet`` (2,) kept as support at this control step beyond what ``support`` read (a lift waiting for the body,
        lift_timing.py): remembered as supporting, as ``support``'s own are. Returns ``feet``."""
        self.last_support |= feet
        return feet

    def reads_standing(self, k: int) -> bool:
        """Whether ``support`` at step ``k`` reads how the feet stand (tilt, heel and toes): only where
        ``wait_for_landing`` may keep a foot the schedule lifts (with both feet planned to stand it keeps none)."""
        return bool(self.config.wait_for_landing and not (self.stance[k, 0] and self.stance[k, 1]))

    def level_weight(self, k: int, f: int) -> float:
        """0..1: how much the swing sole of foot ``f`` is turned level now (ramps up after ``level_from``)."""
        if self.stance[k, f]:
            return 1.0
        s, a = self.phases.progress(k, f), self.config.level_from
        return float(min(max((s - a) / max(1.0 - a, 1e-6), 0.0), 1.0))

    def note_stance(self, f: int, position: np.ndarray, k: int) -> None:
        """Remember where a supporting foot stands against the reference's same foot."""
        self.offset[f] = position[:2] - self.feet[k, f, :2]

    def swing_target(self, k: int, f: int, com: np.ndarray, com_vel: np.ndarray, anchor: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity a swinging foot ``f`` should have now. ``com``, ``com_vel``: the body's;
        ``anchor``: the xy shift of the balance targets (where the reference is followed from)."""
        cfg = self.config
        if self.stance[k, f]:  # landed in the clip, not yet on the floor here: down at its landing's speed (_landing)
            speed = self._landing(self.aimed_at[f], f)[0]
            target = self.last_target[f].copy()
            target[2] = min(target[2], self.feet[k, f, 2])
            if cfg.landing_follows_clip:
                # ... moving on as the clip's heel box has since the last aim, at its horizontal velocity. Kept at the
                # spot with no horizontal velocity, a late foot stopped in the air: in a backward step (toes first,
                # the heel box rolling back by up to a foot's length) it landed 6-13 cm short, and in forward walks it
                # braked at each late landing. Dataset-2's 571 walks 292 -> 342 walked to the end (RESULTS.md). A foot
                # that left the floor while the clip stands on it goes back to where the clip's foot is now, plus the
                # offset it was last aimed with.
                target[:2] += self.feet[k, f, :2] - self.feet[self.aimed_at[f], f, :2]
                return target, np.array([*self.foot_vel[k, f, :2], -speed])
            return target, np.array([0.0, 0.0, -speed])
        s = self.phases.progress(k, f)
        if f in self.planned_shift:  # the walking MPC's landing: from where this foot lifted off, to its shift
            target = self.feet[k, f].copy()
            target[:2] += (1.0 - s) * self.offset[f] + s * self.planned_shift[f]
            target[2] -= self.landing_sink(s, self._landing(k, f)[1])
            self.aimed(k, f, target)
            return target, self.foot_vel[k, f]
        o = 1 - f
        # From where the other foot stands against the clip, less the share of that drift a step removes.
        shift = (1.0 - cfg.drift_correction * s) * self.offset[o]
        w = self.omega[k]
        error = (com[:2] + com_vel[:2] / w) - (self.com[k, :2] + anchor[:2] + self.com_vel[k, :2] / w)
        norm = float(np.linalg.norm(error))
        if norm > cfg.max_adjust:
            error *= cfg.max_adjust / norm
        target = self.feet[k, f].copy()
        target[:2] += shift + cfg.capture_gain * s * error
        target[2] -= self.landing_sink(s, self._landing(k, f)[1])
        self.aimed(k, f, target)
        return target, self.foot_vel[k, f]

    @staticmethod
    def landing_sink(s: float, depth: float) -> float:
        """m the swing target sinks below the clip's foot at swing progress ``s`` (``depth`` over the last fifth)."""
        return depth * min(max((s - 0.8) / 0.2, 0.0), 1.0)

    def aimed(self, k: int, f: int, target: np.ndarray) -> None:
        """A swinging foot ``f`` was sent to ``target`` at step ``k`` (a late landing continues from there)."""
        self.last_target[f], self.aimed_at[f] = target, k

    def swing_acceleration(self, k: int, f: int) -> np.ndarray:
        """The clip's foot acceleration (feed-forward of the swing task; zero once the clip has landed it)."""
        return np.zeros(3) if self.stance[k, f] else self.foot_acc[k, f]
