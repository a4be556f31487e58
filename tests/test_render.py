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
