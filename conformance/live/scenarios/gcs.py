"""GCS fault tolerance, shared by the RayCluster, RayJob and RayService families: the Redis a scenario
starts beside its workload, KubeRay's redis-cleanup finalizer, and the harness's own finalizer that holds
a RayCluster's deletion until a phase is photographed."""

from __future__ import annotations

from typing import Any

from conformance import versions
from conformance.live.scenarios.context import Context, pod_ready
from conformance.live.scenarios.language import MEDIUM, Probe, Script
from conformance.live.scenarios.probes import RAYCLUSTER

FT_FINALIZER = "ray.io/gcs-ft-redis-cleanup-finalizer"  # KubeRay's, on a RayCluster with GCS FT
REDIS_ADDRESS = "redis:6379"
# A finalizer the harness puts on a RayCluster to hold its deletion (and so the phase that deletion
# passes through) until the phase is snapshotted; always taken off again.
HOLD = "karta.conformance/hold"


REDIS_LABELS = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "karta-conformance"}
# redis-server's options, given to the official image's entrypoint as arguments (no command): no
# persistence, and no protected mode (the Ray Pods reach it through the Service).
REDIS_ARGS = ["--save", "", "--appendonly", "no", "--protected-mode", "no"]


def redis_objects() -> list[dict[str, Any]]:
    """A Redis Deployment (one replica of the official redis image pinned in versions.yaml, as KubeRay's GCS
    fault-tolerance guide runs it) and its Service ``redis``: not part of any workload."""
    redis = {
        "name": "redis",
        "image": versions.load().redis_image,
        "args": list(REDIS_ARGS),
        "ports": [{"containerPort": 6379}],
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
        "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 2},
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "redis", "labels": dict(REDIS_LABELS)},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": dict(REDIS_LABELS)},
                "template": {
                    "metadata": {"labels": dict(REDIS_LABELS)},
                    "spec": {"containers": [redis], "terminationGracePeriodSeconds": 1},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "redis", "labels": dict(REDIS_LABELS)},
            "spec": {"selector": dict(REDIS_LABELS), "ports": [{"port": 6379, "targetPort": 6379}]},
        },
    ]


def redis_ready() -> Probe:
    """A Pod of the Redis Deployment Ready (whatever its generated name): that Pod."""
    selector = ",".join(f"{k}={v}" for k, v in REDIS_LABELS.items())

    def check(ctx: Context) -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        ready = [p for p in pods if not p["metadata"].get("deletionTimestamp") and pod_ready(p)]
        return ready[0] if ready else None

    return Probe("a Pod of the Redis Deployment Ready", check)


def start_redis(s: Script) -> None:
    """The Redis Deployment and Service created in the scenario's namespace, its Pod Ready: a wait of the
    ``created`` phase, before the root is created."""

    def create() -> None:
        for manifest in redis_objects():
            s.make(manifest)

    s.phase("created", do=create, until=redis_ready(), timeout=MEDIUM)


def finalizers(s: Script, cluster: str) -> list[str]:
    """The finalizers on RayCluster ``cluster`` (none if it is gone)."""
    return list(((s.get((*RAYCLUSTER, cluster)) or {}).get("metadata") or {}).get("finalizers") or [])


def has_ft_finalizer(s: Script, cluster: str, phase: str = "ready") -> None:
    """KubeRay's GCS FT finalizer is on the RayCluster, else ``phase`` fails."""
    put = finalizers(s, cluster)
    if FT_FINALIZER not in put:
        raise s.fail(phase, f"KubeRay put no {FT_FINALIZER} on {cluster}: {put}")


def hold(s: Script, cluster: str, on: bool) -> None:
    """Put the harness's finalizer HOLD on RayCluster ``cluster`` (``on``: its deletion waits) or take it
    off if there; its other finalizers kept, nothing done if the cluster is gone."""
    current = s.get((*RAYCLUSTER, cluster))
    if current is None:
        return
    now = current["metadata"].get("finalizers") or []
    others = [f for f in now if f != HOLD]
    if on or HOLD in now:
        s.patch((*RAYCLUSTER, cluster), {"metadata": {"finalizers": [*others, HOLD] if on else others}})


def held(s: Script, cluster: str) -> None:
    """The RayCluster held by HOLD from now until the scenario ends."""
    hold(s, cluster, True)
    s.finally_(lambda: hold(s, cluster, False))


def redis_cleanup_made(cluster: str) -> Probe:
    """RayCluster ``cluster``'s Ray Pods gone, its redis-cleanup Job and that Job's Pod made: the Job."""
    selector = f"ray.io/cluster={cluster},ray.io/node-type=redis-cleanup"

    def check(ctx: Context) -> dict[str, Any] | None:
        jobs = ctx.kube.list_objects("batch/v1", "Job", ctx.namespace, label_selector=selector)
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        heads, workers = ctx.ray_pods(cluster)
        return jobs[0] if jobs and pods and not heads and not workers else None

    return Probe(f"{cluster}'s Ray Pods deleted and its redis-cleanup Job's Pod made", check)
