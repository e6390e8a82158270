"""RayCluster scenarios: a cluster scaled, suspended, healed, upgraded, scheduled, autoscaled."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

from conformance.backends.base import Capability
from conformance.live.scenarios.context import NO_RAY_LABEL, Context
from conformance.live.scenarios.gcs import (
    REDIS_ADDRESS,
    has_ft_finalizer,
    held,
    redis_cleanup_made,
    start_redis,
)
from conformance.live.scenarios.language import (
    LONG,
    Probe,
    Ref,
    Script,
    expect,
    kuberay_has,
    running,
    scenario,
    spec_suspend,
)
from conformance.live.scenarios.probes import RAYCLUSTER, cluster_state, gone, settled

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


# --- what the scenarios below are made of ------------------------------------------------------------

Pod = dict[str, Any]

# The labels KubeRay puts on the Pods of a multi-host worker group (multi-host-replica-labels).
REPLICA_NAME = "ray.io/worker-group-replica-name"
REPLICA_INDEX = "ray.io/worker-group-replica-index"
HOST_INDEX = "ray.io/replica-host-index"
# KubeRay versions whose RayCluster status counts a multi-host group's Pods as replicas, so that a cluster
# with numOfHosts > 1 never reaches state ready (seen: v1.3.2, readyWorkerReplicas 4 against
# desiredWorkerReplicas 2, session 8).
HOSTS_AS_REPLICAS = ("v1.3.2",)
RECREATE_HASH = "ray.io/upgrade-strategy-recreate-hash"
REVISION = "karta.conformance/revision"
# An extended resource advertised on every node by the backends (kind: a node status patch; local: kwok's nodes).
EXTENDED = "rdma/hca"
GROUP_LABEL = "karta.conformance/group-label"
# Two tasks of one CPU each, 40 s long: with the head at num-cpus 0 they can only run on workers, so
# Ray's autoscaler asks for two (the group's max), and they finish; the workers then idle out.
DEMAND = (
    "python",
    "-c",
    "import ray, time; ray.init(); "
    "task = ray.remote(num_cpus=1)(lambda: time.sleep(40)); ray.get([task.remote() for _ in range(2)])",
)
IDLE_SECONDS = 15


def cluster_manifest(
    s: Script, name: str, change: Callable[[dict[str, Any]], None] = lambda _: None, **group: Any
) -> dict[str, Any]:
    """``raycluster_manifest`` as ``name``, its first worker group updated with ``group``, then ``change``d."""
    manifest = raycluster_manifest(s, name)
    manifest["spec"]["workerGroupSpecs"][GROUP_OF_FIXTURE].update(group)
    change(manifest)
    return manifest


def first_group(manifest: dict[str, Any]) -> tuple[str, int]:
    """The name and the replicas of the manifest's first worker group."""
    group = manifest["spec"]["workerGroupSpecs"][GROUP_OF_FIXTURE]
    return str(group["groupName"]), int(group["replicas"])


def scale(s: Script, cluster: str, group: str, replicas: int, **more: Any) -> Callable[[], None]:
    """An action: worker group ``group`` patched to ``replicas`` (and ``more`` of its fields)."""
    return lambda: patch_group(s, cluster, group, {"replicas": replicas, **more})


def live_pods(ctx: Context, selector: str) -> list[Pod]:
    """The Pods matching ``selector`` not being deleted."""
    return [
        p
        for p in ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        if not p["metadata"].get("deletionTimestamp")
    ]


def uids(pods: Iterable[Pod]) -> set[str]:
    return {str(p["metadata"]["uid"]) for p in pods}


def owned_by(obj: dict[str, Any], cluster: str, *, controller: bool) -> bool:
    """Whether RayCluster ``cluster`` owns ``obj`` (as its controller, if ``controller``)."""
    return any(
        r.get("kind") == "RayCluster" and r.get("name") == cluster and (r.get("controller") or not controller)
        for r in obj["metadata"].get("ownerReferences") or []
    )


