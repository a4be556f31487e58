"""Gymnasium environment ``L2EMG/Track-v0``: imitate a reference motion with a learned controller.

The door to a PHC-style learned tracker (Luo et al. 2023) trained on a GPU, beside the whole-body
controller of mode ``none``. Nothing but the floor holds the body up.

- Reset: a clip from the supplied Motions (default: procedural clips from ``envs/synth``, so it runs
  without data), a random start step, and the body placed in the reference state there (reference state
  initialisation, Peng et al. 2018, DeepMimic).
- Observation (float32): body state, all in the heading frame (yaw of the root removed): root height,
  root orientation (6-D: two columns of its rotation matrix), root linear and angular velocity, hinge
  angles and velocities; then for each of ``future_steps`` ahead: the reference joint positions relative
  to the body's root, the reference hinge angles minus the body's, the reference root height and its
  orientation (6-D). One step is one control step of the executor (``control_hz``).
- Action (63 hinges, in [-1, 1]): ``targets`` PD set-points spread over each joint's range; ``offsets``
  set-points as the next reference angles plus ``offset_range`` radians times the action; ``torques``
  the actuators turned into motors, the action times each joint's torque limit.
- Reward: DeepMimic's imitation terms, each ``weight * exp(-scale * error)``: pose (hinge angles),
  velocity (hinge velocities), end effectors (wrists and feet relative to the root, heading frame),
  centre of mass (world); weights and scales in ``configs/track_env.yaml``.
- Episode end: ``terminated`` on a fall or a lost track (the executor's rules, ``configs/executor.yaml``
  ``failure``) or a blow-up; ``truncated`` at the end of the reference (and by the registered
  ``max_episode_steps``). ``info["reason"]`` says which.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import gymnasium as gym
import numpy as np

from envs.config import config_dir, load_config
from envs.executor import load_executor_config
from envs.executor.config import FailureConfig
from envs.executor.reference import Reference, build_reference
from envs.executor.sanity import check_motion
from envs.humanoid import build_model, load_humanoid_config
from envs.motion.motion import Motion
from envs.skeleton import JOINT_INDEX, JOINT_NAMES, ground_offset

ENV_ID = "L2EMG/Track-v0"
MAX_EPISODE_STEPS = 600  # 10 s at the executor's 60 Hz control rate: longer clips are cut into episodes
ActionMode = Literal["targets", "offsets", "torques"]
_END_EFFECTORS = [JOINT_INDEX[j] for j in ("l_wrist", "r_wrist", "l_foot", "r_foot")]
_HEAD = JOINT_INDEX["head"]


@dataclass(frozen=True)
class RewardTerm:
    weight: float
    scale: float


@dataclass(frozen=True)
class TrackRewards:
    """DeepMimic's terms and values (Peng et al. 2018): 0.65 pose, 0.1 velocity, 0.15 end effectors, 0.1 centre of mass."""

    pose: RewardTerm = field(default_factory=lambda: RewardTerm(0.65, 2.0))  # sum of squared hinge angle errors (rad^2)
    velocity: RewardTerm = field(default_factory=lambda: RewardTerm(0.1, 0.1))  # sum of squared hinge velocity errors
    end_effector: RewardTerm = field(default_factory=lambda: RewardTerm(0.15, 40.0))  # sum of squared position errors (m^2)
    com: RewardTerm = field(default_factory=lambda: RewardTerm(0.1, 10.0))  # squared centre-of-mass error (m^2)


