"""Live: the RayCluster fixture on a real KubeRay (local: real control plane, kwok nodes; kind and
existing: real kubelets, where each worker Pod's Ray must join its head)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import fixtures, versions
from conformance.backends.base import Provider
from conformance.k8s.client import Kube, WaitTimeout

pytestmark = pytest.mark.live

RAY_LABELS = ("ray.io/node-type", "ray.io/cluster", "ray.io/group", "ray.io/is-ray-node", "ray.io/identifier")


def _raycluster(provider: Provider) -> dict[str, Any]:
    pinned = versions.load().kuberay_version(provider.kuberay_version)
    (fixture,) = [f for f in fixtures.load_fixtures() if f.kind == "RayCluster"]
    rendered = fixtures.render(fixture.object, pinned.ray_image, pinned.ray_version)
    adapt = getattr(provider, "adapt_manifest", None)
    return adapt(rendered) if adapt is not None else rendered


# The Ray nodes the head's GCS knows alive, by IP (a driver on the head, through `kubectl exec`), on a
# line of its own: the driver also prints what Ray's processes log (seen: a raylet's "There are tasks
# with infeasible resource requests ..." as the last line).
NODES_MARK = "karta-conformance-alive-nodes: "
ALIVE_NODES = (
    "import json, ray; ray.init(address='auto', logging_level='ERROR', log_to_driver=False); "
    f"print({NODES_MARK!r} + json.dumps(sorted(n['NodeManagerAddress'] for n in ray.nodes() if n['Alive'])))"
)


def alive_nodes_line(output: str) -> list[str]:
    """The node list from the driver's output (the marked line; anything else Ray printed is ignored)."""
    marked = [line for line in output.splitlines() if line.startswith(NODES_MARK)]
    if not marked:
        raise AssertionError(f"the driver on the head printed no node list: {output.strip()[-300:]!r}")
    return list(json.loads(marked[-1].removeprefix(NODES_MARK)))


def _alive_ray_nodes(provider: Provider, namespace: str, head: str) -> list[str]:
    output = provider.kubectl(  # type: ignore[attr-defined]
        "-n", namespace, "exec", head, "-c", "ray-head", "--", "python", "-c", ALIVE_NODES
    )
    return alive_nodes_line(output)


@pytest.mark.unit
def test_the_node_list_is_read_from_its_marked_line_whatever_ray_prints_around_it() -> None:
    raylet = (
        "\x1b[33m(raylet)\x1b[0m There are tasks with infeasible resource requests that cannot be scheduled."
    )
    assert alive_nodes_line(f'{NODES_MARK}["10.0.0.1", "10.0.0.2"]\n{raylet}\n') == ["10.0.0.1", "10.0.0.2"]
    with pytest.raises(AssertionError, match="printed no node list"):
        alive_nodes_line(raylet)


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
        timeout=120 * provider.timeout_scale,
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
        simulated = node["metadata"].get("annotations", {}).get("kwok.x-k8s.io/node") == "fake"
        assert simulated == (provider.name == "local"), (provider.name, node["metadata"]["name"])

    if provider.name != "local":
        # real kubelets and real Ray: every Pod of the cluster is a live node of the head's GCS
        (head,) = [p["metadata"]["name"] for p in heads]
        want = sorted(p["status"]["podIP"] for p in pods)
        seen: list[list[str]] = []

        def joined() -> list[str] | None:
            seen.append(_alive_ray_nodes(provider, namespace, head))
            return seen[-1] if seen[-1] == want else None

        try:
            kube.wait_for(
                "the head's GCS to list every Pod alive", joined, timeout=60 * provider.timeout_scale
            )
        except WaitTimeout:
            pytest.fail(f"Ray nodes alive on the head: {seen[-1:]}, the cluster's Pod IPs: {want}")
        assert len(seen[-1]) == 1 + len(workers)

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
