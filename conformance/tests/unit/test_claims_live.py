"""The live claims on synthetic snapshots: pure, no cluster (the live suite runs them on real ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.claims.live import check_snapshot
from conformance.definition import load_path
from conformance.fixtures import load_fixtures
from conformance.snapshot import Expectation, Snapshot
from conformance.tests.helpers import DEFINITIONS, broken
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit


def _obj(kind: str, name: str, uid: str, owner: tuple[str, str, str] | None, **extra: Any) -> dict[str, Any]:
    api = {"Pod": "v1", "Service": "v1", "RayCluster": "ray.io/v1", "Job": "batch/v1"}[kind]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": uid,
        "labels": extra.pop("labels", {}),
    }
    if owner:
        metadata["ownerReferences"] = [
            {"kind": owner[0], "name": owner[1], "uid": owner[2], "controller": True}
        ]
    return {"apiVersion": api, "kind": kind, "metadata": metadata, **extra}


def _pod(
    name: str, cluster: str, cluster_uid: str, node_type: str, group: str, template: dict[str, Any]
) -> dict[str, Any]:
    labels = {
        **template["metadata"].get("labels", {}),
        "ray.io/cluster": cluster,
        "ray.io/node-type": node_type,
        "ray.io/group": group,
    }
    pod = _obj(
        "Pod",
        name,
        f"uid-{name}",
        ("RayCluster", cluster, cluster_uid),
        labels=labels,
        spec=template["spec"],
        status={"phase": "Running"},
    )
    pod["metadata"]["annotations"] = dict(template["metadata"].get("annotations", {}))
    return pod


def _snapshot(clusters: list[str], phase: str = "upgrade-pending") -> Snapshot:
    root = next(f.object for f in load_fixtures() if f.kind == "RayService")
    root = {**root, "metadata": {**root["metadata"], "uid": "rs", "namespace": "ns"}}
    root["status"] = {
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "UpgradeInProgress", "status": "True"}],
        "activeServiceStatus": {
            "rayClusterName": clusters[0],
            "applicationStatuses": {"echo": {"status": "RUNNING"}},
        },
    }
    head_template = root["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]
    gpu_template = root["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]
    tree: list[dict[str, Any]] = []
    for cluster in clusters:
        tree.append(
            _obj(
                "RayCluster",
                cluster,
                f"uid-{cluster}",
                ("RayService", "conformance-rayservice", "rs"),
                spec=root["spec"]["rayClusterConfig"],
            )
        )
        tree.append(
            _obj(
                "Service",
                f"{cluster}-head-svc",
                f"uid-svc-{cluster}",
                ("RayCluster", cluster, f"uid-{cluster}"),
            )
        )
        tree.append(_pod(f"{cluster}-head", cluster, f"uid-{cluster}", "head", "headgroup", head_template))
        tree.append(_pod(f"{cluster}-gpu", cluster, f"uid-{cluster}", "worker", "gpu-workers", gpu_template))
    neighbour = _obj(
        "Pod",
        "other-head",
        "uid-other",
        ("RayCluster", "other", "uid-other-rc"),
        labels={"ray.io/node-type": "head", "ray.io/cluster": "other", "ray.io/group": "headgroup"},
    )
    pods = [o for o in tree if o["kind"] == "Pod"] + [neighbour]
    return Snapshot(
        scenario="rayservice",
        phase=phase,
        namespace="ns",
        root=root,
        tree=tree,
        namespace_pods=pods,
        events=[],
        served=["ray.io/v1/RayService", "ray.io/v1/RayCluster", "v1/Pod"],
        expect=Expectation(statuses=["running"], current_owners=clusters[-1:]),
    )


def _failing(name: str, snapshot: Snapshot, where: str = "") -> dict[str, list[str]]:
    (definition,) = (
        load_path(DEFINITIONS / where) if where else [d for d in load_path(DEFINITIONS) if d.name == name]
    )
    failing: dict[str, list[str]] = {}
    for verdict in check_snapshot(definition, snapshot):
        if verdict.outcome is Outcome.FAIL:
            failing.setdefault(verdict.claim, []).append(verdict.message)
    return failing


def test_shipped_rayservice_definition_holds_on_an_upgrade_snapshot() -> None:
    assert _failing("rayservice", _snapshot(["active-rc", "pending-rc"])) == {}


def test_variant_b_fails_membership_on_the_neighbour() -> None:
    failing = _failing("", _snapshot(["active-rc", "pending-rc"]), "variants")
    assert set(failing) == {"membership"} and "ns/other-head" in failing["membership"][0]


def test_a_phase_gives_the_same_verdict_keys_whatever_the_pods() -> None:
    """A phase that races the operator (taken before or after KubeRay made the Pods) changes outcomes,
    never the keys (claim, subject): the per-component claims judge every component either way."""
    [shipped] = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    good = check_snapshot(shipped, _snapshot(["active-rc"]))
    racing = _snapshot(["active-rc"])
    racing.pods()[0]["metadata"]["labels"]["ray.io/node-type"] = "unknown"  # a Pod no component selects
    bad = check_snapshot(shipped, racing)
    assert {(v.claim, v.subject) for v in good} == {(v.claim, v.subject) for v in bad}
    assert any(v.outcome is Outcome.FAIL for v in bad) and all(v.ok for v in good if v.claim == "membership")
    skipped = [v for v in bad if v.claim in ("instance-ids", "replicas", "template-fidelity")]
    assert skipped and {v.outcome for v in skipped} == {Outcome.ERROR}
    field = next(v for v in bad if v.claim == "membership" and v.outcome is Outcome.FAIL)
    assert field.subject == "childComponents" and "selected by no component" in field.message


def test_missing_replica_is_reported() -> None:
    # The spec asks for 2 gpu workers, one runs: the instance has Pods, so only the count is wrong.
    snapshot = _snapshot(["active-rc"], phase="ready")
    snapshot.root["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["replicas"] = 2
    assert _failing("rayservice", snapshot) == {
        "replicas": ["RayCluster/active-rc: 1 live Pod(s) for instance 'gpu-workers', the scale path says 2"]
    }


def test_a_declared_instance_without_pods_is_reported() -> None:
    snapshot = _snapshot(["active-rc"], phase="ready")
    snapshot.tree = [o for o in snapshot.tree if o["metadata"]["name"] != "active-rc-gpu"]
    failing = _failing("rayservice", snapshot)
    assert failing["instance-ids"] == [
        "instance 'gpu-workers' declares 1 replica(s) but no Pod of RayCluster/active-rc carries its id"
    ]
    assert failing["replicas"] == [
        "RayCluster/active-rc: 0 live Pod(s) for instance 'gpu-workers', the scale path says 1"
    ]


def test_a_declared_instance_without_pods_is_no_failure_while_pods_are_being_made() -> None:
    # Seen on kind: the rayjob/created snapshot caught the RayCluster's head Pod before its worker.
    snapshot = _snapshot(["active-rc"], phase="ready")
    snapshot.expect.stable = False
    snapshot.tree = [o for o in snapshot.tree if o["metadata"]["name"] != "active-rc-gpu"]
    assert "instance-ids" not in _failing("rayservice", snapshot)
    # an id the spec does not declare still fails, settled or not
    snapshot = _snapshot(["active-rc"], phase="ready")
    snapshot.expect.stable = False
    pod = next(o for o in snapshot.tree if o["metadata"]["name"] == "active-rc-gpu")
    pod["metadata"]["labels"]["ray.io/group"] = "no-such-group"
    assert "does not declare" in _failing("rayservice", snapshot)["instance-ids"][0]


def test_status_expectation_is_compared() -> None:
    snapshot = _snapshot(["active-rc"], phase="ready")
    snapshot.expect.statuses = ["initializing"]
    assert "status" in _failing("rayservice", snapshot)


def test_gang_minimum_of_members_on_the_leaves_is_reported(tmp_path: Path) -> None:
    """Members head and worker: each Pod's effective component is its own leaf (minimum 1, not 2)."""

    def change(d: dict[str, Any]) -> None:
        d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"] = [
            {"componentName": "head", "groupByKeyPaths": ['.metadata.labels["ray.io/cluster"]']},
            {"componentName": "worker", "groupByKeyPaths": ['.metadata.labels["ray.io/cluster"]']},
        ]

    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    verdicts = [v for v in check_snapshot(definition, _snapshot(["active-rc", "pending-rc"])) if not v.ok]
    assert {v.claim for v in verdicts} == {"gang-minimum"}
    assert sorted(v.evidence["group"] for v in verdicts) == [
        "raycluster[active-rc]",
        "raycluster[pending-rc]",
    ]
    assert all(v.evidence["minimum"] == 1 and v.evidence["expected"] == 2 for v in verdicts)
    assert "needs 2 Pods together" in verdicts[0].message


