"""RayCronJob scenarios: RayJobs made on a schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.live.scenarios.context import (
    PhaseUnverified,
    ScenarioFailed,
)
from conformance.live.scenarios.language import Script, scenario
from conformance.live.scenarios.legacy import (
    CRONJOB_LABEL,
    CRONJOB_TICK,
    RAYCRONJOB,
    _resting,
    _running,
    _spec_suspend,
)
from conformance.live.scenarios.probes import RAYJOB
from conformance.snapshot import Expectation

# --- scenarios not yet written in the phase language ---------------------------------------------


@scenario(
    "raycronjob",
    root="RayCronJob",
    drives=["raycronjob"],
    slow=True,
)
def raycronjob(s: Script) -> None:
    """A RayCronJob ticking every 15 s, its RayJobs keeping their clusters: created (before the first
    tick) -> first-job (its RayJob Running on a ready cluster: RayCronJob -> RayJob -> RayCluster -> Pods)
    -> two-jobs (the second tick's RayJob and cluster beside the first's: two gangs under one root; the
    schedule suspended as soon as the second RayJob is made, so a slow backend does not pile up clusters,
    and the operator's SuspendedRayCronJob event seen) -> resumed (spec.suspend false: the next tick's
    RayJob made; not waited to settle).

    In the default set wherever the version serves the kind (the harness turns its gate on); on a
    cluster whose operator runs without the gate no RayJob comes, and the phases after ``created`` are
    UNVERIFIED with that reason."""
    ctx = s.ctx
    scenario = "raycronjob"
    manifest = ctx.manifest("RayCronJob")
    name = str(manifest["metadata"]["name"])
    root = (*RAYCRONJOB, name)
    workers = int(manifest["spec"]["jobTemplate"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"])
    ctx.add_neighbour()
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    suspended: list[bool] = []

    def jobs() -> list[dict[str, Any]]:
        """The RayJobs the RayCronJob made, oldest first."""
        made = ctx.kube.list_objects(*RAYJOB, ctx.namespace, label_selector=f"{CRONJOB_LABEL}={name}")
        return sorted(made, key=lambda j: j["metadata"]["creationTimestamp"] + j["metadata"]["name"])

    def suspend_at_two() -> int:
        """How many RayJobs there are; at two, the schedule is suspended (once)."""
        count = len(jobs())
        if count >= 2 and not suspended:
            ctx.kube.patch_merge(*RAYCRONJOB, name, ctx.namespace, {"spec": {"suspend": True}})
            suspended.append(True)
            ctx.progress(f"  [{scenario}] {count} RayJobs: the schedule suspended")
        return count

    def settled_jobs(count: int) -> Callable[[], list[str] | None]:
        """At least ``count`` RayJobs, each past its start (Running or finished) on a cluster whose
        Pods all run: the clusters' names, in the RayJobs' order."""

        def probe() -> list[str] | None:
            suspend_at_two()
            found = jobs()
            clusters = [str((j.get("status") or {}).get("rayClusterName") or "") for j in found]
            states = [(j.get("status") or {}).get("jobDeploymentStatus") for j in found]
            if len(found) < count or not all(clusters):
                return None
            if any(state not in ("Running", "Complete") for state in states):
                return None
            for cluster in clusters:
                heads, running = ctx.ray_pods(cluster)
                if not ctx.cluster_ready(cluster) or len(_running(heads)) != 1:
                    return None
                if len(_running(running)) != workers or len(running) != workers:
                    return None
            return clusters

        return probe

    # The schedule is `@every 15s` (the fixture): the first tick 15 s after creation; then the RayJob
    # deploys its cluster. No RayJob at all within a minute: the operator runs no RayCronJob controller
    # (its gate off: an existing cluster's operator as the chart installs it).
    try:
        ctx.wait(scenario, "first-job", "the first tick's RayJob", _resting(ctx, lambda: jobs() or None), 60)
    except ScenarioFailed:
        reason = (
            "no RayJob 60 s after the RayCronJob was created (a tick every 15 s): the cluster's "
            "operator runs no RayCronJob controller (feature gate RayCronJob, off in the chart's defaults)"
        )
        for phase in ("first-job", "two-jobs", "resumed"):
            ctx.unverified.append(PhaseUnverified(scenario, phase, reason))
            ctx.progress(f"  [{scenario}] UNVERIFIED {phase}: {reason}")
        return
    first = ctx.wait(scenario, "first-job", "its RayJob Running on a ready cluster", settled_jobs(1), 240)
    # (the second tick may have come meanwhile on a slow backend: then the schedule is suspended already)
    snapshots.append(
        ctx.snap(
            scenario,
            "first-job",
            root,
            Expectation(statuses=["suspended" if suspended else "running"], current_owners=first),
        )
    )

    # The next tick's RayJob (15 s after the first; KubeRay v1.7.0, which names a tick's RayJob by its
    # minute and skips one that exists, makes it at the first tick of the next minute) beside the first
    # one's, whose cluster stays (shutdownAfterJobFinishes false) whether or not its job has finished.
    ctx.wait(
        scenario,
        "two-jobs",
        "the second tick's RayJob",
        _resting(ctx, lambda: suspend_at_two() >= 2 or None),  # the first cluster settled: at rest
        60 + 30,
    )

    def suspended_event() -> dict[str, Any] | None:
        return next(
            (
                e
                for e in ctx.kube.events(ctx.namespace)
                if e.get("reason") == "SuspendedRayCronJob"
                and (e.get("involvedObject") or e.get("regarding") or {}).get("name") == name
            ),
            None,
        )

    ctx.wait(scenario, "two-jobs", "the operator's SuspendedRayCronJob event", suspended_event, 60)
    both = ctx.wait(scenario, "two-jobs", "both RayJobs Running on ready clusters", settled_jobs(2), 240)
    ctx.progress(f"  [{scenario}] RayJobs {[j['metadata']['name'] for j in jobs()]} on clusters {both}")
    ticks: dict[str, list[str]] = {}
    for job in jobs():
        tick = str((job["metadata"].get("annotations") or {}).get(CRONJOB_TICK, "?"))
        ticks.setdefault(tick, []).append(job["metadata"]["name"])
    for tick, names in sorted(ticks.items()):
        if (
            len(names) > 1
        ):  # KubeRay v1.6.2 (random names) can make a tick's RayJob twice; v1.7.0 names it by the minute
            ctx.progress(f"  [{scenario}] KubeRay made {len(names)} RayJobs for the one tick {tick}: {names}")
    snapshots.append(
        ctx.snap(
            scenario,
            "two-jobs",
            root,
            Expectation(statuses=["suspended"], current_owners=both, made_by=_spec_suspend("suspend")),
        )
    )

    made = {j["metadata"]["name"] for j in jobs()}
    ctx.kube.patch_merge(*RAYCRONJOB, name, ctx.namespace, {"spec": {"suspend": False}})
    # The ticks missed while suspended come at once, one RayJob each (KubeRay has no starting deadline),
    # else the next tick within 15 s (a minute on v1.7.0). Once one is made, the schedule is suspended again.
    ctx.wait(
        scenario,
        "resumed",
        "a RayJob made after the resumption",
        lambda: [j for j in jobs() if j["metadata"]["name"] not in made] or None,
        60 + 30,
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "resumed",
            root,
            Expectation(statuses=["running"], stable=False, made_by=_spec_suspend("resume")),
        )
    )
    # Suspended again, and the resumed tick's RayJobs deleted before their clusters take the machine's
    # time (on kind every cluster is real Ray; the other scenarios run beside this one).
    ctx.kube.patch_merge(*RAYCRONJOB, name, ctx.namespace, {"spec": {"suspend": True}})
    for job in jobs():
        if job["metadata"]["name"] not in made:
            ctx.kube.delete(*RAYJOB, job["metadata"]["name"], ctx.namespace)
