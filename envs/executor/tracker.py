"""TrackingExecutor: PD tracking of a reference Motion with inverse-dynamics feed-forward in MuJoCo.

Root assistance: ``none`` is fully physical; ``residual`` welds the pelvis softly to the reference
root (a spring-damper evaluated by MuJoCo at every physics step, like the residual forces of RFC) and
reports the force and torque it had to supply; ``full`` replays the reference root kinematically.

The PD law and the feed-forward run inside MuJoCo's position actuators: the target sent to each
actuator is ``q_ref + (tau_ff + kd * qd_ref) / kp``, so the actuator's ``kp (ctrl - q) - kd qd``
equals ``kp (q_ref - q) + kd (qd_ref - qd) + tau_ff``, clamped at the joint's torque limit. Python
only refreshes targets at the control rate, which keeps the executor close to bare ``mj_step``.
"""
from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np

from envs.executor.assistance import needed_assistance
from envs.executor.balance import AnkleBalance
from envs.executor.com_plan import ComPlan, plan_com
from envs.executor.config import ExecutorConfig, FailureConfig, Mode, load_executor_config
from envs.executor.feasibility import Feasibility, reference_feasibility
from envs.executor.lookahead import Lookahead
from envs.executor.metrics import clip_metrics
from envs.executor.reference import Reference, build_reference, validate_motion
from envs.executor.sanity import SanityProblem, check_motion
from envs.executor.soles import feet_sole_corners
from envs.executor.stance import StancePlanter
from envs.executor.start import capturable_scale, standing_start
from envs.executor.step_checks import read_step
from envs.executor.wholebody import WholeBodyController
from envs.executor.result import ExecutionResult
from envs.humanoid import HumanoidConfig, HumanoidSpec, build_model, from_mujoco, load_humanoid_config
from envs.motion.motion import Motion
from envs.skeleton import JOINT_INDEX, JOINT_NAMES, ground_offset


