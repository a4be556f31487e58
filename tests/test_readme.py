"""Every code block of the README runs as written (issue: first hour): `make` targets are checked with
`make -n`, `l2emg` lines run in a fresh folder holding what `make demo` installs, Python blocks are executed
there, the episode YAML is written and run, the pytest-plugin example is called as pytest would, and the
`runs/` layout shown is what that run wrote. The README itself holds no commit hashes."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from agent.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang]


def test_readme_has_the_two_commands_and_no_history():
    assert [line.strip() for line in blocks("bash")[0].splitlines() if line.strip()] == ["make demo", "make test"]
    assert not re.search(r"\b[0-9a-f]{7,40}\b", README), "commit hashes belong in commit messages"
    assert not re.search(r"this stop|this session|previous session|\bstop \d", README, flags=re.I)
    for target in ("demo", "test"):
        subprocess.run(["make", "-n", target], cwd=ROOT, check=True, capture_output=True)


@pytest.fixture(scope="module")
def newcomer(demo_runs: Path, tmp_path_factory) -> Path:
    """A folder outside the checkout with the models `make demo` installs under runs/."""
    home = tmp_path_factory.mktemp("newcomer")
    (home / "runs").mkdir()
    os.symlink(demo_runs / "synth-8", home / "runs" / "synth-8")
    return home


@pytest.fixture
def in_newcomer(newcomer: Path, monkeypatch) -> Path:
    from policies.data.builder import default_cache_root

    monkeypatch.setenv("L2EMG_CACHE_DIR", str(Path(default_cache_root()).absolute()))  # share the built datasets
    monkeypatch.chdir(newcomer)
    return newcomer


def _run_l2emg(line: str) -> None:
    argv = shlex.split(line)
    assert argv[0] == "l2emg", line
    assert main(argv[1:] + ["--quiet"]) == 0, line


def test_first_commands_run(in_newcomer: Path):
    lines = [line for line in blocks("bash")[1].splitlines() if line.strip()]
    assert [line.split()[1] for line in lines] == ["generate", "interact", "perceive"]
    for line in lines:
        _run_l2emg(line)
    for name in ("wave.bvh", "wave.mp4", "wave.json", "interaction.mp4"):
        assert (in_newcomer / name).stat().st_size > 0, name


def test_python_example_runs(in_newcomer: Path, capsys):
    exec(compile(blocks("python")[0], "README.md (In Python)", "exec"), {})
    reason, _ = capsys.readouterr().out.split(maxsplit=1)
    assert reason in ("ok", "fell", "tracking_lost", "unstable") or reason.endswith("_reference")


def test_own_episode_runs_writes_the_runs_layout_and_the_plugin_example_passes(in_newcomer: Path):
    from agent.episodes.pytest_plugin import episode_runner

    yaml = blocks("yaml")[0]
    name = re.search(r"^name: (\S+)", yaml, flags=re.M).group(1)
    (in_newcomer / f"{name}.yaml").write_text(yaml)
    [line] = [line for line in blocks("bash")[2].splitlines() if line.strip()]
    _run_l2emg(line)
    layout = blocks("text")[0]
    for entry in re.findall(r"^\s{4}(\S+)", layout, flags=re.M):
        assert (in_newcomer / "runs" / name / entry).exists(), f"the README lists runs/{name}/{entry}"
    assert re.search(rf"^\s{{2}}{re.escape(name)}/", layout, flags=re.M)
    # the plugin example, called as pytest calls it (its fixture over a runs folder of its own)
    scope: dict = {}
    exec(compile(blocks("python")[1], "README.md (pytest plugin)", "exec"), scope)
    [test] = [f for n, f in scope.items() if n.startswith("test_")]
    runs = in_newcomer / "plugin-runs"
    runs.mkdir(exist_ok=True)
    os.symlink(in_newcomer / "runs" / "synth-8", runs / "synth-8")  # the installed models, as make demo leaves them
    test(episode_runner(runs))