def hosts_counted(cluster: str, pods: int) -> Callable[[Context], bool]:
    """In place of the cluster's readiness where KubeRay never reports it (HOSTS_AS_REPLICAS): its status
    counts every worker Pod as a ready replica."""

    def check(ctx: Context) -> bool:
        status = ((ctx.get(*RAYCLUSTER, cluster) or {}).get("status")) or {}
        return bool(status.get("readyWorkerReplicas") == pods and status.get("state") != "ready")

    return check


def head_replaced(cluster: str, groups: dict[str, int], old_uid: str) -> Probe:
    """``settled``, with a head Pod other than the one of uid ``old_uid``."""
    ready = settled(cluster, groups)

    def check(ctx: Context) -> dict[str, Any] | None:
        found = ready.check(ctx)
        heads = live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head")
        return found if found and heads and old_uid not in uids(heads) else None

    return Probe("a new head Pod Running and the cluster ready", check)


def with_children(
    cluster: str, groups: dict[str, int], kind: tuple[str, str], at_least: int, what: str, *, controller: bool
) -> Probe:
    """``settled``, and at least ``at_least`` objects of ``kind`` owned by the RayCluster: those."""
    ready = settled(cluster, groups)

    def check(ctx: Context) -> list[dict[str, Any]] | None:
        found = [
            o
            for o in ctx.kube.list_objects(*kind, ctx.namespace)
            if owned_by(o, cluster, controller=controller)
        ]
        return found if len(found) >= at_least and ready.check(ctx) else None

    return Probe(what, check)


def token_secret(cluster: str, groups: dict[str, int]) -> Probe:
    """``settled``, and the Secret named after the RayCluster controlled by it: the Secret."""
    ready = settled(cluster, groups)

    def check(ctx: Context) -> dict[str, Any] | None:
        secret = ctx.get("v1", "Secret", cluster)
        controlled = secret is not None and owned_by(secret, cluster, controller=True)
        return secret if controlled and ready.check(ctx) else None

    return Probe(f"the cluster ready and its token Secret {cluster} controlled by it", check)


# --- multi-host


def replica_labels(s: Script, cluster: str, group: str, workers: list[Pod]) -> Callable[[object], None]:
    """A check: the group's worker Pods (kept in ``workers``), and a progress line on their replica labels."""

    def check(_: object) -> None:
        workers[:] = s.pods(f"ray.io/cluster={cluster},ray.io/group={group}")
        labelled = [p for p in workers if REPLICA_NAME in p["metadata"]["labels"]]
        names = sorted({p["metadata"]["labels"].get(REPLICA_NAME, "") for p in labelled})
        s.say(
            f"{len(labelled)}/{len(workers)} worker Pods carry {REPLICA_NAME} "
            f"(replicas {names}, indices {sorted({p['metadata']['labels'].get(REPLICA_INDEX, '-') for p in workers})}, "
            f"hosts {sorted({p['metadata']['labels'].get(HOST_INDEX, '-') for p in workers})})"
        )

    return check


@scenario(
    "multi-host",
    root="RayCluster",
    drives=["multi-host", "multi-host-replica-labels"],
)
def multi_host(s: Script) -> None:
    """A worker group with numOfHosts 2: created -> ready (replicas 2: 4 Pods) -> one Pod of a replica
    deleted, the replica healed -> scaled down to 1 replica (2 Pods)."""
    manifest = cluster_manifest(
        s, "multihost-raycluster", replicas=2, minReplicas=1, maxReplicas=3, numOfHosts=2
    )
    gname, _ = first_group(manifest)
    name = s.create(manifest).name
    owners = running(name)
    counts_hosts = s.version in HOSTS_AS_REPLICAS
    if counts_hosts:
        # KubeRay's own status never says ready: what the definitions must read is what it says
        owners = expect("initializing", owners=[name])
        s.say(
            f"KubeRay {s.version} counts a multi-host group's Pods as its ready "
            "replicas (readyWorkerReplicas 4 against desiredWorkerReplicas 2): the RayCluster never reaches state "
            "ready; its phases expect KubeRay's own status (state unset: initializing)"
        )

    def hosts(pods: int, what: str, without: str | None = None) -> Probe:
        ready = hosts_counted(name, pods) if counts_hosts else None
        return settled(name, {gname: pods}, without=without, ready=ready, what=what)

    workers: list[Pod] = []
    counted = ", KubeRay's status counting them as 4 ready replicas" if counts_hosts else ""
    s.phase(
        "ready",
        until=hosts(4, f"4 Running Pods in group {gname} (2 replicas x 2 hosts){counted}"),
        check=replica_labels(s, name, gname, workers),
        expect=owners,
    )
    victim = workers[0]["metadata"]["name"]
    s.phase(
        "worker-deleted-healed",
        do=lambda: s.delete(("v1", "Pod", victim)),
        until=hosts(4, f"Pod {victim} replaced, 4 Running again", without=victim),
        expect=owners,
    )
    s.phase(
        "scaled-down", do=scale(s, name, gname, 1), until=hosts(2, "1 replica: 2 Running Pods"), expect=owners
    )


