"""`l2emg sim bench`'s memory figure (agent/bench/sim.py): one executor after a whole clip of the asked length."""
from agent.bench.sim import bench_memory


def test_the_memory_figure_holds_a_whole_clip_tracked_to_its_end():
    out = bench_memory()  # 10 s: the repeated 3.3 s walk this replaced was lost at 6.95 s
    assert out["mode"] == "none" and out["clip_s"] == 10.0
    assert out["ok"] and out["reason"] == "ok" and out["simulated_s"] >= 9.9, out
    assert out["rss_mb"] > out["before_executor_mb"] > 0
