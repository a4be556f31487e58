"""A foot-contact term for the tokenizer: where the clip's feet stand, the decoded feet move as the clip's do.

The executor builds its reference from the decoded *rotations* (the 6D channels) and the root trajectory integrated from
the root channels, not from the ric positions the reconstruction loss mostly watches. Each channel group can be close
to the clip's and the feet they put together still slide: through the shipped tokenizer of 2026-12-05 synth-8's clips
stood on feet whose contact points slipped 0.13 m per stance (median per clip) against 0.02 m as generated, and the
body that had to stand on them was lost (decoded spins 8 of 48, kicks 7 of 48). This term runs the same path in torch:
root yaw and position integrated from the root channels (``recover_root``), the joints placed by forward kinematics
of the 6D rotations on the SMPL-22 skeleton (``decode`` + ``Skeleton.forward``), and, on the frames where the clip's
HumanML3D contact channels say a foot joint stands, the decoded joint's displacement from one frame to the next held
to the clip's (L1, metres per frame), as MDM's foot-contact loss (Tevet et al. 2023) but on the kinematics the executor
uses. Alone it keeps the feet still by moving them: the punches' wide stance narrowed from 0.28 to 0.20 m and they
were lost (46 -> 7 of 48). With ``pose_weight`` the pose the decoded rotations make is held to the clip's as well
(every joint, root-relative in each one's own facing frame, metres): decoded clips of unseen variations tracked
unassisted 437 -> 478 of 576 over three seeds (RESULTS.md, "A foot-contact term for the tokenizer").
"""
from __future__ import annotations

import numpy as np

from envs.motion.features import CONTACT_SLICE, NUM_JOINTS, ROT_SLICE
from envs.motion.stats import FeatureStats
from envs.skeleton import FOOT_JOINTS_LEFT, FOOT_JOINTS_RIGHT, SMPL22, Skeleton

CONTACT_JOINTS = FOOT_JOINTS_LEFT + FOOT_JOINTS_RIGHT  # the contact channels' order: l_ankle, l_foot, r_ankle, r_foot


def _matrices_6d(d6):
    """(..., 6) -> (..., 3, 3), envs.quaternion.cont6d_to_matrix in torch (Zhou et al. 2019: the columns b1, b2, b3)."""
    import torch

    a1, a2 = d6[..., 0:3], d6[..., 3:6]
    b1 = a1 / a1.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    b2 = a2 - (b1 * a2).sum(dim=-1, keepdim=True) * b1
    b2 = b2 / b2.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return torch.stack((b1, b2, torch.cross(b1, b2, dim=-1)), dim=-1)


def _yaw_matrices(angle):
    """(...,) half-angles a of the facing quaternion (cos a, 0, sin a, 0) -> (..., 3, 3) of its inverse (the facing
    frame to the world's): a turn about Y by -2a."""
    import torch

    c, s = torch.cos(2.0 * angle), torch.sin(2.0 * angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack((torch.stack((c, zero, -s), -1), torch.stack((zero, one, zero), -1),
                        torch.stack((s, zero, c), -1)), -2)


class FootContactLoss:
    """Callable on (normalised) reconstructed and target features (B, T, 263) -> a scalar tensor."""

    def __init__(self, stats: FeatureStats, skeleton: Skeleton = SMPL22, pose_weight: float = 0.0) -> None:
        import torch

        self.mean = torch.as_tensor(np.asarray(stats.mean, dtype=np.float32))
        self.std = torch.as_tensor(np.asarray(stats.std, dtype=np.float32))
        self.parents = skeleton.parents
        self.offsets = torch.as_tensor(skeleton.offsets, dtype=torch.float32)
        # A joint's local rotation sits in the 6D slot of its first child (features.py: slot j - 1 holds parent(j)'s)
        self.slot = {j: kids[0] - 1 for j, kids in enumerate(skeleton.children) if kids}
        self.pose_weight = pose_weight
        needed, frontier = set(), list(CONTACT_JOINTS) if pose_weight == 0 else list(range(skeleton.num_joints))
        while frontier:  # the joints on the chains from the root to the feet
            j = frontier.pop()
            if j not in needed:
                needed.add(j)
                frontier += [self.parents[j]] if j > 0 else []
        self.chain = sorted(needed)

    def positions(self, raw):
        """(B, T, 263) raw features -> (B, T, 22, 3) world positions of the joints on the chains to the feet (all
        joints with ``pose_weight``; the others zero), as ``decode`` + ``Skeleton.forward`` place them."""
        return self._kinematics(raw)[0]

    def _kinematics(self, raw):
        """World positions (B, T, 22, 3) and the facing frames' rotations to the world (B, T, 3, 3)."""
        import torch

        b, t = raw.shape[:2]
        angle = torch.cat((torch.zeros_like(raw[:, :1, 0]), torch.cumsum(raw[:, :-1, 0], dim=1)), dim=1)
        to_world = _yaw_matrices(angle)  # (B, T, 3, 3)
        step = torch.zeros(b, t, 3, dtype=raw.dtype)
        step[:, 1:, 0], step[:, 1:, 2] = raw[:, :-1, 1], raw[:, :-1, 2]
        root = torch.cumsum((to_world @ step[..., None])[..., 0], dim=1)
        root = torch.stack((root[..., 0], raw[..., 3], root[..., 2]), dim=-1)
        rot = _matrices_6d(raw[..., ROT_SLICE].reshape(b, t, NUM_JOINTS - 1, 6))
        glob, pos = {}, {}
        for j in self.chain:
            local = rot[:, :, self.slot[j]] if j in self.slot else None
            if j == 0:
                glob[0], pos[0] = to_world @ local, root
                continue
            p = self.parents[j]
            pos[j] = pos[p] + glob[p] @ self.offsets[j].to(raw.dtype)  # (B, T, 3)
            if local is not None:
                glob[j] = glob[p] @ local
        out = torch.zeros(b, t, NUM_JOINTS, 3, dtype=raw.dtype)
        for j, v in pos.items():
            out[:, :, j] = v
        return out, to_world

    def __call__(self, recon, target):
        import torch

        raw_recon, raw_target = recon * self.std + self.mean, target * self.std + self.mean
        (pos_recon, facing_recon), (pos_target, facing_target) = self._kinematics(raw_recon), self._kinematics(raw_target)
        joints = list(CONTACT_JOINTS)
        moved_recon = torch.diff(pos_recon[:, :, joints], dim=1)  # (B, T-1, 4, 3)
        moved_target = torch.diff(pos_target[:, :, joints], dim=1)
        standing = (raw_target[:, :-1, CONTACT_SLICE] > 0.5).to(recon.dtype)  # (B, T-1, 4)
        error = (moved_recon - moved_target).norm(dim=-1)
        loss = (standing * error).sum() / standing.sum().clamp_min(1.0)
        if self.pose_weight > 0:
            # The pose the rotations make, root-relative in each one's own facing frame (a heading drift is the root
            # channels' to answer for): where the feet stand under the body, and the body over them
            def pose(p, facing):
                return (facing.transpose(-1, -2)[:, :, None] @ (p - p[:, :, :1])[..., None])[..., 0]

            loss = loss + self.pose_weight * (pose(pos_recon, facing_recon) - pose(pos_target, facing_target)).norm(dim=-1).mean()
        return loss