# --- raycluster-suspend


def two_groups(s: Script) -> dict[str, Any]:
    """The fixture as suspend-raycluster, its first worker group and a second, ``extra``, of 1 worker each.

    One worker per group is enough to show a group's and the cluster's suspension (on real kubelets each
    Ray worker started, and started again on resume, costs a Ray start on a 2-core machine)."""
    manifest = cluster_manifest(s, "suspend-raycluster", replicas=1, minReplicas=1)
    second = copy.deepcopy(manifest["spec"]["workerGroupSpecs"][GROUP_OF_FIXTURE])
    second.update({"groupName": "extra", "replicas": 1, "minReplicas": 1, "maxReplicas": 2})
    manifest["spec"]["workerGroupSpecs"].append(second)
    return manifest


@scenario(
    "raycluster-suspend",
    root="RayCluster",
    drives=["worker-group-suspend", "raycluster-suspend"],
)
def raycluster_suspend(s: Script) -> None:
    """Two worker groups: ready -> one group suspended (its Pods deleted) -> the whole cluster suspended
    (no Pods, state suspended) -> both resumed -> ready again."""
    manifest = two_groups(s)
    gname, start = first_group(manifest)
    cluster = s.create(manifest)
    name = cluster.name
    both = {gname: start, "extra": 1}
    s.phase("ready", until=settled(name, both, what="both worker groups Running"), expect=running(name))

    # A worker group's own suspend is refused by KubeRay's validation unless the RayJobDeletionPolicy
    # gate is on (inventory entry worker-group-suspend): UNVERIFIED, with the reason, where it is off.
    groups_suspend = s.phase(
        "group-suspended",
        needs=[kuberay_has("worker-group-suspend")],
        do=lambda: patch_group(s, name, "extra", {"suspend": True}),
        until=settled(name, {gname: start, "extra": 0}, what="group extra without Pods"),
        expect=running(name),
    )
    s.phase(
        "suspended",
        do=lambda: s.patch(cluster, {"spec": {"suspend": True}}),
        until=cluster_state(name, "suspended", pods=False),
        expect=expect("suspended", owners=[name], made_by=spec_suspend("suspend")),
    )

    def resume() -> None:
        s.patch(cluster, {"spec": {"suspend": False}})
        if groups_suspend:
            patch_group(s, name, "extra", {"suspend": False})

    # Resumed by the root's spec.suspend (what a root component's resumeActions can say) and the
    # group's own flag (a worker group change, which no root action covers).
    s.phase(
        "resumed",
        do=resume,
        until=settled(name, both, what="both worker groups Running again"),
        expect=running(name, made_by=spec_suspend("resume")),
    )


# --- workers-to-delete, head-pod-deleted, owner-above-root


@scenario(
    "workers-to-delete",
    root="RayCluster",
    drives=["workers-to-delete"],
)
def workers_to_delete(s: Script) -> None:
    """ready -> replicas - 1 with one chosen worker in scaleStrategy.workersToDelete (what the autoscaler
    writes) -> that Pod is the one gone."""
    manifest = raycluster_manifest(s, "chosen-raycluster")
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready", until=settled(name, {gname: start}, what=f"{start} Running workers"), expect=running(name)
    )
    chosen = sorted(p["metadata"]["name"] for p in s.pods(f"ray.io/cluster={name},ray.io/group={gname}"))[-1]
    s.phase(
        "chosen-worker-deleted",
        do=scale(s, name, gname, start - 1, scaleStrategy={"workersToDelete": [chosen]}),
        until=settled(
            name, {gname: start - 1}, without=chosen, what=f"{chosen} deleted, {start - 1} workers left"
        ),
        expect=running(name),
    )


