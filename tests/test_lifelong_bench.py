"""The lifelong benchmark: method names, the frozen protocols, resumable results folders, and the --quick run
(shipped synth-8 models, no data needed), which must see SeqLoRA forget and the paper's ES-MoE forget less."""
import json
import math

import pytest

from agent.bench.lifelong_methods import METHODS, RENAMED, method_config, resolve_methods, training_groups
from agent.bench.lifelong_protocol import load_benchmark, read_test_reads, record_test_read
from agent.bench.lifelong_runs import PlannedRun, RunStore, Schedule, plan_runs
from agent.bench.lifelong_sequence import scenario_orders
from agent.cli.main import build_parser

def test_orders_are_distinct():
    orders = scenario_orders(["a", "b", "c", "d"], 3, seed=0)
    assert len({tuple(o) for o in orders}) == 3 and all(sorted(o) == ["a", "b", "c", "d"] for o in orders)


def test_every_method_name_round_trips_through_the_cli():
    parser = build_parser()
    names = list(METHODS)
    args = parser.parse_args(["bench", "lifelong", "--methods", ",".join(names[:5]), *names[5:], "--seeds", "0-2", "--resume"])
    assert resolve_methods(args.methods) == names and args.seeds == [0, 1, 2] and args.resume
    for key, spec in METHODS.items():
        assert resolve_methods([key]) == [key] and spec.label  # each name resolves to itself and has a row label


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_old_names_are_refused_with_the_new_name(old):
    with pytest.raises(ValueError, match="renamed: use " + RENAMED[old].split()[0].replace("+", r"\+")):
        resolve_methods([old])


def test_unknown_names_get_a_suggestion():
    with pytest.raises(ValueError, match="did you mean 'es-moe'"):
        resolve_methods(["es-mo"])


def test_the_paper_row_has_no_routing_loss_and_the_variants_say_what_they_add():
    cfg, sha, _ = load_benchmark("bandai-4")
    assert len(sha) == 64 and cfg.protocol.compare_to == "es-moe" and cfg.protocol.methods[0] == "es-moe"
    paper = method_config("es-moe", cfg.esmoe, {"es-moe": {"gate.routing_weight": 3.0}})  # the definition wins
    assert paper.gate.routing_weight == 0.0 and paper.gate.inference == "learned"
    assert method_config("es-moe+routing-loss", cfg.esmoe, cfg.methods).gate.routing_weight > 0
    assert training_groups(["es-moe", "es-moe+routing-loss", "es-moe+content-router"]) == {
        "es-moe": ["es-moe"], "es-moe+routing-loss": ["es-moe+routing-loss", "es-moe+content-router"]}
    with pytest.raises(ValueError, match="routing_weight must be > 0"):
        method_config("es-moe+routing-loss", cfg.esmoe, {"es-moe+routing-loss": {"gate.routing_weight": 0.0}})
    quick, _, _ = load_benchmark("quick")
    assert "epi" in quick.protocol.methods and "seqlora" in quick.protocol.methods


