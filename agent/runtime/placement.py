"""Where the runtime's actors go on whatever Ray cluster there is (DESIGN §7).

The four services (generator, learner, perception, feedback) hold the run's files (checkpoints, the store)
and stay together on the driver's node: one STRICT_PACK placement group aimed at it, shrunk together when
that node is smaller than their asks. The executors are stateless physics: a SPREAD placement group over
every node, each taking an equal part of what the cluster leaves, at most ``executor_cpus_max`` (a whole
CPU: MuJoCo steps on one core). Either every actor is placed within ``placement_timeout_s`` or the run stops
with one line naming what could not be placed and what the nodes have, never a silent wait; an executor
whose node dies is restarted by Ray on a node with room."""
from __future__ import annotations

from dataclasses import dataclass

from agent.runtime.config import RaySettings

SERVICES = ("generator", "learner", "perception", "feedback")


class PlacementError(ValueError):
    """The cluster cannot hold the run as configured: the message names the asks and the nodes."""


@dataclass(frozen=True)
class Share:
    actor: str  # generator, learner, perception, feedback, executor-0, executor-1, ...
    cpus: float
    gpus: float = 0.0

    def bundle(self) -> dict[str, float]:
        return {"CPU": self.cpus, **({"GPU": self.gpus} if self.gpus else {})}

    def __str__(self) -> str:
        return f"{self.actor} {self.cpus:g} CPU" + (f" {self.gpus:g} GPU" if self.gpus else "")


@dataclass(frozen=True)
class Plan:
    services: list[Share]  # on the driver's node
    executors: list[Share]  # spread over the nodes

    @property
    def shares(self) -> list[Share]:
        return self.services + self.executors


def plan_shares(settings: RaySettings, executors: int, driver_cpus: float, node_cpus: list[float],
                gpus: float = 0.0) -> Plan:
    """Every actor's share on a cluster whose nodes have ``node_cpus`` CPUs, the driver's node
    ``driver_cpus`` of them (``gpus`` in the cluster: the generator and the learner take half a GPU each
    when there is one)."""
    if executors < 1:
        raise ValueError(f"executors must be >= 1, got {executors}")
    total = float(sum(node_cpus))
    gpu = 0.5 if gpus >= 1 else 0.0
    asks = {"generator": settings.generator_cpus, "learner": settings.learner_cpus, "perception": settings.other_cpus,
            "feedback": settings.other_cpus}
    fit = min(1.0, driver_cpus / sum(asks.values())) if driver_cpus > 0 else 0.0
    if fit <= 0:
        raise PlacementError(f"the driver's Ray node reports no CPU (nodes: {', '.join(f'{c:g}' for c in node_cpus)} CPU)")
    services = [Share(name, round(asks[name] * fit, 4), gpu if name in ("generator", "learner") else 0.0) for name in SERVICES]
    free = total - sum(s.cpus for s in services)
    if free <= 1e-6:
        raise PlacementError(f"no CPU left for the executors: the services take {sum(s.cpus for s in services):g} of the "
                             f"cluster's {total:g} CPU (configs/runtime.yaml ray:)")
    each = min(settings.executor_cpus_max, free / executors)
    return Plan(services, [Share(f"executor-{k}", round(each, 4)) for k in range(executors)])


def cluster_nodes(ray) -> list[dict]:
    """The alive nodes: id and resources (CPU, GPU, custom labels)."""
    return [{"id": n["NodeID"], **n["Resources"]} for n in ray.nodes() if n.get("Alive")]


def _describe(nodes: list[dict]) -> str:
    keep = lambda k: k != "id" and not k.startswith(("node:", "memory", "object_store"))  # noqa: E731
    return "; ".join(", ".join(f"{k} {v:g}" for k, v in sorted(n.items()) if keep(k)) for n in nodes)


def place(ray, plan: Plan, driver_node: str, timeout_s: float) -> tuple:
    """(services group, executors group), both ready; or PlacementError within ``timeout_s``."""
    from ray.util.placement_group import placement_group, remove_placement_group

    groups = [(placement_group([s.bundle() for s in plan.services], strategy="STRICT_PACK", _soft_target_node_id=driver_node),
               plan.services, "on one node"),
              (placement_group([s.bundle() for s in plan.executors], strategy="SPREAD"), plan.executors, "over the nodes")]
    for pg, shares, where in groups:
        try:
            ray.get(pg.ready(), timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            for other, _, _ in groups:
                remove_placement_group(other)
            raise PlacementError(f"Ray could not place {', '.join(map(str, shares))} ({where}) within {timeout_s:g} s; the "
                                 f"alive nodes have [{_describe(cluster_nodes(ray))}] (configs/runtime.yaml ray: sets "
                                 f"the asks)") from None
    return groups[0][0], groups[1][0]


def strategy(pg, index: int):
    """Scheduling an actor into bundle ``index`` of ``pg``."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    return PlacementGroupSchedulingStrategy(placement_group=pg, placement_group_bundle_index=index)
