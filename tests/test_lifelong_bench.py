"""The lifelong benchmark end to end in --quick mode on the real data (CI has it; fresh users skip)."""
import json
import math
import os

import pytest

from agent.bench.lifelong import resolve_methods
from agent.bench.lifelong_sequence import scenario_orders

needs_data = pytest.mark.skipif(not os.environ.get("L2EMG_BANDAI_ROOT"),
                                reason="L2EMG_BANDAI_ROOT is not set: the quick lifelong benchmark reads Bandai-Namco dataset-1")


def test_orders_are_distinct_and_methods_checked():
    orders = scenario_orders(["a", "b", "c", "d"], 3, seed=0)
    assert len({tuple(o) for o in orders}) == 3 and all(sorted(o) == ["a", "b", "c", "d"] for o in orders)
    assert resolve_methods(["es-moe,seqlora", "o-lora"]) == ["es-moe", "seqlora", "o-lora"]
    with pytest.raises(ValueError, match="unknown method"):
        resolve_methods(["es-moe,gpt"])


@needs_data
def test_quick_lifelong_benchmark_writes_table_matrices_and_report(tmp_path):
    from agent.bench.lifelong import run_lifelong

    r = run_lifelong("bandai-4", ["es-moe,seqlora,mtl,wo-lemo"], orders=1, quick=True, runs=str(tmp_path / "runs"),
                     cache=str(tmp_path / "cache"), progress=False)
    assert set(r["table"]) == {"ES-MoE", "SeqLoRA", "MTL"} and set(r["ablations"]) == {"ES-MoE", "ES-MoE w/o L_emo"}
    for method, cols in r["table"].items():
        assert math.isfinite(cols["AF"]["mean"]) and cols["AF"]["mean"] >= 0
        assert cols["AD"]["mean"] > 0  # generated motions differ from each other
    runs = {x["method"]: x for x in r["runs"]}
    n = len(r["scenario_orders"][0])
    fid = runs["ES-MoE"]["matrix"]["values"]["fid"]
    assert len(fid) == n and all(fid[k][j] is not None for k in range(n) for j in range(k + 1))  # lower triangle filled
    assert all(fid[k][j] is None for k in range(n) for j in range(k + 1, n))  # unseen scenarios not evaluated
    assert 0 < r["expert_size"]["fraction"] <= 0.03
    report = (tmp_path / "runs" / "bandai-4-quick" / "lifelong-test" / "report.md").read_text()
    assert "| ES-MoE |" in report and "heatmap_es-moe_order0.png" in report
    assert (tmp_path / "runs" / "bandai-4-quick" / "lifelong-test" / "heatmap_es-moe_order0.png").stat().st_size > 1000
    cells = [json.loads(l) for l in (tmp_path / "runs" / "bandai-4-quick" / "lifelong-test" / "cells.jsonl").read_text().splitlines()]
    assert any("routing_accuracy" in c for c in cells if c["method"] == "ES-MoE")


def test_mixed_setting_is_refused_plainly(tmp_path):
    from agent.bench.lifelong import run_lifelong

    with pytest.raises(ValueError, match="mixed"):
        run_lifelong("bandai-4", ["es-moe"], setting="mixed", runs=str(tmp_path))