@scenario(
    "head-pod-deleted",
    root="RayCluster",
    drives=["head-pod-deleted"],
)
def head_pod_deleted(s: Script) -> None:
    """ready -> the head Pod deleted -> a new head Pod Running, the cluster ready."""
    manifest = raycluster_manifest(s, "headloss-raycluster")
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready", until=settled(name, {gname: start}, what="head and workers Running"), expect=running(name)
    )
    (head,) = s.pods(f"ray.io/cluster={name},ray.io/node-type=head")
    s.phase(
        "head-recreated",
        do=lambda: s.delete(("v1", "Pod", head["metadata"]["name"])),
        until=head_replaced(name, {gname: start}, head["metadata"]["uid"]),
        expect=running(name),
    )


def owned_by_wrapper(s: Script, name: str) -> dict[str, Any]:
    """The fixture as ``name``, controlled by a ConfigMap ``wrapper`` made first (standing in for a
    Kro-style instance)."""
    wrapper = s.make(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "wrapper"},
            "data": {"stands-in": "kro"},
        },
    )
    manifest = raycluster_manifest(s, name)
    manifest["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": wrapper["metadata"]["name"],
            "uid": wrapper["metadata"]["uid"],
            "controller": True,
        }
    ]
    return manifest


@scenario(
    "owner-above-root",
    root="RayCluster",
    drives=["owner-above-root"],
)
def owner_above_root(s: Script) -> None:
    """A RayCluster owned by a wrapper object, as a Kro-style ResourceGraphDefinition instance owns what
    it creates: created -> ready. A v1 ConfigMap stands in for the wrapper (what a consumer does depends
    only on the root having an owner, not on the owner's kind)."""
    manifest = owned_by_wrapper(s, "owned-raycluster")
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready", until=settled(name, {gname: start}, what="head and workers Running"), expect=running(name)
    )


# --- raycluster-upgrade-recreate


def head_hash(pods: Iterable[Pod]) -> str | None:
    """The Recreate hash annotation of the (first) head Pod among ``pods``."""
    heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
    return (heads[0]["metadata"].get("annotations") or {}).get(RECREATE_HASH) if heads else None


def scaled_in_place(cluster: str, group: str, workers: int, before: set[str]) -> Probe:
    """``settled`` at ``workers`` workers, every Pod of uid ``before`` still there."""
    ready = settled(cluster, {group: workers})

    def check(ctx: Context) -> dict[str, Any] | None:
        found = ready.check(ctx)
        return found if found and before <= uids(live_pods(ctx, f"ray.io/cluster={cluster}")) else None

    return Probe(f"{workers} workers, the Pods before all kept (replicas are not in the hash)", check)


def relabel_templates(s: Script, cluster: str) -> None:
    """Every pod template of the RayCluster labelled REVISION=2 (a change KubeRay's spec hash sees)."""
    current = s.get((*RAYCLUSTER, cluster)) or {}
    spec = copy.deepcopy(current.get("spec") or {})
    for template in [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]:
        template.setdefault("metadata", {}).setdefault("labels", {})[REVISION] = "2"
    s.patch(
        (*RAYCLUSTER, cluster),
        {"spec": {"headGroupSpec": spec["headGroupSpec"], "workerGroupSpecs": spec["workerGroupSpecs"]}},
    )


