"""Feature scenarios (issue 11): KubeRay behaviours beyond the default scenarios, one Snapshot per phase.

Each scenario drives one or more entries of the inventory (``conformance/inventory.yaml``); they are
selected with ``check --live --features NAME,...|all`` and never run by default. Same rules as the
default scenarios: bounded polls with deadlines, a ScenarioFailed naming the phase on timeout.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from conformance import fixtures, inventory
from conformance.backends import batch_schedulers
from conformance.backends.base import Capability
from conformance.definition.model import Definition
from conformance.errors import EnvironmentProblem
from conformance.kuberay import (
    active_cluster,
    app_statuses,
    condition,
    condition_true,
    pending_cluster,
    rayservice_ready,
)
from conformance.live.scenarios import (
    FEATURE_SCENARIOS,
    NO_RAY_LABEL,
    SCENARIOS,
    Context,
    PhaseUnverified,
    Scenario,
    ScenarioFailed,
    default_scenarios,
    pod_ready,
    running_then_succeeded,
)
from conformance.snapshot import Expectation, Snapshot
from conformance.verdict import Outcome, Verdict, verdict_for

RAYCLUSTER = ("ray.io/v1", "RayCluster")
RAYJOB = ("ray.io/v1", "RayJob")
RAYSERVICE = ("ray.io/v1", "RayService")
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

    name, root, snapshots = ctx.start_rayservice(scenario, change)
    serving, ready = _serving(ctx, scenario, name, root, snapshots)
    first = active_cluster(ready)
    ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, fixtures.load_patch("rayservice-upgrade"))
    return root, snapshots, serving, first


# ---------------------------------------------------------------------------


def multi_host(ctx: Context) -> list[Snapshot]:
    """A worker group with numOfHosts 2: created -> ready (replicas 2: 4 Pods) -> one Pod of a replica
    deleted, the replica healed -> scaled down to 1 replica (2 Pods)."""
    scenario = "multi-host"
    manifest, root = _raycluster(ctx, "multihost-raycluster")
    group = manifest["spec"]["workerGroupSpecs"][0]
    group.update({"replicas": 2, "minReplicas": 1, "maxReplicas": 3, "numOfHosts": 2})
    name, gname = manifest["metadata"]["name"], group["groupName"]
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    owners = Expectation(statuses=["running"], current_owners=[name])
    counts_hosts = ctx.provider.kuberay_version in HOSTS_AS_REPLICAS
    if counts_hosts:
        # KubeRay's own status never says ready: what the definitions must read is what it says
        owners = Expectation(statuses=["initializing"], current_owners=[name])
        ctx.progress(
            f"  [{scenario}] KubeRay {ctx.provider.kuberay_version} counts a multi-host group's Pods as its ready "
            "replicas (readyWorkerReplicas 4 against desiredWorkerReplicas 2): the RayCluster never reaches state "
            "ready; its phases expect KubeRay's own status (state unset: initializing)"
        )

    ctx.wait(
        scenario,
        "ready",
        f"4 Running Pods in group {gname} (2 replicas x 2 hosts)"
        + (", KubeRay's status counting them as 4 ready replicas" if counts_hosts else ""),
        _settled(ctx, name, {gname: 4}, ready=_hosts_counted(ctx, name, 4) if counts_hosts else None),
        180,
    )
    workers = _live_pods(ctx, f"ray.io/cluster={name},ray.io/group={gname}")
    labelled = [p for p in workers if REPLICA_NAME in p["metadata"]["labels"]]
    replica_names = sorted({p["metadata"]["labels"].get(REPLICA_NAME, "") for p in labelled})
    ctx.progress(
        f"  [{scenario}] {len(labelled)}/{len(workers)} worker Pods carry {REPLICA_NAME} "
        f"(replicas {replica_names}, indices {sorted({p['metadata']['labels'].get(REPLICA_INDEX, '-') for p in workers})}, "
        f"hosts {sorted({p['metadata']['labels'].get(HOST_INDEX, '-') for p in workers})})"
    )
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    victim = workers[0]["metadata"]["name"]
    ctx.kube.delete("v1", "Pod", victim, ctx.namespace)
    settled = _settled(ctx, name, {gname: 4}, ready=_hosts_counted(ctx, name, 4) if counts_hosts else None)

    def healed() -> dict[str, Any] | None:
        found = settled()
        return found if found and victim not in found["pods"] else None

    ctx.wait(scenario, "worker-deleted-healed", f"Pod {victim} replaced, 4 Running again", healed, 180)
    snapshots.append(ctx.snap(scenario, "worker-deleted-healed", root, owners))

    snapshots.append(
        _scaled_down(
            ctx,
            scenario,
            root,
            owners,
            gname,
            1,
            pods=2,
            what="1 replica: 2 Running Pods",
            ready=_hosts_counted(ctx, name, 2) if counts_hosts else None,
        )
    )
    return snapshots


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


def raycluster_suspend(ctx: Context) -> list[Snapshot]:
    """Two worker groups: ready -> one group suspended (its Pods deleted) -> the whole cluster suspended
    (no Pods, state suspended) -> both resumed -> ready again."""
    scenario = "raycluster-suspend"
    manifest, root = _raycluster(ctx, "suspend-raycluster")
    first = manifest["spec"]["workerGroupSpecs"][0]
    # one worker per group is enough to show a group's and the cluster's suspension (on real kubelets each
    # Ray worker started, and started again on resume, costs a Ray start on a 2-core machine)
    first.update({"replicas": 1, "minReplicas": 1})
    second = copy.deepcopy(first)
    second.update({"groupName": "extra", "replicas": 1, "minReplicas": 1, "maxReplicas": 2})
    manifest["spec"]["workerGroupSpecs"].append(second)
    name, gname = manifest["metadata"]["name"], first["groupName"]
    start = int(first["replicas"])
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    owners = Expectation(statuses=["running"], current_owners=[name])
    ctx.wait(
        scenario, "ready", "both worker groups Running", _settled(ctx, name, {gname: start, "extra": 1}), 180
    )
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    # A worker group's own suspend is refused by KubeRay's validation unless the RayJobDeletionPolicy
    # gate is on (inventory entry worker-group-suspend): the phase is left out where it is off.
    groups_suspend = inventory.by_name()["worker-group-suspend"].active_in(ctx.provider.kuberay_version)
    if groups_suspend:
        _patch_group(ctx, name, "extra", {"suspend": True})
        ctx.wait(
            scenario,
            "group-suspended",
            "group extra without Pods",
            _settled(ctx, name, {gname: start, "extra": 0}),
            180,
        )
        snapshots.append(ctx.snap(scenario, "group-suspended", root, owners))

    ctx.kube.patch_merge(*RAYCLUSTER, name, ctx.namespace, {"spec": {"suspend": True}})

    def suspended() -> dict[str, Any] | None:
        cluster = ctx.get(*RAYCLUSTER, name) or {}
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={name}")
        state = (cluster.get("status") or {}).get("state")
        return cluster if state == "suspended" and not pods else None

    ctx.wait(scenario, "suspended", "no Pods and status.state suspended", suspended, 180)
    snapshots.append(
        ctx.snap(
            scenario,
            "suspended",
            root,
            Expectation(
                statuses=["suspended"],
                current_owners=[name],
                made_by=_spec_suspend("suspend"),
            ),
        )
    )

    ctx.kube.patch_merge(*RAYCLUSTER, name, ctx.namespace, {"spec": {"suspend": False}})
    if groups_suspend:
        _patch_group(ctx, name, "extra", {"suspend": False})
    ctx.wait(
        scenario,
        "resumed",
        "both worker groups Running again",
        _settled(ctx, name, {gname: start, "extra": 1}),
        180,
    )
    # Resumed by the root's spec.suspend (what a root component's resumeActions can say) and the
    # group's own flag (a worker group change, which no root action covers).
    snapshots.append(
        ctx.snap(
            scenario,
            "resumed",
            root,
            replace(owners, made_by=_spec_suspend("resume")),
        )
    )
    return snapshots


def workers_to_delete(ctx: Context) -> list[Snapshot]:
    """ready -> replicas - 1 with one chosen worker in scaleStrategy.workersToDelete (what the autoscaler
    writes) -> that Pod is the one gone."""
    scenario = "workers-to-delete"
    manifest, root = _raycluster(ctx, "chosen-raycluster")
    group = manifest["spec"]["workerGroupSpecs"][0]
    name, gname, start = manifest["metadata"]["name"], group["groupName"], int(group["replicas"])
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    owners = Expectation(statuses=["running"], current_owners=[name])
    ctx.wait(scenario, "ready", f"{start} Running workers", _settled(ctx, name, {gname: start}), 180)
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    workers = sorted(
        p["metadata"]["name"] for p in _live_pods(ctx, f"ray.io/cluster={name},ray.io/group={gname}")
    )
    chosen = workers[-1]
    _patch_group(ctx, name, gname, {"replicas": start - 1, "scaleStrategy": {"workersToDelete": [chosen]}})
    settled = _settled(ctx, name, {gname: start - 1})

    def chosen_gone() -> dict[str, Any] | None:
        found = settled()
        return found if found and chosen not in found["pods"] else None

    ctx.wait(
        scenario, "chosen-worker-deleted", f"{chosen} deleted, {start - 1} workers left", chosen_gone, 180
    )
    snapshots.append(ctx.snap(scenario, "chosen-worker-deleted", root, owners))
    return snapshots


def head_pod_deleted(ctx: Context) -> list[Snapshot]:
    """ready -> the head Pod deleted -> a new head Pod Running, the cluster ready."""
    scenario = "head-pod-deleted"
    manifest, root = _raycluster(ctx, "headloss-raycluster")
    group = manifest["spec"]["workerGroupSpecs"][0]
    name, gname, start = manifest["metadata"]["name"], group["groupName"], int(group["replicas"])
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    owners = Expectation(statuses=["running"], current_owners=[name])
    ctx.wait(scenario, "ready", "head and workers Running", _settled(ctx, name, {gname: start}), 180)
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    (head,) = _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=head")
    old_uid = head["metadata"]["uid"]
    ctx.kube.delete("v1", "Pod", head["metadata"]["name"], ctx.namespace)
    settled = _settled(ctx, name, {gname: start})

    def healed() -> dict[str, Any] | None:
        found = settled()
        heads = _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=head")
        return found if found and heads and all(h["metadata"]["uid"] != old_uid for h in heads) else None

    ctx.wait(scenario, "head-recreated", "a new head Pod Running and the cluster ready", healed, 180)
    snapshots.append(ctx.snap(scenario, "head-recreated", root, owners))
    return snapshots


def owner_above_root(ctx: Context) -> list[Snapshot]:
    """A RayCluster owned by a wrapper object, as a Kro-style ResourceGraphDefinition instance owns what
    it creates: created -> ready. A v1 ConfigMap stands in for the wrapper (what a consumer does depends
    only on the root having an owner, not on the owner's kind)."""
    scenario = "owner-above-root"
    wrapper = ctx.kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "wrapper"},
            "data": {"stands-in": "kro"},
        },
        ctx.namespace,
    )
    manifest, root = _raycluster(ctx, "owned-raycluster")
    manifest["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": wrapper["metadata"]["name"],
            "uid": wrapper["metadata"]["uid"],
            "controller": True,
        }
    ]
    group = manifest["spec"]["workerGroupSpecs"][0]
    name, gname, start = manifest["metadata"]["name"], group["groupName"], int(group["replicas"])
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    ctx.wait(scenario, "ready", "head and workers Running", _settled(ctx, name, {gname: start}), 180)
    snapshots.append(
        ctx.snap(scenario, "ready", root, Expectation(statuses=["running"], current_owners=[name]))
    )
    return snapshots


