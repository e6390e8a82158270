"""Live: a kind the API server cannot list is recorded in the Snapshot, and a wait on it names the error.

The failure is real: a CRD whose preferred version (v2) needs a conversion webhook that does not
exist, and a Widget stored at v1 in the test's namespace. The API server then answers every list
of Widgets at v2 there with an error, as it would for an aggregated API that is down.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from conformance.k8s.client import Kube, WaitTimeout
from conformance.live.capture import Snapshotter
from conformance.snapshot import Expectation

pytestmark = pytest.mark.live


def _crd(group: str, namespace: str) -> dict[str, Any]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": schema},
                {"name": "v2", "served": True, "storage": False, "schema": schema},
            ],
            "conversion": {
                "strategy": "Webhook",
                "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {
                        "service": {"namespace": namespace, "name": "no-such-webhook", "path": "/convert"}
                    },
                },
            },
        },
    }


@pytest.fixture
def group(kube: Kube, namespace: str) -> Iterator[str]:
    """The API group of a Widget CRD that cannot list at v2, with one Widget in ``namespace``
    (a group of its own per test: a deleted CRD lingers in discovery for a while)."""
    group = f"broken-{uuid.uuid4().hex[:6]}.conformance.karta.test"
    kube.create(_crd(group, namespace))
    try:

        def discoverable() -> bool:
            try:
                kube.resource(f"{group}/v1", "Widget")
                kube.resource(f"{group}/v2", "Widget")
            except ResourceNotFoundError:
                kube.dynamic.resources.invalidate_cache()
                return False
            return True

        kube.wait_for("the Widget CRD served at v1 and v2", discoverable, 60)
        widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "stored-at-v1"}}
        kube.wait_for(
            "a Widget created at v1", lambda: kube.create(widget, namespace), 60
        )  # 404 until served
        yield group
    finally:
        kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}")


def test_a_kind_that_cannot_be_listed_is_recorded_in_the_snapshot(
    kube: Kube, namespace: str, group: str
) -> None:
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "root"}}, namespace)
    snapshot = Snapshotter(kube).take(
        "capture", "broken-kind", namespace, ("v1", "ConfigMap", "root"), Expectation(statuses=[])
    )
    assert list(snapshot.unlisted) == [f"{group}/v2/Widget"]
    reason = snapshot.unlisted[f"{group}/v2/Widget"]
    assert reason.startswith("500 "), reason
    assert "conversion webhook" in reason, reason


def test_a_wait_on_a_kind_that_cannot_be_listed_names_the_api_error(
    kube: Kube, namespace: str, group: str
) -> None:
    with pytest.raises(WaitTimeout) as caught:
        kube.wait_for(
            "a Widget listed at v2", lambda: kube.list_objects(f"{group}/v2", "Widget", namespace) or None, 3
        )
    assert caught.value.last is None
    assert "; last seen: None; last API error: 500 " in str(caught.value)
    assert "conversion webhook" in str(caught.value)
