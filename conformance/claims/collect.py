"""The one verdict collector of the claim modules (pure): every Verdict goes through ``verdict_for``."""

from __future__ import annotations

from typing import Any

from conformance.definition.model import Definition, Expression
from conformance.errors import EvaluationError
from conformance.verdict import Outcome, Verdict, verdict_for


def shown(expression: str, limit: int = 160) -> str:
    """A jq expression on one line, shortened for messages."""
    text = " ".join(expression.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Verdicts:
    """The verdicts about one definition, each at ``phase`` unless told otherwise."""

    def __init__(self, definition: Definition, phase: str) -> None:
        self.definition = definition
        self.phase = phase
        self.items: list[Verdict] = []

    def add(
        self,
        claim: str,
        subject: str,
        outcome: Outcome,
        message: str,
        *,
        phase: str | None = None,
        expression: str | None = None,
        **evidence: Any,
    ) -> None:
        self.items.append(
            verdict_for(
                self.definition,
                claim,
                subject,
                self.phase if phase is None else phase,
                outcome,
                message,
                expression,
                evidence,
            )
        )

    def check(
        self, claim: str, subject: str, ok: bool, message: str, expression: str | None = None, **evidence: Any
    ) -> None:
        """PASS when ``ok``, else FAIL."""
        self.add(
            claim, subject, Outcome.PASS if ok else Outcome.FAIL, message, expression=expression, **evidence
        )

    def fail_at(self, claim: str, expression: Expression | None, fallback: str, message: str) -> None:
        """A FAIL located at ``expression`` (its field and jq text), or at ``fallback`` when there is none."""
        self.check(
            claim,
            expression.where if expression else fallback,
            False,
            message,
            expression.text if expression else None,
        )

    def failed(
        self, claim: str, error: EvaluationError, on: str = "", *, phase: str | None = None, **evidence: Any
    ) -> None:
        """A FAIL for an expression that could not be evaluated (on ``on``, e.g. "the live root")."""
        where = f" on {on}" if on else ""
        self.add(
            claim,
            error.where,
            Outcome.FAIL,
            f"{error.message}{where} (jq: {shown(error.expression)})",
            phase=phase,
            expression=error.expression,
            yielded=error.yielded,
            **evidence,
        )
