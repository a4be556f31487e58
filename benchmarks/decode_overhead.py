"""Per-call cost of the small operations a decoding step of the tiny backbone is made of, through torch and
through NumPy, on one thread (why ``policies/backbone/decode_numpy.py`` exists). Prints JSON (microseconds).

    python benchmarks/decode_overhead.py
"""
from __future__ import annotations

import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402


def per_call_us(f, n: int = 3000) -> float:
    for _ in range(100):
        f()
    t0 = time.thread_time()
    for _ in range(n):
        f()
    return round((time.thread_time() - t0) / n * 1e6, 2)


def main() -> dict:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    w, x, n = torch.randn(1024, 192, generator=g), torch.randn(1, 192, generator=g), torch.randn(192, generator=g)
    wn, xn, nn_ = w.numpy(), x.numpy(), n.numpy()
    out = {}
    with torch.inference_mode():
        out["torch"] = {"linear_1024x192": per_call_us(lambda: F.linear(x, w)),
                        "rms_norm_192": per_call_us(lambda: F.rms_norm(x, (192,), n, 1e-6)),
                        "add_192": per_call_us(lambda: x + x)}
    out["numpy"] = {"matmul_1024x192": per_call_us(lambda: xn @ wn.T),
                    "rms_norm_192": per_call_us(lambda: xn * (1.0 / np.sqrt((xn * xn).sum(-1, keepdims=True) / 192 + 1e-6)) * nn_),
                    "add_192": per_call_us(lambda: xn + xn)}
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