class TrackingExecutor:
    """Tracks Motions on one humanoid of a MuJoCo scene; never raises on a simulation blow-up."""

    def __init__(self, config: ExecutorConfig | None = None, humanoid: HumanoidConfig | None = None,
                 model=None, specs: list[HumanoidSpec] | None = None, prefix: str = "") -> None:
        import mujoco

        self.config = config or load_executor_config()
        self.humanoid = humanoid or load_humanoid_config()
        if model is None:
            model, specs = build_model(self.humanoid)
        self.model = model
        self.spec = next(s for s in specs if s.prefix == prefix)
        self.data = mujoco.MjData(model)
        mj = mujoco
        root_id = mj.mj_name2id(model, mj.mjtObj.mjOBJ_JOINT, f"{prefix}root")
        self.qadr = int(model.jnt_qposadr[root_id])
        self.dadr = int(model.jnt_dofadr[root_id])
        self.nq_h = 7 + len(self.spec.joint_names)
        self.nv_h = 6 + len(self.spec.joint_names)
        act_ids = [mj.mj_name2id(model, mj.mjtObj.mjOBJ_ACTUATOR, n) for n in self.spec.actuator_names]
        self.act = np.array(act_ids)
        self.kp = model.actuator_gainprm[self.act, 0].copy()
        self.kv = -model.actuator_biasprm[self.act, 2].copy()
        self.ctrl_lo, self.ctrl_hi = model.actuator_ctrlrange[self.act].T
        self.body_ids = np.array([mj.mj_name2id(model, mj.mjtObj.mjOBJ_BODY, f"{prefix}{n}") for n in JOINT_NAMES])
        self.pelvis = int(self.body_ids[0])
        self.mocap = int(model.body_mocapid[mj.mj_name2id(model, mj.mjtObj.mjOBJ_BODY, f"{prefix}root_target")])
        self.eq_id = mj.mj_name2id(model, mj.mjtObj.mjOBJ_EQUALITY, f"{prefix}root_assist")
        self._eq_type = int(mj.mjtConstraint.mjCNSTR_EQUALITY)
        legs = {"l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_foot", "r_foot"}
        self.upper_body = np.array([JOINT_NAMES[j] not in legs for j, _ in self.spec.hinge_index], dtype=float)
        self.substeps = max(1, int(round(1.0 / (self.config.control_hz * model.opt.timestep))))
        self.solve_every = max(1, int(round(1.0 / (self.config.wholebody.solve_hz * model.opt.timestep))))  # physics steps per QP
        self.solve_every_stepping = max(1, int(round(1.0 / (self.config.stepping.solve_hz * model.opt.timestep))))
        self.balance = AnkleBalance(self.spec, self.config.balance)
        self.hooks: list = []  # callables(data, step) run before each control step (e.g. a partner playback)
        self.control_log: list | None = None  # set to [] to record the controls of every physics step (sim bench)
        self.foot_geoms = [mj.mj_name2id(model, mj.mjtObj.mjOBJ_GEOM, f"{prefix}{n}")
                           for n in ("l_ankle_foot", "r_ankle_foot", "l_foot_toes", "r_foot_toes")]
        self.wholebody = WholeBodyController(model, self.qadr, self.dadr, self.nv_h, self.kp, self.kv,
                                             self.pelvis, self.foot_geoms, self.config.wholebody,
                                             self.config.stepping, model.actuator_forcerange[self.act, 1].copy(),
                                             leg_dofs=self.upper_body == 0,
                                             hinge_names=[n[len(prefix):] for n in self.spec.joint_names],
                                             ctrl_range=(self.ctrl_lo, self.ctrl_hi))
        # the actuators' entries of ctrl as a slice where contiguous (indexing by a slice is cheaper per physics step)
        self._act_index = slice(int(self.act[0]), int(self.act[-1]) + 1) if np.all(np.diff(self.act) == 1) else self.act
        self.lookahead = Lookahead(self.config.lookahead, model, self.config.control_hz)
        self._planter: StancePlanter | None = None
        self._scratch = None

    def reference(self, motion: Motion) -> Reference:
        """The control-rate reference; the clip is first shifted so its lowest foot rests on the floor."""
        motion = Motion(motion.positions + np.array([0.0, ground_offset(motion.positions), 0.0]), motion.rotations, motion.fps)
        return build_reference(self.model, self.data, self.spec, motion,
                               1.0 / (self.substeps * self.model.opt.timestep), self.body_ids, self.foot_geoms)

    def feasibility(self, ref: Reference) -> Feasibility:
        """Where the reference's zero-moment point lies against the soles it stands on (see feasibility.py)."""
        return reference_feasibility(self.model, self._scratch_data(), self.qadr, ref, self.foot_geoms,
                                     self.config.contact_height, self.config.feasibility.stride,
                                     self.config.feasibility.smooth_s)

    def planted(self, ref: Reference) -> tuple[Reference, np.ndarray]:
        """``ref`` with its stance soles flat on the floor, and the (N, 2) stance flags (see stance.py)."""
        if self._planter is None:
            self._planter = StancePlanter(self.model, self.spec, self.qadr, self.foot_geoms, self.body_ids,
                                          self.config.stance)
        return self._planter.plant(ref)

    def com_plan(self, ref: Reference, stance: np.ndarray) -> ComPlan:
        """The centre-of-mass offset that keeps ``ref``'s ZMP on its stance soles (see com_plan.py)."""
        return plan_com(self.model, self._scratch_data(), self.qadr, ref, stance, self.foot_geoms, self.config.com_plan)

    def _scratch_data(self):
        """A spare MjData for kinematics passes over a reference (never the running one)."""
        import mujoco

        if self._scratch is None:
            self._scratch = mujoco.MjData(self.model)
        return self._scratch

    def reset_to(self, ref: Reference, step: int = 0) -> None:
        import mujoco

        self.data.qpos[self.qadr:self.qadr + self.nq_h] = ref.qpos[step]
        self.data.qvel[self.dadr:self.dadr + self.nv_h] = ref.qvel[step]
        self.data.mocap_pos[self.mocap] = ref.qpos[step, :3]
        self.data.mocap_quat[self.mocap] = ref.qpos[step, 3:7]
        mujoco.mj_forward(self.model, self.data)

    def _capturable_start(self) -> float:
        """Mode none, after ``reset_to``: the body's velocity scaled down where the clip starts standing and the
        velocity would carry the centre of mass to the soles' edge (start.py); the factor (1: as the reference)."""
        import mujoco

        cfg, d = self.config.start, self.data
        if not cfg.capturable or not standing_start(self.wholebody.stance, self.wholebody.ref.dt, cfg.standing_s):
            return 1.0
        soles = feet_sole_corners(self.model, d, self.foot_geoms)[:, :, :2].reshape(-1, 2)
        jac = np.zeros((3, self.model.nv))
        mujoco.mj_jacSubtreeCom(self.model, d, jac, self.pelvis)
        scale = capturable_scale(d.subtree_com[self.pelvis], jac @ d.qvel, soles, cfg.margin)
        if scale < 1.0:
            d.qvel[self.dadr:self.dadr + self.nv_h] *= scale
            mujoco.mj_forward(self.model, d)
        return scale

    def targets(self, ref: Reference) -> np.ndarray:
        """Actuator targets (N, 63) folding PD reference velocity and feed-forward into the set-point."""
        hinge = slice(6, self.nv_h)
        # Feed-forward for the upper body only: free-floating inverse dynamics gives the legs the torques
        # of hanging limbs, not those of a stance leg; the legs track by PD (distributing the support
        # force over the stance feet by J^T f was tried and tracked worse on Bandai dataset-1).
        ff = ref.qfrc[:, hinge] * self.upper_body
        ctrl = ref.qpos[:, 7:] + (ff + self.kv * ref.qvel[:, hinge]) / self.kp
        return np.clip(ctrl, self.ctrl_lo, self.ctrl_hi)

    def execute(self, motion: Motion, mode: Mode | None = None, reset: bool = True,
                ref: Reference | None = None) -> ExecutionResult:
        """Track ``motion``; a malformed Motion raises ValueError; a reference no body could follow (sanity.py)
        is a failed result before any simulation; a blow-up returns reason ``unstable``; in mode ``residual``
        a motion needing more help than the floor's beyond the calibrated limit fails with reason
        ``implausible_assistance`` (assistance.py). ``ref``: ``self.reference(motion)`` when the caller has
        built it already."""
        validate_motion(motion)
        mode = mode or self.config.mode
        if mode not in ("none", "residual", "full"):
            raise ValueError(f"mode must be none, residual or full, got {mode!r}")
        t0 = time.perf_counter()
        # The whole-body controller's solves are tiny: BLAS threads cost more than they give (a 4.6 s
        # clip took 7.2 s with two threads, 4.5 s with one).
        with _blas_controller().limit(limits=1):
            problem = check_motion(motion, self.config.sanity) if self.config.sanity.enabled else None
            if problem is None:
                ref = ref if ref is not None else self.reference(motion)
                if self.config.sanity.enabled and not all(np.isfinite(a).all() for a in (ref.qpos, ref.qvel, ref.qfrc)):
                    # e.g. a zero-norm rotation slipped past the Motion's checks: NaN in the joint angles
                    problem = SanityProblem("nan_reference", "the reference's joint angles or inverse dynamics are not finite")
            if problem is not None:
                return ExecutionResult.failed(problem.reason, mode, (motion.num_frames - 1) / motion.fps, problem.detail,
                                              problem.at_s, time.perf_counter() - t0, motion.fps)
            result = self._execute(motion, mode, reset, ref)
            if mode == "residual":
                result = self._judge_assistance(ref, result)
        # From the call on (reference and checks included), as when _execute built the reference itself.
        return dataclasses.replace(result, wall_s=time.perf_counter() - t0)

    def _judge_assistance(self, ref: Reference, result: ExecutionResult) -> ExecutionResult:
        """Residual mode: the assistance ``ref`` needs beyond the floor, into the metrics, and the judgement."""
        cfg = self.config.plausibility
        need = needed_assistance(self.model, self._scratch_data(), self.qadr, ref, self.foot_geoms, cfg)
        metrics = dataclasses.replace(result.metrics, **{f"needed_{k}": v for k, v in need.stats(cfg).items()})
        result = dataclasses.replace(result, metrics=metrics)
        why = need.implausible(cfg) if cfg.enabled else None
        if why is not None and result.success:  # a simulated failure (fell, unstable) keeps its own reason
            result = dataclasses.replace(result, success=False, reason="implausible_assistance", detail=why)
        return result

    def _execute(self, motion: Motion, mode: Mode, reset: bool, ref: Reference | None) -> ExecutionResult:
        import mujoco

        t0 = time.perf_counter()
        ref = ref if ref is not None else self.reference(motion)
        m, d, cfg = self.model, self.data, self.config
        wholebody = mode == "none" and cfg.balance_controller == "wholebody"
        # The whole-body controller tracks the reference with planted stance feet; success and the
        # metrics are still judged against the reference as asked for.
        tracked = ref
        if wholebody:
            tracked, stance = self.planted(ref)
            self.lookahead.begin(self.wholebody)  # the shipped stepping again before prepare reads it
            self.wholebody.prepare(tracked, stance, self.com_plan(tracked, stance).offset if cfg.com_plan.enabled else None)
        start_scale = 1.0
        if reset:
            mujoco.mj_resetData(m, d)
            self.reset_to(tracked)
            if wholebody:
                start_scale = self._capturable_start()
        d.eq_active[self.eq_id] = 1 if mode == "residual" else 0
        self.balance.reset()
        n = ref.num_steps
        ctrl = None if wholebody else self.targets(ref)
        sim_pos = np.zeros((n, len(JOINT_NAMES), 3))
        wrench = np.zeros((n, 2))
        penetration = np.zeros(n)
        reason, fail_step = "ok", None
        ref_head = ref.positions[:, JOINT_INDEX["head"], 2]
        ref_pelvis = ref.positions[:, 0, 2]
        steps_done, deviation = 0, 0.0
        rollout = functools.partial(self._rollout, ref)  # the look-ahead's simulations of this clip (lookahead.py)
        # Views into MjData made once: attribute access on MjData costs microseconds per call.
        qpos_h, qvel_h = d.qpos[self.qadr:self.qadr + self.nq_h], d.qvel[self.dadr:self.dadr + self.nv_h]
        xpos, com, ctrl_view = d.xpos, d.subtree_com, d.ctrl
        act = self._act_index
        mocap_pos, mocap_quat = d.mocap_pos, d.mocap_quat
        head = JOINT_INDEX["head"]
        max_qvel = cfg.failure.max_qvel
        check_every = max(1, int(round(cfg.control_hz / 20)))  # contact/warning checks at 20 Hz
        # MuJoCo resets the state itself on a non-finite position, velocity or acceleration: that is a blow-up.
        bad = [int(w) for w in (mujoco.mjtWarning.mjWARN_BADQACC, mujoco.mjtWarning.mjWARN_BADQVEL,
                                mujoco.mjtWarning.mjWARN_BADQPOS)]
        for k in range(n):
            for hook in self.hooks:
                hook(d, k)
            if not wholebody:
                ctrl_view[act] = ctrl[k] if mode != "none" else self.balance.correction(com[self.pelvis], ref, k, ctrl[k])
            if mode == "residual":
                mocap_pos[self.mocap] = ref.qpos[k, :3]
                mocap_quat[self.mocap] = ref.qpos[k, 3:7]
            try:
                if wholebody:
                    self.lookahead.decide(d, k, deviation, self.wholebody, n, rollout)
                    self._advance(self.wholebody, d, k, self.control_log)
                elif mode == "full":
                    for _ in range(self.substeps):
                        qpos_h[:7] = ref.qpos[k, :7]
                        qvel_h[:6] = ref.qvel[k, :6]
                        mujoco.mj_step(m, d)
                else:
                    mujoco.mj_step(m, d, nstep=self.substeps)
            except (mujoco.FatalError, ValueError, np.linalg.LinAlgError):
                # MuJoCo aborts only on internal errors; the controller's solver refuses non-finite states.
                reason, fail_step = "unstable", k
                break
            steps_done = k + 1
            if mode == "residual":
                wrench[k] = self._residual_wrench()
            peak, finite, deviation = read_step(xpos, self.body_ids, sim_pos[k], qvel_h, qpos_h, ref.positions[k])
            if not peak <= max_qvel or not finite:  # NaN fails the first test too
                reason, fail_step = "unstable", k
                break
            if k % check_every == 0:
                penetration[k] = _deepest_penetration(d)
                if any(d.warning[w].number > 0 for w in bad):
                    reason, fail_step = "unstable", k
                    break
            why = fell_or_lost(cfg.failure, sim_pos[k, 0, 2], sim_pos[k, head, 2], ref_pelvis[k], ref_head[k], deviation,
                               falls=mode != "full")
            if why is not None:
                reason, fail_step = why, k
                break
        d.eq_active[self.eq_id] = 0
        done = max(steps_done, 1)
        checked = penetration[:done][:: max(1, int(round(cfg.control_hz / 20)))]
        metrics = clip_metrics(ref, sim_pos[:done], wrench[:done], checked, motion.fps, steps_done > 0,
                               float(self.model.body_subtreemass[self.pelvis]) * 9.81, self.config.contact_height)
        metrics.start_velocity_scale = start_scale
        if wholebody:
            metrics.lookahead_decisions, metrics.lookahead_switches = self.lookahead.decisions, self.lookahead.switches
        step = max(1, int(round(1.0 / (ref.dt * motion.fps))))
        positions = from_mujoco(sim_pos[:steps_done:step]) if steps_done >= 2 else None
        return ExecutionResult(
            success=reason == "ok", reason=reason, mode=mode, duration_s=(n - 1) * ref.dt,
            simulated_s=steps_done * ref.dt, wall_s=time.perf_counter() - t0, metrics=metrics,
            positions=positions, fps=motion.fps,
            failed_at_s=None if fail_step is None else fail_step * ref.dt)

    def _advance(self, wholebody: WholeBodyController, d, k: int, log: list | None = None) -> None:
        """Reference step ``k`` of mode none: the physics steps, the whole-body QP at its rate and holds between."""
        import mujoco

        every = self.solve_every_stepping if wholebody.stepping_now(k) else self.solve_every
        ctrl, act = d.ctrl, self._act_index
        for sub in range(k * self.substeps, (k + 1) * self.substeps):  # the physics step's index
            # counted over the clip, so a solve rate below the reference's (every > substeps) skips steps;
            # set-points within the actuators' control range (the controller clips them)
            solve = sub % every == 0
            if solve:  # the solve reads what mj_step1 computes (mass matrix, contacts)
                mujoco.mj_step1(self.model, d)
            ctrl[act] = wholebody.control(d, k) if solve else wholebody.hold(d)
            if log is not None:
                log.append(ctrl[act].copy())
            if solve:
                mujoco.mj_step2(self.model, d)
            else:  # the hold reads the state only: one mj_step (the same numbers as step1 + step2)
                mujoco.mj_step(self.model, d)

    def _rollout(self, ref: Reference, wholebody: WholeBodyController, d, k0: int, end: int
                 ) -> tuple[int | None, bool, list[float]]:
        """The look-ahead's simulation of reference steps ``k0`` .. ``end - 1`` (lookahead.py): the step it fell, lost
        the clip or blew up at (None if none), whether it blew up, and the judge's deviations until then; judged as
        the loop judges, without hooks, logs or the contact checks."""
        import mujoco

        failure, head = self.config.failure, JOINT_INDEX["head"]
        pos = np.zeros((len(self.body_ids), 3))
        qpos_h, qvel_h = d.qpos[self.qadr:self.qadr + self.nq_h], d.qvel[self.dadr:self.dadr + self.nv_h]
        deviations: list[float] = []
        for k in range(k0, end):
            try:
                self._advance(wholebody, d, k)
            except (mujoco.FatalError, ValueError, np.linalg.LinAlgError):
                return k, True, deviations
            peak, finite, deviation = read_step(d.xpos, self.body_ids, pos, qvel_h, qpos_h, ref.positions[k])
            if not peak <= failure.max_qvel or not finite:
                return k, True, deviations
            if fell_or_lost(failure, pos[0, 2], pos[head, 2], ref.positions[k, 0, 2], ref.positions[k, head, 2],
                            deviation) is not None:
                return k, False, deviations
            deviations.append(deviation)
        return None, False, deviations

    def _residual_wrench(self) -> tuple[float, float]:
        """Force and torque norms the assistance weld currently applies (N, N m)."""
        d = self.data
        # MuJoCo lists equality rows first; the weld is 6 rows (3 translation, 3 rotation).
        if d.nefc >= 6 and d.efc_type[0] == self._eq_type and d.efc_id[0] == self.eq_id:
            f = d.efc_force[:6]
        else:
            rows = (d.efc_type == self._eq_type) & (d.efc_id == self.eq_id)
            f = d.efc_force[rows]
            if f.size < 6:
                return 0.0, 0.0
        return float(np.sqrt(f[:3] @ f[:3])), float(np.sqrt(f[3:6] @ f[3:6]))

