"""Helpers of the scenarios not yet written in the phase language (``language.py``).

Each function here acts on a Context directly; a scenario moved to the phase language stops using
them, and what no scenario uses goes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from conformance import fixtures
from conformance.backends import batch_schedulers
from conformance.backends.base import Capability
from conformance.kuberay import (
    active_cluster,
    rayservice_ready,
)
from conformance.live.scenarios.context import (
    NO_RAY_LABEL,
    Context,
    ScenarioFailed,
    pod_ready,
)
from conformance.live.scenarios.probes import RAYCLUSTER, RAYSERVICE
from conformance.snapshot import Expectation, Snapshot


def start_rayjob(
    ctx: Context, scenario: str, name: str | None = None, neighbour: bool = True, **spec: Any
) -> tuple[str, tuple[str, str, str], list[Snapshot]]:
    """The RayJob fixture (renamed to ``name``; ``spec`` merged into its spec, a value of None
    removing that field) created, beside a neighbour unless ``neighbour`` is False: its name, its
    root ref and the ``created`` snapshot."""
    manifest = ctx.manifest("RayJob")
    if name is not None:
        manifest["metadata"]["name"] = name
    for key, value in spec.items():
        if value is None:
            manifest["spec"].pop(key, None)
        else:
            manifest["spec"][key] = value
    return _create_root(ctx, scenario, manifest, neighbour)


def start_rayservice(
    ctx: Context, scenario: str, change: Callable[[dict[str, Any]], None] | None = None
) -> tuple[str, tuple[str, str, str], list[Snapshot]]:
    """The RayService fixture (``change`` applied to it first) created beside a neighbour: its name,
    its root ref and the ``created`` snapshot."""
    manifest = ctx.manifest("RayService")
    if change is not None:
        change(manifest)
    return _create_root(ctx, scenario, manifest, neighbour=True)


def _create_root(
    ctx: Context, scenario: str, manifest: dict[str, Any], neighbour: bool
) -> tuple[str, tuple[str, str, str], list[Snapshot]]:
    name = str(manifest["metadata"]["name"])
    root = (str(manifest["apiVersion"]), str(manifest["kind"]), name)
    if neighbour:
        ctx.add_neighbour()
    ctx.kube.create(manifest, ctx.namespace)
    return (
        name,
        root,
        [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))],
    )


def job_succeeded(ctx: Context, scenario: str, name: str) -> dict[str, Any]:
    """Wait (bounded) for RayJob ``name`` to finish; its status, or ScenarioFailed unless it SUCCEEDED."""

    def finished() -> dict[str, Any] | None:
        ctx.at_rest()
        current = ((ctx.get("ray.io/v1", "RayJob", name) or {}).get("status")) or {}
        return current if current.get("jobDeploymentStatus") in ("Complete", "Failed") else None

    final: dict[str, Any] = ctx.wait(scenario, "succeeded", "the Ray job to finish", finished, 300)
    if final.get("jobStatus") != "SUCCEEDED":
        raise ScenarioFailed(
            scenario,
            "succeeded",
            f"the Ray job ended {final.get('jobDeploymentStatus')}/{final.get('jobStatus')}: "
            f"{final.get('message', '')}",
        )
    return final


REPLICA_NAME = "ray.io/worker-group-replica-name"
REPLICA_INDEX = "ray.io/worker-group-replica-index"
HOST_INDEX = "ray.io/replica-host-index"


# A finalizer the harness puts on a RayService's RayCluster to hold its deletion (and so the RayService's
# Suspending phase) until the phase is snapshotted; always taken off again.
HOLD = "karta.conformance/hold"


def _no_ray(cluster_spec: dict[str, Any]) -> None:
    """Heads of this cluster get no Ray process on the local backend (a RayCluster needs none)."""
    for template in [cluster_spec["headGroupSpec"]["template"]] + [
        g["template"] for g in cluster_spec["workerGroupSpecs"]
    ]:
        template["metadata"].setdefault("labels", {})[NO_RAY_LABEL] = "true"


def _live_pods(ctx: Context, selector: str) -> list[dict[str, Any]]:
    return [
        p
        for p in ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        if not p["metadata"].get("deletionTimestamp")
    ]


def _running(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]


# KubeRay versions whose RayCluster status counts a multi-host group's Pods as replicas, so that a cluster
# with numOfHosts > 1 never reaches state ready (seen: v1.3.2, readyWorkerReplicas 4 against
# desiredWorkerReplicas 2, session 8).
HOSTS_AS_REPLICAS = ("v1.3.2",)


def _hosts_counted(ctx: Context, cluster: str, pods: int) -> Callable[[], bool]:
    """In place of the cluster's readiness where KubeRay never reports it (HOSTS_AS_REPLICAS): its status
    counts every worker Pod as a ready replica."""

    def probe() -> bool:
        status = ((ctx.get(*RAYCLUSTER, cluster) or {}).get("status")) or {}
        return bool(status.get("readyWorkerReplicas") == pods and status.get("state") != "ready")

    return probe


def _settled(
    ctx: Context, cluster: str, wanted: dict[str, int], ready: Callable[[], bool] | None = None
) -> Callable[[], dict[str, Any] | None]:
    """A probe: the cluster is ready (or ``ready()``) and each worker group has exactly ``wanted[group]``
    Pods, all Running, none being deleted (and the head Running)."""

    def probe() -> dict[str, Any] | None:
        everything = ctx.kube.list_objects(
            "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}"
        )
        if any(p["metadata"].get("deletionTimestamp") for p in everything):
            return None
        heads = [p for p in everything if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
        if len(_running(heads)) != 1 or not (ready() if ready is not None else ctx.cluster_ready(cluster)):
            return None
        for group, count in wanted.items():
            pods = [p for p in everything if p["metadata"]["labels"].get("ray.io/group") == group]
            if len(pods) != count or len(_running(pods)) != count:
                return None
        return {"pods": [p["metadata"]["name"] for p in everything]}

    return probe


def _spec_suspend(action: str) -> list[dict[str, Any]]:
    """What a phase reached by setting the root's spec.suspend was made by (claim suspend-actions)."""
    return [{"action": action, "path": ["spec", "suspend"], "value": action == "suspend"}]


