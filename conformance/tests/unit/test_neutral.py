"""Definition content cannot steer a report: text, Markdown, JUnit, JSON and the step summary."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.errors import UserError
from conformance.neutral import cell, text
from conformance.report import formats as report
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.unit

HOSTILE = "x\n::error file=a::forged\r\n# Heading | cell ` code ` <img src=x> ##[set-env name=A]b \x1b[31m \u202e \x00"


def _verdicts() -> list[Verdict]:
    return [
        Verdict(
            definition=HOSTILE,
            source="defs/" + HOSTILE + ".yaml",
            claim="paths-resolve",
            subject="rootComponent.specDefinition.podTemplateSpecPath",
            phase="static:" + HOSTILE,
            outcome=Outcome.FAIL,
            message="yields " + HOSTILE + "y" * 50_000,
            expression=".spec",
            evidence={"yielded": [HOSTILE, "z" * 100_000, float("nan"), list(range(2000))]},
        ),
        Verdict(HOSTILE, "d.yaml", "valid", "", "static", Outcome.PASS, "ok"),
    ]


def _no_command(line: str) -> None:
    assert not line.lstrip().startswith("::"), line
    assert "##[" not in line, line
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029\u202e]", line), repr(line)


def test_text_lines_are_one_line_each_and_inert() -> None:
    lines = report.text_lines(_verdicts(), "header")
    assert len(lines) == 1 + 2 + 1 + 1 + 2  # header, two rows, blank, one problem, blank, totals
    for line in lines:
        _no_command(line)
        assert len(line) < 5000
    assert "more characters cut" in lines[4]
    assert "x\\n::error file=a::forged\\r\\n" in lines[1]


def test_markdown_cells_stay_cells_and_nothing_opens_a_heading_code_span_or_html() -> None:
    summary = report.markdown(_verdicts(), "title " + HOSTILE)
    for line in summary.splitlines():
        _no_command(line)
        if line.startswith("| ") and "---" not in line:
            assert len(re.findall(r"(?<!\\)\|", line)) == 4, line
        assert not line.startswith("#") or line.startswith(("## title", "### What to fix")), line
        assert not re.search(r"(?<!\\)[`<]", line), line
    assert "\\<img src=x\\>" in summary


def test_markdown_lists_at_most_a_hundred_problems_and_says_so() -> None:
    many = [Verdict("d", "d.yaml", "c", f"s{i}", "static", Outcome.FAIL, "bad") for i in range(150)]
    summary = report.markdown(many, "t")
    assert summary.count("\n- \\[static\\]") == 100
    assert "and 50 more (every problem is in the JSON report)" in summary


def test_junit_is_well_formed_xml_without_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    report.write_junit(path, _verdicts(), "suite")
    root = ET.fromstring(path.read_text())
    case = root.find("testsuite/testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert "\n" not in failure.text and "\x1b" not in failure.text
    assert len(failure.get("message", "")) < 600


def test_json_report_is_strict_json_with_long_values_cut(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    report.write_json(path, _verdicts(), {"mode": "static"})
    document = json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))
    yielded = document["verdicts"][0]["evidence"]["yielded"]
    assert yielded[0] == HOSTILE  # JSON escapes it; the value itself is kept
    assert yielded[1].endswith("[... 91808 more characters cut]")
    assert yielded[2] == "nan"
    assert yielded[3][-1] == "[... 1500 more items cut]"


@pytest.mark.parametrize("kind", ["folder", "fifo", "under-a-file"])
def test_a_report_path_that_is_not_a_file_is_refused(tmp_path: Path, kind: str) -> None:
    import os

    target = tmp_path / "out"
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.write_text("")
        target = target / "report.json"
    with pytest.raises(UserError, match="report path"):
        report.check_output(target)


def test_user_errors_are_one_inert_line() -> None:
    error = UserError("bad\n::error::forged", where="a\x1bb")
    assert str(error) == "a\\x1bb: bad\\n::error::forged"


def test_cell_escapes_every_markdown_active_character() -> None:
    assert cell("a|b`c*d_e[f](g)<h>#i!j~k&l@m\\n") == (
        "a\\|b\\`c\\*d\\_e\\[f\\](g)\\<h\\>\\#i\\!j\\~k\\&l\\@m\\\\n"
    )
    assert text("::warning::x") == "\\::warning::x"
