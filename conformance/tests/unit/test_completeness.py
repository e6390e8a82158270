"""conformance/claims/completeness.py: a snapshot short of a kind is UNVERIFIED in every report."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.claims import live
from conformance.claims.completeness import CLAIM, unlisted_kinds
from conformance.definition import load_path
from conformance.report.formats import text_lines
from conformance.snapshot import Expectation, Snapshot
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit

DEFINITIONS = Path(__file__).resolve().parents[3] / "definitions"


def _snapshot(unlisted: dict[str, str]) -> Snapshot:
    root = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "rc", "uid": "u-rc", "namespace": "ns"},
        "spec": {"headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head"}]}}}},
    }
    return Snapshot(
        scenario="raycluster",
        phase="ready",
        namespace="ns",
        root=root,
        tree=[],
        namespace_pods=[],
        events=[],
        served=["ray.io/v1/RayCluster"],
        expect=Expectation(statuses=["running"]),
        unlisted=unlisted,
    )


def test_a_complete_snapshot_adds_no_verdict() -> None:
    (definition,) = load_path(DEFINITIONS / "raycluster.yaml")
    assert unlisted_kinds(definition, _snapshot({})) == []


def test_an_unlisted_kind_is_one_unverified_verdict_naming_it_and_why() -> None:
    (definition,) = load_path(DEFINITIONS / "raycluster.yaml")
    why = "500 Internal Server Error: conversion webhook for example.io/v1, Kind=Widget failed"
    verdicts = [
        v for v in live.check([definition], [_snapshot({"example.io/v2/Widget": why})]) if v.claim == CLAIM
    ]
    assert len(verdicts) == 1
    (verdict,) = verdicts
    assert (verdict.outcome, verdict.phase) == (Outcome.UNVERIFIED, "raycluster/ready")
    assert verdict.evidence == {"unlisted": {"example.io/v2/Widget": why}}
    assert f"example.io/v2/Widget: {why}" in verdict.message
    lines = text_lines([verdict])
    assert any(line.startswith("UNVERIFIED") and "example.io/v2/Widget" in line for line in lines)
