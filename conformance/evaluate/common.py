"""Running one definition expression with Karta's output rules."""

from __future__ import annotations

from typing import Any

from conformance.definition.model import Expression
from conformance.errors import EvaluationError
from conformance.jq import expr as jqexpr


def outputs(expression: Expression, value: Any) -> list[Any]:
    """All outputs of ``expression`` on ``value``; jq failures become EvaluationError."""
    try:
        return jqexpr.run(expression.text, value)
    except jqexpr.JqError as error:
        raise EvaluationError(expression.where, expression.text, str(error)) from None


def wrong_output(
    expression: Expression, must: str, value: Any, yielded: Any, consequence: str = ""
) -> EvaluationError:
    """The error for an output of the wrong kind: what it ``must`` be, what it was (shortened)."""
    return EvaluationError(
        expression.where,
        expression.text,
        f"{must}, yielded {jqexpr.stringify(value)[:80]}{consequence}",
        yielded,
    )


def single_value(expression: Expression, value: Any) -> str:
    """Exactly one value that is not null or "" (idPath, replica keyPath, groupByKeyPaths), as Karta requires."""
    results = outputs(expression, value)
    if len(results) != 1:
        raise EvaluationError(
            expression.where,
            expression.text,
            f"must yield exactly one value, yielded {len(results)}",
            results,
        )
    result = results[0]
    if result is None or result == "":
        raise EvaluationError(
            expression.where,
            expression.text,
            f"must yield a non-empty value, yielded {jqexpr.stringify(result)}",
            results,
        )
    return jqexpr.stringify(result)