def _raycluster(ctx: Context, name: str) -> tuple[dict[str, Any], tuple[str, str, str]]:
    manifest = ctx.manifest("RayCluster")
    manifest["metadata"]["name"] = name
    _no_ray(manifest["spec"])
    return manifest, (*RAYCLUSTER, name)


def _started_raycluster(
    ctx: Context, scenario: str, name: str, change: Callable[[dict[str, Any]], None], **group: Any
) -> tuple[tuple[str, str, str], str, list[Snapshot], Expectation]:
    """The fixture RayCluster as ``name`` (no Ray on the local backend), its first worker group updated
    with ``group`` and the manifest with ``change``, created and snapshotted: its root, that group's
    name, the snapshots and the expectation of its settled phases."""
    manifest, root = _raycluster(ctx, name)
    manifest["spec"]["workerGroupSpecs"][0].update(group)
    change(manifest)
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    return (
        root,
        manifest["spec"]["workerGroupSpecs"][0]["groupName"],
        snapshots,
        Expectation(statuses=["running"], current_owners=[name]),
    )


def _patch_group(ctx: Context, cluster: str, group: str, change: dict[str, Any]) -> None:
    """Merge ``change`` into one worker group (workerGroupSpecs is a list: patched whole)."""
    current = ctx.get(*RAYCLUSTER, cluster)
    if current is None:
        raise LookupError(f"RayCluster {cluster} is gone")
    groups = copy.deepcopy(current["spec"]["workerGroupSpecs"])
    for item in groups:
        if item["groupName"] == group:
            item.update(change)
    ctx.kube.patch_merge(*RAYCLUSTER, cluster, ctx.namespace, {"spec": {"workerGroupSpecs": groups}})


