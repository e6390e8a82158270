"""The feature matrix as a table: feature x KubeRay version x backend -> verdict per claim (pure).

Its input is the JSON reports of ``check --live --features ...`` runs (one per KubeRay version and
backend; ``meta.features`` says per feature whether it ran, was n/a or unverified). A cell summarises
the verdicts of the gated definitions (``--ungated`` ones are left out) on the phases of the feature's
scenario: ``pass``, or the claims that did not pass with their outcome. A feature a version does not
have is ``n/a``; one with no scenario is ``unverified``; one a report did not select is ``not run``,
never a blank.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance import inventory
from conformance.neutral import cell

# Worst first: a cell shows the worst outcome of each claim.
SEVERITY = ("error", "fail", "cannot-express", "unverified", "n/a", "pass")


@dataclass(frozen=True)
class Column:
    kuberay: str
    backend: str
    batch_scheduler: str = ""  # the run's --batch-scheduler: its own column

    @property
    def title(self) -> str:
        return f"{self.kuberay} {self.backend}" + (
            f" +{self.batch_scheduler}" if self.batch_scheduler else ""
        )


@dataclass
class Cell:
    state: str  # "ran", "n/a", "unverified", "not run"
    claims: dict[str, str] = field(default_factory=dict)  # claim -> worst outcome
    why: str = ""
    seconds: float | None = None

    @property
    def outcome(self) -> str:
        if self.state != "ran":
            return self.state
        if not self.claims:
            return "no verdict"
        return min(self.claims.values(), key=SEVERITY.index)

    def text(self) -> str:
        if self.state != "ran":
            return self.state
        bad = {c: o for c, o in sorted(self.claims.items()) if o != "pass"}
        if not bad:
            return f"pass ({len(self.claims)} claims)" if self.claims else "no verdict"
        by_outcome: dict[str, list[str]] = {}
        for claim, outcome in bad.items():
            by_outcome.setdefault(outcome, []).append(claim)
        ordered = sorted(by_outcome.items(), key=lambda item: SEVERITY.index(item[0]))
        return "; ".join(f"{o}: {', '.join(c)}" for o, c in ordered)


def _worst(a: str | None, b: str) -> str:
    return b if a is None or SEVERITY.index(b) < SEVERITY.index(a) else a


def column_of(report: Mapping[str, Any]) -> Column:
    meta = report.get("meta") or {}
    return Column(
        str(meta.get("kuberay") or "?"),
        str(meta.get("backend") or "?"),
        str(meta.get("batch_scheduler") or ""),
    )


def build(
    reports: Sequence[Mapping[str, Any]], entries: Iterable[inventory.Feature] | None = None
) -> dict[str, Any]:
    """The matrix as JSON-ready data: columns, and per feature a cell per column. Reports of the same
    column (a rerun of some features, or features run in two parts) are one column: per feature the last
    report that ran it, else the last that said something (n/a, unverified), else ``not run``."""
    features = list(inventory.load() if entries is None else entries)
    by_column: dict[Column, list[Mapping[str, Any]]] = {}
    for report in reports:
        by_column.setdefault(column_of(report), []).append(report)
    columns = list(by_column)
    rows = []
    for feature in features:
        cells = [_merged([_cell(feature, report) for report in by_column[column]]) for column in columns]
        rows.append(
            {
                "feature": feature.name,
                "kinds": list(feature.kinds),
                "scenario": feature.scenario,
                "scenarios": list(feature.scenarios),
                "cells": {
                    column.title: {
                        "state": c.state,
                        "outcome": c.outcome,
                        "claims": c.claims,
                        "why": c.why,
                        "seconds": c.seconds,
                    }
                    for column, c in zip(columns, cells, strict=True)
                },
            }
        )
    return {"columns": [c.title for c in columns], "features": rows}


def _merged(cells: Sequence[Cell]) -> Cell:
    """One column's cell from its reports' cells, in report order."""
    for wanted in ("ran", None):
        chosen = [c for c in cells if (c.state == wanted if wanted else c.state != "not run")]
        if chosen:
            return chosen[-1]
    return cells[-1]


def _cell(feature: inventory.Feature, report: Mapping[str, Any]) -> Cell:
    meta = report.get("meta") or {}
    ran = (meta.get("features") or {}).get(feature.name)
    if ran is None:
        return Cell("not run", why="this report's run did not select the feature")
    state = str(ran.get("state") or "ran")
    if state != "ran":
        return Cell(state, why=str(ran.get("why") or ""))
    ungated = set(meta.get("ungated") or ())
    prefixes = tuple(f"{s}/" for s in feature.scenarios)
    claims: dict[str, str] = {}
    for verdict in report.get("verdicts") or ():
        if verdict.get("definition") in ungated or not str(verdict.get("phase", "")).startswith(prefixes):
            continue
        claims[str(verdict.get("claim"))] = _worst(
            claims.get(str(verdict.get("claim"))), str(verdict.get("outcome"))
        )
    seconds = ran.get("seconds")
    return Cell("ran", claims, seconds=float(seconds) if isinstance(seconds, (int, float)) else None)


def markdown(matrix: Mapping[str, Any]) -> str:
    columns = list(matrix["columns"])
    lines = [
        "## Feature matrix",
        "",
        "Verdicts of the project's definitions on each feature's scenario phases "
        "(`n/a`: the version lacks the feature or its gate is off; `unverified`: no scenario yet; "
        "`not run`: not selected in that run).",
        "",
        "| feature | " + " | ".join(cell(c) for c in columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for row in matrix["features"]:
        texts = []
        for column in columns:
            data = row["cells"][column]
            texts.append(Cell(data["state"], dict(data["claims"])).text())
        lines.append(f"| `{cell(row['feature'])}` | " + " | ".join(cell(t, 300) for t in texts) + " |")
    return "\n".join(lines) + "\n"