def fell_or_lost(failure: FailureConfig, pelvis_z: float, head_z: float, ref_pelvis_z: float, ref_head_z: float,
                 deviation: float, falls: bool = True) -> str | None:
    """The judge after a step that ran finite (the loop's and the look-ahead's rollouts'): ``fell`` where the pelvis is
    below its share of the reference's or the head low while the reference's is up (not with ``falls`` false: mode
    full holds the root), ``tracking_lost`` where the joints' mean distance from the reference's passes the limit."""
    if falls and (pelvis_z < failure.fall_pelvis_ratio * ref_pelvis_z
                  or (head_z < failure.fall_head_height and ref_head_z > 0.9)):
        return "fell"
    if deviation > failure.max_mean_deviation:
        return "tracking_lost"
    return None


_BLAS = None


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS, made once: ``threadpool_limits`` scans the loaded
    libraries on every call (~3 ms, 2 % of a short residual-mode clip); the controller's ``limit`` does not."""
    global _BLAS
    if _BLAS is None:
        from importlib import import_module

        from threadpoolctl import ThreadpoolController

        import_module("scipy.optimize")  # the solver's BLAS must be loaded before the scan

        _BLAS = ThreadpoolController()
    return _BLAS


def _deepest_penetration(d) -> float:
    if d.ncon == 0:
        return 0.0
    return float(max(0.0, -d.contact.dist[: d.ncon].min()))