def _serving(
    ctx: Context, scenario: str, name: str, root: tuple[str, str, str], snapshots: list[Snapshot]
) -> tuple[Callable[[], dict[str, Any] | None], dict[str, Any]]:
    """Wait for RayService ``name`` to serve and snapshot its ``ready`` phase: the probe (the RayService
    when Ready, its app RUNNING and its active cluster ready) and the RayService then."""

    def serving() -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, name)
        return current if rayservice_ready(current) and ctx.cluster_ready(active_cluster(current)) else None

    ready: dict[str, Any] = ctx.wait(
        scenario, "ready", "Ready=True, the Serve app RUNNING, the cluster ready", serving, 300
    )
    snapshots.append(
        ctx.snap(
            scenario, "ready", root, Expectation(statuses=["running"], current_owners=[active_cluster(ready)])
        )
    )
    return serving, ready


def _ready_then_upgraded(
    ctx: Context, scenario: str, **spec: Any
) -> tuple[tuple[str, str, str], list[Snapshot], Callable[[], dict[str, Any] | None], str]:
    """The RayService fixture with ``spec`` merged into its spec, created -> ready (snapshotted), then the
    default scenario's upgrade patch applied: its root, snapshots, serving probe and the cluster
    that was active before the patch."""

    def change(manifest: dict[str, Any]) -> None:
        manifest["spec"].update(spec)

    name, root, snapshots = start_rayservice(ctx, scenario, change)
    serving, ready = _serving(ctx, scenario, name, root, snapshots)
    first = active_cluster(ready)
    ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, fixtures.load_patch("rayservice-upgrade"))
    return root, snapshots, serving, first


def _scaled_down(
    ctx: Context,
    scenario: str,
    root: tuple[str, str, str],
    owners: Expectation,
    group: str,
    replicas: int,
    pods: int,
    what: str,
    ready: Callable[[], bool] | None = None,
) -> Snapshot:
    """Worker group ``group`` of the RayCluster root patched to ``replicas``; once it has ``pods`` Running
    Pods (and the cluster is ready, or ``ready()``), the ``scaled-down`` snapshot."""
    name = root[2]
    _patch_group(ctx, name, group, {"replicas": replicas})
    ctx.wait(scenario, "scaled-down", what, _settled(ctx, name, {group: pods}, ready), 180)
    return ctx.snap(scenario, "scaled-down", root, owners)


def _final_cluster_settled(ctx: Context, scenario: str, phase: str, cluster: str) -> None:
    """Wait (bounded) until RayCluster ``cluster`` is ready with every worker group at its own replicas."""
    found = ctx.get(*RAYCLUSTER, cluster) or {}
    groups = {
        g["groupName"]: int(g.get("replicas") or 0)
        for g in (found.get("spec") or {}).get("workerGroupSpecs") or []
    }
    ctx.wait(scenario, phase, f"RayCluster {cluster} settled", _settled(ctx, cluster, groups), 180)


RECREATE_HASH = "ray.io/upgrade-strategy-recreate-hash"
REVISION = "karta.conformance/revision"
EXTENDED = (
    "rdma/hca"  # advertised on every node by the backends (kind: a node status patch; local: kwok's nodes)
)


def _on_batch_scheduler(ctx: Context, scenario: str, name: str) -> batch_schedulers.BatchScheduler:
    scheduler = batch_schedulers.known(name)
    if ctx.provider.batch_scheduler != scheduler.name:
        raise ScenarioFailed(
            scenario, "created", f"the run's operator has no --batch-scheduler={scheduler.name}"
        )
    return scheduler


