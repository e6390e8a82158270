"""conformance/snapshot.py: a Snapshot saved and loaded keeps what it could not list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.snapshot import Expectation, Snapshot

pytestmark = pytest.mark.unit


def _snapshot(**extra: object) -> Snapshot:
    return Snapshot(
        scenario="rayservice",
        phase="created",
        namespace="ns",
        root={"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "r", "uid": "u"}},
        tree=[],
        namespace_pods=[],
        events=[],
        served=["ray.io/v1/RayService"],
        expect=Expectation(statuses=["initializing"]),
        **extra,  # type: ignore[arg-type]
    )


def test_unlisted_kinds_survive_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    _snapshot(unlisted={"metrics.k8s.io/v1beta1/PodMetrics": "503 Service Unavailable"}).save(path)
    assert json.loads(path.read_text())["unlisted"] == {
        "metrics.k8s.io/v1beta1/PodMetrics": "503 Service Unavailable"
    }
    assert Snapshot.load(path).unlisted == {"metrics.k8s.io/v1beta1/PodMetrics": "503 Service Unavailable"}


def test_a_snapshot_saved_before_unlisted_existed_loads_as_complete(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    _snapshot().save(path)
    data = json.loads(path.read_text())
    del data["unlisted"]
    path.write_text(json.dumps(data))
    assert Snapshot.load(path).unlisted == {}


def test_a_root_created_suspended_is_suspended_already_by_kuberays_own_status() -> None:
    """The created snapshot of a root made with spec.suspend can come after KubeRay suspended it (kind, a
    slow machine: rayjob-suspend's created phase read Suspended): then that is the truth, not initializing."""
    from conformance.kuberay import running_already, suspended_already

    job = {"kind": "RayJob", "spec": {"suspend": True}, "status": {"jobDeploymentStatus": "Suspended"}}
    cluster = {"kind": "RayCluster", "spec": {"suspend": True}, "status": {"state": "suspended"}}
    assert suspended_already(job) and suspended_already(cluster) and not running_already(job)
    assert not suspended_already({**job, "status": {}})  # not yet: initializing
    assert not suspended_already({**job, "spec": {"suspend": False}})  # resumed: whatever it says is not this
    assert not suspended_already({"kind": "RayService", "spec": {"suspend": True}, "status": {}})
