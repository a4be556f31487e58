"""`l2emg train generator`: ES-MoE through a benchmark's scenarios in order, saved as peft experts + manifest."""
from __future__ import annotations

from pathlib import Path


def train_generator(benchmark: str = "bandai-4", scenarios: list[str] | None = None, out: str | None = None,
                    runs: str = "runs", quick: bool = False, config_path: str | None = None, root: str | None = None,
                    cache: str | None = None, progress: bool = True, overrides: dict[str, str] | None = None,
                    backbone: str = "tiny") -> dict:
    from agent.recipes.benchmark_assets import lifelong_assets, quick_config
    from policies.esmoe import ESMoE, load_esmoe_config
    from policies.esmoe.store import save_esmoe
    from policies.esmoe.trainer import learn_scenario

    from envs.config import apply_overrides

    config = apply_overrides(load_esmoe_config(config_path), overrides or {}, "--set esmoe.*")
    if quick:
        config = quick_config(config)
    assets, info = lifelong_assets(benchmark, config, quick, root, cache, runs, progress, backbone=backbone)
    order = scenarios or assets.corpus.scenarios
    unknown = [s for s in order if s not in assets.corpus.scenarios]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r} for {info['dataset']} (known: {', '.join(assets.corpus.scenarios)})")
    model = ESMoE(assets.make_backbone(), config, assets.emotions)
    stats = [learn_scenario(model, sc, assets.corpus.select("train", [sc]), config.train, seed=config.train.seed + i,
                            progress=progress) for i, sc in enumerate(order)]
    out_dir = Path(out) if out else Path(runs) / info["dataset"] / "generator"
    save_esmoe(model, out_dir, extra={"dataset": info["dataset"], "backbone_dir": info["backbone_dir"], "training": stats})
    return {"checkpoint": str(out_dir), "overrides": {f"esmoe.{k}": v for k, v in (overrides or {}).items()}, "dataset": info["dataset"], "experts": model.bank.names,
            "expert_parameters": model.expert_parameters(), "training": stats}