def rayjob_suspend(ctx: Context) -> list[Snapshot]:
    """Created suspended (no RayCluster, no submitter) -> resumed -> running -> suspended again
    (its RayCluster and submitter Job deleted)."""
    scenario = "rayjob-suspend"
    name, root, snapshots = ctx.start_rayjob(
        scenario,
        "suspend-rayjob",
        suspend=True,
        # KubeRay refuses to suspend a RayJob that keeps its cluster (ValidationFailed otherwise).
        shutdownAfterJobFinishes=True,
        # A job that runs long enough to be suspended while Running.
        entrypoint='python -c "import time; time.sleep(600)"',
    )

    def status() -> dict[str, Any]:
        return ((ctx.get(*RAYJOB, name) or {}).get("status")) or {}

    def owned_clusters() -> list[dict[str, Any]]:
        return [
            c
            for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace)
            if any(r.get("kind") == "RayJob" for r in c["metadata"].get("ownerReferences") or [])
        ]

    def suspended() -> dict[str, Any] | None:
        current = status()
        return current if current.get("jobDeploymentStatus") == "Suspended" and not owned_clusters() else None

    ctx.wait(
        scenario, "suspended-at-creation", "jobDeploymentStatus Suspended, no RayCluster", suspended, 120
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "suspended-at-creation",
            root,
            Expectation(
                statuses=["suspended"],
                made_by=_spec_suspend("suspend"),
            ),
        )
    )

    ctx.kube.patch_merge(*RAYJOB, name, ctx.namespace, {"spec": {"suspend": False}})

    def running() -> dict[str, Any] | None:
        current = status()
        cluster = current.get("rayClusterName", "")
        return (
            current
            if current.get("jobDeploymentStatus") == "Running" and cluster and ctx.cluster_ready(cluster)
            else None
        )

    now = ctx.wait(scenario, "running", "jobDeploymentStatus Running on a ready cluster", running, 240)
    cluster = str(now.get("rayClusterName", ""))
    snapshots.append(
        ctx.snap(
            scenario,
            "running",
            root,
            Expectation(
                statuses=["running"],
                stable=False,
                current_owners=[cluster],
                made_by=_spec_suspend("resume"),
            ),
        )
    )

    ctx.kube.patch_merge(*RAYJOB, name, ctx.namespace, {"spec": {"suspend": True}})

    def suspended_again() -> dict[str, Any] | None:
        found = suspended()
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        jobs = [
            j
            for j in ctx.kube.list_objects("batch/v1", "Job", ctx.namespace)
            if any(r.get("kind") == "RayJob" for r in j["metadata"].get("ownerReferences") or [])
        ]
        return found if found and not pods and not jobs else None

    ctx.wait(
        scenario,
        "suspended",
        "Suspended again, the RayCluster, its Pods and the submitter Job gone",
        suspended_again,
        180,
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "suspended",
            root,
            Expectation(
                statuses=["suspended"],
                made_by=_spec_suspend("suspend"),
            ),
        )
    )
    return snapshots


def rayservice_replicas_only(ctx: Context) -> list[Snapshot]:
    """Ready -> a worker group's replicas changed, nothing else -> the operator has seen the new
    generation: the same active RayCluster, no pending one, its Pods settled on its own spec.

    KubeRay (v1.3.2 to v1.6.2, ``shouldUpdateCluster``) compares the RayService's cluster spec with the
    RayCluster by a hash without replicas, so a replicas-only change makes no new cluster and does not
    reach the RayCluster either (replicas belong to the autoscaler); the scenario records which it was."""
    scenario = "rayservice-replicas-only"
    name, root, snapshots = ctx.start_rayservice(scenario)

    serving, ready = _serving(ctx, scenario, name, root, snapshots)
    first = active_cluster(ready)

    groups = copy.deepcopy(ready["spec"]["rayClusterConfig"]["workerGroupSpecs"])
    group = groups[0]
    wanted = int(group.get("replicas") or 0) + 1
    group["replicas"] = wanted
    ctx.kube.patch_merge(
        *RAYSERVICE, name, ctx.namespace, {"spec": {"rayClusterConfig": {"workerGroupSpecs": groups}}}
    )

    def reconciled() -> dict[str, Any] | None:
        current = serving()
        if current is None or active_cluster(current) != first or pending_cluster(current):
            return None
        if (current.get("status") or {}).get("observedGeneration") != current["metadata"].get("generation"):
            return None
        cluster = ctx.get(*RAYCLUSTER, first) or {}
        own = {
            g["groupName"]: int(g.get("replicas") or 0)
            for g in (cluster.get("spec") or {}).get("workerGroupSpecs") or []
        }
        return {"cluster": own} if _settled(ctx, first, own)() else None

    seen = ctx.wait(
        scenario,
        "scaled",
        f"the new generation reconciled, cluster {first} settled on its own spec",
        reconciled,
        180,
    )
    after = ctx.get(*RAYSERVICE, name)
    if pending_cluster(after) or active_cluster(after) != first:
        raise ScenarioFailed(
            scenario, "scaled", f"a replicas-only change made a new cluster: {after and after.get('status')}"
        )
    ctx.progress(
        f"  [{scenario}] RayService asks {group['groupName']}={wanted}; RayCluster {first} has {seen['cluster']}"
    )
    snapshots.append(
        ctx.snap(scenario, "scaled", root, Expectation(statuses=["running"], current_owners=[first]))
    )
    return snapshots


