"""Helpers shared by the tests: the repo's folders and broken copies of shipped definitions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = REPO / "definitions"
FIXTURES = REPO / "fixtures"


def shipped(name: str, folder: Path | None = None) -> dict[str, Any]:
    """A shipped definition as a dict (``rayservice``, ``raycluster``, ``rayjob``)."""
    document: dict[str, Any] = yaml.safe_load(((folder or DEFINITIONS) / f"{name}.yaml").read_text())
    return document


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    structure = document["spec"]["structureDefinition"]
    for item in [structure["rootComponent"], *structure.get("childComponents", [])]:
        if item["name"] == name:
            result: dict[str, Any] = item
            return result
    raise KeyError(name)


def broken(
    tmp_path: Path,
    name: str,
    change: Callable[[dict[str, Any]], None],
    filename: str | None = None,
    folder: Path | None = None,
) -> Path:
    """Write a copy of shipped definition ``name`` (from ``folder``, default definitions/) with
    ``change`` applied; return its path."""
    document = copy.deepcopy(shipped(name, folder))
    change(document)
    path = tmp_path / (filename or f"{name}.yaml")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


UPSTREAM = DEFINITIONS / "upstream"


def as_resource_interface(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` in the legacy dialect (``optimization.nvidia.com/v1alpha1`` ResourceInterface).
    The field paths are the same in both dialects, so tests mutate either form alike."""
    from conformance.definition.convert import to_resource_interface

    converted, lost = to_resource_interface(document)
    # Only the suspend/resume actions and the suspension statuses (Suspended, Suspending, Resuming) have
    # no place in the legacy dialect.
    allowed = (
        *(
            f"rootComponent.statusDefinition.statusMappings.{s}: "
            for s in ("suspended", "suspending", "resuming")
        ),
        "rootComponent.suspendDefinition: ",
    )
    assert all(item.startswith(allowed) for item in lost), lost
    return converted


def write(tmp_path: Path, document: dict[str, Any], filename: str = "definition.yaml") -> Path:
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
