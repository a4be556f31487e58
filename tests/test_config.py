from dataclasses import dataclass, field
from typing import Literal

import pytest

from envs.config import ConfigError, load_config
from policies.data import load_dataset_config


@dataclass
class Inner:
    rate: float = 1.0


@dataclass
class Outer:
    name: str
    count: int = 2
    inner: Inner = field(default_factory=Inner)
    tags: list[str] = field(default_factory=list)


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_valid_config(tmp_path):
    cfg = load_config(write(tmp_path, "name: a\ncount: 3\ninner: {rate: 2}\ntags: [x]\n"), Outer)
    assert cfg == Outer("a", 3, Inner(2.0), ["x"])


@pytest.mark.parametrize("text, needle", [
    ("name: a\ncolour: red\n", "unknown key 'colour'"),
    ("name: a\ninner: {rat: 1}\n", "unknown key 'inner.rat'"),
    ("count: 1\n", "missing required key 'name'"),
    ("name: a\ncount: many\n", "count must be an integer"),
    ("name: a\ninner: {rate: fast}\n", "inner.rate must be a number"),
    ("name: a\ntags: x\n", "tags must be a list"),
    ("name: [a\n", "malformed YAML"),
])
def test_errors_name_file_and_key(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, Outer)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_dataset_configs_load_and_validate(tmp_path):
    assert load_dataset_config("bandai-4").style_emotion["not-confident"] == "anxious"
    assert load_dataset_config("synth-8").source == "synthetic"
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        load_dataset_config("nope")
    bad = write(tmp_path, "name: x\nsource: bandai\nstyle_emotion: {normal: bored}\n")
    with pytest.raises(ConfigError, match="style_emotion.normal"):
        load_dataset_config(bad)
    with pytest.raises(ConfigError, match="source must be one of"):
        load_dataset_config(write(tmp_path, "name: x\nsource: mocap\n"))
    with pytest.raises(ConfigError, match="sum to 1"):
        load_dataset_config(write(tmp_path, "name: x\nsource: bandai\nsplits: {train: 0.9, val: 0.1, test: 0.1}\n"))


@dataclass(frozen=True)
class Step:
    n: int = 1


@dataclass(frozen=True)
class Plan:
    steps: list[Step] = field(default_factory=lambda: [Step(), Step()])
    inner: Inner = field(default_factory=Inner)
    mode: Literal["a", "b"] = "a"


def test_overrides_set_dotted_keys_list_elements_and_check_types():
    from envs.config import apply_overrides

    p = apply_overrides(Plan(), {"inner.rate": "0.5", "steps.1.n": "7", "mode": "b"})
    assert p.inner.rate == 0.5 and [s.n for s in p.steps] == [1, 7] and p.mode == "b"
    assert Plan().steps[1].n == 1  # the original is untouched
    for bad, match in ((("inner.rat", "1"), "unknown key 'inner.rat'"), (("steps.2.n", "1"), "not an index"),
                       (("inner.rate", "fast"), "must be a number"), (("mode", "c"), "must be one of"),
                       (("inner.rate.x", "1"), "has no keys")):
        with pytest.raises(ConfigError, match=match):
            apply_overrides(Plan(), dict([bad]))


def test_key_value_entries_are_parsed_or_named_when_malformed():
    from envs.config import parse_assignments

    assert parse_assignments(["a.b=1", " c =x=y", "d="]) == {"a.b": "1", "c": "x=y", "d": ""}
    for bad in ("wholebody.solve_hz", "=3"):
        with pytest.raises(ConfigError, match="is not KEY=VALUE"):
            parse_assignments([bad], "push_sweep --set")
