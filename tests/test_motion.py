import numpy as np
import pytest

from envs.motion import FEATURE_DIM, FeatureStats, Motion, decode, decode_positions, encode
from envs.motion.features import canonicalise


def test_motion_rejects_bad_input(walk_motion):
    pos, rot = walk_motion.positions, walk_motion.rotations
    bad = pos.copy(); bad[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Motion(bad, rot)
    with pytest.raises(ValueError, match="zero frames"):
        Motion(pos[:0], rot[:0])
    with pytest.raises(ValueError, match="shape"):
        Motion(pos[:, :21], rot)
    for fps in (0, -5, float("nan")):
        with pytest.raises(ValueError, match="fps"):
            Motion(pos, rot, fps)
    with pytest.raises(ValueError, match="joint positions of shape"):
        Motion.from_positions(pos[:, :20])


def test_resample_30_to_20_keeps_trajectory(walk_motion):
    m30 = walk_motion.resample(30.0)
    assert m30.num_frames == int((walk_motion.num_frames - 1) * 1.5) + 1
    # Frames at shared instants (every 3rd at 30 fps = every 2nd at 20 fps) are reproduced exactly.
    assert np.abs(m30.positions[::3] - walk_motion.positions[::2][: len(m30.positions[::3])]).max() < 1e-9
    back = m30.resample(20.0)
    n = min(back.num_frames, walk_motion.num_frames)
    # Linear interpolation misses most where the motion is fastest, the swing foot's: 2.4 cm on this walk.
    assert np.abs(back.positions[:n] - walk_motion.positions[:n]).max() < 0.03
    assert back.duration == pytest.approx(walk_motion.duration, abs=0.1)


def test_features_layout_and_exact_round_trip(synth):
    for key in [("daily_life", "walk", "sad", 1), ("dance", "spin", "happy", 0), ("acrobatics", "spin_jump", "angry", 2)]:
        motion = synth.generate(*key).motion
        feats = encode(motion)
        assert feats.shape == (motion.num_frames - 1, FEATURE_DIM) and feats.dtype == np.float32
        canonical, _, r_rot = canonicalise(motion)
        assert np.allclose(r_rot[0], [1, 0, 0, 0])
        err = np.linalg.norm(decode_positions(feats) - canonical[:-1], axis=-1)
        assert err.mean() < 1e-3 and err.max() < 5e-3, key  # metres
        # Rotations decode too: FK of the decoded rotations reproduces the decoded positions.
        dec = decode(feats)
        from envs.skeleton import SMPL22

        fk = SMPL22.forward(dec.rotations, dec.positions[:, 0])
        assert np.abs(fk - dec.positions).max() < 2e-3


def test_features_are_invariant_to_heading_and_place(walk_motion):
    from envs.quaternion import qfrom_axis_angle, qmul, qrot

    q = qfrom_axis_angle(np.array([0, 1.0, 0]), np.deg2rad(73))
    moved_pos = qrot(np.broadcast_to(q, walk_motion.positions.shape[:-1] + (4,)), walk_motion.positions) + [3.0, 0.0, -2.0]
    rot = walk_motion.rotations.copy()
    rot[:, 0] = qmul(np.broadcast_to(q, rot[:, 0].shape), rot[:, 0])
    moved = Motion(moved_pos, rot)
    assert np.allclose(encode(moved), encode(walk_motion), atol=1e-4)


def test_contacts_detect_the_stance_foot(walk_motion):
    feats = encode(walk_motion)
    contacts = feats[:, 259:263]
    assert set(np.unique(contacts)) <= {0.0, 1.0}
    assert 0.2 < contacts.mean() < 0.95  # feet alternate; neither always planted nor always flying


def test_stats_fit_save_load(tmp_path, synth):
    feats = np.concatenate([encode(synth.generate("sports", "run", e, 0).motion) for e in ("sad", "happy")])
    stats = FeatureStats.fit(feats)
    stats.save(tmp_path)
    loaded = FeatureStats.load(tmp_path)
    assert np.array_equal(loaded.mean, stats.mean) and np.array_equal(loaded.std, stats.std)
    norm = loaded.normalise(feats)
    assert np.allclose(loaded.denormalise(norm), feats, atol=1e-4)
    assert abs(float(norm[:, 4:67].mean())) < 0.05
    with pytest.raises(FileNotFoundError, match="data prepare"):
        FeatureStats.load(tmp_path / "missing")
