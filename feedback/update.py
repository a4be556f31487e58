"""The expert-update policy (DESIGN §2): when a scenario no expert covers keeps failing, train one; keep
a candidate only when it validates better than the current routing and does not hurt the old experts."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class UpdateState:
    training: str | None = None  # the scenario a learner is working on (one at a time: two cores)
    baseline_id: dict[str, int] = field(default_factory=dict)  # count failures after this interaction id
    attempts: dict[str, int] = field(default_factory=dict)


class ExpertUpdatePolicy:
    def __init__(self, failure_threshold: int, min_success_gain: float, max_old_drop: float = 0.1,
                 max_attempts: int = 2) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        self.threshold, self.min_gain, self.max_old_drop, self.max_attempts = failure_threshold, min_success_gain, max_old_drop, max_attempts
        self.state = UpdateState()

    def should_train(self, scenario: str, covered: list[str], failures_since: int) -> bool:
        s = self.state
        return (s.training is None and scenario not in covered and failures_since >= self.threshold
                and s.attempts.get(scenario, 0) < self.max_attempts)

    def started(self, scenario: str) -> None:
        self.state.training = scenario
        self.state.attempts[scenario] = self.state.attempts.get(scenario, 0) + 1

    def finished(self, scenario: str, last_id: int) -> None:
        """The learner is done (published, rejected or crashed): later failures count afresh."""
        self.state.training = None
        self.state.baseline_id[scenario] = last_id

    def accept(self, report: dict) -> tuple[bool, str]:
        """Publish when the new scenario gains at least ``min_success_gain`` on held-back requests and no old
        scenario loses more than ``max_old_drop``."""
        sc = report["scenario"]
        before, after = report["before"], report["after"]
        gain = (after[sc]["success"] or 0.0) - (before[sc]["success"] or 0.0)
        if gain < self.min_gain or gain <= 0:
            return False, f"no gain on {sc} held-back requests ({before[sc]['success']} -> {after[sc]['success']})"
        for old, b in before.items():
            if old == sc or b["success"] is None:
                continue
            drop = b["success"] - after[old]["success"]
            if drop > self.max_old_drop:
                return False, f"{old} would drop {drop:.2f} on held-back requests"
        return True, f"{sc}: {before[sc]['success']} -> {after[sc]['success']} on held-back requests"