def rayservice_suspend(ctx: Context) -> list[Snapshot]:
    """spec.suspend on a RayService (KubeRay v1.7.0): ready -> suspend requested, the active RayCluster's
    deletion held by a finalizer (Suspending) -> every RayCluster and Pod of it gone (Suspended) ->
    resumed -> ready again on a new RayCluster.

    The operator (``handleSuspend``) first sets Suspending=True (SuspendRequested) and empties
    activeServiceStatus/pendingServiceStatus, then deletes the RayClusters and Services it owns, keeping
    Suspending=True (SuspendInProgress) while one remains; with none left, Suspending=False and
    Suspended=True (SuspendComplete), Ready=False (SuspendComplete). Resumed: Suspended=False
    (RayServiceResumed), Ready=False (Initializing), and a new RayCluster is made. The Suspending phase
    lasts as long as the RayCluster's deletion: without the harness's finalizer (what a GCS
    fault-tolerance cleanup finalizer does for real) it is too short to snapshot reliably."""
    scenario = "rayservice-suspend"
    name, root, snapshots = ctx.start_rayservice(scenario)

    def service() -> dict[str, Any] | None:
        return ctx.get(*RAYSERVICE, name)

    def serving(not_on: str = "") -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            current = service()
            active = active_cluster(current)
            ok = rayservice_ready(current) and active != not_on and ctx.cluster_ready(active)
            return current if ok and not condition_true(current, "Suspended") else None

        return probe

    ready = ctx.wait(
        scenario, "ready", "Ready=True, the Serve app RUNNING, the cluster ready", serving(), 300
    )
    first = active_cluster(ready)
    snapshots.append(
        ctx.snap(scenario, "ready", root, Expectation(statuses=["running"], current_owners=[first]))
    )

    def held() -> list[str]:
        return list(((ctx.get(*RAYCLUSTER, first) or {}).get("metadata") or {}).get("finalizers") or [])

    ctx.kube.patch_merge(*RAYCLUSTER, first, ctx.namespace, {"metadata": {"finalizers": [*held(), HOLD]}})
    try:
        ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, {"spec": {"suspend": True}})

        def suspending() -> dict[str, Any] | None:
            current = service()
            cluster = ctx.get(*RAYCLUSTER, first) or {}
            deleting = bool((cluster.get("metadata") or {}).get("deletionTimestamp"))
            return current if condition_true(current, "Suspending") and deleting else None

        ctx.wait(
            scenario,
            "suspending",
            f"Suspending=True and RayCluster {first} being deleted (held by {HOLD})",
            suspending,
            120,
        )
        snapshots.append(
            ctx.snap(
                scenario,
                "suspending",
                root,
                Expectation(
                    statuses=["suspending"],
                    stable=False,
                    current_owners=[first],
                    made_by=_spec_suspend("suspend"),
                ),
            )
        )
    finally:
        if HOLD in held():
            ctx.kube.patch_merge(
                *RAYCLUSTER,
                first,
                ctx.namespace,
                {"metadata": {"finalizers": [f for f in held() if f != HOLD]}},
            )

    mine = f"ray.io/originated-from-cr-name={name},ray.io/originated-from-crd=RayService"

    def suspended() -> dict[str, Any] | None:
        current = service()
        clusters = ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace, label_selector=mine)
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={first}")
        return current if condition_true(current, "Suspended") and not clusters and not pods else None

    now = ctx.wait(scenario, "suspended", "Suspended=True, no RayCluster and no Pod of it", suspended, 180)
    ctx.progress(
        f"  [{scenario}] suspended: "
        + ", ".join(
            f"{t}={(condition(now, t) or {}).get('status')}/{(condition(now, t) or {}).get('reason')}"
            for t in ("Ready", "Suspending", "Suspended")
        )
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "suspended",
            root,
            Expectation(statuses=["suspended"], made_by=_spec_suspend("suspend")),
        )
    )

    ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, {"spec": {"suspend": False}})
    resumed = ctx.wait(
        scenario,
        "resumed",
        f"Ready=True again on a new RayCluster (not {first}), the Serve app RUNNING",
        serving(not_on=first),
        300,
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "resumed",
            root,
            Expectation(
                statuses=["running"],
                current_owners=[active_cluster(resumed)],
                made_by=_spec_suspend("resume"),
            ),
        )
    )
    return snapshots


