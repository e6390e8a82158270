"""The feature matrix table from live JSON reports (pure: synthetic reports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import inventory
from conformance.cli import main
from conformance.report import matrix

pytestmark = pytest.mark.unit


def _report(
    kuberay: str, features: dict[str, Any], verdicts: list[tuple[str, str, str, str]]
) -> dict[str, Any]:
    return {
        "meta": {"backend": "local", "kuberay": kuberay, "features": features, "ungated": ["upstream-rc"]},
        "verdicts": [{"definition": d, "claim": c, "phase": p, "outcome": o} for d, c, p, o in verdicts],
    }


def _entries() -> list[inventory.Feature]:
    wanted = {"multi-host", "raycluster-suspend", "owner-above-root", "gcs-fault-tolerance"}
    found = [f for f in inventory.load() if f.name in wanted]
    assert {f.name for f in found} == wanted
    return found


REPORTS = [
    _report(
        "v1.6.2",
        {
            "multi-host": {"scenario": "multi-host", "state": "ran", "seconds": 40.0},
            "raycluster-suspend": {"scenario": "raycluster-suspend", "state": "ran", "seconds": 9.5},
            "owner-above-root": {"scenario": "owner-above-root", "state": "ran", "seconds": 8},
            "gcs-fault-tolerance": {"scenario": None, "state": "unverified", "why": "needs Redis"},
        },
        [
            ("raycluster", "replicas", "multi-host/ready", "pass"),
            ("raycluster", "cannot-express", "multi-host/ready", "cannot-express"),
            ("raycluster", "status", "raycluster-suspend/suspended", "pass"),
            ("raycluster", "gang-minimum", "raycluster-suspend/suspended", "fail"),
            ("raycluster", "gang-minimum", "raycluster-suspend/ready", "pass"),
            ("upstream-rc", "status", "raycluster-suspend/ready", "fail"),  # ungated: left out
            ("raycluster", "top-owner", "owner-above-root/ready", "cannot-express"),
            ("raycluster", "status", "raycluster/ready", "fail"),  # another scenario: left out
        ],
    ),
    _report("v1.3.2", {"multi-host": {"scenario": "multi-host", "state": "n/a", "why": "no numOfHosts"}}, []),
]


def test_cells_say_the_worst_outcome_per_claim_of_the_features_phases() -> None:
    data = matrix.build(REPORTS, _entries())
    assert data["columns"] == ["v1.6.2 local", "v1.3.2 local"]
    rows = {row["feature"]: row["cells"] for row in data["features"]}
    suspend = rows["raycluster-suspend"]["v1.6.2 local"]
    assert suspend["claims"] == {"status": "pass", "gang-minimum": "fail"}
    assert suspend["outcome"] == "fail" and suspend["seconds"] == 9.5
    assert rows["multi-host"]["v1.6.2 local"]["outcome"] == "cannot-express"
    assert rows["multi-host"]["v1.3.2 local"]["state"] == "n/a"
    assert rows["gcs-fault-tolerance"]["v1.6.2 local"]["state"] == "unverified"
    # Selected by no run of that column: said, never a blank.
    assert rows["owner-above-root"]["v1.3.2 local"]["state"] == "not run"


def test_markdown_has_a_row_per_feature_and_a_column_per_run() -> None:
    text = matrix.markdown(matrix.build(REPORTS, _entries()))
    assert "| feature | v1.6.2 local | v1.3.2 local |" in text
    assert "| `raycluster-suspend` | fail: gang-minimum | not run |" in text
    assert "| `multi-host` | cannot-express: cannot-express | n/a |" in text
    assert "| `owner-above-root` | cannot-express: top-owner | not run |" in text


def test_cli_writes_markdown_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for index, report in enumerate(REPORTS):
        path = tmp_path / f"r{index}.json"
        path.write_text(json.dumps(report))
        paths.append(str(path))
    code = main(
        ["ci", "features", *paths, "--output", str(tmp_path / "m.md"), "--json", str(tmp_path / "m.json")]
    )
    assert code == 0
    assert "## Feature matrix" in capsys.readouterr().out
    data = json.loads((tmp_path / "m.json").read_text())
    assert len(data["features"]) == len(inventory.load())
    assert "raycluster-suspend" in (tmp_path / "m.md").read_text()


def test_cli_refuses_a_file_that_is_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"verdicts": []}')
    assert main(["ci", "features", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a karta-conformance JSON report" in err and len(err.strip().splitlines()) == 1


def test_a_run_with_a_batch_scheduler_is_a_column_of_its_own() -> None:
    plain = _report("v1.6.2", {}, [])
    volcano = _report("v1.6.2", {}, [])
    volcano["meta"]["batch_scheduler"] = "volcano"
    built = matrix.build([plain, volcano], _entries())
    assert built["columns"] == ["v1.6.2 local", "v1.6.2 local +volcano"]


def test_reports_of_one_column_are_merged_the_last_that_ran_a_feature_wins() -> None:
    """A kind run of some features and a rerun of one of them: one column, each feature from the run
    that ran it (the rerun's where both did)."""
    first = _report(
        "v1.6.2",
        {
            "multi-host": {"scenario": "multi-host", "state": "ran"},
            "owner-above-root": {"scenario": "owner-above-root", "state": "ran"},
        },
        [
            ("raycluster", "replicas", "multi-host/ready", "pass"),
            ("raycluster", "scenario", "owner-above-root/ready", "error"),
        ],
    )
    rerun = _report(
        "v1.6.2",
        {"owner-above-root": {"scenario": "owner-above-root", "state": "ran"}},
        [("raycluster", "top-owner", "owner-above-root/ready", "cannot-express")],
    )
    data = matrix.build([first, rerun], _entries())
    assert data["columns"] == ["v1.6.2 local"]
    cells = {row["feature"]: row["cells"]["v1.6.2 local"] for row in data["features"]}
    assert cells["multi-host"]["outcome"] == "pass"  # only the first ran it
    assert cells["owner-above-root"]["claims"] == {"top-owner": "cannot-express"}  # the rerun's
    assert cells["raycluster-suspend"]["state"] == "not run"
