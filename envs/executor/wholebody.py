"""Whole-body balance for unassisted tracking: task-space inverse dynamics with contact forces.

At ``solve_hz`` (60 Hz: every fourth physics step) a small bounded least-squares problem, solved as a QP (qp.py: the
accelerations eliminated, DAQP on the forces), picks generalized accelerations and friction-pyramid contact forces
(non-negative weights on each contact's pyramid edges) that best achieve, by weight: the floating-base equations of
motion (nearly hard), stance feet held still and flat on the floor, the centre of mass following the reference's, the
pelvis orientation, and every joint following its reference by PD. The joint torques then follow from inverse dynamics
with those contact forces (Macchietto et al. 2009; Abe et al. 2007), plus the damping MuJoCo's implicit integrator
adds to the mass matrix; between solves the joints keep those torques and a PD towards the planned path. No external
force acts on the body: the floor is the only support, so a reference whose centre of mass the feet cannot carry still
falls.

The centre-of-mass feedback is deliberately slow (about the 3 rad/s natural frequency of an
inverted pendulum of this height): a stiffer one asks for ground forces whose centre of pressure
lies outside the feet, and the compromise the solver then finds tips the feet onto an edge.

The stance-foot task is stiff and weighted above the joints: mocap often lets a standing foot hover a few millimetres,
and a soft pull (as first shipped: weight 30, 200 1/s^2) settled halfway between the floor and the clip's leg angles,
leaving the body on one heel corner until it toppled. The centre-of-mass and pelvis targets are anchored to where the
stance feet really stand (``anchor_s``): a step that lands off the clip's footprint must not leave the body leaning
after the clip's feet. The centre-of-mass target itself may carry a planned offset that keeps the reference's ZMP on
the soles (com_plan.py). With stepping (stepping.py) swing feet follow the clip's steps, and push recovery
(push_recovery.py) adds a step of its own while the clip stands; the walking MPC (walk_mpc.py, on by default) plans
the centre of pressure and the landings from the body's own state. Around the clip's steps the legs' sagittal hinges
weigh less (``joint_weight_stepping``): their PD targets, 100 rad/s^2 and more at landings and push-offs, otherwise
outweighed the centre-of-mass task and the solve slowed a body it was asked to speed up (RESULTS.md). There, too, the
contact forces' centre of pressure is held at the MPC's (``weight_centre_of_pressure``), so that the plan's
acceleration comes from where the feet push, not from turning the trunk, and the whole body's angular momentum is
damped, asked of the contact forces' moment about the centre of mass (momentum.py): otherwise the QP bought the centre
of mass's acceleration by folding the trunk forward (the hip strategy) and lost walks a step could have carried.
"""
from __future__ import annotations

import numpy as np

from envs.executor.contacts import dof_chains, foot_slots, geoms_on_floor, stance_contacts
from envs.executor.cross import horizontal_moment, tilt_axis
from envs.executor.lift_timing import held_lifts
from envs.executor.momentum import add_momentum_rate_task, angular_momentum_matrix
from envs.executor.soles import by_foot, corners_by_foot, feet_along
from envs.executor.reference import Reference, smoothed
from envs.executor.push_recovery import PushRecovery
from envs.executor.qp import solve_qp
from envs.executor.qp_blocks import assemble_blocks, solve_blocks, whole_problem
from envs.executor.setpoints import impedance_setpoints, torque_setpoints
from envs.executor.stepping import StepPlanner, SteppingConfig, contact_schedule, near_steps
from envs.executor.task_targets import add_root_pd, follow_feet, hinge_accelerations, stance_foot_target
from envs.executor.walk_mpc import MpcPlan
from envs.executor.wholebody_gains import WholeBodyGains