def test_gang_minimum_is_checked_against_each_clusters_own_spec() -> None:
    """Karta reads the RayService's (new) spec for both clusters; the active one still runs the old
    spec. An upgrade that changes minReplicas leaves the active cluster's groups mis-sized."""
    import copy

    snapshot = _snapshot(["active-rc", "pending-rc"])
    active = next(o for o in snapshot.tree if o["metadata"]["name"] == "active-rc")
    active["spec"] = copy.deepcopy(active["spec"])
    active["spec"]["workerGroupSpecs"][0]["minReplicas"] = 3
    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    verdicts = [v for v in check_snapshot(definition, snapshot) if v.claim == "gang-minimum"]
    minimums = {
        v.evidence["group"]: (v.outcome, v.evidence["minimum"], v.evidence["expected"]) for v in verdicts
    }
    # Karta's 2 is right for the spec the root says; the active cluster's own (older) spec needs 4: no
    # definition can read it, so the gap is CANNOT-EXPRESS, not a wrong definition
    assert minimums == {
        "raycluster[active-rc]": (Outcome.CANNOT_EXPRESS, 2, 4),
        "raycluster[pending-rc]": (Outcome.PASS, 2, 2),
    }
    (gap,) = [v for v in verdicts if v.outcome is Outcome.CANNOT_EXPRESS]
    assert gap.evidence["root_spec_needs"] == 2
    assert "needs 4 Pods together by its own spec" in gap.message


