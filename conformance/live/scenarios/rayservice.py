"""RayService scenarios: a Serve application served, upgraded with zero downtime, suspended, failed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from conformance import fixtures
from conformance.backends.base import Capability
from conformance.kuberay import (
    active_cluster,
    app_statuses,
    condition,
    condition_true,
    pending_cluster,
    rayservice_ready,
    serve_endpoints_dropped,
)
from conformance.live.scenarios.context import (
    Context,
    ScenarioFailed,
    pod_ready,
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
)
from conformance.live.scenarios.legacy import (
    FT_FINALIZER,
    HOLD,
    REDIS_ADDRESS,
    _ready_then_upgraded,
    _redis_cleanup,
    _serving,
    _settled,
    _spec_suspend,
    _start_redis,
    start_rayservice,
)
from conformance.live.scenarios.probes import RAYCLUSTER, RAYSERVICE, holds, serving
from conformance.snapshot import Expectation


def rayservice_manifest(s: Script, change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The RayService fixture, ``change`` applied to it."""
    manifest = s.manifest("RayService")
    if change is not None:
        change(manifest)
    return manifest


def upgraded(s: Script, service: Ref) -> None:
    """The fixture's upgrade patch applied: a new cluster spec, so KubeRay makes a pending cluster."""
    s.patch(service, fixtures.load_patch("rayservice-upgrade"))


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


def old_deleted(service: str, first: str) -> Probe:
    """The RayCluster ``first`` and its Pods gone, the RayService serving."""

    def check(ctx: Context) -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={first}")
        found = serving(service).check(ctx)
        return found if ctx.get(*RAYCLUSTER, first) is None and not pods else None

    return Probe(f"the old cluster {first} and its Pods deleted, the RayService serving", check)


def app_unhealthy(service: str) -> Probe:
    def check(ctx: Context) -> dict[str, Any] | None:
        current = ctx.get(*RAYSERVICE, service)
        return current if "UNHEALTHY" in app_statuses(current).values() else None

    return Probe("the Serve app to turn UNHEALTHY", check)


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
    first = active_cluster(
        s.phase(
            "ready",
            until=serving(service.name),
            expect=lambda found: running(active_cluster(found)),
            timeout=LONG,
        )
    )
    pending = ""
    if s.able(Capability.GATE, phases=["upgrade-pending", "upgrade-pending-recovered"]):
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
    else:
        upgraded(s, service)
    final = s.phase(
        "promoted",
        until=promoted(service.name, first, pending),
        expect=lambda found: running(active_cluster(found)),
        timeout=LONG,
    )
    active = active_cluster(final)
    if s.able(kuberay_has("zero-serve-endpoints"), Capability.SERVE_UNREADY, phases=SERVE_DROPPED_PHASES):
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
    s.phase("old-deleted", until=old_deleted(service.name, first), expect=running(active))
    if s.able(Capability.APP_UNHEALTHY, phases=["app-unhealthy"]):
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


SERVE_DROPPED_PHASES = ("serve-endpoints-dropped", "serve-endpoints-restored")


# --- scenarios not yet written in the phase language ---------------------------------------------


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
    ctx = s.ctx
    scenario = "rayservice-replicas-only"
    name, root, snapshots = start_rayservice(ctx, scenario)

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
    ctx = s.ctx
    scenario = "rayservice-suspend"
    name, root, snapshots = start_rayservice(ctx, scenario)

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
    ctx = s.ctx
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
    ctx = s.ctx
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
    ctx = s.ctx
    scenario = "rayservice-failed-upgrade"
    name, root, snapshots = start_rayservice(ctx, scenario)
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
    ctx = s.ctx
    scenario = "gcs-ft-rayservice-upgrade"
    _start_redis(ctx, scenario)

    def ft(manifest: dict[str, Any]) -> None:
        manifest["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}

    name, root, snapshots = start_rayservice(ctx, scenario, ft)
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
