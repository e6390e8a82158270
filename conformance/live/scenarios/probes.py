"""Named probes, written once: what a phase waits for.

Each returns a :class:`Probe`; its ``check`` reads the cluster through the Context and returns what
it found once the condition holds (None or False until then). A probe that needs a capability of the
backend declares it, and a phase waiting on it is UNVERIFIED where the backend lacks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.kuberay import active_cluster, rayservice_ready
from conformance.live.scenarios.context import Context
from conformance.live.scenarios.language import Probe, Ref

RAYCLUSTER = ("ray.io/v1", "RayCluster")
RAYJOB = ("ray.io/v1", "RayJob")
RAYSERVICE = ("ray.io/v1", "RayService")


def running_pods(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]


def settled(
    cluster: str,
    groups: dict[str, int],
    *,
    without: Ref | str | None = None,
    ready: Callable[[Context], bool] | None = None,
    what: str = "",
) -> Probe:
    """RayCluster ``cluster`` is ready (or ``ready(ctx)``), its head Running, and each worker group
    ``groups[name]`` Pods, all Running, none being deleted (and Pod ``without`` gone, if given)."""
    gone = without.name if isinstance(without, Ref) else without
    counts = ", ".join(f"{n} in group {g}" for g, n in groups.items())

    def check(ctx: Context) -> dict[str, Any] | None:
        everything = ctx.kube.list_objects(
            "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}"
        )
        if any(p["metadata"].get("deletionTimestamp") for p in everything):
            return None
        names = [p["metadata"]["name"] for p in everything]
        if gone is not None and gone in names:
            return None
        heads = [p for p in everything if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
        if len(running_pods(heads)) != 1 or not (ready(ctx) if ready else ctx.cluster_ready(cluster)):
            return None
        for group, count in groups.items():
            pods = [p for p in everything if p["metadata"]["labels"].get("ray.io/group") == group]
            if len(pods) != count or len(running_pods(pods)) != count:
                return None
        return {"pods": names}

    return Probe(
        what
        or f"RayCluster {cluster} ready: its head and {counts or 'no workers'} Running"
        + (f", Pod {gone} gone" if gone else ""),
        check,
    )


def cluster_state(cluster: str, state: str, *, pods: bool) -> Probe:
    """RayCluster ``cluster``'s status.state is ``state``, with Pods or with none."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYCLUSTER, cluster) or {}
        found = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        return (
            current if (current.get("status") or {}).get("state") == state and bool(found) == pods else None
        )

    return Probe(f"RayCluster {cluster}: status.state {state}, {'with' if pods else 'no'} Pods", check)


def serving(service: str) -> Probe:
    """RayService ``service`` Ready=True, its Serve app RUNNING, its active cluster ready: the RayService."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        return current if rayservice_ready(current) and ctx.cluster_ready(active_cluster(current)) else None

    return Probe(f"RayService {service}: Ready=True, the Serve app RUNNING, the cluster ready", check)


def job_deployment(job: str, *statuses: str) -> Probe:
    """RayJob ``job``'s jobDeploymentStatus is one of ``statuses``: its status."""

    def check(ctx: Context) -> dict[str, Any] | None:
        status = ((ctx.get(*RAYJOB, job) or {}).get("status")) or {}
        return status if status.get("jobDeploymentStatus") in statuses else None

    return Probe(f"RayJob {job}: jobDeploymentStatus {' or '.join(statuses)}", check)


def job_ended(job: str) -> Probe:
    """RayJob ``job`` Complete or Failed: its status. Each poll is a phase boundary: the scenario only
    watches the Ray job run to its end, so another scenario's operator restart may run meanwhile
    (KubeRay picks the job up again) instead of waiting the job's whole run for this one to settle."""
    ended = job_deployment(job, "Complete", "Failed")

    def check(ctx: Context) -> dict[str, Any] | None:
        ctx.at_rest()
        return ended.check(ctx)  # type: ignore[no-any-return]

    return Probe(f"the Ray job of RayJob {job} to finish", check)


def gone(selector: str, *objects: tuple[str, str, str]) -> Probe:
    """No Pod or Service matches ``selector``, and none of ``objects`` exists (garbage-collected)."""

    def check(ctx: Context) -> bool:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        services = ctx.kube.list_objects("v1", "Service", ctx.namespace, label_selector=selector)
        return not pods and not services and all(ctx.get(*ref) is None for ref in objects)

    names = ", ".join(ref[2] for ref in objects)
    return Probe(f"the Pods and Services of {selector}{' and ' + names if names else ''} gone", check)


def holds(what: str, check: Callable[[Context], Any]) -> Probe:
    """A scenario's own condition, named where it is used once."""
    return Probe(what, check)