def recreated(cluster: str, group: str, workers: int, kept: set[str], old_hash: str) -> Probe:
    """``settled``, none of the Pods of uid ``kept`` left, every Pod labelled REVISION=2, the head's
    Recreate hash other than ``old_hash``."""
    ready = settled(cluster, {group: workers})

    def check(ctx: Context) -> dict[str, Any] | None:
        found = ready.check(ctx)
        if not found:
            return None
        now = live_pods(ctx, f"ray.io/cluster={cluster}")
        fresh = not kept & uids(now) and all(p["metadata"]["labels"].get(REVISION) == "2" for p in now)
        return found if fresh and head_hash(now) not in (None, old_hash) else None

    return Probe(f"every Pod made again with label {REVISION}=2 and a new {RECREATE_HASH} on the head", check)


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

    def recreate(manifest: dict[str, Any]) -> None:
        manifest["spec"]["upgradeStrategy"] = {"type": "Recreate"}

    manifest = cluster_manifest(s, "recreate-raycluster", recreate, replicas=1, minReplicas=1)
    gname, _ = first_group(manifest)
    name = s.create(manifest).name
    s.phase("ready", until=settled(name, {gname: 1}, what="head and 1 worker Running"), expect=running(name))
    before = s.pods(f"ray.io/cluster={name}")
    old_hash = head_hash(before)
    if not old_hash:
        raise s.fail("ready", f"the head Pod carries no {RECREATE_HASH} annotation")
    s.phase(
        "scaled-up",
        do=scale(s, name, gname, 2),
        until=scaled_in_place(name, gname, 2, uids(before)),
        expect=running(name),
    )
    kept = uids(s.pods(f"ray.io/cluster={name}"))
    s.phase(
        "template-changed",
        do=lambda: relabel_templates(s, name),
        until=recreated(name, gname, 2, kept, old_hash),
        expect=running(name),
        timeout=LONG,
    )


# --- extended-resources, network-policy, auth-options, worker-group-labels-and-resources, head-ingress


def rdma(manifest: dict[str, Any]) -> None:
    """One EXTENDED per worker of the first group (requests and limits)."""
    (container,) = manifest["spec"]["workerGroupSpecs"][GROUP_OF_FIXTURE]["template"]["spec"]["containers"]
    for side in ("requests", "limits"):
        container.setdefault("resources", {}).setdefault(side, {})[EXTENDED] = "1"


def given_extended(s: Script, cluster: str, group: str) -> Callable[[object], None]:
    """A check: every worker Pod has EXTENDED in its limits; a progress line on whether Ray was told."""

    def check(_: object) -> None:
        workers = s.pods(f"ray.io/cluster={cluster},ray.io/group={group}")
        for pod in workers:
            limits = ((pod["spec"]["containers"][0].get("resources") or {}).get("limits")) or {}
            if limits.get(EXTENDED) != "1":
                raise s.fail("ready", f"Pod {pod['metadata']['name']} lacks {EXTENDED}: {limits}")
        started = " ".join(str(a) for a in workers[0]["spec"]["containers"][0].get("args") or [])
        s.say(f"{EXTENDED} in the workers' ray start: {'yes' if EXTENDED in started else 'no'}")

    return check


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
    manifest = cluster_manifest(s, "rdma-raycluster", rdma, replicas=2, minReplicas=1)
    gname, _ = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready",
        until=settled(name, {gname: 2}, what=f"2 workers with {EXTENDED} Running"),
        check=given_extended(s, name, gname),
        expect=running(name),
    )
    s.phase(
        "scaled-down",
        do=scale(s, name, gname, 1),
        until=settled(name, {gname: 1}, what="1 worker Running"),
        expect=running(name),
    )


def deny_all_ingress(manifest: dict[str, Any]) -> None:
    manifest["spec"]["networkPolicy"] = {"mode": "DenyAllIngress"}


@scenario(
    "network-policy",
    root="RayCluster",
    drives=["network-policy"],
)
def network_policy(s: Script) -> None:
    """spec.networkPolicy (KubeRay v1.7.0, gate RayClusterNetworkPolicy, which the harness turns on): created
    -> ready (mode DenyAllIngress: a NetworkPolicy for the head and one per worker group, each controlled by
    the RayCluster, intra-cluster traffic allowed: children the definitions list, no Pod of their own)."""
    manifest = cluster_manifest(s, "netpol-raycluster", deny_all_ingress)
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready",
        until=with_children(
            name,
            {gname: start},
            ("networking.k8s.io/v1", "NetworkPolicy"),
            2,
            f"the cluster ready and a NetworkPolicy per group owned by {name}",
            controller=True,
        ),
        check=lambda found: s.say(f"NetworkPolicies {sorted(p['metadata']['name'] for p in found)}"),
        expect=running(name),
    )


