"""The pure evaluator: instance ids, per-instance values, status mapping, pod classification, gangs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.definition import Definition, load_path
from conformance.evaluate.errors import EvaluationError
from conformance.evaluate.gangs import gang_groups
from conformance.evaluate.instances import SINGLE, instance_ids, instances
from conformance.evaluate.pods import classify
from conformance.evaluate.status import read_status
from conformance.fixtures import load_fixtures
from conformance.tests.helpers import DEFINITIONS, FIXTURES, broken, component

pytestmark = pytest.mark.unit


def _definition(name: str) -> Definition:
    return next(d for d in load_path(DEFINITIONS) if d.name == name)


def _fixture(kind: str) -> dict[str, Any]:
    return next(f.object for f in load_fixtures(FIXTURES) if f.kind == kind)


def _pod(name: str, cluster: str, node_type: str, group: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "labels": {"ray.io/cluster": cluster, "ray.io/node-type": node_type, "ray.io/group": group},
        },
    }


def test_instance_ids_and_per_instance_values() -> None:
    definition = _definition("rayservice")
    root = _fixture("RayService")
    worker = definition.component("worker")
    assert worker is not None
    assert instance_ids(worker, root) == ["gpu-workers", "cpu-workers"]
    by_id = {i.id: i for i in instances(worker, root)}
    assert by_id["gpu-workers"].scale == {"replicas": 1, "minReplicas": 1, "maxReplicas": 3}
    # cpu-workers omits all three: the definition's defaults apply (KubeRay's CRD defaults).
    assert by_id["cpu-workers"].scale == {"replicas": 0, "minReplicas": 0, "maxReplicas": 2147483647}
    assert by_id["gpu-workers"].pod_template is not None
    limits = by_id["gpu-workers"].pod_template["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"


def test_constant_applies_to_the_single_instance() -> None:
    head = _definition("rayservice").component("head")
    assert head is not None
    (only,) = instances(head, _fixture("RayService"))
    assert only.id == SINGLE and only.scale == {"replicas": 1}


def test_misaligned_per_instance_path_is_an_error(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        component(d, "worker")["scaleDefinition"]["replicasPath"] = "1, 2, 3"

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    worker = definition.component("worker")
    assert worker is not None
    with pytest.raises(EvaluationError, match=r"yielded 3 outputs for 2 instance\(s\)"):
        instances(worker, _fixture("RayService"))


def test_duplicate_instance_ids_are_an_error(tmp_path: Path) -> None:
    root = _fixture("RayService")
    root["spec"]["rayClusterConfig"]["workerGroupSpecs"][1]["groupName"] = "gpu-workers"
    worker = _definition("rayservice").component("worker")
    assert worker is not None
    with pytest.raises(EvaluationError, match="instance ids must be unique"):
        instance_ids(worker, root)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, ("initializing",)),
        ({"conditions": [{"type": "Ready", "status": "False", "reason": "Initializing"}]}, ("initializing",)),
        (
            {
                "conditions": [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}],
                "activeServiceStatus": {"applicationStatuses": {"echo": {"status": "RUNNING"}}},
            },
            ("running",),
        ),
        (
            {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "UpgradeInProgress", "status": "True"},
                ],
                "activeServiceStatus": {
                    "rayClusterName": "a",
                    "applicationStatuses": {"echo": {"status": "RUNNING"}},
                },
                "pendingServiceStatus": {
                    "rayClusterName": "b",
                    "applicationStatuses": {"echo": {"status": "DEPLOYING"}},
                },
            },
            ("running",),
        ),
        (
            {
                "conditions": [{"type": "Ready", "status": "True"}],
                "activeServiceStatus": {"applicationStatuses": {"echo": {"status": "UNHEALTHY"}}},
            },
            ("failed",),
        ),
        (
            {
                "conditions": [{"type": "Ready", "status": "False", "reason": "Initializing"}],
                "pendingServiceStatus": {
                    "rayClusterName": "b",
                    "applicationStatuses": {"echo": {"status": "DEPLOY_FAILED"}},
                },
            },
            ("failed",),
        ),
        (
            {"conditions": [{"type": "Ready", "status": "False", "reason": "InitializingTimeout"}]},
            ("failed",),
        ),
    ],
)
def test_rayservice_status_mapping(status: dict[str, Any], expected: tuple[str, ...]) -> None:
    root = _definition("rayservice").root
    assert root.status is not None
    reading = read_status(root.status, {"status": status})
    assert reading.matched == expected
    assert reading.contradictions == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, ("initializing",)),
        ({"jobDeploymentStatus": "Initializing"}, ("initializing",)),
        ({"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}, ("running",)),
        ({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}, ("completed",)),
        ({"jobDeploymentStatus": "Failed", "jobStatus": "FAILED"}, ("failed",)),
        ({"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED"}, ("failed",)),
    ],
)
def test_rayjob_status_mapping(status: dict[str, Any], expected: tuple[str, ...]) -> None:
    root = _definition("rayjob").root
    assert root.status is not None
    assert read_status(root.status, {"status": status}).matched == expected


def test_raycluster_status_uses_phase() -> None:
    root = _definition("raycluster").root
    assert root.status is not None
    assert read_status(root.status, {"status": {"state": "ready"}}).matched == ("running",)
    assert read_status(root.status, {"status": {"state": "failed"}}).matched == ("failed",)
    assert read_status(root.status, {}).matched == ("initializing",)


def test_pod_classification() -> None:
    definition = _definition("rayservice")
    head = classify(definition, _pod("h", "c1", "head", "headgroup"))
    assert [(m.component, m.instance_id) for m in head] == [("head", None)]
    worker = classify(definition, _pod("w", "c1", "worker", "gpu-workers"))
    assert [(m.component, m.instance_id, m.replica_key) for m in worker] == [("worker", "gpu-workers", "w")]
    other = _pod("x", "c1", "worker", "g")
    del other["metadata"]["labels"]["ray.io/node-type"]
    assert classify(definition, other) == []


def test_instance_selector_requires_one_value() -> None:
    definition = _definition("rayservice")
    pod = _pod("w", "c1", "worker", "")
    with pytest.raises(EvaluationError, match="non-empty value"):
        classify(definition, pod)


def test_gang_groups_split_by_cluster() -> None:
    definition = _definition("rayservice")
    pods = [
        _pod("a-head", "active", "head", "headgroup"),
        _pod("a-w1", "active", "worker", "gpu-workers"),
        _pod("p-head", "pending", "head", "headgroup"),
        _pod("p-w1", "pending", "worker", "gpu-workers"),
    ]
    groups = {g.key: g.pods for g in gang_groups(definition, pods)}
    assert groups == {("active",): ("ns/a-head", "ns/a-w1"), ("pending",): ("ns/p-head", "ns/p-w1")}


def test_gang_filters_exclude_pods(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        member = d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][1]
        member["filters"] = ['.metadata.labels["ray.io/group"] == "gpu-workers"']

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    pods = [
        _pod("h", "c", "head", "headgroup"),
        _pod("g", "c", "worker", "gpu-workers"),
        _pod("x", "c", "worker", "cpu"),
    ]
    (group,) = gang_groups(definition, pods)
    assert group.pods == ("ns/g", "ns/h")


def test_selector_with_value_is_one_unparenthesized_jq_program(tmp_path: Path) -> None:
    """Karta evaluates `<keyPath> == "<value>"` as written: `//` binds looser than `==`."""

    def change(d: dict[str, Any]) -> None:
        component(d, "head")["podSelector"]["componentTypeSelector"]["keyPath"] = (
            '.metadata.labels["ray.io/node-type"] // "none"'
        )

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    head = definition.component("head")
    assert head is not None
    from conformance.evaluate.pods import selects

    # `.x // ("none" == "head")` yields the label string, never `true`: the selector matches nothing.
    assert not selects(definition, head, _pod("h", "c1", "head", "headgroup"))


def test_selector_without_value_counts_false_and_empty_as_present(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        selector = component(d, "head")["podSelector"]["componentTypeSelector"]
        selector["keyPath"] = '.metadata.labels["ray.io/node-type"] == "head"'
        del selector["value"]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    head = definition.component("head")
    assert head is not None
    from conformance.evaluate.pods import selects

    assert selects(definition, head, _pod("w", "c1", "worker", "g"))  # `false` is a non-null output


def test_pods_go_to_leaves_only(tmp_path: Path) -> None:
    """Karta assigns Pods to leaf components (with a pod template, pod spec or fragmented spec) only:
    a Pod-kind component with a selector but no spec takes no Pod."""

    def change(d: dict[str, Any]) -> None:
        del component(d, "worker")["specDefinition"]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    assert [c.name for c in definition.leaves] == ["head"]
    # one leaf left: Karta gives it every Pod without looking at its selector
    assert [m.component for m in classify(definition, _pod("w", "c1", "worker", "gpu-workers"))] == ["head"]


def test_a_leaf_without_type_selector_takes_no_pod_when_there_are_several(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        del component(d, "head")["podSelector"]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    assert classify(definition, _pod("h", "c1", "head", "headgroup")) == []
    assert [m.component for m in classify(definition, _pod("w", "c1", "worker", "g"))] == ["worker"]


def test_gang_member_naming_an_owner_applies_to_its_pods_direct_members_first(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"] = [
            {
                "name": "by-owner",
                "members": [
                    {"componentName": "raycluster", "groupByKeyPaths": ['.metadata.labels["ray.io/cluster"]']}
                ],
            },
            {"name": "heads", "members": [{"componentName": "head", "groupByKeyPaths": [".metadata.name"]}]},
        ]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    pods = [
        _pod("h", "c", "head", "headgroup"),
        _pod("w1", "c", "worker", "g"),
        _pod("w2", "c", "worker", "g"),
    ]
    groups = {(g.pod_group, g.key): g.pods for g in gang_groups(definition, pods)}
    assert groups == {("heads", ("h",)): ("ns/h",), ("by-owner", ("c",)): ("ns/w1", "ns/w2")}


def test_gang_filter_must_yield_one_value(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        member = d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][1]
        member["filters"] = [".metadata.labels.missing"]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    with pytest.raises(EvaluationError, match="a filter must yield exactly one non-empty value"):
        gang_groups(definition, [_pod("w", "c", "worker", "g")])
