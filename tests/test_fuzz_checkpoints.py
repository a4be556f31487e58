"""Property-based tests of the checkpoint readers (issue 25): truncated or altered safetensors, JSON metas,
ES-MoE manifests and adapters, perception JSON and generator pointers give a model or CheckpointError (or
ConfigError for a config inside), one line naming the file; never another exception. The shipped synth-8
models are the seeds; each example changes one file and puts it back."""
from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz_helpers import fuzz, mutated_text, mutated_tree, result_or_own_error


@contextmanager
def changed(path: Path, data: bytes):
    """``path`` holds ``data`` inside the block, its own bytes again after it."""
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield
    finally:
        path.write_bytes(original)


@st.composite
def altered_bytes(draw, original: bytes) -> bytes:
    """Truncated, bytes flipped or overwritten (in the header or the data), random bytes appended or
    prepended, or a JSON-header length field changed."""
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "append", "prepend", "header_len", "empty"]))
    b = bytearray(original)
    if kind == "truncate":
        return bytes(b[: draw(st.integers(0, max(0, len(b) - 1)))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(b) - 1) | st.integers(0, min(len(b) - 1, 200)))  # often inside the header
            b[at] ^= 1 << draw(st.integers(0, 7))
        return bytes(b)
    if kind == "overwrite":
        at = draw(st.integers(0, len(b) - 1))
        chunk = draw(st.binary(min_size=1, max_size=32))
        b[at:at + len(chunk)] = chunk
        return bytes(b[: len(original)])
    if kind == "append":
        return bytes(b) + draw(st.binary(min_size=1, max_size=64))
    if kind == "prepend":
        return draw(st.binary(min_size=1, max_size=16)) + bytes(b)
    if kind == "header_len":
        return draw(st.integers(0, 2 ** 64 - 1)).to_bytes(8, "little") + bytes(b[8:])
    return b""


@pytest.fixture(scope="module")
def models(demo_runs, tmp_path_factory) -> Path:
    """A writable copy of the shipped synth-8 models, plus a generator saved by this version (its manifest
    lists each file's sha256)."""
    root = tmp_path_factory.mktemp("fuzz-ckpt")
    shutil.copytree(demo_runs / "synth-8", root / "synth-8", symlinks=False)
    return root / "synth-8"


@pytest.fixture(scope="module")
def codebook(models) -> int:
    from policies.tokenizer import VQTokenizer

    return VQTokenizer.load(models / "tokenizer").codebook_size


@pytest.fixture(scope="module")
def saved_generator(models, codebook) -> Path:
    from policies.esmoe.store import load_generator, save_esmoe

    gen = next(models.glob("generator-*"))
    model, manifest = load_generator(gen, codebook)
    out = models / "generator-resaved"
    save_esmoe(model, out, extra={k: manifest[k] for k in ("dataset", "backbone_dir", "tokenizer_dir") if k in manifest})
    return out


ASSETS = Path(__file__).resolve().parents[1] / "assets" / "synth-8"  # the seeds (the tests alter copies under demo_runs)
SEED = {f"{kind}/{name}": (ASSETS / kind / name).read_bytes() for kind in ("tokenizer", "emotion")
        for name in ("model.safetensors", "config.json")}
EMOTION_META = json.loads(SEED["emotion/config.json"])
PERCEPTION = (ASSETS / "perception" / "perception.json").read_text()


def _json_cases(key: str) -> st.SearchStrategy[bytes]:
    text = SEED[key].decode()
    return (altered_bytes(SEED[key]) | mutated_text([text]).map(lambda t: t.encode("utf-8", "surrogatepass"))
            | mutated_tree(json.loads(text)).map(lambda t: json.dumps(t).encode()))


MODEL_CASES = st.sampled_from(sorted(SEED)).flatmap(
    lambda key: st.tuples(st.just(key), altered_bytes(SEED[key]) if key.endswith(".safetensors") else _json_cases(key)))


