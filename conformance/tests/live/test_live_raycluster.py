"""Live: the RayCluster fixture on a real KubeRay (local backend: real control plane, kwok nodes)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import fixtures, versions
from conformance.backends.base import Provider
from conformance.k8s.client import Kube

pytestmark = pytest.mark.live

RAY_LABELS = ("ray.io/node-type", "ray.io/cluster", "ray.io/group", "ray.io/is-ray-node", "ray.io/identifier")


def _raycluster(provider: Provider) -> dict[str, Any]:
    pinned = versions.load().kuberay_version(provider.kuberay_version)
    (fixture,) = [f for f in fixtures.load_fixtures() if f.kind == "RayCluster"]
    return fixtures.render(fixture.object, pinned.ray_image, pinned.ray_version)


def test_raycluster_lifecycle_and_garbage_collection(kube: Kube, provider: Provider, namespace: str) -> None:
    manifest = _raycluster(provider)
    name = manifest["metadata"]["name"]
    created = kube.create(manifest, namespace)
    uid = created["metadata"]["uid"]

    cluster = kube.wait_for(
        "RayCluster status.state == ready",
        lambda: (lambda rc: rc if rc and (rc.get("status") or {}).get("state") == "ready" else None)(
            kube.get("ray.io/v1", "RayCluster", name, namespace)
        ),
        timeout=120,
    )
    assert cluster["status"]["state"] == "ready"

    pods = kube.list_objects("v1", "Pod", namespace, label_selector=f"ray.io/cluster={name}")
    heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
    workers = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]
    assert len(heads) == 1
    assert len(workers) == manifest["spec"]["workerGroupSpecs"][0]["replicas"]
    nodes = {n["metadata"]["name"]: n for n in kube.list_objects("v1", "Node")}
    for pod in pods:
        labels = pod["metadata"]["labels"]
        assert all(key in labels for key in RAY_LABELS), labels
        assert labels["ray.io/cluster"] == name
        assert labels["ray.io/group"] == ("headgroup" if labels["ray.io/node-type"] == "head" else "workers")
        (owner,) = pod["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner.get("controller")) == (
            "RayCluster",
            name,
            uid,
            True,
        )
        assert pod["status"]["phase"] == "Running"
        assert all(c["ready"] for c in pod["status"]["containerStatuses"])
        node = nodes[pod["spec"]["nodeName"]]
        assert node["metadata"]["annotations"].get("kwok.x-k8s.io/node") == "fake"

    services = kube.list_objects("v1", "Service", namespace, label_selector=f"ray.io/cluster={name}")
    assert services, "KubeRay created no head Service"

    kube.delete("ray.io/v1", "RayCluster", name, namespace)
    kube.wait_for(
        "the RayCluster's Pods and Services to be garbage-collected",
        lambda: (
            not kube.list_objects("v1", "Pod", namespace, label_selector=f"ray.io/cluster={name}")
            and not kube.list_objects("v1", "Service", namespace, label_selector=f"ray.io/cluster={name}")
        ),
        timeout=120,
    )
