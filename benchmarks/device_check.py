"""One-shot GPU machine check: MuJoCo EGL rendering, ES-MoE training and generation speed on CUDA vs CPU
(same machine), and the CUDA unit tests. Prints JSON and writes $OUT/check.json (default /tmp/devcheck-out).
Run from the repository root: `python benchmarks/device_check.py` (RESULTS.md, GPU section, has an H200 run).

The SmolLM2-135M-sized backbone has RANDOM weights (LlamaConfig with SmolLM2-135M's sizes; its GGUF
weights do not fit the transfer): it measures speed, not quality. The tiny backbone and its two experts
are the repo's shipped, trained assets (assets/synth-8).
DEVCHECK_TINY=1 shrinks everything for a dry run on a CPU machine.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # the repository root
ASSETS = ROOT / "assets" / "synth-8"
OUT = Path(os.environ.get("OUT") or "/tmp/devcheck-out")
OUT.mkdir(parents=True, exist_ok=True)
TINY = os.environ.get("DEVCHECK_TINY") == "1"
RESULT: dict = {"tiny_dry_run": TINY}


def save() -> None:
    (OUT / "check.json").write_text(json.dumps(RESULT, indent=2))


def section(name):
    def wrap(fn):
        t0 = time.perf_counter()
        try:
            RESULT[name] = fn()
        except Exception as exc:  # record and go on: one failing part must not hide the others
            RESULT[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
        RESULT.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t0, 1)
        save()
        print(f"== {name}: {json.dumps(RESULT[name])[:2000]}", flush=True)
        return fn
    return wrap


@section("environment")
def environment():
    import torch

    import policies

    cuda = torch.cuda.is_available()
    return {"policies_from": policies.__file__, "python": platform.python_version(), "torch": torch.__version__, "torch_cuda": torch.version.cuda,
            "cuda_available": cuda, "device_name": torch.cuda.get_device_name(0) if cuda else None,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "MUJOCO_GL": os.environ["MUJOCO_GL"],
            "L2EMG_DEVICE": os.environ.get("L2EMG_DEVICE")}


@section("render")
def render():
    import imageio.v2 as imageio
    import mujoco

    from envs.executor import TrackingExecutor
    from envs.sim_render import render_execution
    from envs.synth import SynthSource

    synth = SynthSource()
    seconds = 1.0 if TINY else 4.0
    motion = None
    for v in range(8):  # the first variation at least `seconds` long
        m = synth.generate("daily_life", "walk", "happy", v).motion
        if m.duration >= seconds:
            motion = m.slice(0, int(round(seconds * m.fps)))
            break
    if motion is None:
        raise RuntimeError("no synth walk of 4 s")
    t0 = time.perf_counter()
    result = TrackingExecutor().execute(motion)
    track_s = time.perf_counter() - t0
    path = OUT / "render.mp4"
    t0 = time.perf_counter()
    render_execution(result, path, reference=motion, size=(320, 240))
    render_s = time.perf_counter() - t0
    frames = [f for f in imageio.get_reader(path)]
    return {"mujoco": mujoco.__version__, "motion_frames": motion.num_frames, "fps": motion.fps,
            "success": bool(result.success), "tracking_s": round(track_s, 2), "render_s": round(render_s, 2),
            "render_fps": round(len(frames) / render_s, 1), "frames_read_back": len(frames),
            "trajectory_frames": result.trajectory.num_frames,
            "frame_shape": list(frames[0].shape), "frame0_std": round(float(frames[0].std()), 1),
            "mp4_bytes": path.stat().st_size}


def _samples(scenario: str, n: int, length: int, seed: int):
    import numpy as np

    from policies.backbone.corpus import TokenSample

    words = ["happy", "sad", "angry", "tired", "proud", "anxious", "energetic", "calm"]
    acts = {"s1": "waves at a friend", "s2": "walks across the room", "s3": "dances in a circle",
            "dance": "dances in a circle"}
    rng = np.random.default_rng(seed)
    return [TokenSample(rng.integers(0, 512, size=length), [f"A {words[i % 8]} person {acts[scenario]} number {i}."],
                        "happy", scenario, "train", f"{scenario}-{i}") for i in range(n)]


def _time_esmoe(model, device: str, batch: int, train_steps: int, gen_len: int, gen_runs: int, new_expert: str) -> dict:
    """Train a new expert (2 warm-up steps, then ``train_steps`` timed) and time batched greedy generation."""
    import dataclasses

    import torch

    from policies.esmoe.trainer import train_on

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    settings = dataclasses.replace(model.config.train, batch=batch, warmup=2)
    data = _samples(new_expert, 64, gen_len - 10, seed=3)
    model.begin_scenario(new_expert, data)
    train_on(model, data, settings, steps=2, progress=False)  # warm-up: kernels, allocator
    sync()
    stats = train_on(model, data, settings, steps=train_steps, progress=False)
    model.end_scenario()
    out = {"device": device, "experts": list(model.bank.names), "batch": batch, "timed_steps": train_steps,
           "train_steps_per_s": round(train_steps / stats["seconds"], 3), "train_samples_per_s": stats["samples_per_s"],
           "final_llm_loss": stats["final_llm_loss"]}
    texts = [s.texts[0] for s in data[:8]]
    for b in (8, 1):
        model.generate(texts[:b], 4)  # warm-up
        sync()
        times = []
        for _ in range(gen_runs):
            t0 = time.perf_counter()
            gens = model.generate(texts[:b], gen_len)
            sync()
            times.append(time.perf_counter() - t0)
        out[f"generate_batch{b}_{gen_len}tok_s"] = round(min(times), 3)
        out[f"generate_batch{b}_all_s"] = [round(t, 3) for t in times]
        out[f"generate_batch{b}_ok"] = all(g.codes is not None and len(g.codes) == gen_len for g in gens)
    if device.startswith("cuda"):
        out["cuda_max_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _smollm2_random(seed: int = 0):
    """SmolLM2-135M's architecture with random weights and a word-level tokenizer (+ the motion vocabulary)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from policies.backbone.loader import Backbone, load_backbone_config, word_tokenizer
    from policies.backbone.vocab import MotionVocabulary

    cfg = load_backbone_config()
    texts = [s.texts[0] for sc in ("s1", "s2", "s3") for s in _samples(sc, 64, 4, 0)]
    tok = word_tokenizer(texts + [cfg.prompt])
    base = len(tok)
    vocab = MotionVocabulary.add_to(tok, 512)
    sizes = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1) \
        if TINY else dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                          num_key_value_heads=3)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=49152 + (len(tok) - base), max_position_embeddings=8192,
                                         rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                         eos_token_id=tok.eos_token_id, **sizes))
    return Backbone("smollm2-135m-random", model, tok, vocab, cfg.prompt)


