"""Regenerate tests/data/humanml3d_parity/ from the official HumanML3D code (run once; the output is committed).

    python benchmarks/humanml3d_parity_fixture.py --official PATH_TO_HumanML3D_CHECKOUT [--out DIR]

PATH is a checkout of https://github.com/EricGuo5513/HumanML3D (MIT). Its code is imported from there at
run time and never copied into this repository: ``common/`` and ``paramUtil.py`` as modules, and the
function cells of ``motion_representation.ipynb`` (``uniform_skeleton``, ``process_file``,
``recover_root_rot_pos``, ``recover_from_rot``, ``recover_from_ric``) executed from the notebook file.
The target skeleton's offsets are measured as the official script does (``Skeleton.get_offsets_joints``
on a first frame), on the clip the repository ships (``HumanML3D/new_joints/012314.npy``, already on
that skeleton) since clip 000021 comes from AMASS and is not redistributed.

Each clip file (.npz) holds the input joints (48 frames of this project's synthetic motion: a sad walk,
a spin jump (290 degrees, which the facing smoothing flattens), a wave on a smaller body starting
anywhere and facing -X, a walk whose smoothed facing turns through 180 degrees, a fast run on a larger
body) and what the official code makes of them:
  official_vecs            process_file(joints, 0.002)[0]                (float32, T-1 x 263)
  official_vecs_ieee_diff  the same with torch.sqrt correctly rounded (see below), minus official_vecs
  official_global          process_file(...)[1]: the processed positions the features describe
  official_ric / _rot      recover_from_ric / recover_from_rot on official_vecs
  official_ric_on_ours, official_rot_on_ours, official_ric_on_corrected: the official decoders on this
                           project's export (envs.motion.hml3d.encode_official, official and corrected)

Why two official runs: the official code computes in float32 through torch, and this machine's torch
(2.13 CPU, AVX2) returns float32 square roots of vectors to within 1 ulp, not correctly rounded (~16 %
of them differ from IEEE). That noise is amplified where a swing is nearly 180 degrees (the facing of a
clip that turns around) or where float32 positions are far from the origin, and the official features
then move by up to 6.6e-5 (run_far) between two machines running the same official code. With torch.sqrt
made correctly rounded (through float64) the official code gives bit for bit what envs.motion.hml3d gives.
fixture.json records, per clip and block, both gaps.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAMES = 48  # 2.4 s at 20 fps per clip keeps the committed fixture small
CLIPS = {  # name -> (scenario, family, emotion, extra yaw (deg, ramped over the clip), body scale, start xz, start yaw deg, floor y)
    "walk": ("daily_life", "walk", "sad", 0.0, 1.0, (0.0, 0.0), 0.0, 0.0),
    "spin_jump": ("acrobatics", "spin_jump", "energetic", 0.0, 1.0, (0.5, -1.0), 30.0, 0.0),
    "wave_small": ("daily_life", "wave", "happy", 0.0, 0.9, (-2.0, 5.0), -90.0, -0.03),
    "walk_turn": ("daily_life", "walk", "neutral", 240.0, 1.0, (0.0, 0.0), 0.0, 0.0),
    "run_far": ("sports", "run", "angry", 0.0, 1.12, (4.0, 3.0), 0.0, 0.02),
}


def _yaw(deg: np.ndarray) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros(np.shape(a) + (3, 3))
    m[..., 0, 0], m[..., 0, 2], m[..., 1, 1], m[..., 2, 0], m[..., 2, 2] = c, s, 1.0, -s, c
    return m


def make_joints(spec: tuple) -> np.ndarray:
    """Input joints (T, 22, 3) for one clip: synthetic motion, turned, rescaled and placed."""
    from envs.synth import SynthSource

    scenario, family, emotion, extra_yaw, scale, start, start_yaw, floor = spec
    pos = SynthSource().generate(scenario, family, emotion, 0).motion.positions[:FRAMES]
    t = len(pos)
    yaw = _yaw(start_yaw + extra_yaw * np.arange(t) / (t - 1))  # (T, 3, 3)
    root = pos[:, 0].copy()
    step = np.diff(root, axis=0, prepend=root[:1])
    step[:, 1] = 0.0
    new_root = np.cumsum(np.einsum("tij,tj->ti", yaw, step), axis=0)
    new_root[:, 1] = root[:, 1]
    local = pos - root[:, None]
    out = np.einsum("tij,tkj->tki", yaw, local) + new_root[:, None]
    out = out * scale
    out += np.array([start[0], floor, start[1]])
    return out.astype(np.float32)


def load_official(path: Path) -> types.SimpleNamespace:
    """The official functions, imported and executed from the checkout at ``path``."""
    import torch

    if not hasattr(np, "float"):
        np.float = float  # the official common/quaternion.py predates numpy 1.24
    sys.path.insert(0, str(path))
    import common.quaternion as quaternion_module
    from common.skeleton import Skeleton
    from paramUtil import t2m_kinematic_chain, t2m_raw_offsets

    ns: dict = {}
    exec("from common.skeleton import Skeleton\nfrom common.quaternion import *\nfrom paramUtil import *\n"
         "import numpy as np\nimport torch\n", ns)
    notebook = json.loads((path / "motion_representation.ipynb").read_text())
    for cell in notebook["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and src.lstrip().startswith(("def ", "# Recover")) and "__main__" not in src:
            exec(src, ns)
    n_raw_offsets = torch.from_numpy(t2m_raw_offsets)
    example = torch.from_numpy(np.load(path / "HumanML3D/new_joints/012314.npy")[0])
    tgt_skel = Skeleton(n_raw_offsets, t2m_kinematic_chain, "cpu")
    tgt_offsets = tgt_skel.get_offsets_joints(example)
    ns.update(l_idx1=5, l_idx2=8, fid_r=[8, 11], fid_l=[7, 10], face_joint_indx=[2, 1, 17, 16], r_hip=2, l_hip=1,
              joints_num=22, n_raw_offsets=n_raw_offsets, kinematic_chain=t2m_kinematic_chain, tgt_offsets=tgt_offsets)
    rot_skel = Skeleton(n_raw_offsets, t2m_kinematic_chain, "cpu")
    rot_skel.set_offset(tgt_offsets)

    def ric(vecs: np.ndarray) -> np.ndarray:
        return ns["recover_from_ric"](torch.from_numpy(vecs).unsqueeze(0).float(), 22).squeeze(0).numpy()

    def rot(vecs: np.ndarray) -> np.ndarray:
        return ns["recover_from_rot"](torch.from_numpy(vecs).float(), 22, rot_skel).numpy()

    ieee = types.SimpleNamespace(**{k: getattr(torch, k) for k in dir(torch) if not k.startswith("__")})
    ieee.sqrt = lambda x: torch.sqrt(x.double()).float()

    def process_ieee(joints: np.ndarray, thres: float):
        quaternion_module.torch = ieee
        try:
            return ns["process_file"](joints, thres)
        finally:
            quaternion_module.torch = torch

    commit = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    if not commit and (path / ".commit").is_file():  # an exported tree (git archive) may carry its commit here
        commit = (path / ".commit").read_text().strip()
    return types.SimpleNamespace(process_file=ns["process_file"], process_ieee=process_ieee, ric=ric, rot=rot,
                                 lengths=np.linalg.norm(tgt_offsets.numpy(), axis=-1), commit=commit or "unknown")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", required=True, type=Path, help="checkout of EricGuo5513/HumanML3D")
    p.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "humanml3d_parity")
    args = p.parse_args()
    from envs.motion.features import FEATURE_GROUPS
    from envs.motion.hml3d import T2M_BONE_LENGTHS, encode_official

    off = load_official(args.official.resolve())
    gap = float(np.abs(off.lengths - T2M_BONE_LENGTHS).max())
    print(f"target skeleton: largest bone-length difference to T2M_BONE_LENGTHS {gap:.2e} m")
    args.out.mkdir(parents=True, exist_ok=True)
    import torch

    meta = {"official_commit": off.commit, "torch": torch.__version__, "t2m_bone_lengths": off.lengths.tolist(), "clips": {}}
    for name, spec in CLIPS.items():
        joints = make_joints(spec)
        vecs, glob, _, _ = off.process_file(joints.astype(np.float64), 0.002)
        vecs = np.asarray(vecs, dtype=np.float32)
        vecs_ieee = np.asarray(off.process_ieee(joints.astype(np.float64), 0.002)[0], dtype=np.float32)
        ours = encode_official(joints, "official")
        corrected = encode_official(joints, "corrected")
        arrays = {
            "joints": joints, "official_vecs": vecs, "official_vecs_ieee_diff": vecs_ieee - vecs,
            "official_global": np.asarray(glob, dtype=np.float32),
            "official_ric": off.ric(vecs), "official_rot": off.rot(vecs),
            "official_ric_on_ours": off.ric(ours), "official_rot_on_ours": off.rot(ours),
            "official_ric_on_corrected": off.ric(corrected),
        }
        np.savez_compressed(args.out / f"{name}.npz", **arrays)
        def gaps(a: np.ndarray, b: np.ndarray) -> dict:
            return {k: float(np.abs(a[:, sl] - b[:, sl]).max()) for k, sl in FEATURE_GROUPS.items()}

        meta["clips"][name] = {"source": "/".join(spec[:3]), "extra_yaw_deg": spec[3], "scale": spec[4],
                               "frames": int(len(joints)), "ours_vs_official": gaps(ours, vecs),
                               "ours_vs_official_ieee_sqrt": gaps(ours, vecs_ieee),
                               "official_vs_official_ieee_sqrt": gaps(vecs, vecs_ieee),
                               "official_ric_vs_processed_m": float(np.abs(arrays["official_ric"] - glob[:-1]).max()),
                               "official_ric_on_corrected_vs_processed_m":
                                   float(np.abs(arrays["official_ric_on_corrected"] - glob[:-1]).max())}
        print(f"{name}: {len(joints)} frames, |ours - official| max {np.abs(ours - vecs).max():.2e}, "
              f"|ours - official with IEEE sqrt| max {np.abs(ours - vecs_ieee).max():.2e}")
    (args.out / "fixture.json").write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
