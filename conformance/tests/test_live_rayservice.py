"""Live: a RayService becomes Ready with real Ray Serve, and its zero-downtime upgrade is observed
in the pending phase (held by the gate), then promoted."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import fixtures, versions
from conformance.kube import Kube
from conformance.providers import Provider
from conformance.workloads import (
    active_cluster,
    app_statuses,
    condition_true,
    owned_by,
    pending_cluster,
    rayservice_ready,
)

pytestmark = pytest.mark.live

RS = ("ray.io/v1", "RayService")


def _rayservice(provider: Provider) -> dict[str, Any]:
    pinned = versions.load().kuberay_version(provider.kuberay_version)
    (fixture,) = [f for f in fixtures.load_fixtures() if f.kind == "RayService"]
    return fixtures.render(fixture.object, pinned.ray_image, pinned.ray_version)


def test_rayservice_ready_then_upgrade_through_the_pending_phase(
    kube: Kube, provider: Provider, namespace: str
) -> None:
    manifest = _rayservice(provider)
    name = manifest["metadata"]["name"]
    kube.create(manifest, namespace)

    def get() -> dict[str, Any] | None:
        return kube.get(*RS, name, namespace)

    ready = kube.wait_for(
        "the RayService to be Ready with its Serve app RUNNING",
        lambda: get() if rayservice_ready(get()) else None,
        240,
    )
    first = active_cluster(ready)
    assert first and app_statuses(ready) == {"echo": "RUNNING"}

    # The upgrade, with the gate closed: the pending cluster's Ray head holds its Serve app.
    provider.hold_new_heads(namespace)
    kube.patch_merge(*RS, name, namespace, fixtures.load_patch("rayservice-upgrade"))

    def pending_phase() -> dict[str, Any] | None:
        current = get()
        pending = pending_cluster(current)
        if not pending or pending == first or not condition_true(current, "UpgradeInProgress"):
            return None
        pods = kube.list_objects("v1", "Pod", namespace, label_selector=f"ray.io/cluster={pending}")
        return (
            current if any(p["metadata"]["labels"].get("ray.io/node-type") == "head" for p in pods) else None
        )

    during = kube.wait_for("the pending RayCluster and its Pods (UpgradeInProgress=True)", pending_phase, 180)
    pending = pending_cluster(during)
    assert active_cluster(during) == first
    clusters = {c["metadata"]["name"] for c in kube.list_objects("ray.io/v1", "RayCluster", namespace)}
    assert clusters == {first, pending}
    for cluster in kube.list_objects("ray.io/v1", "RayCluster", namespace):
        assert owned_by(cluster, "RayService", name)
    pods = kube.list_objects("v1", "Pod", namespace, label_selector=f"ray.io/cluster={pending}")
    assert {p["metadata"]["labels"]["ray.io/node-type"] for p in pods} == {"head", "worker"}
    for pod in pods:
        assert owned_by(pod, "RayCluster", pending)
    assert condition_true(during, "Ready"), "the active cluster keeps serving during the upgrade"
    assert app_statuses(during, "pendingServiceStatus").get("echo") != "RUNNING", "the gate did not hold"

    # Open the gate: the pending cluster is promoted and the old one deleted.
    provider.release_heads(namespace)

    def promoted() -> dict[str, Any] | None:
        current = get()
        done = (
            active_cluster(current) == pending
            and not pending_cluster(current)
            and not condition_true(current, "UpgradeInProgress")
            and rayservice_ready(current)
        )
        return current if done else None

    kube.wait_for("the pending RayCluster to be promoted", promoted, 240)
    kube.wait_for(
        "the old RayCluster to be deleted",
        lambda: kube.get("ray.io/v1", "RayCluster", first, namespace) is None,
        120,
    )
