"""A researcher's first commands after `make demo` (issue: first hour): `generate` writes a BVH two readers
agree on, an MP4 with every frame and a JSON of how the motion came about; `interact` traces one whole
interaction; bad input ends in one line and exit code 2."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.cli import main


def read_bvh_by_the_spec(text: str) -> tuple[list[str], np.ndarray]:
    """An independent reader written from the BVH format description (HIERARCHY of ROOT/JOINT/End Site with
    OFFSET and CHANNELS, then MOTION with Frames, Frame Time and one line of channel values per frame; a
    joint's rotation channels compose in the order listed): joint names and global positions (F, J, 3)."""
    lines = iter(text.splitlines())
    joints: list[dict] = []
    stack: list[int | None] = []
    pending: int | None = None
    for line in lines:
        w = line.split()
        if not w:
            continue
        if w[0] in ("ROOT", "JOINT"):
            parent = next((s for s in reversed(stack) if s is not None), None)
            joints.append({"name": w[1], "parent": parent, "offset": np.zeros(3), "channels": []})
            pending = len(joints) - 1
        elif w[0] == "End":
            pending = None
        elif w[0] == "{":
            stack.append(pending)
        elif w[0] == "}":
            stack.pop()
        elif w[0] == "OFFSET" and pending is not None:
            joints[pending]["offset"] = np.array([float(x) for x in w[1:4]])
        elif w[0] == "CHANNELS":
            joints[pending]["channels"] = w[2:]
        elif w[0] == "MOTION":
            break
    n_frames = int(next(lines).split()[1])
    next(lines)  # Frame Time
    rows = [np.array([float(x) for x in next(lines).split()]) for _ in range(n_frames)]

    def axis_rotation(axis: str, degrees: float) -> np.ndarray:
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
                "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]

    out = np.zeros((n_frames, len(joints), 3))
    for f, row in enumerate(rows):
        col, glob = 0, [None] * len(joints)
        for j, jt in enumerate(joints):
            rot, trans = np.eye(3), jt["offset"].copy()
            for ch in jt["channels"]:
                if ch.endswith("rotation"):
                    rot = rot @ axis_rotation(ch[0], row[col])
                else:
                    trans["XYZ".index(ch[0])] = row[col]
                col += 1
            if jt["parent"] is None:
                glob[j], out[f, j] = rot, trans
            else:
                glob[j] = glob[jt["parent"]] @ rot
                out[f, j] = out[f, jt["parent"]] + glob[jt["parent"]] @ trans
    return [jt["name"] for jt in joints], out / 100.0  # the project writes centimetres


def test_generate_writes_a_bvh_two_readers_agree_on_an_mp4_and_a_json(demo_runs, tmp_path, capsys):
    import imageio.v2 as imageio

    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget
    from envs.skeleton import JOINT_NAMES, ground_offset

    out = [str(tmp_path / f"x{s}") for s in (".bvh", ".npy", ".json", ".mp4")]
    assert main(["generate", "--text", "A person waves hello.", "--emotion", "happy", "--runs", str(demo_runs),
                 "--out", *out, "--execute", "--mode", "full", "--quiet"]) == 0
    meta = json.loads((tmp_path / "x.json").read_text())
    assert meta["frames"] > 0 and meta["expert"] in meta["routing_weights"] and meta["tokens"]
    assert "happy" in meta["instruction"].lower() or meta["instruction"] != "A person waves hello."
    assert meta["physics"]["mode"] == "full" and "success" in meta["physics"]
    motion = np.load(tmp_path / "x.npy")
    assert motion.shape == (meta["frames"], 22, 3)
    # the project's reader (and its retargeting onto SMPL-22, which grounds the clip) ...
    clip = read_bvh(tmp_path / "x.bvh")
    back = retarget(clip, JointMap({n: n for n in JOINT_NAMES}), flatten_feet=False).motion
    assert clip.num_frames == back.num_frames == meta["frames"] and len(clip.names) == 22
    grounded = motion + np.array([0.0, ground_offset(motion), 0.0])
    assert np.abs(back.positions - grounded).max() < 1e-3
    # ... and a reader written in this test from the format description agree with it
    names, positions = read_bvh_by_the_spec((tmp_path / "x.bvh").read_text())
    assert len(names) == 22 and positions.shape[0] == meta["frames"]
    assert np.abs(positions[:, [names.index(n) for n in JOINT_NAMES]] - motion).max() < 1e-3
    assert sum(1 for _ in imageio.get_reader(tmp_path / "x.mp4")) == meta["frames"]


def test_generate_samples_with_seeds_and_an_expert_forced(demo_runs, tmp_path):
    out = tmp_path / "s.json"
    assert main(["generate", "--text", "Someone dances happily.", "--n", "2", "--seed", "5", "--scenario", "sports",
                 "--runs", str(demo_runs), "--out", str(out), "--quiet"]) == 0
    first, second = (json.loads((tmp_path / f"s_{k}.json").read_text()) for k in range(2))
    assert (first["seed"], second["seed"]) == (5, 6) and first["decoding"] == "sampled"
    assert first["expert"] == second["expert"] == "sports" and first["routing_weights"]["sports"] == 1.0


def test_interact_traces_perception_answer_expert_and_verdicts(demo_runs, capsys):
    assert main(["interact", "--say", "I failed my exam again", "--runs", str(demo_runs), "--mode", "full", "--json",
                 "--quiet"]) == 0
    trace = json.loads(capsys.readouterr().out)
    assert trace["perceived"]["emotion"] in ("sad", "anxious", "tired", "angry", "neutral")
    assert trace["response"]["instruction"] and trace["response"]["emotion"] and trace["response"]["reason"]
    assert trace["generated"]["expert"] in ("daily_life", "sports")
    assert set(trace["verdict"]) >= {"success", "physical_ok", "emotion_ok", "semantic_ok"}
    assert main(["interact", "--say", "I finally got the job!", "--runs", str(demo_runs), "--mode", "full", "--quiet"]) == 0
    text = capsys.readouterr().out
    for label in ("perceived", "answer", "generator", "physics", "verdict"):
        assert f"\n{label}" in text or text.startswith(label)


@pytest.mark.parametrize("argv, problem", [
    (["interact", "--say", "   "], "--say is empty"),
    (["generate", "--text", "wave", "--emotion", "ecstatic", "--out", "{tmp}/a.bvh"], "unknown emotion 'ecstatic'"),
    (["generate", "--text", "wave", "--out", "/proc/no-such-folder/a.bvh"], "cannot write there"),
    (["run", "configs/episodes/demo.yaml", "--set", "runtime.learner.stepz=3"], "unknown key 'learner.stepz'"),
    (["run", "configs/episodes/demo.yaml", "--set", "nothing"], "expected CONFIG.KEY=VALUE"),
])
def test_bad_input_is_one_line_and_exit_code_2(demo_runs, tmp_path, capsys, argv, problem):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] in ("generate", "interact"):
        argv += ["--runs", str(demo_runs)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err, err


def test_one_shot_commands_say_how_to_get_models_when_none_are_installed(tmp_path, capsys):
    assert main(["generate", "--text", "wave", "--out", str(tmp_path / "a.npy"), "--runs", str(tmp_path / "empty")]) == 2
    assert main(["perceive", "--text", "hello", "--runs", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("make demo" in line for line in err)