def _handed_to(
    ctx: Context, scenario: str, phase: str, cluster: str, scheduler: str, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """Every live Pod of ``cluster`` with ``schedulerName`` ``scheduler`` and ``labels``; else ScenarioFailed."""
    pods = _live_pods(ctx, f"ray.io/cluster={cluster}")
    for pod in pods:
        got = pod["spec"].get("schedulerName")
        have = pod["metadata"].get("labels") or {}
        missing = {k: v for k, v in labels.items() if have.get(k) != v}
        if got != scheduler or missing:
            raise ScenarioFailed(
                scenario,
                phase,
                f"Pod {pod['metadata']['name']}: schedulerName {got!r} (want {scheduler!r}), labels missing {missing}",
            )
    return pods


YUNIKORN_APP = "yunikorn.apache.org/app-id"
YUNIKORN_QUEUE = "yunikorn.apache.org/queue"
YUNIKORN_TASK_GROUPS = "yunikorn.apache.org/task-groups"
YUNIKORN_TASK_GROUP = "yunikorn.apache.org/task-group-name"
GANG_ENABLED = "ray.io/gang-scheduling-enabled"


def _scheduled_raycluster(
    ctx: Context,
    scenario: str,
    name: str,
    labels: dict[str, str],
    phases: tuple[tuple[str, int], tuple[str, int]],
    handed: Callable[[str, int, list[dict[str, Any]]], str],
    pod_labels: dict[str, str],
    scheduler: batch_schedulers.BatchScheduler,
    ready: Callable[[int], Callable[[], Any]] | None = None,
) -> list[Snapshot]:
    """The batch-scheduler scenarios' shape: a RayCluster with ``labels`` (minReplicas 1) created, then for
    each (phase, desired workers) — the second a scale-up — the workers Running (and ``ready(workers)``),
    every Pod handed to ``scheduler`` with ``pod_labels``, ``handed(phase, workers, pods)`` (the scenario's
    own checks, raising ScenarioFailed; what it returns is the progress line), a snapshot."""

    def labelled(manifest: dict[str, Any]) -> None:
        manifest["metadata"].setdefault("labels", {}).update(labels)

    root, gname, snapshots, owners = _started_raycluster(
        ctx, scenario, name, labelled, replicas=phases[0][1], minReplicas=1, maxReplicas=4
    )
    for phase, workers in phases:
        if phase != phases[0][0]:
            _patch_group(ctx, name, gname, {"replicas": workers})
        settled = _settled(ctx, name, {gname: workers})
        extra = ready(workers) if ready is not None else (lambda: True)

        def probe(settled: Callable[[], Any] = settled, extra: Callable[[], Any] = extra) -> Any:
            return settled() and extra()

        ctx.wait(scenario, phase, f"{workers} worker(s) Running", probe, 180)
        pods = _handed_to(ctx, scenario, phase, name, scheduler.scheduler_name, pod_labels)
        ctx.progress(
            f"  [{scenario}] {len(pods)} Pods handed to {scheduler.scheduler_name}; {handed(phase, workers, pods)}"
        )
        snapshots.append(ctx.snap(scenario, phase, root, owners))
    return snapshots


KAI_QUEUE = "kai.scheduler/queue"
PLUGINS_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"
GROUP_LABEL = "karta.conformance/group-label"
FT_FINALIZER = "ray.io/gcs-ft-redis-cleanup-finalizer"  # KubeRay's, on a RayCluster with GCS FT
REDIS_ADDRESS = "redis:6379"


def _start_redis(ctx: Context, scenario: str) -> None:
    """A Redis Pod (the Ray image, whose Debian packages include redis-server) and its Service ``redis``
    in the scenario's namespace, Ready: not part of any workload."""
    image = ctx.manifest("RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "karta-conformance"}
    command = ["redis-server", "--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
    ctx.kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "redis", "labels": labels},
            "spec": {
                "containers": [
                    {
                        "name": "redis",
                        "image": image,
                        "command": command,
                        "ports": [{"containerPort": 6379}],
                        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
                        "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 2},
                    }
                ],
                "terminationGracePeriodSeconds": 1,
            },
        },
        ctx.namespace,
    )
    ctx.kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "redis", "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": 6379, "targetPort": 6379}]},
        },
        ctx.namespace,
    )
    ctx.wait(
        scenario,
        "created",
        "the Redis Pod Ready",
        lambda: pod_ready(ctx.get("v1", "Pod", "redis") or {}) or None,
        120,
    )