def _esmoe_smollm2(device: str) -> dict:
    from policies.esmoe import ESMoE, load_esmoe_config

    t0 = time.perf_counter()
    backbone = _smollm2_random()
    n_params = sum(p.numel() for p in backbone.model.parameters())
    model = ESMoE(backbone, load_esmoe_config(), ["neutral", "happy", "sad", "angry"]).to(device)
    for sc in ("s1", "s2"):  # two frozen experts (untrained: the speed is the same), the third trains
        model.begin_scenario(sc, _samples(sc, 64, 4, 1))
        model.end_scenario()
    build_s = time.perf_counter() - t0
    steps = 2 if TINY else (20 if device.startswith("cuda") else 3)
    out = _time_esmoe(model, device, batch=16, train_steps=steps, gen_len=12 if TINY else 50,
                      gen_runs=3 if device.startswith("cuda") else 1, new_expert="s3")
    out["backbone_parameters"] = n_params
    out["build_s"] = round(build_s, 1)
    return out


def _esmoe_tiny_shipped(device: str) -> dict:
    """The shipped tiny backbone + its trained daily_life/sports experts, a third (dance) trained as the
    ExpertLearner does, then generation as the GeneratorService does (VQ decode on CPU included)."""
    from policies.esmoe.store import load_generator
    from policies.tokenizer import VQTokenizer

    gen_dir = ASSETS / "generator-daily_life+sports"
    tokenizer = VQTokenizer.load(str(ASSETS / "tokenizer"))
    model, _ = load_generator(gen_dir, tokenizer.codebook_size, device=device)
    out = _time_esmoe(model, device, batch=16, train_steps=3 if TINY else 20, gen_len=12 if TINY else 50,
                      gen_runs=3, new_expert="dance")
    gens = model.generate(["A happy person dances in a circle."] * 1, 50 if not TINY else 12)
    t0 = time.perf_counter()
    tokenizer.decode_features(gens[0].codes)
    out["vq_decode_cpu_s"] = round(time.perf_counter() - t0, 3)
    return out


def _on(device: str, run) -> dict:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        return {"skipped": "no CUDA"}
    return run(device)


for _name, _run in (("esmoe_smollm2_arch_random", _esmoe_smollm2), ("esmoe_tiny_shipped", _esmoe_tiny_shipped)):
    for _device in ("cuda", "cpu"):  # each section runs (and is saved) as it is declared
        section(f"{_name}_{_device}")(lambda d=_device, r=_run: _on(d, r))


@section("pytest_device_tests")
def pytest_device_tests():
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_esmoe.py",
           "-k", "on_cuda or pick_device"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    lines = (p.stdout + p.stderr).strip().splitlines()
    return {"rc": p.returncode, "seconds": round(time.perf_counter() - t0, 1), "summary": lines[-1] if lines else "",
            "tail": "\n".join(lines[-25:]) if p.returncode else ""}


print(json.dumps(RESULT, indent=2))
