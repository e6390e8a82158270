"""Compile and run jq expressions (PyPI ``jq``), with a compile cache.

Every Karta path is a jq program. This module is the only place that talks to
the jq library, so that error wording and output handling are the same
everywhere.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jq


class JqError(Exception):
    """A jq program that does not compile or fails at run time."""


@functools.lru_cache(maxsize=4096)
def _compiled(expression: str) -> Any:
    try:
        return jq.compile(expression)
    except ValueError as error:
        raise JqError(_one_line(str(error))) from None


def compile_check(expression: str) -> str | None:
    """Return None if ``expression`` compiles, else a one-line reason."""
    try:
        _compiled(expression)
    except JqError as error:
        return str(error)
    return None


def run(expression: str, value: Any) -> list[Any]:
    """All outputs of ``expression`` applied to ``value``."""
    program = _compiled(expression)
    try:
        return list(program.input_value(value).all())
    except ValueError as error:
        raise JqError(_one_line(str(error))) from None


def stringify(value: Any) -> str:
    """How a jq result is compared with an expected string.

    Strings compare as themselves; everything else as compact JSON
    (``true``, ``3``, ``null``, ``{"a":1}``).
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    if not text.startswith("jq"):
        text = f"jq: {text}"
    return text
