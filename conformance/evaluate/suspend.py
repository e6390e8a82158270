"""Suspend and resume actions (``run.ai/v1alpha1`` ``suspendDefinition``) as the changes they make.

An action is a jq path and a JSON value: Karta sets the value at the path. Read on a root object,
an action is the key path it designates (jq's ``path(...)``) and the value, so a list of actions
can be compared with the change a scenario made to suspend or resume a workload live.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.definition.model import Expression, SuspendAction
from conformance.errors import EvaluationError
from conformance.evaluate.common import outputs

Change = tuple[tuple[str | int, ...], str]  # (key path, the value as canonical JSON)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def change(path: list[str | int] | tuple[str | int, ...], value: Any) -> Change:
    return tuple(path), _canonical(value)


def action_changes(actions: tuple[SuspendAction, ...], root: dict[str, Any]) -> set[Change]:
    """The (key path, value) each action sets on ``root``; an action path that designates no single
    place (several outputs, or an output that is not a path) is an EvaluationError."""
    found: set[Change] = set()
    for action in actions:
        text = action.path.text
        if "#" in text or "\n" in text:
            # The path is wrapped in path(...) below; a comment or a line break could change how the
            # wrapper parses, so such a text is not applied (a real action path needs neither).
            raise EvaluationError(
                action.path.where, text, "an action path with a comment or a line break is not applied"
            )
        wrapped = Expression(f"[path(({text}))]", action.path.where, action.path.context)
        results = outputs(wrapped, root)
        paths = results[0] if len(results) == 1 and isinstance(results[0], list) else None
        if paths is None or len(paths) != 1 or not isinstance(paths[0], list):
            raise EvaluationError(
                action.path.where,
                text,
                f"must designate exactly one place on the root, designates {len(paths or [])}",
            )
        found.add(change(paths[0], action.value))
    return found