def test_every_protocol_file_loads_and_the_reduced_one_differs_from_bandai4_only_where_it_says():
    import dataclasses

    from envs.config import config_dir

    files = sorted((config_dir() / "benchmarks").glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        load_benchmark(str(f))  # every name, per-method value and grid checked
    full, _, _ = load_benchmark("bandai-4")
    reduced, _, _ = load_benchmark("bandai-4-reduced")
    assert reduced.dataset == full.dataset and reduced.protocol.methods == ["es-moe", "seqlora", "mtl"]
    same = {f.name for f in dataclasses.fields(full.esmoe)} - {"train", "eval"}
    assert all(getattr(reduced.esmoe, k) == getattr(full.esmoe, k) for k in same)  # "as bandai-4 except train, eval"


def test_selection_grids_are_checked_in_the_protocol_file_and_expand_to_every_point(tmp_path):
    from agent.bench.lifelong_protocol import benchmark_path
    from agent.bench.lifelong_select import grid
    from envs.config import ConfigError

    assert grid({"b": [1, 2], "a": [3]}) == [{"a": 3, "b": 1}, {"a": 3, "b": 2}]
    cfg, _, _ = load_benchmark("bandai-4")
    assert {"epi", "sapt", "prog-prompt", "o-lora", "lwf-lora"} <= set(cfg.selection)
    bad = tmp_path / "bad.yaml"
    bad.write_text(benchmark_path("quick").read_text() + "selection:\n  epi: {epi.no_such_key: [1]}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: selection.epi.epi.no_such_key"):
        load_benchmark(str(bad))


def test_an_interrupted_selection_keeps_only_points_of_the_same_protocol_order_and_seed(tmp_path):
    from agent.bench.lifelong_select import _point_key, finished_points

    order = ["greeting", "locomotion"]
    row = {"values": {"epi.shrinkage": 0.1}, "val_loss": {"mean": 3.5}, "seconds": 9.0}
    lines = [{"method": "epi", "config_sha256": "abc", "order": order, "seed": 0, **row},
             {"method": "epi", "config_sha256": "old", "order": order, "seed": 0, **row, "values": {"epi.shrinkage": 0.0}},
             {"method": "sapt", "config_sha256": "abc", "order": order[::-1], "seed": 0, **row, "values": {"sapt.kl_weight": 1.0}},
             {"method": "lwf-lora", "config_sha256": "abc", "order": order, "seed": 1, **row, "values": {"lwf.alpha": 1.0}}]
    path = tmp_path / "points.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"method": "epi", "config_')  # killed mid-line
    done = finished_points(path, "abc", order, 0)
    assert list(done) == [_point_key("epi", {"epi.shrinkage": 0.1})] and done[_point_key("epi", {"epi.shrinkage": 0.1})] == row
    assert finished_points(tmp_path / "none.jsonl", "abc", order, 0) == {}


def test_plan_interleaves_methods_and_gives_joint_methods_one_order():
    plan = plan_runs({"a": ["a"], "mtl": ["mtl"]}, [0, 1], [["x", "y"], ["y", "x"]], joint={"mtl"})
    assert [(r.train_key, r.seed, r.order_index) for r in plan] == [
        ("a", 0, 0), ("mtl", 0, 0), ("a", 0, 1), ("a", 1, 0), ("mtl", 1, 0), ("a", 1, 1)]


def test_shards_split_the_plan_without_overlap_and_share_one_folder(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from agent.bench.lifelong_runs import shard_plan

    plan = plan_runs({"a": ["a"], "b": ["b"], "mtl": ["mtl"]}, [0, 1, 2], [["x", "y"], ["y", "x"]], joint={"mtl"})
    shards = [shard_plan(plan, i, 3) for i in range(3)]
    labels = [r.label for sh in shards for r in sh]
    assert sorted(labels) == sorted(r.label for r in plan) and len(set(labels)) == len(plan)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    with pytest.raises(ValueError, match="0 <= I < N"):
        shard_plan(plan, 2, 2)
    parser = build_parser()
    assert parser.parse_args(["bench", "lifelong", "--shard", "1/2"]).shard == (1, 2)
    for bad in ("2/2", "1", "a/b"):
        with pytest.raises(SystemExit):
            parser.parse_args(["bench", "lifelong", "--shard", bad])
    man = {"benchmark": "b", "config_sha256": "x", "split": "test", "commit": "c1", "code": "t1", "overrides": {}, "dataset": "d",
           "models": {"tokenizer": "f1"}}
    with ThreadPoolExecutor(4) as pool:  # four shards open the same new folder at once: every part is recorded
        list(pool.map(lambda i: RunStore(tmp_path / "out").open(man, resume=True, shard=f"{i}/4"), range(4)))
    assert sorted(p["shard"] for p in RunStore(tmp_path / "out").manifest()["parts"]) == ["0/4", "1/4", "2/4", "3/4"]


def test_results_folder_resumes_only_the_same_protocol_and_code(tmp_path):
    store = RunStore(tmp_path / "out")
    man = {"benchmark": "b", "config_sha256": "x", "split": "test", "commit": "c1", "code": "t1", "overrides": {}, "dataset": "d"}
    store.open(man, resume=False)
    run = PlannedRun("a", ["a", "a+view"], 0, 0, ["x", "y"])
    store.save("a", 0, 0, {"method": "a", "train_key": "a", "seconds": 10.0})
    assert not store.done(run)  # one of its two rows is missing
    store.save("a+view", 0, 0, {"method": "a+view", "train_key": "a", "seconds": 10.0})
    assert store.done(run)
    with pytest.raises(ValueError, match="--resume"):
        RunStore(tmp_path / "out").open(man, resume=False)
    with pytest.raises(ValueError, match="code differs"):
        RunStore(tmp_path / "out").open({**man, "code": "t2"}, resume=True)
    with pytest.raises(ValueError, match="models differs"):  # the folder carried to a checkout whose rebuild differs
        RunStore(tmp_path / "out").open({**man, "models": {"tokenizer": "f2"}}, resume=True)
    again = RunStore(tmp_path / "out")  # a commit that changed no code (RESULTS.md) may add a part
    assert len(again.open({**man, "commit": "c2"}, resume=True)["parts"]) == 2
    later = PlannedRun("a", ["a", "a+view"], 1, 0, ["x", "y"])
    sched = Schedule([run, later], again, budget_s=5.0)
    assert sched.todo == [later] and sched.expected("a") == 10.0 and sched.eta() == 10.0
    assert not sched.fits(later)  # 10 s expected > 5 s budget: the part stops, --resume continues


def test_a_checkpoint_without_its_report_is_trained_again(tmp_path, monkeypatch):
    """A part killed mid-training leaves the best checkpoint so far but no report.json: --resume retrains it."""
    import agent.recipes.training as tr

    cls, model, _ = tr.model_kind("tokenizer")
    calls = []
    monkeypatch.setattr(tr, "model_kind", lambda kind: (cls, model, lambda cfg, ds, out, **kw: calls.append(out)))
    out = tmp_path / "tokenizer"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"")
    tr.train_missing("tokenizer", out, tmp_path, 10, False)
    assert calls == [out]
    (out / "report.json").write_text("{}")
    tr.train_missing("tokenizer", out, tmp_path, 10, False)
    assert calls == [out]  # finished: kept


def test_weights_fingerprint_reads_every_weights_file_and_nothing_else(tmp_path):
    from agent.recipes.benchmark_assets import weights_fingerprint

    with pytest.raises(FileNotFoundError, match="no \\*.safetensors"):
        weights_fingerprint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"abc")
    first = weights_fingerprint(tmp_path)
    (tmp_path / "report.json").write_text("{}")  # not weights: the same model
    assert weights_fingerprint(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"abd")  # one byte: another model
    assert weights_fingerprint(tmp_path) != first
    (tmp_path / "model.safetensors").write_bytes(b"abc")
    (tmp_path / "extra.safetensors").write_bytes(b"")
    assert weights_fingerprint(tmp_path) != first