def test_markdown_shows_the_gang_minimum_per_group_and_phase() -> None:
    from conformance.report.formats import markdown

    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    text = markdown(check_snapshot(definition, _snapshot(["active-rc", "pending-rc"])), "live")
    assert "### Gang minimums" in text
    assert (
        "| rayservice | rayservice/upgrade-pending | raycluster\\[pending-rc\\] | raycluster | 2 | 2 | PASS |"
        in text
    )


def test_a_root_without_owner_is_the_top_owner() -> None:
    (definition,) = load_path(DEFINITIONS / "rayservice.yaml")
    (top,) = [
        v for v in check_snapshot(definition, _snapshot(["active-rc"], "ready")) if v.claim == "top-owner"
    ]
    assert top.outcome is Outcome.PASS
    assert "looks up ray.io/v1 RayService" in top.message


def test_a_root_owned_by_a_wrapper_is_said_to_be_beyond_the_definition() -> None:
    (definition,) = load_path(DEFINITIONS / "rayservice.yaml")
    snapshot = _snapshot(["active-rc"], "ready")
    wrapper = {
        "apiVersion": "kro.run/v1alpha1",
        "kind": "RayApp",
        "name": "app",
        "uid": "w",
        "controller": True,
    }
    snapshot.root["metadata"]["ownerReferences"] = [wrapper]
    (top,) = [v for v in check_snapshot(definition, snapshot) if v.claim == "top-owner"]
    assert top.outcome is Outcome.CANNOT_EXPRESS
    assert "owned by kro.run/v1alpha1 RayApp app" in top.message
    assert "looks up a Karta for kro.run/v1alpha1 RayApp, not for ray.io/v1 RayService" in top.message


def _suspended_raycluster(made_by: list[dict[str, Any]]) -> Snapshot:
    root = next(f.object for f in load_fixtures() if f.kind == "RayCluster")
    root = {**root, "metadata": {**root["metadata"], "uid": "rc", "namespace": "ns"}}
    root["spec"] = {**root["spec"], "suspend": True}
    root["status"] = {"state": "suspended"}
    return Snapshot(
        scenario="raycluster-suspend",
        phase="suspended",
        namespace="ns",
        root=root,
        tree=[],
        namespace_pods=[],
        events=[],
        served=["ray.io/v1/RayCluster", "v1/Pod"],
        expect=Expectation(statuses=["suspended"], made_by=made_by),
    )


SUSPENDED_BY = [{"action": "suspend", "path": ["spec", "suspend"], "value": True}]


def _suspend_verdicts(definition_path: Path, snapshot: Snapshot) -> list[Any]:
    (definition,) = load_path(definition_path)
    return [v for v in check_snapshot(definition, snapshot) if v.claim == "suspend-actions"]


def test_suspend_actions_that_set_what_suspended_the_workload_live_pass() -> None:
    (verdict,) = _suspend_verdicts(
        DEFINITIONS / "upstream" / "raycluster.yaml", _suspended_raycluster(SUSPENDED_BY)
    )
    assert verdict.outcome is Outcome.PASS, verdict.message
    assert verdict.subject == "rootComponent.suspendDefinition.suspendActions"
    assert "set .spec.suspend = true: the change that suspended this RayCluster live" in verdict.message


