"""The episode's summary (success before/after each expert landed, per scenario) and its report.md
with plots: success per scenario over time with the expert events, and the expert timeline."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from agent.episodes.config import EpisodeConfig
from agent.episodes.targets import check_targets, targets_markdown
from agent.runtime.loop import stage_percentiles
from envs.atomic import atomic_save_figure, atomic_write_text

JUDGES = ("success", "physical_ok", "emotion_ok", "semantic_ok")


def _rates(rows: list[dict]) -> dict:
    if not rows:
        return {"n": 0}
    return {"n": len(rows), **{k: round(100 * float(np.mean([r[k] for r in rows])), 1) for k in JUDGES}}


def _compare(before: list[dict], after: list[dict]) -> dict:
    b, a = _rates(before), _rates(after)
    return {"before": b, "after": a,
            "change_points": {k: round(a[k] - b[k], 1) for k in JUDGES} if a["n"] and b["n"] else None}


# The simulation's own reasons, in the report's columns (others, e.g. a refused reference or implausible assistance in
# residual mode, go under "other"); "imprecise": tracked to the end, further from the motion than the judge allows
SIM_REASONS = ("fell", "tracking_lost", "unstable", "imprecise")


def physical_verdicts(rows: list[dict]) -> dict:
    """Per scenario, over the served interactions (not the paired replays): the share judged physically ok and why
    the others were not: the simulation's reason, or ``imprecise`` where it ran to the end but the physical judge's
    tracking bound was exceeded."""
    out = {}
    for sc in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == sc]
        reasons = Counter(_physical_reason(r.get("sim_reason")) for r in mine if not r["physical_ok"])
        out[sc] = {"n": len(mine), "physical_ok": round(100 * (len(mine) - sum(reasons.values())) / len(mine), 1),
                   "failures": dict(reasons.most_common())}
    return out


def _physical_reason(sim_reason: str | None) -> str:
    """Why a physically failed interaction failed: the simulation's reason, ``imprecise`` when the simulation ran to the
    end ("ok"), ``unknown`` when the row does not say (a store written before the reason was kept)."""
    if sim_reason is None:
        return "unknown"
    return "imprecise" if sim_reason == "ok" else sim_reason


def summarise(ep: EpisodeConfig, rows: list[dict], events: list[dict], timeline: list[dict]) -> dict:
    """Rates in percent. For a scenario that got an expert during the episode: before vs after it landed.
    For the scenarios covered from the start: before vs after the first expert landed. ``paired``: the
    replayed requests, as first served vs as re-served after the landing."""
    replays = [r for r in rows if r.get("replay_of") is not None]
    rows = [r for r in rows if r.get("replay_of") is None]
    landed = min((e["step"] for e in events if e["event"] == "expert_published"), default=None)
    known_before = lambda r: landed is None or r["step"] < landed  # noqa: E731 (a known scenario's split)
    first_row = {}
    for r in rows:
        first_row.setdefault(r["scenario"], r)
    per = {}
    for sc, first in first_row.items():
        mine = [r for r in rows if r["scenario"] == sc]
        kind = "known" if first["covered"] else "new"
        is_before = known_before if kind == "known" else (lambda r: not r["covered"])
        per[sc] = {"kind": kind, **_compare([r for r in mine if is_before(r)], [r for r in mine if not is_before(r)])}
    new = [sc for sc, v in per.items() if v["kind"] == "new"]
    known_rows = [r for r in rows if per[r["scenario"]]["kind"] == "known"]
    known_pooled = _compare([r for r in known_rows if known_before(r)], [r for r in known_rows if not known_before(r)])
    training = [r for r in rows if r["learner_active"]]
    idle = [r for r in rows if not r["learner_active"]]
    by_step = {r["step"]: r for r in rows}
    paired, paired_after = {}, {}
    for sc in dict.fromkeys(r["scenario"] for r in replays):
        for out, phase in ((paired, "replay"), (paired_after, "replay-previous")):
            again = [r for r in replays if r["scenario"] == sc and r.get("phase", "replay") == phase]
            if not again:
                continue
            first = [by_step[r["replay_of"]] for r in again]
            # always (served without the new expert, served with it)
            old, new_ = (first, again) if phase == "replay" else (again, first)
            out[sc] = {"kind": per[sc]["kind"], **_compare(old, new_),
                       "changed_motions": sum(1 for x, y in zip(first, again) if x["top_expert"] != y["top_expert"])}
    summary = {"episode": ep.name, "interactions": len(rows) + len(replays), "replayed": len(replays), "scenarios": per,
               "paired": paired, "paired_after": paired_after,
               "phases": {name: _rates([r for r in rows if r.get("phase") == name]) for name in dict.fromkeys(r.get("phase") for r in rows)},
               "known_pooled": known_pooled, "physical": physical_verdicts(rows),
               "new_scenarios": new, "events": events, "experts": timeline,
               "latency_ms": {"idle": stage_percentiles(idle), "while_training": stage_percentiles(training)}}
    summary["targets"] = check_targets(ep, summary)
    return summary


def write_report(out: Path, ep: EpisodeConfig, rows: list[dict], events: list[dict], summary: dict) -> Path:
    plots = _plot(out, [r for r in rows if r.get("replay_of") is None], events)
    summary["plots"] = plots
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    L = [f"# Episode `{ep.name}`", "",
         f"{summary['interactions']} interactions ({summary.get('replayed', 0)} of them paired replays) on {ep.dataset}, {ep.executors} executor(s), backend {summary.get('backend')}. "
         f"Time: bootstrap {summary['seconds']['bootstrap']} s, runtime start {summary['seconds']['startup']} s, "
         f"episode {summary['seconds']['episode']} s, total {summary['seconds'].get('total')} s. "
         f"Peak RSS ({'driver + the Ray processes it started' if summary.get('backend') == 'ray' else 'the one process'}, "
         f"summed): {summary['peak_rss_mb']:.0f} MB. Store: {summary['store']}.", "",
         *([f"Overrides (`--set`): {', '.join(f'`{k}={v}`' for k, v in summary['overrides'].items())}.", ""]
           if summary.get("overrides") else []),
         *([f"Resumed (`--resume`) at step {summary['resumed']['at_step']} from the store, serving "
            f"{summary['resumed']['serving']}; the times above are the resumed part's.", ""] if summary.get("resumed") else []),
         "## Success per scenario (%), before and after an expert landed", "",
         "Success = physical (no fall, tracked) and emotional (the executed motion reads as the intended emotion) and "
         "semantic (the instruction ranks in the evaluator's top k among itself and held-out descriptions, "
         "R-Precision for one motion; k and the pool in configs/runtime.yaml). For a new scenario, *before* are its "
         "interactions while no expert covered it and *after* those served with its expert; for the known scenarios the "
         "split is the moment the first new expert landed.", "",
         "| scenario | kind | n before | success | physical | emotional | semantic | n after | success | physical | emotional | semantic | change (success) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for sc, v in summary["scenarios"].items():
        b, a = v["before"], v["after"]
        cells = lambda d: [str(d.get(k, "-")) for k in JUDGES]  # noqa: E731
        ch = v["change_points"]["success"] if v["change_points"] else "-"
        L.append(f"| {sc} | {v['kind']} | {b['n']} | " + " | ".join(cells(b)) + f" | {a['n']} | " + " | ".join(cells(a)) + f" | {ch} |")
    kp = summary["known_pooled"]
    if kp["change_points"]:
        L += ["", f"Known scenarios pooled: success {kp['before']['success']} % -> {kp['after']['success']} % "
                  f"({kp['change_points']['success']:+.1f} points; n {kp['before']['n']} -> {kp['after']['n']})."]
    L += _physical_markdown(summary)
    for key, title, text in (
            ("paired", "### Paired: the same requests before and after the landing",
             "The last requests of each scenario served before the first expert landed, re-served afterwards with the "
             "same instruction and intended emotion."),
            ("paired_after", "### Paired: requests from after the landing, served again by the generator from before it",
             "The first requests of each scenario served after the first expert landed, re-served by the generator the "
             "episode started with; *without* is that replay, *with* the original answer.")):
        if not summary.get(key):
            continue
        L += ["", title, "", text + " Greedy generation and physics are deterministic, so a change comes from the new "
              "expert (the new scenario's own expert, or a request of a known scenario routed to it) or, rarely, from "
              "batching (a replayed batch holds other requests than the original one).", "",
              "| scenario | kind | n | success without the new expert | with | change | physical | emotional | semantic | requests routed differently |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for sc, v in summary[key].items():
            c = v["change_points"]
            L.append(f"| {sc} | {v['kind']} | {v['before']['n']} | {v['before']['success']} | {v['after']['success']} | "
                     f"{c['success']:+.1f} | {c['physical_ok']:+.1f} | {c['emotion_ok']:+.1f} | {c['semantic_ok']:+.1f} | {v['changed_motions']} |")
    L += [""] + targets_markdown(summary.get("targets", []))
    L += ["![success over time](success_over_time.png)", "", "## Experts", "", "| event | step | t (s) | scenario | detail |",
          "|---|---|---|---|---|"]
    for e in events:
        L.append(f"| {e['event']} | {e['step']} | {e['t_s']} | {e.get('scenario', '')} | {e.get('why') or e.get('error') or ''} |")
    L += ["", "![expert timeline](expert_timeline.png)", "", "## Latency per interaction (ms)", "",
          "| stage | p50 idle | p95 idle | p50 while training | p95 while training |", "|---|---|---|---|---|"]
    lat = summary["latency_ms"]
    for k in ("perceive", "generate", "execute", "judge", "total"):
        i, t = lat["idle"].get(k, {}), lat["while_training"].get(k, {})
        L.append(f"| {k} | {i.get('p50', '-')} | {i.get('p95', '-')} | {t.get('p50', '-')} | {t.get('p95', '-')} |")
    vids = summary.get("videos") or {}
    if vids:
        L += ["", "## The new scenario before and after its expert", ""]
        for label, v in vids.items():
            L.append(f"- {label}: [{Path(v['path']).name}]({Path(v['path']).name}) (step {v['step']}, success {v['success']}): \"{v['text']}\"")
    atomic_write_text(out / "report.md", "\n".join(L) + "\n")
    return out / "report.md"


def _physical_markdown(summary: dict) -> list[str]:
    """The physical judge per scenario with the reasons it failed, and what the executor mode means for them."""
    physical = summary.get("physical") or {}
    if not physical:
        return []
    mode = summary.get("executor_mode")
    meaning = {"none": "Nothing but the floor holds the body up, so a motion the body cannot balance or step fails here",
               "residual": "A soft weld pulls the root towards the motion, so the body cannot fall: a failure here is an "
                           "implausible amount of assistance, a refused reference or imprecise tracking",
               "full": "The root follows the motion exactly: only the joints are simulated"}.get(mode, "")
    L = ["", f"### Physical verdicts per scenario (executor mode `{mode or 'unknown'}`)", "",
         f"Over the served interactions (not the paired replays). {meaning + '.' if meaning else ''} "
         "*imprecise*: simulated to the end, but further from the motion than the physical judge allows.", "",
         "| scenario | n | physically ok (%) | " + " | ".join(SIM_REASONS) + " | other |", "|---" * (len(SIM_REASONS) + 4) + "|"]
    for sc, v in physical.items():
        other = {k: c for k, c in v["failures"].items() if k not in SIM_REASONS}
        L.append(f"| {sc} | {v['n']} | {v['physical_ok']} | " + " | ".join(str(v["failures"].get(k, 0)) for k in SIM_REASONS)
                 + f" | {', '.join(f'{k} {c}' for k, c in other.items()) or 0} |")
    return L


def _plot(out: Path, rows: list[dict], events: list[dict], window: int = 16) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.6))
    for sc in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == sc]
        xs = [r["step"] for r in mine]
        ys = np.convolve([float(r["success"]) for r in mine], np.ones(window) / window, mode="full")[: len(mine)]
        ys = ys / np.minimum(np.arange(1, len(mine) + 1), window) * window
        ax.plot(xs, 100 * ys, label=sc, lw=1.8)
    for e in events:
        style = {"learner_started": ("#888", ":"), "expert_published": ("#2a2", "-"), "expert_rolled_back": ("#c22", "--"),
                 "learner_failed": ("#c22", ":")}.get(e["event"])
        if style:
            ax.axvline(e["step"], color=style[0], ls=style[1], lw=1)
            ax.text(e["step"], 102, e["event"].replace("_", " "), fontsize=7, rotation=0, color=style[0])
    ax.set_xlabel("interaction")
    ax.set_ylabel(f"success % (rolling {window} of a scenario)")
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    atomic_save_figure(fig, out / "success_over_time.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 1.8))
    starts = {}
    for e in events:
        if e["event"] == "learner_started":
            starts[(e["scenario"], e["version"])] = e
        elif (e.get("scenario"), e.get("version")) in starts:
            s = starts.pop((e["scenario"], e["version"]))
            color = "#2a2" if e["event"] == "expert_published" else "#c22"
            ax.barh(e["scenario"], e["t_s"] - s["t_s"], left=s["t_s"], color=color)
            ax.text(e["t_s"], e["scenario"], " " + e["event"].replace("_", " "), va="center", fontsize=7)
    for v, s in starts.items():
        ax.barh(s["scenario"], max(rows[-1]["t_s"] - s["t_s"], 0.1) if rows else 0.1, left=s["t_s"], color="#bbb")
    ax.set_xlabel("episode time (s)")
    ax.set_title("expert training in the background (green: published, red: rolled back or failed)", fontsize=9)
    fig.tight_layout()
    atomic_save_figure(fig, out / "expert_timeline.png", dpi=100)
    plt.close(fig)
    return ["success_over_time.png", "expert_timeline.png"]
