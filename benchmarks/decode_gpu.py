"""GPU check of the motion-token decoders (issue 24): Hugging Face generate, the static-cache loop, and the
static loop with its greedy steps replayed from a CUDA graph (``decode.cuda_graphs``), on the shipped tiny
ES-MoE generator (assets/synth-8) and on a SmolLM2-135M-sized backbone with random weights (speed only).
For each: 4 s motions (20 tokens, greedy) at batch 1 and 32, median latency of ``RUNS`` timed calls after
two warm-ups, and agreement with generate (rows and tokens identical); then the CUDA tests of
tests/test_decode.py. Prints JSON and writes $OUT/decode_gpu.json (default /tmp/decode-gpu-out).

Run from the repository root: `python benchmarks/decode_gpu.py` (a few minutes on one GPU).
DECODE_GPU_CPU=1 runs the same on the CPU with a small SmolLM2-like model (a dry run of the script:
CUDA graphs are then skipped, the static decoder falling back to its eager loop).
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = Path(os.environ.get("OUT") or "/tmp/decode-gpu-out")
OUT.mkdir(parents=True, exist_ok=True)
DRY = os.environ.get("DECODE_GPU_CPU") == "1"
RUNS = 3 if DRY else 10
RESULT: dict = {"dry_run_on_cpu": DRY}

EMOTIONS = ["neutral", "happy", "sad", "angry", "proud", "anxious", "tired", "energetic"]
ACTS = ["waves at a friend", "walks across the room", "jumps in place", "kicks a ball", "bows politely",
        "runs forward", "sits down on a chair", "dances a twirl"]
TEXTS = [f"A {e} person {a}." for e in EMOTIONS for a in ACTS][:32]


def save() -> None:
    (OUT / "decode_gpu.json").write_text(json.dumps(RESULT, indent=2))


def section(name: str, fn) -> None:
    t0 = time.perf_counter()
    try:
        RESULT[name] = fn()
    except Exception as exc:  # record and go on: one failing part must not hide the others
        RESULT[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    RESULT.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t0, 1)
    save()
    print(f"== {name}: {json.dumps(RESULT[name])[:3000]}", flush=True)


def compare(model, device: str) -> dict:
    """Latency and agreement of the three decoders at batch 1 and 32 on ``model`` (an ES-MoE)."""
    import numpy as np
    import torch

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def with_graphs(on: bool):
        model.config = dataclasses.replace(model.config, decode=dataclasses.replace(model.config.decode, cuda_graphs=on))

    out = {}
    for batch in (1, 32):
        texts = TEXTS[:batch]
        codes, times = {}, {}
        for name, decoder, graphs in (("hf", "hf", False), ("static", "static", False), ("static_graphs", "static", True)):
            with_graphs(graphs)
            for _ in range(2):
                model.generate(texts, 20, decoder=decoder)
            sync()
            ts = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                gens = model.generate(texts, 20, decoder=decoder)
                sync()
                ts.append(time.perf_counter() - t0)
            codes[name] = [g.codes.tolist() for g in gens]
            times[name] = ts
        with_graphs(False)
        row = {}
        for name, ts in times.items():
            row[name] = {"median_ms": round(float(np.median(ts)) * 1e3, 2), "min_ms": round(min(ts) * 1e3, 2),
                         "motions_per_s": round(batch / float(np.median(ts)), 1)}
            if name != "hf":
                ref, got = codes["hf"], codes[name]
                row[name]["rows_identical_to_hf"] = sum(a == b for a, b in zip(ref, got)) / len(ref)
                row[name]["tokens_identical_to_hf"] = float(np.mean([x == y for a, b in zip(ref, got) for x, y in zip(a, b)]))
        row["speedup_static_vs_hf"] = round(row["hf"]["median_ms"] / row["static"]["median_ms"], 2)
        row["speedup_graphs_vs_static"] = round(row["static"]["median_ms"] / row["static_graphs"]["median_ms"], 2)
        out[f"batch{batch}"] = row
    return out


def shipped_tiny(device: str) -> dict:
    from policies.esmoe.store import load_generator

    model, _ = load_generator(ROOT / "assets" / "synth-8" / "generator-daily_life+sports", 512, device=device)
    model.train_mode(False)
    return compare(model, device)


def smollm2_sized(device: str) -> dict:
    """SmolLM2-135M's shape (30 layers, 576 wide, 49 k vocabulary) with random weights, two ES-MoE experts."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from policies.backbone.corpus import TokenSample
    from policies.backbone.loader import Backbone, load_backbone_config, word_tokenizer
    from policies.backbone.vocab import MotionVocabulary
    from policies.esmoe import ESMoE, load_esmoe_config

    cfg = load_backbone_config()
    tok = word_tokenizer(TEXTS + [cfg.prompt])
    base = len(tok)
    vocab = MotionVocabulary.add_to(tok, 512)
    sizes = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1) \
        if DRY else dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3)
    torch.manual_seed(0)
    lm = LlamaForCausalLM(LlamaConfig(vocab_size=49152 + (len(tok) - base), max_position_embeddings=8192, rope_theta=100000.0,
                                      rms_norm_eps=1e-5, tie_word_embeddings=True, pad_token_id=tok.pad_token_id,
                                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **sizes))
    model = ESMoE(Backbone("smollm2-sized-random", lm, tok, vocab, cfg.prompt), load_esmoe_config(), EMOTIONS[:4]).to(device)
    for i, sc in enumerate(("s1", "s2")):
        model.begin_scenario(sc, [TokenSample(torch.randint(0, 512, (8,)).numpy(), [t], "happy", sc, "train", f"{sc}{j}")
                                  for j, t in enumerate(TEXTS[i::2])])
        model.end_scenario()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # experts that change the answers (they start at zero)
        for n, p in model.bank.model.named_parameters():
            if "lora_B" in n:
                p.copy_((torch.randn(p.shape, generator=g) * 0.02).to(p.device))
    model.train_mode(False)
    model.bank.model.eval()
    return {"backbone_parameters": sum(p.numel() for p in lm.parameters()), **compare(model, device)}


def main() -> None:
    import torch

    cuda = torch.cuda.is_available() and not DRY
    device = "cuda" if cuda else "cpu"
    RESULT["environment"] = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": device,
                             "device_name": torch.cuda.get_device_name(0) if cuda else None,
                             "torch_threads": torch.get_num_threads()}
    if not cuda and not DRY:
        RESULT["skipped"] = "no CUDA device (DECODE_GPU_CPU=1 for a dry run on the CPU)"
        save()
        print(json.dumps(RESULT, indent=2))
        return
    section("tiny_shipped", lambda: shipped_tiny(device))
    section("smollm2_sized_random", lambda: smollm2_sized(device))
    if cuda:
        def tests():
            p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_decode.py",
                                "-k", "cuda"], cwd=ROOT, capture_output=True, text=True, timeout=300)
            lines = (p.stdout + p.stderr).strip().splitlines()
            return {"rc": p.returncode, "summary": lines[-1] if lines else "", "tail": "\n".join(lines[-25:]) if p.returncode else ""}
        section("pytest_cuda_tests", tests)
    print(json.dumps(RESULT, indent=2))


if __name__ == "__main__":
    main()
