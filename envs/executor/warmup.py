"""``python -m envs.executor.warmup``: compile the executor's Numba kernels into their on-disk cache once.

Numba compiles a kernel at its first call and caches it beside its source (``envs/jit.py``). A run that
starts with no cache has every executor process compile the same kernels at its first motion, all at once: on a
fresh clone, ``make demo``'s first batch took 26 s to execute (two executors compiling side by side on two cores,
1.3 s for the next). ``make setup`` runs this once after installing, so that executors load the kernels instead.
Without Numba, or with no writable cache, it only costs the time of its three motions.
"""
from __future__ import annotations

import time


def warm_kernels() -> dict[str, float]:
    """Execute unassisted (mode ``none``) a procedural walk and run (stepping, a flight phase) and a still pose pushed
    by 50 N s (push recovery's step), the kernels a generated motion reaches; returns the seconds each took (the first
    includes most of the compilation) and the steps push recovery took (``push_steps``: 0 would leave its kernels out)."""
    import numpy as np

    from envs.executor import TrackingExecutor
    from envs.motion.motion import Motion
    from envs.synth import SynthSource

    source = SynthSource()
    executor = TrackingExecutor()
    seconds = {}
    for scenario, family in (("daily_life", "walk"), ("sports", "run")):
        t = time.perf_counter()
        executor.execute(source.generate(scenario, family, "neutral", 0).motion, mode="none")
        seconds[family] = round(time.perf_counter() - t, 2)
    pose = source.generate("daily_life", "wave", "neutral", 0).motion
    still = Motion(np.repeat(pose.positions[:1], 90, 0), np.repeat(pose.rotations[:1], 90, 0), pose.fps)
    dt = executor.reference(still).dt

    def push(d, k: int) -> None:  # 50 N s along the world x axis, over 0.1 s from 0.5 s
        d.xfrc_applied[executor.pelvis, :2] = (500.0, 0.0) if 0.5 <= k * dt < 0.6 else (0.0, 0.0)

    executor.hooks.append(push)
    t = time.perf_counter()
    try:
        executor.execute(still, mode="none")
    finally:
        executor.hooks.remove(push)
    seconds["push"] = round(time.perf_counter() - t, 2)
    seconds["push_steps"] = float(executor.wholebody.push.steps_taken)
    return seconds


if __name__ == "__main__":
    t0 = time.perf_counter()
    took = warm_kernels()
    print(f"executor kernels compiled and cached in {time.perf_counter() - t0:.1f} s "
          f"({', '.join(f'{k} {v:.1f} s' for k, v in took.items() if k != 'push_steps')})")