def _hold(ctx: Context, cluster: str, on: bool) -> None:
    """Put the harness's finalizer on RayCluster ``cluster`` (``on``) or take it off; the others kept."""
    current = ctx.get(*RAYCLUSTER, cluster)
    if current is None:
        return
    others = [f for f in current["metadata"].get("finalizers") or [] if f != HOLD]
    ctx.kube.patch_merge(
        *RAYCLUSTER, cluster, ctx.namespace, {"metadata": {"finalizers": [*others, HOLD] if on else others}}
    )


def _redis_cleanup_made(ctx: Context, cluster: str) -> Callable[[], dict[str, Any] | None]:
    """A probe: RayCluster ``cluster``'s Ray Pods are gone and its redis-cleanup Job and that Job's Pod
    exist (the Job, when so)."""
    selector = f"ray.io/cluster={cluster},ray.io/node-type=redis-cleanup"

    def probe() -> dict[str, Any] | None:
        jobs = ctx.kube.list_objects("batch/v1", "Job", ctx.namespace, label_selector=selector)
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        heads, workers = ctx.ray_pods(cluster)
        return jobs[0] if jobs and pods and not heads and not workers else None

    return probe


def _redis_cleanup(
    ctx: Context,
    scenario: str,
    root: tuple[str, str, str],
    cluster: str,
    status: str,
    deleting: Callable[[], object],
    timeout: float,
    expect: Expectation | None = None,
) -> Snapshot:
    """RayCluster ``cluster`` held by the harness's finalizer, then ``deleting`` (what makes the cluster go),
    then snapshot ``redis-cleanup`` once its Ray Pods are gone and its cleanup Job's Pod is made (the root
    ``status``, or ``expect``); the hold always taken off again."""
    _hold(ctx, cluster, True)
    try:
        deleting()
        job = ctx.wait(
            scenario,
            "redis-cleanup",
            f"{cluster}'s Ray Pods deleted and its redis-cleanup Job's Pod made",
            _redis_cleanup_made(ctx, cluster),
            timeout,
        )
        ctx.progress(f"  [{scenario}] redis-cleanup Job {job['metadata']['name']} (owned by {cluster})")
        return ctx.snap(
            scenario,
            "redis-cleanup",
            root,
            expect or Expectation(statuses=[status], stable=False, current_owners=[cluster]),
        )
    finally:
        _hold(ctx, cluster, False)


# Two tasks of one CPU each, 40 s long: with the head at num-cpus 0 they can only run on workers, so
# Ray's autoscaler asks for two (the group's max), and they finish; the workers then idle out.
DEMAND = (
    "python",
    "-c",
    "import ray, time; ray.init(); "
    "task = ray.remote(num_cpus=1)(lambda: time.sleep(40)); ray.get([task.remote() for _ in range(2)])",
)
IDLE_SECONDS = 15


