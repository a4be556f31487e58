"""`pip install .` (not editable) into a fresh environment, then `l2emg demo` from a folder outside the
checkout and `gymnasium.make` of every id after `import gymnasium` alone. The new environment reuses this
one's third-party packages (a path file: nothing is downloaded); l2emg itself is built into a wheel and
installed for real, so configs, shipped assets and the Gymnasium hook must travel as package data."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pip_install_then_demo_and_gymnasium_from_outside_the_checkout(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_l2emg_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # the wheel is built with this environment's setuptools (the new one ships an older one), then installed
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile",
                    "--disable-pip-version-check", *map(str, wheels.glob("l2emg-*.whl"))], check=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "L2EMG_CONFIG_DIR")}
    probe = ("import gymnasium as g; from envs.registration import ENVS; "
             "[g.make(i).reset(seed=0) for i in ENVS]; "
             "from envs.config import config_dir; from agent.recipes.shipped import assets_root; "
             "print(config_dir()); print(assets_root())")
    out = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=elsewhere, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    config, assets = out.stdout.split()
    assert str(site) in config and str(site) in assets and str(ROOT) not in config + assets  # the installed copies
    # the demo, shortened (named in its report): 16 interactions before the new scenario, a 20-step expert trained
    # unpaced, 24 interactions after it, no replay, no videos, in one process (the Ray path is tested by test_runtime
    # and test_cluster, the pacing by test_learner_pacing)
    demo = subprocess.run([str(venv / "bin" / "l2emg"), "demo", "--backend", "local", "--no-render", "--json",
                           "--set", "episode.phases.0.interactions=16", "--set", "runtime.learner.steps=20",
                           "--set", "runtime.learner.duty=1",
                           "--set", "episode.phases.2.interactions=24", "--set", "episode.replay=0"],
                          capture_output=True, text=True, cwd=elsewhere, env=env, timeout=900)
    assert demo.returncode == 0, demo.stderr[-3000:]
    summary = json.loads(demo.stdout)
    assert summary["interactions"] >= 16 + 24 + 24 and summary["overrides"]["runtime.learner.steps"] == "20"
    assert summary["phases"]["known scenarios"]["n"] == 16 and summary["phases"]["after the expert landed"]["n"] == 24
    assert (elsewhere / "runs" / "demo" / "report.md").is_file() and (elsewhere / "runs" / "synth-8" / "tokenizer").is_dir()
