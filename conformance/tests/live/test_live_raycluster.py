"""Live: the RayCluster fixture on a real KubeRay, read from the raycluster scenario's snapshots (local:
real control plane, kwok nodes; kind and existing: real kubelets, where each worker Pod's Ray must
join its head). The scenario itself ends by deleting the RayCluster and waiting (bounded) for its Pods
and Services to be garbage-collected: a failure there is a failed scenario (test_scenarios_complete)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.backends.base import Capability, Provider
from conformance.backends.raynodes import NoNodeList, alive_nodes_line
from conformance.k8s.client import Kube
from conformance.live.session import LiveResult
from conformance.snapshot import Snapshot

pytestmark = pytest.mark.live

RAY_LABELS = ("ray.io/node-type", "ray.io/cluster", "ray.io/group", "ray.io/is-ray-node", "ray.io/identifier")


def _phase(live: LiveResult, phase: str) -> Snapshot:
    found = [s for s in live.snapshots if s.scenario == "raycluster" and s.phase == phase]
    failed = [str(f) for f in live.failures if f.scenario == "raycluster"]
    assert len(found) == 1, f"no raycluster/{phase} snapshot: {failed or 'the scenario did not run'}"
    return found[0]


def _pods(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [p for p in snapshot.pods() if not p["metadata"].get("deletionTimestamp")]


@pytest.mark.unit
def test_the_node_list_is_read_from_its_marked_line_whatever_ray_prints_around_it() -> None:
    from conformance.backends.raynodes import NODES_MARK

    raylet = (
        "\x1b[33m(raylet)\x1b[0m There are tasks with infeasible resource requests that cannot be scheduled."
    )
    assert alive_nodes_line(f'{NODES_MARK}["10.0.0.2", "10.0.0.1"]\n{raylet}\n') == ["10.0.0.1", "10.0.0.2"]
    with pytest.raises(NoNodeList, match="printed no node list"):
        alive_nodes_line(raylet)


def test_raycluster_pods_carry_kuberay_labels_and_owner_and_run_on_the_backends_nodes(
    live: LiveResult, kube: Kube, provider: Provider
) -> None:
    ready = _phase(live, "ready")
    name, uid = ready.root["metadata"]["name"], ready.uid
    pods = _pods(ready)
    heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
    workers = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]
    assert len(heads) == 1
    assert len(workers) == ready.root["spec"]["workerGroupSpecs"][0]["replicas"]
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
    services = [o for o in ready.tree if o.get("kind") == "Service"]
    assert services, "KubeRay created no head Service"


@pytest.mark.parametrize("phase", ["ready", "scaled-up"])
def test_every_ray_pod_joined_its_head(live: LiveResult, provider: Provider, phase: str) -> None:
    """Real kubelets and real Ray: every Pod of the cluster (the scaled-up worker included) is a live
    node of the head's GCS. The local backend's workers are kwok Pods without Ray: nothing to join."""
    snapshot = _phase(live, phase)
    if Capability.RAY_NODES not in provider.capabilities:
        assert provider.name == "local", f"the {provider.name} backend should list Ray nodes"
        assert snapshot.ray_nodes is None
        return
    want = sorted(p["status"]["podIP"] for p in _pods(snapshot))
    assert snapshot.ray_nodes == want, f"Ray nodes alive on the head: {snapshot.ray_nodes}, Pod IPs: {want}"
    replicas = snapshot.root["spec"]["workerGroupSpecs"][0]["replicas"]
    assert len(want) == 1 + replicas
