"""Look-ahead: where the body has drifted from the clip, the controller simulates a few variants of its stepping
ahead and keeps the one that tracks best (model-predictive selection among controller settings, with the simulator
itself as the model, as sampling-based MPC does, e.g. MuJoCo MPC's predictive sampling).

At a reference step where the judge's mean joint distance from the reference (tracker.py's ``tracking_lost`` reads
the same) has reached ``trigger_deviation``, and at most every ``every_s``, the controller is copied once per variant
(the shipped stepping and each of ``options``), each copy runs the simulation on a copy of the state for
``horizon_s``, and the one whose last quarter deviates least (a fall or a lost track within the horizon ranks below
every survivor, the sooner the worse) drives the body from there until the next decision. Ties keep the variant in
use, then the shipped one. Nothing of the future is read that the controller does not already hold: the clip, and
the present state of the simulation.

The variants differ only in settings read at every control step, so a switch takes effect at once: the walking
MPC's landing bound and weights, and the swing's drift correction and capture gain (``LIVE_KEYS``). A clip tracked
without drifting never looks ahead and costs what it did. It is a simulation's controller: a robot has no exact copy
of its world to run ahead (a learned or reduced model would take the simulator's place there).

Measured (``l2emg sim track --mode none``; RESULTS.md, "Look-ahead among stepping variants"): dataset-1 130 -> 143 /
174 clips tracked to their end (+14 / -1), 3.4x the run's wall time; dataset-2's archive, never used to choose it,
2,312 -> 2,430 / 2,546 (+125 / -7), 3.0x.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from envs.config import ConfigError, apply_overrides, parse_assignments
from envs.executor.stepping import SteppingConfig

# Stepping keys an option may set: read at every control step, or from the walking MPC's caches that a switch clears.
# Keys read once when a clip is prepared (the contact schedule's, the solve rates, what is enabled) are not.
LIVE_KEYS = frozenset({"mpc.max_shift", "mpc.weight_shift", "mpc.weight_velocity", "mpc.weight_position",
                       "mpc.weight_zmp", "drift_correction", "capture_gain", "max_adjust"})

# Rollout (its variant's copy of the controller, the copied state, first step, end step) -> (the step it failed at or
# None, that step's reason class: True for a blow-up, and the judge's deviations over the steps it ran)
Rollout = Callable[[object, object, int, int], tuple[int | None, bool, list[float]]]


@dataclass(frozen=True)
class LookaheadConfig:
    enabled: bool = False
    horizon_s: float = 0.8  # s each variant is simulated ahead
    every_s: float = 0.25  # s at least between two decisions
    trigger_deviation: float = 0.12  # m of the judge's mean joint distance from the reference that starts a decision
    # Each a comma-separated list of stepping overrides (keys of LIVE_KEYS): one variant beside the shipped stepping
    options: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.horizon_s > 0 or not self.every_s > 0:
            raise ConfigError(f"lookahead: horizon_s and every_s must be > 0 s, got {self.horizon_s}, {self.every_s}")
        if not self.trigger_deviation >= 0:
            raise ConfigError(f"lookahead.trigger_deviation must be >= 0 m, got {self.trigger_deviation}")
        self.variants(SteppingConfig(enabled=True))  # every option's keys and values checked at load

    def variants(self, stepping: SteppingConfig) -> list[SteppingConfig]:
        """``stepping`` followed by one copy per option with its overrides set."""
        out = [stepping]
        for i, option in enumerate(self.options):
            source = f"lookahead.options[{i}]"
            changes = parse_assignments([item for item in option.split(",") if item.strip()], source)
            if not changes:
                raise ConfigError(f"{source}: empty option (want e.g. 'mpc.max_shift=0.6')")
            for key in changes:
                if key not in LIVE_KEYS:
                    raise ConfigError(f"{source}: {key!r} is not read at every control step (allowed: "
                                      f"{', '.join(sorted(LIVE_KEYS))})")
            out.append(apply_overrides(stepping, changes, source))
        return out


def use_stepping(wholebody, stepping: SteppingConfig) -> None:
    """Switch a prepared ``WholeBodyController`` to ``stepping`` (a variant of the one it was prepared with, differing
    in ``LIVE_KEYS`` only): its planner and walking MPC read it from the next control step on."""
    wholebody.stepping = stepping
    if wholebody.planner is not None:
        wholebody.planner.config = stepping
    if wholebody.mpc is not None:
        wholebody.mpc.config = stepping.mpc
        wholebody.mpc.schedule_changed()  # the layouts hold the weights: planned again
    wholebody._mpc_last = None


class Lookahead:
    """The decisions along one clip (``begin`` before it); plain logic, the simulation is the tracker's ``rollout``."""

    def __init__(self, config: LookaheadConfig, model, control_hz: float) -> None:
        self.config, self.model = config, model
        self.variants: list[SteppingConfig] = []  # the controller's stepping and its options (begin)
        self.every = max(1, int(round(config.every_s * control_hz)))
        self.horizon = max(1, int(round(config.horizon_s * control_hz)))
        self._scratch = None  # MjData the rollouts run on, made at the first decision
        self.active, self._next = 0, 0
        self.decisions = self.switches = 0

    def begin(self, wholebody) -> None:
        """A new clip: back to the stepping the controller was given (the last clip may have ended on a variant), the
        variants made from it, no decision made yet."""
        if self.active != 0:
            use_stepping(wholebody, self.variants[0])
        if not self.variants or wholebody.stepping is not self.variants[0]:  # made once per stepping it is given
            self.variants = self.config.variants(wholebody.stepping)
        self.active, self._next = 0, 0
        self.decisions = self.switches = 0

    def decide(self, d, k: int, deviation: float, wholebody, steps: int, rollout: Rollout) -> None:
        """Before reference step ``k`` of ``steps``, with the judge's ``deviation`` after step k - 1: where it has
        reached the trigger, the variant that tracks best over the horizon drives ``wholebody`` from here."""
        cfg = self.config
        if not cfg.enabled or len(self.variants) < 2 or k < self._next or k == 0 or deviation < cfg.trigger_deviation:
            return
        self._next = k + self.every
        self.decisions += 1
        end = min(steps, k + self.horizon)
        scores = [self._score(i, d, k, end, wholebody, rollout) for i in range(len(self.variants))]
        best = min(range(len(scores)), key=lambda i: (scores[i], i != self.active, i))
        if best != self.active:
            use_stepping(wholebody, self.variants[best])
            self.active = best
            self.switches += 1

    def _score(self, i: int, d, k: int, end: int, wholebody, rollout: Rollout) -> float:
        """Lower is better: the mean deviation over the rollout's last quarter; a failure 10 (a blow-up 100) plus the
        steps it left unrun."""
        import mujoco

        if self._scratch is None:
            self._scratch = mujoco.MjData(self.model)
        # The copy shares what no control step writes: the model and the prepared reference
        memo = {id(self.model): self.model, id(wholebody.ref): wholebody.ref}
        trial = copy.deepcopy(wholebody, memo)
        use_stepping(trial, self.variants[i])
        mujoco.mj_copyData(self._scratch, self.model, d)
        failed_at, blew_up, deviations = rollout(trial, self._scratch, k, end)
        if failed_at is not None:
            return (100.0 if blew_up else 10.0) + (end - failed_at)
        tail = deviations[-max(1, len(deviations) // 4):]
        return float(np.mean(tail)) if tail else 0.0