def token_auth(manifest: dict[str, Any]) -> None:
    """authOptions mode token, and the rayVersion KubeRay's validation asks for with it."""
    manifest["spec"]["authOptions"] = {"mode": "token"}
    manifest["spec"]["rayVersion"] = "2.52.0"


def token_from_secret(s: Script, cluster: str) -> Callable[[object], None]:
    """A check: every Pod's Ray container has RAY_AUTH_TOKEN from Secret ``cluster``."""

    def check(_: object) -> None:
        for pod in s.pods(f"ray.io/cluster={cluster}"):
            env = {e["name"]: e for e in pod["spec"]["containers"][0].get("env") or []}
            source = ((env.get("RAY_AUTH_TOKEN") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            if source.get("name") != cluster:
                raise s.fail(
                    "ready",
                    f"Pod {pod['metadata']['name']}: RAY_AUTH_TOKEN {env.get('RAY_AUTH_TOKEN')} (want Secret {cluster})",
                )

    return check


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
    manifest = cluster_manifest(s, "auth-raycluster", token_auth)
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready",
        until=token_secret(name, {gname: start}),
        check=token_from_secret(s, name),
        expect=running(name),
    )


def group_labels_and_resources(s: Script, cluster: str) -> Callable[[object], None]:
    """A check: every worker Pod has the group's label and the group's resources in its ray start."""

    def check(_: object) -> None:
        for pod in s.pods(f"ray.io/cluster={cluster},ray.io/node-type=worker"):
            labels = pod["metadata"].get("labels") or {}
            container = pod["spec"]["containers"][0]
            command = " ".join([*(container.get("command") or []), *(container.get("args") or [])])
            if labels.get(GROUP_LABEL) != "from-group-spec" or "custom" not in command:
                raise s.fail(
                    "ready",
                    f"Pod {pod['metadata']['name']}: label {GROUP_LABEL}={labels.get(GROUP_LABEL)!r}, ray start "
                    f"{'with' if 'custom' in command else 'without'} the group's resources",
                )

    return check


@scenario(
    "worker-group-labels-and-resources",
    root="RayCluster",
    drives=["worker-group-labels-and-resources"],
)
def worker_group_labels(s: Script) -> None:
    """workerGroupSpecs[].labels and .resources (KubeRay v1.5.1+): created -> ready (the group's top-level
    labels merged into its Pods' labels, beside the template's, and into Ray's --labels; its resources into
    Ray's --resources): Pods carry a label their template does not have."""
    manifest = cluster_manifest(
        s, "labelled-raycluster", labels={GROUP_LABEL: "from-group-spec"}, resources={"custom": "2"}
    )
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready",
        until=settled(name, {gname: start}, what="head and workers Running"),
        check=group_labels_and_resources(s, name),
        expect=running(name),
    )


def with_ingress(manifest: dict[str, Any]) -> None:
    """headGroupSpec.enableIngress, with the ingress class KubeRay requires as the RayCluster's annotation."""
    manifest["metadata"].setdefault("annotations", {})["kubernetes.io/ingress.class"] = "nginx"
    manifest["spec"]["headGroupSpec"]["enableIngress"] = True


@scenario(
    "head-ingress",
    root="RayCluster",
    drives=["head-ingress"],
)
def head_ingress(s: Script) -> None:
    """headGroupSpec.enableIngress (with the ingress class KubeRay requires, as the RayCluster's annotation):
    created -> ready (an Ingress for the head Service, owned by the RayCluster: a child the definitions
    list, no Pod of its own)."""
    manifest = cluster_manifest(s, "ingress-raycluster", with_ingress)
    gname, start = first_group(manifest)
    name = s.create(manifest).name
    s.phase(
        "ready",
        until=with_children(
            name,
            {gname: start},
            ("networking.k8s.io/v1", "Ingress"),
            1,
            f"the cluster ready and an Ingress owned by RayCluster {name}",
            controller=False,
        ),
        check=lambda found: s.say(
            f"Ingress {found[0]['metadata']['name']} (class {found[0]['spec'].get('ingressClassName')})"
        ),
        expect=running(name),
    )


