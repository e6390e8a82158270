"""RayService spec.suspend (KubeRay v1.7.0): the shipped definition's status mappings on the statuses the
rayservice-suspend scenario recorded, and its suspend actions against the CRDs of the pinned versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.claims.static import check_definition
from conformance.definition import Definition, load_path
from conformance.evaluate.status import read_status
from conformance.static.session import schema_sources
from conformance.tests.helpers import DEFINITIONS, broken
from conformance.verdict import Outcome

RECORDED = Path(__file__).resolve().parents[1] / "data" / "rayservice-suspend" / "statuses.json"
# phase of the scenario -> what the definition must read (exactly these statuses)
EXPECTED = {
    "created": ("initializing",),  # no status yet
    "ready": ("running",),
    "suspending": ("suspending",),  # Suspending=True (SuspendInProgress), Ready=False, apps emptied
    "suspended": ("suspended",),  # Suspended=True (SuspendComplete), Ready=False
    # Suspended=False (RayServiceResumed), Ready=False (Initializing)
    "resumed-initializing": ("initializing",),
    "resumed": ("running",),
}


def _recorded() -> dict[str, Any]:
    phases: dict[str, Any] = json.loads(RECORDED.read_text())["phases"]
    return phases


def _root(definition: Definition) -> Any:
    assert definition.root.status is not None
    return definition.root.status


@pytest.mark.unit
@pytest.mark.parametrize("phase", list(EXPECTED))
def test_rayservice_mapping_on_the_recorded_suspension(phase: str) -> None:
    [definition] = load_path(DEFINITIONS / "rayservice.yaml")
    reading = read_status(_root(definition), {"status": _recorded()[phase]})
    assert reading.matched == EXPECTED[phase]
    assert reading.contradictions == []


@pytest.mark.unit
def test_every_recorded_phase_is_expected() -> None:
    assert set(_recorded()) == set(EXPECTED)


@pytest.mark.unit
def test_without_the_exclusion_a_suspended_rayservice_reads_initializing(tmp_path: Path) -> None:
    """What the scenario found before the fix: Ready=False with no failing app is what the initializing
    mapping looked for, so Suspending and Suspended both read Initializing (and, with the suspension
    mappings, both at once)."""

    def without(document: dict[str, Any]) -> None:
        mappings = document["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"][
            "statusMappings"
        ]
        [initializing] = mappings["initializing"]
        expression = initializing["byExpression"]["expression"]
        kept = [line for line in expression.splitlines() if '"Suspending"' not in line]
        assert len(kept) == len(expression.splitlines()) - 1
        initializing["byExpression"]["expression"] = "\n".join(kept)

    [definition] = load_path(broken(tmp_path, "rayservice", without))
    for phase, status in (("suspending", "suspending"), ("suspended", "suspended")):
        reading = read_status(_root(definition), {"status": _recorded()[phase]})
        assert reading.matched == (status, "initializing")


@pytest.mark.unit
def test_the_suspension_mappings_read_the_condition_status_not_its_presence(tmp_path: Path) -> None:
    """After a resume both conditions stay, False: a mapping on the type alone would read Suspended."""
    [definition] = load_path(DEFINITIONS / "rayservice.yaml")
    resumed = _recorded()["resumed"]
    types = {c["type"]: c["status"] for c in resumed["conditions"]}
    assert types["Suspended"] == "False" and types["Suspending"] == "False"

    def by_type(document: dict[str, Any]) -> None:
        mappings = document["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"][
            "statusMappings"
        ]
        mappings["suspended"] = [{"byConditions": [{"type": "Suspended"}]}]

    [loose] = load_path(broken(tmp_path, "rayservice", by_type))
    assert "suspended" in read_status(_root(loose), {"status": resumed}).matched
    assert "suspended" not in read_status(_root(definition), {"status": resumed}).matched


@pytest.mark.static
def test_suspend_actions_cannot_say_they_exist_in_v1_7_0_only(tmp_path: Path) -> None:
    """spec.suspend is in v1.7.0's RayService CRD only: the actions pass there and are CANNOT-EXPRESS on
    the older versions (the field is pruned, the action does nothing); a misspelt path FAILs everywhere."""
    schemas = schema_sources(["v1.6.2", "v1.7.0"])
    assert all(s.crds is not None for s in schemas), [s.unavailable for s in schemas]

    def with_actions(document: dict[str, Any]) -> None:  # the shipped one leaves them out for this reason
        document["spec"]["structureDefinition"]["rootComponent"]["suspendDefinition"] = {
            "suspendActions": [{"path": ".spec.suspend", "value": True}],
            "resumeActions": [{"path": ".spec.suspend", "value": False}],
        }

    [definition] = load_path(broken(tmp_path, "rayservice", with_actions))
    schema = [v for v in check_definition(definition, [], schemas) if v.claim == "schema"]
    by_phase = {(v.phase, v.subject, v.outcome) for v in schema}
    assert ("static:kuberay-v1.7.0", "", Outcome.PASS) in by_phase
    older = {(v.subject, v.outcome) for v in schema if v.phase == "static:kuberay-v1.6.2"}
    assert older == {
        ("rootComponent.suspendDefinition.suspendActions[0].path", Outcome.CANNOT_EXPRESS),
        ("rootComponent.suspendDefinition.resumeActions[0].path", Outcome.CANNOT_EXPRESS),
    }

    def misspelt(document: dict[str, Any]) -> None:
        with_actions(document)
        root = document["spec"]["structureDefinition"]["rootComponent"]
        root["suspendDefinition"]["suspendActions"] = [{"path": ".spec.suspnd", "value": True}]

    [wrong] = load_path(broken(tmp_path, "rayservice", misspelt, filename="misspelt.yaml"))
    failed = {
        v.phase
        for v in check_definition(wrong, [], schemas)
        if v.claim == "schema" and v.outcome is Outcome.FAIL
    }
    assert failed == {"static:kuberay-v1.6.2", "static:kuberay-v1.7.0"}


@pytest.mark.static
def test_the_shipped_rayservice_has_no_suspend_actions_and_strict_static_passes() -> None:
    """A suspend action that does nothing on four of the five pinned versions is worse than none."""
    [definition] = load_path(DEFINITIONS / "rayservice.yaml")
    assert definition.root.suspend is None
    schemas = schema_sources(["v1.6.2", "v1.7.0"])
    outcomes = {v.outcome for v in check_definition(definition, [], schemas) if v.claim == "schema"}
    assert outcomes == {Outcome.PASS}
