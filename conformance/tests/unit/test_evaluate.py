"""The pure evaluator: instance ids, per-instance values, status mapping, pod classification, gangs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.definition import Definition, load_path
from conformance.errors import EvaluationError
from conformance.evaluate.gangs import gang_groups, subtree_scale
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
    with pytest.raises(EvaluationError, match=r"instance ids count \(2\) does not match results count \(3\)"):
        instances(worker, _fixture("RayService"))


def test_constant_min_replicas_goes_to_the_first_instance_only(tmp_path: Path) -> None:
    """Karta's ExtractScale pads shorter outputs with null (safeGetByIndex): no broadcast."""

    def change(d: dict[str, Any]) -> None:
        component(d, "worker")["scaleDefinition"]["minReplicasPath"] = "1"

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    worker = definition.component("worker")
    assert worker is not None
    by_id = {i.id: i.scale for i in instances(worker, _fixture("RayService"))}
    assert by_id["gpu-workers"]["minReplicas"] == 1
    assert by_id["cpu-workers"]["minReplicas"] is None


def test_constant_scale_alone_with_several_instances_is_an_error(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        component(d, "worker")["scaleDefinition"] = {"replicasPath": "1"}

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    worker = definition.component("worker")
    assert worker is not None
    with pytest.raises(EvaluationError, match=r"instance ids count \(2\) does not match results count \(1\)"):
        instances(worker, _fixture("RayService"))


def test_constant_pod_template_with_several_instances_is_an_error(tmp_path: Path) -> None:
    """Karta's zipWithInstanceIds: one template per id, a constant is not copied."""

    def change(d: dict[str, Any]) -> None:
        component(d, "worker")["specDefinition"]["podTemplateSpecPath"] = (
            ".spec.rayClusterConfig.workerGroupSpecs[0].template"
        )

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    worker = definition.component("worker")
    assert worker is not None
    with pytest.raises(EvaluationError, match=r"yielded 1 output\(s\) for 2 instance\(s\)"):
        instances(worker, _fixture("RayService"))


def test_missing_pod_template_reads_as_an_empty_object(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        component(d, "head")["specDefinition"]["podTemplateSpecPath"] = ".spec.noSuchTemplate"

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    head = definition.component("head")
    assert head is not None
    (only,) = instances(head, _fixture("RayService"))
    assert only.pod_template == {}


def test_non_integer_scale_is_an_error(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        component(d, "head")["scaleDefinition"]["replicasPath"] = '"1"'

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    head = definition.component("head")
    assert head is not None
    with pytest.raises(EvaluationError, match=r"a scale must be an integer or null, yielded 1"):
        instances(head, _fixture("RayService"))


def test_repeated_instance_ids_are_accepted_and_the_last_wins() -> None:
    root = _fixture("RayService")
    groups = root["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    groups[1]["groupName"] = "gpu-workers"
    groups[1]["minReplicas"] = 7
    worker = _definition("rayservice").component("worker")
    assert worker is not None
    assert instance_ids(worker, root) == ["gpu-workers", "gpu-workers"]
    (only,) = instances(worker, root)
    assert only.id == "gpu-workers" and only.scale["minReplicas"] == 7


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
        # Ready=True (serve endpoints remain) with the active app UNHEALTHY: it serves, degraded
        (
            {
                "conditions": [{"type": "Ready", "status": "True"}],
                "activeServiceStatus": {"applicationStatuses": {"echo": {"status": "UNHEALTHY"}}},
            },
            ("degraded",),
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
        # what KubeRay writes once the serve Service's ready endpoints drop to 0 (calculateConditions)
        (
            {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "ZeroServeEndpoints",
                        "message": "Number of serve endpoints dropped to 0",
                    },
                    {"type": "UpgradeInProgress", "status": "False", "reason": "NoPendingCluster"},
                ],
                "numServeEndpoints": 0,
                "serviceStatus": "NotRunning",
                "activeServiceStatus": {
                    "rayClusterName": "a",
                    "applicationStatuses": {"echo": {"status": "RUNNING"}},
                },
            },
            ("degraded",),
        ),
        (
            {
                "conditions": [{"type": "Ready", "status": "False", "reason": "ZeroServeEndpoints"}],
                "activeServiceStatus": {
                    "rayClusterName": "a",
                    "applicationStatuses": {"echo": {"status": "UNHEALTHY"}},
                },
            },
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
    "path", ["rayservice.yaml", "variants/rayservice-pods-under-root.yaml", "upstream/rayservice.yaml"]
)
def test_zero_serve_endpoints_reads_degraded_only(path: str) -> None:
    """Every shipped RayService definition (the project's, its variant, upstream's) reads the state
    KubeRay writes when no serve endpoint is ready as degraded and nothing else."""
    (definition,) = load_path(DEFINITIONS / path)
    root = definition.root
    assert root.status is not None
    status = {
        "conditions": [{"type": "Ready", "status": "False", "reason": "ZeroServeEndpoints"}],
        "activeServiceStatus": {
            "rayClusterName": "a",
            "applicationStatuses": {"echo": {"status": "RUNNING"}},
        },
    }
    assert read_status(root.status, {"status": status}).matched == ("degraded",)
    status["conditions"] = [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}]
    assert read_status(root.status, {"status": status}).matched == ("running",)


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
        member = d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][0]
        member["filters"] = ['.metadata.labels["ray.io/group"] != "cpu"']

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


def _without_redis_cleanup(d: dict[str, Any]) -> None:
    """The definition without its GCS FT redis-cleanup components (its head and worker leaves only)."""
    structure = d["spec"]["structureDefinition"]
    structure["childComponents"] = [
        c for c in structure["childComponents"] if not c["name"].startswith("redis-cleanup")
    ]


def test_pods_go_to_leaves_only(tmp_path: Path) -> None:
    """Karta assigns Pods to leaf components (with a pod template, pod spec or fragmented spec) only:
    a Pod-kind component with a selector but no spec takes no Pod."""

    def change(d: dict[str, Any]) -> None:
        _without_redis_cleanup(d)
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
        member = d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][0]
        member["filters"] = [".metadata.labels.missing"]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    with pytest.raises(EvaluationError, match="a filter must yield exactly one non-empty value"):
        gang_groups(definition, [_pod("w", "c", "worker", "g")])


