"""Gymnasium environment ``L2EMG/Interaction-v0``: the agent humanoid facing a partner humanoid.

The partner replays a given Motion kinematically (it does not collide); the agent is simulated.
Observation: agent proprioception (root height, orientation, velocities, hinge angles and velocities)
and the partner's joint positions over the last ``partner_history`` control steps, relative to the
agent's pelvis in the agent's heading frame. Action: PD targets for the agent's 63 hinges (radians).
``step_motion(motion)`` executes a whole Motion on the agent with the tracking executor.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.executor import ExecutionResult, TrackingExecutor, load_executor_config
from envs.executor.reference import joint_angles
from envs.humanoid import build_model, load_humanoid_config, quat_to_mujoco, to_mujoco
from envs.motion.motion import Motion
from envs.quaternion import qmul
from envs.skeleton import FOOT_CLEARANCE, JOINT_INDEX, JOINT_NAMES, SMPL22, ground_offset

AGENT, PARTNER = "agent_", "partner_"


class InteractionEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, partner_motion: Motion | None = None, partner_distance: float = 2.0,
                 partner_history: int = 10, max_steps: int = 600, render_mode: str | None = None) -> None:
        import mujoco

        self.humanoid = load_humanoid_config()
        self.model, specs = build_model(self.humanoid, [(AGENT, (0.0, 0.0, 1.0), "0.85 0.6 0.45 1"),
                                                        (PARTNER, (partner_distance, 0.0, 1.0), "0.45 0.6 0.85 1")])
        _disable_collisions(self.model, PARTNER)
        self.executor = TrackingExecutor(load_executor_config(), self.humanoid, self.model, specs, prefix=AGENT)
        self.data = self.executor.data
        self.partner_spec = next(s for s in specs if s.prefix == PARTNER)
        self.partner_distance = partner_distance
        self.history = partner_history
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._renderer = None
        ex = self.executor
        partner_root = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, f"{PARTNER}root")
        self.partner_qadr = int(self.model.jnt_qposadr[partner_root])
        self.partner_dadr = int(self.model.jnt_dofadr[partner_root])
        self.partner_bodies = np.array([mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, f"{PARTNER}{n}") for n in JOINT_NAMES])
        self.partner_qpos: np.ndarray | None = None
        self.set_partner_motion(partner_motion)
        n_hinge = len(ex.spec.joint_names)
        hinge_range = self.model.jnt_range[self._hinge_ids()].astype(np.float32)
        self.action_space = gym.spaces.Box(hinge_range[:, 0], hinge_range[:, 1], dtype=np.float32)
        obs_dim = 1 + 4 + 6 + 2 * n_hinge + partner_history * len(JOINT_NAMES) * 3
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), dtype=np.float32)
        self._steps = 0
        self._partner_hist: list[np.ndarray] = []

    def _hinge_ids(self) -> np.ndarray:
        import mujoco

        return np.array([mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in self.executor.spec.joint_names])

    def set_partner_motion(self, motion: Motion | None) -> None:
        """The Motion the partner plays (looped), facing the agent; ``None`` keeps it standing."""
        if motion is None:
            rot = np.zeros((2, len(JOINT_NAMES), 4))
            rot[..., 0] = 1.0
            motion = Motion.from_rotations(rot, np.zeros((2, 3)))
        m = motion.resample(self.executor.config.control_hz)
        pos = m.positions + np.array([0.0, ground_offset(m.positions), 0.0])
        root = to_mujoco(pos[:, 0])
        # Face the agent: turn the partner's motion by 180 degrees about the vertical and place it.
        root[:, :2] = -(root[:, :2] - root[:1, :2]) + np.array([self.partner_distance, 0.0])
        turn = np.array([0.0, 0.0, 0.0, 1.0])  # 180 deg about z, w-first
        quat = qmul(np.broadcast_to(turn, (m.num_frames, 4)), quat_to_mujoco(m.rotations[:, 0]))
        angles = joint_angles(m).reshape(m.num_frames, -1)[:, self.partner_spec.angle_columns()]
        self.partner_qpos = np.concatenate([root, quat, angles], axis=1)

    def _place_partner(self, data, step: int) -> None:
        q = self.partner_qpos[step % len(self.partner_qpos)]
        data.qpos[self.partner_qadr:self.partner_qadr + len(q)] = q
        data.qvel[self.partner_dadr:self.partner_dadr + len(q) - 1] = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        import mujoco

        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        ex = self.executor
        rest = np.zeros(7 + len(ex.spec.joint_names))
        rest[3] = 1.0
        # Standing in the rest pose with the feet flat on the floor.
        rest[2] = -SMPL22.rest_positions()[JOINT_INDEX["l_ankle"], 1] + FOOT_CLEARANCE[JOINT_INDEX["l_ankle"]]
        if seed is not None or options:
            noise = self.np_random.normal(0.0, 0.01, size=len(ex.spec.joint_names))
            rest[7:] += noise
        self.data.qpos[ex.qadr:ex.qadr + len(rest)] = rest
        self._steps = 0
        self._place_partner(self.data, 0)
        mujoco.mj_forward(self.model, self.data)
        self._partner_hist = [self._partner_positions()] * self.history
        return self._obs(), {}

    def _partner_positions(self) -> np.ndarray:
        return self.data.xpos[self.partner_bodies].copy()

    def _obs(self) -> np.ndarray:
        ex, d = self.executor, self.data
        qpos = d.qpos[ex.qadr:ex.qadr + ex.nq_h]
        qvel = d.qvel[ex.dadr:ex.dadr + ex.nv_h]
        root, quat = qpos[:3], qpos[3:7]
        w, x, y, z = quat
        yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        c, s = np.cos(-yaw), np.sin(-yaw)
        rel = np.stack(self._partner_hist) - root
        rel = np.stack([c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1], rel[..., 2]], -1)
        obs = np.concatenate([[root[2]], quat, qvel[:6], qpos[7:], qvel[6:], rel.ravel()])
        return obs.astype(np.float32)

    def step(self, action):
        import mujoco

        ex, d = self.executor, self.data
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_space.low, self.action_space.high)
        d.ctrl[ex.act] = action
        self._place_partner(d, self._steps)
        mujoco.mj_step(self.model, d, nstep=ex.substeps)
        self._steps += 1
        self._partner_hist = self._partner_hist[1:] + [self._partner_positions()]
        obs = self._obs()
        head_z = d.xpos[ex.body_ids[JOINT_NAMES.index("head")], 2]
        unstable = not np.all(np.isfinite(obs))
        terminated = bool(head_z < 0.5 or unstable)
        truncated = self._steps >= self.max_steps
        reward = float(1.0 - terminated)  # alive bonus; task rewards belong to the agent layer
        if unstable:
            obs = np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)
        return obs, reward, terminated, truncated, {"head_height": float(head_z), "unstable": unstable}

    def step_motion(self, motion: Motion, mode: str | None = None) -> ExecutionResult:
        """Execute a whole Motion on the agent while the partner keeps playing."""
        ex = self.executor
        start = self._steps
        ex.hooks = [lambda data, k: self._place_partner(data, start + k)]
        try:
            result = ex.execute(motion, mode=mode)
        finally:
            ex.hooks = []
        self._steps = start + int(round(result.simulated_s * ex.config.control_hz))
        return result

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


def _disable_collisions(model, prefix: str) -> None:
    """The partner is a kinematic puppet: none of its geoms collide with anything."""
    import mujoco

    for g in range(model.ngeom):
        body = model.geom_bodyid[g]
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or ""
        if name.startswith(prefix):
            model.geom_contype[g] = 0
            model.geom_conaffinity[g] = 0


def register() -> None:
    from envs.registration import register_envs

    register_envs()


register()
