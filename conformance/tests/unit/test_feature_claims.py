"""Live claims on the feature matrix's shapes: multi-host and suspended worker groups, a suspended
RayCluster (synthetic Snapshots shaped as KubeRay v1.6.2 made them in the feature scenarios)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.live import check_snapshot
from conformance.definition import Definition, load_path
from conformance.fixtures import load_fixtures
from conformance.snapshot import Expectation, Snapshot
from conformance.tests.helpers import DEFINITIONS, as_resource_interface, shipped, write
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit

# The shipped RayCluster definition as it was before the feature matrix (scale paths read KubeRay's
# replicas as they are), to show what the matrix found.
BEFORE = {
    "replicasPath": ".spec.workerGroupSpecs[] | (.replicas // 0)",
    "minReplicasPath": ".spec.workerGroupSpecs[] | (.minReplicas // 0)",
    "maxReplicasPath": ".spec.workerGroupSpecs[] | (.maxReplicas // 2147483647)",
}


def _cluster(groups: list[dict[str, Any]], state: str = "ready", suspend: bool = False) -> dict[str, Any]:
    fixture = next(f.object for f in load_fixtures() if f.kind == "RayCluster")
    root = copy.deepcopy(fixture)
    root["metadata"].update({"uid": "rc", "namespace": "ns"})
    template = root["spec"]["workerGroupSpecs"][0]["template"]
    root["spec"]["workerGroupSpecs"] = [{"rayStartParams": {}, "template": template, **g} for g in groups]
    root["spec"]["suspend"] = suspend
    root["status"] = {"state": state}
    return root


def _pod(root: dict[str, Any], name: str, node_type: str, group: str, **labels: str) -> dict[str, Any]:
    spec = root["spec"]
    template = (
        spec["headGroupSpec"]["template"]
        if node_type == "head"
        else next(g["template"] for g in spec["workerGroupSpecs"] if g["groupName"] == group)
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "labels": {
                **template["metadata"].get("labels", {}),
                "ray.io/cluster": root["metadata"]["name"],
                "ray.io/node-type": node_type,
                "ray.io/group": group,
                **labels,
            },
            "annotations": dict(template["metadata"].get("annotations", {})),
            "ownerReferences": [{"kind": "RayCluster", "name": root["metadata"]["name"], "uid": "rc"}],
        },
        "spec": template["spec"],
        "status": {"phase": "Running"},
    }


def _snapshot(root: dict[str, Any], pods: list[dict[str, Any]], statuses: list[str]) -> Snapshot:
    return Snapshot(
        scenario="feature",
        phase="phase",
        namespace="ns",
        root=root,
        tree=pods,
        namespace_pods=pods,
        events=[],
        served=["ray.io/v1/RayCluster", "v1/Pod"],
        expect=Expectation(statuses=statuses, current_owners=[root["metadata"]["name"]]),
    )


def _multi_host() -> Snapshot:
    """numOfHosts 2, replicas 2, minReplicas 1: four worker Pods in two replicas of two hosts."""
    root = _cluster(
        [{"groupName": "workers", "replicas": 2, "minReplicas": 1, "maxReplicas": 3, "numOfHosts": 2}]
    )
    pods = [_pod(root, "head", "head", "headgroup")] + [
        _pod(
            root,
            f"w-{replica}-{host}",
            "worker",
            "workers",
            **{
                "ray.io/worker-group-replica-name": f"workers-{replica}",
                "ray.io/replica-host-index": str(host),
            },
        )
        for replica in "ab"
        for host in (0, 1)
    ]
    return _snapshot(root, pods, ["running"])


def _group_suspended() -> Snapshot:
    """Two groups; `extra` suspended, so KubeRay deleted its Pods."""
    root = _cluster(
        [
            {"groupName": "workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 2},
            {"groupName": "extra", "replicas": 1, "minReplicas": 1, "maxReplicas": 2, "suspend": True},
        ]
    )
    return _snapshot(
        root, [_pod(root, "head", "head", "headgroup"), _pod(root, "w", "worker", "workers")], ["running"]
    )


def _definition(tmp_path: Path, before: bool = False, legacy: bool = False) -> Definition:
    document = shipped("raycluster")
    if before:
        scale = document["spec"]["structureDefinition"]["childComponents"][1]["scaleDefinition"]
        scale.update(BEFORE)
    if legacy:
        document = as_resource_interface(document)
    [definition] = load_path(write(tmp_path, document))
    return definition


def _by_claim(definition: Definition, snapshot: Snapshot) -> dict[str, list[tuple[Outcome, str]]]:
    found: dict[str, list[tuple[Outcome, str]]] = {}
    for verdict in check_snapshot(definition, snapshot):
        if not verdict.ok:
            found.setdefault(verdict.claim, []).append((verdict.outcome, verdict.message))
    return found


def test_multi_host_group_read_as_replicas_fails_replicas_and_gang_minimum(tmp_path: Path) -> None:
    found = _by_claim(_definition(tmp_path, before=True), _multi_host())
    assert set(found) == {"replicas", "gang-minimum", "cannot-express"}
    assert found["replicas"] == [
        (
            Outcome.FAIL,
            "RayCluster/conformance-raycluster: 4 live Pod(s) for instance 'workers', the scale path says 2; "
            "the group has numOfHosts 2 and Karta counts Pods: the scale paths must multiply by .numOfHosts",
        )
    ]
    assert found["gang-minimum"] == [
        (
            Outcome.FAIL,
            "group raycluster[conformance-raycluster]: minimum 2 (subtree scale of 'raycluster'), but RayCluster "
            "conformance-raycluster needs 3 Pods together (head + minReplicas x numOfHosts per worker group)",
        )
    ]


def test_shipped_definition_sizes_a_multi_host_group_and_says_what_it_cannot_express(tmp_path: Path) -> None:
    found = _by_claim(_definition(tmp_path), _multi_host())
    assert list(found) == ["cannot-express"]
    ((outcome, message),) = found["cannot-express"]
    assert outcome is Outcome.CANNOT_EXPRESS
    assert message.startswith("worker group 'workers': one KubeRay replica is numOfHosts=2 Pods")


def test_a_suspended_group_read_as_its_replicas_fails(tmp_path: Path) -> None:
    found = _by_claim(_definition(tmp_path, before=True), _group_suspended())
    assert sorted(found) == ["gang-minimum", "instance-ids", "replicas"]
    assert found["replicas"] == [
        (
            Outcome.FAIL,
            "RayCluster/conformance-raycluster: 0 live Pod(s) for instance 'extra', the scale path says 1",
        )
    ]
    assert "needs 2 Pods together" in found["gang-minimum"][0][1]


def test_shipped_definition_reads_a_suspended_group_as_no_pods(tmp_path: Path) -> None:
    assert _by_claim(_definition(tmp_path), _group_suspended()) == {}


def test_a_suspended_cluster_reads_suspended_and_the_legacy_dialect_cannot_say_it(tmp_path: Path) -> None:
    root = _cluster(
        [{"groupName": "workers", "replicas": 1, "minReplicas": 1}], state="suspended", suspend=True
    )
    snapshot = _snapshot(root, [], ["suspended"])
    assert _by_claim(_definition(tmp_path), snapshot) == {}
    found = _by_claim(_definition(tmp_path, legacy=True), snapshot)
    assert found == {
        "cannot-express": [
            (
                Outcome.CANNOT_EXPRESS,
                "the workload is suspended, a status the ResourceInterface (optimization.nvidia.com/v1alpha1) "
                "dialect does not have (it has initializing, running, completed, failed, degraded)",
            )
        ]
    }
    # Karta's catalog RayCluster maps Suspended too: the upstream definition reads it the same way.
    [upstream] = [d for d in load_path(DEFINITIONS / "upstream") if d.name == "ray-io-raycluster-v1"]
    assert "status" not in _by_claim(upstream, snapshot)


def _child_cluster(root: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """RayCluster ``rc`` in namespace ``ns`` with ``spec``, owned by ``root`` (a RayService or RayJob)."""
    owner = {"kind": root["kind"], "name": root["metadata"]["name"], "uid": root["metadata"]["uid"]}
    metadata = {"name": "rc", "namespace": "ns", "uid": "rc", "ownerReferences": [owner]}
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": metadata, "spec": spec}


def _serving_rayservice() -> dict[str, Any]:
    """The RayService fixture, Ready and serving from its active RayCluster ``rc``."""
    root = copy.deepcopy(next(f.object for f in load_fixtures() if f.kind == "RayService"))
    root["metadata"].update({"uid": "rs", "namespace": "ns"})
    root["status"] = {
        "conditions": [{"type": "Ready", "status": "True"}],
        "activeServiceStatus": {
            "rayClusterName": "rc",
            "applicationStatuses": {"echo": {"status": "RUNNING"}},
        },
    }
    return root


def _child_snapshot(
    root: dict[str, Any], cluster: dict[str, Any], pods: list[dict[str, Any]], expect: Expectation
) -> Snapshot:
    """A Snapshot of ``root`` (a RayService or RayJob) with its RayCluster ``cluster`` and that cluster's ``pods``."""
    return Snapshot(
        scenario="feature",
        phase="phase",
        namespace="ns",
        root=root,
        tree=[cluster, *pods],
        namespace_pods=pods,
        events=[],
        served=[f"ray.io/v1/{root['kind']}", "ray.io/v1/RayCluster", "v1/Pod"],
        expect=expect,
    )


