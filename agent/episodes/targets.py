"""The episode's targets (``expect:`` of its phases) read off the summary: met or not, and on which
readings.

Three readings exist for a change after an expert lands. The loop's windows (before vs after the
landing) hold *different* requests: with 32 requests after the landing a success rate has a 95 % interval
of about +-17 points, so a known scenario whose motions did not change at all can still "drop" 10 or 20
points. The two paired replays serve the *same* requests without and with the new expert: the last
requests before the landing re-served by the new generator, and the first requests after it re-served by
the generator from before; their change is the expert's doing and nothing else. Rules (also stated in
the report):
- a new scenario's gain is met when every reading reaches it (the loop's and both paired ones);
- a known scenario's drop is met when both paired changes stay within it; the loop's change is shown with
  its 95 % interval but does not decide (without a replay, it alone decides).
"""
from __future__ import annotations

import math

from agent.episodes.config import EpisodeConfig

Z95 = 1.96


def change_interval(before: dict, after: dict) -> tuple[float, float] | None:
    """95 % normal interval (points) of the difference of two independent success rates (percent)."""
    if not before.get("n") or not after.get("n"):
        return None
    p, q = before["success"] / 100, after["success"] / 100
    se = math.sqrt(p * (1 - p) / before["n"] + q * (1 - q) / after["n"])
    d = 100 * (q - p)
    return round(d - 100 * Z95 * se, 1), round(d + 100 * Z95 * se, 1)


def check_targets(ep: EpisodeConfig, summary: dict) -> list[dict]:
    """One entry per target: {target, scenario or phase, loop, loop_interval, paired (list), met, rule}."""
    out = []
    for ph in ep.phases:
        if ph.expect.success_min is not None:
            rates = summary["phases"].get(ph.name, {"n": 0})
            rate = rates.get("success")
            out.append({"target": f"phase '{ph.name}' success >= {100 * ph.expect.success_min:.0f} %", "phase": ph.name,
                        "loop": rate, "n": rates["n"], "met": rate is not None and rate >= 100 * ph.expect.success_min,
                        "rule": "the phase's success rate"})
    gain = next((p.expect.new_scenario_gain_min for p in ep.phases if p.expect.new_scenario_gain_min is not None), None)
    drop = next((p.expect.known_scenario_drop_max for p in ep.phases if p.expect.known_scenario_drop_max is not None), None)
    for sc, v in summary["scenarios"].items():
        loop = v["change_points"]["success"] if v["change_points"] else None
        paired = [summary.get(k, {}).get(sc) for k in ("paired", "paired_after")]
        paired = [p["change_points"]["success"] for p in paired if p and p["change_points"]]
        entry = {"scenario": sc, "loop": loop, "loop_interval": change_interval(v["before"], v["after"]), "paired": paired}
        if v["kind"] == "new" and gain is not None:
            met = loop is not None and loop >= gain and all(p >= gain for p in paired)
            out.append({"target": f"{sc} (new) gains >= {gain:g} points", **entry, "met": met, "rule": "every reading reaches it"})
        elif v["kind"] == "known" and drop is not None:
            if paired:
                met, rule = all(p >= -drop for p in paired), "paired readings (same requests) within it"
            else:
                met, rule = loop is not None and loop >= -drop, "loop change (no paired replay)"
            out.append({"target": f"{sc} (known) drops <= {drop:g} points", **entry, "met": met, "rule": rule})
    return out


def targets_markdown(targets: list[dict]) -> list[str]:
    if not targets:
        return []
    fmt = lambda x: "-" if x is None else f"{x:+.1f}"  # noqa: E731
    L = ["## Targets (the episode's `expect:`)", "",
         "Change in success points. *Loop*: the windows before vs after the landing (different requests; 95 % interval "
         "in brackets). *Paired*: the same requests without and with the new expert (requests from before the landing; "
         "from after it). A new scenario's gain must hold on every reading; a known scenario's drop is read on the paired "
         "requests, the loop's windows differing in their requests too (agent/episodes/targets.py).", "",
         "| target | loop | paired (before; after) | rule | met |", "|---|---|---|---|---|"]
    for t in targets:
        if "phase" in t:
            loop = f"{t['loop']} % (n {t['n']})" if t["loop"] is not None else "-"
        else:
            ci = t.get("loop_interval")
            loop = fmt(t["loop"]) + (f" [{ci[0]:+.1f}, {ci[1]:+.1f}]" if ci else "")
        paired = "; ".join(fmt(p) for p in t.get("paired") or []) or "-"
        L.append(f"| {t['target']} | {loop} | {paired} | {t['rule']} | {'yes' if t['met'] else '**no**'} |")
    return L + [""]
