"""The whole body's angular momentum about its centre of mass, as a matrix on the joint velocities (the angular rows of
the centroidal momentum matrix, Orin and Goswami 2008), from what ``mj_step1`` has computed.

MuJoCo keeps every body's composite rigid-body inertia (``d.crb``, the body and its subtree) and every dof's motion
axis (``d.cdof``) in one frame per kinematic tree, centred at that tree's centre of mass (``d.subtree_com`` of its root
body). Dof j moves the subtree of its body rigidly, so its column of the centroidal momentum matrix is that subtree's
composite inertia times its axis; the rotational half is the angular momentum about the tree's centre of mass.
"""
from __future__ import annotations

import numpy as np

from envs.executor.cross import moment_rows


def angular_momentum_matrix(model, d, dofs: slice) -> np.ndarray:
    """(3, n) A with A qvel[dofs] the angular momentum (kg m^2/s) of the tree owning ``dofs`` about its centre of mass,
    for the dofs of one whole tree (a humanoid's free joint and hinges). Needs ``crb`` and ``cdof`` (``mj_step1``)."""
    inert = d.crb[model.dof_bodyid[dofs]]  # (n, 10): I_xx I_yy I_zz I_xy I_xz I_yz, m c (3), m
    i, h = inert[:, :6], inert[:, 6:9]
    axis = d.cdof[dofs]  # (n, 6): rotation, translation
    w, v = axis[:, :3], axis[:, 3:]
    # the rotational half of mju_mulInertVec: I w + (m c) x v
    out = np.empty((3, len(axis)))
    out[0] = i[:, 0] * w[:, 0] + i[:, 3] * w[:, 1] + i[:, 4] * w[:, 2] - h[:, 2] * v[:, 1] + h[:, 1] * v[:, 2]
    out[1] = i[:, 3] * w[:, 0] + i[:, 1] * w[:, 1] + i[:, 5] * w[:, 2] + h[:, 2] * v[:, 0] - h[:, 0] * v[:, 2]
    out[2] = i[:, 4] * w[:, 0] + i[:, 5] * w[:, 1] + i[:, 2] * w[:, 2] - h[:, 1] * v[:, 0] + h[:, 0] * v[:, 1]
    return out


def add_momentum_rate_task(h_ff: np.ndarray, g_f: np.ndarray, points: np.ndarray, pyramids: np.ndarray,
                           com: np.ndarray, rate: np.ndarray, weight: float) -> None:
    """In place on the QP's force block (h_ff, g_f of 1/2 f'H f + g'f): ``weight`` |sum_i (p_i - c) x f_i - rate|^2,
    the angular momentum's rate about the centre of mass ``com`` as what changes it, the contact forces' moment (gravity
    acts at the centre of mass). Exact where A qacc, the task on the accelerations, leaves out A' qvel, which the legs'
    swing makes large in a run. ``points`` (n_c, 3) the contact points, ``pyramids`` (n_c, 4, 3) each one's four
    friction-pyramid edges: the forces are one non-negative magnitude per edge, in that order."""
    arm = np.repeat(points - com, 4, axis=0)
    moment = moment_rows(arm, pyramids.reshape(len(arm), 3))  # (n_f, 3) per unit edge force
    h_ff += weight * (moment @ moment.T)
    g_f -= weight * (moment @ rate)