def test_a_replicas_only_rayservice_change_the_cluster_never_sees_cannot_be_expressed() -> None:
    """KubeRay leaves the RayCluster at its replicas when only the RayService's replicas change; the Pods
    follow the RayCluster, and Karta reads scale paths on the root only."""
    root = _serving_rayservice()
    cluster_spec = copy.deepcopy(root["spec"]["rayClusterConfig"])
    root["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["replicas"] = 2  # the change; the cluster keeps 1
    cluster = _child_cluster(root, cluster_spec)
    pods = [_pod(cluster, "head", "head", "headgroup"), _pod(cluster, "gpu", "worker", "gpu-workers")]
    snapshot = _child_snapshot(root, cluster, pods, Expectation(statuses=["running"], current_owners=["rc"]))
    [definition] = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    found = _by_claim(definition, snapshot)
    assert list(found) == ["cannot-express"]
    assert found["cannot-express"] == [
        (
            Outcome.CANNOT_EXPRESS,
            "RayCluster/rc: 1 live Pod(s) for instance 'gpu-workers', as RayCluster/rc's own worker group says; the "
            "root's cluster spec it was copied from says 2, and the definition reads that (2). The operator changed "
            "the RayCluster and not the root (a RayService's replicas-only change "
            "never reaches it; RayJob deletionStrategy DeleteWorkers suspends its worker groups), and Karta "
            "evaluates scale paths on the root only",
        )
    ]


def test_a_rayjob_whose_workers_were_deleted_keeps_a_minimum_no_definition_can_lower() -> None:
    """deletionStrategy DeleteWorkers: KubeRay suspends the worker groups of the RayJob's RayCluster, not
    of the RayJob's rayClusterSpec. Karta's minimum (head + the root's minReplicas) is right for the spec
    the root says and wrong for the lone head: CANNOT-EXPRESS on gang-minimum and replicas, not FAIL."""
    snapshot = _rayjob_snapshot(workers_deleted=True)
    [definition] = [d for d in load_path(DEFINITIONS) if d.name == "rayjob"]
    found = _by_claim(definition, snapshot)
    assert set(found) == {"gang-minimum", "cannot-express"}
    (gang,) = found["gang-minimum"]
    assert gang[0] is Outcome.CANNOT_EXPRESS
    assert gang[1].startswith(
        "group raycluster[rc]: minimum 2, what the root's cluster spec needs, but RayCluster rc needs 1 Pods "
        "together by its own spec"
    )
    assert all(outcome is Outcome.CANNOT_EXPRESS for outcome, _ in found["cannot-express"])


def _autoscaled(min_replicas: int) -> Snapshot:
    """An autoscaled group the autoscaler scaled to 2 (replicas 2, minReplicas ``min_replicas``)."""
    root = _cluster([{"groupName": "workers", "replicas": 2, "minReplicas": min_replicas, "maxReplicas": 2}])
    root["spec"]["enableInTreeAutoscaling"] = True
    pods = [_pod(root, "head", "head", "headgroup"), _pod(root, "w1", "worker", "workers")]
    return _snapshot(root, [*pods, _pod(root, "w2", "worker", "workers")], ["running"])


def test_an_autoscaled_group_with_minimum_0_is_counted_at_its_replicas_which_no_definition_can_avoid(
    tmp_path: Path,
) -> None:
    """Karta's getEffectiveMinReplicas takes replicas where minReplicas is 0: the cluster needs its head
    alone, Karta's minimum is head + the 2 workers the autoscaler asked for (scenario in-tree-autoscaling)."""
    found = _by_claim(_definition(tmp_path), _autoscaled(0))
    assert list(found) == ["gang-minimum"]
    ((outcome, message),) = found["gang-minimum"]
    assert outcome is Outcome.CANNOT_EXPRESS
    assert message.startswith(
        "group raycluster[conformance-raycluster]: minimum 3, but RayCluster conformance-raycluster needs 1 Pods "
        "together: worker group(s) ['workers'] have minReplicas 0 and 2 Pod(s) now"
    )
    # with minReplicas 1 Karta's minimum (head + 1) is what the cluster needs: no verdict but passes
    assert _by_claim(_definition(tmp_path), _autoscaled(1)) == {}


# Recorded by scenario gcs-fault-tolerance (local backend, KubeRay v1.6.2): RayCluster ft-raycluster being
# deleted, its Ray Pods gone, its redis-cleanup Job and that Job's Pod (built from the head Pod).
REDIS_CLEANUP = Path(__file__).resolve().parents[1] / "data" / "gcs-fault-tolerance" / "redis-cleanup.json"


def _cleanup_definition(tmp_path: Path, components: bool = True, fil: bool = True) -> Definition:
    document = shipped("raycluster")
    structure = document["spec"]["structureDefinition"]
    if not components:
        structure["childComponents"] = [
            c for c in structure["childComponents"] if c["name"] not in ("redis-cleanup", "redis-cleanup-pod")
        ]
    if not fil:
        for group in document["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"]:
            for member in group["members"]:
                member.pop("filters", None)
    [definition] = load_path(write(tmp_path, document))
    return definition


def test_the_redis_cleanup_pod_is_a_component_of_its_own_and_in_no_gang(tmp_path: Path) -> None:
    snapshot = Snapshot.load(REDIS_CLEANUP)
    (pod,) = snapshot.pods()
    assert pod["metadata"]["labels"]["ray.io/node-type"] == "redis-cleanup"
    assert _by_claim(_cleanup_definition(tmp_path), snapshot) == {}
    # Before: no component took the Pod, and its Job was no kind of the definition's.
    before = _by_claim(_cleanup_definition(tmp_path, components=False), snapshot)
    failed = {claim for claim, found in before.items() if any(o is Outcome.FAIL for o, _ in found)}
    assert failed == {"membership", "ownership"}
    # the Pods not matched, the claims about them are not evaluated: an ERROR per component that says so
    assert {claim for claim in before if claim not in failed} == {
        "instance-ids",
        "replicas",
        "template-fidelity",
    }
    assert all(
        o is Outcome.ERROR and m.startswith("not evaluated at this phase")
        for claim in ("instance-ids", "replicas", "template-fidelity")
        for o, m in before[claim]
    )
    assert before["membership"] == [
        (
            Outcome.FAIL,
            f"Pod {snapshot.namespace}/{pod['metadata']['name']} of the workload is selected by no component; "
            "exactly one is required",
        )
    ]
    # The components without the member's filter: the Pod's effective member is the RayCluster's, so a gang
    # scheduler would hold it (alone, its cluster's Pods deleted) to the cluster's minimum of 2.
    unfiltered = _by_claim(_cleanup_definition(tmp_path, fil=False), snapshot)
    assert set(unfiltered) == {"gang", "gang-minimum"}
    assert unfiltered["gang-minimum"] == [
        (Outcome.FAIL, "group raycluster[ft-raycluster] holds Pods of 0 RayClusters; a minimum needs one")
    ]


def test_under_a_rayjob_the_redis_cleanup_pod_was_read_as_the_submitter(tmp_path: Path) -> None:
    """Recorded by rayjob-redis-cleanup: the RayJob's cluster deleted after the job (GCS FT). The old
    submitter selector (any Pod with batch.kubernetes.io/job-name) took the cleanup Pod."""
    snapshot = Snapshot.load(REDIS_CLEANUP.parent / "rayjob-redis-cleanup.json")
    [definition] = load_path(DEFINITIONS / "rayjob.yaml")
    assert [v for v in check_snapshot(definition, snapshot) if not v.ok] == []
    document = shipped("rayjob")
    structure = document["spec"]["structureDefinition"]
    structure["childComponents"] = [
        c for c in structure["childComponents"] if c["name"] not in ("redis-cleanup", "redis-cleanup-pod")
    ]
    submitter = next(c for c in structure["childComponents"] if c["name"] == "submitter-pod")
    submitter["podSelector"]["componentTypeSelector"]["keyPath"] = (
        '.metadata.labels["batch.kubernetes.io/job-name"]'
    )
    [before] = load_path(write(tmp_path, document))
    found = _by_claim(before, snapshot)
    assert list(found) == ["template-fidelity"]
    ((outcome, message),) = found["template-fidelity"]
    assert outcome is Outcome.FAIL and "-redis-cleanup-" in message
    assert message.endswith("label karta.conformance/role='submitter' from the template is 'head'")


@pytest.mark.parametrize(
    ("api_version", "outcome"),
    [
        ("scheduling.x-k8s.io/v1alpha1", Outcome.CANNOT_EXPRESS),
        ("scheduling.volcano.sh/v1beta1", Outcome.PASS),
    ],
)
def test_a_podgroup_of_another_group_than_the_listed_one_cannot_be_expressed(
    api_version: str, outcome: Outcome
) -> None:
    """--batch-scheduler scheduler-plugins: KubeRay's scheduling.x-k8s.io PodGroup owned by the RayCluster.
    The definition lists Volcano's PodGroup, and Karta keys additionalChildKinds by kind alone: the gap is
    CANNOT-EXPRESS (no definition can list both), not an ownership FAIL; Volcano's own PodGroup passes."""
    root = _cluster([{"groupName": "workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 2}])
    pods = [_pod(root, "head", "head", "headgroup"), _pod(root, "w", "worker", "workers")]
    group = {
        "apiVersion": api_version,
        "kind": "PodGroup",
        "metadata": {
            "name": "pg",
            "namespace": "ns",
            "uid": "uid-pg",
            "ownerReferences": [{"kind": "RayCluster", "name": root["metadata"]["name"], "uid": "rc"}],
        },
    }
    snapshot = _snapshot(root, pods, ["running"])
    snapshot.tree = [*pods, group]
    [definition] = [d for d in load_path(DEFINITIONS) if d.name == "raycluster"]
    verdicts = check_snapshot(definition, snapshot)
    ownership = [v for v in verdicts if v.claim == "ownership"]
    gaps = [v for v in verdicts if v.claim == "cannot-express" and v.subject == "additionalChildKinds"]
    assert ownership and {v.outcome for v in ownership} == {Outcome.PASS}
    if outcome is Outcome.CANNOT_EXPRESS:
        (gap,) = gaps
        assert gap.outcome is Outcome.CANNOT_EXPRESS
        assert "lists scheduling.volcano.sh/v1beta1 PodGroup" in gap.message
    else:
        assert gaps == []


@pytest.mark.parametrize("name", ["rayjob", "raycronjob"])
def test_without_a_head_template_the_redis_cleanup_pod_has_no_template(name: str) -> None:
    """A RayJob on an existing cluster (clusterSelector, no rayClusterSpec): the redis-cleanup Pod's template
    is null, as Karta reads it too (before: a container of resources alone, which Karta read with name '' and
    the harness with none: the oracle's disagreement on rayjob-cluster-selector, session 10)."""
    from conformance.evaluate.instances import instances

    [definition] = [d for d in load_path(DEFINITIONS) if d.name == name]
    component = definition.component("redis-cleanup-pod")
    assert component is not None
    selector: dict[str, Any] = {
        "clusterSelector": {"ray.io/cluster": "existing"},
        "entrypoint": "python -c 1",
    }
    spec: dict[str, Any] = (
        selector if name == "rayjob" else {"schedule": "* * * * *", "jobTemplate": selector}
    )
    root: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": spec,
    }
    read = [i.pod_template for i in instances(component, root)]
    assert read == [{}]  # null, read as an empty template: no container at all
    with_head = copy.deepcopy(root)
    cluster = next(f.object for f in load_fixtures() if f.kind == "RayJob")["spec"]["rayClusterSpec"]
    (with_head["spec"] if name == "rayjob" else with_head["spec"]["jobTemplate"])["rayClusterSpec"] = cluster
    (template,) = [i.pod_template for i in instances(component, with_head)]
    assert isinstance(template, dict)
    assert template["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "200m", "memory": "256Mi"}


# A definition that reads the wrong scale field: maxReplicas where KubeRay's replicas count the Pods.
MAX_FOR_REPLICAS = {
    "rayjob": ".spec.rayClusterSpec.workerGroupSpecs[]? | (.maxReplicas // 2147483647)",
}


def _reading_max_for_replicas(tmp_path: Path, name: str) -> Definition:
    document = shipped(name)
    worker = next(
        c for c in document["spec"]["structureDefinition"]["childComponents"] if c["name"] == "worker"
    )
    worker["scaleDefinition"]["replicasPath"] = MAX_FOR_REPLICAS[name]
    [definition] = load_path(write(tmp_path, document))
    return definition


def _rayjob_snapshot(*, workers_deleted: bool) -> Snapshot:
    """A RayJob's RayCluster ``rc`` with its head and, unless KubeRay deleted them (deletionStrategy
    DeleteWorkers: the RayCluster's worker groups suspended, the RayJob's rayClusterSpec untouched), its
    one worker (replicas 1, maxReplicas 2)."""
    root = copy.deepcopy(next(f.object for f in load_fixtures() if f.kind == "RayJob"))
    root["metadata"].update({"uid": "rj", "namespace": "ns"})
    root["status"] = {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED", "rayClusterName": "rc"}
    cluster_spec = copy.deepcopy(root["spec"]["rayClusterSpec"])
    for group in cluster_spec["workerGroupSpecs"]:
        group["suspend"] = workers_deleted
    cluster = _child_cluster(root, cluster_spec)
    pods = [_pod(cluster, "head", "head", "headgroup")]
    if not workers_deleted:
        pods.append(_pod(cluster, "worker", "worker", "workers"))
    return _child_snapshot(root, cluster, pods, Expectation(statuses=["completed"], current_owners=["rc"]))


def test_cannot_express_replicas_needs_the_clusters_group_to_differ_from_the_roots_and_the_roots_reading() -> (
    None
):
    """The rule, right definition: the RayCluster's group (suspended by DeleteWorkers: 0 Pods) differs from
    the root's group it was copied from (1), and the definition reads the root's 1: CANNOT-EXPRESS."""
    [definition] = [d for d in load_path(DEFINITIONS) if d.name == "rayjob"]
    found = _by_claim(definition, _rayjob_snapshot(workers_deleted=True))
    assert "replicas" not in found
    replicas_gaps = [m for o, m in found["cannot-express"] if "live Pod(s) for instance 'workers'" in m]
    assert replicas_gaps and all(
        "copied from says 1, and the definition reads that (1)" in m for m in replicas_gaps
    )


def test_a_wrong_scale_field_in_the_same_state_fails_and_earns_no_cannot_express(tmp_path: Path) -> None:
    """The rule, wrong definition in the same state: maxReplicas (2) is not the root's replicas (1), so the
    difference is the definition's fault, not KubeRay's: FAIL on replicas, no CANNOT-EXPRESS for it."""
    found = _by_claim(_reading_max_for_replicas(tmp_path, "rayjob"), _rayjob_snapshot(workers_deleted=True))
    assert [o for o, _ in found["replicas"]] == [Outcome.FAIL]
    assert "the scale path says 2" in found["replicas"][0][1]
    assert not [m for _, m in found.get("cannot-express", []) if "live Pod(s) for instance" in m]


def test_a_wrong_scale_field_on_a_cluster_the_operator_did_not_change_fails(tmp_path: Path) -> None:
    """The case a new user hit: the root and the RayCluster say the same (1 worker), the definition reads
    maxReplicas (2). Before the rule was stated in KubeRay's terms this was CANNOT-EXPRESS, exit 0."""
    found = _by_claim(_reading_max_for_replicas(tmp_path, "rayjob"), _rayjob_snapshot(workers_deleted=False))
    assert found["replicas"] == [
        (
            Outcome.FAIL,
            "RayCluster/rc: 1 live Pod(s) for instance 'workers', the scale path says 2",
        )
    ]
    assert "cannot-express" not in found
    [right] = [d for d in load_path(DEFINITIONS) if d.name == "rayjob"]
    assert _by_claim(right, _rayjob_snapshot(workers_deleted=False)) == {}


def _upgrade_none_snapshot() -> Snapshot:
    """upgradeStrategy None: the root's head template got a label the operator never brings to the active
    RayCluster ``rc``, whose head Pod keeps the older template (scenario upgrade-none)."""
    root = _serving_rayservice()
    cluster = _child_cluster(root, copy.deepcopy(root["spec"]["rayClusterConfig"]))
    head = _pod(cluster, "head", "head", "headgroup")
    root["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"]["labels"]["upgraded"] = "yes"
    return _child_snapshot(
        root,
        cluster,
        [head],
        Expectation(statuses=["running"], current_owners=["rc"], stale_owners=["rc"], stable=False),
    )


def test_a_stale_owners_pods_are_cannot_express_only_when_they_follow_it_and_the_definition_reads_the_root(
    tmp_path: Path,
) -> None:
    """The rule both ways, in one state (a head Pod on its RayCluster's older template): the shipped
    definition reads the root's head template, so the difference is KubeRay's (CANNOT-EXPRESS); a definition
    whose head template path reads a worker group's template differs from the Pod otherwise: FAIL."""
    [right] = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    found = _by_claim(right, _upgrade_none_snapshot())
    assert "template-fidelity" not in found
    assert [m for o, m in found["cannot-express"] if o is Outcome.CANNOT_EXPRESS and "component 'head'" in m]
    document = shipped("rayservice")
    head = next(c for c in document["spec"]["structureDefinition"]["childComponents"] if c["name"] == "head")
    head["specDefinition"]["podTemplateSpecPath"] = ".spec.rayClusterConfig.workerGroupSpecs[0].template"
    [wrong] = load_path(write(tmp_path, document))
    found = _by_claim(wrong, _upgrade_none_snapshot())
    assert [o for o, _ in found["template-fidelity"]] == [Outcome.FAIL]
    assert not [m for _, m in found.get("cannot-express", []) if "component 'head'" in m]


def test_the_zero_minimum_rule_holds_only_for_a_definition_that_reads_minimum_0(tmp_path: Path) -> None:
    """Both ways, in the autoscaled state (minReplicas 0, replicas 2, maxReplicas 2): the shipped reading
    (minReplicas 0) is CANNOT-EXPRESS; a definition whose minReplicasPath reads maxReplicas (2) comes to the
    same sum (head + 2), and it is a FAIL: the number is its own, not Karta's substitution."""
    document = shipped("raycluster")
    worker = next(
        c for c in document["spec"]["structureDefinition"]["childComponents"] if c["name"] == "worker"
    )
    worker["scaleDefinition"]["minReplicasPath"] = ".spec.workerGroupSpecs[]? | (.maxReplicas // 2147483647)"
    [wrong] = load_path(write(tmp_path, document))
    found = _by_claim(wrong, _autoscaled(0))
    assert [o for o, _ in found["gang-minimum"]] == [Outcome.FAIL]
    assert found["gang-minimum"][0][1].startswith(
        "group raycluster[conformance-raycluster]: minimum 3 (subtree scale"
    )


def test_the_root_spec_rule_holds_only_for_a_definition_that_reads_the_roots_minimum(tmp_path: Path) -> None:
    """Both ways, in DeleteWorkers' state (the RayCluster's workers suspended, the RayJob's spec untouched): the
    shipped reading (head + the root's minReplicas, 2) is CANNOT-EXPRESS (test above); a minReplicasPath that
    reads maxReplicas (head + 2 = 3) matches neither the cluster's need nor the root's: FAIL."""
    document = shipped("rayjob")
    worker = next(
        c for c in document["spec"]["structureDefinition"]["childComponents"] if c["name"] == "worker"
    )
    worker["scaleDefinition"]["minReplicasPath"] = (
        ".spec.rayClusterSpec.workerGroupSpecs[]? | (.maxReplicas // 2147483647)"
    )
    [wrong] = load_path(write(tmp_path, document))
    found = _by_claim(wrong, _rayjob_snapshot(workers_deleted=True))
    assert [o for o, _ in found["gang-minimum"]] == [Outcome.FAIL]
    assert not [m for _, m in found.get("cannot-express", []) if "gang" in m]
