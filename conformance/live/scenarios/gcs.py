"""GCS fault tolerance, shared by the RayCluster, RayJob and RayService families: the Redis a scenario
starts beside its workload, KubeRay's redis-cleanup finalizer, and the harness's own finalizer that holds
a RayCluster's deletion until a phase is photographed."""

from __future__ import annotations

from typing import Any

from conformance.live.scenarios.context import Context, pod_ready
from conformance.live.scenarios.language import MEDIUM, Probe, Script
from conformance.live.scenarios.probes import RAYCLUSTER

FT_FINALIZER = "ray.io/gcs-ft-redis-cleanup-finalizer"  # KubeRay's, on a RayCluster with GCS FT
REDIS_ADDRESS = "redis:6379"
# A finalizer the harness puts on a RayCluster to hold its deletion (and so the phase that deletion
# passes through) until the phase is snapshotted; always taken off again.
HOLD = "karta.conformance/hold"


def redis_objects(s: Script) -> list[dict[str, Any]]:
    """A Redis Pod (the Ray image, whose Debian packages include redis-server) and its Service ``redis``:
    not part of any workload."""
    image = s.manifest("RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "karta-conformance"}
    command = ["redis-server", "--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
    redis = {
        "name": "redis",
        "image": image,
        "command": command,
        "ports": [{"containerPort": 6379}],
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
        "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 2},
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "redis", "labels": labels},
            "spec": {"containers": [redis], "terminationGracePeriodSeconds": 1},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "redis", "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": 6379, "targetPort": 6379}]},
        },
    ]


def redis_ready() -> Probe:
    return Probe("the Redis Pod Ready", lambda ctx: pod_ready(ctx.get("v1", "Pod", "redis") or {}) or None)


def start_redis(s: Script) -> None:
    """The Redis Pod and Service created in the scenario's namespace, the Pod Ready: a wait of the
    ``created`` phase, before the root is created."""

    def create() -> None:
        for manifest in redis_objects(s):
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
