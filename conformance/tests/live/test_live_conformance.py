"""Live: every claim of every definition, checked on one shared run of the scenarios.

The scenarios (RayService with a zero-downtime upgrade held in its pending phase, RayCluster
scaling, RayJob to success) run once per session; definitions are only evaluated on the
snapshots, so the negative definitions below cost no cluster time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import inventory
from conformance.definition import Definition, load_path
from conformance.evaluate.gangs import gang_groups
from conformance.live.session import LiveResult, evaluate
from conformance.snapshot import Snapshot
from conformance.tests.helpers import DEFINITIONS, broken, component
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.live


def _failures(verdicts: list[Verdict]) -> list[str]:
    """Everything but PASS, and N/A (a feature this KubeRay version does not have, said so)."""
    return [
        f"{v.outcome} [{v.phase}] {v.claim}: {v.line()}"
        for v in verdicts
        if not v.ok and v.outcome is not Outcome.NOT_APPLICABLE
    ]


def _phase(live: LiveResult, scenario: str, phase: str) -> Snapshot:
    found = [s for s in live.snapshots if (s.scenario, s.phase) == (scenario, phase)]
    assert found, f"no snapshot {scenario}/{phase}; scenario failures: {[str(f) for f in live.failures]}"
    return found[0]


def test_scenarios_complete(live: LiveResult) -> None:
    assert not live.failures, [str(f) for f in live.failures]
    phases = {(s.scenario, s.phase) for s in live.snapshots}
    # a phase the backend cannot drive is reported UNVERIFIED with the reason (kind and local drive all)
    unverified = {(u.scenario, u.phase): u.reason for u in live.unverified}
    for wanted in [
        ("rayservice", "ready"),
        ("rayservice", "upgrade-pending"),
        ("rayservice", "upgrade-pending-recovered"),
        ("rayservice", "promoted"),
        ("rayservice", "old-deleted"),
        ("rayservice", "app-unhealthy"),
        ("raycluster", "scaled-up"),
        ("raycluster", "scaled-down"),
        ("rayjob", "succeeded"),
        ("rayjob-httpmode", "succeeded"),
        ("raycluster-suspend", "suspended"),
        ("rayjob-suspend", "suspended"),
        # where the KubeRay version serves RayCronJob (the harness turns its gate on)
        *([("raycronjob", "two-jobs"), ("raycronjob", "resumed")] if _serves_raycronjob(live) else []),
    ]:
        assert wanted in phases or wanted in unverified, f"no snapshot {wanted}; unverified: {unverified}"


def _serves_raycronjob(live: LiveResult) -> bool:
    """The run drove raycronjob: the version serves the kind and the backend's default set has it."""
    served = inventory.by_name()["raycronjob"].active_in(live.kuberay_version or "")
    return served and "RayCronJob" not in live.left_out


def test_a_raycronjobs_rayjobs_each_have_their_cluster_and_gang(live: LiveResult) -> None:
    """Two ticks: two RayJobs owned by the RayCronJob, each owning its RayCluster, whose Pods are a gang
    of their own under the one root (absent where the version does not serve the kind)."""
    if not _serves_raycronjob(live):
        assert not [s for s in live.snapshots if s.scenario == "raycronjob"]
        return
    snapshot = _phase(live, "raycronjob", "two-jobs")
    jobs = [o for o in snapshot.tree if o["kind"] == "RayJob"]
    assert len(jobs) >= 2
    assert {r["uid"] for j in jobs for r in j["metadata"]["ownerReferences"]} == {snapshot.uid}
    clusters = [o for o in snapshot.tree if o["kind"] == "RayCluster"]
    owners = {r["uid"] for c in clusters for r in c["metadata"]["ownerReferences"]}
    assert len(clusters) == len(jobs) and owners == {j["metadata"]["uid"] for j in jobs}
    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == "raycronjob"]
    groups = gang_groups(definition, snapshot.pods(), snapshot.root)
    assert len(groups) == len(clusters) and {g.minimum for g in groups} == {2}


