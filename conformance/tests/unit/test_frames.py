"""Every frame judged (conformance/claims/frames.py) on flows recorded live (KubeRay v1.6.2, local backend,
``tests/data/flows/``): the shipped definitions read every frame as KubeRay's model allows and place every
Pod from its first frame, and a definition that is wrong only between the photographed phases fails, naming
the frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.claims import frames, names
from conformance.definition import Definition, load_path
from conformance.evaluate.status import read_status
from conformance.flow import Flow
from conformance.tests.helpers import DEFINITIONS
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data"
FLOWS = DATA / "flows"
TRANSIENT = DATA / "transient"

# (flow, shipped definition, the transient-wrong one, a frame it misreads: its resourceVersion and readings)
CASES = [
    ("raycluster-suspend", "raycluster", "RayClusterSuspending=True", "['running']", "['suspending']"),
    ("rayjob-suspend", "rayjob", '"jobDeploymentStatus": "Suspending"', "no status", "['suspending']"),
    ("rayservice", "rayservice", "Ready=False/Initializing", "no status", "['initializing']"),
]


def _definition(path: Path) -> Definition:
    [definition] = load_path(path)
    return definition


def _flow(name: str) -> Flow:
    return Flow.load(FLOWS / f"{name}.flow.jsonl.gz")


@pytest.mark.parametrize(("flow", "shipped", "_state", "_reads", "_allowed"), CASES)
def test_the_shipped_definitions_read_every_frame_as_kuberay_allows(
    flow: str, shipped: str, _state: str, _reads: str, _allowed: str
) -> None:
    recorded = _flow(flow)
    verdicts = [
        v
        for v in frames.judge([_definition(DEFINITIONS / f"{shipped}.yaml")], [recorded])
        if v.claim == names.STATUS_FRAMES
    ]
    assert [v.outcome for v in verdicts] == [Outcome.PASS], [v.message for v in verdicts]
    (passed,) = verdicts
    root = recorded.roots()[0]
    count = sum(1 for f in recorded.frames_of(root[1], root[2]) if f.type != "DELETED")
    assert passed.message.startswith(f"status on {count} frame(s) of ")
    assert passed.claim == names.STATUS_FRAMES and passed.phase == f"{flow}/frames"


@pytest.mark.parametrize(("flow", "shipped", "state", "reads", "allowed"), CASES)
def test_a_definition_wrong_only_between_phases_fails_naming_the_frame(
    flow: str, shipped: str, state: str, reads: str, allowed: str
) -> None:
    recorded = _flow(flow)
    wrong = _definition(TRANSIENT / f"{shipped}.yaml")
    # Right at every phase the scenario photographed: the root as it stood at each marker reads what
    # the phase expected (what a Snapshot-only run judged, and passed).
    root_kind = wrong.root.kind
    assert wrong.root.status is not None and root_kind is not None
    for marker in recorded.markers:
        stood = recorded.state_at(marker.frame).get((root_kind.kind, marker.root[2]))
        if stood is None:  # the phase came before the watch delivered the root's creation
            continue
        assert sorted(read_status(wrong.root.status, stood).matched) == sorted(marker.statuses), marker.phase
    verdicts = [v for v in frames.judge([wrong], [recorded]) if v.claim == names.STATUS_FRAMES]
    failed = [v for v in verdicts if v.outcome is Outcome.FAIL]
    assert failed and not [v for v in verdicts if v.outcome is Outcome.PASS]
    first = failed[0].message
    # The frame is named (its time, resourceVersion and key fields) with both readings.
    assert first.startswith("frame MODIFIED at +") and "resourceVersion " in first
    assert state in first
    assert f"the definition reads {reads}, KubeRay's model allows {allowed}" in first
    misread = {f.resource_version for f in recorded.frames}
    assert any(f"resourceVersion {rv} " in first for rv in misread)


def test_check_flows_judges_saved_flows_without_a_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    assert main(["check", "--flows", str(FLOWS), str(DEFINITIONS)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "frames: raycluster: 17 frames, status right on 17 (1 one reconcile late)" in out
    assert out[-1].endswith(": 20 passed, 0 failed: gate passes")
    assert main(["check", "--flows", str(FLOWS), str(TRANSIENT)]) == 1


def test_a_legacy_definition_is_cannot_express_on_frames_its_dialect_has_no_status_for() -> None:
    """A ResourceInterface has no Suspending or Suspended: on frames where KubeRay's model allows only those, it
    cannot be right, and it is not wrong either (CANNOT-EXPRESS, counted). Where the model also allows a status
    it has (a resumed RayJob still Suspended may read initializing), reading nothing is still a FAIL."""
    import yaml

    from conformance.definition.convert import to_resource_interface
    from conformance.definition.loader import load_text
    from conformance.tests.helpers import shipped

    legacy, _ = to_resource_interface(shipped("rayjob"))
    [definition] = load_text(yaml.safe_dump(legacy), "legacy.yaml")
    verdicts = [
        v for v in frames.judge([definition], [_flow("rayjob-suspend")]) if v.claim != names.MEMBERSHIP_FRAMES
    ]
    (gap,) = [v for v in verdicts if v.outcome is Outcome.CANNOT_EXPRESS]
    assert "state rayjob/suspend" in gap.message and "dialect does not have" in gap.message
    assert frames.summary_lines(verdicts)[0].endswith(
        f", {gap.evidence['inexpressible']} the dialect cannot express"
    )
    for failed in (v for v in verdicts if v.outcome is Outcome.FAIL):
        assert "'initializing'" in failed.message and "no mapping matches" in failed.message, failed.message


def test_every_pod_is_a_member_from_its_first_frame_the_pending_clusters_too(tmp_path: Path) -> None:
    """The RayService flow holds the upgrade: the pending cluster's Pods are placed from their first frame by
    the shipped definition; a worker selector that reads a misspelt label places none of the workers."""
    from conformance.tests.helpers import shipped, write

    recorded = _flow("rayservice")
    (member,) = [
        v
        for v in frames.judge_members(_definition(DEFINITIONS / "rayservice.yaml"), recorded)
        if v.claim == names.MEMBERSHIP_FRAMES
    ]
    assert member.outcome is Outcome.PASS, member.message
    mine = {
        f.object["metadata"]["uid"]: f.object["metadata"]["labels"]["ray.io/cluster"]
        for f in recorded.frames
        if f.kind == "Pod" and f.object["metadata"]["labels"]["ray.io/cluster"] != "neighbour-raycluster"
    }
    assert len(set(mine.values())) == 2  # the active and the pending cluster
    assert member.message.startswith(f"{len(mine)} Pod(s) of RayService "), member.message
    document = shipped("rayservice")
    worker = next(
        c for c in document["spec"]["structureDefinition"]["childComponents"] if c["name"] == "worker"
    )
    worker["podSelector"]["componentTypeSelector"]["keyPath"] = '.metadata.labels["ray.io/node-typo"]'
    [wrong] = load_path(write(tmp_path, document))
    failed = [v for v in frames.judge_members(wrong, recorded) if v.outcome is Outcome.FAIL]
    assert (
        failed
        and failed[0].message.startswith("Pod ")
        and "at its first frame (ADDED at +" in failed[0].message
    )
    assert "is selected by no component; exactly one is required" in failed[0].message


def test_every_pod_is_in_its_clusters_own_group_from_its_first_frame(tmp_path: Path) -> None:
    """Grouped by ``ray.io/cluster``, the active and the pending cluster's Pods are two groups from their first
    frames; grouped by a label both clusters' Pods share (the RayService's own name would do the same), the
    pending cluster's first Pods join the active one's group: FAIL, naming both clusters."""
    from conformance.tests.helpers import shipped, write

    recorded = _flow("rayservice")
    (right,) = [
        v
        for v in frames.judge_members(_definition(DEFINITIONS / "rayservice.yaml"), recorded)
        if v.claim == names.GANG_FRAMES
    ]
    assert right.outcome is Outcome.PASS and right.message.endswith("(2 cluster(s))"), right.message
    document = shipped("rayservice")
    member = document["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][0]
    member["groupByKeyPaths"] = ['.metadata.labels["app.kubernetes.io/part-of"]']
    [wrong] = load_path(write(tmp_path, document))
    (merged,) = [v for v in frames.judge_members(wrong, recorded) if v.claim == names.GANG_FRAMES]
    assert merged.outcome is Outcome.FAIL
    assert "got the Pods of RayClusters ['conformance-rayservice-" in merged.message


def test_every_object_is_owned_as_the_definition_says_from_its_first_frame(tmp_path: Path) -> None:
    """On the RayJob flow the shipped definition's ownership holds for every object at its first frame (the
    RayCluster, its Pods and Service, the submitter Job and its Pod); a submitter Pod said to be owned by the
    RayCluster, or a Service kind left out of additionalChildKinds, fails at that object's first frame."""
    from conformance.tests.helpers import shipped, write

    recorded = _flow("rayjob-suspend")
    (right,) = [
        v
        for v in frames.judge_members(_definition(DEFINITIONS / "rayjob.yaml"), recorded)
        if v.claim == names.OWNERSHIP_FRAMES
    ]
    workload = {
        f.object["metadata"]["uid"]
        for f in recorded.frames
        if f.kind in ("RayCluster", "Pod", "Service", "Job") and not f.name.startswith("neighbour-raycluster")
    }
    assert right.outcome is Outcome.PASS, right.message
    assert right.message.startswith(f"{len(workload)} object(s) of RayJob suspend-rayjob, "), right.message

    document = shipped("rayjob")
    components = document["spec"]["structureDefinition"]["childComponents"]
    next(c for c in components if c["name"] == "submitter-pod")["ownerRef"] = "raycluster"
    [wrong] = load_path(write(tmp_path, document))
    (failed,) = [v for v in frames.judge_members(wrong, recorded) if v.claim == names.OWNERSHIP_FRAMES]
    assert failed.outcome is Outcome.FAIL
    assert (
        failed.message.startswith("Pod suspend-rayjob-")
        and "at its first frame (ADDED at +" in failed.message
    )
    assert failed.message.endswith(
        "has owner chain Job -> RayJob; component submitter-pod's ownerRef 'raycluster' (RayCluster) is not in it"
    )

    document = shipped("rayjob")
    kinds = document["spec"]["structureDefinition"]["additionalChildKinds"]
    document["spec"]["structureDefinition"]["additionalChildKinds"] = [
        k for k in kinds if k["kind"] != "Service"
    ]
    [unlisted] = load_path(write(tmp_path, document))
    failed_kinds = [v for v in frames.judge_members(unlisted, recorded) if v.claim == names.OWNERSHIP_FRAMES]
    assert {v.outcome for v in failed_kinds} == {Outcome.FAIL}
    assert failed_kinds[0].message.endswith(
        "v1 Service is neither a component kind nor listed in additionalChildKinds"
    )
