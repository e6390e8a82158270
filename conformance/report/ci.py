"""What the GitHub workflows compute: the nightly matrix (from the versions file) and the
compatibility table (definition x KubeRay version) from the nightly jobs' JSON reports.

Pure but for reading files; the workflows call it through ``karta-conformance ci ...``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import versions
from conformance.errors import UserError
from conformance.neutral import cell
from conformance.report import matrix


def nightly_matrix() -> dict[str, list[dict[str, str]]]:
    """Every pinned KubeRay version x every pinned kind node image, for ``strategy.matrix``."""
    pins = versions.load()
    return {
        "include": [
            {
                "kuberay": kuberay,
                "node_image": image,
                "kubernetes": pins.node_kubernetes(image),
            }
            for kuberay in pins.kuberay
            for image in pins.kind_node_images
        ]
    }


def pinned_versions() -> list[str]:
    """Every pinned KubeRay version, for the nightly's corpus refresh (one job each)."""
    return list(versions.load().kuberay)


# What static plus replay of the recorded corpus judge fully: the definitions (on every pinned version's
# corpus), the corpus itself, the tests and documents. Anything else is the harness, its scenarios, fixtures
# or build, and the pull request gate runs the live leg for it.
REPLAY_COVERS = ("definitions/", "conformance/corpus/", "conformance/tests/")


def live_needed(changed: Sequence[str]) -> list[str]:
    """The changed files (relative to the repository) that need the live leg; with none known, the live
    leg runs (a list of one line saying so)."""
    if not changed:
        return ["(no list of changed files)"]
    return [path for path in changed if not (path.startswith(REPLAY_COVERS) or path.endswith(".md"))]


def _column(kuberay: str, kubernetes: str) -> str:
    return f"{kuberay} / k8s {kubernetes}"


def _cell(counts: dict[str, int]) -> str:
    failed = counts.get("fail", 0) + counts.get("error", 0)
    total = sum(counts.values())
    if failed:
        return f"❌ {failed} of {total} failed"
    if counts.get("unverified"):
        return f"⚠️ {counts['unverified']} unverified"
    return f"✅ {total} passed"


def compatibility_table(reports: Sequence[Path]) -> str:
    """Markdown: one row per definition, one column per KubeRay version (x Kubernetes version).

    A (version, Kubernetes) column whose report is missing says so: a job that died before
    writing its report shows up as "no report", not as a silent gap.
    """
    columns: list[str] = []
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for path in reports:
        try:
            document: dict[str, Any] = json.loads(Path(path).read_text())
            meta = document["meta"]
            column = _column(cell(meta.get("kuberay", "?"), 40), cell(meta.get("kubernetes", "?"), 40))
            found = [(cell(v["definition"], 200), str(v["outcome"])) for v in document["verdicts"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise UserError(f"not a karta-conformance JSON report ({error})", where=str(path)) from None
        if column not in columns:
            columns.append(column)
        for definition, outcome in found:
            counts = cells.setdefault((definition, column), {})
            counts[outcome] = counts.get(outcome, 0) + 1
    definitions = sorted({definition for definition, _ in cells})
    for job in nightly_matrix()["include"]:  # matrix jobs without a report still get their column
        expected = _column(job["kuberay"], job["kubernetes"])
        if expected not in columns:
            columns.append(expected)
    lines = [
        "## Karta definitions x KubeRay versions (live, kind backend)",
        "",
        "| definition | " + " | ".join(columns) + " |",
        "| --- | " + " | ".join("---" for _ in columns) + " |",
    ]
    for definition in definitions:
        row = [_cell(cells[(definition, c)]) if (definition, c) in cells else "no report" for c in columns]
        lines.append(f"| {definition} | " + " | ".join(row) + " |")
    if not definitions:
        lines.append("| (no reports) | " + " | ".join("no report" for _ in columns) + " |")
    return "\n".join(lines) + "\n"


def github_output(name: str, value: Any) -> str:
    """One ``name=value`` line for ``$GITHUB_OUTPUT`` (JSON on one line)."""
    return f"{name}={json.dumps(value, separators=(',', ':'))}"


def feature_matrix(reports: Sequence[Path]) -> tuple[str, dict[str, Any]]:
    """The feature matrix (Markdown and JSON) from live JSON reports of ``--features`` runs."""
    documents = []
    for path in reports:
        try:
            document = json.loads(Path(path).read_text())
            if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
                raise ValueError("no meta")
            if not isinstance(document.get("verdicts"), list):
                raise ValueError("no verdicts")
        except (OSError, ValueError) as error:
            raise UserError(f"not a karta-conformance JSON report ({error})", where=str(path)) from None
        documents.append(document)
    data = matrix.build(documents)
    return matrix.markdown(data), data
