"""The harness's error types, in one place below every layer (they import only ``neutral``).

``UserError`` and its kinds are the user's input or machine: one line, exit code 2, never a traceback.
``EvaluationError`` is a definition's expression that Karta could not evaluate: a verdict, not an exit."""

from __future__ import annotations

from typing import Any

from conformance.neutral import text


class UserError(Exception):
    """A mistake in the user's input (file, flag, environment).

    ``str(error)`` is the single line shown to the user (made inert: file names and
    values in it come from the input); the CLI exits 2.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(text(f"{where}: {message}" if where else message))


class DefinitionError(UserError):
    """A definition file that cannot be read as a Karta definition (Karta or ResourceInterface)."""


class EnvironmentProblem(UserError):
    """Something this machine lacks (a toolchain, a cluster, a module version)."""


class EvaluationError(Exception):
    """A definition expression that could not be evaluated as Karta requires: not the user's mistake
    in using the tool, but a reading of the definition under test, so it becomes a FAIL or ERROR verdict
    naming ``where``, never an exit 2."""

    def __init__(self, where: str, expression: str, message: str, yielded: Any = None) -> None:
        self.where = where
        self.expression = expression
        self.message = message
        self.yielded = yielded
        super().__init__(f"{where}: {message}")
