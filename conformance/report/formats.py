"""Reports a human reads (text, Markdown) and a machine reads (JSON)."""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.claims import names
from conformance.errors import UserError
from conformance.neutral import capped, cell, text
from conformance.verdict import Outcome, Verdict, exit_code

MARKDOWN_PROBLEMS = 100  # "What to fix" items in the Markdown summary; the JSON report has them all


def summarize(verdicts: list[Verdict]) -> dict[tuple[str, str], dict[Outcome, int]]:
    """(definition, claim) -> outcome counts, in first-seen order."""
    table: dict[tuple[str, str], dict[Outcome, int]] = {}
    for verdict in verdicts:
        row = table.setdefault((verdict.definition, verdict.claim), defaultdict(int))
        row[verdict.outcome] += 1
    return table


@dataclass(frozen=True)
class Group:
    """Definitions given together (one PATH of ``check``): gated ones set the exit code, ungated ones
    (``--ungated PATH``) are reported only."""

    label: str
    definitions: tuple[str, ...]
    gated: bool = True


def gate(verdicts: list[Verdict], groups: Sequence[Group], *, strict: bool = False) -> list[dict[str, Any]]:
    """Per group, gated ones first: its counts and the gate's answer (gated) or its findings (ungated).

    A finding is a verdict that would fail the gate: FAIL and ERROR, and with ``strict`` UNVERIFIED and
    CANNOT-EXPRESS too. The JSON report's ``gate``, the Markdown summary's first table and the text
    report's last lines are these rows."""
    rows = []
    for group in sorted(groups, key=lambda g: not g.gated):
        members = set(group.definitions)
        mine = [v for v in verdicts if v.definition in members]
        counts = {outcome.value: sum(v.outcome is outcome for v in mine) for outcome in Outcome}
        findings = [v for v in mine if exit_code([v], strict=strict)]
        inexpressible: dict[str, int] = {}
        for v in mine:
            if v.outcome is Outcome.CANNOT_EXPRESS:
                inexpressible[v.definition] = inexpressible.get(v.definition, 0) + 1
        rows.append(
            {
                "group": group.label,
                "gated": group.gated,
                "definitions": len(members),
                "counts": counts,
                "cannot_express": dict(sorted(inexpressible.items())),
                "findings": len(findings),
                "definitions_with_findings": sorted({v.definition for v in findings}),
                "answer": ("fails" if findings else "passes") if group.gated else "reported, not gated",
            }
        )
    return rows


_COUNTED = (
    (Outcome.ERROR, "not evaluated"),
    (Outcome.UNVERIFIED, "unverified here"),
    (Outcome.CANNOT_EXPRESS, "CANNOT-EXPRESS"),
    (Outcome.NOT_APPLICABLE, "n/a"),
)


def gate_counts(row: dict[str, Any]) -> str:
    """``550 passed, 0 failed`` (and the other outcomes that occurred), or for an ungated group
    ``153 finding(s) in 3 of 3 definition(s)``."""
    counts = row["counts"]
    if not row["gated"]:
        with_findings = len(row["definitions_with_findings"])
        return f"{row['findings']} finding(s) in {with_findings} of {row['definitions']} definition(s)"
    extra = "".join(f", {counts[o.value]} {name}" for o, name in _COUNTED if counts[o.value])
    return f"{counts[Outcome.PASS.value]} passed, {counts[Outcome.FAIL.value]} failed{extra}"


def gate_line(row: dict[str, Any]) -> str:
    """One line: ``definitions/: 550 passed, 0 failed: gate passes``, or for an ungated group
    ``definitions/upstream/ (reported, not gated): 153 finding(s) in 3 of 3 definition(s)``."""
    label = text(row["group"], 300)
    if not row["gated"]:
        return f"{label} (reported, not gated): {gate_counts(row)}"
    return f"{label}: {gate_counts(row)}: gate {row['answer']}"


def cannot_express_line(row: dict[str, Any]) -> str | None:
    """``definitions/: CANNOT-EXPRESS per definition: rayjob 3, rayservice 2`` (None when there is none)."""
    counted = row.get("cannot_express") or {}
    if not counted:
        return None
    listed = ", ".join(f"{text(name, 200)} {n}" for name, n in counted.items())
    return f"{text(row['group'], 300)}: CANNOT-EXPRESS per definition: {listed}"


