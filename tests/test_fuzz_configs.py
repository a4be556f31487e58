"""Property-based tests of the YAML configs (issue 25): mutations of the shipped files, in their text (a line
lost, a token changed, a truncation) and in their structure (a value of another type, a key removed, an
unknown key), and random ``--set`` overrides, end in a validated config or in ConfigError (JointMapError for
joint maps), one line naming the file; never another exception."""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from envs.config import apply_overrides, config_dir
from fuzz_helpers import fuzz, mutated_text, mutated_tree, result_or_own_error, yaml_values
from runtime_helpers import EPISODE, SMALL

TMP = Path(tempfile.mkdtemp(prefix="l2emg-fuzz-configs-"))
CONFIGS = config_dir()


def _loaders() -> dict[str, tuple[Path, object]]:
    from agent.episodes.config import load_episode
    from agent.runtime.config import load_runtime_config
    from agent.runtime.empathy import load_empathy_config
    from envs.executor.config import load_executor_config
    from envs.humanoid import load_humanoid_config
    from envs.joint_map import JointMap
    from envs.synth.cues import load_synth_config
    from envs.track_env import load_track_config
    from policies.backbone.loader import load_backbone_config
    from policies.data.config import load_dataset_config, load_emotion_labels
    from policies.data.texts import load_text_config
    from policies.esmoe.config import load_esmoe_config
    from policies.perception.text_emotion import load_perception_config

    c = CONFIGS
    return {"runtime": (c / "runtime.yaml", load_runtime_config), "empathy": (c / "empathy.yaml", load_empathy_config),
            "executor": (c / "executor.yaml", load_executor_config), "humanoid": (c / "humanoid.yaml", load_humanoid_config),
            "synth": (c / "synth.yaml", load_synth_config), "track_env": (c / "track_env.yaml", load_track_config),
            "backbone": (c / "backbone.yaml", load_backbone_config), "texts": (c / "texts.yaml", load_text_config),
            "esmoe": (c / "esmoe.yaml", load_esmoe_config), "perception": (c / "perception.yaml", load_perception_config),
            "emotions": (c / "emotions.yaml", load_emotion_labels), "dataset synth-8": (c / "datasets" / "synth-8.yaml", load_dataset_config),
            "dataset bandai-4": (c / "datasets" / "bandai-4.yaml", load_dataset_config),
            "joint map cmu": (c / "joint_maps" / "cmu.yaml", JointMap.from_yaml),
            "joint map mixamo": (c / "joint_maps" / "mixamo.yaml", JointMap.from_yaml),
            "episode demo": (c / "episodes" / "demo.yaml", load_episode)}


LOADERS = _loaders()
SMALL_EPISODE = EPISODE.format(name="fuzz", executors=1).replace("dataset: ", "dataset: ", 1)
EPISODES = [(CONFIGS / "episodes" / "demo.yaml").read_text(), SMALL_EPISODE]


def _load(kind: str, text: str):
    path, loader = LOADERS[kind]
    out = TMP / path.name  # the same file name as the shipped one (a dataset config is also found by name)
    out.write_text(text, encoding="utf-8", errors="surrogatepass")
    return result_or_own_error(loader, out)


def test_every_shipped_config_loads_as_it_is():
    """The mutations start from files their loaders take: a failure below is the mutation's doing."""
    for kind, (path, _) in LOADERS.items():
        assert not isinstance(_load(kind, path.read_text()), Exception), kind


@fuzz(200)
@given(mutated_text(EPISODES, extra_tokens=["phases", "scenarios", "interactions", "dance", "ballet", "synth-8", "bandai-4",
                                            str(SMALL), "/nonexistent", "until_learner_done", "max_interactions"]))
@example(SMALL_EPISODE.replace("seed: 0", "generator: " + "x" * 5000))  # bug: a path too long for the OS raised OSError
@example(SMALL_EPISODE.replace(f"dataset: {SMALL}", "dataset: " + "y" * 5000))  # the same in the dataset's name
@example(SMALL_EPISODE.replace("seed: 0", "generator: \"a\\0b\""))  # a NUL byte in a path (pathlib answers False: fine)
def test_mutated_episodes_load_or_give_a_config_error(text: str):
    _load("episode demo", text)


@fuzz(200)
@given(st.sampled_from(sorted(LOADERS)).flatmap(lambda k: st.tuples(st.just(k), mutated_text([LOADERS[k][0].read_text()], max_ops=3))))
def test_mutated_config_files_load_or_give_a_config_error(pair: tuple[str, str]):
    _load(*pair)


TREES = {k: yaml.load(path.read_text(), Loader=yaml.CSafeLoader) for k, (path, _) in LOADERS.items()}


def _tree_cases():
    return st.sampled_from(sorted(LOADERS)).flatmap(lambda k: st.tuples(st.just(k), mutated_tree(TREES[k])))


@fuzz(150)
@given(_tree_cases())
@example(("runtime", {"learner": {"steps": float("nan")}}))
@example(("empathy", {"responses": {"": {"emotion": "happy", "extra": []}},  # bug: the empathy table's checks raised
                      "uncertain": {"emotion": "neutral", "extra": []}}))  # a plain ValueError
def test_configs_with_values_of_any_type_load_or_give_a_config_error(pair: tuple[str, object]):
    kind, tree = pair
    _load(kind, yaml.dump(tree, Dumper=yaml.CSafeDumper, allow_unicode=True))


def _dotted_keys(obj, prefix="") -> list[str]:
    import dataclasses

    out = []
    for f in dataclasses.fields(obj):
        key = f"{prefix}{f.name}"
        out.append(key)
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += _dotted_keys(value, key + ".")
    return out


RUNTIME = LOADERS["runtime"][1]()
RUNTIME_KEYS = _dotted_keys(RUNTIME)


@fuzz(150)
@given(st.dictionaries(st.sampled_from(RUNTIME_KEYS) | st.text(max_size=12), yaml_values(3).map(lambda v: yaml.safe_dump(v)) | st.text(max_size=12),
                       max_size=3))
def test_set_overrides_apply_or_give_a_config_error(overrides: dict[str, str]):
    result_or_own_error(apply_overrides, RUNTIME, overrides, "--set runtime.*")