# --- gang minimums, as KAI's Karta grouper computes them (CalculateSubtreeScale) ---------------


def _minimums(definition: Definition, root: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        g.label: (g.effective_component, dict(g.pod_minimums), g.minimum)
        for g in gang_groups(definition, pods, root)
    }


def _cluster_pods(cluster: str) -> list[dict[str, Any]]:
    return [
        _pod(f"{cluster}-h", cluster, "head", "headgroup"),
        _pod(f"{cluster}-g", cluster, "worker", "gpu-workers"),
    ]


def test_shipped_rayservice_gives_every_pod_the_clusters_minimum() -> None:
    """Effective component: the RayCluster component; its subtree: head 1 + gpu 1 + cpu 0."""
    root = _fixture("RayService")
    got = _minimums(_definition("rayservice"), root, _cluster_pods("a") + _cluster_pods("b"))
    assert got == {
        "raycluster[a]": ("raycluster", {"ns/a-h": 2, "ns/a-g": 2}, 2),
        "raycluster[b]": ("raycluster", {"ns/b-h": 2, "ns/b-g": 2}, 2),
    }


def _members_on_leaves(d: dict[str, Any]) -> None:
    d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"] = [
        {"componentName": "head", "groupByKeyPaths": ['.metadata.labels["ray.io/cluster"]']},
        {"componentName": "worker", "groupByKeyPaths": ['.metadata.labels["ray.io/cluster"]']},
    ]