def gate_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The text report's last lines: the CANNOT-EXPRESS count per definition of the gated groups, then the
    ungated groups, then each gated group, so the last line a terminal shows is the gate's answer (a last
    overall line when several groups are gated)."""
    lines = [line for r in rows if r["gated"] and (line := cannot_express_line(r))]
    lines += [gate_line(r) for r in rows if not r["gated"]] + [gate_line(r) for r in rows if r["gated"]]
    gated = [r for r in rows if r["gated"]]
    if len(gated) > 1:
        failing = [text(r["group"], 300) for r in gated if r["answer"] == "fails"]
        lines.append(
            f"gate fails: {', '.join(failing)}" if failing else f"gate passes: {len(gated)} groups hold"
        )
    return lines


def text_lines(
    verdicts: list[Verdict], header: str | None = None, gate_rows: list[dict[str, Any]] | None = None
) -> list[str]:
    """One verdict line per definition and claim, then one line per failing check, then the totals:
    per group and the gate's answer when ``gate_rows`` are given (the gate's answer last), else one
    line over every verdict."""
    lines = [text(header)] if header else []
    for (definition, claim), counts in summarize(verdicts).items():
        total = sum(counts.values())
        if counts.get(Outcome.FAIL):
            status = Outcome.FAIL
        elif counts.get(Outcome.ERROR):
            status = Outcome.ERROR
        elif counts.get(Outcome.CANNOT_EXPRESS):
            status = Outcome.CANNOT_EXPRESS
        elif counts.get(Outcome.UNVERIFIED):
            status = Outcome.UNVERIFIED
        elif counts.get(Outcome.NOT_APPLICABLE) == total:
            status = Outcome.NOT_APPLICABLE
        else:
            status = Outcome.PASS
        detail = (
            f"{total} check(s)"
            if status is Outcome.PASS
            else (
                f"{counts.get(Outcome.FAIL, 0)} failed, {counts.get(Outcome.ERROR, 0)} not evaluated, of {total}"
            )
        )
        lines.append(f"{status!s:10} {text(definition, 200):32} {text(claim, 100):20} {detail}")
    problems = [v for v in verdicts if not v.ok]
    if problems:
        lines.append("")
        for verdict in problems:
            phase = f" [{text(verdict.phase, 200)}]" if verdict.phase else ""
            lines.append(f"{verdict.outcome!s:10} {text(verdict.line())}{phase}")
    passed = sum(1 for v in verdicts if v.ok)
    lines.append("")
    if gate_rows is not None:
        return lines + gate_lines(gate_rows)
    lines.append(
        f"{passed} passed, {sum(1 for v in verdicts if v.outcome is Outcome.FAIL)} failed, "
        f"{sum(1 for v in verdicts if v.outcome is Outcome.ERROR)} not evaluated, "
        f"{sum(1 for v in verdicts if v.outcome is Outcome.UNVERIFIED)} unverified here"
        + "".join(
            f", {n} {label}"
            for label, n in (
                ("cannot be expressed in Karta", sum(v.outcome is Outcome.CANNOT_EXPRESS for v in verdicts)),
                ("n/a", sum(v.outcome is Outcome.NOT_APPLICABLE for v in verdicts)),
            )
            if n
        )
        + f" ({len({v.definition for v in verdicts})} definition(s))"
    )
    return lines


def write_json(
    path: str | Path,
    verdicts: list[Verdict],
    meta: dict[str, Any],
    gate_rows: list[dict[str, Any]] | None = None,
) -> None:
    # Each verdict is bounded (its evidence comes from live objects and definitions), not the list of
    # them: a run with more than JSON_LIST_LIMIT verdicts keeps every one. The gate's answer comes first.
    document = {
        **({"gate": capped(_plain(gate_rows))} if gate_rows is not None else {}),
        "meta": capped(_plain(meta)),
        "verdicts": [capped(_plain(v.to_json())) for v in verdicts],
    }
    write(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def _plain(value: Any) -> Any:
    """JSON-ready: non-finite numbers and other non-JSON values as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def markdown(
    verdicts: list[Verdict],
    title: str,
    meta_lines: Iterable[str] = (),
    gate_rows: list[dict[str, Any]] | None = None,
) -> str:
    lines = [f"## {cell(title, 300)}", ""]
    if gate_rows:
        lines += ["| definitions | answer |", "| --- | --- |"]
        for row in gate_rows:
            answer = f"gate {row['answer']}" if row["gated"] else "reported, not gated"
            lines.append(f"| {cell(row['group'], 300)} | **{answer}**: {cell(gate_counts(row), 300)} |")
        lines.append("")
        lines += [
            f"{cell(line, 1000)}  "
            for row in gate_rows
            if row["gated"] and (line := cannot_express_line(row))
        ]
    lines += [f"{cell(line)}  " for line in meta_lines]
    lines += ["", "| definition | claim | result |", "| --- | --- | --- |"]
    for (definition, claim), counts in summarize(verdicts).items():
        bad = counts.get(Outcome.FAIL, 0) + counts.get(Outcome.ERROR, 0)
        if bad:
            result = f"**{counts.get(Outcome.FAIL, 0)} failed, {counts.get(Outcome.ERROR, 0)} error**"
        elif counts.get(Outcome.CANNOT_EXPRESS):
            result = f"cannot be expressed in Karta ({counts[Outcome.CANNOT_EXPRESS]})"
        elif counts.get(Outcome.UNVERIFIED):
            result = f"unverified here ({counts[Outcome.UNVERIFIED]})"
        elif counts.get(Outcome.NOT_APPLICABLE) == sum(counts.values()):
            result = "n/a"
        else:
            result = "pass"
        lines.append(f"| {cell(definition, 200)} | {cell(claim, 100)} | {result} |")
    lines += gang_minimum_lines(verdicts)
    problems = [v for v in verdicts if not v.ok]
    if problems:
        lines += ["", "### What to fix", ""]
        for verdict in problems[:MARKDOWN_PROBLEMS]:
            lines.append(f"- \\[{cell(verdict.phase, 200)}\\] {cell(verdict.line(), 1000)}")
            if verdict.evidence.get("yielded") is not None:
                shown = json.dumps(_plain(verdict.evidence["yielded"]))
                lines.append(f"  - yielded: {cell(shown, 300)}")
        if len(problems) > MARKDOWN_PROBLEMS:
            lines.append(
                f"- ... and {len(problems) - MARKDOWN_PROBLEMS} more (every problem is in the JSON report)"
            )
    return "\n".join(lines) + "\n"


