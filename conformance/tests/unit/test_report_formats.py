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


def _gate_verdicts() -> list[Verdict]:
    def v(definition: str, outcome: Outcome) -> Verdict:
        return Verdict(definition, f"{definition}.yaml", "status", "", "rayjob/created", outcome, "m")

    return [
        v("mine", Outcome.PASS),
        v("mine", Outcome.PASS),
        v("mine", Outcome.CANNOT_EXPRESS),
        v("theirs", Outcome.FAIL),
        v("theirs", Outcome.ERROR),
        v("theirs", Outcome.PASS),
        v("other", Outcome.PASS),
    ]


def test_the_gate_answer_is_the_last_text_line_and_the_first_of_markdown_and_json(tmp_path: Path) -> None:
    from conformance.report.formats import Group, gate, markdown, text_lines

    groups = [
        Group("definitions/", ("mine",)),
        Group("definitions/upstream/", ("theirs", "other"), gated=False),
    ]
    rows = gate(_gate_verdicts(), groups)
    lines = text_lines(_gate_verdicts(), "header", rows)
    assert lines[-3:] == [
        "definitions/: CANNOT-EXPRESS per definition: mine 1",
        "definitions/upstream/ (reported, not gated): 2 finding(s) in 1 of 2 definition(s)",
        "definitions/: 2 passed, 0 failed, 1 CANNOT-EXPRESS: gate passes",
    ]
    summary = markdown(_gate_verdicts(), "title", gate_rows=rows).splitlines()
    assert summary[2:6] == [
        "| definitions | answer |",
        "| --- | --- |",
        "| definitions/ | **gate passes**: 2 passed, 0 failed, 1 CANNOT-EXPRESS |",
        "| definitions/upstream/ | **reported, not gated**: 2 finding(s) in 1 of 2 definition(s) |",
    ]
    write_json(tmp_path / "r.json", _gate_verdicts(), {"mode": "live"}, rows)
    document = json.loads((tmp_path / "r.json").read_text())
    assert next(iter(document)) == "gate"
    assert [(r["group"], r["answer"]) for r in document["gate"]] == [
        ("definitions/", "passes"),
        ("definitions/upstream/", "reported, not gated"),
    ]


def test_strict_makes_cannot_express_a_finding_that_fails_the_gate() -> None:
    from conformance.report.formats import Group, gate, gate_lines

    rows = gate(_gate_verdicts(), [Group("a/", ("mine",)), Group("b/", ("other",))], strict=True)
    assert gate_lines(rows) == [
        "a/: CANNOT-EXPRESS per definition: mine 1",
        "a/: 2 passed, 0 failed, 1 CANNOT-EXPRESS: gate fails",
        "b/: 1 passed, 0 failed: gate passes",
        "gate fails: a/",
    ]