def test_pending_phase_holds_two_clusters_and_the_pending_pods(live: LiveResult) -> None:
    snapshot = _phase(live, "rayservice", "upgrade-pending")
    status = snapshot.root["status"]
    active = status["activeServiceStatus"]["rayClusterName"]
    pending = status["pendingServiceStatus"]["rayClusterName"]
    assert active and pending and active != pending
    assert any(c["type"] == "UpgradeInProgress" and c["status"] == "True" for c in status["conditions"])
    clusters = {o["metadata"]["name"] for o in snapshot.tree if o["kind"] == "RayCluster"}
    assert clusters == {active, pending}
    pending_pods = [p for p in snapshot.pods() if p["metadata"]["labels"].get("ray.io/cluster") == pending]
    assert {p["metadata"]["labels"]["ray.io/node-type"] for p in pending_pods} == {"head", "worker"}
    for pod in pending_pods:
        assert [r["name"] for r in pod["metadata"]["ownerReferences"] if r["kind"] == "RayCluster"] == [
            pending
        ]


def test_the_pending_cluster_is_promoted_and_the_old_one_deleted_with_its_pods(live: LiveResult) -> None:
    during = _phase(live, "rayservice", "upgrade-pending")
    old = during.root["status"]["activeServiceStatus"]["rayClusterName"]
    pending = during.root["status"]["pendingServiceStatus"]["rayClusterName"]
    promoted = _phase(live, "rayservice", "promoted")
    assert promoted.root["status"]["activeServiceStatus"]["rayClusterName"] == pending
    assert not (promoted.root["status"].get("pendingServiceStatus") or {}).get("rayClusterName")
    after = _phase(live, "rayservice", "old-deleted")
    assert {o["metadata"]["name"] for o in after.tree if o["kind"] == "RayCluster"} == {pending}
    assert not [p for p in after.namespace_pods if p["metadata"]["labels"].get("ray.io/cluster") == old]


@pytest.mark.parametrize("name", ["raycluster", "rayjob", "rayservice", "raycronjob"])
def test_shipped_definition_holds_on_live_objects(live: LiveResult, name: str) -> None:
    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == name]
    verdicts = evaluate([definition], live)
    assert verdicts and not _failures(verdicts), "\n".join(_failures(verdicts))


def test_given_definitions_hold_on_live_objects(live: LiveResult, given: list[Definition]) -> None:
    """Every definition given with --definitions (by default the shipped ones; the variant is checked below)."""
    chosen = [d for d in given if not d.source.startswith(str(DEFINITIONS / "variants"))]
    verdicts = evaluate(chosen, live)
    assert verdicts and not _failures(verdicts), "\n".join(_failures(verdicts))


def test_pods_under_root_variant_selects_other_workloads_pods(live: LiveResult) -> None:
    """The evidence for definitions/README.md: variant (b) cannot scope its Pods to the workload."""
    (variant,) = load_path(DEFINITIONS / "variants")
    verdicts = evaluate([variant], live)
    failing = {v.claim for v in verdicts if v.outcome is Outcome.FAIL}
    assert failing == {"membership"}, "\n".join(_failures(verdicts))
    assert any("neighbour-raycluster" in v.message for v in verdicts if v.outcome is Outcome.FAIL)
    # with the Pods not matched to components, the claims about them are not evaluated (and say so)
    unevaluated = [v for v in verdicts if not v.ok and v.outcome is not Outcome.FAIL]
    assert {v.claim for v in unevaluated} == {"instance-ids", "replicas", "template-fidelity"}
    assert all(
        v.outcome is Outcome.ERROR and v.message.startswith("not evaluated at this phase")
        for v in unevaluated
    )


def _merge_gangs(d: dict[str, Any]) -> None:
    for member in d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"]:
        member["groupByKeyPaths"] = ['.metadata.labels["ray.io/originated-from-cr-name"] // "one-group"']


def _head_selects_nothing(d: dict[str, Any]) -> None:
    component(d, "head")["podSelector"]["componentTypeSelector"]["value"] = "leader"


def _omits_service(d: dict[str, Any]) -> None:
    kinds = d["spec"]["structureDefinition"]["additionalChildKinds"]
    d["spec"]["structureDefinition"]["additionalChildKinds"] = [k for k in kinds if k["kind"] != "Service"]


def _never_running(d: dict[str, Any]) -> None:
    mappings = d["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"]
    mappings["running"] = [{"byConditions": [{"type": "Serving", "status": "True"}]}]


def _submitter_without_spec(d: dict[str, Any]) -> None:
    del component(d, "submitter-pod")["specDefinition"]


def _submitter_reads_the_head_template(d: dict[str, Any]) -> None:
    component(d, "submitter-pod")["specDefinition"]["podTemplateSpecPath"] = (
        ".spec.rayClusterSpec.headGroupSpec.template"
    )


