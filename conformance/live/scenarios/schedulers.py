"""Batch-scheduler scenarios (RayCluster roots): the operator hands the Pods to Volcano, YuniKorn, KAI or
scheduler-plugins, and what each scheduler reads is in place."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conformance.backends import batch_schedulers
from conformance.live.scenarios.context import Context
from conformance.live.scenarios.language import Probe, Script, running, scenario
from conformance.live.scenarios.probes import settled
from conformance.live.scenarios.raycluster import cluster_manifest, first_group, scale

Pod = dict[str, Any]
# A scenario's own check of the Pods handed to the scheduler at a phase (phase, desired workers, the
# Pods), raising ScenarioFailed; what it returns is the phase's progress line.
Handed = Callable[[str, int, list[Pod]], str]

YUNIKORN_APP = "yunikorn.apache.org/app-id"
YUNIKORN_QUEUE = "yunikorn.apache.org/queue"
YUNIKORN_TASK_GROUPS = "yunikorn.apache.org/task-groups"
YUNIKORN_TASK_GROUP = "yunikorn.apache.org/task-group-name"
GANG_ENABLED = "ray.io/gang-scheduling-enabled"
KAI_QUEUE = "kai.scheduler/queue"
PLUGINS_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"


def on_batch_scheduler(s: Script, name: str) -> batch_schedulers.BatchScheduler:
    """Batch scheduler ``name``, which the run's operator must have (else the created phase fails)."""
    scheduler = batch_schedulers.known(name)
    if s.ctx.provider.batch_scheduler != scheduler.name:
        raise s.fail("created", f"the run's operator has no --batch-scheduler={scheduler.name}")
    return scheduler


def workers_running(cluster: str, group: str, workers: int, made: Callable[[Context], Any] | None) -> Probe:
    """``settled`` at ``workers`` workers (and ``made(ctx)``, if given)."""
    ready = settled(cluster, {group: workers})
    return Probe(
        f"{workers} worker(s) Running", lambda ctx: ready.check(ctx) and (made(ctx) if made else True)
    )


def handed_to(
    s: Script,
    scheduler: batch_schedulers.BatchScheduler,
    cluster: str,
    labels: dict[str, str],
    phase: str,
    workers: int,
    handed: Handed,
) -> Callable[[object], None]:
    """A check: every live Pod of ``cluster`` has the scheduler's ``schedulerName`` and ``labels``, then
    ``handed``; a progress line."""

    def check(_: object) -> None:
        pods = s.pods(f"ray.io/cluster={cluster}")
        for pod in pods:
            got = pod["spec"].get("schedulerName")
            have = pod["metadata"].get("labels") or {}
            missing = {k: v for k, v in labels.items() if have.get(k) != v}
            if got != scheduler.scheduler_name or missing:
                raise s.fail(
                    phase,
                    f"Pod {pod['metadata']['name']}: schedulerName {got!r} (want {scheduler.scheduler_name!r}), labels missing {missing}",
                )
        s.say(f"{len(pods)} Pods handed to {scheduler.scheduler_name}; {handed(phase, workers, pods)}")

    return check


def scheduled_raycluster(
    s: Script,
    scheduler: batch_schedulers.BatchScheduler,
    name: str,
    labels: dict[str, str],
    phases: tuple[tuple[str, int], tuple[str, int]],
    handed: Handed,
    pod_labels: dict[str, str],
    made: Callable[[Context], Any] | None = None,
) -> None:
    """The batch-scheduler scenarios' shape: a RayCluster with ``labels`` (minReplicas 1) created, then for
    each (phase, desired workers), the second a scale-up: the workers Running (and ``made``), every Pod
    handed to ``scheduler`` with ``pod_labels`` and ``handed``'s checks, a snapshot."""

    def labelled(manifest: dict[str, Any]) -> None:
        manifest["metadata"].setdefault("labels", {}).update(labels)

    manifest = cluster_manifest(s, name, labelled, replicas=phases[0][1], minReplicas=1, maxReplicas=4)
    gname, _ = first_group(manifest)
    s.create(manifest)
    for phase, workers in phases:
        s.phase(
            phase,
            do=None if phase == phases[0][0] else scale(s, name, gname, workers),
            until=workers_running(name, gname, workers, made),
            check=handed_to(s, scheduler, name, pod_labels, phase, workers, handed),
            expect=running(name),
        )


