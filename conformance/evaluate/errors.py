from __future__ import annotations

from typing import Any


class EvaluationError(Exception):
    """A definition expression that could not be evaluated as Karta requires."""

    def __init__(self, where: str, expression: str, message: str, yielded: Any = None) -> None:
        self.where = where
        self.expression = expression
        self.message = message
        self.yielded = yielded
        super().__init__(f"{where}: {message}")