# --- gcs-fault-tolerance


def held_and_deleted(s: Script, cluster: Ref) -> None:
    """The RayCluster held by the harness's finalizer (taken off when the scenario ends), then deleted."""
    held(s, cluster.name)
    s.delete(cluster)


def workers_kept(s: Script, cluster: str, workers: set[str]) -> Callable[[object], None]:
    def check(_: object) -> None:
        kept = uids(s.pods(f"ray.io/cluster={cluster},ray.io/node-type=worker"))
        s.say(f"head recreated; worker Pods kept: {len(kept & workers)} of {len(workers)}")

    return check


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

    A Redis Deployment (the official redis image pinned in versions.yaml) and its Service ``redis`` beside
    it: on kind a real Redis that the real Ray head keeps its GCS state in; on the local backend a kwok Pod
    (its heads run no Ray there, and what is checked is what the operator makes)."""
    # Redis first, its wait part of the created phase (no snapshot of its own)
    start_redis(s)
    manifest = raycluster_manifest(s, "ft-raycluster")
    manifest["spec"]["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}
    gname, start = first_group(manifest)
    cluster = s.create(manifest)
    name = cluster.name
    s.phase(
        "ready",
        until=settled(name, {gname: start}, what="head and workers Running"),
        check=lambda _: has_ft_finalizer(s, name),
        expect=running(name),
    )
    (head,) = s.pods(f"ray.io/cluster={name},ray.io/node-type=head")
    workers = uids(s.pods(f"ray.io/cluster={name},ray.io/node-type=worker"))
    s.phase(
        "head-recreated",
        do=lambda: s.delete(("v1", "Pod", head["metadata"]["name"])),
        until=head_replaced(name, {gname: start}, head["metadata"]["uid"]),
        check=workers_kept(s, name, workers),
        expect=running(name),
    )
    # While its finalizers hold it, KubeRay leaves the RayCluster's status as it was (state ready): Karta
    # has no terminating status, and the definitions read what the status says.
    s.phase(
        "redis-cleanup",
        do=lambda: held_and_deleted(s, cluster),
        until=redis_cleanup_made(name),
        check=lambda job: s.say(f"redis-cleanup Job {job['metadata']['name']} (owned by {name})"),
        expect=expect("running", stable=False, owners=[name]),
    )


# --- in-tree-autoscaling, autoscaler-v2


def autoscaled_manifest(s: Script, v2: bool) -> dict[str, Any]:
    """The fixture as autoscaled-raycluster: Ray's autoscaler in the head (num-cpus 0), the first worker
    group at replicas 0, min 0, max 2 of one CPU each; with ``v2`` Ray's v2 autoscaler and the idle
    timeout on the group (which only v2 honours)."""
    manifest = cluster_manifest(s, "autoscaled-raycluster", replicas=0, minReplicas=0, maxReplicas=2)
    spec = manifest["spec"]
    spec["enableInTreeAutoscaling"] = True
    spec["autoscalerOptions"] = {"idleTimeoutSeconds": IDLE_SECONDS, "upscalingMode": "Default"}
    spec["headGroupSpec"]["rayStartParams"]["num-cpus"] = "0"
    group = spec["workerGroupSpecs"][GROUP_OF_FIXTURE]
    group["rayStartParams"]["num-cpus"] = "1"
    if v2:
        spec["autoscalerOptions"]["version"] = "v2"
        group["idleTimeoutSeconds"] = IDLE_SECONDS
    return manifest


def note_workers_to_delete(groups: list[dict[str, Any]], named: list[str]) -> None:
    """Add to ``named`` each Pod a worker group's scaleStrategy.workersToDelete names, not there yet."""
    for g in groups:
        for pod in (g.get("scaleStrategy") or {}).get("workersToDelete") or []:
            if pod not in named:
                named.append(pod)


