"""The whole body's angular momentum about its centre of mass, as a matrix on the joint velocities (the angular rows of
the centroidal momentum matrix, Orin and Goswami 2008), from what ``mj_step1`` has computed.

MuJoCo keeps every body's composite rigid-body inertia (``d.crb``, the body and its subtree) and every dof's motion
axis (``d.cdof``) in one frame per kinematic tree, centred at that tree's centre of mass (``d.subtree_com`` of its root
body). Dof j moves the subtree of its body rigidly, so its column of the centroidal momentum matrix is that subtree's
composite inertia times its axis; the rotational half is the angular momentum about the tree's centre of mass.
"""
from __future__ import annotations

import numpy as np


def angular_momentum_matrix(model, d, dofs: slice) -> np.ndarray:
    """(3, n) A with A qvel[dofs] the angular momentum (kg m^2/s) of the tree owning ``dofs`` about its centre of mass,
    for the dofs of one whole tree (a humanoid's free joint and hinges). Needs ``crb`` and ``cdof`` (``mj_step1``)."""
    inert = d.crb[model.dof_bodyid[dofs]]  # (n, 10): I_xx I_yy I_zz I_xy I_xz I_yz, m c (3), m
    axis = d.cdof[dofs]  # (n, 6): rotation, translation
    w, v = axis[:, :3], axis[:, 3:]
    # the rotational half of mju_mulInertVec: I w + (m c) x v
    out = np.empty((3, len(axis)))
    out[0] = inert[:, 0] * w[:, 0] + inert[:, 3] * w[:, 1] + inert[:, 4] * w[:, 2] - inert[:, 8] * v[:, 1] + inert[:, 7] * v[:, 2]
    out[1] = inert[:, 3] * w[:, 0] + inert[:, 1] * w[:, 1] + inert[:, 5] * w[:, 2] + inert[:, 8] * v[:, 0] - inert[:, 6] * v[:, 2]
    out[2] = inert[:, 4] * w[:, 0] + inert[:, 5] * w[:, 1] + inert[:, 2] * w[:, 2] - inert[:, 7] * v[:, 0] + inert[:, 6] * v[:, 1]
    return out
