"""What the property-based tests share: the two Hypothesis profiles, the contract every reader keeps (a
result, or the project's own one-line error, never another exception or a hang) and text mutations of
real files.

Profiles: ``ci`` (default) runs the number of examples each test states, with a fixed derandomised seed,
so CI sees the same inputs every time; ``long`` (``L2EMG_FUZZ=long``) runs ten times as many, freshly
random each run (``L2EMG_FUZZ_SCALE`` sets another factor); ``examples`` runs only the regression examples
(``@example``). ``pytest --hypothesis-show-statistics`` prints how many inputs each test ran."""
from __future__ import annotations

import math
import os
import re
import signal
import threading
from contextlib import contextmanager

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from envs.errors import L2EMGError

MODE = os.environ.get("L2EMG_FUZZ", "ci")  # ci | long | examples (only the regression examples)
LONG = MODE == "long"
SCALE = int(os.environ.get("L2EMG_FUZZ_SCALE", "10" if LONG else "1"))
HANG_S = float(os.environ.get("L2EMG_FUZZ_HANG_S", "20"))  # one input past this is a hang (raise on a busy box)


def _long_database():
    """Failures of long runs are replayed first next time (``.hypothesis/``, not committed)."""
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(".hypothesis/examples")


def fuzz(examples: int, **kw):
    """``@fuzz(300)``: the settings of one property test (``examples`` in the ci profile)."""
    if MODE == "examples":
        kw["phases"] = (Phase.explicit,)
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=not LONG,
                    database=None if not LONG else _long_database(), print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example], **kw)


@contextmanager
def no_hang(seconds: float = HANG_S):
    """Fails the example (TimeoutError) when its body runs past ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise TimeoutError(f"hang: one input ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def result_or_own_error(fn, *args, **kwargs):
    """``fn(*args)``'s result, or the project's own error (returned, checked to be one non-empty line). Any
    other exception propagates: Hypothesis reports it with the input that caused it."""
    with no_hang():
        try:
            return fn(*args, **kwargs)
        except L2EMGError as exc:
            text = str(exc)
            assert text and "\n" not in text and "\r" not in text, f"{type(exc).__name__} is not one line: {text!r}"
            return exc


# -- text mutations of real files ---------------------------------------------------------------------
NASTY_TOKENS = ["nan", "NaN", "inf", "-inf", "1e309", "-1e309", "1e-320", "0", "-0", "-1", "1e300", "99999999999999999999",
                "", "{", "}", "[", "]", ":", "- ", "~", "null", "true", "3.5.2", "0x1F", "\x00", "\t", "\n", "\r", "é", "😀",
                "'", '"', "&a", "*a", "!!python/object", "%YAML", "---", "...", "#"]


def _token_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


@st.composite
def mutated_text(draw, seeds: list[str], max_ops: int = 4, extra_tokens: list[str] = ()) -> str:
    """One of ``seeds`` with 1..max_ops edits: truncation, a line deleted, duplicated or swapped, a token
    replaced (by a nasty one, a number, random text), random text inserted, a character changed."""
    text = draw(st.sampled_from(seeds))
    tokens = NASTY_TOKENS + list(extra_tokens)
    for op in draw(st.lists(st.sampled_from(["truncate", "del_line", "dup_line", "swap_lines", "token", "token", "insert",
                                             "char", "number"]), min_size=1, max_size=max_ops)):
        lines = text.split("\n")
        if op == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif op in ("del_line", "dup_line", "swap_lines") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            if op == "del_line":
                del lines[i]
            elif op == "dup_line":
                lines.insert(i, lines[i])
            else:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif op in ("token", "number"):
            spans = _token_spans(text)
            if not spans:
                continue
            a, b = spans[draw(st.integers(0, len(spans) - 1))]
            new = draw(st.sampled_from(tokens) | st.text(max_size=6)) if op == "token" else draw(numbers())
            text = text[:a] + new + text[b:]
        elif op == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(max_size=12) | st.sampled_from(tokens)) + text[at:]
        elif op == "char" and text:
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + draw(st.characters()) + text[at + 1:]
    return text


def numbers() -> st.SearchStrategy[str]:
    """Numbers as they might be written into a file: huge, tiny, negative, non-finite, malformed."""
    return (st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.integers(-(10 ** 30), 10 ** 30).map(str)
            | st.sampled_from(["nan", "inf", "-inf", "1e309", "1.", ".5", "-", "+", "1e", "1,5", "0x10", "1_000"]))


def yaml_values(max_leaves: int = 6) -> st.SearchStrategy:
    """Any value YAML can hold: scalars of every type (non-finite and huge numbers too), lists, mappings."""
    scalars = (st.none() | st.booleans() | st.integers(-(10 ** 20), 10 ** 20) | st.floats(allow_nan=True) | st.text(max_size=12)
               | st.sampled_from([math.inf, -math.inf, "", "synth-8", "daily_life", "dance", "ray", "none", "residual"]))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                        max_leaves=max_leaves)


def _paths(tree, prefix=()) -> list[tuple]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated_tree(draw, tree):
    """A parsed YAML document with 1..3 edits at random places: a value replaced by any YAML value, a key
    deleted, an unknown key added, a key renamed."""
    import copy

    tree = copy.deepcopy(tree)
    for op in draw(st.lists(st.sampled_from(["replace", "delete", "add", "rename"]), min_size=1, max_size=3)):
        path = draw(st.sampled_from(_paths(tree)))
        if not path:
            if op == "replace":
                tree = draw(yaml_values())
            continue
        parent = tree
        try:
            for p in path[:-1]:
                parent = parent[p]
        except (KeyError, IndexError, TypeError):
            continue
        key = path[-1]
        try:
            if op == "replace":
                parent[key] = draw(yaml_values())
            elif op == "delete":
                del parent[key]
            elif op == "add" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = draw(yaml_values())
            elif op == "rename" and isinstance(parent, dict):
                parent[draw(st.text(max_size=8))] = parent.pop(key)
        except (KeyError, IndexError, TypeError):  # an earlier edit removed this place
            continue
    return tree