def test_results_folder_carries_its_models_to_another_runs_folder(tmp_path):
    from agent.recipes.benchmark_assets import carry_models, dataset_identity, install_carried, weights_fingerprint

    here, out = tmp_path / "runs" / "ds", tmp_path / "out"
    for name, data in (("tokenizer", b"t"), ("evaluator", b"e"), ("emotion", b"m"), ("backbone-tiny", b"b")):
        (here / name).mkdir(parents=True)
        (here / name / "model.safetensors").write_bytes(data)
        (here / name / "report.json").write_text("{}")
    assert install_carried(out, here) == []  # nothing carried yet
    assert carry_models(out, here, here / "backbone-tiny") == ["tokenizer", "evaluator", "emotion", "backbone-tiny"]
    assert carry_models(out, here, here / "backbone-tiny") == []  # carried once: the first machine's
    other = tmp_path / "runs-elsewhere" / "ds"
    assert install_carried(out, other) == ["backbone-tiny", "emotion", "evaluator", "tokenizer"]
    assert weights_fingerprint(other / "tokenizer") == weights_fingerprint(here / "tokenizer")
    assert (other / "tokenizer" / "report.json").is_file()  # a finished training: not trained again
    assert install_carried(out, other) == []  # the same weights already there
    (other / "evaluator" / "model.safetensors").write_bytes(b"rebuilt here")
    with pytest.raises(ValueError, match="other weights"):
        install_carried(out, other)
    # The dataset's identity is its sample list, not the source files' times (a fresh copy of the data).
    (tmp_path / "samples.jsonl").write_text('{"sample_id": "a#0", "split": "test"}\n')
    first = dataset_identity(tmp_path)
    import os

    os.utime(tmp_path / "samples.jsonl", (0, 0))
    assert dataset_identity(tmp_path) == first
    (tmp_path / "samples.jsonl").write_text('{"sample_id": "a#0", "split": "train"}\n')
    assert dataset_identity(tmp_path) != first


def test_test_reads_are_counted_beside_the_dataset(tmp_path):
    assert read_test_reads(tmp_path) == []
    assert record_test_read(tmp_path, {"benchmark": "b"}) == 1 and record_test_read(tmp_path, {"benchmark": "b"}) == 2


def test_mixed_setting_is_refused_plainly(tmp_path):
    from agent.bench.lifelong import run_lifelong

    with pytest.raises(ValueError, match="mixed"):
        run_lifelong("bandai-4", ["es-moe"], setting="mixed", runs=str(tmp_path))


