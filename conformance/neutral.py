"""Definition content made inert before it reaches a report (pure).

Names, paths, messages and yielded values come from definitions and fixtures
written by anyone. Every report writes them through these functions:

- :func:`text`: control characters, line and paragraph separators and
  invisible format characters escaped (``\\n``, ``\\x1b``, ``\\u202e``), GitHub
  workflow commands neutralised (``::`` at the start, ``##[`` anywhere: the
  runner parses both), the length capped with a note;
- :func:`cell`: :func:`text`, then Markdown's active characters escaped, so a
  value stays inside its table cell or list item (no ``|``, code spans, links,
  HTML, headings or emphasis of its own);
- :func:`capped`: a JSON value with long strings, long lists and deep nesting
  cut, each with a note.
"""

from __future__ import annotations

import unicodedata
from typing import Any

TEXT_LIMIT = 2000
JSON_STRING_LIMIT = 8192
JSON_LIST_LIMIT = 500
JSON_DEPTH_LIMIT = 32

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MARKDOWN = set("\\`*_[]<>|#!~&@{}")


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _inert(char: str) -> bool:
    return unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """``value`` as one inert line of at most ``limit`` characters (plus a note when cut)."""
    raw = value if isinstance(value, str) else str(value)
    cut = len(raw) - limit if len(raw) > limit else 0
    if cut:
        raw = raw[:limit]
    escaped = "".join(char if char == " " or _inert(char) else _escape_char(char) for char in raw)
    escaped = escaped.replace("##[", "##\\[")
    if escaped.lstrip().startswith("::"):
        escaped = "\\" + escaped.lstrip()
    if cut:
        escaped += f" [... {cut} more characters cut]"
    return escaped


def cell(value: Any, limit: int = TEXT_LIMIT) -> str:
    """``value`` for a Markdown table cell or list item."""
    return "".join("\\" + char if char in _MARKDOWN else char for char in text(value, limit))


def capped(value: Any, depth: int = 0) -> Any:
    """A JSON value with strings, lists and nesting bounded (each cut says so)."""
    if isinstance(value, str):
        if len(value) > JSON_STRING_LIMIT:
            return value[:JSON_STRING_LIMIT] + f" [... {len(value) - JSON_STRING_LIMIT} more characters cut]"
        return value
    if depth >= JSON_DEPTH_LIMIT and isinstance(value, (dict, list)):
        return f"[... nested deeper than {JSON_DEPTH_LIMIT} levels, cut]"
    if isinstance(value, dict):
        return {capped(str(k)): capped(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [capped(v, depth + 1) for v in value[:JSON_LIST_LIMIT]]
        if len(value) > JSON_LIST_LIMIT:
            items.append(f"[... {len(value) - JSON_LIST_LIMIT} more items cut]")
        return items
    return value
