"""The tokenizer's foot-contact term (policies/tokenizer/foot_contact.py): its kinematics are the decoder's and the
executor's, and it reads sliding feet where the clip stands and nothing else."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from envs.motion import decode, encode  # noqa: E402
from envs.motion.features import CONTACT_SLICE  # noqa: E402
from envs.motion.stats import FeatureStats  # noqa: E402
from envs.skeleton import SMPL22  # noqa: E402
from envs.synth import SynthSource  # noqa: E402
from policies.tokenizer.foot_contact import CONTACT_JOINTS, FootContactLoss  # noqa: E402

IDENTITY = FeatureStats(np.zeros(263, np.float32), np.ones(263, np.float32))


@pytest.fixture(scope="module")
def spin_features():
    return encode(SynthSource().generate("dance", "spin", "happy", 0).motion)  # turns and steps: every channel moves


def test_positions_are_the_decoded_motions_forward_kinematics(spin_features):
    motion = decode(spin_features)
    expected = SMPL22.forward(motion.rotations, motion.positions[:, 0])
    loss = FootContactLoss(IDENTITY)
    got = loss.positions(torch.tensor(spin_features[None], dtype=torch.float64))[0].numpy()
    assert set(CONTACT_JOINTS) <= set(loss.chain) and 0 in loss.chain
    np.testing.assert_allclose(got[:, loss.chain], expected[:, loss.chain], atol=1e-6)  # float32 features


def test_zero_on_the_clip_itself_and_grows_with_a_slide_while_it_stands(spin_features):
    loss = FootContactLoss(IDENTITY)
    x = torch.tensor(spin_features[None])
    assert loss(x, x).item() == 0.0
    slid = spin_features.copy()
    slid[:, 1] += 0.01  # the root carried 1 cm per frame sideways: every standing foot slides with it
    assert spin_features[:, CONTACT_SLICE].sum() > 10  # the clip stands on some foot in many frames
    assert loss(torch.tensor(slid[None]), x).item() == pytest.approx(0.01, rel=1e-4)
    airborne = spin_features.copy()
    airborne[:, CONTACT_SLICE] = 0.0  # the same slide where the clip never stands costs nothing
    assert loss(torch.tensor(slid[None]), torch.tensor(airborne[None])).item() == 0.0


def test_gradient_reaches_rotations_and_root(spin_features):
    loss = FootContactLoss(IDENTITY)
    target = torch.tensor(spin_features[None])
    recon = target.clone() + 0.01 * torch.randn_like(target, generator=torch.Generator().manual_seed(0))
    recon.requires_grad_(True)
    loss(recon, target).backward()
    grad = recon.grad[0].abs().sum(dim=0)
    assert grad[1:3].sum() > 0 and grad[67:193].sum() > 0  # root velocity and 6D rotations
    assert grad[4:67].sum() == 0  # the ric positions: not what the executor builds its reference from


def test_the_pose_part_reads_the_rotations_pose_not_the_heading(spin_features):
    plain, posed = FootContactLoss(IDENTITY), FootContactLoss(IDENTITY, pose_weight=1.0)
    assert posed.chain == list(range(22))
    x = torch.tensor(spin_features[None])
    turned = spin_features.copy()
    turned[:, 0] += 0.05  # the heading drifts: the standing feet slide, the pose is the same
    assert posed(torch.tensor(turned[None]), x).item() == pytest.approx(plain(torch.tensor(turned[None]), x).item(), abs=1e-5)
    bent = spin_features.copy()
    bent[:, 67 + 6 * 20:67 + 6 * 21] = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 1.0])  # the last slot: the elbow turns, the wrist moves
    assert plain(torch.tensor(bent[None]), x).item() == 0.0  # the feet do not see it
    assert posed(torch.tensor(bent[None]), x).item() > 0.0


def test_the_pose_weight_alone_is_refused():
    from policies.tokenizer.model import TokenizerConfig

    with pytest.raises(ValueError, match="foot_contact_weight > 0"):
        TokenizerConfig(fk_pose_weight=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        TokenizerConfig(foot_contact_weight=-1.0)
    assert TokenizerConfig(foot_contact_weight=20.0, fk_pose_weight=1.0).fk_pose_weight == 1.0