def autoscaler_wrote(
    cluster: str, group: str, replicas: int, what: str, named: list[str] | None = None
) -> Probe:
    """The RayCluster's spec says ``replicas`` for ``group`` (what the autoscaler wrote), and it is
    ``settled`` so. ``named``: every Pod a worker group's workersToDelete has named, gathered as it polls."""
    ready = settled(cluster, {group: replicas})

    def check(ctx: Context) -> dict[str, Any] | None:
        groups = ((ctx.get(*RAYCLUSTER, cluster) or {}).get("spec") or {}).get("workerGroupSpecs") or []
        if named is not None:
            note_workers_to_delete(groups, named)
        wrote = int(next((g.get("replicas") or 0 for g in groups if g.get("groupName") == group), -1))
        return ready.check(ctx) if wrote == replicas else None

    return Probe(what, check)


def with_autoscaler(s: Script, cluster: str, heads: list[Pod]) -> Callable[[object], None]:
    """A check: the head Pod (kept in ``heads``) has the autoscaler's container, else ready fails."""

    def check(_: object) -> None:
        (head,) = s.pods(f"ray.io/cluster={cluster},ray.io/node-type=head")
        containers = [c["name"] for c in head["spec"]["containers"]]
        if "autoscaler" not in containers:
            raise s.fail("ready", f"no autoscaler container in the head Pod: {containers}")
        heads.append(head)

    return check


def submit_demand(s: Script, head: Pod) -> None:
    """DEMAND submitted as a Ray job to the head (its Ray container), not waited for."""
    container = head["spec"]["containers"][0]["name"]
    printed = s.ctx.provider.ray_submit(s.ctx.namespace, head["metadata"]["name"], container, DEMAND)
    submitted = re.findall(r"raysubmit_\w+", printed)
    s.say(f"demand submitted as Ray job {submitted[0] if submitted else printed.strip()[-200:]!r}")


def autoscaling(s: Script, v2: bool) -> None:
    """In-tree autoscaling with Ray's autoscaler (the sidecar KubeRay puts in the head Pod) scaling a
    worker group on real demand: created -> ready (replicas 0, min 0, max 2: the head alone, num-cpus 0)
    -> scaled-up (a Ray job of two one-CPU tasks: the autoscaler wrote replicas 2 on the RayCluster, two
    worker Pods run) -> scaled-down (the job done, idleTimeoutSeconds later the autoscaler wrote replicas
    0 and named the idle workers in workersToDelete; KubeRay deleted them). Where the worker Pods run no
    Ray (the local backend), the phases are UNVERIFIED with the reason."""
    if not s.able(Capability.RAY_NODES, phases=["created", "ready", "scaled-up", "scaled-down"]):
        return
    manifest = autoscaled_manifest(s, v2)
    gname, _ = first_group(manifest)
    name = s.create(manifest).name
    heads: list[Pod] = []
    s.phase(
        "ready",
        until=settled(name, {gname: 0}, what="the head Running with its autoscaler, no worker"),
        check=with_autoscaler(s, name, heads),
        expect=running(name),
        timeout=LONG,
    )
    s.phase(
        "scaled-up",
        do=lambda: submit_demand(s, heads[0]),
        until=autoscaler_wrote(name, gname, 2, "the autoscaler's replicas 2 and two worker Pods Running"),
        expect=running(name),
        timeout=LONG,
    )
    deleted: list[str] = []
    idle = f"the job done and, {IDLE_SECONDS} s idle later, the autoscaler's replicas 0 and no worker Pod"
    s.phase(
        "scaled-down",
        until=autoscaler_wrote(name, gname, 0, idle, named=deleted),
        check=lambda _: s.say(f"the autoscaler named {deleted or 'no Pod'} in workersToDelete"),
        expect=running(name),
        timeout=LONG,  # the job's 40 s, the idle timeout, then the scale-down
    )


@scenario(
    "in-tree-autoscaling",
    root="RayCluster",
    drives=["in-tree-autoscaling", "idle-timeout"],
)
def in_tree_autoscaling(s: Script) -> None:
    """Ray's default (v1) autoscaler: ``autoscaling``."""
    autoscaling(s, v2=False)


@scenario(
    "autoscaler-v2",
    root="RayCluster",
    drives=["autoscaler-v2"],
)
def autoscaler_v2(s: Script) -> None:
    """Ray's v2 autoscaler (``autoscalerOptions.version: v2``, the idle timeout on the worker group, which
    only v2 honours): ``autoscaling``."""
    autoscaling(s, v2=True)