# --- volcano


def pod_group_sized(
    scheduler: batch_schedulers.BatchScheduler, cluster: str, group: str, workers: int
) -> Probe:
    """``settled`` at ``workers`` workers, and volcano's PodGroup ray-<cluster>-pg at minMember head +
    workers: the PodGroup."""
    ready = settled(cluster, {group: workers})
    pod_group = f"ray-{cluster}-pg"

    def check(ctx: Context) -> dict[str, Any] | None:
        assert scheduler.pod_group is not None  # volcano's
        found = ctx.get(*scheduler.pod_group, pod_group)
        if not found or not ready.check(ctx):
            return None
        size = (found.get("spec") or {}).get("minMember")
        return found if size == workers + 1 else None

    return Probe(f"{workers} worker(s) Running and PodGroup {pod_group} with minMember {workers + 1}", check)


def grouped_by_volcano(
    s: Script, scheduler: batch_schedulers.BatchScheduler, cluster: str, phase: str
) -> Callable[[dict[str, Any]], None]:
    """A check of the PodGroup found: owned by the RayCluster alone, every Pod handed to volcano and
    annotated with the group; a progress line on its size."""
    pod_group = f"ray-{cluster}-pg"

    def check(found: dict[str, Any]) -> None:
        owned = [(r.get("kind"), r.get("name")) for r in found["metadata"].get("ownerReferences") or []]
        if owned != [("RayCluster", cluster)]:
            raise s.fail(phase, f"PodGroup {pod_group} is owned by {owned}, not RayCluster {cluster}")
        for pod in s.pods(f"ray.io/cluster={cluster}"):
            got = (
                pod["spec"].get("schedulerName"),
                (pod["metadata"].get("annotations") or {}).get(scheduler.group_annotation),
            )
            if got != (scheduler.scheduler_name, pod_group):
                raise s.fail(
                    phase,
                    f"Pod {pod['metadata']['name']}: scheduler and group {got}, not {(scheduler.scheduler_name, pod_group)}",
                )
        s.say(
            f"PodGroup {pod_group}: minMember {found['spec']['minMember']}, minResources {found['spec'].get('minResources')}"
        )

    return check


@scenario(
    "batch-scheduler-volcano",
    root="RayCluster",
    drives=["batch-scheduler-volcano"],
)
def batch_scheduler_volcano(s: Script) -> None:
    """On a run whose operator has --batch-scheduler=volcano: ready (a PodGroup ray-<cluster>-pg owned by
    the RayCluster, minMember = head + desired workers as KubeRay sizes it without autoscaling, every Pod
    handed to scheduler volcano and annotated with the group) -> scaled-up (the PodGroup resized)."""
    scheduler = on_batch_scheduler(s, "volcano")
    manifest = cluster_manifest(s, "volcano-raycluster", replicas=1, minReplicas=1)
    gname, _ = first_group(manifest)
    name = s.create(manifest).name
    for phase, workers in (("ready", 1), ("scaled-up", 2)):
        s.phase(
            phase,
            do=None if phase == "ready" else scale(s, name, gname, workers, maxReplicas=4),
            until=pod_group_sized(scheduler, name, gname, workers),
            check=grouped_by_volcano(s, scheduler, name, phase),
            expect=running(name),
        )


# --- yunikorn, kai, scheduler-plugins


def yunikorn_task_groups(s: Script, group: str, wanted: dict[str, int]) -> Handed:
    """Every Pod carries the cluster's task groups ``wanted`` (name -> minMember) and its own group's name."""

    def handed(phase: str, workers: int, pods: list[Pod]) -> str:
        for pod in pods:
            notes = pod["metadata"].get("annotations") or {}
            try:
                groups = {
                    g["name"]: g["minMember"]
                    for g in json.loads(notes.get(YUNIKORN_TASK_GROUPS, ""))  # a list, as yunikorn reads it
                }
            except (ValueError, KeyError, TypeError):
                groups = None
            node_type = (pod["metadata"].get("labels") or {}).get("ray.io/node-type")
            own = "headgroup" if node_type == "head" else group
            if groups != wanted or notes.get(YUNIKORN_TASK_GROUP) != own:
                raise s.fail(
                    phase,
                    f"Pod {pod['metadata']['name']}: task groups {groups or notes.get(YUNIKORN_TASK_GROUPS)!r}, its own "
                    f"{notes.get(YUNIKORN_TASK_GROUP)!r} (want {wanted}, {own!r})",
                )
        return f"task groups {wanted} (head + minReplicas) with {workers} desired worker(s)"

    return handed