def test_suspend_actions_that_set_another_field_fail(tmp_path: Path) -> None:
    def wrong(document: dict[str, Any]) -> None:
        root = document["spec"]["structureDefinition"]["rootComponent"]
        root["suspendDefinition"]["suspendActions"] = [{"path": ".spec.paused", "value": True}]

    path = broken(tmp_path, "raycluster", wrong, folder=DEFINITIONS / "upstream")
    (verdict,) = _suspend_verdicts(path, _suspended_raycluster(SUSPENDED_BY))
    assert verdict.outcome is Outcome.FAIL
    assert (
        "set .spec.paused = true; the change that suspended this RayCluster live was .spec.suspend = true"
        in (verdict.message)
    )


def test_an_action_path_designating_several_places_fails(tmp_path: Path) -> None:
    def several(document: dict[str, Any]) -> None:
        root = document["spec"]["structureDefinition"]["rootComponent"]
        root["suspendDefinition"]["suspendActions"] = [
            {"path": ".spec.workerGroupSpecs[].suspend", "value": True}
        ]

    path = broken(tmp_path, "raycluster", several, folder=DEFINITIONS / "upstream")
    snapshot = _suspended_raycluster(SUSPENDED_BY)
    snapshot.root["spec"]["workerGroupSpecs"] = [{"groupName": "a"}, {"groupName": "b"}]
    (verdict,) = _suspend_verdicts(path, snapshot)
    assert verdict.outcome is Outcome.FAIL
    assert "must designate exactly one place on the root, designates 2" in verdict.message


def test_no_suspend_actions_verdict_without_a_live_suspension() -> None:
    assert _suspend_verdicts(DEFINITIONS / "upstream" / "raycluster.yaml", _suspended_raycluster([])) == []


@pytest.mark.parametrize(
    ("name", "drop"),
    [
        ("raycluster", lambda spec: spec.pop("workerGroupSpecs")),  # a head-only RayCluster
        (
            "rayjob",
            lambda spec: spec.pop("rayClusterSpec"),
        ),  # a RayJob on an existing cluster (clusterSelector)
        ("rayservice", lambda spec: spec["rayClusterConfig"].pop("workerGroupSpecs")),
    ],
)
def test_shipped_definitions_read_a_root_without_worker_groups(name: str, drop: Any) -> None:
    """Seen live (rayjob-cluster-selector): `.spec.rayClusterSpec.workerGroupSpecs[]` is a jq error on a
    RayJob without rayClusterSpec, so every consumer of the definition failed on such a RayJob. The
    shipped paths iterate with `[]?`: no worker group reads as no instance."""
    (fixture,) = [
        f
        for f in load_fixtures()
        if f.kind == {"raycluster": "RayCluster", "rayjob": "RayJob"}.get(name, "RayService")
    ]
    root = {**fixture.object, "metadata": {**fixture.object["metadata"], "uid": "root", "namespace": "ns"}}
    root["spec"] = dict(root["spec"])
    if name == "rayservice":
        root["spec"]["rayClusterConfig"] = dict(root["spec"]["rayClusterConfig"])
    drop(root["spec"])
    snapshot = Snapshot(
        scenario=name, phase="created", namespace="ns", root=root, tree=[], namespace_pods=[], events=[],
        served=[], expect=Expectation(statuses=["initializing"], stable=False),
    )  # fmt: skip
    failing = _failing(name, snapshot)
    assert not any("jq:" in message for messages in failing.values() for message in messages), failing


def test_a_volcano_podgroup_owned_by_a_raycluster_is_a_kind_the_definitions_list(tmp_path: Path) -> None:
    """--batch-scheduler=volcano: KubeRay makes a PodGroup per RayCluster (owned by it). A definition that
    does not list the kind in additionalChildKinds fails ownership on every such snapshot."""
    snapshot = _snapshot(["active-rc"], "ready")
    snapshot.tree.append(
        {
            "apiVersion": "scheduling.volcano.sh/v1beta1",
            "kind": "PodGroup",
            "metadata": {
                "name": "ray-active-rc-pg",
                "namespace": "ns",
                "uid": "uid-pg",
                "ownerReferences": [{"kind": "RayCluster", "name": "active-rc", "uid": "uid-active-rc"}],
            },
            "spec": {"minMember": 2},
        }
    )
    (shipped,) = load_path(DEFINITIONS / "rayservice.yaml")
    ownership = [v for v in check_snapshot(shipped, snapshot) if v.claim == "ownership"]
    assert ownership and {v.outcome for v in ownership} == {Outcome.PASS}
    assert "additionalChildKinds" in {v.subject for v in ownership}

    def without(d: dict[str, Any]) -> None:
        kinds = d["spec"]["structureDefinition"]["additionalChildKinds"]
        d["spec"]["structureDefinition"]["additionalChildKinds"] = [
            k for k in kinds if k["kind"] != "PodGroup"
        ]

    (before,) = load_path(broken(tmp_path, "rayservice", without))
    judged = [v for v in check_snapshot(before, snapshot) if v.claim == "ownership"]
    failing = [v for v in judged if not v.ok]
    assert failing and "PodGroup" in failing[0].message
    # the same verdicts as with PodGroup listed, one outcome changed: a key never appears or vanishes
    assert sorted(v.subject for v in judged) == sorted(v.subject for v in ownership)


