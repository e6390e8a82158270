"""conformance/live/capture.py: a kind the snapshotter could not list is recorded with the reason.

The Kube here is a stand-in whose listing of one kind raises the ApiException an API server sends
(the capture's bookkeeping is under test); tests/live/test_live_capture.py makes a real API server
fail to list a kind.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.resource import ResourceList

from conformance.k8s.client import Kube
from conformance.live.capture import Snapshotter
from conformance.snapshot import Expectation

pytestmark = pytest.mark.unit

ROOT = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "root", "uid": "u-root"}}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "uid": "u-pod", "ownerReferences": [{"kind": "ConfigMap", "uid": "u-root"}]},
}


def _resource(group_version: str, kind: str) -> SimpleNamespace:
    group, _, version = group_version.rpartition("/")
    return SimpleNamespace(
        name=kind.lower() + "s",
        kind=kind,
        verbs=["list", "get"],
        namespaced=True,
        group=group,
        api_version=version,
        group_version=group_version,
        preferred=True,
    )


class _PodList(ResourceList):  # type: ignore[misc]
    """The client's "PodList" view, listed beside the kinds: it answers every attribute as the Pod
    resource does (name, verbs, namespaced), but is no kind to list."""

    def base_resource(self) -> SimpleNamespace:
        return _resource("v1", "Pod")


def _pod_list() -> ResourceList:
    return _PodList(None, base_kind="Pod")


class _Kube:
    def __init__(self) -> None:
        kinds = [("v1", "ConfigMap"), ("v1", "Pod"), ("metrics.example/v1", "Usage")]
        self.served = [_resource(v, k) for v, k in kinds] + [_pod_list()]

    def resources(self) -> list[Any]:
        return list(self.served)

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return dict(ROOT)

    def list_objects(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        if kind == "Usage":
            error = ApiException(status=503, reason="Service Unavailable")
            error.body = (
                '{"kind": "Status", "message": "the server is currently unable to handle the request"}'
            )
            raise error
        return {"ConfigMap": [ROOT], "Pod": [POD]}[kind]

    def events(self, namespace: str) -> list[dict[str, Any]]:
        return []


def test_a_kind_that_cannot_be_listed_is_recorded_with_why() -> None:
    snapshot = Snapshotter(cast(Kube, _Kube())).take(
        "s", "p", "ns", ("v1", "ConfigMap", "root"), Expectation(statuses=[])
    )
    assert snapshot.unlisted == {
        "metrics.example/v1/Usage": "503 Service Unavailable: the server is currently unable to handle the request"
    }
    assert [o["metadata"]["name"] for o in snapshot.tree] == ["p"]  # the kinds that could be listed are there


class _DeletedCrdKube(_Kube):
    """Discovery (cached) still lists Widget after its CRD was deleted; the API server answers 404."""

    def __init__(self, still_served: bool) -> None:
        super().__init__()
        self.still_served = still_served
        self.invalidated = 0
        kinds = [("v1", "ConfigMap"), ("v1", "Pod"), ("gone.example/v1", "Widget")]
        self.served = [_resource(v, k) for v, k in kinds]

    def rediscover(self) -> None:
        self.invalidated += 1

    def resource(self, api_version: str, kind: str) -> Any:
        if kind == "Widget" and not self.still_served:
            from kubernetes.dynamic.exceptions import ResourceNotFoundError

            raise ResourceNotFoundError(
                f"No matches found for {{'api_version': {api_version!r}, 'kind': {kind!r}}}"
            )
        return _resource(api_version, kind)

    def list_objects(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        if kind == "Widget":
            raise ApiException(status=404, reason="Not Found")
        return {"ConfigMap": [ROOT], "Pod": [POD]}[kind]


def test_a_kind_whose_crd_was_deleted_is_no_gap_in_the_snapshot() -> None:
    """A 404 for a kind discovery no longer serves, asked afresh, is a deleted CRD: nothing to miss,
    and it is not listed again; a 404 for a kind still served is recorded."""
    kube = _DeletedCrdKube(still_served=False)
    snapshotter = Snapshotter(cast(Kube, kube))
    snapshot = snapshotter.take("s", "p", "ns", ("v1", "ConfigMap", "root"), Expectation(statuses=[]))
    assert snapshot.unlisted == {} and kube.invalidated == 1
    assert ("gone.example/v1", "Widget") not in snapshotter.kinds()
    kept = Snapshotter(cast(Kube, _DeletedCrdKube(still_served=True))).take(
        "s", "p", "ns", ("v1", "ConfigMap", "root"), Expectation(statuses=[])
    )
    assert kept.unlisted == {"gone.example/v1/Widget": "404 Not Found"}


class _ForgottenKindKube(_DeletedCrdKube):
    """Another scenario's refresh already dropped Widget from the client's discovery: listing it raises
    the client's ResourceNotFoundError, not the server's 404."""

    def list_objects(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        if kind == "Widget":
            from kubernetes.dynamic.exceptions import ResourceNotFoundError

            raise ResourceNotFoundError(f"No matches found for {kind}")
        return super().list_objects(api_version, kind, namespace)


def test_a_kind_the_discovery_forgot_is_a_deleted_crd_too() -> None:
    kube = _ForgottenKindKube(still_served=False)
    snapshotter = Snapshotter(cast(Kube, kube))
    snapshot = snapshotter.take("s", "p", "ns", ("v1", "ConfigMap", "root"), Expectation(statuses=[]))
    assert snapshot.unlisted == {} and kube.invalidated == 1
    assert ("gone.example/v1", "Widget") not in snapshotter.kinds()
    kept = Snapshotter(cast(Kube, _ForgottenKindKube(still_served=True))).take(
        "s", "p", "ns", ("v1", "ConfigMap", "root"), Expectation(statuses=[])
    )
    assert list(kept.unlisted) == ["gone.example/v1/Widget"]  # still served: a real gap, recorded