@scenario(
    "batch-scheduler-yunikorn",
    root="RayCluster",
    drives=["batch-scheduler-yunikorn"],
)
def batch_scheduler_yunikorn(s: Script) -> None:
    """On a run whose operator has --batch-scheduler=yunikorn, a RayCluster with yunikorn's application and
    queue labels and gang scheduling on (replicas 2, minReplicas 1): ready (every Pod handed to yunikorn with
    applicationId and queue, each carrying the cluster's task groups: head 1, the worker group minReplicas,
    and its own group's name) -> scaled-up (replicas 3: the task groups unchanged, they follow minReplicas)."""
    scheduler = on_batch_scheduler(s, "yunikorn")
    name = "yunikorn-raycluster"
    app, queue = f"{name}-app", "root.conformance"
    gname, _ = first_group(s.manifest("RayCluster"))
    scheduled_raycluster(
        s,
        scheduler,
        name,
        {YUNIKORN_APP: app, YUNIKORN_QUEUE: queue, GANG_ENABLED: "true"},
        (("ready", 2), ("scaled-up", 3)),
        yunikorn_task_groups(s, gname, {"headgroup": 1, gname: 1}),
        {"applicationId": app, "queue": queue},
    )


@scenario(
    "batch-scheduler-kai",
    root="RayCluster",
    drives=["batch-scheduler-kai"],
)
def batch_scheduler_kai(s: Script) -> None:
    """On a run whose operator has --batch-scheduler=kai-scheduler, a RayCluster with KAI's queue label:
    ready (every Pod handed to kai-scheduler, with the queue label; no PodGroup from KubeRay: KAI's own
    pod-grouper makes them, from definitions like these) -> scaled-up."""
    scheduler = on_batch_scheduler(s, "kai-scheduler")
    queue = {KAI_QUEUE: "conformance"}
    scheduled_raycluster(
        s,
        scheduler,
        "kai-raycluster",
        queue,
        (("ready", 1), ("scaled-up", 2)),
        lambda phase, workers, pods: f"queue {queue[KAI_QUEUE]}",
        queue,
    )


def plugins_pod_group(s: Script, pod_group: tuple[str, str], cluster: str) -> Handed:
    """The PodGroup named after the cluster is owned by it alone, at minMember 2 (head + 1) when ready."""

    def handed(phase: str, workers: int, pods: list[Pod]) -> str:
        found = s.get((*pod_group, cluster)) or {}
        owned = [
            (r.get("kind"), r.get("name")) for r in found.get("metadata", {}).get("ownerReferences") or []
        ]
        size = (found.get("spec") or {}).get("minMember")
        if owned != [("RayCluster", cluster)] or (phase == "ready" and size != 2):
            raise s.fail(
                phase,
                f"PodGroup {cluster}: owned by {owned}, minMember {size} (want RayCluster {cluster}, 2)",
            )
        return f"PodGroup {cluster} minMember {size} with {workers} desired worker(s)"

    return handed


@scenario(
    "batch-scheduler-scheduler-plugins",
    root="RayCluster",
    drives=["batch-scheduler-scheduler-plugins"],
)
def batch_scheduler_scheduler_plugins(s: Script) -> None:
    """On a run whose operator has --batch-scheduler=scheduler-plugins, a RayCluster with gang scheduling on:
    ready (a scheduling.x-k8s.io PodGroup named after the cluster and owned by it, minMember head + 1 desired
    worker; every Pod handed to scheduler-plugins-scheduler with the group's label) -> scaled-up (2 workers;
    the progress line says what minMember then is: KubeRay makes the group once and does not resize it)."""
    scheduler = on_batch_scheduler(s, "scheduler-plugins")
    assert scheduler.pod_group is not None
    pod_group = scheduler.pod_group
    name = "plugins-raycluster"
    scheduled_raycluster(
        s,
        scheduler,
        name,
        {GANG_ENABLED: "true"},
        (("ready", 1), ("scaled-up", 2)),
        plugins_pod_group(s, pod_group, name),
        {PLUGINS_GROUP_LABEL: name},
        made=lambda ctx: ctx.get(*pod_group, name),
    )
