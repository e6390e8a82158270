"""The live session's pure parts: namespace names, the capability a phase needs, its verdicts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest

from conformance.backends.base import Capability, Provider
from conformance.definition import load_path
from conformance.k8s.client import Kube
from conformance.live.capture import Snapshotter
from conformance.live.scenarios import Context, PhaseUnverified, ScenarioFailed
from conformance.live.session import LiveResult, namespace_name, scenario_verdicts
from conformance.tests.helpers import DEFINITIONS
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit


class _NoGate:
    name = "existing"
    capabilities = frozenset({Capability.APP_UNHEALTHY})

    def lacks(self, capability: Capability) -> str:
        return "" if capability in self.capabilities else f"no {capability} here"


def _context(provider: object, said: list[str]) -> Context:
    kube = cast(Kube, None)
    return Context(kube, cast(Provider, provider), "ns", cast(Snapshotter, None), said.append)


def test_namespace_name_is_a_dns_label_after_the_label() -> None:
    name = namespace_name("test_broken_definition[gang merges active and pending]")
    assert re.fullmatch(r"kc-test-broken-definition-gang-me-[0-9a-f]{5}", name), name
    assert re.fullmatch(r"kc-rayservice-[0-9a-f]{5}", namespace_name("rayservice"))


def test_a_phase_needing_a_missing_capability_is_unverified_with_the_reason() -> None:
    said: list[str] = []
    context = _context(_NoGate(), said)
    assert context.able(Capability.APP_UNHEALTHY, "rayservice", "app-unhealthy") is True
    assert context.unverified == []
    assert (
        context.able(Capability.GATE, "rayservice", "upgrade-pending", "upgrade-pending-recovered") is False
    )
    reason = "the existing backend cannot hold-new-heads: no hold-new-heads here"
    assert context.unverified == [
        PhaseUnverified("rayservice", "upgrade-pending", reason),
        PhaseUnverified("rayservice", "upgrade-pending-recovered", reason),
    ]
    assert said == [
        f"  [rayservice] UNVERIFIED upgrade-pending: {reason}",
        f"  [rayservice] UNVERIFIED upgrade-pending-recovered: {reason}",
    ]


def test_unverified_phases_and_failures_become_verdicts_of_definitions_of_that_kind() -> None:
    definitions = {d.name: d for d in load_path(DEFINITIONS)}
    result = LiveResult(
        unverified=[PhaseUnverified("rayservice", "upgrade-pending-recovered", "the x backend cannot y: z")],
        failures=[ScenarioFailed("rayjob", "running", "timed out")],
    )
    verdicts = scenario_verdicts(result, list(definitions.values()))
    got = sorted((v.definition, v.phase, v.outcome, v.message) for v in verdicts)
    assert got == [
        ("rayjob", "rayjob/running", Outcome.ERROR, "scenario rayjob, phase running: timed out"),
        (
            "rayservice",
            "rayservice/upgrade-pending-recovered",
            Outcome.UNVERIFIED,
            "the x backend cannot y: z",
        ),
    ]
    assert all(v.claim == "scenario" for v in verdicts)


def test_the_cli_and_pytest_write_reports_through_one_function(tmp_path: Path) -> None:
    from conformance.report import formats

    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    verdicts = scenario_verdicts(
        LiveResult(unverified=[PhaseUnverified("rayservice", "app-unhealthy", "why")]), [definition]
    )
    meta: dict[str, Any] = {"mode": "live"}
    formats.write_reports(
        verdicts,
        "backend x",
        meta,
        json_path=tmp_path / "r.json",
        junit=tmp_path / "j.xml",
        markdown_path=tmp_path / "s.md",
    )
    assert '"outcome": "unverified"' in (tmp_path / "r.json").read_text()
    assert 'name="karta-conformance live"' in (tmp_path / "j.xml").read_text()
    assert "backend x" in (tmp_path / "s.md").read_text()
