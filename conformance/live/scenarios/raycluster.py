"""RayCluster scenarios: a cluster scaled, suspended, healed, upgraded, scheduled, autoscaled."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from conformance import inventory
from conformance.live.scenarios.context import (
    NO_RAY_LABEL,
    ScenarioFailed,
)
from conformance.live.scenarios.language import Script, running, scenario
from conformance.live.scenarios.legacy import (
    EXTENDED,
    FT_FINALIZER,
    GROUP_LABEL,
    HOST_INDEX,
    HOSTS_AS_REPLICAS,
    RECREATE_HASH,
    REDIS_ADDRESS,
    REPLICA_INDEX,
    REPLICA_NAME,
    REVISION,
    _autoscaling,
    _hosts_counted,
    _live_pods,
    _patch_group,
    _raycluster,
    _redis_cleanup,
    _scaled_down,
    _settled,
    _spec_suspend,
    _start_redis,
    _started_raycluster,
)
from conformance.live.scenarios.probes import RAYCLUSTER, gone, settled
from conformance.snapshot import Expectation

GROUP_OF_FIXTURE = 0  # the fixture's first worker group: the one the scenarios scale


def raycluster_manifest(s: Script, name: str | None = None) -> dict[str, Any]:
    """The RayCluster fixture (renamed to ``name``), with no Ray process in its Pods on the local backend
    (a RayCluster needs none to be proved)."""
    manifest = s.manifest("RayCluster")
    if name is not None:
        manifest["metadata"]["name"] = name
    for template in [manifest["spec"]["headGroupSpec"]["template"]] + [
        g["template"] for g in manifest["spec"]["workerGroupSpecs"]
    ]:
        template["metadata"].setdefault("labels", {})[NO_RAY_LABEL] = "true"
    return manifest


def patch_group(s: Script, cluster: str, group: str, change: dict[str, Any]) -> None:
    """Merge ``change`` into one worker group (workerGroupSpecs is a list: patched whole)."""
    current = s.get((*RAYCLUSTER, cluster))
    if current is None:
        raise s.fail("patch", f"RayCluster {cluster} is gone")
    groups = copy.deepcopy(current["spec"]["workerGroupSpecs"])
    for item in groups:
        if item["groupName"] == group:
            item.update(change)
    s.patch((*RAYCLUSTER, cluster), {"spec": {"workerGroupSpecs": groups}})


@scenario("raycluster", root="RayCluster", default=True)
def raycluster(s: Script) -> None:
    """create -> ready -> a worker group scaled up -> down -> deleted (its Pods and Services collected)."""
    manifest = raycluster_manifest(s)
    group = manifest["spec"]["workerGroupSpecs"][GROUP_OF_FIXTURE]
    name, start = group["groupName"], int(group["replicas"])
    cluster = s.create(manifest)

    def scale(replicas: int) -> Callable[[], None]:
        return lambda: patch_group(s, cluster.name, name, {"replicas": replicas})

    for phase, replicas in (("ready", start), ("scaled-up", start + 1), ("scaled-down", max(start - 1, 1))):
        s.phase(
            phase,
            do=None if phase == "ready" else scale(replicas),
            until=settled(cluster.name, {name: replicas}),
            expect=running(cluster.name),
            # real Ray in every Pod: each worker's raylet joined its head (Running and Ready say less);
            # not after the scale-down, where the GCS notices a killed raylet only after its health checks
            joined=cluster.name if phase != "scaled-down" else None,
        )
    s.phase("deleted", do=lambda: s.delete(cluster), until=gone(f"ray.io/cluster={cluster.name}"))


# --- scenarios not yet written in the phase language ---------------------------------------------


@scenario(
    "multi-host",
    root="RayCluster",
    drives=["multi-host", "multi-host-replica-labels"],
)
def multi_host(s: Script) -> None:
    """A worker group with numOfHosts 2: created -> ready (replicas 2: 4 Pods) -> one Pod of a replica
    deleted, the replica healed -> scaled down to 1 replica (2 Pods)."""
    ctx = s.ctx
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


@scenario(
    "raycluster-suspend",
    root="RayCluster",
    drives=["worker-group-suspend", "raycluster-suspend"],
)
def raycluster_suspend(s: Script) -> None:
    """Two worker groups: ready -> one group suspended (its Pods deleted) -> the whole cluster suspended
    (no Pods, state suspended) -> both resumed -> ready again."""
    ctx = s.ctx
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


@scenario(
    "workers-to-delete",
    root="RayCluster",
    drives=["workers-to-delete"],
)
def workers_to_delete(s: Script) -> None:
    """ready -> replicas - 1 with one chosen worker in scaleStrategy.workersToDelete (what the autoscaler
    writes) -> that Pod is the one gone."""
    ctx = s.ctx
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


@scenario(
    "head-pod-deleted",
    root="RayCluster",
    drives=["head-pod-deleted"],
)
def head_pod_deleted(s: Script) -> None:
    """ready -> the head Pod deleted -> a new head Pod Running, the cluster ready."""
    ctx = s.ctx
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


@scenario(
    "owner-above-root",
    root="RayCluster",
    drives=["owner-above-root"],
)
def owner_above_root(s: Script) -> None:
    """A RayCluster owned by a wrapper object, as a Kro-style ResourceGraphDefinition instance owns what
    it creates: created -> ready. A v1 ConfigMap stands in for the wrapper (what a consumer does depends
    only on the root having an owner, not on the owner's kind)."""
    ctx = s.ctx
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


@scenario(
    "raycluster-upgrade-recreate",
    root="RayCluster",
    drives=["raycluster-upgrade-recreate"],
)
def raycluster_upgrade_recreate(s: Script) -> None:
    """upgradeStrategy Recreate (v1.6.2+): ready -> scaled-up (a replicas-only change: KubeRay's spec hash
    leaves replicas out, so no Pod is recreated, one worker is added) -> template-changed (a label added
    to every pod template: every Pod deleted and made again from the new templates, the head's hash
    annotation changed)."""
    ctx = s.ctx
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


@scenario(
    "extended-resources",
    root="RayCluster",
    drives=["extended-resources"],
)
def extended_resources(s: Script) -> None:
    """A worker group asking for an extended resource other than GPUs (one rdma/hca per worker): ready
    (both workers placed on nodes that advertise it) -> scaled-down (1 worker). KubeRay hands Ray only
    the accelerators it knows (GPUs, TPUs, Neuron cores): the progress line says whether rdma/hca
    reached the workers' ray start."""
    ctx = s.ctx
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


@scenario(
    "network-policy",
    root="RayCluster",
    drives=["network-policy"],
)
def network_policy(s: Script) -> None:
    """spec.networkPolicy (KubeRay v1.7.0, gate RayClusterNetworkPolicy, which the harness turns on): created
    -> ready (mode DenyAllIngress: a NetworkPolicy for the head and one per worker group, each controlled by
    the RayCluster, intra-cluster traffic allowed: children the definitions list, no Pod of their own)."""
    ctx = s.ctx
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


@scenario(
    "auth-options",
    root="RayCluster",
    drives=["auth-options"],
)
def auth_options(s: Script) -> None:
    """spec.authOptions mode token (KubeRay v1.5.1+; its validation asks for rayVersion 2.52.0 or later,
    set so here): created -> ready (a Secret named after the cluster and controlled by it holds the token;
    every Ray container gets it as RAY_AUTH_TOKEN from that Secret: a child the definitions list, the Pods'
    env not in their templates)."""
    ctx = s.ctx
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


@scenario(
    "worker-group-labels-and-resources",
    root="RayCluster",
    drives=["worker-group-labels-and-resources"],
)
def worker_group_labels(s: Script) -> None:
    """workerGroupSpecs[].labels and .resources (KubeRay v1.5.1+): created -> ready (the group's top-level
    labels merged into its Pods' labels, beside the template's, and into Ray's --labels; its resources into
    Ray's --resources): Pods carry a label their template does not have."""
    ctx = s.ctx
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


@scenario(
    "gcs-fault-tolerance",
    root="RayCluster",
    drives=["gcs-fault-tolerance"],
)
def gcs_fault_tolerance(s: Script) -> None:
    """GCS fault tolerance (spec.gcsFaultToleranceOptions): ready (KubeRay's finalizer on the RayCluster)
    -> head-recreated (the head Pod deleted, a new one made, the workers kept) -> redis-cleanup (the
    RayCluster deleted: KubeRay deletes its Ray Pods and, behind its finalizer, makes a batch Job owned by
    the RayCluster whose Pod is built from the head Pod, labelled ray.io/node-type=redis-cleanup; held
    here by the harness's finalizer until snapshotted).

    A Redis Pod and Service ``redis`` beside it (the Ray image has Debian's redis-server): on kind a real
    Redis that the real Ray head keeps its GCS state in; on the local backend a kwok Pod (its heads run
    no Ray there, and what is checked is what the operator makes)."""
    ctx = s.ctx
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


@scenario(
    "in-tree-autoscaling",
    root="RayCluster",
    drives=["in-tree-autoscaling", "idle-timeout"],
)
def in_tree_autoscaling(s: Script) -> None:
    """Ray's default (v1) autoscaler: ``_autoscaling``."""
    ctx = s.ctx
    _autoscaling(ctx, "in-tree-autoscaling", v2=False)


@scenario(
    "autoscaler-v2",
    root="RayCluster",
    drives=["autoscaler-v2"],
)
def autoscaler_v2(s: Script) -> None:
    """Ray's v2 autoscaler (``autoscalerOptions.version: v2``, the idle timeout on the worker group, which
    only v2 honours): ``_autoscaling``."""
    ctx = s.ctx
    _autoscaling(ctx, "autoscaler-v2", v2=True)


@scenario(
    "head-ingress",
    root="RayCluster",
    drives=["head-ingress"],
)
def head_ingress(s: Script) -> None:
    """headGroupSpec.enableIngress (with the ingress class KubeRay requires, as the RayCluster's annotation):
    created -> ready (an Ingress for the head Service, owned by the RayCluster: a child the definitions
    list, no Pod of its own)."""
    ctx = s.ctx
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