def test_a_scheduler_the_operator_puts_over_the_templates_is_a_gap_not_a_failure() -> None:
    """--batch-scheduler=volcano: KubeRay sets schedulerName volcano on every Pod, whatever the template says."""
    snapshot = _snapshot(["active-rc"], "ready")
    for pod in snapshot.pods():
        pod["spec"] = {**pod["spec"], "schedulerName": "volcano"}  # the Pod's own copy, not the template's
    (definition,) = load_path(DEFINITIONS / "rayservice.yaml")
    fidelity = [v for v in check_snapshot(definition, snapshot) if v.claim == "template-fidelity"]
    assert fidelity and Outcome.FAIL in {v.outcome for v in fidelity}  # unexplained: not the template's
    fidelity = [v for v in fidelity if v.outcome is Outcome.FAIL]
    assert all("schedulerName 'default-scheduler' is 'volcano'" in v.message for v in fidelity)
    snapshot.expect.scheduler_override = "volcano"  # the run's operator has --batch-scheduler=volcano
    verdicts = check_snapshot(definition, snapshot)
    outcomes = [v.outcome for v in verdicts if v.claim == "template-fidelity"]
    assert outcomes and set(outcomes) == {Outcome.PASS}
    gaps = [v for v in verdicts if v.claim == "cannot-express"]
    assert sorted(v.message.split("'")[1] for v in gaps) == ["head", "worker"]
    assert all(
        v.evidence == {"template_scheduler": "default-scheduler", "pod_scheduler": "volcano"} for v in gaps
    )
    # anything else that differs still fails
    snapshot.pods()[0]["metadata"]["labels"].pop("karta.conformance/role", None)
    (failed,) = [
        v for v in check_snapshot(definition, snapshot) if v.claim == "template-fidelity" and not v.ok
    ]
    assert failed.outcome is Outcome.FAIL and "karta.conformance/role" in failed.message


@pytest.mark.parametrize("cleaning", ["old-rc", "new-rc"])
def test_an_old_clusters_redis_cleanup_pod_is_that_clusters_not_the_roots(cleaning: str) -> None:
    """GCS FT during a RayService upgrade: the superseded cluster's redis-cleanup Pod (its Job's Pod, two
    levels below that cluster) was built from the old head template: skipped like that cluster's Pods.
    The same Pod under the current cluster must carry the root's template, so there it fails."""
    snapshot = _snapshot(["old-rc", "new-rc"], phase="redis-cleanup")
    head = snapshot.root["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]
    head["metadata"].setdefault("labels", {})["karta.conformance/revision"] = "2"
    job = _obj(
        "Job", f"{cleaning}-redis-cleanup", f"uid-job-{cleaning}", ("RayCluster", cleaning, f"uid-{cleaning}")
    )
    old_labels = {k: v for k, v in head["metadata"]["labels"].items() if k != "karta.conformance/revision"}
    old_template = {"metadata": {**head["metadata"], "labels": old_labels}, "spec": head["spec"]}
    pod = _pod(f"{cleaning}-cleanup", cleaning, f"uid-{cleaning}", "redis-cleanup", "headgroup", old_template)
    pod["metadata"]["ownerReferences"] = [
        {"kind": "Job", "name": job["metadata"]["name"], "uid": job["metadata"]["uid"], "controller": True}
    ]
    snapshot.tree = [
        o for o in snapshot.tree if o["kind"] != "Pod" or not o["metadata"]["name"].startswith("old-rc")
    ]
    snapshot.tree += [job, pod]
    snapshot.namespace_pods = [o for o in snapshot.tree if o["kind"] == "Pod"]
    for other in snapshot.namespace_pods:  # the new cluster's Pods carry the current template
        if other["metadata"]["name"].startswith("new-rc-") and other is not pod:
            other["metadata"]["labels"]["karta.conformance/revision"] = "2"
    failing = _failing("rayservice", snapshot).get("template-fidelity", [])
    if cleaning == "old-rc":
        assert failing == []
    else:
        assert failing and "karta.conformance/revision" in failing[0] and "new-rc-cleanup" in failing[0]
