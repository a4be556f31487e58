import imageio.v2 as imageio
import pytest

from envs.render import render_motion


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_render_writes_every_frame(tmp_path, walk_motion, suffix):
    clip = walk_motion.slice(0, 12)
    path = render_motion(clip, tmp_path / f"walk{suffix}", title="walk", size=(160, 160), ghost=clip)
    reader = imageio.get_reader(path)
    frames = [f for f in reader]
    assert len(frames) == 12 and frames[0].shape[:2] == (160, 160)


def test_render_rejects_unknown_format(tmp_path, walk_motion):
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        render_motion(walk_motion, tmp_path / "x.avi")


def _left_arm_forward():
    """A T-pose facing +Z whose left arm (data +X side) points forward, along +Z."""
    import numpy as np

    from envs.motion import Motion
    from envs.quaternion import qfrom_axis_angle
    from envs.skeleton import JOINT_INDEX, SMPL22

    rot = np.zeros((2, 22, 4))
    rot[..., 0] = 1.0
    rot[:, JOINT_INDEX["l_shoulder"]] = qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), -np.pi / 2)  # +X arm -> +Z
    return Motion.from_rotations(rot, np.tile([0.0, 0.95, 0.0], (2, 1)), 20.0, SMPL22)


def _arms(path):
    """(mean column, top row) of the left-arm (green) and of the right-arm (orange) strokes."""
    import numpy as np

    frame = np.asarray(imageio.mimread(path)[0])[..., :3].astype(int)
    out = []
    for colour in ((0x2C, 0xA0, 0x2C), (0xFF, 0x7F, 0x0E)):
        rows, cols = np.nonzero(np.abs(frame - np.array(colour)).sum(axis=-1) < 60)
        assert len(rows) > 20, "arm stroke not found in the image"
        out.append((cols.mean(), rows.min()))
    return out


def test_render_is_not_mirrored(tmp_path, monkeypatch):
    """From a camera in front of the body and above it: the left arm is on the right of the picture, and, pointing
    forward at the camera, it does not rise above the right arm's shoulder line. From behind, both flip. A
    mirrored drawing (the old (x, z, y) plot) shows the back as if it were the front: the arm stays on the
    right but, pointing away from the camera, rises above the shoulders."""
    import envs.render as render

    pose = _left_arm_forward()
    view = dict(size=(240, 240), elevation_deg=45.0)
    (lcol, ltop), (rcol, rtop) = _arms(render.render_motion(pose, tmp_path / "front.gif", azimuth_deg=0.0, **view))
    assert lcol > rcol + 20 and ltop >= rtop - 5
    (lcol, ltop), (rcol, rtop) = _arms(render.render_motion(pose, tmp_path / "back.gif", azimuth_deg=180.0, **view))
    assert lcol < rcol - 20 and ltop < rtop - 15
    monkeypatch.setattr(render, "_plot", lambda p: (p[..., 0], p[..., 2], p[..., 1]))
    (lcol, ltop), (rcol, rtop) = _arms(render.render_motion(pose, tmp_path / "mirrored.gif", azimuth_deg=0.0, **view))
    assert not (lcol > rcol + 20 and ltop >= rtop - 5)


def test_the_simulator_scene_is_not_mirrored():
    """envs/sim_render.py films MuJoCo, whose cameras project properly; what could mirror is the data -> MuJoCo
    conversion. It must be a rotation: forward (+Z) -> +X, left (+X) -> +Y, up (+Y) -> +Z, right-handed."""
    import numpy as np

    from envs.humanoid import from_mujoco, to_mujoco

    m = np.stack([to_mujoco(e) for e in np.eye(3)], axis=1)
    assert np.isclose(np.linalg.det(m), 1.0)
    assert np.allclose(to_mujoco(np.array([0.0, 0.0, 1.0])), [1, 0, 0]) and np.allclose(to_mujoco(np.array([1.0, 0.0, 0.0])), [0, 1, 0])
    assert np.allclose(from_mujoco(to_mujoco(np.arange(3.0))), np.arange(3.0))