def _autoscaling(ctx: Context, scenario: str, v2: bool) -> list[Snapshot]:
    """In-tree autoscaling with Ray's autoscaler (the sidecar KubeRay puts in the head Pod) scaling a
    worker group on real demand: created -> ready (replicas 0, min 0, max 2: the head alone, num-cpus 0)
    -> scaled-up (a Ray job of two one-CPU tasks: the autoscaler wrote replicas 2 on the RayCluster, two
    worker Pods run) -> scaled-down (the job done, idleTimeoutSeconds later the autoscaler wrote replicas
    0 and named the idle workers in workersToDelete; KubeRay deleted them). Where the worker Pods run no
    Ray (the local backend), the phases are UNVERIFIED with the reason."""
    phases = ("created", "ready", "scaled-up", "scaled-down")
    if not ctx.able(Capability.RAY_NODES, scenario, *phases):
        return []
    manifest, root = _raycluster(ctx, "autoscaled-raycluster")
    name = root[2]
    spec = manifest["spec"]
    spec["enableInTreeAutoscaling"] = True
    spec["autoscalerOptions"] = {"idleTimeoutSeconds": IDLE_SECONDS, "upscalingMode": "Default"}
    spec["headGroupSpec"]["rayStartParams"]["num-cpus"] = "0"
    group = spec["workerGroupSpecs"][0]
    group.update(replicas=0, minReplicas=0, maxReplicas=2)
    group["rayStartParams"]["num-cpus"] = "1"
    if v2:
        spec["autoscalerOptions"]["version"] = "v2"
        group["idleTimeoutSeconds"] = IDLE_SECONDS
    gname = str(group["groupName"])
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    owners = Expectation(statuses=["running"], current_owners=[name])

    def replicas() -> int:
        groups = ((ctx.get(*RAYCLUSTER, name) or {}).get("spec") or {}).get("workerGroupSpecs") or []
        return int(next((g.get("replicas") or 0 for g in groups if g.get("groupName") == gname), -1))

    ctx.wait(
        scenario,
        "ready",
        "the head Running with its autoscaler, no worker",
        _settled(ctx, name, {gname: 0}),
        240,
    )
    (head,) = _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=head")
    containers = [c["name"] for c in head["spec"]["containers"]]
    if "autoscaler" not in containers:
        raise ScenarioFailed(scenario, "ready", f"no autoscaler container in the head Pod: {containers}")
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    printed = ctx.provider.ray_submit(ctx.namespace, head["metadata"]["name"], containers[0], DEMAND)
    submitted = re.findall(r"raysubmit_\w+", printed)
    ctx.progress(
        f"  [{scenario}] demand submitted as Ray job {submitted[0] if submitted else printed.strip()[-200:]!r}"
    )
    settled_two = _settled(ctx, name, {gname: 2})
    ctx.wait(
        scenario,
        "scaled-up",
        "the autoscaler's replicas 2 and two worker Pods Running",
        lambda: settled_two() if replicas() == 2 else None,
        240,
    )
    snapshots.append(ctx.snap(scenario, "scaled-up", root, owners))

    deleted: list[str] = []

    def chosen() -> None:
        strategy = ((ctx.get(*RAYCLUSTER, name) or {}).get("spec") or {}).get("workerGroupSpecs") or []
        for g in strategy:
            for pod in (g.get("scaleStrategy") or {}).get("workersToDelete") or []:
                if pod not in deleted:
                    deleted.append(pod)

    settled_none = _settled(ctx, name, {gname: 0})

    def idled_out() -> dict[str, Any] | None:
        chosen()
        return settled_none() if replicas() == 0 else None

    ctx.wait(
        scenario,
        "scaled-down",
        f"the job done and, {IDLE_SECONDS} s idle later, the autoscaler's replicas 0 and no worker Pod",
        idled_out,
        40 + IDLE_SECONDS + 240,
    )
    ctx.progress(f"  [{scenario}] the autoscaler named {deleted or 'no Pod'} in workersToDelete")
    snapshots.append(ctx.snap(scenario, "scaled-down", root, owners))
    return snapshots


RAYCRONJOB = ("ray.io/v1", "RayCronJob")
CRONJOB_LABEL = "ray.io/cronjob-name"  # on every RayJob a RayCronJob makes
CRONJOB_TICK = "ray.io/cronjob-scheduled-timestamp"  # the tick it was made for


def _resting(ctx: Context, probe: Callable[[], Any]) -> Callable[[], Any]:
    """``probe``, each poll a phase boundary first (``Context.at_rest``): the scenario waits for a tick."""

    def polled() -> Any:
        ctx.at_rest()
        return probe()

    return polled


# A Ray job the user submits in InteractiveMode: long enough for its Running phase to be snapshotted.
INTERACTIVE_JOB = (
    "python",
    "-c",
    "import time, ray; ray.init(); time.sleep(15); print(ray.get(ray.remote(lambda x: x * 2).remote(21)))",
)
SIDECAR = "ray-job-submitter"  # the container KubeRay adds to the head Pod in SidecarMode
MULTIKUEUE = "kueue.x-k8s.io/multikueue"  # the one other controller KubeRay's validation accepts
