"""Batch-scheduler scenarios (RayCluster roots): the operator hands the Pods to Volcano, YuniKorn, KAI or
scheduler-plugins, and what each scheduler reads is in place."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conformance.backends import batch_schedulers
from conformance.live.scenarios.context import (
    ScenarioFailed,
)
from conformance.live.scenarios.language import Script, scenario
from conformance.live.scenarios.legacy import (
    GANG_ENABLED,
    KAI_QUEUE,
    PLUGINS_GROUP_LABEL,
    YUNIKORN_APP,
    YUNIKORN_QUEUE,
    YUNIKORN_TASK_GROUP,
    YUNIKORN_TASK_GROUPS,
    _live_pods,
    _on_batch_scheduler,
    _patch_group,
    _scheduled_raycluster,
    _settled,
    _started_raycluster,
)

# --- scenarios not yet written in the phase language ---------------------------------------------


@scenario(
    "batch-scheduler-volcano",
    root="RayCluster",
    drives=["batch-scheduler-volcano"],
)
def batch_scheduler_volcano(s: Script) -> None:
    """On a run whose operator has --batch-scheduler=volcano: ready (a PodGroup ray-<cluster>-pg owned by
    the RayCluster, minMember = head + desired workers as KubeRay sizes it without autoscaling, every Pod
    handed to scheduler volcano and annotated with the group) -> scaled-up (the PodGroup resized)."""
    ctx = s.ctx
    scenario = "batch-scheduler-volcano"
    scheduler = batch_schedulers.known("volcano")
    if ctx.provider.batch_scheduler != scheduler.name:
        raise ScenarioFailed(
            scenario, "created", f"the run's operator has no --batch-scheduler={scheduler.name}"
        )
    name = "volcano-raycluster"
    root, gname, snapshots, owners = _started_raycluster(
        ctx, scenario, name, lambda _: None, replicas=1, minReplicas=1
    )
    pod_group = f"ray-{name}-pg"

    def grouped(workers: int) -> Callable[[], dict[str, Any] | None]:
        settled = _settled(ctx, name, {gname: workers})

        def probe() -> dict[str, Any] | None:
            assert scheduler.pod_group is not None  # volcano's
            found = ctx.get(*scheduler.pod_group, pod_group)
            if not found or not settled():
                return None
            size = (found.get("spec") or {}).get("minMember")
            return found if size == workers + 1 else None

        return probe

    for phase, workers in (("ready", 1), ("scaled-up", 2)):
        if phase == "scaled-up":
            _patch_group(ctx, name, gname, {"replicas": workers, "maxReplicas": 4})
        found = ctx.wait(
            scenario,
            phase,
            f"{workers} worker(s) Running and PodGroup {pod_group} with minMember {workers + 1}",
            grouped(workers),
            180,
        )
        owned = [(r.get("kind"), r.get("name")) for r in found["metadata"].get("ownerReferences") or []]
        if owned != [("RayCluster", name)]:
            raise ScenarioFailed(
                scenario, phase, f"PodGroup {pod_group} is owned by {owned}, not RayCluster {name}"
            )
        for pod in _live_pods(ctx, f"ray.io/cluster={name}"):
            got = (
                pod["spec"].get("schedulerName"),
                (pod["metadata"].get("annotations") or {}).get(scheduler.group_annotation),
            )
            if got != (scheduler.scheduler_name, pod_group):
                raise ScenarioFailed(
                    scenario,
                    phase,
                    f"Pod {pod['metadata']['name']}: scheduler and group {got}, not {(scheduler.scheduler_name, pod_group)}",
                )
        ctx.progress(
            f"  [{scenario}] PodGroup {pod_group}: minMember {found['spec']['minMember']}, minResources {found['spec'].get('minResources')}"
        )
        snapshots.append(ctx.snap(scenario, phase, root, owners))


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
    ctx = s.ctx
    scenario = "batch-scheduler-yunikorn"
    scheduler = _on_batch_scheduler(ctx, scenario, "yunikorn")
    name = "yunikorn-raycluster"
    app, queue = f"{name}-app", "root.conformance"
    gname = str(ctx.manifest("RayCluster")["spec"]["workerGroupSpecs"][0]["groupName"])
    wanted = {"headgroup": 1, gname: 1}

    def task_groups(phase: str, workers: int, pods: list[dict[str, Any]]) -> str:
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
            own = "headgroup" if node_type == "head" else gname
            if groups != wanted or notes.get(YUNIKORN_TASK_GROUP) != own:
                raise ScenarioFailed(
                    scenario,
                    phase,
                    f"Pod {pod['metadata']['name']}: task groups {groups or notes.get(YUNIKORN_TASK_GROUPS)!r}, its own "
                    f"{notes.get(YUNIKORN_TASK_GROUP)!r} (want {wanted}, {own!r})",
                )
        return f"task groups {wanted} (head + minReplicas) with {workers} desired worker(s)"

    _scheduled_raycluster(
        ctx,
        scenario,
        name,
        {YUNIKORN_APP: app, YUNIKORN_QUEUE: queue, GANG_ENABLED: "true"},
        (("ready", 2), ("scaled-up", 3)),
        task_groups,
        {"applicationId": app, "queue": queue},
        scheduler,
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
    ctx = s.ctx
    scenario = "batch-scheduler-kai"
    scheduler = _on_batch_scheduler(ctx, scenario, "kai-scheduler")
    queue = {KAI_QUEUE: "conformance"}
    _scheduled_raycluster(
        ctx,
        scenario,
        "kai-raycluster",
        queue,
        (("ready", 1), ("scaled-up", 2)),
        lambda phase, workers, pods: f"queue {queue[KAI_QUEUE]}",
        queue,
        scheduler,
    )


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
    ctx = s.ctx
    scenario = "batch-scheduler-scheduler-plugins"
    scheduler = _on_batch_scheduler(ctx, scenario, "scheduler-plugins")
    assert scheduler.pod_group is not None
    api_version, kind = scheduler.pod_group
    name = "plugins-raycluster"

    def made(workers: int) -> Callable[[], Any]:
        return lambda: ctx.get(api_version, kind, name)

    def group(phase: str, workers: int, pods: list[dict[str, Any]]) -> str:
        found = ctx.get(api_version, kind, name) or {}
        owned = [
            (r.get("kind"), r.get("name")) for r in found.get("metadata", {}).get("ownerReferences") or []
        ]
        size = (found.get("spec") or {}).get("minMember")
        if owned != [("RayCluster", name)] or (phase == "ready" and size != 2):
            raise ScenarioFailed(
                scenario,
                phase,
                f"PodGroup {name}: owned by {owned}, minMember {size} (want RayCluster {name}, 2)",
            )
        return f"PodGroup {name} minMember {size} with {workers} desired worker(s)"

    _scheduled_raycluster(
        ctx,
        scenario,
        name,
        {GANG_ENABLED: "true"},
        (("ready", 1), ("scaled-up", 2)),
        group,
        {PLUGINS_GROUP_LABEL: name},
        scheduler,
        made,
    )
