from pathlib import Path

import numpy as np
import pytest

from envs.io.bvh import BVHError, iter_bvh_folder, parse_bvh, read_bvh, write_bvh
from envs.skeleton import JOINT_NAMES, PARENTS, SMPL22

TWO_JOINT = """HIERARCHY
ROOT hips
{{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition {rot}
  JOINT spine
  {{
    OFFSET 0 {len} 0
    CHANNELS 3 {rot}
    End Site
    {{
      OFFSET 0 {len} 0
    }}
  }}
}}
MOTION
Frames: 2
Frame Time: 0.0333333
{rows}
"""


def make_bvh(rot="Zrotation Xrotation Yrotation", length=10.0, rows=("0 90 0 0 0 0 0 0 0", "1 90 0 0 90 0 0 0 0")):
    return TWO_JOINT.format(rot=rot, len=length, rows="\n".join(rows))


def test_parse_units_and_fk():
    clip = parse_bvh(make_bvh())
    assert clip.names == ["hips", "spine"] and clip.parents == [-1, 0] and clip.fps == pytest.approx(30, rel=1e-3)
    pos = clip.global_positions(units="cm", up_axis="y")  # a two-joint chain is no body to detect units on
    assert np.allclose(pos[0, 0], [0, 0.9, 0]) and np.allclose(pos[0, 1], [0, 1.0, 0])
    # Frame 1: root at x=1 cm, rotated 90 deg about X -> the spine offset (0, 10, 0) turns to (0, 0, 10).
    assert np.allclose(pos[1, 1], [0.01, 0.9, 0.1], atol=1e-9)
    metres = parse_bvh(make_bvh(length=0.1, rows=("0 0.9 0 0 0 0 0 0 0",) * 2))
    assert np.allclose(metres.global_positions(units="m", up_axis="y")[0, 1], [0, 1.0, 0])


@pytest.mark.parametrize("order", ["XYZ", "ZXY", "YZX", "ZYX"])
def test_any_euler_order(order):
    rot = " ".join(f"{a}rotation" for a in order)
    clip = parse_bvh(make_bvh(rot=rot, rows=("0 90 0 0 0 0 30 40 50",) * 2))
    assert clip.local_transforms()[0].shape == (2, 2, 3, 3)


def test_three_channel_joints_keep_offsets():
    text = make_bvh(rows=("0 90 0 0 0 0 0 0 0",) * 2)
    assert "CHANNELS 3" in text
    clip = parse_bvh(text)
    assert [len(c) for c in clip.channels] == [6, 3]


def test_write_then_read_reproduces_positions(tmp_path, walk_motion):
    path = tmp_path / "walk.bvh"
    write_bvh(path, walk_motion.rotations, walk_motion.positions[:, 0], SMPL22.offsets, JOINT_NAMES, PARENTS, walk_motion.fps)
    clip = read_bvh(path)
    assert sorted(clip.names) == sorted(JOINT_NAMES) and clip.num_frames == walk_motion.num_frames
    pos = clip.global_positions(units="cm")[:, [clip.names.index(n) for n in JOINT_NAMES]]
    assert np.abs(pos - walk_motion.positions).max() < 1e-4


BAD_CASES = {
    "truncated": (lambda t: t[: t.rindex("\n1 90")], "truncated"),
    "wrong channel count": (lambda t: t.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 4 Zrotation Xrotation Yrotation"), "channel"),
    "short frame line": (lambda t: t.replace("1 90 0 0 90 0 0 0 0", "1 90 0 0 90 0 0 0"), "frame 1 has 8 values"),
    "nan": (lambda t: t.replace("1 90 0 0 90", "1 nan 0 0 90"), "NaN"),
    "no motion": (lambda t: t[: t.index("MOTION")], "no MOTION section"),
    "empty": (lambda t: "", "empty file"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, case):
    mutate, needle = BAD_CASES[case]
    path = tmp_path / f"{case.replace(' ', '_')}.bvh"
    path.write_text(mutate(make_bvh()))
    with pytest.raises(BVHError) as err:
        read_bvh(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and needle in msg


def test_empty_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}: no .bvh files"):
        iter_bvh_folder(tmp_path)
    (tmp_path / "a.bvh").write_text(make_bvh())
    assert iter_bvh_folder(tmp_path) == [Path(tmp_path / "a.bvh")]