@fuzz(100)
@given(MODEL_CASES)
@example(("emotion/config.json", b"null"))  # bug: AttributeError ('NoneType' object has no attribute 'get')
@example(("emotion/config.json", json.dumps({k: v for k, v in EMOTION_META.items() if k != "labels"}).encode()))  # bug: KeyError
@example(("tokenizer/config.json", json.dumps({"kind": "tokenizer"}).encode()))  # bug: KeyError 'config'
@example(("emotion/config.json", b"\x80" + SEED["emotion/config.json"]))  # bug: UnicodeDecodeError
def test_altered_model_checkpoints_load_or_give_a_checkpoint_error(models, case):
    from policies.emotion import MotionEmotionClassifier
    from policies.tokenizer import VQTokenizer

    key, new = case
    kind = key.split("/")[0]
    with changed(models / key, new):
        result_or_own_error({"tokenizer": VQTokenizer.load, "emotion": MotionEmotionClassifier.load}[kind], models / kind)


def _perception_with(**change) -> str:
    state = json.loads(PERCEPTION)
    for key, value in change.items():
        target = state
        *path, last = key.split("__")
        for k in path:
            target = target[k]
        target[last] = value
    return json.dumps(state)


@pytest.fixture(scope="module")
def perception_warm(models):
    """The first load imports and reads the emotion classifier and the text encoder (past the 20 s hang alarm on a
    loaded 2-core machine: a false "hang" on the first input in CI): done once here, outside the alarm."""
    from policies.perception import PerceptionEstimator

    return PerceptionEstimator.load(models / "perception", _encoder())


@fuzz(20)
@given(mutated_text([PERCEPTION], max_ops=2) | mutated_tree(json.loads(PERCEPTION)).map(json.dumps))
@example(_perception_with(text_head__weights=[[1.0], [1.0, 2.0]]))  # bug: ValueError (inhomogeneous array)
@example(_perception_with(text_head=None))  # bug: TypeError ('NoneType' object is not subscriptable)
@example(_perception_with(fusion={"t_text": "warm"}))  # a temperature that is no number broke perceive() later
def test_altered_perception_json_loads_or_gives_a_checkpoint_error(models, perception_warm, text: str):
    from policies.perception import PerceptionEstimator

    path = models / "perception" / "perception.json"
    with changed(path, text.encode("utf-8", "surrogatepass")):
        result_or_own_error(PerceptionEstimator.load, path.parent, _encoder())


_ENCODER = []


def _encoder():
    from policies.text_encoder import TextEncoder

    if not _ENCODER:
        _ENCODER.append(TextEncoder())
    return _ENCODER[0]


@fuzz(80)
@given(st.text(max_size=200) | mutated_text(['{"checkpoint": "../synth-8/generator-daily_life+sports"}']))
@example("not json")  # bug: JSONDecodeError
@example("5")  # bug: TypeError ('int' object is not subscriptable)
@example('{"checkpoint": 5}')
@example('{"checkpoint": "' + "x" * 5000 + '"}')  # bug: OSError (file name too long)
def test_altered_generator_pointers_read_or_give_a_checkpoint_error(tmp_path_factory, text):
    from policies.esmoe.store import read_pointer

    path = tmp_path_factory.getbasetemp() / "generator.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = result_or_own_error(read_pointer, path)
    assert isinstance(out, (str, Exception))


ESMOE_FILES = ["manifest.json", "shared.safetensors", "daily_life/adapter_model.safetensors", "daily_life/adapter_config.json"]


@fuzz(50)
@given(st.sampled_from(["shipped", "resaved"]), st.sampled_from(ESMOE_FILES), st.data())
def test_altered_esmoe_checkpoints_load_or_give_a_checkpoint_error(models, saved_generator, codebook, which, name, data):
    from policies.esmoe.store import load_generator

    folder = saved_generator if which == "resaved" else next(models.glob("generator-daily*"))
    path = folder / name
    original = path.read_bytes()
    strategies = [altered_bytes(original)]
    if name.endswith(".json"):
        strategies += [mutated_text([original.decode()], max_ops=2).map(str.encode),
                       mutated_tree(json.loads(original)).map(lambda t: json.dumps(t).encode())]
    new = data.draw(st.one_of(strategies))
    with changed(path, new):
        out = result_or_own_error(load_generator, folder, codebook)
    if which == "resaved" and name != "manifest.json" and new != original:
        assert isinstance(out, Exception), "a changed tensor file of a checkpoint that lists its digests was loaded"