class WholeBodyController:
    """Computes actuator set-points that make the position actuators apply the solved torques."""

    def __init__(self, model, qadr: int, dadr: int, nv: int, kp: np.ndarray, kv: np.ndarray,
                 pelvis: int, foot_geoms: list[int], gains: WholeBodyGains,
                 stepping: SteppingConfig | None = None, torque_limit: np.ndarray | None = None,
                 leg_dofs: np.ndarray | None = None, hinge_names: list[str] | None = None,
                 ctrl_range: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.model, self.gains = model, gains
        # the actuators' control range (lo, hi): set-points are clipped to it (unbounded without)
        lo, hi = ctrl_range if ctrl_range is not None else (np.full(nv - 6, -np.inf), np.full(nv - 6, np.inf))
        self._ctrl_lo, self._ctrl_hi = np.ascontiguousarray(lo, dtype=float), np.ascontiguousarray(hi, dtype=float)
        self.stepping = stepping or SteppingConfig(enabled=False)
        self.torque_limit = torque_limit  # (nv - 6,) the actuators' force limits, N m
        self.planner, self.push = None, None  # StepPlanner and PushRecovery once prepared with stepping
        self.qadr, self.dadr, self.nv, self.kp, self.kv, self.pelvis = qadr, dadr, nv, kp, kv, pelvis
        self.foot_geoms = foot_geoms  # left heel box, right heel box, left toes, right toes
        self._heel_geoms = np.array(foot_geoms[:2])
        self._no_anchor = np.zeros(2)  # follow_feet's anchor argument before the first control step
        # the share of the way to the feet the anchor moves per physics step (anchor_s: its time constant)
        self._anchor_rate = min(1.0, model.opt.timestep / gains.anchor_s) if gains.anchor_s > 0 else 0.0
        self.sole_geoms = by_foot(foot_geoms)  # both soles' boxes foot by foot (soles.py)
        self._slot_of, self._chains = foot_slots(model.ngeom, foot_geoms), dof_chains(model, foot_geoms)
        self.heel_body = [int(model.geom_bodyid[g]) for g in foot_geoms[:2]]
        self._mass = np.zeros((model.nv, model.nv))
        self._jp, self._jr, self._jcom = (np.zeros((3, model.nv)) for _ in range(3))  # Jacobians
        self._rotvec = np.zeros(3)
        w = np.ones(nv)
        w[:3], w[3:6] = gains.weight_root_position, gains.weight_root_orientation
        self._joint_weight = w
        self._joint_weight_stepping = w.copy()  # around the clip's own steps (``_clip_steps``, set in prepare)
        if hinge_names is not None:
            self._joint_weight_stepping[6:] = gains.hinge_weights(hinge_names)
        elif gains.joint_weight_stepping:
            raise ValueError("wholebody.joint_weight_stepping needs the hinges' names")
        self.leg_dofs = None if leg_dofs is None else np.flatnonzero(leg_dofs)  # among the hinges (push recovery)
        self._com_weight = np.array([gains.weight_com, gains.weight_com, gains.weight_com_vertical])
        self._foot_weight = np.full(6, gains.weight_foot)
        # per foot, the height its heel box's centre stands at on the floor (its half height less the penetration allowed)
        self._sole_height = [float(model.geom_size[g][2] - gains.sole_penetration) for g in foot_geoms[:2]]
        import mujoco
        implicit = model.opt.integrator in (mujoco.mjtIntegrator.mjINT_IMPLICIT, mujoco.mjtIntegrator.mjINT_IMPLICITFAST)
        self._implicit = model.opt.timestep * (kv + model.dof_damping[dadr + 6:dadr + nv]) if implicit else np.zeros(nv - 6)
        self.ref, self._scratch = None, None  # the Reference once prepared; an MjData for kinematics once made

    def prepare(self, ref: Reference, stance: np.ndarray, com_offset: np.ndarray | None = None) -> None:
        """Reference accelerations and centre-of-mass derivatives, smoothed; ``stance``: (N, 2) flags;
        ``com_offset``: (N, 2) horizontal shift of the centre-of-mass target (com_plan.py)."""
        sigma = max(self.gains.smooth_s / ref.dt, 1e-6)
        self.ref_feet, corners = self._feet(ref)
        self._clip_soles = None if corners is None else corners[..., :2].mean(axis=2)  # (N, 2, 2) sole centres
        self.ref_heels, self.flat = self.ref_feet[..., :2], stance
        self.schedule = contact_schedule(corners, ref.dt, self.stepping, com_height=ref.com[:, 2]) if self.stepping.enabled else None
        if self.schedule is not None:
            stance, self.flat = self.schedule.stance, self.schedule.flat
        self.ref, self.stance = ref, stance
        self.qacc_ref = smoothed(np.gradient(ref.qvel, ref.dt, axis=0), sigma)
        self.com = ref.com.copy()
        if com_offset is not None:
            self.com[:, :2] += com_offset
        self.com_vel = np.gradient(self.com, ref.dt, axis=0)
        self.anchor: np.ndarray | None = None  # set at the first control step: a body may start off the clip
        self.com_acc = smoothed(np.gradient(self.com_vel, ref.dt, axis=0), sigma)
        if self.stepping.enabled and self.stepping.dcm_plan:
            from envs.executor.dcm_plan import plan_dcm

            self.dcm = plan_dcm(self.com, self.com_vel, self.com_acc, self.schedule.support(), ref.dt)
            self.com[:, :2], self.com_vel[:, :2], self.com_acc[:, :2] = self.dcm.com, self.dcm.vel, self.dcm.acc
        self.planner = (StepPlanner(self.stepping, stance, self.ref_feet, self.com, self.com_vel, ref.dt)
                        if self.stepping.enabled else None)
        self.mpc = None
        if self.planner is not None and self.stepping.mpc.enabled:
            from envs.executor.walk_mpc import WalkMpc

            yaw = 2.0 * np.arctan2(ref.qpos[:, 6], ref.qpos[:, 3])  # the pelvis's heading (the rest pose faces +x)
            forward = np.stack((np.cos(yaw), np.sin(yaw)), axis=1)
            self.mpc = WalkMpc(self.stepping.mpc, stance, corners, self.com, self.com_vel, self.planner.omega,
                               forward, ref.dt)
        self._mpc_last: tuple | None = None  # ((k, support), plan) of the last walking-MPC plan (_mpc_plan)
        self._pushing = np.zeros(0, dtype=bool)  # the last solve's forces > 0 (where the next solve's pivoting starts)
        self.push = (PushRecovery(self.stepping.push_recovery, ref.dt)
                     if self.stepping.enabled and self.stepping.push_recovery.enabled else None)
        self.support = stance[0].copy()
        # The clip's own steps over the same window, before push recovery edits the schedule: a step of its own keeps
        # the legs' full weights (with the stepping weights the 50 N s push test's step lost the clip)
        self._clip_steps = near_steps(stance, ref.dt)
        self._steps_near = self._clip_steps.copy()  # the same over the schedule as edited (stepping_now), kept by swing()
        # the PD's velocity targets: smoothed while the clip stands (velocity_smooth_s), its own around its steps
        self.qvel_ref = np.where(self._clip_steps[:, None], ref.qvel, smoothed(ref.qvel, self.gains.velocity_smooth_s / ref.dt))

    def swing(self, foot: int, start: int, stop: int) -> None:
        """The schedule edited in place: ``foot`` swings over reference steps [start, stop) (a step of push
        recovery); the planner and the walking MPC, which read the same arrays, drop what they derived from it."""
        self.stance[start:stop, foot] = self.flat[start:stop, foot] = False
        self.planner.schedule_changed()
        self._steps_near = near_steps(self.stance, self.ref.dt)
        if self.mpc is not None:
            self.mpc.schedule_changed()
        self._mpc_last = None

    def scratch(self):
        """An MjData of this model for kinematics off the simulation (made once)."""
        if self._scratch is None:
            import mujoco
            self._scratch = mujoco.MjData(self.model)
        return self._scratch

    def _feet(self, ref: Reference) -> tuple[np.ndarray, np.ndarray | None]:
        """Along the reference, in one kinematics pass: (N, 2, 3) world positions of the two heel boxes and,
        with stepping, (N, 2, 8, 3) each foot's sole corners (heel box, then toe box) for its contact schedule.
        A reference built with its feet (Reference.feet) brings them: copies of those."""
        if ref.feet is not None:
            return ref.feet.heels.copy(), ref.feet.soles.copy() if self.stepping.enabled else None
        return feet_along(self.model, self.scratch(), self.qadr, ref.qpos, self.foot_geoms, self.stepping.enabled)

    def _follow_feet(self, d, k: int) -> np.ndarray:
        """The anchor (xy shift of the balance targets, as a 3-vector) moved towards where the stance feet
        stand against the reference's: a step that lands short must not leave the centre of mass chasing
        the clip's feet."""
        g = self.gains
        left, right = self.support[0] and self.flat[k, 0], self.support[1] and self.flat[k, 1]  # a rolling foot's
        if g.anchor_s > 0 and (left or right):  # heel box is not where it stands
            first = self.anchor is None
            self.anchor = follow_feet(self._no_anchor if first else self.anchor, d.geom_xpos, self._heel_geoms,
                                      self.ref_heels[k], bool(left), bool(right), self._anchor_rate, first)
        elif self.anchor is None:
            self.anchor = np.zeros(2)
        return np.array((self.anchor[0], self.anchor[1], 0.0))

    def hold(self, d) -> np.ndarray:
        """Set-points that make the actuators apply the last solve's joint torques in the state now; with
        ``hold_impedance`` plus the joint PD (scaled by each joint's own inertia) towards the path the solve
        planned (its state advanced by its accelerations). Clipped to the actuators' control range."""
        q, qd = d.qpos[self.qadr + 7:self.qadr + self.nv + 1], d.qvel[self.dadr + 6:self.dadr + self.nv]
        # The position actuator applies kp (ctrl - q) - kv qd: this set-point makes it apply the torque now.
        if self.gains.hold_impedance:
            g = self.gains
            return impedance_setpoints(q, qd, self._tau, d.time - self._solved_at, self._q0, self._qd0, self._acc,
                                       self._inertia, g.kp_joint, g.kd_joint, self.kp, self.kv, self._ctrl_lo,
                                       self._ctrl_hi)
        return torque_setpoints(q, qd, self._tau, self.kp, self.kv, self._ctrl_lo, self._ctrl_hi)

    def stepping_now(self, k: int) -> bool:
        """Whether a foot swings or lands at reference step ``k`` (the QP then runs at ``stepping.solve_hz``)."""
        if self.planner is None:
            return False
        return bool(self._steps_near[k]) or not (self.support[0] and self.support[1])

    def _support(self, d, k: int, com: np.ndarray, com_vel: np.ndarray) -> np.ndarray:
        """(2,) feet the solve may push on: the schedule's, or with stepping the planner's (contact-aware), plus a
        foot the clip lifts while the body's capture point lags the clip's (lift_timing.py)."""
        if self.planner is None:
            return self.stance[k]
        touching, pl = self.foot_geoms_on_floor(d), self.planner
        if not pl.reads_standing(k):  # most standing steps: no tilt to read
            return pl.support(k, touching[:2] | touching[2:], None, None)
        up = d.geom_xmat[self._heel_geoms, 8]  # the soles' normals' vertical part (row-major 3x3: entry [2, 2])
        tilt = np.degrees(np.arccos(np.minimum(np.maximum(up, -1.0), 1.0)))  # np.clip's dispatch costs more
        waits = self.stepping.lift.hold_s > 0 and self._clip_steps[k]  # the clip's own lifts, not push recovery's steps
        was = pl.last_support.copy() if waits else None  # support() overwrites it with what it reads now
        out = pl.support(k, touching[:2] | touching[2:], tilt, touching[:2] & touching[2:])
        if waits and not out.all():
            w = pl.omega[k]
            out |= pl.keep_support(held_lifts(
                self.stepping.lift, k, self.ref.dt, out, was, self.stance, pl.phases.start, touching,
                lambda: corners_by_foot(self.model, d, self.sole_geoms)[..., :2].mean(axis=1), self._clip_soles[k],
                com[:2] + com_vel[:2] / w, self.com[k, :2] + self.com_vel[k, :2] / w))
        return out

    def foot_geoms_on_floor(self, d) -> np.ndarray:
        """(4,) whether each foot geom touches the floor: left heel, right heel, left toes, right toes."""
        return geoms_on_floor(self.model, d, self._slot_of)

    def _swing_task(self, task, d, k: int, f: int, com: np.ndarray, com_vel: np.ndarray, anchor: np.ndarray,
                    qd: np.ndarray) -> None:
        """Adds the swing foot's position task toward the planner's target."""
        import mujoco
        cfg, a0, nv = self.stepping, self.dadr, self.nv
        geom = self.foot_geoms[f]
        mujoco.mj_jac(self.model, d, self._jp, self._jr, d.geom_xpos[geom], self.heel_body[f])
        jp, jr = self._jp[:, a0:a0 + nv], self._jr[:, a0:a0 + nv]
        reactive = self.push is not None and self.push.active(k, f) is not None
        if reactive:  # a step of its own (push_recovery.py); a late landing then continues from its target
            w = self.planner.omega[k]
            target, velocity = self.push.swing_target(k, com[:2] + com_vel[:2] / w, w)
            self.planner.aimed(k, f, target)
        else:
            target, velocity = self.planner.swing_target(k, f, com, com_vel, anchor)
        acc = cfg.kp_swing * (target - d.geom_xpos[geom]) + cfg.kd_swing * (velocity - jp @ qd)
        if cfg.swing_feedforward and not reactive:
            acc = acc + self.planner.swing_acceleration(k, f)
        # The clip's own swings yield to the centre of mass (its acceleration is what a walk lacks); a foot lifted
        # away from them (push recovery's step and its late landing, a foot rocking off the floor) keeps the heavy
        # weight that brings it down where aimed: at 100 there, the push sweep lost pushes it survives (RESULTS.md)
        weight = cfg.weight_swing if self._clip_steps[k] else cfg.weight_swing_off_clip_steps
        task(jp.copy(), acc, weight, "swing feet")
        level = self.planner.level_weight(k, f)  # its orientation is otherwise the joints' (the clip's)
        if level > 0:
            tilt = tilt_axis(d.geom_xmat[geom])
            task(jr[:2].copy(), (cfg.kp_level * tilt - 2.0 * np.sqrt(cfg.kp_level) * (jr @ qd))[:2], level * weight,
                 "swing soles level")

    def _mpc_plan(self, d, k: int, com: np.ndarray, com_vel: np.ndarray) -> MpcPlan | None:
        """The walking MPC's plan now (None where it makes none); with ``once_per_reference_step`` the one made
        at this reference step's first solve while the same feet support (tracking no different on dataset-1 and
        dataset-2, at a quarter of the MPC's cost; RESULTS.md, "The walking MPC once per reference step")."""
        key = (k, bool(self.support[0]), bool(self.support[1]))
        if self.stepping.mpc.once_per_reference_step and self._mpc_last is not None and self._mpc_last[0] == key:
            return self._mpc_last[1]
        if not self.stepping.mpc.plan_still and self.mpc.still(k, self.support):
            plan = None
        else:
            both = corners_by_foot(self.model, d, self.sole_geoms)
            soles = [both[f] if self.support[f] else None for f in range(2)]
            plan = self.mpc.plan(k, com, com_vel, self.support, soles)
        self._mpc_last = (key, plan)
        return plan

    def control(self, d, k: int) -> np.ndarray:
        """Actuator set-points for reference step ``k`` from the state after ``mj_step1``."""
        import mujoco

        g, m, ref, nv, a0 = self.gains, self.model, self.ref, self.nv, self.dadr
        q = d.qpos[self.qadr:self.qadr + 7 + nv - 6]
        qd = d.qvel[a0:a0 + nv]
        mujoco.mj_jacSubtreeCom(m, d, self._jcom, self.pelvis)
        jcom = self._jcom[:, a0:a0 + nv]
        com, com_vel = d.subtree_com[self.pelvis], jcom @ qd
        if self.push is not None:
            self.push.react(self, d, k, com, com_vel)
        self.support = self._support(d, k, com, com_vel)
        anchor = self._follow_feet(d, k)
        a_des = hinge_accelerations(self.qacc_ref[k], ref.qpos[k], q, self.qvel_ref[k], qd, g.kp_joint, g.kd_joint)
        if self.push is not None:
            legs = self.push.stance_legs(self, d, k)
            if legs is not None and self.stance[k].all():  # after a step of its own, until the clip steps
                # itself: the legs of the stance that step left, held still
                cols = self.leg_dofs
                a_des[6 + cols] = g.kp_joint * (legs[7 + cols] - q[7 + cols]) - g.kd_joint * qd[6 + cols]
                a_des[2] += g.kp_root_position * (legs[2] - ref.qpos[k, 2])  # the pelvis at the height they reach
        mujoco.mju_subQuat(self._rotvec, ref.qpos[k, 3:7], q[3:7])  # rotvec of q^-1 q_ref (envs.quaternion's, in C)
        add_root_pd(a_des, ref.qpos[k], q, anchor, self.qvel_ref[k], qd, self._rotvec, g.kp_root_position,
                    g.kd_root_position, g.kp_root_orientation, g.kd_root_orientation)
        mujoco.mj_fullM(m, d, self._mass)
        mass = self._mass[a0:a0 + nv, a0:a0 + nv]
        bias = d.qfrc_bias[a0:a0 + nv] - d.qfrc_passive[a0:a0 + nv]

        contacts = stance_contacts(d, self._slot_of, self.support, g.friction, a0, nv, self._chains)
        n_c, generalized = contacts.count, contacts.generalized
        n_f = 4 * n_c
        # The acceleration tasks (a task J a = t of weight w adds w J'J and -w J't), collected here and put into the
        # QP's blocks with the joints' PD, the equations of motion and the force terms at the end (qp_blocks.py)
        rows, targets, weights = [], [], []
        self.task_rows = []  # (name, rows) of each task in order (docs/experiments/qp_attribution.py reads them)

        def task(matrix: np.ndarray, target: np.ndarray, weight: float | np.ndarray, name: str) -> None:
            self.task_rows.append((name, len(target)))
            rows.append(matrix)
            targets.append(target)
            weights.append(weight if isinstance(weight, np.ndarray) else np.full(len(target), weight))  # per row, or one for all

        # around the clip's steps the legs' sagittal hinges yield to the balance tasks (joint_weight_stepping)
        around_steps = self.planner is not None and self._clip_steps[k]
        jw = self._joint_weight_stepping if around_steps else self._joint_weight
        if n_f:
            jac_rows = contacts.jacobians.reshape(3 * n_c, nv)
            task(jac_rows, -g.contact_damping * (jac_rows @ qd), g.weight_contact, "contact points still")
        moment = np.zeros((0, 2))  # the contact forces' moment about the planned centre of pressure, where held
        a_com = self.com_acc[k] + g.kp_com * (self.com[k] + anchor - com) + g.kd_com * (self.com_vel[k] - com_vel)
        # After push recovery's step, while the clip stands, the centre of mass follows the clip again rather than the
        # walking MPC's pendulum plan: with the plan, fore/aft pushes survived fell from 10 to 6 of 24 (RESULTS.md)
        after_push_step = self.push is not None and self.push.has_stepped(k)
        follow_clip = (after_push_step and not self._clip_steps[k]
                       and not self.stepping.push_recovery.mpc_after_step)
        if self.mpc is not None and not follow_clip:
            plan = self._mpc_plan(d, k, com, com_vel)
            self.planner.planned_shift = {} if plan is None else plan.shift
            if plan is not None:  # the pendulum's acceleration over the planned centre of pressure
                a_com[:2] = self.planner.omega[k] ** 2 * (com[:2] - plan.zmp)
                if n_f and g.weight_centre_of_pressure > 0 and self._clip_steps[k]:
                    # ... and, around the clip's steps, the contact forces' own centre of pressure there: their
                    # moment about it has no horizontal part. Without it the QP reached the acceleration by turning
                    # the trunk instead of by where the feet push, and the body fell behind the clip at each
                    # lift-off (RESULTS.md). Standing, and for push recovery's own steps, the QP keeps its freedom
                    arm = np.repeat(contacts.points - (plan.zmp[0], plan.zmp[1], 0.0), 4, axis=0)  # per edge
                    moment = horizontal_moment(arm, contacts.pyramids.reshape(4 * n_c, 3))  # (n_f, 2) per unit edge force
        task(jcom, a_com, self._com_weight, "com")
        am_rate = None  # the angular momentum's rate asked of the contact forces' moment (its ``forces`` form)
        if g.weight_angular_momentum > 0 and (g.angular_momentum_always or around_steps):
            am = angular_momentum_matrix(m, d, slice(a0, a0 + nv))  # A qacc: its rate without the A' qvel term
            am_rate = -g.kd_angular_momentum * (am @ qd)
            if g.angular_momentum_form == "acceleration":
                task(am, am_rate, g.weight_angular_momentum, "angular momentum")
                am_rate = None
        for f in range(2):
            if not self.support[f]:
                if self.planner is not None:
                    self._swing_task(task, d, k, f, com, com_vel, anchor, qd)
                continue
            geom = self.foot_geoms[f]
            position = d.geom_xpos[geom]
            if self.planner is not None:
                if not self.stance[k, f] or not self.flat[k, f]:
                    continue  # rolling onto its toes: its contact points stay put, its heel may rise
                self.planner.note_stance(f, position, k)
            jac = np.empty((6, m.nv))  # rows: translation, rotation (a new one per foot: ``rows`` keeps it)
            mujoco.mj_jac(m, d, jac[:3], jac[3:], position, self.heel_body[f])
            jac = jac[:, a0:a0 + nv]
            # held still (-kd v), its height pulled onto the floor, its sole turned level
            target = stance_foot_target(np.concatenate((jac[:3] @ qd, jac[3:] @ qd)), g.kd_foot, g.kp_foot_height,
                                        self._sole_height[f], position[2], g.kp_foot_flat, d.geom_xmat[geom])
            task(jac, target, self._foot_weight, "stance feet")
        # The floating base's equations of motion, nearly hard: w |M_6 a - G_6 f + bias_6|^2. Its acceleration-force
        # block w M_6' (-G_6), rank 6, goes to the solver as its two factors.
        mass6, forces6 = np.ascontiguousarray(mass[:6]), -generalized[:6]
        blocks = assemble_blocks(jw, a_des, mass6, bias[:6].copy(), forces6, np.vstack(rows), np.concatenate(weights),
                                 np.concatenate(targets), g.weight_dynamics, g.force_regularization, moment,
                                 g.weight_centre_of_pressure)
        if am_rate is not None and n_f:  # none in a flight: nothing can change the momentum there
            add_momentum_rate_task(blocks[2], blocks[3], contacts.points, contacts.pyramids, com, am_rate,
                                   g.weight_angular_momentum)
        coupling = (np.ascontiguousarray(g.weight_dynamics * mass6.T), forces6)
        limited = g.torque_limits and self.torque_limit is not None
        # the forces' free set pivoted from: the last solve's where it had as many forces (the same contacts, mostly)
        start = self._pushing if len(self._pushing) == n_f else np.ones(n_f, dtype=bool)
        x, solved = (None, False) if limited else solve_blocks(*blocks, *coupling, start)
        if not solved:  # the whole problem: with the torques' limits, or where pivoting did not solve (DAQP)
            limits = None
            if limited:
                # tau = M qacc + bias - G f (+ the implicit damping term) within the actuators' force range
                rows_tau = np.hstack([mass[6:], -generalized[6:]])
                if g.implicit_damping:
                    rows_tau[:, 6:nv] += np.diag(self._implicit)
                limits = (rows_tau, -self.torque_limit - bias[6:], self.torque_limit - bias[6:])
            x = solve_qp(*whole_problem(*blocks, *coupling), nv, limits)
        tau = mass @ x[:nv] + bias - generalized @ x[nv:]
        if g.implicit_damping:
            # MuJoCo's implicit integrators treat the actuators' and joints' damping as part of the mass
            # matrix: (M + h D) qacc = f. Without this term a light link (a foot: ~0.01 kg m^2 against
            # h kv = 0.42 for the ankle) reaches a fortieth of the acceleration solved for: a swinging foot
            # asked to stop turning kept turning for 0.2 s (walk_normal_001).
            tau[6:] += self._implicit * x[6:nv]
        self._tau = tau[6:]
        self._pushing = x[nv:] > 0.0
        self.planned_qacc = x[:nv].copy()  # the accelerations this solve asked for (humanoid dofs)
        if g.hold_impedance:
            self._solved_at, self._q0, self._qd0, self._acc = d.time, q[7:].copy(), qd[6:].copy(), x[6:nv].copy()
            self._inertia = mass.diagonal()[6:].copy()
        return self.hold(d)  # at the solve itself the PD towards the plan is zero: the set-point of tau
