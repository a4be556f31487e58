"""Property-based tests of the BVH reader (issue 25): random bytes, random token streams in BVH's grammar,
and small mutations of real files (Bandai-Namco clips cut to a few frames, generated at test time from
$L2EMG_BANDAI_ROOT; the foreign skeleton conventions built in tests/foreign_bvh.py) end in a clip (then in positions, a body frame and a
retargeted Motion) or in the project's own one-line error; never another exception or a hang."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from envs.io.bvh import BVHClip, parse_bvh, read_bvh
from foreign_bvh import RIGS, rig_text  # other people's skeleton conventions, built in code
from fuzz_helpers import fuzz, mutated_text, numbers, result_or_own_error

FOREIGN = {name: rig_text(name) for name in RIGS}
MAPS = {"cmu": "cmu", "lafan1": "lafan1", "mixamo": "mixamo", "bandai": "bandai", "toeless": None}
BANDAI_CLIPS = ("dataset-1_bow_angry_001", "dataset-1_walk_normal_002", "dataset-1_dash_normal_001")
FRAMES = 6  # real clips are cut to this many frames: the mutations, not the clip length, are under test


def _cut(text: str, frames: int) -> str:
    """A real BVH file with its first ``frames`` frames (the 'Frames:' line adjusted)."""
    head, _, motion = text.partition("\nMOTION")
    lines = [ln for ln in motion.splitlines() if ln.strip()]
    return head + "\nMOTION\n" + f"Frames: {frames}\n" + lines[1] + "\n" + "\n".join(lines[2:2 + frames]) + "\n"


def _bandai_seeds() -> list[str]:
    root = os.environ.get("L2EMG_BANDAI_ROOT")
    if not root or not (Path(root) / "dataset-1" / "data").is_dir():
        return []
    return [_cut((Path(root) / "dataset-1" / "data" / f"{name}.bvh").read_text(), FRAMES) for name in BANDAI_CLIPS]


BANDAI = _bandai_seeds()
needs_bandai = pytest.mark.skipif(not BANDAI, reason="mutations of real Bandai-Namco files need $L2EMG_BANDAI_ROOT")
TOKENS = ["HIERARCHY", "ROOT", "JOINT", "End", "Site", "{", "}", "OFFSET", "CHANNELS", "3", "6", "Xposition", "Yposition",
          "Zposition", "Xrotation", "Yrotation", "Zrotation", "MOTION", "Frames:", "Frame", "Time:", "Hips", "Spine"]


SMALL = ("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
         " JOINT Spine\n {\n  OFFSET 0 10 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 10 0\n  }\n }\n}\n"
         "MOTION\nFrames: 2\nFrame Time: 0.05\n0 90 0 0 0 0 0 0 0\n0 90 0 0 0 0 0 0 0\n")


def use_clip(clip: BVHClip, joint_map: str | None = None) -> None:
    """What a caller does with a parsed clip: positions in metres, its body frame, and (given a map) a retarget."""
    assert clip.values.shape == (clip.num_frames, sum(len(c) for c in clip.channels)) and np.isfinite(clip.values).all()
    pos = result_or_own_error(clip.global_positions)
    if isinstance(pos, np.ndarray):
        assert pos.shape == (clip.num_frames, len(clip.names), 3)
    if joint_map is not None:
        from envs.joint_map import JointMap
        from envs.retarget import retarget

        jm = JointMap.from_yaml(joint_map)
        out = result_or_own_error(retarget, clip, jm)
        if not isinstance(out, Exception):
            assert np.isfinite(out.motion.positions).all() and out.motion.num_frames >= 1


def check_text(text: str, joint_map: str | None = None) -> None:
    clip = result_or_own_error(parse_bvh, text, "fuzz.bvh")
    if isinstance(clip, BVHClip):
        use_clip(clip, joint_map)


@fuzz(150)
@given(st.binary(max_size=3000))
def test_random_bytes_give_a_clip_or_a_bvh_error(tmp_path_factory, data: bytes):
    path = tmp_path_factory.getbasetemp() / "random.bvh"
    path.write_bytes(data)
    clip = result_or_own_error(read_bvh, path)
    if isinstance(clip, BVHClip):
        use_clip(clip)


@fuzz(400)
@given(st.lists(st.sampled_from(TOKENS) | numbers(), max_size=80), st.sampled_from([" ", "\n", "\t", "\r\n"]))
@example(["HIERARCHY", "ROOT", "a", "{", "CHANNELS", "3", "Xrotation", "Yrotation", "Zrotation", "}", "MOTION", "Frames:", "1",
          "Frame", "Time:", "0.1", "0", "0", "0"], "\n")
def test_token_streams_in_bvh_grammar_give_a_clip_or_a_bvh_error(tokens: list[str], sep: str):
    check_text(sep.join(tokens))


@fuzz(200)
@given(mutated_text([*FOREIGN.values(), SMALL], extra_tokens=TOKENS))
@example(SMALL.replace("\n0 90", "\n: 0 90", 1))  # bug: numpy raised ValueError on a token that is no number
def test_mutated_foreign_skeletons_give_a_clip_or_a_bvh_error(text: str):
    check_text(text)


@needs_bandai
@fuzz(250)
@given(mutated_text(BANDAI, extra_tokens=TOKENS) if BANDAI else st.nothing())
def test_mutated_bandai_files_give_a_clip_or_a_bvh_error(text: str):
    check_text(text)


@needs_bandai
@fuzz(50)
@given(mutated_text(BANDAI, max_ops=2, extra_tokens=TOKENS) if BANDAI else st.nothing())
def test_mutated_bandai_files_retarget_or_give_an_own_error(text: str):
    check_text(text, joint_map="bandai")


@fuzz(40)
@given(st.sampled_from(sorted(FOREIGN)).flatmap(lambda k: st.tuples(st.just(k), mutated_text([FOREIGN[k]], max_ops=2))))
def test_mutated_foreign_skeletons_retarget_or_give_an_own_error(pair: tuple[str, str]):
    name, text = pair
    check_text(text, joint_map=MAPS[name])


def test_the_seeds_themselves_read_cleanly():
    """The mutations start from files the reader takes: a failure above is the mutation's doing."""
    for text in [*FOREIGN.values(), *BANDAI]:
        clip = parse_bvh(text)
        assert clip.num_frames >= 1 and re.search(r"Frames:\s*\d+", text)
