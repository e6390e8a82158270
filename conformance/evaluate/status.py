"""Map a root object's status to Karta statuses (initializing, running, completed, failed, degraded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.definition.model import ConditionsDefinition, Expression, Matcher, StatusDefinition
from conformance.errors import EvaluationError
from conformance.evaluate.common import outputs, wrong_output
from conformance.jq import expr as jqexpr

READING_FAILS = "; Karta's status reading fails"
# Statuses that can never hold together for one object.
CONTRADICTIONS = (
    ("initializing", "running"),
    ("initializing", "completed"),
    ("initializing", "failed"),
    ("running", "completed"),
    ("running", "failed"),
    ("completed", "failed"),
    ("completed", "degraded"),
    ("failed", "degraded"),
)


@dataclass(frozen=True)
class Condition:
    type: str
    status: str | None
    reason: str | None
    message: str | None


@dataclass(frozen=True)
class StatusReading:
    phase: str | None
    conditions: tuple[Condition, ...]
    matched: tuple[str, ...]  # statuses whose mappings matched, in Karta's order
    why: dict[str, str] = field(default_factory=dict)  # status -> the matcher that matched

    @property
    def contradictions(self) -> list[tuple[str, str]]:
        return [pair for pair in CONTRADICTIONS if pair[0] in self.matched and pair[1] in self.matched]


def read_phase(definition: StatusDefinition, root: dict[str, Any]) -> str | None:
    """Karta's phase: the first output of the phase path; every output must be a string (null reads
    as ""), else the status reading fails. No output: no phase."""
    if definition.phase_path is None:
        return None
    results = outputs(definition.phase_path, root)
    for result in results:
        if result is not None and not isinstance(result, str):
            raise wrong_output(
                definition.phase_path, "a phase must be a string", result, results, READING_FAILS
            )
    if not results:
        return None
    first: str | None = results[0]
    return first


def read_conditions(definition: ConditionsDefinition | None, root: dict[str, Any]) -> tuple[Condition, ...]:
    """Karta's conditions: every output of the path must be a list of objects (or null); the lists
    are concatenated. A field that is not a string reads as absent (the type as "")."""
    if definition is None:
        return ()
    results = outputs(definition.path, root)
    items: list[dict[str, Any]] = []
    for result in results:
        if result is None:
            continue
        if not isinstance(result, list) or not all(i is None or isinstance(i, dict) for i in result):
            raise wrong_output(
                definition.path,
                "the conditions path must yield lists of condition objects",
                result,
                results,
                READING_FAILS,
            )
        items.extend(i or {} for i in result)

    def text(item: dict[str, Any], key: str) -> str | None:
        value = item.get(key)
        return value if isinstance(value, str) else None

    return tuple(
        Condition(
            type=text(item, definition.type_field) or "",
            status=text(item, definition.status_field),
            reason=text(item, definition.reason_field),
            message=text(item, definition.message_field),
        )
        for item in items
    )


def expression_program(expression: str, expected_result: str) -> str:
    """The one jq program Karta runs for a byExpression matcher (``matchByExpression``): the expected
    result is pasted between double quotes unescaped, so a ``"`` or ``\\`` in it changes the program."""
    return f'({expression}) | tostring == "{expected_result}"'


def matcher_holds(
    matcher: Matcher, phase: str | None, conditions: tuple[Condition, ...], root: dict[str, Any]
) -> bool:
    """True when every criterion the matcher names holds (AND), as Karta's ``match`` decides it:
    conditions are looked up by type (the last of a repeated type wins), an empty expected status or
    reason is no criterion, and a byExpression must give a boolean first output."""
    if matcher.by_phase and phase != matcher.by_phase:
        return False
    by_type = {c.type: c for c in conditions}
    for wanted in matcher.by_conditions:
        present = by_type.get(wanted.type)
        if present is None:
            return False
        if wanted.status and wanted.status != (present.status or ""):
            return False
        if wanted.reason and wanted.reason != (present.reason or ""):
            return False
    if matcher.by_expression is not None:
        source = matcher.by_expression.expression
        program = Expression(
            text=expression_program(source.text, matcher.by_expression.expected_result),
            where=source.where,
            context=source.context,
        )
        results = outputs(program, root)
        if not results or results[0] is None:
            return False
        if not isinstance(results[0], bool):
            raise EvaluationError(
                source.where,
                program.text,
                f"the comparison did not yield a boolean, yielded {jqexpr.stringify(results[0])[:80]}",
                results,
            )
        matched: bool = results[0]
        return matched
    return True


def read_status(definition: StatusDefinition, root: dict[str, Any]) -> StatusReading:
    phase = read_phase(definition, root)
    conditions = read_conditions(definition.conditions, root)
    matched = []
    why = {}
    for status, matchers in definition.mappings.items():
        for matcher in matchers:
            if matcher_holds(matcher, phase, conditions, root):
                matched.append(status)
                why[status] = matcher.where
                break
    return StatusReading(phase=phase, conditions=conditions, matched=tuple(matched), why=why)