def gang_minimum_lines(verdicts: list[Verdict]) -> list[str]:
    """The ``gang-minimum`` verdicts as a table: per definition, phase and pod group, the minimum a
    Karta consumer computes and the Pods the owner needs together."""
    rows = [v for v in verdicts if v.claim == names.GANG_MINIMUM and "group" in v.evidence]
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
        lines.append("| " + " | ".join(cell(str(c), 200) for c in cells) + " |")
    return lines


_SKIPPED = (
    Outcome.UNVERIFIED,
    Outcome.CANNOT_EXPRESS,
    Outcome.NOT_APPLICABLE,
)  # JUnit skips, with the reason


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
            name=text(f"{suite}: {definition}", 300),
            tests=str(len(items)),
            failures=str(sum(v.outcome is Outcome.FAIL for v in items)),
            errors=str(sum(v.outcome is Outcome.ERROR for v in items)),
            skipped=str(sum(v.outcome in _SKIPPED for v in items)),
        )
        for verdict in items:
            case = ET.SubElement(
                element,
                "testcase",
                classname=text(f"{definition}.{verdict.claim}", 300),
                name=text(f"{verdict.subject or verdict.source} [{verdict.phase}]", 500),
                file=text(verdict.source, 500),
            )
            tag = {Outcome.FAIL: "failure", Outcome.ERROR: "error"}.get(verdict.outcome)
            tag = tag or ("skipped" if verdict.outcome in _SKIPPED else None)
            if tag:
                ET.SubElement(case, tag, message=text(verdict.line(), 500)).text = text(verdict.line())
    body = ET.tostring(root, encoding="unicode", xml_declaration=True)
    write(path, body)


def write_reports(
    verdicts: list[Verdict],
    header: str,
    meta: dict[str, Any],
    *,
    json_path: str | Path | None = None,
    junit: str | Path | None = None,
    markdown_path: str | Path | None = None,
    gate_rows: list[dict[str, Any]] | None = None,
) -> None:
    """The JSON, JUnit and Markdown reports of one run (those asked for); the summary also goes to
    ``$GITHUB_STEP_SUMMARY``. The CLI and the pytest live session both write theirs here."""
    if json_path:
        write_json(json_path, verdicts, meta, gate_rows)
    if junit:
        write_junit(junit, verdicts, f"karta-conformance {meta.get('mode', '')}".strip())
    summary = markdown(verdicts, header, gate_rows=gate_rows)
    if markdown_path:
        write(markdown_path, summary)
    append_step_summary(summary)


def append_step_summary(summary: str) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` when running in GitHub Actions."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        try:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(summary)
        except OSError as error:
            raise UserError(f"cannot append the summary: {error.strerror or error}", where=target) from None


def check_output(path: str | Path | None) -> None:
    """Refuse (exit 2) a report path that is a folder, a FIFO or a device, or under a file, before any work."""
    if path is None:
        return
    target = Path(path)
    if target.exists() and not target.is_file():
        what = "a folder" if target.is_dir() else "not a regular file"
        raise UserError(f"report path is {what}; name a file", where=str(target))
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"report path is under {parent}, which is not a folder", where=str(target))
            break


def write(path: str | Path, body: str) -> None:
    """Write a report file; a path that cannot be written is one line, exit 2."""
    check_output(path)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write the report: {error.strerror or error}", where=str(target)) from None
