import pytest

from agent.episodes.config import bootstrap_request, load_episode
from envs.config import ConfigError, config_dir

GOOD = """name: t
dataset: synth-8
phases:
  - name: p
    scenarios: [dance]
    interactions: 4
"""


def write(tmp_path, text):
    p = tmp_path / "ep.yaml"
    p.write_text(text)
    return p


def test_the_shipped_demo_episode_validates():
    ep = load_episode(config_dir() / "episodes" / "demo.yaml")
    assert ep.phases[1].scenarios[0] == "dance" and ep.executors == 2


@pytest.mark.parametrize("text, match", [
    (GOOD.replace("[dance]", "[ballet]"), r"phases\[0\].scenarios: unknown scenario 'ballet'"),
    (GOOD.replace("interactions: 4", "interactions: four"), r"phases\[0\]\.interactions|interactions"),
    (GOOD + "colour: red\n", "unknown key 'colour'"),
    (GOOD.replace("phases:", "phases: [\n"), "malformed YAML"),
    (GOOD.replace("synth-8", "synth-9"), "unknown dataset"),
    (GOOD.replace("interactions: 4", "interactions: 0"), "must be positive"),
    (GOOD + "backbone: /no/such/llm\n", r"backbone: '/no/such/llm' is not tiny, smollm2-135m or a local folder"),
])
def test_bad_episodes_name_file_and_key(tmp_path, text, match):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as exc:
        load_episode(p)
    assert str(p) in str(exc.value)


def test_missing_bandai_root_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("L2EMG_BANDAI_ROOT", raising=False)
    p = write(tmp_path, GOOD.replace("synth-8", "bandai-4").replace("[dance]", "[greeting]") + "root: /no/such/folder\n")
    with pytest.raises(ConfigError, match="root: Bandai-Namco data path '/no/such/folder' not found"):
        load_episode(p)


def test_the_episode_backbone_reaches_the_bootstrap(tmp_path):
    assert bootstrap_request(load_episode(write(tmp_path, GOOD))).backbone == "tiny"
    ep = load_episode(write(tmp_path, GOOD + f"backbone: {tmp_path}\n"))
    assert bootstrap_request(ep).backbone == str(tmp_path)
    assert bootstrap_request(load_episode(write(tmp_path, GOOD), {"backbone": "smollm2-135m"})).backbone == "smollm2-135m"
