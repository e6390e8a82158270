"""RayCronJob scenarios: RayJobs made on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.live.scenarios.context import Context, ScenarioFailed
from conformance.live.scenarios.language import (
    LONG,
    MEDIUM,
    SHORT,
    Probe,
    Script,
    expect,
    scenario,
    spec_suspend,
)
from conformance.live.scenarios.probes import RAYJOB, running_pods

RAYCRONJOB = ("ray.io/v1", "RayCronJob")
CRONJOB_LABEL = "ray.io/cronjob-name"  # on every RayJob a RayCronJob makes
CRONJOB_TICK = "ray.io/cronjob-scheduled-timestamp"  # the tick it was made for

NO_CONTROLLER = (
    "no RayJob 60 s after the RayCronJob was created (a tick every 8 s): the cluster's "
    "operator runs no RayCronJob controller (feature gate RayCronJob, off in the chart's defaults)"
)


@dataclass
class Schedule:
    """The RayJobs RayCronJob ``name`` made, each with ``workers`` workers; its schedule suspended as soon
    as there are two (once: a slow backend must not pile up clusters)."""

    s: Script
    name: str
    workers: int
    suspended: bool = False

    def jobs(self, ctx: Context) -> list[dict[str, Any]]:
        """The RayJobs the RayCronJob made, oldest first."""
        made = ctx.kube.list_objects(*RAYJOB, ctx.namespace, label_selector=f"{CRONJOB_LABEL}={self.name}")
        return sorted(made, key=lambda j: j["metadata"]["creationTimestamp"] + j["metadata"]["name"])

    def names(self) -> list[str]:
        return [j["metadata"]["name"] for j in self.jobs(self.s.ctx)]

    def suspend_at_two(self, ctx: Context) -> int:
        """How many RayJobs there are; at two, the schedule is suspended (once)."""
        count = len(self.jobs(ctx))
        if count >= 2 and not self.suspended:
            self.s.patch((*RAYCRONJOB, self.name), {"spec": {"suspend": True}})
            self.suspended = True
            self.s.say(f"{count} RayJobs: the schedule suspended")
        return count

    def suspend_again(self, made: set[str]) -> None:
        """Suspended again, and the RayJobs made since ``made`` deleted before their clusters take the
        machine's time (on kind every cluster is real Ray; the other scenarios run beside this one)."""
        self.s.patch((*RAYCRONJOB, self.name), {"spec": {"suspend": True}})
        for job in self.names():
            if job not in made:
                self.s.delete((*RAYJOB, job))


def resting(probe: Probe) -> Probe:
    """``probe``, each poll a phase boundary first (``Context.at_rest``): the scenario waits for a tick."""

    def check(ctx: Context) -> Any:
        ctx.at_rest()
        return probe.check(ctx)

    return Probe(probe.what, check, probe.needs)


def first_tick(schedule: Schedule) -> Probe:
    return resting(Probe("the first tick's RayJob", lambda ctx: schedule.jobs(ctx) or None))


def second_tick(schedule: Schedule) -> Probe:
    """Two RayJobs (the schedule suspended at once); the first cluster settled meanwhile: at rest."""
    return resting(Probe("the second tick's RayJob", lambda ctx: schedule.suspend_at_two(ctx) >= 2 or None))


def jobs_settled(schedule: Schedule, count: int, what: str) -> Probe:
    """At least ``count`` RayJobs, each past its start (Running or finished) on a cluster whose Pods all
    run: the clusters' names, in the RayJobs' order. Each poll suspends the schedule at two RayJobs."""

    def check(ctx: Context) -> list[str] | None:
        schedule.suspend_at_two(ctx)
        found = schedule.jobs(ctx)
        clusters = [str((j.get("status") or {}).get("rayClusterName") or "") for j in found]
        states = [(j.get("status") or {}).get("jobDeploymentStatus") for j in found]
        if len(found) < count or not all(clusters):
            return None
        if any(state not in ("Running", "Complete") for state in states):
            return None
        for cluster in clusters:
            heads, workers = ctx.ray_pods(cluster)
            if not ctx.cluster_ready(cluster) or len(running_pods(heads)) != 1:
                return None
            if len(running_pods(workers)) != schedule.workers or len(workers) != schedule.workers:
                return None
        return clusters

    return Probe(what, check)


def suspended_event(name: str) -> Probe:
    """The operator's SuspendedRayCronJob event about RayCronJob ``name``: the event."""

    def check(ctx: Context) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in ctx.kube.events(ctx.namespace)
                if e.get("reason") == "SuspendedRayCronJob"
                and (e.get("involvedObject") or e.get("regarding") or {}).get("name") == name
            ),
            None,
        )

    return Probe("the operator's SuspendedRayCronJob event", check)