@pytest.mark.parametrize(
    ("label", "base", "change", "claim", "phase"),
    [
        ("gang merges active and pending", "rayservice", _merge_gangs, "gang", "rayservice/upgrade-pending"),
        (
            "head selector matches nothing",
            "rayservice",
            _head_selects_nothing,
            "membership",
            "rayservice/ready",
        ),
        ("omits a kind of the live tree", "rayservice", _omits_service, "ownership", "rayservice/ready"),
        ("status never Running", "rayservice", _never_running, "status", "rayservice/ready"),
        # Karta assigns Pods to leaves only: a selector without a spec places the submitter Pod nowhere
        (
            "submitter Pod component is no leaf",
            "rayjob",
            _submitter_without_spec,
            "membership",
            "rayjob/succeeded",
        ),
        (
            "submitter template path reads the head's",
            "rayjob",
            _submitter_reads_the_head_template,
            "template-fidelity",
            "rayjob/running",
        ),
    ],
)
def test_broken_definition_fails_the_named_claim(
    live: LiveResult, tmp_path: Path, label: str, base: str, change: Any, claim: str, phase: str
) -> None:
    (definition,) = load_path(broken(tmp_path, base, change))
    verdicts = evaluate([definition], live)
    failing = [v for v in verdicts if v.outcome is Outcome.FAIL and v.claim == claim and v.phase == phase]
    assert failing, f"{label}: expected claim {claim!r} to fail at {phase}; got:\n" + "\n".join(
        _failures(verdicts)
    )
    assert all(str(tmp_path) in v.line() for v in failing)


def test_karta_oracle_agrees_on_every_live_snapshot(live: LiveResult, given: list[Definition]) -> None:
    """Karta's own Go packages (karta-oracle) read every Snapshot of the run as the harness does."""
    from conformance.oracle.compare import compare

    result = compare(given, live.snapshots)
    disagreements = [f"[{v.phase}] {v.line()}" for v in result.verdicts if not v.ok]
    assert not disagreements, "\n".join(disagreements)
    # every definition's status, components, instances and Pods on each of its Snapshots, and the
    # RayClusters inside the RayService and RayJob Snapshots (about 1400 items on the local backend)
    assert result.compared > 1000 and result.nested > 0, result.line()


@pytest.mark.parametrize(
    ("case", "phase"),
    [
        ("conditions-objects", "rayservice/ready"),
        ("constant-min-replicas", "rayservice/ready"),
    ],
)
def test_karta_oracle_reads_the_once_divergent_cases_as_the_harness_on_live_snapshots(
    live: LiveResult, case: str, phase: str
) -> None:
    """These cases were disagreements on live Snapshots before the evaluator followed Karta
    (``status: matched`` and ``component worker[cpu-workers]: minReplicas`` at ``phase``); now
    Karta's own code and the harness read the live objects alike, and the item is compared."""
    from conformance.oracle.compare import compare

    (definition,) = load_path(Path(__file__).parents[1] / "data" / "divergent" / f"{case}.yaml")
    result = compare([definition], live.snapshots)
    disagreements = [f"[{v.phase}] {v.line()}" for v in result.verdicts if not v.ok]
    assert not disagreements, "\n".join(disagreements)
    agreed = [v for v in result.verdicts if v.outcome is Outcome.PASS and v.phase == phase]
    assert agreed, f"nothing compared at {phase}: " + result.line()


@pytest.mark.parametrize("name", ["raycluster", "rayjob", "rayservice"])
def test_a_definition_wrong_only_between_phases_fails_on_the_live_flows(live: LiveResult, name: str) -> None:
    """Each root kind's transient-wrong definition (tests/data/transient/: right at the photographed phases,
    wrong on a state KubeRay writes between them) fails on the frames this run recorded, naming the frame;
    the shipped definition of the kind reads every frame right (test_shipped_definition_holds_on_live_objects)."""
    (wrong,) = load_path(Path(__file__).resolve().parents[1] / "data" / "transient" / f"{name}.yaml")
    verdicts = [v for v in evaluate([wrong], live) if v.claim == "status-frames"]
    failed = [v for v in verdicts if v.outcome is Outcome.FAIL]
    assert failed, [v.message for v in verdicts]
    assert failed[0].message.startswith("frame ") and "resourceVersion " in failed[0].message
    assert "KubeRay's model allows" in failed[0].message
    assert [f.scenario for f in live.flows if f.frames], "no flow recorded a frame"
