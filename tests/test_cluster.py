"""The runtime on a real multi-node Ray cluster on this machine (issue: scale-out): actor shares derived
from what the nodes have, executors spread over the nodes, a node lost mid-episode without a lost verdict,
a cluster too small for the asks failing within the placement timeout with a line naming them, and the
embedded default never joining a stale cluster by accident. The nodes are real raylets started with
``ray.cluster_utils.Cluster`` (what ``ray start --head`` / ``ray start --address`` run), each with its own
resource label."""
from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from agent.runtime.config import RaySettings
from agent.runtime.placement import PlacementError, plan_shares
from runtime_helpers import SMALL, tiny_runtime, write_episode


def test_shares_follow_the_nodes():
    r = RaySettings()
    embedded = plan_shares(r, 2, 2.0, [2.0])  # the 2-core box: as the runtime always had it
    assert [s.cpus for s in embedded.services] == [0.5, 0.5, 0.25, 0.25] and [s.cpus for s in embedded.executors] == [0.25, 0.25]
    big = plan_shares(r, 2, 4.0, [4.0, 2.0])  # room: a whole CPU per executor
    assert [s.cpus for s in big.executors] == [1.0, 1.0]
    small = plan_shares(r, 2, 1.0, [1.0, 1.0])  # services shrink to the driver's node, executors share the rest
    assert sum(s.cpus for s in small.services) == pytest.approx(1.0) and [s.cpus for s in small.executors] == [0.5, 0.5]
    assert plan_shares(r, 1, 2.0, [2.0], gpus=1).services[0].gpus == 0.5
    with pytest.raises(PlacementError, match="no CPU left for the executors"):
        plan_shares(r, 2, 1.0, [1.0])


def test_the_embedded_default_starts_its_own_cluster_despite_a_stale_one(monkeypatch):
    import ray

    from agent.runtime.actors import init_ray

    tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths live below it
    (tmp / "ray").mkdir()
    (tmp / "ray" / "ray_current_cluster").write_text("127.0.0.1:6399")  # a `ray start` cluster that died
    monkeypatch.setenv("RAY_TMPDIR", str(tmp))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    try:
        init_ray(tiny_runtime())
        assert ray.cluster_resources()["CPU"] == tiny_runtime().ray.num_cpus
    finally:
        ray.shutdown()


def _verdicts(out: Path) -> tuple[int, int, list[int]]:
    db = sqlite3.connect(str(out / "store.sqlite"))
    n_inter = db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
    n_verd = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    steps = [r[0] for r in db.execute("SELECT step FROM interactions ORDER BY step")]
    db.close()
    return n_inter, n_verd, steps


@pytest.mark.slow
def test_two_nodes_run_executors_on_both_and_survive_losing_one(runtime_dirs, monkeypatch):
    import ray
    from ray.cluster_utils import Cluster

    from agent.episodes.runner import run_episode

    root, runs, cache = runtime_dirs
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4, "resources": {"l2emg_head": 1},
                                                            "include_dashboard": False})
    worker = cluster.add_node(num_cpus=2, resources={"l2emg_worker": 1})
    cluster.wait_for_nodes()
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    seen: dict = {}

    def on_batch(backend, loop):
        if "where" not in seen:
            seen["where"] = backend.where()
            seen["nodes"] = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
        if "lost_at" not in seen and loop.state.step >= 6:
            cluster.remove_node(worker)
            seen["lost_at"] = loop.state.step

    try:
        summary = run_episode(write_episode(root, "two-nodes", executors=2), runs, backend="ray", runtime=tiny_runtime(),
                              cache=str(cache), progress=False, render=False, on_backend=on_batch)
    finally:
        ray.shutdown()
        cluster.shutdown()
    where, nodes = seen["where"], seen["nodes"]
    executor_nodes = {where["executor-0"], where["executor-1"]}
    assert len(executor_nodes) == 2, where  # spread over both nodes
    assert all("l2emg_head" in nodes[where[s]] for s in ("generator", "learner", "perception", "feedback"))
    assert "lost_at" in seen
    n_inter, n_verd, steps = _verdicts(runs / "two-nodes")
    assert n_inter == n_verd == summary["interactions"] and steps == list(range(n_inter)) and n_inter > seen["lost_at"]


@pytest.mark.slow
def test_one_cpu_nodes_run_the_episode_or_fail_within_the_timeout_naming_the_asks(runtime_dirs, monkeypatch):
    import ray
    from ray.cluster_utils import Cluster

    from agent.episodes.runner import run_episode

    root, runs, cache = runtime_dirs
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    short = root / "one-cpu-nodes.yaml"  # placement is what is tested: one short phase, no learner
    short.write_text(f"name: one-cpu-nodes\ndataset: {SMALL}\nexecutors: 2\nrender_examples: false\nreplay: 0\n"
                     "phases: [{name: known, scenarios: [daily_life, sports], interactions: 4}]\n")
    t0 = time.perf_counter()
    try:
        summary = run_episode(short, runs, backend="ray", runtime=tiny_runtime(), cache=str(cache), progress=False, render=False)
        n_inter, n_verd, _ = _verdicts(runs / "one-cpu-nodes")
        assert n_inter == n_verd == summary["interactions"]
    except PlacementError as exc:
        assert time.perf_counter() - t0 < 60 and "CPU" in str(exc) and len(str(exc).splitlines()) == 1
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_a_cluster_without_room_fails_fast_with_one_line(runtime_dirs, monkeypatch):
    import dataclasses

    import ray
    from ray.cluster_utils import Cluster

    from agent.episodes.config import bootstrap_request, load_episode
    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.actors import RayBackend

    root, runs, cache = runtime_dirs
    rt = tiny_runtime()
    rt = dataclasses.replace(rt, ray=dataclasses.replace(rt.ray, placement_timeout_s=5.0))
    assets = bootstrap_assets(bootstrap_request(load_episode(write_episode(root, "boot"))), rt.bootstrap, runs, str(cache),
                              progress=False)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1, resources={"gpu_less": 1})
    cluster.wait_for_nodes()
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    t0 = time.perf_counter()
    try:
        # a second tenant holds the worker node: the executors have nowhere to go
        ray.init(address=cluster.address)
        hog = ray.util.placement_group([{"CPU": 1.0, "gpu_less": 1.0}])
        ray.get(hog.ready(), timeout=30)
        with pytest.raises(PlacementError, match=r"executor-0 .* CPU .*within 5 s"):
            RayBackend(rt, assets, str(root / "no-room.sqlite"), str(root / "no-room.json"), 2)
        assert time.perf_counter() - t0 < 60
    finally:
        ray.shutdown()
        cluster.shutdown()