def made_since(schedule: Schedule, made: set[str]) -> Probe:
    """A RayJob not among ``made``: the new ones."""

    def check(ctx: Context) -> list[dict[str, Any]] | None:
        return [j for j in schedule.jobs(ctx) if j["metadata"]["name"] not in made] or None

    return Probe("a RayJob made after the resumption", check)


def first_tick_seen(s: Script, schedule: Schedule) -> bool:
    """The first tick's RayJob made within a minute (a wait of ``first-job``); else the operator runs no
    RayCronJob controller (its gate off: an existing cluster's operator as the chart installs it), and
    the phases after ``created`` are UNVERIFIED."""
    try:
        s.phase("first-job", until=first_tick(schedule), timeout=SHORT)
    except ScenarioFailed:
        for phase in ("first-job", "two-jobs", "resumed"):
            s.unverified(phase, NO_CONTROLLER)
        return False
    return True


def tell_ticks(s: Script, schedule: Schedule, clusters: list[str]) -> None:
    """The RayJobs and their clusters said, and any tick KubeRay made more than one RayJob for."""
    jobs = schedule.jobs(s.ctx)
    s.say(f"RayJobs {[j['metadata']['name'] for j in jobs]} on clusters {clusters}")
    ticks: dict[str, list[str]] = {}
    for job in jobs:
        tick = str((job["metadata"].get("annotations") or {}).get(CRONJOB_TICK, "?"))
        ticks.setdefault(tick, []).append(job["metadata"]["name"])
    for tick, names in sorted(ticks.items()):
        # KubeRay v1.6.2 (random names) can make a tick's RayJob twice; v1.7.0 names it by the minute
        if len(names) > 1:
            s.say(f"KubeRay made {len(names)} RayJobs for the one tick {tick}: {names}")


@scenario(
    "raycronjob",
    root="RayCronJob",
    drives=["raycronjob"],
    slow=True,
)
def raycronjob(s: Script) -> None:
    """A RayCronJob ticking every 8 s, its RayJobs keeping their clusters: created (before the first
    tick) -> first-job (its RayJob Running on a ready cluster: RayCronJob -> RayJob -> RayCluster -> Pods)
    -> two-jobs (the second tick's RayJob and cluster beside the first's: two gangs under one root; the
    schedule suspended as soon as the second RayJob is made, so a slow backend does not pile up clusters,
    and the operator's SuspendedRayCronJob event seen) -> resumed (spec.suspend false: the next tick's
    RayJob made; not waited to settle).

    In the default set wherever the version serves the kind (the harness turns its gate on); on a
    cluster whose operator runs without the gate no RayJob comes, and the phases after ``created`` are
    UNVERIFIED with that reason."""
    manifest = s.manifest("RayCronJob")
    workers = int(manifest["spec"]["jobTemplate"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"])
    cron = s.create(manifest, neighbour=True)
    schedule = Schedule(s, cron.name, workers)
    # The schedule is `@every 8s` (the fixture): the first tick 8 s after creation; then the RayJob
    # deploys its cluster.
    if not first_tick_seen(s, schedule):
        return
    s.phase(
        "first-job",
        until=jobs_settled(schedule, 1, "its RayJob Running on a ready cluster"),
        # (the second tick may have come meanwhile on a slow backend: then the schedule is suspended already)
        expect=lambda first: expect("suspended" if schedule.suspended else "running", owners=first),
        timeout=LONG,
    )
    # The next tick's RayJob (8 s after the first; KubeRay v1.7.0, which names a tick's RayJob by its
    # minute and skips one that exists, makes it at the first tick of the next minute) beside the first
    # one's, whose cluster stays (shutdownAfterJobFinishes false) whether or not its job has finished.
    s.phase("two-jobs", until=second_tick(schedule), timeout=MEDIUM)
    s.phase("two-jobs", until=suspended_event(cron.name), timeout=SHORT)
    s.phase(
        "two-jobs",
        until=jobs_settled(schedule, 2, "both RayJobs Running on ready clusters"),
        check=lambda both: tell_ticks(s, schedule, both),
        expect=lambda both: expect("suspended", owners=both, made_by=spec_suspend("suspend")),
        timeout=LONG,
    )
    # The ticks missed while suspended come at once, one RayJob each (KubeRay has no starting deadline),
    # else the next tick within 8 s (a minute on v1.7.0). Once one is made, the schedule is suspended again.
    made = set(schedule.names())
    s.finally_(lambda: schedule.suspend_again(made))
    s.phase(
        "resumed",
        do=lambda: s.patch(cron, {"spec": {"suspend": False}}),
        until=made_since(schedule, made),
        expect=expect("running", stable=False, made_by=spec_suspend("resume")),
        timeout=MEDIUM,
    )
