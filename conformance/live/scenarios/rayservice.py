"""RayService scenarios: a Serve application served, upgraded with zero downtime, suspended, failed."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from conformance import fixtures
from conformance.backends import gateway_api
from conformance.backends.base import Capability
from conformance.k8s.client import describe_error
from conformance.kuberay import (
    active_cluster,
    app_statuses,
    condition,
    condition_true,
    controlled_by,
    gateway_name,
    gateway_programmed,
    httproute_name,
    pending_cluster,
    rayservice_ready,
    route_attached,
    route_weights,
    serve_endpoints_dropped,
    serve_service,
)
from conformance.live.scenarios.context import Context, pod_ready
from conformance.live.scenarios.gcs import (
    HOLD,
    REDIS_ADDRESS,
    has_ft_finalizer,
    held,
    hold,
    redis_cleanup_made,
    start_redis,
)
from conformance.live.scenarios.language import (
    LONG,
    ClusterHas,
    Probe,
    Ref,
    Script,
    expect,
    kuberay_has,
    running,
    scenario,
    spec_suspend,
)
from conformance.live.scenarios.probes import RAYCLUSTER, RAYSERVICE, holds, serving, settled
from conformance.model import kuberay_states
from conformance.model.kuberay_states import SERVING, Traffic
from conformance.snapshot import Expectation

# --- manifests and actions ------------------------------------------------------------------------


def rayservice_manifest(s: Script, change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The RayService fixture, ``change`` applied to it."""
    manifest = s.manifest("RayService")
    if change is not None:
        change(manifest)
    return manifest


def with_spec(**spec: Any) -> Callable[[dict[str, Any]], None]:
    """A change of the RayService fixture: ``spec`` merged into its spec."""

    def change(manifest: dict[str, Any]) -> None:
        manifest["spec"].update(spec)

    return change