@dataclass(frozen=True)
class TrackEnvConfig:
    future_steps: list[int] = field(default_factory=lambda: [1, 5, 10])
    action: ActionMode = "targets"
    offset_range: float = 0.5  # rad, the action's reach around the reference in mode offsets
    min_episode_steps: int = 10  # a reset starts at least this many steps before the reference ends
    rewards: TrackRewards = field(default_factory=TrackRewards)
    clips: list[str] = field(default_factory=lambda: ["daily_life/walk/neutral/0", "daily_life/wave/happy/0"])

    def __post_init__(self) -> None:
        if not self.future_steps or min(self.future_steps) < 1:
            raise ValueError(f"future_steps must be a non-empty list of positive steps, got {self.future_steps}")
        if self.min_episode_steps < 1 or self.offset_range <= 0:
            raise ValueError("min_episode_steps must be >= 1 and offset_range positive")


def load_track_config(path: str | Path | None = None) -> TrackEnvConfig:
    return load_config(path or config_dir() / "track_env.yaml", TrackEnvConfig)


def synth_clips(keys: Sequence[str]) -> list[Motion]:
    """Procedural clips named ``scenario/family/emotion[/variation]``."""
    from envs.synth import SynthSource

    src = SynthSource()
    out = []
    for key in keys:
        parts = key.split("/")
        if len(parts) not in (3, 4):
            raise ValueError(f"clip {key!r}: expected scenario/family/emotion[/variation]")
        out.append(src.generate(*parts[:3], int(parts[3]) if len(parts) == 4 else 0).motion)
    return out


class TrackEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, motions: Sequence[Motion] | None = None, action: ActionMode | None = None,
                 config: TrackEnvConfig | None = None, render_mode: str | None = None) -> None:
        """``motions``: the clips to imitate (default: the config's procedural clips); ``action``:
        targets | offsets | torques (default: the config's)."""
        import mujoco

        self.config = config or load_track_config()
        self.action_mode: ActionMode = action or self.config.action
        if self.action_mode not in ("targets", "offsets", "torques"):
            raise ValueError(f"action must be targets, offsets or torques, got {self.action_mode!r}")
        executor = load_executor_config()
        self.failure: FailureConfig = executor.failure
        self.model, specs = build_model(load_humanoid_config())
        self.body_spec = specs[0]
        self.data = mujoco.MjData(self.model)
        m = self.model
        root = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, f"{self.body_spec.prefix}root")
        self.qadr, self.dadr = int(m.jnt_qposadr[root]), int(m.jnt_dofadr[root])
        self.n_hinge = len(self.body_spec.joint_names)
        self.body_ids = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, f"{self.body_spec.prefix}{n}") for n in JOINT_NAMES])
        self.pelvis = int(self.body_ids[0])
        self.act = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, n) for n in self.body_spec.actuator_names])
        hinges = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n) for n in self.body_spec.joint_names]
        self.lo, self.hi = m.jnt_range[hinges].T.copy()
        self.tau = m.actuator_forcerange[self.act, 1].copy()
        if self.action_mode == "torques":
            # Position actuators (kp (ctrl - q) - kv qd) become motors: force = ctrl, within the torque limit.
            m.actuator_gainprm[self.act, 0] = 1.0
            m.actuator_biasprm[self.act, :3] = 0.0
            m.actuator_ctrlrange[self.act] = m.actuator_forcerange[self.act]
        self.substeps = max(1, int(round(1.0 / (executor.control_hz * m.opt.timestep))))
        self.dt = self.substeps * m.opt.timestep
        self.refs, self.clip_names, self.refused = self._references(motions)
        self.future = np.asarray(self.config.future_steps)
        obs_dim = 1 + 6 + 6 + 2 * self.n_hinge + len(self.future) * (3 * len(JOINT_NAMES) + self.n_hinge + 1 + 6)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (self.n_hinge,), dtype=np.float32)
        self.render_mode = render_mode
        self._renderer = None
        self._clip, self._k = 0, 0
        r = self.config.rewards
        self._terms = [(name, getattr(r, name).weight, getattr(r, name).scale) for name in ("pose", "velocity", "end_effector", "com")]

    def _references(self, motions: Sequence[Motion] | None) -> tuple[list[Reference], list[str], dict[str, str]]:
        """Control-rate references of the clips, grounded like the executor's; clips the executor's sanity
        checks refuse are left out (with a warning)."""
        import mujoco

        named = (list(zip(self.config.clips, synth_clips(self.config.clips))) if motions is None
                 else [(f"clip{i}", mo) for i, mo in enumerate(motions)])
        refs, names, refused = [], [], {}
        scratch = mujoco.MjData(self.model)
        for name, motion in named:
            problem = check_motion(motion)
            if problem is not None:
                refused[name] = f"{problem.reason}: {problem.detail}"
                continue
            grounded = Motion(motion.positions + np.array([0.0, ground_offset(motion.positions), 0.0]), motion.rotations, motion.fps)
            ref = build_reference(self.model, scratch, self.body_spec, grounded, 1.0 / self.dt, self.body_ids)
            if ref.num_steps < 2:
                refused[name] = "shorter than two control steps"
                continue
            refs.append(ref)
            names.append(name)
        if refused:
            warnings.warn(f"{ENV_ID}: clips left out: {refused}", stacklevel=3)
        if not refs:
            raise ValueError(f"{ENV_ID}: no usable clip (refused: {refused})")
        return refs, names, refused

    # -- episode ---------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """``options``: ``clip`` (index) and ``start`` (control step) to choose instead of drawing them."""
        import mujoco

        super().reset(seed=seed)
        options = options or {}
        self._clip = int(options["clip"]) if "clip" in options else int(self.np_random.integers(len(self.refs)))
        ref = self.refs[self._clip]
        last = max(0, ref.num_steps - 1 - self.config.min_episode_steps)
        self._k = int(options["start"]) if "start" in options else int(self.np_random.integers(last + 1))
        self._k = min(max(self._k, 0), ref.num_steps - 2)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self.qadr:self.qadr + ref.qpos.shape[1]] = ref.qpos[self._k]
        self.data.qvel[self.dadr:self.dadr + ref.qvel.shape[1]] = ref.qvel[self._k]
        mujoco.mj_forward(self.model, self.data)
        return self._obs(), {"clip": self.clip_names[self._clip], "step": self._k}

    def step(self, action):
        import mujoco

        ref, d = self.refs[self._clip], self.data
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        d.ctrl[self.act] = self._control(a, ref)
        try:
            mujoco.mj_step(self.model, d, nstep=self.substeps)
        except mujoco.FatalError:  # kept from reaching the learner's loop: a blow-up ends the episode
            d.qpos[:] = np.nan
        self._k += 1
        k = self._k
        qpos = d.qpos[self.qadr:self.qadr + 7 + self.n_hinge]
        qvel = d.qvel[self.dadr:self.dadr + 6 + self.n_hinge]
        unstable = not (np.isfinite(qpos).all() and np.isfinite(qvel).all()) or any(
            d.warning[int(w)].number > 0 for w in (mujoco.mjtWarning.mjWARN_BADQACC, mujoco.mjtWarning.mjWARN_BADQVEL))
        if unstable:
            obs = np.zeros(self.observation_space.shape, dtype=np.float32)
            return obs, 0.0, True, False, {"clip": self.clip_names[self._clip], "step": k, "reason": "unstable", "terms": {}}
        pos = d.xpos[self.body_ids]
        terms = self._reward_terms(ref, k, qpos, qvel, pos)
        reward = float(sum(w * terms[name] for name, w, _ in self._terms))
        reason = self._failure(ref, k, pos)
        terminated = reason is not None
        truncated = not terminated and k >= ref.num_steps - 1
        if truncated:
            reason = "end_of_reference"
        return self._obs(), reward, terminated, truncated, {"clip": self.clip_names[self._clip], "step": k,
                                                            "reason": reason or "ok", "terms": terms}

    def _control(self, a: np.ndarray, ref: Reference) -> np.ndarray:
        if self.action_mode == "torques":
            return a * self.tau
        if self.action_mode == "offsets":
            nxt = ref.qpos[min(self._k + 1, ref.num_steps - 1), 7:]
            return np.clip(nxt + self.config.offset_range * a, self.lo, self.hi)
        return self.lo + (a + 1.0) * 0.5 * (self.hi - self.lo)

    def _failure(self, ref: Reference, k: int, pos: np.ndarray) -> str | None:
        """The executor's rules (tracker.py): a fall (pelvis below a share of the reference's, or the head
        low while the reference's is up) or a mean joint deviation past the limit."""
        f = self.failure
        ref_pos = ref.positions[k]
        if pos[0, 2] < f.fall_pelvis_ratio * ref_pos[0, 2] or (pos[_HEAD, 2] < f.fall_head_height and ref_pos[_HEAD, 2] > 0.9):
            return "fell"
        if np.linalg.norm(pos - ref_pos, axis=-1).mean() > f.max_mean_deviation:
            return "tracking_lost"
        return None

    # -- reward and observation ------------------------------------------------------------------
    def _reward_terms(self, ref: Reference, k: int, qpos: np.ndarray, qvel: np.ndarray, pos: np.ndarray) -> dict[str, float]:
        err_pose = float(np.sum((ref.qpos[k, 7:] - qpos[7:]) ** 2))
        err_vel = float(np.sum((ref.qvel[k, 6:] - qvel[6:]) ** 2))
        sim_ee = _heading_frame(qpos[3:7], pos[_END_EFFECTORS] - pos[0])
        ref_ee = _heading_frame(ref.qpos[k, 3:7], ref.positions[k, _END_EFFECTORS] - ref.positions[k, 0])
        err_ee = float(np.sum((sim_ee - ref_ee) ** 2))
        com = self.data.subtree_com[self.pelvis]
        err_com = float(np.sum((ref.com[k] - com) ** 2)) if ref.com is not None else 0.0
        errors = {"pose": err_pose, "velocity": err_vel, "end_effector": err_ee, "com": err_com}
        return {name: float(np.exp(-scale * errors[name])) for name, _, scale in self._terms}

    def _obs(self) -> np.ndarray:
        d, ref = self.data, self.refs[self._clip]
        qpos = d.qpos[self.qadr:self.qadr + 7 + self.n_hinge]
        qvel = d.qvel[self.dadr:self.dadr + 6 + self.n_hinge]
        root, quat = qpos[:3], qpos[3:7]
        yaw = _yaw(quat)
        rot = _matrix(quat)
        body = [[root[2]], _six_d(_rotz(-yaw) @ rot), _rotz(-yaw) @ qvel[:3], _rotz(-yaw) @ (rot @ qvel[3:6]), qpos[7:], qvel[6:]]
        steps = np.minimum(self._k + self.future, ref.num_steps - 1)
        turn = _rotz(-yaw)
        parts = []
        for k in steps:
            parts += [((ref.positions[k] - root) @ turn.T).ravel(), ref.qpos[k, 7:] - qpos[7:], [ref.qpos[k, 2]],
                      _six_d(turn @ _matrix(ref.qpos[k, 3:7]))]
        return np.concatenate(body + parts).astype(np.float32)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from envs.sim_render import make_renderer

        if self._renderer is None:
            self._renderer = make_renderer(self.model, 240, 320)
        self._renderer.update_scene(self.data, camera="side")
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def _yaw(q: np.ndarray) -> float:
    w, x, y, z = q
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def _rotz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _six_d(r: np.ndarray) -> np.ndarray:
    """The first two columns of a rotation matrix: a continuous orientation code (Zhou et al. 2019)."""
    return r[:, :2].T.ravel()


def _heading_frame(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """World vectors (..., 3) in the heading frame of root orientation ``q`` (yaw removed)."""
    return v @ _rotz(-_yaw(q)).T


def register() -> None:
    from envs.registration import register_envs

    register_envs()


register()
