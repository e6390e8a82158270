"""The report writers (JSON here; Markdown and JUnit are covered with the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.neutral import JSON_LIST_LIMIT, JSON_STRING_LIMIT
from conformance.report.formats import write_json
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.unit


def test_json_keeps_every_verdict_and_bounds_each(tmp_path: Path) -> None:
    count = JSON_LIST_LIMIT + 100
    verdicts = [
        Verdict(
            "d",
            "d.yaml",
            "claim",
            f"s{i}",
            "p",
            Outcome.PASS,
            "x" * (JSON_STRING_LIMIT + 10 if i == 0 else 1),
        )
        for i in range(count)
    ]
    path = tmp_path / "r.json"
    write_json(path, verdicts, {"mode": "live"})
    document = json.loads(path.read_text())
    assert len(document["verdicts"]) == count
    assert document["verdicts"][-1]["subject"] == f"s{count - 1}"
    assert document["verdicts"][0]["message"].endswith("more characters cut]")
