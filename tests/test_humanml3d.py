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


def test_joints_are_read_as_they_are_not_refitted(tmp_path, synth):
    # Joints on another skeleton (HumanML3D's) keep their positions; rotations come from the IK on them.
    from envs.motion.hml3d import process

    _, glob = process(synth.generate("daily_life", "wave", "happy", 0).motion.positions)
    (tmp_path / "new_joints").mkdir()
    np.save(tmp_path / "new_joints" / "a.npy", glob)
    item = next(read_humanml3d(tmp_path))
    assert np.array_equal(item.motion.positions, glob.astype(np.float64))
    assert item.motion.rotations.shape == (len(glob), 22, 4)


def test_write_then_read_a_humanml3d_folder(tmp_path, synth):
    from envs.io.humanml3d import HumanML3DClip, read_humanml3d_stats, write_humanml3d
    from envs.motion import FeatureStats
    from envs.motion.hml3d import encode_official, recover_from_ric

    walk = synth.generate("daily_life", "walk", "sad", 0).motion
    wave30 = synth.generate("daily_life", "wave", "happy", 0).motion.resample(30.0)
    names = write_humanml3d(tmp_path, [HumanML3DClip("000001", walk, ["a person walks slowly", "someone trudges"]),
                                       HumanML3DClip("000002", wave30, [])])
    assert names == ["000001", "000002"] and (tmp_path / "all.txt").read_text().split() == names
    vecs = np.load(tmp_path / "new_joint_vecs" / "000001.npy")
    assert vecs.dtype == np.float32 and np.array_equal(vecs, encode_official(walk.positions))
    joints = np.load(tmp_path / "new_joints" / "000001.npy")
    assert joints.shape == (walk.num_frames - 1, 22, 3) and np.abs(joints - recover_from_ric(vecs)).max() < 1e-6
    items = {i.name: i for i in read_humanml3d(tmp_path)}
    assert np.array_equal(items["000001"].motion.positions, joints.astype(np.float64))
    assert items["000002"].features.shape[0] == wave30.resample(20.0).num_frames - 1
    assert [c.text for c in items["000001"].captions] == ["a person walks slowly", "someone trudges"]
    assert items["000001"].captions[0].tokens == "a/OTHER person/OTHER walks/OTHER slowly/OTHER"
    stats = read_humanml3d_stats(tmp_path)
    expected = FeatureStats.fit_humanml3d([vecs, np.load(tmp_path / "new_joint_vecs" / "000002.npy")])
    assert np.array_equal(stats.mean, expected.mean) and np.array_equal(stats.std, expected.std)


def test_bad_statistics_name_the_file(tmp_path):
    from envs.motion import FeatureStats

    np.save(tmp_path / "Mean.npy", np.zeros(263, np.float32))
    np.save(tmp_path / "Std.npy", np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="Std.npy: expected shape"):
        FeatureStats.load_humanml3d(tmp_path)
    np.save(tmp_path / "Std.npy", np.zeros(263, np.float32))
    with pytest.raises(ValueError, match="Std.npy: std must be positive"):
        FeatureStats.load_humanml3d(tmp_path)