def test_quick_benchmark_sees_seqlora_forget_and_epi_forget_less(tmp_path):
    """SeqLoRA must forget the first scenario and EPI (frozen adapters, task identity) must not. The paper's
    ES-MoE is scored and paired with every row, but no direction is asserted for it: on this task its gate (no routing loss) sends the old scenario's descriptions to the
    newest expert (routing_accuracy 0 in cells.jsonl; RESULTS.md), so "forgets less" is not what it does."""
    from agent.bench.lifelong import run_lifelong

    kw = dict(quick=True, runs=str(tmp_path / "runs"), cache=str(tmp_path / "cache"), progress=False,
              out=str(tmp_path / "out"))
    r = run_lifelong("bandai-4", **kw)
    assert r["complete"] and set(r["table"]) == {"es-moe", "epi", "seqlora"}
    seq, epi = r["table"]["seqlora"]["FR"], r["table"]["epi"]["FR"]
    # SeqLoRA forgets dance; EPI (frozen adapters, task identity) forgets only where its nearest-description task
    # identity sends an old request to the new adapter. One quick run does not separate SeqLoRA's forgetting from its
    # noise since the tiny backbone is pre-trained on the planted-feet synth-8 (2026-12-04: FR 5.3 [-3.5, 14.0];
    # before, 12.3 [1.8, 21.9]), so the means are compared, not the intervals (RESULTS.md, "The procedural source made
    # physically consistent"). EPI read FR 0 until the backbone retrained on the bounded squats (2026-12-05): 0.9
    # [0.0, 2.6], one old item in 114, against SeqLoRA's 8.8.
    assert seq["mean"] > 0, f"SeqLoRA does not forget: FR {seq}"
    assert epi["mean"] < seq["mean"] / 2, f"EPI does not forget less than SeqLoRA: FR {epi} vs {seq}"
    d = r["differences"]["seqlora"]["FR"]  # es-moe minus seqlora, paired on the same windows
    assert d["pairs"] == 1 and all(math.isfinite(x) for x in d["ci"]) and d["mdd"] > 0
    for cols in r["table"].values():
        assert math.isfinite(cols["AF"]["mean"]) and cols["AD"]["mean"] > 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert r["config_sha256"] in report and "scored 1 time(s)" in report and "heatmap_es-moe.png" in report
    models = r["manifest"]["models"]
    assert set(models) == {"dataset", "tokenizer", "evaluator", "emotion", "backbone"} and models["tokenizer"] in report
    cells = [json.loads(x) for x in (tmp_path / "out" / "cells.jsonl").read_text().splitlines()]
    assert any("routing_accuracy" in c for c in cells if c["method"] == "epi")
    with pytest.raises(ValueError, match="--resume"):
        run_lifelong("bandai-4", **kw)
    again = run_lifelong("bandai-4", resume=True, **kw)  # nothing left to run: the same table, no new test read
    assert again["table"]["seqlora"]["FR"] == seq and again["test_reads"] == 1
    # The folder carries the models it was scored by: another machine (an empty runs folder) continues on them.
    from agent.recipes.benchmark_assets import weights_fingerprint

    carried = {p.name: weights_fingerprint(p) for p in (tmp_path / "out" / "models").iterdir()}
    backbone = set(carried) - {"tokenizer", "evaluator", "emotion"}
    assert len(carried) == 4 and len(backbone) == 1 and carried[backbone.pop()] == models["backbone"]
    assert all(carried[k] == models[k] for k in ("tokenizer", "evaluator", "emotion"))
    elsewhere = run_lifelong("bandai-4", resume=True, **{**kw, "runs": str(tmp_path / "runs-elsewhere")})
    assert elsewhere["manifest"]["models"] == models and elsewhere["table"]["seqlora"]["FR"] == seq


def test_emotion_transfer_protocol_holds_combinations_out_of_training(tmp_path):
    from types import SimpleNamespace

    from agent.bench.lifelong_protocol import benchmark_path
    from agent.bench.lifelong_sequence import training_samples
    from envs.config import ConfigError

    cfg, _, _ = load_benchmark("emotion-transfer")
    assert set(cfg.holdout) == set(cfg.protocol.scenarios) and set(cfg.pretrain_without) == set(cfg.protocol.scenarios)
    held = {e for v in cfg.holdout.values() for e in v}
    for sc, emotions in cfg.holdout.items():  # every held-out emotion is trained in another scenario
        assert all(any(e not in cfg.holdout[o] for o in cfg.holdout if o != sc) for e in emotions)
    assert len(held) == 8
    x = lambda sc, e, split="train": SimpleNamespace(scenario=sc, emotion=e, split=split)  # noqa: E731
    corpus = SimpleNamespace(select=lambda split, scs: [s for s in [x("dance", "happy"), x("dance", "proud"), x("shows", "happy")]
                                                         if s.split == split and s.scenario in scs])
    kept = training_samples(corpus, ["dance", "shows"], cfg.holdout)
    assert [(s.scenario, s.emotion) for s in kept] == [("dance", "proud"), ("shows", "happy")]
    bad = tmp_path / "bad.yaml"
    bad.write_text(benchmark_path("emotion-transfer").read_text().replace("dance: [happy, sad, angry]", "dance: [happy, glum]"))
    with pytest.raises(ConfigError, match=r"bad.yaml: holdout.dance: unknown emotions \['glum'\]"):
        load_benchmark(str(bad))