def gcs_ft(manifest: dict[str, Any]) -> None:
    """A change of the RayService fixture: its clusters with GCS fault tolerance (the Redis of the namespace)."""
    manifest["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}


def upgraded(s: Script, service: Ref, **spec: Any) -> None:
    """The fixture's upgrade patch applied (``spec`` merged into its spec): a new cluster spec, so KubeRay
    makes a pending cluster."""
    patch = fixtures.load_patch("rayservice-upgrade")
    patch["spec"].update(spec)
    s.patch(service, patch)


def one_more_replica(service: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The RayService's first worker group with one replica more, nothing else: ``group=replicas``, the
    patch (workerGroupSpecs is a list: patched whole)."""
    groups = copy.deepcopy(service["spec"]["rayClusterConfig"]["workerGroupSpecs"])
    group = groups[0]
    group["replicas"] = int(group.get("replicas") or 0) + 1
    patch = {"spec": {"rayClusterConfig": {"workerGroupSpecs": groups}}}
    return f"{group['groupName']}={group['replicas']}", patch


def said_conditions(current: dict[str, Any] | None, *types: str) -> str:
    """``Type=status/reason`` of each of the conditions ``types``, for a progress line."""
    return ", ".join(
        f"{t}={(condition(current, t) or {}).get('status')}/{(condition(current, t) or {}).get('reason')}"
        for t in types
    )


def observed(current: dict[str, Any]) -> bool:
    """The operator has seen the RayService's newest generation."""
    return bool(
        (current.get("status") or {}).get("observedGeneration") == current["metadata"].get("generation")
    )


def own_replicas(ctx: Context, cluster: str) -> dict[str, int]:
    """Each worker group of RayCluster ``cluster`` with the replicas of its own spec."""
    found = ctx.get(*RAYCLUSTER, cluster) or {}
    return {
        g["groupName"]: int(g.get("replicas") or 0)
        for g in (found.get("spec") or {}).get("workerGroupSpecs") or []
    }


# --- probes ---------------------------------------------------------------------------------------


def pending_up(service: str, first: str) -> Probe:
    """The upgrade's pending RayCluster up beside ``first``: its Pods running, its head Ready."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        pending = pending_cluster(current)
        fresh = pending and pending != first and condition_true(current, "UpgradeInProgress")
        return current if fresh and ctx.cluster_up(pending) else None

    return Probe(
        "the pending RayCluster up: its Pods running, its head Ready (UpgradeInProgress=True)", check
    )


def promoted(service: str, first: str, pending: str = "") -> Probe:
    """The pending cluster (``pending``, or whichever) promoted, serving, no upgrade in progress."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        active = active_cluster(current)
        done = (
            active not in ("", first)
            and active == (pending or active)
            and not pending_cluster(current)
            and not condition_true(current, "UpgradeInProgress")
            and rayservice_ready(current)
        )
        return current if done else None

    return Probe("the pending cluster promoted and serving", check)


def serving_on_new(service: str, first: str, what: str, *, new: str = "", old_kept: bool = False) -> Probe:
    """RayService ``service`` serving (probe ``serving``) on a cluster other than ``first`` (``new``, if
    given), none pending, and if ``old_kept`` RayCluster ``first`` still there: the RayService."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = serving(service).check(ctx)
        active = active_cluster(current)
        moved = current is not None and active not in ("", first) and active == (new or active)
        if not moved or pending_cluster(current):
            return None
        return current if not old_kept or ctx.get(*RAYCLUSTER, first) is not None else None

    return Probe(what, check)


def pod_replaced(service: str, pending: str, victim: str, pods: int) -> Probe:
    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        names = {p["metadata"]["name"] for p in ctx.ray_pods(pending)[0] + ctx.ray_pods(pending)[1]}
        ok = pending_cluster(current) == pending and victim not in names and ctx.cluster_up(pending)
        return current if ok and len(names) == pods else None

    return Probe(f"the pending cluster to replace the deleted Pod {victim}", check)


def endpoints_dropped(service: str) -> Probe:
    return holds(
        "Ready=False/ZeroServeEndpoints (no ready Pod behind the serve Service)",
        lambda ctx: (lambda current: current if serve_endpoints_dropped(current) else None)(
            ctx.get(*RAYSERVICE, service)
        ),
    )


def endpoints_restored(service: str, active: str) -> Probe:
    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        heads, workers = ctx.ray_pods(active)
        serving_pods = (
            len(heads) == 1
            and heads[0]["metadata"]["labels"].get("ray.io/serve") == "true"
            and all(pod_ready(p) for p in [*heads, *workers])
        )
        up = serving_pods and rayservice_ready(current) and active_cluster(current) == active
        return current if up and ctx.cluster_ready(active) else None

    return Probe(
        "Ready=True again: the head back in the serve Service, every Pod Ready, the Serve app RUNNING, "
        "the cluster ready",
        check,
    )


def old_deleted(service: str, first: str, what: str = "") -> Probe:
    """The RayCluster ``first`` and its Pods gone, the RayService serving."""

    def check(ctx: Context) -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={first}")
        found = serving(service).check(ctx)
        return found if ctx.get(*RAYCLUSTER, first) is None and not pods else None

    return Probe(what or f"the old cluster {first} and its Pods deleted, the RayService serving", check)


def app_unhealthy(service: str) -> Probe:
    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        return current if "UNHEALTHY" in app_statuses(current).values() else None

    return Probe("the Serve app to turn UNHEALTHY", check)


def replicas_reconciled(service: str, first: str) -> Probe:
    """A replicas-only change seen: RayService ``service`` serving on ``first``, none pending, its new
    generation observed, RayCluster ``first`` settled on its own spec (what it has: ``{"cluster": ...}``)."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = serving(service).check(ctx)
        if current is None or active_cluster(current) != first or pending_cluster(current):
            return None
        if not observed(current):
            return None
        own = own_replicas(ctx, first)
        return {"cluster": own} if settled(first, own).check(ctx) else None

    return Probe(f"the new generation reconciled, cluster {first} settled on its own spec", check)


def generation_observed(service: str) -> Probe:
    """RayService ``service`` serving, none pending, its new generation observed: the RayService."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = serving(service).check(ctx)
        if current is None or pending_cluster(current):
            return None
        return current if observed(current) else None

    return Probe("the new generation observed, the cluster serving", check)


def app_deploy_failed(service: str, first: str) -> Probe:
    """A pending cluster up, its Serve app DEPLOY_FAILED, ``first`` still active and Ready: the RayService."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        pending = pending_cluster(current)
        apps = app_statuses(current, "pendingServiceStatus")
        # Ready=True and still the old cluster active (KubeRay v1.6.2 was seen to empty the active
        # cluster's applicationStatuses meanwhile: rayservice_ready would never hold)
        still = active_cluster(current) == first and condition_true(current, "Ready")
        up = bool(pending) and pending != first and ctx.cluster_up(pending)
        return current if still and up and apps and all(a == "DEPLOY_FAILED" for a in apps.values()) else None

    return Probe(f"a pending cluster up with its app DEPLOY_FAILED, {first} still active and serving", check)


def serving_unsuspended(service: str, not_on: str = "") -> Probe:
    """RayService ``service`` Ready, its app RUNNING, on a ready cluster (other than ``not_on``), not
    Suspended: the RayService."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        active = active_cluster(current)
        ok = rayservice_ready(current) and active != not_on and ctx.cluster_ready(active)
        return current if ok and not condition_true(current, "Suspended") else None

    if not not_on:
        return Probe("Ready=True, the Serve app RUNNING, the cluster ready", check)
    return Probe(f"Ready=True again on a new RayCluster (not {not_on}), the Serve app RUNNING", check)


def suspending(service: str, cluster: str) -> Probe:
    """Suspending=True, RayCluster ``cluster`` being deleted (held by HOLD): the RayService."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        found = ctx.get(*RAYCLUSTER, cluster) or {}
        deleting = bool((found.get("metadata") or {}).get("deletionTimestamp"))
        return current if condition_true(current, "Suspending") and deleting else None

    return Probe(f"Suspending=True and RayCluster {cluster} being deleted (held by {HOLD})", check)


def suspended(service: str, cluster: str) -> Probe:
    """Suspended=True, no RayCluster of the RayService and no Pod of ``cluster``: the RayService."""
    mine = f"ray.io/originated-from-cr-name={service},ray.io/originated-from-crd=RayService"

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        clusters = ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace, label_selector=mine)
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        return current if condition_true(current, "Suspended") and not clusters and not pods else None

    return Probe("Suspended=True, no RayCluster and no Pod of it", check)


# --- phases shared by the scenarios ---------------------------------------------------------------


def ready(s: Script, service: Ref, until: Probe | None = None) -> dict[str, Any]:
    """The ``ready`` phase: RayService ``service`` serving (probe ``serving``, or ``until``); the
    RayService then."""
    found: dict[str, Any] = s.phase(
        "ready",
        until=until or serving(service.name),
        expect=lambda found: running(active_cluster(found)),
        timeout=LONG,
    )
    return found


def upgrade_with_faults(s: Script, service: Ref, first: str) -> str:
    """The upgrade applied. Where the gate holds new heads: the pending phase held (upgrade-pending), the
    operator restarted and a pending worker Pod deleted meanwhile (upgrade-pending-recovered), then the
    gate released. The pending cluster ("" without the gate: the upgrade runs straight to promotion)."""
    if not s.able(Capability.GATE, phases=["upgrade-pending", "upgrade-pending-recovered"]):
        upgraded(s, service)
        return ""
    s.ctx.provider.hold_new_heads(s.ctx.namespace)
    s.finally_(lambda: s.ctx.provider.release_heads(s.ctx.namespace))
    during = s.phase(
        "upgrade-pending",
        do=lambda: upgraded(s, service),
        until=pending_up(service.name, first),
        expect=lambda found: running(pending_cluster(found)),
        timeout=LONG,
    )
    pending = pending_cluster(during)
    workers = s.pods(f"ray.io/cluster={pending},ray.io/node-type=worker")
    victim = workers[0]["metadata"]["name"]

    def faults() -> None:  # the operator restarts (alone: Context.restart_operator), a Pod is deleted
        s.ctx.restart_operator()
        s.delete(("v1", "Pod", victim))

    s.phase(
        "upgrade-pending-recovered",
        needs=[Capability.RESTART_OPERATOR],
        do=faults,
        until=pod_replaced(service.name, pending, victim, len(workers) + 1),
        expect=running(pending),
    )
    s.ctx.provider.release_heads(s.ctx.namespace)
    return pending


SERVE_DROPPED_PHASES = ("serve-endpoints-dropped", "serve-endpoints-restored")


def serve_endpoints_dropped_and_restored(s: Script, service: Ref, active: str) -> None:
    """Where KubeRay has the condition and the backend can: every serve endpoint dropped (degraded),
    then restored (running)."""
    if not s.able(kuberay_has("zero-serve-endpoints"), Capability.SERVE_UNREADY, phases=SERVE_DROPPED_PHASES):
        return
    s.finally_(lambda: s.ctx.provider.set_serve_unready(s.ctx.namespace, False))
    s.phase(
        "serve-endpoints-dropped",
        do=lambda: s.ctx.provider.set_serve_unready(s.ctx.namespace, True),
        until=endpoints_dropped(service.name),
        expect=expect("degraded", owners=[active]),
    )
    s.phase(
        "serve-endpoints-restored",
        do=lambda: s.ctx.provider.set_serve_unready(s.ctx.namespace, False),
        until=endpoints_restored(service.name, active),
        expect=running(active),
    )


def app_made_unhealthy(s: Script, service: Ref, active: str) -> None:
    """Where the backend can: the Serve app on the head of ``active`` made UNHEALTHY (degraded)."""
    if not s.able(Capability.APP_UNHEALTHY, phases=["app-unhealthy"]):
        return
    (head,) = s.pods(f"ray.io/cluster={active},ray.io/node-type=head")

    def unhealthy(on: bool) -> None:
        s.ctx.provider.set_app_unhealthy(s.ctx.namespace, head["metadata"]["name"], on)

    s.finally_(lambda: unhealthy(False))
    # Ready stays True (serve endpoints remain) while the app is UNHEALTHY: it serves, degraded
    # (KubeRay's model, conformance/model: rayservice/ready-degraded), not failed
    s.phase(
        "app-unhealthy",
        do=lambda: unhealthy(True),
        until=app_unhealthy(service.name),
        expect=expect("degraded", owners=[active]),
    )


# --- the scenarios --------------------------------------------------------------------------------


@scenario(
    "rayservice",
    root="RayService",
    drives=[
        "upgrade-new-cluster",
        "zero-serve-endpoints",
        "gpu-resources",
        "worker-pod-deleted",
        "operator-restarted",
    ],
    default=True,
    slow=True,
)
def rayservice(s: Script) -> None:
    """create -> Ready -> upgrade applied, pending phase held by the gate (faults: the operator restarts,
    a pending Pod is deleted) -> released -> promoted (the old cluster still there: KubeRay deletes it
    60 s later) -> every serve endpoint dropped (degraded) -> restored -> the old cluster and its Pods
    gone -> the app made UNHEALTHY.

    The serve-endpoint phases run during KubeRay's deletion delay rather than after it: the wait for
    the old cluster's deletion overlaps them instead of adding 60 s to the slowest scenario. Without
    the gate the upgrade runs straight to promotion."""
    service = s.create(rayservice_manifest(s), neighbour=True)
    first = active_cluster(ready(s, service))
    pending = upgrade_with_faults(s, service, first)
    final = s.phase(
        "promoted",
        until=promoted(service.name, first, pending),
        expect=lambda found: running(active_cluster(found)),
        timeout=LONG,
    )
    active = active_cluster(final)
    serve_endpoints_dropped_and_restored(s, service, active)
    s.phase("old-deleted", until=old_deleted(service.name, first), expect=running(active))
    app_made_unhealthy(s, service, active)


@scenario(
    "rayservice-replicas-only",
    root="RayService",
    drives=["rayservice-replicas-only"],
    slow=True,
)
def rayservice_replicas_only(s: Script) -> None:
    """Ready -> a worker group's replicas changed, nothing else -> the operator has seen the new
    generation: the same active RayCluster, no pending one, its Pods settled on its own spec.

    KubeRay (v1.3.2 to v1.6.2, ``shouldUpdateCluster``) compares the RayService's cluster spec with the
    RayCluster by a hash without replicas, so a replicas-only change makes no new cluster and does not
    reach the RayCluster either (replicas belong to the autoscaler); the scenario records which it was."""
    service = s.create(rayservice_manifest(s), neighbour=True)
    found = ready(s, service)
    first = active_cluster(found)
    asked, patch = one_more_replica(found)

    def same_cluster(seen: dict[str, Any]) -> None:
        after = s.get(service)
        if pending_cluster(after) or active_cluster(after) != first:
            raise s.fail(
                "scaled", f"a replicas-only change made a new cluster: {after and after.get('status')}"
            )
        s.say(f"RayService asks {asked}; RayCluster {first} has {seen['cluster']}")

    s.phase(
        "scaled",
        do=lambda: s.patch(service, patch),
        until=replicas_reconciled(service.name, first),
        check=same_cluster,
        expect=running(first),
    )


@scenario(
    "rayservice-suspend",
    root="RayService",
    drives=["rayservice-suspend"],
    slow=True,
)
def rayservice_suspend(s: Script) -> None:
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
    service = s.create(rayservice_manifest(s), neighbour=True)
    first = active_cluster(ready(s, service, serving_unsuspended(service.name)))
    hold(s, first, True)
    s.finally_(lambda: hold(s, first, False))
    s.phase(
        "suspending",
        do=lambda: s.patch(service, {"spec": {"suspend": True}}),
        until=suspending(service.name, first),
        expect=expect("suspending", owners=[first], stable=False, made_by=spec_suspend("suspend")),
    )
    hold(s, first, False)
    s.phase(
        "suspended",
        until=suspended(service.name, first),
        check=lambda now: s.say(f"suspended: {said_conditions(now, 'Ready', 'Suspending', 'Suspended')}"),
        expect=expect("suspended", made_by=spec_suspend("suspend")),
    )
    s.phase(
        "resumed",
        do=lambda: s.patch(service, {"spec": {"suspend": False}}),
        until=serving_unsuspended(service.name, not_on=first),
        expect=lambda found: expect(
            "running", owners=[active_cluster(found)], made_by=spec_suspend("resume")
        ),
        timeout=LONG,
    )


@scenario(
    "upgrade-none",
    root="RayService",
    drives=["upgrade-none"],
    slow=True,
)
def upgrade_none(s: Script) -> None:
    """upgradeStrategy type None: ready -> the cluster-level change that upgrades the default scenario
    (a head-template label) -> the operator has seen the new generation and made no new cluster: the
    same active RayCluster, no pending one, its Pods still from the old spec."""
    service = s.create(rayservice_manifest(s, with_spec(upgradeStrategy={"type": "None"})), neighbour=True)
    first = active_cluster(ready(s, service))

    def same_cluster(after: dict[str, Any]) -> None:
        if active_cluster(after) != first:
            raise s.fail(
                "spec-changed", f"upgradeStrategy None made a new cluster: {active_cluster(after)!r}"
            )

    s.phase(
        "spec-changed",
        do=lambda: upgraded(s, service),
        until=generation_observed(service.name),
        check=same_cluster,
        # the active cluster's Pods were made from the old spec, and stay so
        expect=expect("running", stale_owners=[first]),
    )


@scenario(
    "rayservice-cluster-deletion-delay",
    root="RayService",
    drives=["rayservice-cluster-deletion-delay"],
    slow=True,
)
def rayservice_cluster_deletion_delay(s: Script) -> None:
    """rayClusterDeletionDelaySeconds 30: ready -> the default scenario's upgrade, run straight through ->
    promoted-old-kept (the new cluster active and serving, the old RayCluster and its Pods still there) ->
    old-deleted (the delay over: only the new cluster)."""
    manifest = rayservice_manifest(s, with_spec(rayClusterDeletionDelaySeconds=30))
    service = s.create(manifest, neighbour=True)
    first = active_cluster(ready(s, service))
    kept = serving_on_new(
        service.name, first, f"the new cluster promoted, {first} not yet deleted", old_kept=True
    )
    new = active_cluster(
        s.phase(
            "promoted-old-kept",
            do=lambda: upgraded(s, service),
            until=kept,
            expect=lambda found: running(active_cluster(found)),
            timeout=LONG,
        )
    )
    s.phase(
        "old-deleted",
        until=old_deleted(service.name, first, f"{first} and its Pods deleted after the delay"),
        expect=running(new),
    )


@scenario(
    "rayservice-failed-upgrade",
    root="RayService",
    drives=["rayservice-failed-upgrade"],
    slow=True,
)
def rayservice_failed_upgrade(s: Script) -> None:
    """A zero-downtime upgrade whose new Serve app fails: ready -> upgrade-failed (the default scenario's
    cluster-level change together with a Serve config whose import path names nothing: the pending
    RayCluster's Pods run, its app DEPLOY_FAILED; the active cluster keeps serving, nothing promoted) ->
    recovered (the Serve config put back: the same pending cluster's app RUNNING, promoted)."""
    service = s.create(rayservice_manifest(s), neighbour=True)
    found = ready(s, service)
    first, good = active_cluster(found), str(found["spec"]["serveConfigV2"])
    bad = good.replace("karta_fixture_app:app", "karta_fixture_app:no_such_app")
    if bad == good:
        raise s.fail("upgrade-failed", "the fixture's Serve config has no karta_fixture_app:app")

    def said(during: dict[str, Any]) -> None:
        s.say(
            f"pending {pending_cluster(during)}: apps {app_statuses(during, 'pendingServiceStatus')}; active "
            f"{first}: apps {app_statuses(during)}; "
            f"UpgradeInProgress={(condition(during, 'UpgradeInProgress') or {}).get('status')}"
        )

    pending = pending_cluster(
        s.phase(
            "upgrade-failed",
            do=lambda: upgraded(s, service, serveConfigV2=bad),
            until=app_deploy_failed(service.name, first),
            check=said,
            expect=lambda during: running(pending_cluster(during)),
            timeout=LONG,
        )
    )
    s.phase(
        "recovered",
        do=lambda: s.patch(service, {"spec": {"serveConfigV2": good}}),
        until=serving_on_new(
            service.name, first, f"the pending cluster {pending} promoted with its app RUNNING", new=pending
        ),
        expect=running(pending),
        timeout=LONG,
    )


@scenario(
    "gcs-ft-rayservice-upgrade",
    root="RayService",
    drives=["gcs-ft-rayservice-upgrade"],
    slow=True,
)
def gcs_ft_rayservice_upgrade(s: Script) -> None:
    """A RayService whose clusters have GCS fault tolerance, upgraded: ready -> promoted (the default
    scenario's cluster-level change: the new cluster, with KubeRay's FT finalizer too, active) ->
    redis-cleanup (KubeRay deletes the old cluster after its deletion delay: its Ray Pods go and its
    redis-cleanup Job's Pod comes, two levels below the RayService, built from the old head template;
    the old cluster held by the harness's finalizer until snapshotted)."""
    start_redis(s)
    service = s.create(rayservice_manifest(s, gcs_ft), neighbour=True)
    first = active_cluster(ready(s, service))
    has_ft_finalizer(s, first)
    held(s, first)
    new = active_cluster(
        s.phase(
            "promoted",
            do=lambda: upgraded(s, service),
            until=serving_on_new(service.name, first, "the new cluster promoted and serving"),
            expect=lambda found: running(active_cluster(found)),
            timeout=LONG,
        )
    )
    # KubeRay deletes the old cluster 60 s after the promotion (its default deletion delay)
    s.phase(
        "redis-cleanup",
        until=redis_cleanup_made(first),
        check=lambda job: s.say(f"redis-cleanup Job {job['metadata']['name']} (owned by {first})"),
        # the old cluster is superseded, as in the rayservice scenario: its cleanup Pod is not the root's
        expect=expect("running", owners=[new], stable=False),
        timeout=LONG,
    )


# --- the incremental upgrade ----------------------------------------------------------------------

GATEWAY = (gateway_api.API_VERSION, "Gateway")
HTTPROUTE = (gateway_api.API_VERSION, "HTTPRoute")
# Small steps, so an intermediate split lasts a few seconds (each traffic step waits intervalSeconds)
MAX_SURGE, STEP = 50, 25
INCREMENTAL_OPTIONS = {
    "maxSurgePercent": MAX_SURGE,
    "stepSizePercent": STEP,
    "intervalSeconds": 2,
    "gatewayClassName": gateway_api.STAND_IN_CLASS,
}
# What KubeRay's step algorithm lets the status show with these options (conformance/model)
INCREMENTAL_TRAFFIC = kuberay_states.incremental_traffic(MAX_SURGE, STEP)
# ... and, the upgrade rolled back, on the way back (the rollback scenario's steps wait ROLLBACK_INTERVAL
# seconds each, so the rolling-back splits last long enough to be seen on a loaded machine)
ROLLBACK_TRAFFIC = INCREMENTAL_TRAFFIC | kuberay_states.incremental_rollback_traffic(MAX_SURGE, STEP)
ROLLBACK_INTERVAL = 10
Weights = Callable[[Context, dict[str, Any]], dict[str, int] | None]


def incremental(manifest: dict[str, Any]) -> None:
    """A change of the RayService fixture: upgradeStrategy NewClusterWithIncrementalUpgrade with
    ``INCREMENTAL_OPTIONS``, its clusters with the in-tree autoscaler (KubeRay v1.7.0 refuses the strategy
    without it: utils/validation.go ``ValidateClusterUpgradeOptions``)."""
    manifest["spec"]["upgradeStrategy"] = {
        "type": kuberay_states.INCREMENTAL,
        "clusterUpgradeOptions": dict(INCREMENTAL_OPTIONS),
    }
    manifest["spec"]["rayClusterConfig"]["enableInTreeAutoscaling"] = True


def incremental_slow(manifest: dict[str, Any]) -> None:
    """``incremental`` with intervalSeconds ``ROLLBACK_INTERVAL``."""
    incremental(manifest)
    manifest["spec"]["upgradeStrategy"]["clusterUpgradeOptions"]["intervalSeconds"] = ROLLBACK_INTERVAL


def reverted(s: Script, service: Ref) -> None:
    """The fixture's upgrade patch undone: each value it sets removed (null in a JSON merge patch), so the
    RayService's rayClusterConfig is the original one again, hashing as the active cluster's."""

    def undone(node: Any) -> Any:
        return {key: undone(value) for key, value in node.items()} if isinstance(node, dict) else None

    s.patch(service, undone(fixtures.load_patch("rayservice-upgrade")))


def no_gateway_controller(ctx: Context) -> str | None:
    """Why nothing in the cluster programs the Gateways of the stand-in's GatewayClass (None: a controller
    accepted the class). Without one, KubeRay never takes a capacity step and the upgrade never ends."""
    name, where = gateway_api.STAND_IN_CLASS, f"the {ctx.provider.name} backend's cluster"
    try:
        found = ctx.kube.get(gateway_api.API_VERSION, "GatewayClass", name)
    except ResourceNotFoundError:
        return (
            f"{where} serves no {gateway_api.API_VERSION} GatewayClass (no Gateway API CRDs, no Gateway "
            "controller): KubeRay's incremental upgrade would wait forever for its Gateway to be programmed"
        )
    except ApiException as error:
        return f"{where}: GatewayClass {name} could not be read ({describe_error(error)})"
    if condition_true(found, "Accepted"):
        return None
    return (
        f"{where} has no controller that accepted GatewayClass {name} ({gateway_api.STAND_IN_CONTROLLER}, "
        "the local backend's stand-in): KubeRay's incremental upgrade would wait forever for its Gateway"
    )


GATEWAY_CONTROLLER = ClusterHas(
    f"a Gateway controller for GatewayClass {gateway_api.STAND_IN_CLASS}", no_gateway_controller
)


def routed(service: str, seen: list[Traffic], what: str, weights: Weights) -> Probe:
    """RayService ``service``'s Gateway programmed and its HTTPRoute attached by a Gateway controller, the
    HTTPRoute's backends weighted as ``weights(ctx, rayservice)`` says (None: the RayService not there
    yet): the RayService. Every distinct :class:`Traffic` its status shows while polled is added to ``seen``."""

    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        if current is None:
            return None
        now = kuberay_states.traffic(current)
        if not seen or seen[-1] != now:
            seen.append(now)
        wanted = weights(ctx, current)
        gateway = ctx.get(*GATEWAY, gateway_name(service))
        route = ctx.get(*HTTPROUTE, httproute_name(service))
        ready = gateway_programmed(gateway) and route_attached(route, gateway)
        return current if wanted is not None and ready and route_weights(route) == wanted else None

    return Probe(what, check)


def alone(cluster: str = "") -> Weights:
    """Serving (Ready, the app RUNNING, the cluster ready) on one cluster (``cluster``, or whichever), none
    pending, no upgrade, with all the capacity and all the traffic: the HTTPRoute sends it everything."""

    def weights(ctx: Context, current: dict[str, Any]) -> dict[str, int] | None:
        active = active_cluster(current)
        ok = active == (cluster or active) != "" and not pending_cluster(current)
        ok = ok and not condition_true(current, "UpgradeInProgress") and rayservice_ready(current)
        ok = ok and kuberay_states.traffic(current) == SERVING and ctx.cluster_ready(active)
        return {serve_service(active): 100} if ok else None

    return weights


def split(first: str, share: Callable[[int], bool], *, running_both: bool = False) -> Weights:
    """Upgrading from ``first`` to a pending cluster that is up, its share of the traffic (its
    trafficRoutedPercent) such that ``share(percent)``, and (``running_both``) the apps of both clusters
    RUNNING: the HTTPRoute splits the traffic so between their serve Services."""

    def weights(ctx: Context, current: dict[str, Any]) -> dict[str, int] | None:
        pending, percent = pending_cluster(current), kuberay_states.traffic(current).pending_routed
        apps = [*app_statuses(current).values(), *app_statuses(current, "pendingServiceStatus").values()]
        ok = pending not in ("", first) and active_cluster(current) == first and percent is not None
        ok = ok and condition_true(current, "UpgradeInProgress") and share(percent or 0)
        ok = ok and (not running_both or (len(apps) >= 2 and set(apps) == {"RUNNING"}))
        if not ok or not ctx.cluster_up(pending):
            return None
        return {serve_service(first): 100 - (percent or 0), serve_service(pending): percent or 0}

    return weights


def rolling_back(first: str, pending: str) -> Weights:
    """Rolling back to ``first``: RollbackInProgress=True, UpgradeInProgress still True, ``first`` active and
    ``pending`` still named, both RayClusters there: the HTTPRoute splits the traffic as the status says."""

    def weights(ctx: Context, current: dict[str, Any]) -> dict[str, int] | None:
        percent = kuberay_states.traffic(current).pending_routed
        ok = condition_true(current, "RollbackInProgress") and condition_true(current, "UpgradeInProgress")
        ok = ok and (active_cluster(current), pending_cluster(current)) == (first, pending)
        if not ok or percent is None or any(ctx.get(*RAYCLUSTER, c) is None for c in (first, pending)):
            return None
        return {serve_service(first): 100 - percent, serve_service(pending): percent}

    return weights


def rollback_said(found: dict[str, Any]) -> str | None:
    """What is wrong with a rolling-back RayService's RollbackInProgress: it has v1.7.0's reason
    (``reconcileRollbackState``: the spec reverted to the active cluster's)."""
    reason = (condition(found, "RollbackInProgress") or {}).get("reason")
    wanted = kuberay_states.ROLLBACK_REASON
    return None if reason == wanted else f"RollbackInProgress reason {reason!r}, KubeRay v1.7.0 sets {wanted}"


def rolled_back_from(seen: list[Traffic], since: int) -> Callable[[dict[str, Any]], str | None]:
    """What is wrong with a rolled-back RayService: RollbackInProgress still there (``calculateStatus``
    removes it), or the pending cluster's share of the traffic rising in a split seen from ``since`` on."""

    def said(found: dict[str, Any]) -> str | None:
        shares = [t.pending_routed or 0 for t in seen[since:]]
        rising = [f"{a} -> {b} %" for a, b in itertools.pairwise(shares) if b > a]
        left = said_conditions(found, "RollbackInProgress") if condition(found, "RollbackInProgress") else ""
        return f"{left} the pending share rose back: {rising}" if left or rising else None

    return said


def as_modelled(
    s: Script,
    service: Ref,
    seen: list[Traffic],
    phase: str,
    allowed: frozenset[Traffic] = INCREMENTAL_TRAFFIC,
    also: Callable[[dict[str, Any]], str | None] = lambda found: None,
) -> Callable[[dict[str, Any]], None]:
    """A phase's check: the Gateway and HTTPRoute controlled by the RayService (KubeRay's
    ``SetControllerReference``), every capacity/traffic split seen so far one KubeRay's step algorithm
    allows (``allowed``: ``kuberay_states.incremental_traffic``), and nothing ``also`` finds wrong; the
    split found said in a progress line."""

    def check(found: dict[str, Any]) -> None:
        made = {
            kind: s.get((api, kind, name))
            for (api, kind), name in (
                (GATEWAY, gateway_name(service.name)),
                (HTTPROUTE, httproute_name(service.name)),
            )
        }
        strays = [kind for kind, obj in made.items() if not controlled_by(obj, found)]
        outside = [str(t) for t in dict.fromkeys(seen) if t not in allowed]
        if strays or outside:
            raise s.fail(
                phase,
                f"not controlled by the RayService: {strays or 'none'}; splits KubeRay's algorithm does not make: {outside or 'none'}",
            )
        if (wrong := also(found)) is not None:
            raise s.fail(phase, wrong)
        s.say(f"{phase}: {kuberay_states.traffic(found)}; HTTPRoute {route_weights(made['HTTPRoute'])}")

    return check


def by_the_model(
    s: Script, phase: str, owner: Callable[[dict[str, Any]], str]
) -> Callable[[dict[str, Any]], Expectation]:
    """A phase's Expectation from KubeRay's model (``conformance/model``) read on the RayService the probe
    found: the one status it allows there (what KubeRay writes a reconcile late left out), the Pods of
    ``owner(found)`` made from the current spec."""

    def wanted(found: dict[str, Any]) -> Expectation:
        reading = kuberay_states.read(found, s.version)
        statuses = sorted(reading.allowed - reading.late) if reading is not None else []
        if len(statuses) != 1:
            state = reading.state if reading is not None else "no reading"
            raise s.fail(phase, f"KubeRay's model allows {statuses} here ({state}), not one status")
        return expect(statuses[0], owners=[owner(found)])

    return wanted


def routed_phase(
    s: Script,
    service: Ref,
    seen: list[Traffic],
    phase: tuple[str, str],
    weights: Weights,
    owner: Callable[[dict[str, Any]], str],
    allowed: frozenset[Traffic] = INCREMENTAL_TRAFFIC,
    also: Callable[[dict[str, Any]], str | None] = lambda found: None,
    **more: Any,
) -> str:
    """A phase of the incremental upgrade (``phase``: its name, what it waits for), the probe ``routed``
    with ``weights``, the check ``as_modelled`` (with ``allowed``, ``also``), the Expectation
    ``by_the_model``: the cluster ``owner`` names on the RayService found."""
    name, what = phase
    found = s.phase(
        name,
        until=routed(service.name, seen, what, weights),
        check=as_modelled(s, service, seen, name, allowed, also),
        expect=by_the_model(s, name, owner),
        timeout=LONG,
        **more,
    )
    return owner(found)


def shifting(s: Script, service: Ref, seen: list[Traffic]) -> tuple[str, str]:
    """The incremental upgrade's first phases: ready (one cluster, the HTTPRoute sending it everything) ->
    upgrade-started (the default upgrade patch; the gate holds the pending cluster's app: the pending cluster
    up, 0 % of the traffic) -> traffic-shifting (released: both clusters' apps RUNNING, the pending one's
    share strictly between 0 and 100 %): the first cluster and the pending one."""
    first = routed_phase(s, service, seen, ("ready", "serving alone, 100 % routed"), alone(), active_cluster)
    s.ctx.provider.hold_new_heads(s.ctx.namespace)
    s.finally_(lambda: s.ctx.provider.release_heads(s.ctx.namespace))
    pending = routed_phase(
        s,
        service,
        seen,
        ("upgrade-started", "a pending cluster up with 0 % of the traffic"),
        split(first, lambda percent: percent == 0),
        pending_cluster,
        do=lambda: upgraded(s, service),
    )
    routed_phase(
        s,
        service,
        seen,
        ("traffic-shifting", "both clusters serving, the pending one with more than 0 and less than 100 %"),
        split(first, lambda percent: 0 < percent < 100, running_both=True),
        pending_cluster,
        do=lambda: s.ctx.provider.release_heads(s.ctx.namespace),
    )
    return first, pending


@scenario(
    "upgrade-incremental",
    root="RayService",
    drives=["upgrade-incremental"],
    slow=True,
)
def upgrade_incremental(s: Script) -> None:
    """upgradeStrategy NewClusterWithIncrementalUpgrade (maxSurgePercent 50, stepSizePercent 25,
    intervalSeconds 2; KubeRay v1.7.0, where its gate is on by default), through a Gateway and an HTTPRoute
    KubeRay makes and a Gateway controller programs (on local: the stand-in, simulated): ready (one cluster,
    the HTTPRoute sending it everything) -> upgrade-started (the default upgrade patch; the gate holds the
    pending cluster's app: the pending cluster up, 0 % of the traffic) -> traffic-shifting (released: both
    clusters' apps RUNNING, the pending one's share strictly between 0 and 100 %) -> promoted (the new
    cluster alone with 100 %) -> old-deleted. At each phase the Gateway and HTTPRoute are the RayService's,
    and every capacity/traffic split seen is one KubeRay's step algorithm makes (``conformance/model``)."""
    phases = ["created", "ready", "upgrade-started", "traffic-shifting", "promoted", "old-deleted"]
    if not s.able(kuberay_has("upgrade-incremental"), GATEWAY_CONTROLLER, Capability.GATE, phases=phases):
        return
    service = s.create(rayservice_manifest(s, incremental), neighbour=True)
    seen: list[Traffic] = []
    first, pending = shifting(s, service, seen)
    promoted_alone = ("promoted", f"{pending} promoted, alone with 100 % routed")
    routed_phase(s, service, seen, promoted_alone, alone(pending), active_cluster)
    final = by_the_model(s, "old-deleted", lambda _: pending)
    s.phase("old-deleted", until=old_deleted(service.name, first), expect=final)


@scenario(
    "upgrade-incremental-rollback",
    root="RayService",
    drives=["upgrade-incremental"],
    slow=True,
)
def upgrade_incremental_rollback(s: Script) -> None:
    """The incremental upgrade (intervalSeconds ``ROLLBACK_INTERVAL``) rolled back mid-way, as KubeRay v1.7.0
    does (``reconcileRollbackState``, ``shouldCompleteIncrementalRollback``): ready -> upgrade-started ->
    traffic-shifting (as ``upgrade-incremental``) -> rolling-back (the upgrade patch undone: the spec the
    active cluster's again; RollbackInProgress=True/DesiredClusterSpecChanged, both clusters there, the
    HTTPRoute as the status splits it) -> rolled-back (the first cluster alone with 100 %, RollbackInProgress
    removed, the pending cluster no longer named; its share of the traffic never rose from rolling-back on)
    -> pending-deleted (KubeRay deletes it rayClusterDeletionDelaySeconds later). Every split seen is one
    KubeRay's algorithm makes, forward or back (``kuberay_states.incremental_rollback_traffic``)."""
    phases = ["created", "ready", "upgrade-started", "traffic-shifting", "rolling-back", "rolled-back"]
    phases.append("pending-deleted")
    if not s.able(kuberay_has("upgrade-incremental"), GATEWAY_CONTROLLER, Capability.GATE, phases=phases):
        return
    service = s.create(rayservice_manifest(s, incremental_slow), neighbour=True)
    seen: list[Traffic] = []
    first, pending = shifting(s, service, seen)
    routed_phase(
        s,
        service,
        seen,
        ("rolling-back", f"RollbackInProgress=True, {pending} handing the traffic back to {first}"),
        rolling_back(first, pending),
        active_cluster,
        ROLLBACK_TRAFFIC,
        rollback_said,
        do=lambda: reverted(s, service),
    )
    back = ("rolled-back", f"{first} alone again with 100 % routed, {pending} no longer named")
    routed_phase(
        s,
        service,
        seen,
        back,
        alone(first),
        active_cluster,
        ROLLBACK_TRAFFIC,
        rolled_back_from(seen, len(seen) - 1),
    )
    gone = old_deleted(
        service.name, pending, f"the rolled-back cluster {pending} and its Pods deleted, serving"
    )
    s.phase("pending-deleted", until=gone, expect=by_the_model(s, "pending-deleted", lambda _: first))
