"""Where a batch-32 request of the compiled decoder spends its time: the prompt's prefill (one `_forward` call over
32 prompts) and the 20 greedy steps (one `_greedy` call), each timed on the arguments a real request passed them,
on the model `l2emg bench generator` builds (`esmoe_with_experts`: tiny backbone, random init, 4 experts). With
`--variant FILE`, a copy of `policies/backbone/decode_jit.py` (edited: an experiment) is timed on the same arguments
beside the shipped one. Prints JSON (milliseconds, median of `--repeats`).

    PYTHONPATH=. python benchmarks/decode_batch32_parts.py [--threads 2] [--variant /tmp/decode_jit_variant.py]

RESULTS.md, "Fast decoding": the figures of the vectorized exp and attention helpers came from this.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time

os.environ.setdefault("GOMP_SPINCOUNT", "30000")  # as the l2emg entry point (agent/cli/__init__.py)

import numpy as np  # noqa: E402


def _median_ms(fn, args, repeats: int) -> float:
    fn(*args)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1000, 2)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--variant", action="append", default=[], help="a copy of decode_jit.py to time beside it")
    args = parser.parse_args()

    from agent.bench.generator import TEXTS_POOL, esmoe_with_experts
    from policies.backbone import decode_jit, load_backbone
    from policies.backbone.decode_numpy import blas_threads_as_torch
    from policies.torch_utils import setup_torch

    setup_torch(0, args.threads)
    model, _ = esmoe_with_experts(load_backbone("tiny", 512, list(TEXTS_POOL)), scenarios=4)
    batch = [TEXTS_POOL[i % len(TEXTS_POOL)] for i in range(32)]
    model.generate(batch, 20, decoder="jit")  # compiled before the recording (the wrappers below are Python)
    recorded: dict[str, tuple] = {}
    forward, greedy = decode_jit._forward, decode_jit._greedy

    def record(name, fn):
        def wrapper(*a):
            recorded.setdefault(name, tuple(x.copy() if isinstance(x, np.ndarray) else x for x in a))
            return fn(*a)
        return wrapper

    decode_jit._forward, decode_jit._greedy = record("prefill", forward), record("greedy", greedy)
    try:
        model.generate(batch, 20, decoder="jit")
    finally:
        decode_jit._forward, decode_jit._greedy = forward, greedy
    missing = [name for name in ("prefill", "greedy") if name not in recorded]
    if missing:  # the prompt goes through NumPy without its bundled BLAS; an embedding hook keeps the Python loop
        raise SystemExit(f"the compiled {' and '.join(missing)} did not run for this request (decode_jit's fallbacks)")
    modules = {"shipped": decode_jit}
    for path in args.variant:
        spec = importlib.util.spec_from_file_location(f"variant_{len(modules)}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[path] = module
    out: dict = {"threads": args.threads, "prompt_rows": int(recorded["prefill"][0].shape[0]), "parts_ms": {}}
    with blas_threads_as_torch():
        for name, module in modules.items():
            # both write the recorded caches (and the greedy loop its output) again: the same work every call
            out["parts_ms"][name] = {"prefill": _median_ms(module._forward, recorded["prefill"], args.repeats),
                                     "greedy_20_steps": _median_ms(module._greedy, recorded["greedy"], args.repeats)}
    out["whole_request_ms"] = _median_ms(lambda: model.generate(batch, 20, decoder="jit"), (), args.repeats)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