def test_members_on_the_leaves_size_each_pod_by_its_own_component(tmp_path: Path) -> None:
    """The earlier shipped model: a head Pod's group minimum is 1, a worker's its own group's."""
    (definition,) = load_path(broken(tmp_path, "rayservice", _members_on_leaves))
    root = _fixture("RayService")
    root["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["minReplicas"] = 3
    ((_label, (effective, per_pod, minimum)),) = _minimums(definition, root, _cluster_pods("a")).items()
    assert per_pod == {"ns/a-h": 1, "ns/a-g": 3} and minimum is None and effective == "head"


def test_zero_min_replicas_falls_back_to_replicas() -> None:
    """Karta's getEffectiveMinReplicas: minReplicas when > 0, else replicas."""
    root = _fixture("RayService")
    gpu, cpu = root["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    gpu["minReplicas"], gpu["replicas"] = 0, 2
    cpu["minReplicas"], cpu["replicas"] = 0, 0
    assert subtree_scale(_definition("rayservice"), "raycluster", None, root) == 3
    assert subtree_scale(_definition("rayservice"), "worker", "gpu-workers", root) == 2
    with pytest.raises(EvaluationError, match="instance id nope not found"):
        subtree_scale(_definition("rayservice"), "worker", "nope", root)


def test_without_any_scale_definition_the_minimum_counts_leaf_instances(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        _without_redis_cleanup(d)
        for name in ("head", "worker"):
            del component(d, name)["scaleDefinition"]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    root = _fixture("RayService")
    assert subtree_scale(definition, "raycluster", None, root) == 3  # head + two worker groups
    assert subtree_scale(definition, "worker", "cpu-workers", root) == 1


def test_pod_instance_not_declared_is_an_error(tmp_path: Path) -> None:
    """Only when the effective component is the Pod's own does the Pod's instance count (and must exist)."""
    (leaves,) = load_path(broken(tmp_path, "raycluster", _members_on_leaves))
    pods, root = [_pod("w", "c", "worker", "gone")], _fixture("RayCluster")
    with pytest.raises(EvaluationError, match="could not match instance id 'gone'"):
        gang_groups(leaves, pods, root)
    (group,) = gang_groups(_definition("raycluster"), pods, root)
    assert group.effective_component == "raycluster" and group.minimum == 2


# --- status readings where Karta's differ from a lenient reading -------------------------------


def _status_variant(tmp_path: Path, change: Any) -> Definition:
    (definition,) = load_path(broken(tmp_path, "raycluster", change))
    return definition


def test_conditions_path_yielding_objects_fails_the_status_reading(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["conditionsDefinition"][
            "path"
        ] = ".status.conditions[]"

    definition = _status_variant(tmp_path, change)
    root = {"status": {"state": "ready", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert definition.root.status is not None
    with pytest.raises(EvaluationError, match="must yield lists of condition objects"):
        read_status(definition.root.status, root)


def test_numeric_phase_fails_the_status_reading(tmp_path: Path) -> None:
    definition = _definition("raycluster")
    assert definition.root.status is not None
    with pytest.raises(EvaluationError, match="a phase must be a string, yielded 3"):
        read_status(definition.root.status, {"status": {"state": 3}})


def test_expected_result_is_pasted_into_one_jq_program(tmp_path: Path) -> None:
    """Karta runs `(<expression>) | tostring == "<expectedResult>"`: a quote in it breaks the program."""

    def change(d: dict[str, Any]) -> None:
        mappings = d["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"]
        mappings["running"] = [{"byExpression": {"expression": ".status.state", "expectedResult": 'a"b'}}]

    definition = _status_variant(tmp_path, change)
    assert definition.root.status is not None
    with pytest.raises(EvaluationError, match="jq"):
        read_status(definition.root.status, {"status": {"state": 'a"b'}})


def test_repeated_condition_types_keep_the_last(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        mappings = d["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"]
        mappings["running"] = [{"byConditions": [{"type": "Ready", "status": "True"}]}]

    definition = _status_variant(tmp_path, change)
    assert definition.root.status is not None
    first_true = {
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "False"}]}
    }
    last_true = {
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Ready", "status": "True"}]}
    }
    assert "running" not in read_status(definition.root.status, first_true).matched
    assert "running" in read_status(definition.root.status, last_true).matched
