import numpy as np
import pytest

from envs.io.humanml3d import read_humanml3d
from envs.motion import encode
from envs.motion.features import canonicalise


def make_folder(root, synth):
    for d in ("new_joints", "new_joint_vecs", "texts"):
        (root / d).mkdir(parents=True)
    m = synth.generate("daily_life", "walk", "sad", 0).motion
    np.save(root / "new_joints" / "000001.npy", canonicalise(m)[0].astype(np.float32))
    np.save(root / "new_joint_vecs" / "000001.npy", encode(m))
    (root / "texts" / "000001.txt").write_text("a person walks slowly#a/DET person/NOUN#0.0#0.0\nsomeone shuffles#x#1.0#3.5\n")
    np.save(root / "new_joint_vecs" / "000002.npy", encode(synth.generate("sports", "run", "happy", 0).motion))
    return m


def test_reads_joints_vectors_and_captions(tmp_path, synth):
    m = make_folder(tmp_path, synth)
    items = {i.name: i for i in read_humanml3d(tmp_path)}
    assert set(items) == {"000001", "000002"}
    a = items["000001"]
    assert a.motion.num_frames == m.num_frames and a.features.shape == (m.num_frames - 1, 263)
    assert [c.text for c in a.captions] == ["a person walks slowly", "someone shuffles"] and a.captions[1].end_s == 3.5
    assert np.abs(a.motion.positions - canonicalise(m)[0]).max() < 1e-4
    assert items["000002"].motion.num_frames == items["000002"].features.shape[0]  # decoded from features


def test_bad_folders_name_the_file(tmp_path, synth):
    with pytest.raises(FileNotFoundError, match="not a HumanML3D folder"):
        list(read_humanml3d(tmp_path))
    make_folder(tmp_path, synth)
    np.save(tmp_path / "new_joint_vecs" / "000003.npy", np.zeros((10, 100), np.float32))
    with pytest.raises(ValueError, match="000003.npy: expected features"):
        list(read_humanml3d(tmp_path))
