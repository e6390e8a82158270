"""User-facing errors: one line, exit code 2, never a traceback."""

from __future__ import annotations

from conformance.report.neutral import text


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