def rayjob_delete_workers(ctx: Context) -> list[Snapshot]:
    """deletionStrategy onSuccess DeleteWorkers: created -> succeeded -> the operator suspends every worker
    group of the RayJob's RayCluster (its worker Pods deleted, the head kept)."""
    scenario = "rayjob-delete-workers"
    name, root, snapshots = ctx.start_rayjob(
        scenario,
        "deleteworkers-rayjob",
        deletionStrategy={"onSuccess": {"policy": "DeleteWorkers"}, "onFailure": {"policy": "DeleteNone"}},
    )

    final = ctx.job_succeeded(scenario, name)
    cluster = str(final.get("rayClusterName", ""))

    def workers_gone() -> dict[str, Any] | None:
        found = ctx.get(*RAYCLUSTER, cluster) or {}
        groups = (found.get("spec") or {}).get("workerGroupSpecs") or []
        workers = ctx.kube.list_objects(
            "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster},ray.io/node-type=worker"
        )
        heads = _running(_live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head"))
        suspended = bool(groups) and all(g.get("suspend") is True for g in groups)
        return found if suspended and not workers and heads else None

    ctx.wait(
        scenario,
        "workers-deleted",
        f"every worker group of {cluster} suspended, its worker Pods gone",
        workers_gone,
        180,
    )
    snapshots.append(
        ctx.snap(
            scenario, "workers-deleted", root, Expectation(statuses=["completed"], current_owners=[cluster])
        )
    )
    return snapshots


def rayjob_shutdown_after_finishes(ctx: Context) -> list[Snapshot]:
    """shutdownAfterJobFinishes with ttlSecondsAfterFinished 0: created -> the job succeeds -> the
    operator deletes the RayJob's RayCluster (and so its Pods); the RayJob stays, Complete, with only
    its submitter Job (K8sJobMode) below it."""
    scenario = "rayjob-shutdown-after-finishes"
    name, root, snapshots = ctx.start_rayjob(
        scenario, "shutdown-rayjob", shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=0
    )

    final = ctx.job_succeeded(scenario, name)
    cluster = str(final.get("rayClusterName", ""))

    def cluster_gone() -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        job = ctx.get(*RAYJOB, name) or {}
        done = (job.get("status") or {}).get("jobDeploymentStatus") == "Complete"
        return job if done and ctx.get(*RAYCLUSTER, cluster) is None and not pods else None

    ctx.wait(scenario, "cluster-deleted", f"RayCluster {cluster} and its Pods deleted", cluster_gone, 180)
    snapshots.append(ctx.snap(scenario, "cluster-deleted", root, Expectation(statuses=["completed"])))
    return snapshots


def rayjob_cluster_selector(ctx: Context) -> list[Snapshot]:
    """A RayJob on an existing RayCluster (spec.clusterSelector, no rayClusterSpec): the standalone
    RayCluster ready -> the RayJob created -> the job succeeds on that cluster. The RayJob owns no
    RayCluster and no Ray Pods (K8sJobMode: only the submitter Job and its Pod)."""
    scenario = "rayjob-cluster-selector"
    cluster = ctx.manifest("RayCluster")
    cluster_name = "selected-raycluster"
    cluster["metadata"]["name"] = cluster_name
    ctx.kube.create(cluster, ctx.namespace)  # a real head (the job runs on it); on local, kwok workers
    ctx.wait(
        scenario,
        "created",
        f"the standalone RayCluster {cluster_name} ready",
        lambda: ctx.cluster_ready(cluster_name) or None,
        240,
    )
    name, root, snapshots = ctx.start_rayjob(
        scenario,
        "selector-rayjob",
        neighbour=False,  # the standalone RayCluster stands beside it
        rayClusterSpec=None,
        # KubeRay takes the cluster's name from this key (an empty or absent one is InvalidRayJobSpec)
        clusterSelector={"ray.io/cluster": cluster_name},
    )

    final = ctx.job_succeeded(scenario, name)
    if final.get("rayClusterName") != cluster_name:
        raise ScenarioFailed(
            scenario, "succeeded", f"the job ran on {final.get('rayClusterName')!r}, not on {cluster_name!r}"
        )
    if ctx.get(*RAYCLUSTER, cluster_name) is None:
        raise ScenarioFailed(scenario, "succeeded", f"the selected RayCluster {cluster_name} is gone")
    snapshots.append(ctx.snap(scenario, "succeeded", root, Expectation(statuses=["completed"])))
    return snapshots


def upgrade_none(ctx: Context) -> list[Snapshot]:
    """upgradeStrategy type None: ready -> the cluster-level change that upgrades the default scenario
    (a head-template label) -> the operator has seen the new generation and made no new cluster: the
    same active RayCluster, no pending one, its Pods still from the old spec."""
    scenario = "upgrade-none"

    root, snapshots, serving, first = _ready_then_upgraded(ctx, scenario, upgradeStrategy={"type": "None"})

    def reconciled() -> dict[str, Any] | None:
        current = serving()
        if current is None or pending_cluster(current):
            return None
        if (current.get("status") or {}).get("observedGeneration") != current["metadata"].get("generation"):
            return None
        return current

    after = ctx.wait(
        scenario, "spec-changed", "the new generation observed, the cluster serving", reconciled, 180
    )
    if active_cluster(after) != first:
        raise ScenarioFailed(
            scenario, "spec-changed", f"upgradeStrategy None made a new cluster: {active_cluster(after)!r}"
        )
    # the active cluster's Pods were made from the old spec, and stay so
    snapshots.append(
        ctx.snap(scenario, "spec-changed", root, Expectation(statuses=["running"], stale_owners=[first]))
    )
    return snapshots


def rayjob_backoff_limit(ctx: Context) -> list[Snapshot]:
    """backoffLimit 1 and an entrypoint that fails (after 20 s, so each attempt is seen Running): created ->
    retried (the first attempt failed; the operator deleted its RayCluster and runs the job again on a new
    one) -> failed (the second attempt failed too: jobDeploymentStatus Failed, the last RayCluster kept)."""
    scenario = "rayjob-backoff-limit"
    name, root, snapshots = ctx.start_rayjob(
        scenario,
        "backoff-rayjob",
        entrypoint='python -c "import sys, time; time.sleep(20); sys.exit(3)"',
        backoffLimit=1,
    )

    def status() -> dict[str, Any]:
        return (ctx.get(*RAYJOB, name) or {}).get("status") or {}

    first = ctx.wait(
        scenario,
        "retried",
        "the first attempt running on its RayCluster",
        lambda: status().get("rayClusterName") if status().get("jobDeploymentStatus") == "Running" else None,
        300,
    )

    def again() -> dict[str, Any] | None:
        current = status()
        cluster = current.get("rayClusterName")
        if int(current.get("failed") or 0) < 1 or not cluster or cluster == first:
            return None
        if current.get("jobDeploymentStatus") != "Running" or ctx.get(*RAYCLUSTER, first) is not None:
            return None
        return current

    retried = ctx.wait(
        scenario,
        "retried",
        f"a failed attempt, {first} deleted, the job Running on a new RayCluster",
        again,
        300,
    )
    second = str(retried["rayClusterName"])
    snapshots.append(
        ctx.snap(
            scenario,
            "retried",
            root,
            Expectation(statuses=["running"], stable=False, current_owners=[second]),
        )
    )

    def failed() -> dict[str, Any] | None:
        current = status()
        return current if current.get("jobDeploymentStatus") == "Failed" else None

    final = ctx.wait(scenario, "failed", "jobDeploymentStatus Failed (backoffLimit reached)", failed, 300)
    if int(final.get("failed") or 0) != 2 or final.get("rayClusterName") != second:
        raise ScenarioFailed(scenario, "failed", f"expected 2 failed attempts, the last on {second}: {final}")
    _final_cluster_settled(ctx, scenario, "failed", second)
    snapshots.append(
        ctx.snap(scenario, "failed", root, Expectation(statuses=["failed"], current_owners=[second]))
    )
    return snapshots


def _final_cluster_settled(ctx: Context, scenario: str, phase: str, cluster: str) -> None:
    """Wait (bounded) until RayCluster ``cluster`` is ready with every worker group at its own replicas."""
    found = ctx.get(*RAYCLUSTER, cluster) or {}
    groups = {
        g["groupName"]: int(g.get("replicas") or 0)
        for g in (found.get("spec") or {}).get("workerGroupSpecs") or []
    }
    ctx.wait(scenario, phase, f"RayCluster {cluster} settled", _settled(ctx, cluster, groups), 180)


def rayjob_active_deadline(ctx: Context) -> list[Snapshot]:
    """activeDeadlineSeconds 45 and a job that would run for 10 minutes: created -> deadline-exceeded
    (jobDeploymentStatus Failed, reason DeadlineExceeded; the RayCluster kept, as shutdownAfterJobFinishes
    is false)."""
    scenario = "rayjob-active-deadline"
    name, root, snapshots = ctx.start_rayjob(
        scenario,
        "deadline-rayjob",
        entrypoint='python -c "import time; time.sleep(600)"',
        activeDeadlineSeconds=45,
    )

    def exceeded() -> dict[str, Any] | None:
        current = (ctx.get(*RAYJOB, name) or {}).get("status") or {}
        return current if current.get("jobDeploymentStatus") == "Failed" else None

    final = ctx.wait(scenario, "deadline-exceeded", "jobDeploymentStatus Failed", exceeded, 240)
    if final.get("reason") != "DeadlineExceeded":
        raise ScenarioFailed(scenario, "deadline-exceeded", f"failed, but not for the deadline: {final}")
    cluster = str(final.get("rayClusterName", ""))
    _final_cluster_settled(ctx, scenario, "deadline-exceeded", cluster)
    snapshots.append(
        ctx.snap(
            scenario, "deadline-exceeded", root, Expectation(statuses=["failed"], current_owners=[cluster])
        )
    )
    return snapshots


def rayservice_cluster_deletion_delay(ctx: Context) -> list[Snapshot]:
    """rayClusterDeletionDelaySeconds 30: ready -> the default scenario's upgrade, run straight through ->
    promoted-old-kept (the new cluster active and serving, the old RayCluster and its Pods still there) ->
    old-deleted (the delay over: only the new cluster)."""
    scenario = "rayservice-cluster-deletion-delay"

    root, snapshots, serving, first = _ready_then_upgraded(ctx, scenario, rayClusterDeletionDelaySeconds=30)

    def promoted_old_kept() -> dict[str, Any] | None:
        current = serving()
        if current is None or active_cluster(current) in ("", first) or pending_cluster(current):
            return None
        return current if ctx.get(*RAYCLUSTER, first) is not None else None

    after = ctx.wait(
        scenario,
        "promoted-old-kept",
        f"the new cluster promoted, {first} not yet deleted",
        promoted_old_kept,
        300,
    )
    new = active_cluster(after)
    snapshots.append(
        ctx.snap(scenario, "promoted-old-kept", root, Expectation(statuses=["running"], current_owners=[new]))
    )

    def old_gone() -> bool:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={first}")
        return ctx.get(*RAYCLUSTER, first) is None and not pods and serving() is not None

    ctx.wait(scenario, "old-deleted", f"{first} and its Pods deleted after the delay", old_gone, 180)
    snapshots.append(
        ctx.snap(scenario, "old-deleted", root, Expectation(statuses=["running"], current_owners=[new]))
    )
    return snapshots


RECREATE_HASH = "ray.io/upgrade-strategy-recreate-hash"
REVISION = "karta.conformance/revision"


def raycluster_upgrade_recreate(ctx: Context) -> list[Snapshot]:
    """upgradeStrategy Recreate (v1.6.2+): ready -> scaled-up (a replicas-only change: KubeRay's spec hash
    leaves replicas out, so no Pod is recreated, one worker is added) -> template-changed (a label added
    to every pod template: every Pod deleted and made again from the new templates, the head's hash
    annotation changed)."""
    scenario = "raycluster-upgrade-recreate"
    name = "recreate-raycluster"

    def recreate(manifest: dict[str, Any]) -> None:
        manifest["spec"]["upgradeStrategy"] = {"type": "Recreate"}

    root, gname, snapshots, owners = _started_raycluster(
        ctx, scenario, name, recreate, replicas=1, minReplicas=1
    )
    ctx.wait(scenario, "ready", "head and 1 worker Running", _settled(ctx, name, {gname: 1}), 180)
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    def pods_now() -> dict[str, dict[str, Any]]:
        return {p["metadata"]["uid"]: p for p in _live_pods(ctx, f"ray.io/cluster={name}")}

    before = pods_now()
    heads = [p for p in before.values() if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
    old_hash = (heads[0]["metadata"].get("annotations") or {}).get(RECREATE_HASH) if heads else None
    if not old_hash:
        raise ScenarioFailed(scenario, "ready", f"the head Pod carries no {RECREATE_HASH} annotation")

    _patch_group(ctx, name, gname, {"replicas": 2})
    settled = _settled(ctx, name, {gname: 2})

    def scaled_in_place() -> dict[str, Any] | None:
        found = settled()
        return found if found and set(before) <= set(pods_now()) else None

    ctx.wait(
        scenario,
        "scaled-up",
        "2 workers, the Pods before all kept (replicas are not in the hash)",
        scaled_in_place,
        180,
    )
    snapshots.append(ctx.snap(scenario, "scaled-up", root, owners))

    kept = pods_now()
    current = ctx.get(*RAYCLUSTER, name) or {}
    spec = copy.deepcopy(current.get("spec") or {})
    for template in [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]:
        template.setdefault("metadata", {}).setdefault("labels", {})[REVISION] = "2"
    ctx.kube.patch_merge(
        *RAYCLUSTER,
        name,
        ctx.namespace,
        {"spec": {"headGroupSpec": spec["headGroupSpec"], "workerGroupSpecs": spec["workerGroupSpecs"]}},
    )

    def recreated() -> dict[str, Any] | None:
        found = settled()
        if not found:
            return None
        now = pods_now()
        fresh = not set(kept) & set(now) and all(
            p["metadata"]["labels"].get(REVISION) == "2" for p in now.values()
        )
        head = [p for p in now.values() if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
        changed = bool(head) and (head[0]["metadata"].get("annotations") or {}).get(RECREATE_HASH) not in (
            None,
            old_hash,
        )
        return found if fresh and changed else None

    ctx.wait(
        scenario,
        "template-changed",
        f"every Pod made again with label {REVISION}=2 and a new {RECREATE_HASH} on the head",
        recreated,
        240,
    )
    snapshots.append(ctx.snap(scenario, "template-changed", root, owners))
    return snapshots


EXTENDED = (
    "rdma/hca"  # advertised on every node by the backends (kind: a node status patch; local: kwok's nodes)
)


def extended_resources(ctx: Context) -> list[Snapshot]:
    """A worker group asking for an extended resource other than GPUs (one rdma/hca per worker): ready
    (both workers placed on nodes that advertise it) -> scaled-down (1 worker). KubeRay hands Ray only
    the accelerators it knows (GPUs, TPUs, Neuron cores): the progress line says whether rdma/hca
    reached the workers' ray start."""
    scenario = "extended-resources"
    name = "rdma-raycluster"

    def rdma(manifest: dict[str, Any]) -> None:
        (container,) = manifest["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"]
        for side in ("requests", "limits"):
            container.setdefault("resources", {}).setdefault(side, {})[EXTENDED] = "1"

    root, gname, snapshots, owners = _started_raycluster(ctx, scenario, name, rdma, replicas=2, minReplicas=1)
    ctx.wait(scenario, "ready", f"2 workers with {EXTENDED} Running", _settled(ctx, name, {gname: 2}), 180)
    workers = _live_pods(ctx, f"ray.io/cluster={name},ray.io/group={gname}")
    for pod in workers:
        limits = ((pod["spec"]["containers"][0].get("resources") or {}).get("limits")) or {}
        if limits.get(EXTENDED) != "1":
            raise ScenarioFailed(
                scenario, "ready", f"Pod {pod['metadata']['name']} lacks {EXTENDED}: {limits}"
            )
    started = " ".join(str(a) for a in workers[0]["spec"]["containers"][0].get("args") or [])
    ctx.progress(
        f"  [{scenario}] {EXTENDED} in the workers' ray start: {'yes' if EXTENDED in started else 'no'}"
    )
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    snapshots.append(_scaled_down(ctx, scenario, root, owners, gname, 1, pods=1, what="1 worker Running"))
    return snapshots


def batch_scheduler_volcano(ctx: Context) -> list[Snapshot]:
    """On a run whose operator has --batch-scheduler=volcano: ready (a PodGroup ray-<cluster>-pg owned by
    the RayCluster, minMember = head + desired workers as KubeRay sizes it without autoscaling, every Pod
    handed to scheduler volcano and annotated with the group) -> scaled-up (the PodGroup resized)."""
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
    return snapshots


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


def batch_scheduler_yunikorn(ctx: Context) -> list[Snapshot]:
    """On a run whose operator has --batch-scheduler=yunikorn, a RayCluster with yunikorn's application and
    queue labels and gang scheduling on (replicas 2, minReplicas 1): ready (every Pod handed to yunikorn with
    applicationId and queue, each carrying the cluster's task groups: head 1, the worker group minReplicas,
    and its own group's name) -> scaled-up (replicas 3: the task groups unchanged, they follow minReplicas)."""
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

    return _scheduled_raycluster(
        ctx,
        scenario,
        name,
        {YUNIKORN_APP: app, YUNIKORN_QUEUE: queue, GANG_ENABLED: "true"},
        (("ready", 2), ("scaled-up", 3)),
        task_groups,
        {"applicationId": app, "queue": queue},
        scheduler,
    )


KAI_QUEUE = "kai.scheduler/queue"


def batch_scheduler_kai(ctx: Context) -> list[Snapshot]:
    """On a run whose operator has --batch-scheduler=kai-scheduler, a RayCluster with KAI's queue label:
    ready (every Pod handed to kai-scheduler, with the queue label; no PodGroup from KubeRay: KAI's own
    pod-grouper makes them, from definitions like these) -> scaled-up."""
    scenario = "batch-scheduler-kai"
    scheduler = _on_batch_scheduler(ctx, scenario, "kai-scheduler")
    queue = {KAI_QUEUE: "conformance"}
    return _scheduled_raycluster(
        ctx,
        scenario,
        "kai-raycluster",
        queue,
        (("ready", 1), ("scaled-up", 2)),
        lambda phase, workers, pods: f"queue {queue[KAI_QUEUE]}",
        queue,
        scheduler,
    )


PLUGINS_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"


def batch_scheduler_scheduler_plugins(ctx: Context) -> list[Snapshot]:
    """On a run whose operator has --batch-scheduler=scheduler-plugins, a RayCluster with gang scheduling on:
    ready (a scheduling.x-k8s.io PodGroup named after the cluster and owned by it, minMember head + 1 desired
    worker; every Pod handed to scheduler-plugins-scheduler with the group's label) -> scaled-up (2 workers;
    the progress line says what minMember then is: KubeRay makes the group once and does not resize it)."""
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

    return _scheduled_raycluster(
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


def rayservice_failed_upgrade(ctx: Context) -> list[Snapshot]:
    """A zero-downtime upgrade whose new Serve app fails: ready -> upgrade-failed (the default scenario's
    cluster-level change together with a Serve config whose import path names nothing: the pending
    RayCluster's Pods run, its app DEPLOY_FAILED; the active cluster keeps serving, nothing promoted) ->
    recovered (the Serve config put back: the same pending cluster's app RUNNING, promoted)."""
    scenario = "rayservice-failed-upgrade"
    name, root, snapshots = ctx.start_rayservice(scenario)
    serving, ready = _serving(ctx, scenario, name, root, snapshots)
    first = active_cluster(ready)
    good = str(ready["spec"]["serveConfigV2"])
    bad = good.replace("karta_fixture_app:app", "karta_fixture_app:no_such_app")
    if bad == good:
        raise ScenarioFailed(
            scenario, "upgrade-failed", "the fixture's Serve config has no karta_fixture_app:app"
        )
    patch = fixtures.load_patch("rayservice-upgrade")
    patch["spec"]["serveConfigV2"] = bad
    ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, patch)

    def failed() -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, name)
        pending = pending_cluster(current)
        apps = app_statuses(current, "pendingServiceStatus")
        # Ready=True and still the old cluster active (KubeRay v1.6.2 was seen to empty the active
        # cluster's applicationStatuses meanwhile: rayservice_ready would never hold)
        still = active_cluster(current) == first and condition_true(current, "Ready")
        up = bool(pending) and pending != first and ctx.cluster_up(pending)
        return current if still and up and apps and all(a == "DEPLOY_FAILED" for a in apps.values()) else None

    during = ctx.wait(
        scenario,
        "upgrade-failed",
        f"a pending cluster up with its app DEPLOY_FAILED, {first} still active and serving",
        failed,
        300,
    )
    pending = pending_cluster(during)
    ctx.progress(
        f"  [{scenario}] pending {pending}: apps {app_statuses(during, 'pendingServiceStatus')}; active "
        f"{first}: apps {app_statuses(during)}; "
        f"UpgradeInProgress={(condition(during, 'UpgradeInProgress') or {}).get('status')}"
    )
    snapshots.append(
        ctx.snap(
            scenario, "upgrade-failed", root, Expectation(statuses=["running"], current_owners=[pending])
        )
    )

    ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, {"spec": {"serveConfigV2": good}})

    def promoted() -> dict[str, Any] | None:
        current = serving()
        return current if active_cluster(current) == pending and not pending_cluster(current) else None

    ctx.wait(
        scenario, "recovered", f"the pending cluster {pending} promoted with its app RUNNING", promoted, 300
    )
    snapshots.append(
        ctx.snap(scenario, "recovered", root, Expectation(statuses=["running"], current_owners=[pending]))
    )
    return snapshots


def network_policy(ctx: Context) -> list[Snapshot]:
    """spec.networkPolicy (KubeRay v1.7.0, gate RayClusterNetworkPolicy, which the harness turns on): created
    -> ready (mode DenyAllIngress: a NetworkPolicy for the head and one per worker group, each controlled by
    the RayCluster, intra-cluster traffic allowed: children the definitions list, no Pod of their own)."""
    scenario = "network-policy"
    name = "netpol-raycluster"

    def isolated(manifest: dict[str, Any]) -> None:
        manifest["spec"]["networkPolicy"] = {"mode": "DenyAllIngress"}

    root, gname, snapshots, owners = _started_raycluster(ctx, scenario, name, isolated)
    start = int(ctx.manifest("RayCluster")["spec"]["workerGroupSpecs"][0]["replicas"])
    settled = _settled(ctx, name, {gname: start})

    def policies() -> list[dict[str, Any]] | None:
        found = [
            p
            for p in ctx.kube.list_objects("networking.k8s.io/v1", "NetworkPolicy", ctx.namespace)
            if any(
                r.get("kind") == "RayCluster" and r.get("name") == name and r.get("controller")
                for r in p["metadata"].get("ownerReferences") or []
            )
        ]
        return found if len(found) >= 2 and settled() else None

    found = ctx.wait(
        scenario, "ready", f"the cluster ready and a NetworkPolicy per group owned by {name}", policies, 180
    )
    ctx.progress(f"  [{scenario}] NetworkPolicies {sorted(p['metadata']['name'] for p in found)}")
    snapshots.append(ctx.snap(scenario, "ready", root, owners))
    return snapshots


def auth_options(ctx: Context) -> list[Snapshot]:
    """spec.authOptions mode token (KubeRay v1.5.1+; its validation asks for rayVersion 2.52.0 or later,
    set so here): created -> ready (a Secret named after the cluster and controlled by it holds the token;
    every Ray container gets it as RAY_AUTH_TOKEN from that Secret: a child the definitions list, the Pods'
    env not in their templates)."""
    scenario = "auth-options"
    name = "auth-raycluster"

    def token(manifest: dict[str, Any]) -> None:
        manifest["spec"]["authOptions"] = {"mode": "token"}
        manifest["spec"]["rayVersion"] = "2.52.0"

    root, gname, snapshots, owners = _started_raycluster(ctx, scenario, name, token)
    start = int(ctx.manifest("RayCluster")["spec"]["workerGroupSpecs"][0]["replicas"])
    settled = _settled(ctx, name, {gname: start})

    def secured() -> dict[str, Any] | None:
        secret = ctx.get("v1", "Secret", name)
        controlled = secret is not None and any(
            r.get("kind") == "RayCluster" and r.get("name") == name and r.get("controller")
            for r in secret["metadata"].get("ownerReferences") or []
        )
        return secret if controlled and settled() else None

    ctx.wait(
        scenario, "ready", f"the cluster ready and its token Secret {name} controlled by it", secured, 180
    )
    for pod in _live_pods(ctx, f"ray.io/cluster={name}"):
        env = {e["name"]: e for e in pod["spec"]["containers"][0].get("env") or []}
        source = ((env.get("RAY_AUTH_TOKEN") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        if source.get("name") != name:
            raise ScenarioFailed(
                scenario,
                "ready",
                f"Pod {pod['metadata']['name']}: RAY_AUTH_TOKEN {env.get('RAY_AUTH_TOKEN')} (want Secret {name})",
            )
    snapshots.append(ctx.snap(scenario, "ready", root, owners))
    return snapshots


GROUP_LABEL = "karta.conformance/group-label"


def worker_group_labels(ctx: Context) -> list[Snapshot]:
    """workerGroupSpecs[].labels and .resources (KubeRay v1.5.1+): created -> ready (the group's top-level
    labels merged into its Pods' labels, beside the template's, and into Ray's --labels; its resources into
    Ray's --resources): Pods carry a label their template does not have."""
    scenario = "worker-group-labels-and-resources"
    name = "labelled-raycluster"
    root, gname, snapshots, owners = _started_raycluster(
        ctx,
        scenario,
        name,
        lambda _: None,
        labels={GROUP_LABEL: "from-group-spec"},
        resources={"custom": "2"},
    )
    start = int(ctx.manifest("RayCluster")["spec"]["workerGroupSpecs"][0]["replicas"])
    ctx.wait(scenario, "ready", "head and workers Running", _settled(ctx, name, {gname: start}), 180)
    for pod in _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=worker"):
        labels = pod["metadata"].get("labels") or {}
        container = pod["spec"]["containers"][0]
        command = " ".join([*(container.get("command") or []), *(container.get("args") or [])])
        if labels.get(GROUP_LABEL) != "from-group-spec" or "custom" not in command:
            raise ScenarioFailed(
                scenario,
                "ready",
                f"Pod {pod['metadata']['name']}: label {GROUP_LABEL}={labels.get(GROUP_LABEL)!r}, ray start "
                f"{'with' if 'custom' in command else 'without'} the group's resources",
            )
    snapshots.append(ctx.snap(scenario, "ready", root, owners))
    return snapshots


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


def gcs_fault_tolerance(ctx: Context) -> list[Snapshot]:
    """GCS fault tolerance (spec.gcsFaultToleranceOptions): ready (KubeRay's finalizer on the RayCluster)
    -> head-recreated (the head Pod deleted, a new one made, the workers kept) -> redis-cleanup (the
    RayCluster deleted: KubeRay deletes its Ray Pods and, behind its finalizer, makes a batch Job owned by
    the RayCluster whose Pod is built from the head Pod, labelled ray.io/node-type=redis-cleanup; held
    here by the harness's finalizer until snapshotted).

    A Redis Pod and Service ``redis`` beside it (the Ray image has Debian's redis-server): on kind a real
    Redis that the real Ray head keeps its GCS state in; on the local backend a kwok Pod (its heads run
    no Ray there, and what is checked is what the operator makes)."""
    scenario = "gcs-fault-tolerance"
    _start_redis(ctx, scenario)

    def ft(manifest: dict[str, Any]) -> None:
        manifest["spec"]["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}

    root, group, snapshots, owners = _started_raycluster(ctx, scenario, "ft-raycluster", ft)
    name = root[2]
    start = int(ctx.manifest("RayCluster")["spec"]["workerGroupSpecs"][0]["replicas"])
    ctx.wait(scenario, "ready", "head and workers Running", _settled(ctx, name, {group: start}), 180)
    finalizers = (ctx.get(*RAYCLUSTER, name) or {}).get("metadata", {}).get("finalizers") or []
    if FT_FINALIZER not in finalizers:
        raise ScenarioFailed(scenario, "ready", f"KubeRay put no {FT_FINALIZER} on {name}: {finalizers}")
    snapshots.append(ctx.snap(scenario, "ready", root, owners))

    (head,) = _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=head")
    workers = {
        p["metadata"]["uid"] for p in _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=worker")
    }
    ctx.kube.delete("v1", "Pod", head["metadata"]["name"], ctx.namespace)
    settled = _settled(ctx, name, {group: start})

    def healed() -> dict[str, Any] | None:
        found = settled()
        heads = _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=head")
        return found if found and heads and heads[0]["metadata"]["uid"] != head["metadata"]["uid"] else None

    ctx.wait(scenario, "head-recreated", "a new head Pod Running and the cluster ready", healed, 180)
    kept = {p["metadata"]["uid"] for p in _live_pods(ctx, f"ray.io/cluster={name},ray.io/node-type=worker")}
    ctx.progress(f"  [{scenario}] head recreated; worker Pods kept: {len(kept & workers)} of {len(workers)}")
    snapshots.append(ctx.snap(scenario, "head-recreated", root, owners))

    # While its finalizers hold it, KubeRay leaves the RayCluster's status as it was (state ready): Karta
    # has no terminating status, and the definitions read what the status says.
    snapshots.append(
        _redis_cleanup(
            ctx,
            scenario,
            root,
            name,
            "running",
            lambda: ctx.kube.delete(*RAYCLUSTER, name, ctx.namespace),
            120,
        )
    )
    return snapshots


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


def rayjob_redis_cleanup(ctx: Context) -> list[Snapshot]:
    """A RayJob whose cluster has GCS fault tolerance, with shutdownAfterJobFinishes: created -> running
    -> the job succeeds and the operator deletes the RayCluster: its Ray Pods go, and its redis-cleanup
    Job's Pod comes, a batch Job's Pod under the RayJob beside the submitter's (snapshot redis-cleanup,
    the cluster held by the harness's finalizer until taken)."""
    scenario = "rayjob-redis-cleanup"
    _start_redis(ctx, scenario)
    cluster_spec = ctx.manifest("RayJob")["spec"]["rayClusterSpec"]
    cluster_spec["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}
    name, root, snapshots = ctx.start_rayjob(
        scenario,
        "ft-rayjob",
        shutdownAfterJobFinishes=True,
        ttlSecondsAfterFinished=0,
        rayClusterSpec=cluster_spec,
    )

    def ft_cluster() -> str | None:
        cluster = str(((ctx.get(*RAYJOB, name) or {}).get("status") or {}).get("rayClusterName") or "")
        found = ctx.get(*RAYCLUSTER, cluster) if cluster else None
        return cluster if found and FT_FINALIZER in (found["metadata"].get("finalizers") or []) else None

    cluster = str(
        ctx.wait(scenario, "running", f"the RayJob's RayCluster with {FT_FINALIZER}", ft_cluster, 120)
    )
    # the job's success makes the operator delete the cluster (shutdownAfterJobFinishes)
    snapshots.append(
        _redis_cleanup(
            ctx, scenario, root, cluster, "completed", lambda: ctx.job_succeeded(scenario, name), 180
        )
    )
    return snapshots


def gcs_ft_rayservice_upgrade(ctx: Context) -> list[Snapshot]:
    """A RayService whose clusters have GCS fault tolerance, upgraded: ready -> promoted (the default
    scenario's cluster-level change: the new cluster, with KubeRay's FT finalizer too, active) ->
    redis-cleanup (KubeRay deletes the old cluster after its deletion delay: its Ray Pods go and its
    redis-cleanup Job's Pod comes, two levels below the RayService, built from the old head template;
    the old cluster held by the harness's finalizer until snapshotted)."""
    scenario = "gcs-ft-rayservice-upgrade"
    _start_redis(ctx, scenario)

    def ft(manifest: dict[str, Any]) -> None:
        manifest["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}

    name, root, snapshots = ctx.start_rayservice(scenario, ft)
    serving, ready = _serving(ctx, scenario, name, root, snapshots)
    first = active_cluster(ready)
    finalizers = (ctx.get(*RAYCLUSTER, first) or {}).get("metadata", {}).get("finalizers") or []
    if FT_FINALIZER not in finalizers:
        raise ScenarioFailed(scenario, "ready", f"KubeRay put no {FT_FINALIZER} on {first}: {finalizers}")
    promoted_to: list[str] = []

    def upgrade_and_promote() -> None:
        ctx.kube.patch_merge(*RAYSERVICE, name, ctx.namespace, fixtures.load_patch("rayservice-upgrade"))

        def promoted() -> dict[str, Any] | None:
            current = serving()
            active = active_cluster(current)
            return current if active not in ("", first) and not pending_cluster(current) else None

        done = ctx.wait(scenario, "promoted", "the new cluster promoted and serving", promoted, 300)
        promoted_to.append(active_cluster(done))
        snapshots.append(
            ctx.snap(
                scenario, "promoted", root, Expectation(statuses=["running"], current_owners=promoted_to[:])
            )
        )

    # KubeRay deletes the old cluster 60 s after the promotion (its default deletion delay)
    cleanup = _redis_cleanup(
        ctx,
        scenario,
        root,
        first,
        "running",
        upgrade_and_promote,
        240,
        # the old cluster is superseded, as in the rayservice scenario: its cleanup Pod is not the root's
        Expectation(statuses=["running"], stable=False, current_owners=promoted_to),
    )
    snapshots.append(cleanup)
    return snapshots


# Two tasks of one CPU each, 40 s long: with the head at num-cpus 0 they can only run on workers, so
# Ray's autoscaler asks for two (the group's max), and they finish; the workers then idle out.
DEMAND = (
    "python",
    "-c",
    "import ray, time; ray.init(); "
    "task = ray.remote(num_cpus=1)(lambda: time.sleep(40)); ray.get([task.remote() for _ in range(2)])",
)
IDLE_SECONDS = 15


def in_tree_autoscaling(ctx: Context) -> list[Snapshot]:
    """Ray's default (v1) autoscaler: ``_autoscaling``."""
    return _autoscaling(ctx, "in-tree-autoscaling", v2=False)


def autoscaler_v2(ctx: Context) -> list[Snapshot]:
    """Ray's v2 autoscaler (``autoscalerOptions.version: v2``, the idle timeout on the worker group, which
    only v2 honours): ``_autoscaling``."""
    return _autoscaling(ctx, "autoscaler-v2", v2=True)


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


def raycronjob(ctx: Context) -> list[Snapshot]:
    """A RayCronJob ticking every 15 s, its RayJobs keeping their clusters: created (before the first
    tick) -> first-job (its RayJob Running on a ready cluster: RayCronJob -> RayJob -> RayCluster -> Pods)
    -> two-jobs (the second tick's RayJob and cluster beside the first's: two gangs under one root; the
    schedule suspended as soon as the second RayJob is made, so a slow backend does not pile up clusters,
    and the operator's SuspendedRayCronJob event seen) -> resumed (spec.suspend false: the next tick's
    RayJob made; not waited to settle).

    In the default set wherever the version serves the kind (the harness turns its gate on); on a
    cluster whose operator runs without the gate no RayJob comes, and the phases after ``created`` are
    UNVERIFIED with that reason."""
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
        return snapshots
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
    return snapshots


# A Ray job the user submits in InteractiveMode: long enough for its Running phase to be snapshotted.
INTERACTIVE_JOB = (
    "python",
    "-c",
    "import time, ray; ray.init(); time.sleep(15); print(ray.get(ray.remote(lambda x: x * 2).remote(21)))",
)


def rayjob_interactive(ctx: Context) -> list[Snapshot]:
    """submissionMode InteractiveMode: created -> waiting (its RayCluster ready, jobDeploymentStatus Waiting:
    the operator submits nothing and makes no submitter Job, it waits for spec.jobId) -> running (a Ray job
    submitted by the harness to the head's own dashboard under a chosen submission id, and that id set as
    spec.jobId: the operator follows that job) -> succeeded."""
    scenario = "rayjob-interactive"
    if not ctx.able(Capability.SUBMIT_RAY_JOB, scenario, "created", "waiting", "running", "succeeded"):
        return []
    name, root, snapshots = ctx.start_rayjob(scenario, "interactive-rayjob", submissionMode="InteractiveMode")

    def waiting() -> dict[str, Any] | None:
        status = (ctx.get(*RAYJOB, name) or {}).get("status") or {}
        cluster = str(status.get("rayClusterName", ""))
        return (
            status
            if status.get("jobDeploymentStatus") == "Waiting" and cluster and ctx.cluster_ready(cluster)
            else None
        )

    status = ctx.wait(scenario, "waiting", "jobDeploymentStatus Waiting on a ready RayCluster", waiting, 240)
    cluster = str(status["rayClusterName"])
    submitters = ctx.kube.list_objects(
        "batch/v1", "Job", ctx.namespace, label_selector=f"ray.io/originated-from-cr-name={name}"
    )
    if submitters:
        raise ScenarioFailed(
            scenario,
            "waiting",
            f"InteractiveMode made submitter Job(s) {[j['metadata']['name'] for j in submitters]}",
        )
    owners = Expectation(statuses=["initializing"], current_owners=[cluster])
    snapshots.append(ctx.snap(scenario, "waiting", root, owners))

    (head,) = _running(_live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head"))
    job_id = f"interactive-{head['metadata']['uid'][:8]}"
    refused: list[str] = []

    def submitted() -> str | None:
        # The head Pod is Ready before its Ray dashboard answers (a real Ray start, seconds on a busy
        # machine): a refused submission is tried again until the deadline.
        try:
            return ctx.provider.ray_submit(
                ctx.namespace,
                head["metadata"]["name"],
                head["spec"]["containers"][0]["name"],
                INTERACTIVE_JOB,
                job_id,
            )
        except EnvironmentProblem as error:
            if "already exists" in str(error):  # an earlier try landed, its answer lost
                return "submitted (by an earlier try)"
            refused[:] = [str(error)]
            return None

    try:
        answer = ctx.wait(
            scenario, "running", f"Ray job {job_id} accepted by the head's dashboard", submitted, 120
        )
    except ScenarioFailed as failed:
        raise ScenarioFailed(
            scenario, "running", f"{failed.message}; the last refusal: {refused[-1:]}"
        ) from None
    ctx.progress(
        f"  [{scenario}] Ray job {job_id} submitted to {head['metadata']['name']}: {answer.strip()[-120:]!r}"
    )
    ctx.kube.patch_merge(*RAYJOB, name, ctx.namespace, {"spec": {"jobId": job_id}})

    def follows(cluster: str) -> None:
        followed = ((ctx.get(*RAYJOB, name) or {}).get("status") or {}).get("jobId")
        if followed != job_id:
            raise ScenarioFailed(scenario, "running", f"the RayJob follows job {followed!r}, not {job_id!r}")

    return running_then_succeeded(ctx, scenario, name, root, snapshots, 120, follows)


SIDECAR = "ray-job-submitter"  # the container KubeRay adds to the head Pod in SidecarMode


def rayjob_sidecar(ctx: Context) -> list[Snapshot]:
    """submissionMode SidecarMode: created -> running (no submitter Job: the submitter is a container of the
    head Pod, beside Ray; the head template in the RayJob has no such container) -> succeeded (its exit
    decides). Needs a backend whose kubelets run every container (kind, an existing cluster)."""
    scenario = "rayjob-sidecar"
    if not ctx.able(Capability.RUN_CONTAINERS, scenario, "created", "running", "succeeded"):
        return []
    # SidecarMode refuses a submitterPodTemplate (KubeRay's validation)
    name, root, snapshots = ctx.start_rayjob(
        scenario, "sidecar-rayjob", submissionMode="SidecarMode", submitterPodTemplate=None
    )

    def sidecar_not_job(cluster: str) -> None:
        heads = _live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head")
        containers = [c["name"] for h in heads for c in h["spec"]["containers"]]
        submitters = ctx.kube.list_objects(
            "batch/v1", "Job", ctx.namespace, label_selector=f"ray.io/originated-from-cr-name={name}"
        )
        if SIDECAR not in containers or submitters:
            raise ScenarioFailed(
                scenario,
                "running",
                f"head containers {containers} (want {SIDECAR!r} among them), submitter Jobs "
                f"{[j['metadata']['name'] for j in submitters]} (want none)",
            )

    return running_then_succeeded(ctx, scenario, name, root, snapshots, 300, sidecar_not_job)


MULTIKUEUE = "kueue.x-k8s.io/multikueue"  # the one other controller KubeRay's validation accepts


def managed_by(ctx: Context) -> list[Snapshot]:
    """spec.managedBy another controller (Kueue's MultiKueue, which runs the job on a worker cluster and
    mirrors its status back): created -> not-reconciled (a RayJob created after it, without the field, was
    reconciled: the operator has been past this one and left it alone: no status, no RayCluster, no Pod).
    The definitions read an empty workload; its replica counts are not compared (no Pod will come here)."""
    scenario = "managed-by"
    name, root, snapshots = ctx.start_rayjob(scenario, "managed-rayjob", managedBy=MULTIKUEUE)
    # The witness: suspended (no cluster, no Pod), so the only trace of its reconcile is its status.
    witness = "witness-rayjob"
    manifest = ctx.manifest("RayJob")
    manifest["metadata"]["name"] = witness
    manifest["spec"].update(suspend=True, shutdownAfterJobFinishes=True)
    ctx.kube.create(manifest, ctx.namespace)

    def passed() -> dict[str, Any] | None:
        seen = ((ctx.get(*RAYJOB, witness) or {}).get("status") or {}).get("jobDeploymentStatus")
        return (ctx.get(*RAYJOB, name) or {}) if seen else None

    managed = ctx.wait(
        scenario,
        "not-reconciled",
        f"the operator reconciled RayJob {witness}, created after {name}",
        passed,
        120,
    )
    clusters = [
        c["metadata"]["name"]
        for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace)
        if any(r.get("name") == name for r in c["metadata"].get("ownerReferences") or [])
    ]
    if managed.get("status") or clusters:
        raise ScenarioFailed(
            scenario,
            "not-reconciled",
            f"KubeRay acted on RayJob {name} managed by {MULTIKUEUE}: status {managed.get('status')}, RayClusters {clusters}",
        )
    snapshots.append(
        ctx.snap(scenario, "not-reconciled", root, Expectation(statuses=["initializing"], stable=False))
    )
    return snapshots


def head_ingress(ctx: Context) -> list[Snapshot]:
    """headGroupSpec.enableIngress (with the ingress class KubeRay requires, as the RayCluster's annotation):
    created -> ready (an Ingress for the head Service, owned by the RayCluster: a child the definitions
    list, no Pod of its own)."""
    scenario = "head-ingress"
    name = "ingress-raycluster"

    def ingress(manifest: dict[str, Any]) -> None:
        manifest["metadata"].setdefault("annotations", {})["kubernetes.io/ingress.class"] = "nginx"
        manifest["spec"]["headGroupSpec"]["enableIngress"] = True

    root, gname, snapshots, owners = _started_raycluster(ctx, scenario, name, ingress)
    settled = _settled(
        ctx, name, {gname: int(ctx.manifest("RayCluster")["spec"]["workerGroupSpecs"][0]["replicas"])}
    )

    def with_ingress() -> dict[str, Any] | None:
        found = [
            i
            for i in ctx.kube.list_objects("networking.k8s.io/v1", "Ingress", ctx.namespace)
            if any(
                r.get("kind") == "RayCluster" and r.get("name") == name
                for r in i["metadata"].get("ownerReferences") or []
            )
        ]
        return found[0] if found and settled() else None

    found = ctx.wait(
        scenario, "ready", f"the cluster ready and an Ingress owned by RayCluster {name}", with_ingress, 180
    )
    ctx.progress(
        f"  [{scenario}] Ingress {found['metadata']['name']} (class {found['spec'].get('ingressClassName')})"
    )
    snapshots.append(ctx.snap(scenario, "ready", root, owners))
    return snapshots


FEATURE_SCENARIOS.update(
    {
        "multi-host": Scenario(multi_host, "RayCluster"),
        "raycluster-suspend": Scenario(raycluster_suspend, "RayCluster"),
        "workers-to-delete": Scenario(workers_to_delete, "RayCluster"),
        "head-pod-deleted": Scenario(head_pod_deleted, "RayCluster"),
        "owner-above-root": Scenario(owner_above_root, "RayCluster"),
        "rayjob-suspend": Scenario(rayjob_suspend, "RayJob"),
        "rayservice-replicas-only": Scenario(rayservice_replicas_only, "RayService", slow=True),
        "rayjob-delete-workers": Scenario(rayjob_delete_workers, "RayJob"),
        "rayservice-suspend": Scenario(rayservice_suspend, "RayService", slow=True),
        "rayjob-shutdown-after-finishes": Scenario(rayjob_shutdown_after_finishes, "RayJob"),
        "rayjob-cluster-selector": Scenario(rayjob_cluster_selector, "RayJob"),
        "upgrade-none": Scenario(upgrade_none, "RayService", slow=True),
        "rayjob-backoff-limit": Scenario(rayjob_backoff_limit, "RayJob"),
        "rayjob-active-deadline": Scenario(rayjob_active_deadline, "RayJob"),
        "raycluster-upgrade-recreate": Scenario(raycluster_upgrade_recreate, "RayCluster"),
        "extended-resources": Scenario(extended_resources, "RayCluster"),
        "batch-scheduler-volcano": Scenario(batch_scheduler_volcano, "RayCluster"),
        "batch-scheduler-yunikorn": Scenario(batch_scheduler_yunikorn, "RayCluster"),
        "batch-scheduler-kai": Scenario(batch_scheduler_kai, "RayCluster"),
        "batch-scheduler-scheduler-plugins": Scenario(batch_scheduler_scheduler_plugins, "RayCluster"),
        "raycronjob": Scenario(raycronjob, "RayCronJob", slow=True),
        "in-tree-autoscaling": Scenario(in_tree_autoscaling, "RayCluster"),
        "autoscaler-v2": Scenario(autoscaler_v2, "RayCluster"),
        "gcs-fault-tolerance": Scenario(gcs_fault_tolerance, "RayCluster"),
        "rayjob-redis-cleanup": Scenario(rayjob_redis_cleanup, "RayJob"),
        "gcs-ft-rayservice-upgrade": Scenario(gcs_ft_rayservice_upgrade, "RayService", slow=True),
        "rayjob-interactive": Scenario(rayjob_interactive, "RayJob"),
        "rayjob-sidecar": Scenario(rayjob_sidecar, "RayJob"),
        "managed-by": Scenario(managed_by, "RayJob"),
        "head-ingress": Scenario(head_ingress, "RayCluster"),
        "network-policy": Scenario(network_policy, "RayCluster"),
        "auth-options": Scenario(auth_options, "RayCluster"),
        "worker-group-labels-and-resources": Scenario(worker_group_labels, "RayCluster"),
        "rayservice-failed-upgrade": Scenario(rayservice_failed_upgrade, "RayService", slow=True),
        "rayservice-cluster-deletion-delay": Scenario(
            rayservice_cluster_deletion_delay, "RayService", slow=True
        ),
    }
)


# --- selection (--features) -------------------------------------------------------------------


@dataclass
class Selection:
    """What ``--features`` asks for at one KubeRay version: the scenarios to run, and a verdict for each
    selected feature this run cannot show (n/a: the version lacks it or its gate is off by default;
    unverified: no scenario drives it yet, with the inventory's reason)."""

    version: str
    features: tuple[inventory.Feature, ...] = ()
    everything: bool = False  # `all`: the default scenarios too
    batch_scheduler: str = ""  # the run's --batch-scheduler (the operator's, for every scenario)

    @property
    def selected(self) -> bool:
        return bool(self.features)

    def runnable(self, feature: inventory.Feature) -> bool:
        return (
            feature.scenario is not None
            and feature.active_in(self.version)
            and (feature.batch_scheduler or "") in ("", self.batch_scheduler)
            and not self._refused(feature)
        )

    def _refused(self, feature: inventory.Feature) -> bool:
        conflict = feature.not_with_batch_scheduler
        return conflict is not None and conflict.applies(self.batch_scheduler, self.version)

    @property
    def scenarios(self) -> list[str] | None:
        """Scenario names to run in order (None: the default set, as without --features)."""
        if not self.selected:
            return None
        names = default_scenarios(self.version) if self.everything else []
        for feature in self.features:
            if self.runnable(feature) and feature.scenario not in names:
                names.append(str(feature.scenario))
        return names

    def state(self, feature: inventory.Feature) -> tuple[Outcome | None, str]:
        if not feature.exists_in(self.version):
            return Outcome.NOT_APPLICABLE, (
                f"KubeRay {self.version} does not have {feature.what} (it exists in {', '.join(feature.versions)})"
            )
        if feature.gate is not None and not feature.active_in(self.version):
            return Outcome.NOT_APPLICABLE, (
                f"needs feature gate {feature.gate.name}, off in KubeRay {self.version}'s default flags"
            )
        if feature.not_with_batch_scheduler is not None and self._refused(feature):
            return Outcome.NOT_APPLICABLE, (
                f"not with --batch-scheduler {self.batch_scheduler} in KubeRay {self.version}: "
                f"{feature.not_with_batch_scheduler.why}"
            )
        if feature.scenario is None:
            return Outcome.UNVERIFIED, f"no scenario drives {feature.what} yet: {feature.reason}"
        if feature.batch_scheduler and feature.batch_scheduler != self.batch_scheduler:
            return Outcome.UNVERIFIED, (
                f"needs a run with --batch-scheduler {feature.batch_scheduler} (the operator's flag acts on "
                "every workload of the cluster, so it is a run's, not a scenario's)"
            )
        return None, f"driven by scenario {feature.scenario}"

    def verdicts(self, definitions: Sequence[Definition], verdicts: list[Verdict]) -> list[Verdict]:
        """``verdicts`` with a feature verdict per selected feature and definition of its kinds; a
        definition whose kind no selected scenario drives is n/a, not an ERROR."""
        registry = {**SCENARIOS, **FEATURE_SCENARIOS}
        driven = {registry[n].root_kind for n in self.scenarios or [] if n in registry}
        kept = [
            v
            if not (
                v.claim == "scenario"
                and v.phase == "live"
                and _kind_of(definitions, v.definition) not in driven
            )
            else replace(
                v,
                outcome=Outcome.NOT_APPLICABLE,
                message=f"{v.message} (not driven by the selected features)",
            )
            for v in verdicts
        ]
        for feature in self.features:
            outcome, message = self.state(feature)
            if outcome is None:
                continue
            for definition in definitions:
                if _kind_of(definitions, definition.name) in feature.kinds:
                    kept.append(
                        verdict_for(
                            definition, "feature", feature.name, f"feature/{feature.name}", outcome, message
                        )
                    )
        return kept

    def meta(self, seconds: dict[str, float]) -> dict[str, Any]:
        return {
            feature.name: {
                "scenario": feature.scenario,
                "state": (self.state(feature)[0] or "ran").__str__().lower(),
                "why": self.state(feature)[1],
                "seconds": round(seconds[feature.scenario], 1) if feature.scenario in seconds else None,
            }
            for feature in self.features
        }


def _kind_of(definitions: Sequence[Definition], name: str) -> str | None:
    for definition in definitions:
        if definition.name == name and definition.root.kind is not None:
            return definition.root.kind.kind
    return None


def selection(spec: str | None, version: str, batch_scheduler: str = "") -> Selection:
    """``--features`` for KubeRay ``version`` on a run whose operator has ``batch_scheduler``; unknown
    names exit 2 (before any cluster work)."""
    chosen = inventory.select(spec)
    return Selection(
        version, chosen, everything=(spec or "").strip() == "all", batch_scheduler=batch_scheduler
    )
