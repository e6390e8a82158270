"""Reports a human reads (text, Markdown) and a machine reads (JSON)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.verdict import Outcome, Verdict


def summarize(verdicts: list[Verdict]) -> dict[tuple[str, str], dict[Outcome, int]]:
    """(definition, claim) -> outcome counts, in first-seen order."""
    table: dict[tuple[str, str], dict[Outcome, int]] = {}
    for verdict in verdicts:
        row = table.setdefault((verdict.definition, verdict.claim), defaultdict(int))
        row[verdict.outcome] += 1
    return table


def text_lines(verdicts: list[Verdict], header: str | None = None) -> list[str]:
    """One verdict line per definition and claim, then one line per failing check."""
    lines = [header] if header else []
    for (definition, claim), counts in summarize(verdicts).items():
        total = sum(counts.values())
        if counts.get(Outcome.FAIL):
            status = Outcome.FAIL
        elif counts.get(Outcome.ERROR):
            status = Outcome.ERROR
        elif counts.get(Outcome.UNVERIFIED):
            status = Outcome.UNVERIFIED
        else:
            status = Outcome.PASS
        detail = (
            f"{total} check(s)"
            if status is Outcome.PASS
            else (
                f"{counts.get(Outcome.FAIL, 0)} failed, {counts.get(Outcome.ERROR, 0)} not evaluated, of {total}"
            )
        )
        lines.append(f"{status!s:10} {definition:32} {claim:20} {detail}")
    problems = [v for v in verdicts if not v.ok]
    if problems:
        lines.append("")
        for verdict in problems:
            phase = f" [{verdict.phase}]" if verdict.phase else ""
            lines.append(f"{verdict.outcome!s:10} {verdict.line()}{phase}")
    passed = sum(1 for v in verdicts if v.ok)
    lines.append("")
    lines.append(
        f"{passed} passed, {sum(1 for v in verdicts if v.outcome is Outcome.FAIL)} failed, "
        f"{sum(1 for v in verdicts if v.outcome is Outcome.ERROR)} not evaluated, "
        f"{sum(1 for v in verdicts if v.outcome is Outcome.UNVERIFIED)} unverified here "
        f"({len({v.definition for v in verdicts})} definition(s))"
    )
    return lines


def write_json(path: str | Path, verdicts: list[Verdict], meta: dict[str, Any]) -> None:
    document = {"meta": meta, "verdicts": [v.to_json() for v in verdicts]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(document, indent=2, default=str) + "\n")


def markdown(verdicts: list[Verdict], title: str, meta_lines: Iterable[str] = ()) -> str:
    lines = [f"## {title}", ""]
    lines += [f"{line}  " for line in meta_lines]
    lines += ["", "| definition | claim | result |", "| --- | --- | --- |"]
    for (definition, claim), counts in summarize(verdicts).items():
        bad = counts.get(Outcome.FAIL, 0) + counts.get(Outcome.ERROR, 0)
        if bad:
            result = f"**{counts.get(Outcome.FAIL, 0)} failed, {counts.get(Outcome.ERROR, 0)} error**"
        elif counts.get(Outcome.UNVERIFIED):
            result = f"unverified here ({counts[Outcome.UNVERIFIED]})"
        else:
            result = "pass"
        lines.append(f"| {definition} | {claim} | {result} |")
    lines += gang_minimum_lines(verdicts)
    problems = [v for v in verdicts if not v.ok]
    if problems:
        lines += ["", "### What to fix", ""]
        for verdict in problems:
            escaped = verdict.line().replace("|", "\\|")
            lines.append(f"- `{verdict.phase}` {escaped}")
            if verdict.evidence.get("yielded") is not None:
                shown = json.dumps(verdict.evidence["yielded"], default=str)[:300]
                lines.append(f"  - yielded: `{shown}`")
    return "\n".join(lines) + "\n"


def gang_minimum_lines(verdicts: list[Verdict]) -> list[str]:
    """The ``gang-minimum`` verdicts as a table: per definition, phase and pod group, the minimum a
    Karta consumer computes and the Pods the owner needs together."""
    rows = [v for v in verdicts if v.claim == "gang-minimum" and "group" in v.evidence]
    if not rows:
        return []
    lines = [
        "",
        "### Gang minimums",
        "",
        "| definition | phase | pod group | effective component | minimum | needed | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for v in rows:
        e = v.evidence
        minimum = e.get("minimum")
        shown = "differs per Pod" if minimum is None and e.get("pod_minimums") else minimum
        cells = [
            v.definition,
            v.phase,
            e["group"],
            e.get("effective_component"),
            shown,
            e.get("expected"),
            v.outcome,
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return lines


def write_junit(path: str | Path, verdicts: list[Verdict], suite: str) -> None:
    """JUnit XML: a testsuite per definition, a testcase per verdict (UNVERIFIED is a skip with its reason)."""
    root = ET.Element("testsuites", name=suite)
    by_definition: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_definition.setdefault(verdict.definition, []).append(verdict)
    for definition, items in by_definition.items():
        element = ET.SubElement(
            root,
            "testsuite",
            name=f"{suite}: {definition}",
            tests=str(len(items)),
            failures=str(sum(v.outcome is Outcome.FAIL for v in items)),
            errors=str(sum(v.outcome is Outcome.ERROR for v in items)),
            skipped=str(sum(v.outcome is Outcome.UNVERIFIED for v in items)),
        )
        for verdict in items:
            case = ET.SubElement(
                element,
                "testcase",
                classname=f"{definition}.{verdict.claim}",
                name=f"{verdict.subject or verdict.source} [{verdict.phase}]",
                file=verdict.source,
            )
            tag = {Outcome.FAIL: "failure", Outcome.ERROR: "error", Outcome.UNVERIFIED: "skipped"}.get(
                verdict.outcome
            )
            if tag:
                ET.SubElement(case, tag, message=verdict.line()[:500]).text = verdict.line()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)


def append_step_summary(text: str) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` when running in GitHub Actions."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
