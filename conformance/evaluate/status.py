"""Map a root object's status to Karta statuses (initializing, running, completed, failed, degraded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance import jqexpr
from conformance.definition.model import ConditionsDefinition, Matcher, StatusDefinition
from conformance.evaluate.common import outputs

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
    if definition.phase_path is None:
        return None
    results = [r for r in outputs(definition.phase_path, root) if r is not None]
    return jqexpr.stringify(results[0]) if results else None


def read_conditions(definition: ConditionsDefinition | None, root: dict[str, Any]) -> tuple[Condition, ...]:
    if definition is None:
        return ()
    results = outputs(definition.path, root)
    items: list[Any] = []
    for result in results:
        if isinstance(result, list):
            items.extend(result)
        elif result is not None:
            items.append(result)
    conditions = []
    for item in items:
        if not isinstance(item, dict) or definition.type_field not in item:
            continue

        def text(key: str, item: dict[str, Any] = item) -> str | None:
            value = item.get(key)
            return None if value is None else jqexpr.stringify(value)

        conditions.append(
            Condition(
                type=str(item[definition.type_field]),
                status=text(definition.status_field),
                reason=text(definition.reason_field),
                message=text(definition.message_field),
            )
        )
    return tuple(conditions)


def matcher_holds(
    matcher: Matcher, phase: str | None, conditions: tuple[Condition, ...], root: dict[str, Any]
) -> bool:
    """True when every criterion the matcher names holds (AND)."""
    if matcher.by_phase is not None and phase != matcher.by_phase:
        return False
    for wanted in matcher.by_conditions:
        present = [c for c in conditions if c.type == wanted.type]
        if not present:
            return False
        if not any(
            (wanted.status is None or c.status == wanted.status)
            and (wanted.reason is None or c.reason == wanted.reason)
            for c in present
        ):
            return False
    if matcher.by_expression is not None:
        results = outputs(matcher.by_expression.expression, root)
        if not results:
            return False
        if jqexpr.stringify(results[0]) != matcher.by_expression.expected_result:
            return False
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
