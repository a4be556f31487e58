from pathlib import Path

import numpy as np
import pytest

from envs.io.bvh import read_bvh, write_bvh
from envs.motion import decode_positions, encode
from envs.motion.features import canonicalise
from envs.retarget import BANDAI_JOINT_MAP, JointMap, retarget
from envs.skeleton import JOINT_NAMES, PARENTS, SMPL22


def test_identity_map_retargets_an_smpl_bvh_exactly(tmp_path, walk_motion):
    # A skeleton 1.3x larger with renamed joints, exported at 30 fps: retargeting rescales and resamples.
    names = [f"J_{n}" for n in JOINT_NAMES]
    m30 = walk_motion.resample(30.0)
    path = tmp_path / "big.bvh"
    write_bvh(path, m30.rotations, m30.positions[:, 0] * 1.3, SMPL22.offsets * 1.3, names, PARENTS, 30.0)
    result = retarget(read_bvh(path), JointMap({n: f"J_{n}" for n in JOINT_NAMES}))
    assert result.mean_error_m < 1e-4 and result.source_fps == pytest.approx(30.0)
    assert result.motion.fps == 20.0 and abs(result.motion.num_frames - walk_motion.num_frames) <= 1
    lengths = np.linalg.norm(result.motion.positions[:, 1:] - result.motion.positions[:, list(PARENTS[1:])], axis=-1)
    assert np.allclose(lengths, SMPL22.bone_lengths[1:], atol=1e-6)


def test_joint_map_validation(tmp_path):
    with pytest.raises(ValueError, match="l_hip: missing"):
        JointMap({"pelvis": "Hips"})
    (tmp_path / "map.yaml").write_text("\n".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in BANDAI_JOINT_MAP.items()))
    assert JointMap.from_yaml(tmp_path / "map.yaml").entries == BANDAI_JOINT_MAP


@pytest.mark.real_data
def test_every_dataset1_clip_retargets_and_round_trips(bandai_root: Path):
    files = sorted((bandai_root / "dataset-1" / "data").glob("*.bvh"))
    assert len(files) == 174
    errors, roundtrip = [], []
    for f in files:
        result = retarget(read_bvh(f), JointMap.bandai())
        errors.append(result.mean_error_m * 100)
        feats = encode(result.motion)
        canonical = canonicalise(result.motion)[0][:-1]
        roundtrip.append(np.linalg.norm(decode_positions(feats) - canonical, axis=-1).mean() * 1000)
    assert np.median(errors) < 1.5 and max(errors) < 4.0, (np.median(errors), max(errors))
    assert max(roundtrip) < 1.0  # mm, on every clip


@pytest.mark.real_data
def test_dataset2_archive_streams_and_retargets(bandai_root: Path):
    from itertools import islice

    from envs.io.bandai import iter_bandai
    from policies.data.process import process_bandai

    clips = [process_bandai(item) for item in islice(iter_bandai(bandai_root, ("dataset-2",)), 6)]
    assert all(c.ok for c in clips), [c.error for c in clips]
    assert all(c.source_fps == pytest.approx(30.0, rel=1e-3) and c.retarget_error_cm < 4.0 for c in clips)
