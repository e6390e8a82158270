"""A tokenizer for jq program text (jq 1.7/1.8 and gojq lexical rules), pure.

Used by the read-path analysis (:mod:`conformance.jq.paths`) and by the hermetic
check (:mod:`conformance.jq.expr`). It never evaluates anything. Strings keep
their interpolations (``"a\\(.b)"``) as token lists of their own, so code
inside a string is seen like any other code. Text it cannot tokenize raises
:class:`JqLexError`; nesting deeper than :data:`MAX_DEPTH` does too, so no
input makes it recurse without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_DEPTH = 64  # nested string interpolations

_SIMPLE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<recurse>\.\.)
  | (?P<dot>\.)
  | (?P<var>\$(?:__loc__|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*))
  | (?P<format>@[A-Za-z0-9_]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>\?//=?|//=?|==|!=|<=|>=|\|=|\+=|-=|\*=|/=|%=|[|,+\-*/%<>=?:;()\[\]{}$])
    """,
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JqLexError(ValueError):
    """Text that is not jq (or nested too deeply to look at)."""


@dataclass
class Token:
    kind: str  # number field recurse dot var format ident op string
    text: str  # for strings: the decoded literal text (interpolations left out)
    position: int
    parts: list[list[Token]] = field(default_factory=list)  # a string's interpolations, in order

    @property
    def interpolated(self) -> bool:
        return bool(self.parts)


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` (comments and whitespace dropped)."""
    found, end = _lex(text, 0, 0, inside=False)
    if end != len(text):
        raise JqLexError(f"unexpected ')' at offset {end}")
    return found


def _lex(text: str, position: int, depth: int, *, inside: bool) -> tuple[list[Token], int]:
    """Tokens from ``position``; inside an interpolation, stops at its closing parenthesis."""
    if depth > MAX_DEPTH:
        raise JqLexError(f"string interpolations nested deeper than {MAX_DEPTH}")
    out: list[Token] = []
    parens = 0
    while position < len(text):
        char = text[position]
        if char == "#":
            position = _skip_comment(text, position)
            continue
        if char == '"':
            token, position = _string(text, position, depth)
            out.append(token)
            continue
        if char == ")" and inside and parens == 0:
            return out, position
        match = _SIMPLE.match(text, position)
        if match is None:
            raise JqLexError(f"unexpected character {char!r} at offset {position}")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, match.group(), position))
            if kind == "op" and match.group() == "(":
                parens += 1
            elif kind == "op" and match.group() == ")":
                if parens == 0 and not inside:
                    raise JqLexError(f"unbalanced ')' at offset {position}")
                parens -= 1
        position = match.end()
    if inside:
        raise JqLexError("unterminated string interpolation")
    return out, position


def _skip_comment(text: str, position: int) -> int:
    """Past a ``#`` comment. As in jq 1.8, an odd number of backslashes before the newline continues it."""
    while True:
        newline = text.find("\n", position)
        if newline < 0:
            return len(text)
        backslashes = len(text[position:newline]) - len(text[position:newline].rstrip("\\"))
        if backslashes % 2 == 0:
            return newline + 1
        position = newline + 1


def _string(text: str, position: int, depth: int) -> tuple[Token, int]:
    start = position
    position += 1
    literal: list[str] = []
    parts: list[list[Token]] = []
    while position < len(text):
        char = text[position]
        if char == '"':
            return Token("string", "".join(literal), start, parts), position + 1
        if char == "\\":
            following = text[position + 1 : position + 2]
            if following == "(":
                inner, position = _lex(text, position + 2, depth + 1, inside=True)
                parts.append(inner)
                position += 1  # the closing parenthesis
                continue
            if following == "u":
                digits = text[position + 2 : position + 6]
                if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                    raise JqLexError(f"invalid \\u escape at offset {position}")
                literal.append(chr(int(digits, 16)))
                position += 6
                continue
            if following in _ESCAPES:
                literal.append(_ESCAPES[following])
                position += 2
                continue
            raise JqLexError(f"invalid escape at offset {position}")
        literal.append(char)
        position += 1
    raise JqLexError(f"unterminated string at offset {start}")


def walk(found: list[Token]) -> list[Token]:
    """Every token, including those inside string interpolations (depth-first, in text order)."""
    flat: list[Token] = []
    stack = [iter(found)]
    while stack:
        token = next(stack[-1], None)
        if token is None:
            stack.pop()
            continue
        flat.append(token)
        for part in reversed(token.parts):
            stack.append(iter(part))
    return flat
