"""Warm-up of a pretrained backbone on the motion vocabulary (DESIGN §5, issue 20).

The new ``<som>``/``<eom>``/``<motion_i>`` rows of the embedding (and of an untied LM head) train with a
LoRA adapter on the attention and MLP projections; every pretrained weight stays frozen. Only what changed
is saved: ``motion_rows.safetensors`` (the rows), the adapter in peft's format (``adapter_model.safetensors``
+ ``adapter_config.json``) and ``warmup.json`` (base, vocabulary ids, settings, report). Loading
(``load_backbone(folder)``, policies/backbone/loader.py) reads the base from its package or local
folder, writes the rows back and merges the adapter: the result is a plain Hugging Face model again, on
which ES-MoE adds its experts as on any backbone.
"""
from __future__ import annotations

import json
import shutil
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from policies.backbone.batch import answer_loss, lm_batch
from policies.backbone.corpus import TokenSample, draw_batch
from policies.backbone.loader import Backbone, WarmupConfig, load_backbone_config
from policies.backbone.motion_rows import FORMAT, MANIFEST, ROWS, MotionRows, is_tied, motion_row_ids, recentre_unseen



def answer_val_loss(model, backbone: Backbone, samples: list[TokenSample], batch: int = 16) -> float | None:
    """Token-weighted mean cross-entropy of the motion answers (codes + ``<eom>``) given the prompt, first text
    of each sample: the same figure for any backbone, whatever its text tokenizer."""
    import torch

    if not samples:
        return None
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(samples), batch):
            chunk = samples[i:i + batch]
            b = lm_batch(backbone, [s.texts[0] for s in chunk], [s.codes for s in chunk], device=next(model.parameters()).device)
            n = int((b["labels"][:, 1:] != -100).sum())
            total += float(answer_loss(model, b)) * n
            count += n
    model.train(was_training)
    return total / count


def lora_config(cfg: WarmupConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=0.0, target_modules=list(cfg.target_modules),
                      bias="none", task_type="CAUSAL_LM")


def _schedule(opt, cfg: WarmupConfig):
    import torch

    steps = max(1, cfg.steps)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / max(1, cfg.warmup))
                                             * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps))))


def warm_up(backbone: Backbone, base: str, train: list[TokenSample], val: dict[str, list[TokenSample]], out_dir: str | Path,
            cfg: WarmupConfig | None = None, progress: bool = True, extra: dict | None = None) -> dict:
    """Teach ``backbone`` (loaded from ``base``: ``smollm2-135m`` or a local folder) the motion vocabulary on
    ``train``; report the validation answer loss of each set in ``val``; save what changed to ``out_dir``
    (atomically). The backbone's model is left warmed up (adapter merged) in ``backbone.model``."""
    import torch
    from peft import get_peft_model
    from tqdm import tqdm

    from policies.torch_utils import pick_device

    if base == "tiny":
        raise ValueError("warmup: the tiny backbone is pre-trained whole (configs/esmoe.yaml pretrain); "
                         "warm-up is for pretrained backbones (smollm2-135m or a local Hugging Face folder)")
    if not train:
        raise ValueError("warmup: no training samples in the pre-known scenarios")
    cfg = cfg or load_backbone_config().warmup
    torch.manual_seed(cfg.seed)
    device = pick_device()
    model = backbone.model.to(device)
    peft_model = get_peft_model(model, lora_config(cfg))  # freezes every base weight
    rows = MotionRows(model, backbone.vocab)  # then the motion rows, and only those rows, learn
    lora = [p for n, p in peft_model.named_parameters() if "lora_" in n and p.requires_grad]
    opt = torch.optim.AdamW([{"params": lora, "lr": cfg.lr}, {"params": rows.parameters(), "lr": cfg.rows_lr}],
                            weight_decay=0.0)  # decoupled decay would move the frozen rows
    sched = _schedule(opt, cfg)
    # bf16 on CUDA, fp32 on CPU (bf16 matmuls are slower than fp32 on most CPUs)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    rng = np.random.default_rng(cfg.seed)
    losses, t0 = [], time.perf_counter()
    peft_model.train()
    bar = tqdm(range(cfg.steps), desc=f"warm-up {base}", unit="step", disable=not progress, mininterval=2.0)
    for it in bar:
        texts, codes, _ = draw_batch(train, cfg.batch, rng)
        with autocast:
            loss = answer_loss(peft_model, lm_batch(backbone, texts, codes, device=device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora + rows.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    seconds = time.perf_counter() - t0
    unseen = recentre_unseen(model, backbone.vocab, {int(c) for s in train for c in s.codes}) if cfg.recentre_unseen else 0
    with autocast:
        val_loss = {k: _round(answer_val_loss(peft_model, backbone, v)) for k, v in val.items()}
    report = {"base": base, "steps": cfg.steps, "batch": cfg.batch, "seconds": round(seconds, 1),
              "samples_per_s": round(cfg.steps * cfg.batch / max(seconds, 1e-9), 2),
              "train_loss_first": _round(losses[0]) if losses else None,
              "train_loss_last20": _round(float(np.mean(losses[-20:]))) if losses else None,
              "recentred_unseen_codes": unseen, "val_loss": val_loss, "val_samples": {k: len(v) for k, v in val.items()},
              "trainable_parameters": sum(p.numel() for p in lora) + len(rows.ids) * sum(m.shape[1] for m in rows.matrices.values()),
              "base_parameters": sum(p.numel() for p in model.parameters()), "device": str(device), **(extra or {})}
    out = _save(peft_model, rows, backbone, base, cfg, report, Path(out_dir))
    report["output_bytes"] = sum(f.stat().st_size for f in out.iterdir())
    (out / "report.json").write_text(json.dumps(report, indent=2))
    rows.remove()
    backbone.model = peft_model.merge_and_unload()
    return report


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _save(peft_model, rows: MotionRows, backbone: Backbone, base: str, cfg: WarmupConfig, report: dict, out: Path) -> Path:
    import dataclasses

    from safetensors.torch import save_file

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.float().cpu() for k, v in rows.state().items()}, str(tmp / ROWS))
    # the resized embedding is not saved with the adapter: its new rows are in ROWS, the rest is the base's
    peft_model.save_pretrained(str(tmp), safe_serialization=True, save_embedding_layers=False)
    (tmp / "README.md").unlink(missing_ok=True)  # peft's model-card template: nothing of the warm-up
    base_ref = base if base == "smollm2-135m" else str(Path(base).resolve())
    manifest = {"format": FORMAT, "base": base_ref, "codebook_size": backbone.vocab.codebook_size,
                "row_ids": motion_row_ids(backbone.vocab), "tied_head": is_tied(peft_model.get_base_model()),
                "config": dataclasses.asdict(cfg), "report": report}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out
